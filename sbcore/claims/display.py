"""What a chapter shows: Markdown tables, a collapsed settings panel, numbers glued for the prose.

Display goes through IPython; numbers and figures reach the prose through myst-nb's ``glue`` so no
number is typed by hand. Outside a notebook these functions only return values.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from ..metrics import mean_std  # noqa: F401 (re-exported: chapters format with it)
from .scoreboard import markdown_table


def _display(obj) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return
    display(obj)


def show_table(
    rows: Sequence[dict], columns: Sequence[str] | None = None, *, digits: int = 3
) -> None:
    """Show ``rows`` as a Markdown table (floats rounded to ``digits``). Returns None, so that a
    table shown by a cell's last line is not shown a second time as the cell's value (the text
    itself: :func:`markdown_table`)."""
    if not rows:
        return
    cols = list(columns or rows[0].keys())

    def cell(v):
        if isinstance(v, float):
            return "—" if v != v else f"{v:.{digits}f}"
        return v

    md = markdown_table([{c: cell(v) for c, v in r.items()} for r in rows], cols)
    try:
        from IPython.display import Markdown

        _display(Markdown(md))
    except ImportError:  # pragma: no cover
        pass


def show_settings(summary: str, rows: Sequence[dict]) -> str:
    """The resolved settings as a panel collapsed by default: ``summary`` (the few knobs a reader
    cares about) on the closed panel, every setting inside. Returns the HTML."""
    body = "".join(
        f"<tr><td><code>{html.escape(str(r['setting']))}</code></td>"
        f"<td>{html.escape(str(r['value']))}</td></tr>"
        for r in rows
    )
    text = (
        f"<details class='sb-settings'><summary>Settings: {html.escape(summary)}</summary>"
        f"<table><thead><tr><th>setting</th><th>value</th></tr></thead><tbody>{body}"
        "</tbody></table></details>"
    )
    try:
        from IPython.display import HTML

        _display(HTML(text))
    except ImportError:  # pragma: no cover
        pass
    return text


def glue(name: str, value: Any) -> Any:
    """Glue ``value`` for the prose (``{glue:text}`` / ``{glue:figure}``) without showing it here.

    A matplotlib figure is closed once glued, so the inline backend does not show it a second
    time: it appears exactly where a ``{glue:figure}`` directive places it."""
    try:
        from myst_nb import glue as _glue

        _glue(name, value, display=False)
    except ImportError:  # pragma: no cover - outside the book toolchain
        pass
    try:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        if isinstance(value, Figure):
            plt.close(value)
    except ImportError:  # pragma: no cover
        pass
    return value
