"""Figures redrawn from results (never trains). Every function returns a matplotlib Figure."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import blocks
from .data.synthetic import SyntheticData

NEG, POS = "#1f77b4", "#d62728"  # class -1 / +1 colours used in every figure
VARIANT_COLOURS = {"standard": "#333333", "Sc-randomized": "#2ca02c", "S-randomized": "#ff7f0e"}

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 200, "axes.spines.top": False,
                     "axes.spines.right": False, "font.size": 9, "axes.titlesize": 10})


def _class_hist(ax, x: np.ndarray, y: np.ndarray, title: str, bins: int = 80) -> None:
    edges = np.linspace(-1.05, 1.05, bins + 1)
    ax.hist(x[y == 0], edges, color=NEG, alpha=0.7, label="y = −1")
    ax.hist(x[y == 1], edges, color=POS, alpha=0.7, label="y = +1")
    ax.set_title(title)
    ax.set_xlabel("coordinate value")
    ax.set_yticks([])


def plot_blocks(n_samples: int = 20_000, *, seed: int = 0, noise: float = 0.1) -> plt.Figure:
    """Fig. 2, top row: the one-dimensional blocks, as class-conditional histograms."""
    g = torch.Generator().manual_seed(seed)
    y_pm = 2 * torch.randint(0, 2, (n_samples,), generator=g, dtype=torch.float64) - 1
    cols = {"Linear": blocks.linear(y_pm, g),
            f"Noisy linear (p = {noise:g})": blocks.noisy_linear(y_pm, g, p=noise)}
    for k in blocks.SLAB_KS:
        cols[f"{k}-slab"] = blocks.slab(y_pm, g, k=k)
    y = ((y_pm + 1) / 2).numpy()
    fig, axes = plt.subplots(1, len(cols), figsize=(2.2 * len(cols), 2.0), sharex=True)
    for ax, (name, x) in zip(axes, cols.items()):
        _class_hist(ax, x.numpy(), y, name)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8, ncol=2, loc="upper center")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_2d_views(datas: Sequence[SyntheticData], *, n_points: int = 2000) -> plt.Figure:
    """Fig. 2, bottom row: coordinate 0 (S) against coordinate 1 (an Sc coordinate), unrotated."""
    fig, axes = plt.subplots(1, len(datas), figsize=(2.6 * len(datas), 2.6))
    for ax, d in zip(np.atleast_1d(axes), datas):
        z, y = d.z[:n_points].numpy(), d.y[:n_points].numpy()
        ax.scatter(z[:, 0], z[:, 1], c=np.where(y == 1, POS, NEG), s=2, alpha=0.6, linewidths=0)
        ax.set_title(d.name)
        ax.set_xlabel("coordinate 1 (S)")
        ax.set_ylabel("coordinate 2 (in Sc)")
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig


def plot_logit_histograms(panels: Mapping[str, Mapping[str, np.ndarray]], *,
                          bins: int = 60) -> plt.Figure:
    """Fig. 3a: scores (logit_1 - logit_0) of true positives, standard vs S-/Sc-randomized.

    ``panels``: title -> {"standard": scores, "Sc-randomized": ..., "S-randomized": ...}.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 2.6))
    for ax, (title, variants) in zip(np.atleast_1d(axes), panels.items()):
        allv = np.concatenate([np.asarray(v) for v in variants.values()])
        edges = np.linspace(np.percentile(allv, 0.5), np.percentile(allv, 99.5), bins + 1)
        for name, v in variants.items():
            ax.hist(v, edges, histtype="step", lw=1.6, color=VARIANT_COLOURS.get(name),
                    label=name, density=True)
        ax.set_title(title)
        ax.set_xlabel("score of true positives (logit₊ − logit₋)")
        ax.set_yticks([])
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_decision_maps(maps: Mapping[str, np.ndarray], *, xlabel: str = "S coordinate",
                       ylabels: Mapping[str, str] | None = None) -> plt.Figure:
    """Fig. 3c: P(y = +1) over a grid of (S, most influential Sc coordinate).

    ``maps``: title -> (n_grid, n_grid) array with rows over the Sc coordinate, columns over S,
    both spanning [-1, 1]."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.0 * len(maps), 2.8))
    im = None
    for ax, (title, grid) in zip(np.atleast_1d(axes), maps.items()):
        im = ax.imshow(grid, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r", vmin=0, vmax=1,
                       aspect="equal")
        ax.contour(np.linspace(-1, 1, grid.shape[1]), np.linspace(-1, 1, grid.shape[0]), grid,
                   levels=[0.5], colors="k", linewidths=1)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel((ylabels or {}).get(title, "most influential Sc coordinate"))
    fig.colorbar(im, ax=axes, shrink=0.85, label="P(y = +1)")
    return fig


def plot_randomized_bars(rows: Sequence[Mapping], *, metric: str = "auc",
                         title: str = "") -> plt.Figure:
    """Standard / Sc-randomized / S-randomized AUC (or accuracy) per model, mean ± std.

    ``rows``: dicts with keys ``model``, ``<metric>``, ``sc_<metric>``, ``s_<metric>`` holding
    per-seed arrays."""
    names = [r["model"] for r in rows]
    keys = [(metric, "standard"), (f"sc_{metric}", "Sc-randomized"), (f"s_{metric}", "S-randomized")]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(names), 2.6))
    for i, (key, label) in enumerate(keys):
        vals = [np.asarray(r[key]) for r in rows]
        ax.bar(x + (i - 1) * 0.27, [v.mean() for v in vals], 0.27, yerr=[v.std() for v in vals],
               color=VARIANT_COLOURS[label], label=label, capsize=2)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel(metric.upper() if metric == "auc" else metric)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig
