"""Figures of chapters 06 (generalization) and 07 (ensembles). Every function returns a Figure
and never trains."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .plots import VARIANT_COLOURS  # noqa: F401  (also applies the book's rcParams)

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


def plot_size_sweep(n_train: Sequence[int], single: Sequence[np.ndarray],
                    ensembles: Mapping[int, Sequence[np.ndarray]], *, chosen: int | None = None) -> plt.Figure:
    """MS-5: test accuracy of single members and of ensembles against the training-set size.

    ``single[i]``: accuracies of every member at ``n_train[i]``; ``ensembles[k][i]``: accuracies
    of the k-member ensembles (one per group)."""
    fig, ax = plt.subplots(figsize=(4.2, 2.9))
    s = [np.asarray(v) for v in single]
    ax.errorbar(n_train, [v.mean() for v in s], yerr=[v.std() for v in s], marker="o", ms=3,
                color="#333333", capsize=2, label="single member")
    for k, vals in ensembles.items():
        v = [np.asarray(a) for a in vals]
        ax.errorbar(n_train, [a.mean() for a in v], yerr=[a.std() for a in v], marker="s", ms=3,
                    capsize=2, label=f"ensemble of {k}")
    if chosen is not None:
        ax.axvline(chosen, color="grey", lw=0.8, ls=":")
    ax.axhline(0.75, color="grey", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("training points")
    ax.set_ylabel("test accuracy")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_ensemble_sizes(curves: Mapping[str, tuple[Sequence[int], np.ndarray]]) -> plt.Figure:
    """Fig. 6a: test accuracy against ensemble size. ``curves``: label -> (sizes, (len, G))."""
    fig, ax = plt.subplots(figsize=(3.8, 2.8))
    for label, (sizes, acc) in curves.items():
        acc = np.asarray(acc)
        ax.errorbar(sizes, acc.mean(1), yerr=acc.std(1), marker="o", ms=3, capsize=2, label=label)
    ax.set_xlabel("ensemble size (members, logits averaged)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.5, 1.02)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_reliance(panels: Mapping[str, np.ndarray], *, n_coords: int = 50) -> plt.Figure:
    """Fig. 6b: accuracy lost by each member (rows) when one coordinate (columns) is randomized.

    ``panels``: title -> (M, d) accuracy drops; only the first ``n_coords`` coordinates shown."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.0, 1.3 + 0.22 * sum(p.shape[0] for p in panels.values())),
                             squeeze=False, layout="constrained")
    vmax = max(float(np.max(p)) for p in panels.values())
    for ax, (title, drop) in zip(axes[:, 0], panels.items()):
        im = ax.imshow(np.clip(drop[:, :n_coords], 0, None), aspect="auto", cmap="Greys", vmin=0,
                       vmax=vmax, interpolation="nearest")
        ax.set_title(title)
        ax.set_ylabel("member")
        ax.set_yticks(range(drop.shape[0]), [str(i + 1) for i in range(drop.shape[0])], fontsize=6)
    ticks = list(range(0, min(n_coords, drop.shape[1]), 5))
    for ax in axes[:, 0]:
        ax.set_xticks(ticks, [str(t + 1) for t in ticks], fontsize=6)
    axes[-1, 0].set_xlabel("randomized coordinate (unrotated; 1 = S where the data has one)")
    fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.8, label="accuracy lost")
    return fig
