"""Chapter 05's figures: robust accuracy against the l2 budget, the flipping budget against d,
UAP heatmaps and images (paper Fig. 4), and confidence when Sc contradicts S."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import REFERENCE, SC, STANDARD, new_figure


def plot_robust_curves(
    eps_grid: Sequence[float],
    curves: Mapping[str, np.ndarray],
    *,
    budget: float | None = None,
    title: str = "",
) -> Figure:
    """l2 robust accuracy against eps; ``curves``: label -> (M, n_eps) per seed (mean drawn,
    band over seeds); ``budget``: the attack budget the chapter's claim uses (a dashed line)."""
    fig, ax = new_figure(width=4.4, height=2.8)
    for label, c in curves.items():
        c = np.atleast_2d(c)
        (line,) = ax.plot(eps_grid, c.mean(0), marker="o", ms=3, label=label)
        ax.fill_between(eps_grid, c.min(0), c.max(0), color=line.get_color(), alpha=0.2, lw=0)
    if budget is not None:
        ax.axvline(
            budget, color=REFERENCE, ls="--", lw=0.8, label=f"budget of the claim (ε = {budget:g})"
        )
    ax.set_xlabel("ℓ2 budget ε of the attack")
    ax.set_ylabel("accuracy under attack")
    ax.set_ylim(-0.02, 1.02)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def plot_budget_vs_d(dims: Sequence[int], budgets: Mapping[str, np.ndarray]) -> Figure:
    """Median flipping budget against d (log-log); ``budgets``: label -> (M, n_dims)."""
    fig, ax = new_figure(width=4.4, height=2.8)
    for label, b in budgets.items():
        b = np.atleast_2d(b)
        ax.errorbar(dims, b.mean(0), yerr=b.std(0), marker="o", ms=3, capsize=2, label=label)
    ref = np.asarray(dims, float)
    first = np.atleast_2d(next(iter(budgets.values()))).mean(0)[0]
    ax.plot(
        ref, first * np.sqrt(ref / ref[0]), color=REFERENCE, ls=":", lw=0.8, label="∝ √d (guide)"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input dimension d")
    ax.set_ylabel("median ℓ2 distance\nthat flips a prediction")
    ax.legend(fontsize=7)
    return fig


def plot_uap_heatmaps(rows: Mapping[str, np.ndarray], *, n_show: int = 50) -> Figure:
    """Fig. 4 (synthetic): each UAP in the unrotated basis, divided by its largest |entry|.

    ``rows``: label -> (d,) vector; coordinate 1 is S."""
    labels = list(rows)
    mat = np.stack([np.asarray(rows[k])[:n_show] / (np.abs(rows[k]).max() or 1) for k in labels])
    fig, ax = new_figure(height=0.3 * len(labels) + 1.1)
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    n_ticks = 1 + (n_show - 1) // 10
    ax.set_xticks(
        [0, 9, 19, 29, 39, 49][:n_ticks], ["1 (S)", "10", "20", "30", "40", "50"][:n_ticks]
    )
    ax.set_xlabel("coordinate (unrotated; 1 is S, the others Sc)")
    fig.colorbar(im, ax=ax, shrink=0.9, label="entry / largest |entry|")
    return fig


def plot_confidence(panels: Mapping[str, Mapping[str, np.ndarray]], *, bins: int = 40) -> Figure:
    """Claim #22: max-softmax confidence on the originals and when every Sc coordinate points to
    the other class; ``panels``: title -> {variant: confidences}, the first variant drawn black
    (the originals), the second green (Sc contradicting S)."""
    fig, axes = new_figure(width=2.9 * len(panels), height=2.5, ncols=len(panels), squeeze=False)
    edges = np.linspace(0.5, 1.0, bins + 1)
    for ax, (title, variants) in zip(axes[0], panels.items()):
        for (name, v), colour in zip(variants.items(), (STANDARD, SC)):
            ax.hist(np.clip(v, 0.5, 1.0), edges, histtype="step", lw=1.5, color=colour, label=name)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("confidence (largest softmax probability)")
    axes[0, 0].set_ylabel("test points")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    return fig


def plot_uap_images(uaps: Mapping[str, np.ndarray]) -> Figure:
    """Fig. 4 (images): each UAP as an image, divided by its largest |pixel| (display only).

    ``uaps``: label -> (C, 64, 32) or (64, 32) array (channels averaged); rows 0:32 are the top
    block S, rows 32:64 the bottom block Sc (a dashed line separates them)."""
    fig, axes = new_figure(
        width=1.45 * len(uaps) + 1.7, height=3.2, ncols=len(uaps), squeeze=False
    )
    im = None
    for ax, (label, u) in zip(axes[0], uaps.items()):
        u = np.asarray(u, dtype=float)
        u = u.mean(0) if u.ndim == 3 else u
        im = ax.imshow(u / (np.abs(u).max() or 1), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.axhline(31.5, color=REFERENCE, ls="--", lw=0.8)
        ax.set_xticks([])
        ax.set_yticks(
            [15.5, 47.5], ["S (top)", "Sc (bottom)"] if ax is axes[0, 0] else [], fontsize=7
        )
        ax.set_title(label.replace(", ", "\n"), fontsize=8)  # narrow panels: one part a line
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="pixel / largest |pixel|")
    return fig
