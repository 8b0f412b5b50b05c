"""Figures of chapter 04: the S-randomized AUC of every table cell beside the paper's (Tables
6-9) and non-random initialization (paper Fig. 5)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..claims.checks.survives import printed_cell
from .style import VARIANT_COLOURS

_KEYS = (("auc", "standard"), ("sc_auc", "Sc-randomized"), ("s_auc", "S-randomized"))


def cell_panels(tables: Mapping[str, Sequence]) -> dict:
    """The panels of :func:`plot_cells` from chapter 04's cells: ``tables`` maps "t6".."t9" to
    cells with ``labels`` (dict) and ``s_auc`` (per-seed array)."""

    def name(labels):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in labels.values())

    return {
        f"Table {t[1]}": [(name(c.labels), c.s_auc, printed_cell(t, c.labels)) for c in cells]
        for t, cells in tables.items()
    }


def plot_cells(panels: Mapping[str, Sequence[tuple[str, np.ndarray, str | None]]]) -> plt.Figure:
    """S-randomized AUC per table cell: ours (filled, mean ± std over seeds) and the paper's
    printed value ± its spread (hollow), one panel per table, cells down the vertical axis (the
    first table in the left column, the others stacked in the right one).

    ``panels``: title -> [(cell label, our per-seed values, printed "0.499±0.001" or None)]."""
    panels = {k: v for k, v in panels.items() if v}
    items = list(panels.items())
    left, right = items[:1], items[1:]
    rows = max(len(left[0][1]), sum(len(v) + 2 for _, v in right) - 2 if right else 0)
    fig = plt.figure(figsize=(9.0, 0.17 * rows + 1.4))
    grid = fig.add_gridspec(
        max(len(right), 1),
        2,
        height_ratios=[len(v) for _, v in right] or [1],
        wspace=0.9,
        hspace=0.45,
    )
    axes = [fig.add_subplot(grid[:, 0])] + [fig.add_subplot(grid[i, 1]) for i in range(len(right))]
    for ax, (title, cells) in zip(axes, items):
        y = np.arange(len(cells))[::-1]
        ours = [np.asarray(v, float) for _, v, _ in cells]
        ax.errorbar(
            [v.mean() for v in ours],
            y + 0.15,
            xerr=[v.std() for v in ours],
            fmt="o",
            ms=3.5,
            color=VARIANT_COLOURS["S-randomized"],
            capsize=2,
            label="ours",
        )
        paper = [(y[i], *map(float, p.split("±"))) for i, (_, _, p) in enumerate(cells) if p]
        if paper:
            yy, val, pm = zip(*paper)
            ax.errorbar(
                val,
                np.array(yy) - 0.15,
                xerr=pm,
                fmt="o",
                ms=3.5,
                mfc="white",
                color="grey",
                capsize=2,
                label="paper",
            )
        ax.axvline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_yticks(y, [c[0] for c in cells], fontsize=6.5)
        vals = np.concatenate(ours)
        ax.set_xlim(min(0.44, vals.min() - 0.01), max(0.56, vals.max() + 0.01))
        ax.set_title(title, fontsize=9)
    axes[0].set_xlabel("S-randomized AUC")
    axes[-1].set_xlabel("S-randomized AUC")
    axes[0].legend(frameon=False, fontsize=7, loc="lower left")
    return fig


def plot_nonrandom_init(
    alphas: np.ndarray,
    ms7_acc: np.ndarray,
    before: Mapping[str, np.ndarray],
    after: Mapping[str, np.ndarray],
) -> plt.Figure:
    """Fig. 5: (a) MS-7 accuracy of M_α against α; (b) standard, S- and Sc-randomized AUC of M_α
    on LMS-7 before training; (c) the same after training on LMS-7. Arrays are (n_alpha, n_seeds):
    mean over seeds as a line, each seed as faint dots."""
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 2.8), sharex=True)

    def curve(ax, values, colour, label):
        v = np.asarray(values, float)
        ax.plot(alphas, v.mean(1), "-o", ms=3, color=colour, label=label)
        ax.plot(np.repeat(alphas, v.shape[1]), v.ravel(), ".", ms=2, color=colour, alpha=0.4)

    curve(axes[0], ms7_acc, VARIANT_COLOURS["standard"], "MS-7 test accuracy")
    axes[0].set_ylabel("accuracy")
    axes[0].set_title("(a) M_α on MS-7")
    for ax, data, title in (
        (axes[1], before, "(b) LMS-7, before training"),
        (axes[2], after, "(c) LMS-7, after training"),
    ):
        for key, label in _KEYS:
            curve(ax, data[key], VARIANT_COLOURS[label], label)
        ax.set_title(title)
        ax.set_ylabel("AUC")
    for ax in axes:
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("α (weight of M_slab)")
        ax.set_ylim(0.2, 1.03)
    axes[2].legend(frameon=False, fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
