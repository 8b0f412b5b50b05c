"""Chapter 05's figures: robust accuracy against the l2 budget, the flipping budget against d,
UAP heatmaps and images (paper Fig. 4), and confidence when Sc contradicts S."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import style  # noqa: F401  (the book's rcParams)

def plot_robust_curves(eps_grid: Sequence[float], curves: Mapping[str, np.ndarray], *,
                       budget: float | None = None, title: str = "") -> plt.Figure:
    """l2 robust accuracy against eps; ``curves``: label -> (M, n_eps) per seed (mean ± std drawn)."""
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    for label, c in curves.items():
        c = np.atleast_2d(c)
        ax.plot(eps_grid, c.mean(0), marker="o", ms=3, label=label)
        ax.fill_between(eps_grid, c.min(0), c.max(0), alpha=0.2)
    if budget is not None:
        ax.axvline(budget, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("l2 budget ε")
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_budget_vs_d(dims: Sequence[int], budgets: Mapping[str, np.ndarray]) -> plt.Figure:
    """Median flipping budget against d (log-log); ``budgets``: label -> (M, n_dims)."""
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    for label, b in budgets.items():
        b = np.atleast_2d(b)
        ax.errorbar(dims, b.mean(0), yerr=b.std(0), marker="o", ms=3, capsize=2, label=label)
    ref = np.asarray(dims, float)
    first = np.atleast_2d(next(iter(budgets.values()))).mean(0)[0]
    ax.plot(ref, first * np.sqrt(ref / ref[0]), color="grey", ls=":", lw=0.8, label="∝ √d")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input dimension d")
    ax.set_ylabel("median l2 budget to flip")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_uap_heatmaps(rows: Mapping[str, np.ndarray], *, n_show: int = 50) -> plt.Figure:
    """Fig. 4 (synthetic): each UAP in the unrotated basis, divided by its largest |entry|.

    ``rows``: label -> (d,) vector; coordinate 1 is S."""
    labels = list(rows)
    mat = np.stack([np.asarray(rows[k])[:n_show] / (np.abs(rows[k]).max() or 1) for k in labels])
    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(labels) + 1.0))
    im = ax.imshow(mat, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks([0, 9, 19, 29, 39, 49][: 1 + (n_show - 1) // 10],
                  ["1 (S)", "10", "20", "30", "40", "50"][: 1 + (n_show - 1) // 10])
    ax.set_xlabel("coordinate (unrotated)")
    fig.colorbar(im, ax=ax, shrink=0.9, label="UAP / max |UAP|")
    fig.tight_layout()
    return fig


def plot_confidence(panels: Mapping[str, Mapping[str, np.ndarray]], *, bins: int = 40) -> plt.Figure:
    """Claim #22: max-softmax confidence on the originals and when every Sc coordinate points to
    the other class; ``panels``: title -> {variant: confidences}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 2.5), squeeze=False)
    edges = np.linspace(0.5, 1.0, bins + 1)
    for ax, (title, variants) in zip(axes[0], panels.items()):
        for (name, v), colour in zip(variants.items(), ("#333333", "#2ca02c")):
            ax.hist(np.clip(v, 0.5, 1.0), edges, histtype="step", lw=1.6, color=colour, label=name)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("max-softmax confidence")
    axes[0][0].legend(frameon=False, fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_uap_images(uaps: Mapping[str, np.ndarray]) -> plt.Figure:
    """Fig. 4 (images): each UAP as an image, divided by its largest |pixel| (display only).

    ``uaps``: label -> (C, 64, 32) or (64, 32) array (channels averaged); rows 0:32 are the top
    block S, rows 32:64 the bottom block Sc (a dashed line separates them)."""
    fig, axes = plt.subplots(1, len(uaps), figsize=(1.9 * len(uaps) + 0.8, 3.2), squeeze=False)
    im = None
    for ax, (label, u) in zip(axes[0], uaps.items()):
        u = np.asarray(u, dtype=float)
        u = u.mean(0) if u.ndim == 3 else u
        im = ax.imshow(u / (np.abs(u).max() or 1), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.axhline(31.5, color="grey", ls="--", lw=0.8)
        ax.set_xticks([])
        ax.set_yticks([15.5, 47.5], ["S (top)", "Sc (bottom)"], fontsize=7)
        ax.set_title(label, fontsize=8)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="UAP / max |UAP|")
    return fig
