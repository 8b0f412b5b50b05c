"""Chapter 06's figures: training curves, the SGD grid and the long weight-decay runs."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .style import CYCLE, NEG, REFERENCE, STANDARD, S, new_figure

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


def plot_long_wd(records: Sequence[Mapping]) -> Figure:
    """The long weight-decay runs (``records``: as :func:`sbcore.experiments.longruns.load_long_wd`
    returns them): one row of panels per architecture, test, S-randomized test accuracy and
    weight norm against SGD updates on a log scale; one colour per weight decay, one line per
    seed. A member that switched to the slabs would show as test accuracy rising above the
    linear feature's 0.95 and S-randomized accuracy leaving chance."""
    decays = sorted({float(m["weight_decay"]) for r in records for m in r["members"]})
    colour = dict(zip(decays, CYCLE))
    fig, axes = new_figure(
        height=1.0 + 2.0 * max(len(records), 1), nrows=max(len(records), 1), ncols=3, squeeze=False
    )
    for row, rec in zip(axes, records):
        t = rec["trajectory"]
        steps = [p["n_updates"] for p in t]
        for i, m in enumerate(rec["members"]):
            c = colour[float(m["weight_decay"])]
            for ax, key in zip(row, ("test", "s_rand", "w_norm")):
                ax.plot(steps, [p[key][i] for p in t], color=c, lw=0.9, alpha=0.8)
        for ax in row:
            ax.set_xscale("log")
        row[0].axhline(0.95, color=REFERENCE, lw=0.7, ls="--")
        row[1].axhline(0.5, color=REFERENCE, lw=0.7, ls=":")
        row[0].set_ylim(0.8, 1.005)
        row[1].set_ylim(0.4, 1.02)
        row[2].set_yscale("log")
        row[0].set_ylabel(f"{rec['model']}\ntest accuracy")
        row[1].set_ylabel("S-randomized accuracy")
        row[2].set_ylabel("weight norm")
    for ax in axes[-1]:
        ax.set_xlabel("SGD updates")
    handles = [plt.Line2D([], [], color=colour[w], lw=1.2) for w in decays]
    handles += [
        plt.Line2D([], [], color=REFERENCE, lw=0.7, ls="--"),
        plt.Line2D([], [], color=REFERENCE, lw=0.7, ls=":"),
    ]
    labels = [f"weight decay {w:g}" for w in decays] + ["linear feature (0.95)", "chance"]
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    return fig
