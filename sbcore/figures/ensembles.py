"""Chapter 07's figures: the MS-5 size sweep, accuracy against ensemble size (paper Fig. 6a) and
which coordinates each member relies on (paper Fig. 6b)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import REFERENCE, STANDARD, new_figure


def plot_size_sweep(
    n_train: Sequence[int],
    single: Sequence[np.ndarray],
    ensembles: Mapping[int, Sequence[np.ndarray]],
    *,
    chosen: int | None = None,
    target: float | None = 0.75,
) -> Figure:
    """MS-5: test accuracy of single members and of ensembles against the training-set size.

    ``single[i]``: accuracies of every member at ``n_train[i]``; ``ensembles[k][i]``: accuracies
    of the k-member ensembles (one per group); ``chosen``: the size the chapter goes on with;
    ``target``: the single-member accuracy it aims for (a dashed line), None for none."""
    fig, ax = new_figure(width=4.4, height=2.9)
    s = [np.asarray(v) for v in single]
    ax.errorbar(
        n_train,
        [v.mean() for v in s],
        yerr=[v.std() for v in s],
        marker="o",
        ms=3,
        color=STANDARD,
        capsize=2,
        label="one network",
    )
    for k, vals in ensembles.items():
        v = [np.asarray(a) for a in vals]
        ax.errorbar(
            n_train,
            [a.mean() for a in v],
            yerr=[a.std() for a in v],
            marker="s",
            ms=3,
            capsize=2,
            label=f"ensemble of {k}",
        )
    if chosen is not None:
        ax.axvline(chosen, color=REFERENCE, lw=0.8, ls=":", label=f"size used below ({chosen:,})")
    if target is not None:
        ax.axhline(target, color=REFERENCE, lw=0.6, ls="--", label=f"target accuracy {target:g}")
    ax.set_xscale("log")
    ax.set_xlabel("training points")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    return fig


def plot_ensemble_sizes(curves: Mapping[str, tuple[Sequence[int], np.ndarray]]) -> Figure:
    """Fig. 6a: test accuracy against ensemble size. ``curves``: label -> (sizes, (len, G))
    accuracies of G independent ensembles per size (mean ± std drawn)."""
    fig, ax = new_figure(width=4.4, height=2.8)
    for label, (sizes, acc) in curves.items():
        acc = np.asarray(acc)
        ax.errorbar(sizes, acc.mean(1), yerr=acc.std(1), marker="o", ms=3, capsize=2, label=label)
    ax.set_xlabel("ensemble size (networks, logits averaged)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.5, 1.02)
    ax.legend(fontsize=7)
    return fig


def plot_reliance(panels: Mapping[str, np.ndarray], *, n_coords: int = 50) -> Figure:
    """Fig. 6b: accuracy lost by each member (rows) when one coordinate (columns) is randomized.

    ``panels``: title -> (M, d) accuracy drops; only the first ``n_coords`` coordinates shown."""
    height = 1.2 + 0.2 * sum(p.shape[0] for p in panels.values())
    fig, axes = new_figure(height=height, nrows=len(panels), squeeze=False)
    vmax = max(float(np.max(p)) for p in panels.values()) or 1.0
    im = drop = None
    for ax, (title, drop) in zip(axes[:, 0], panels.items()):
        im = ax.imshow(
            np.clip(drop[:, :n_coords], 0, None),
            aspect="auto",
            cmap="Greys",
            vmin=0,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_title(title)
        ax.set_ylabel("network")
        ax.set_yticks(range(drop.shape[0]), [str(i + 1) for i in range(drop.shape[0])], fontsize=6)
    ticks = list(range(0, min(n_coords, drop.shape[1]), 5))
    for ax in axes[:, 0]:
        ax.set_xticks(ticks, [str(t + 1) for t in ticks], fontsize=6)
    axes[-1, 0].set_xlabel("randomized coordinate (unrotated; 1 = S where the data has one)")
    fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.8, label="accuracy lost")
    return fig
