"""The scoreboard's figures: every claim's verdict at a glance, for the scoreboard page (one labelled
box per claim, two columns) and a small strip of numbered boxes for the intro."""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..claims.scoreboard import verdict_class as claims_verdict_class
from .style import new_figure

# Verdict classes in reading order (best news first), with their colours: greens for what holds,
# red for what does not, orange for what fails on the offline stand-in data only, greys for what
# was not measured, blue for what holds by construction.
VERDICT_COLOURS = {
    "reproduced": "#1a9641",
    "partly checked": "#a6d96a",
    "fact of the construction": "#4393c3",
    "not reproduced": "#d7191c",
    "not testable offline": "#fdae61",
    "not run at this scale": "#bdbdbd",
    "not covered yet": "#f0f0f0",
}
EDGE = "#777777"


def verdict_class(verdict: str) -> str:
    """The class of a scoreboard verdict (``"partly checked (2 of 5 ...)"`` -> ``"partly checked"``,
    as :func:`sbcore.claims.verdict_class`); raises ValueError for a verdict of no known class."""
    name = claims_verdict_class(verdict)
    if name not in VERDICT_COLOURS:
        raise ValueError(
            f"unknown verdict {verdict!r}; expected one starting with {list(VERDICT_COLOURS)}"
        )
    return name


def _classes(rows: Sequence[Mapping]) -> list[tuple[int, str, str]]:
    if not rows:
        raise ValueError("no scoreboard rows to draw")
    out = sorted(
        (int(r["claim"]), str(r["title"]), verdict_class(str(r["verdict"]))) for r in rows
    )
    return out


def _legend(fig: Figure, classes: Sequence[str], *, ncols: int) -> None:
    counts = Counter(classes)
    handles = [
        Patch(facecolor=c, edgecolor=EDGE, lw=0.5, label=f"{name} ({counts[name]})")
        for name, c in VERDICT_COLOURS.items()
        if counts[name]
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        handlelength=1.2,
        columnspacing=1.2,
    )


def plot_verdicts(rows: Sequence[Mapping], *, n_cols: int = 2) -> Figure:
    """All claims' verdicts: one row per claim (its number, title and a box in its verdict's
    colour), in ``n_cols`` columns, with a legend counting each verdict class.

    ``rows``: dicts with ``claim`` (int, 1-31), ``title`` (str) and ``verdict`` (str starting with
    a key of :data:`VERDICT_COLOURS`), as :func:`sbcore.claims.scoreboard` returns them."""
    items = _classes(rows)
    per_col = -(-len(items) // n_cols)
    fig, ax = new_figure(height=0.19 * per_col + 0.75)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(per_col, -0.2)
    ax.axis("off")
    for i, (claim, title, cls) in enumerate(items):
        x, y = divmod(i, per_col)
        ax.add_patch(
            Rectangle(
                (x + 0.01, y + 0.12),
                0.07,
                0.76,
                facecolor=VERDICT_COLOURS[cls],
                edgecolor=EDGE,
                lw=0.5,
            )
        )
        ax.text(x + 0.1, y + 0.5, f"#{claim}", va="center", fontsize=7.5, fontweight="bold")
        ax.text(
            x + 0.2,
            y + 0.5,
            title if len(title) <= 44 else title[:43] + "…",
            va="center",
            fontsize=7.5,
        )
    _legend(fig, [c for *_, c in items], ncols=3)
    return fig


def plot_verdict_strip(rows: Sequence[Mapping]) -> Figure:
    """The small variant for the intro: one numbered box per claim in a single strip, coloured by
    verdict, with the legend's counts below. ``rows`` as for :func:`plot_verdicts`."""
    items = _classes(rows)
    fig, ax = new_figure(height=1.05)
    ax.set_xlim(0, len(items))
    ax.set_ylim(0, 1)
    ax.axis("off")
    for i, (claim, _, cls) in enumerate(items):
        ax.add_patch(
            Rectangle(
                (i + 0.06, 0.05), 0.88, 0.9, facecolor=VERDICT_COLOURS[cls], edgecolor=EDGE, lw=0.5
            )
        )
        dark = cls in ("reproduced", "not reproduced", "fact of the construction")
        ax.text(
            i + 0.5,
            0.5,
            str(claim),
            ha="center",
            va="center",
            fontsize=6.5,
            color="white" if dark else "black",
        )
    _legend(fig, [c for *_, c in items], ncols=3)
    return fig
