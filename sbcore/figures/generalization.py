"""Chapter 06's figures: training curves and the SGD grid."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import NEG, REFERENCE, STANDARD, S, new_figure

SPLIT_STYLE = {"train": (NEG, "-"), "test": (STANDARD, "--"), "s_rand": (S, ":")}
SPLIT_LABEL = {"train": "train", "test": "test", "s_rand": "S-randomized test"}


def plot_training_curves(
    runs: Mapping[str, Sequence[dict]], *, bayes: float | None = None
) -> Figure:
    """Train, test and S-randomized test accuracy against SGD updates, one panel per run.

    ``runs``: title -> ``History.evals`` (dicts with ``n_updates`` and per-member lists under
    ``train``, ``test``, ``s_rand``); lines are the mean over members, bands their range."""
    fig, axes = new_figure(
        width=3.2 * len(runs), height=2.7, ncols=len(runs), sharey=True, squeeze=False
    )
    for ax, (title, evals) in zip(axes[0], runs.items()):
        steps = [e["n_updates"] for e in evals]
        for key, (colour, ls) in SPLIT_STYLE.items():
            v = np.array([e[key] for e in evals])  # (n_evals, M)
            ax.plot(steps, v.mean(1), color=colour, ls=ls, label=SPLIT_LABEL[key])
            ax.fill_between(steps, v.min(1), v.max(1), color=colour, alpha=0.15, lw=0)
        if bayes is not None:
            ax.axhline(
                bayes,
                color=REFERENCE,
                lw=0.8,
                ls="-.",
                label=f"best accuracy from S alone ({bayes:.2f})",
            )
        ax.set_title(title)
        ax.set_xlabel("SGD updates")
    axes[0, 0].set_ylabel("accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig


def plot_grid_scatter(rows: Sequence[Mapping]) -> Figure:
    """Validation against test accuracy of every grid run, one marker per architecture.

    ``rows``: dicts with ``model``, ``val`` and ``test`` (accuracies in [0, 1])."""
    fig, ax = new_figure(width=4.0, height=3.0)
    for model in dict.fromkeys(r["model"] for r in rows):
        sel = [r for r in rows if r["model"] == model]
        ax.scatter([r["val"] for r in sel], [r["test"] for r in sel], s=14, label=model)
    ax.set_xlabel("validation accuracy")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=6.5)
    return fig
