"""Chapter 06's figures: training curves and the SGD grid."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import style  # noqa: F401  (the book's rcParams)

SPLIT_STYLE = {"train": ("#1f77b4", "-"), "test": ("#333333", "--"), "s_rand": ("#ff7f0e", ":")}
SPLIT_LABEL = {"train": "train", "test": "test", "s_rand": "S-randomized test"}


def plot_training_curves(runs: Mapping[str, Sequence[dict]], *, bayes: float | None = None) -> plt.Figure:
    """Train, test and S-randomized test accuracy against SGD updates, one panel per run.

    ``runs``: title -> ``History.evals`` (dicts with ``n_updates`` and per-member lists under
    ``train``, ``test``, ``s_rand``); lines are the mean over members, bands their range."""
    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 2.8), sharey=True, squeeze=False)
    for ax, (title, evals) in zip(axes[0], runs.items()):
        steps = [e["n_updates"] for e in evals]
        for key, (colour, ls) in SPLIT_STYLE.items():
            v = np.array([e[key] for e in evals])  # (n_evals, M)
            ax.plot(steps, v.mean(1), color=colour, ls=ls, label=SPLIT_LABEL[key])
            ax.fill_between(steps, v.min(1), v.max(1), color=colour, alpha=0.15, lw=0)
        if bayes is not None:
            ax.axhline(bayes, color="grey", lw=0.8, ls="-.", label=f"Bayes accuracy using S ({bayes:.2f})")
        ax.set_title(title)
        ax.set_xlabel("SGD updates")
    axes[0, 0].set_ylabel("accuracy")
    axes[0, 0].legend(frameon=False, fontsize=7, loc="center right")
    fig.tight_layout()
    return fig


def plot_grid_scatter(rows: Sequence[Mapping]) -> plt.Figure:
    """Validation against test accuracy of every grid run, one marker per architecture."""
    fig, ax = plt.subplots(figsize=(3.6, 3.0))
    for model in dict.fromkeys(r["model"] for r in rows):
        sel = [r for r in rows if r["model"] == model]
        ax.scatter([r["val"] for r in sel], [r["test"] for r in sel], s=14, label=model)
    ax.set_xlabel("validation accuracy")
    ax.set_ylabel("test accuracy")
    ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    return fig
