"""Figures of the randomized metrics (chapters 02 and 03): Table 4 as bars, the logits of true
positives (paper Fig. 3a) and decision maps over S and one Sc coordinate (paper Fig. 3c)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .style import VARIANT_COLOURS

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
