"""The book's shared figure style: one set of colours, one column width, one way to make a figure.

Colours: the test variants are standard black, Sc-randomized green and S-randomized orange, and the
same green/orange stand for the complex and simple features wherever a figure shows them; classes
are blue (y = -1) and red (y = +1); reference lines (chance, a budget) are grey. Series with no
S/Sc meaning (models, ensemble sizes) take the colour cycle, which avoids those reserved colours.

Figures are built with :func:`new_figure`, which closes them in pyplot's figure manager at once, so
the notebook's inline backend never shows them by itself: a figure appears exactly where it is
glued or displayed (the backend still renders it there).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.figure import Figure

COLUMN_WIDTH = (
    6.4  # inches: the book's text column (about 700 px at figure.dpi) - the widest figure
)
DPI = 110

STANDARD, SC, S = "#000000", "#2ca02c", "#ff7f0e"  # standard test set / Sc / S (and randomized)
NEG, POS = "#1f77b4", "#d62728"  # class y = -1 / y = +1, in every figure
REFERENCE = "#8c8c8c"  # chance levels, budgets and other guides
VARIANT_COLOURS = {"standard": STANDARD, "Sc-randomized": SC, "S-randomized": S}
CYCLE = ("#6a3d9a", "#8c564b", "#17becf", "#e377c2", "#7f7f7f", "#bcbd22")  # none of the above

plt.rcParams.update(
    {
        "figure.dpi": DPI,
        "savefig.dpi": 200,
        "figure.facecolor": "white",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=CYCLE),
        "font.size": 8.5,
        "axes.titlesize": 9,
        "axes.labelsize": 8.5,
        "xtick.labelsize": 7.5,
        "ytick.labelsize": 7.5,
        "legend.fontsize": 7.5,
        "legend.frameon": False,
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
    }
)


def new_figure(
    width: float = COLUMN_WIDTH,
    height: float = 2.6,
    nrows: int = 1,
    ncols: int = 1,
    **subplots_kw: Any,
) -> tuple[Figure, Any]:
    """A constrained-layout figure of ``width`` x ``height`` inches and its axes (as
    ``Figure.subplots`` returns them; pass ``squeeze=False`` for a 2-D array).

    The figure is closed in pyplot as soon as it is made, so the inline backend does not show it at
    the end of the cell (made through pyplot, it loads the backend, whose formatter renders it where
    it is glued or displayed); labels never overlap a neighbouring panel (constrained layout makes
    room for them). ``width`` is capped at :data:`COLUMN_WIDTH`."""
    fig = plt.figure(figsize=(min(width, COLUMN_WIDTH), height), dpi=DPI, layout="constrained")
    plt.close(fig)
    return fig, fig.subplots(nrows, ncols, **subplots_kw)


def close_figure(value: Any) -> Any:
    """Close ``value`` if it is a matplotlib Figure that pyplot manages (after it was glued), so
    the inline backend does not show it a second time; returns ``value``."""
    if isinstance(value, Figure):
        plt.close(value)
    return value
