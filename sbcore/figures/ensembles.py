"""Chapter 07's figures: the MS-5 size sweep, accuracy against ensemble size (paper Fig. 6a) and
which coordinates each member relies on (paper Fig. 6b)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import style  # noqa: F401  (the book's rcParams)

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
