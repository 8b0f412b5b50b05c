"""What a chapter shows and saves: tables, claim records, glued numbers, the records file.

Display goes through IPython (tables as Markdown); numbers reach the prose through myst-nb's
``glue`` so no number is typed by hand. Outside a notebook these functions only return values.
"""

from __future__ import annotations

import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import claims
from .runtime import records_dir, run_metadata


def _display(obj) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return
    display(obj)


def show_table(rows: Sequence[dict], columns: Sequence[str] | None = None, *,
               digits: int = 3) -> str:
    """Show ``rows`` as a Markdown table (floats rounded to ``digits``); returns the Markdown."""
    if not rows:
        return ""
    cols = list(columns or rows[0].keys())
    def cell(v):
        if isinstance(v, float):
            return "—" if v != v else f"{v:.{digits}f}"
        return v
    fmt = [{c: cell(v) for c, v in r.items()} for r in rows]
    md = claims.markdown_table(fmt, cols)
    try:
        from IPython.display import Markdown
        _display(Markdown(md))
    except ImportError:  # pragma: no cover
        pass
    return md


def show_config(cfg: Any, *, scale: str, seeds: Sequence[int], device: Any) -> None:
    """The resolved settings as a two-column panel."""
    items = asdict(cfg) if is_dataclass(cfg) else dict(cfg)
    rows = [{"setting": "scale", "value": scale}, {"setting": "seeds", "value": list(seeds)},
            {"setting": "device", "value": str(device)}]
    rows += [{"setting": k, "value": f"{v:g}" if isinstance(v, float) else v} for k, v in items.items()]
    show_table(rows, ["setting", "value"])


def mean_std(values) -> str:
    """``0.500 ± 0.004`` over seeds (sample standard deviation)."""
    v = np.asarray(values, dtype=float)
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{v.mean():.3f} ± {sd:.3f}"


def glue(name: str, value: Any) -> Any:
    """Glue ``value`` for the prose (``{glue:text}`name``` or ``{glue:figure} name``) without
    displaying it here; returns ``value``.

    A matplotlib Figure is closed once glued, so the inline backend does not show it a second
    time as the cell's output: each figure appears once, where its ``glue:figure`` puts it."""
    try:
        from myst_nb import glue as _glue
        _glue(name, value, display=False)
    except ImportError:  # pragma: no cover - outside the book toolchain
        pass
    if type(value).__module__.startswith("matplotlib"):
        from .figures.style import close_figure
        close_figure(value)
    return value


def show_records(records: Sequence[claims.ClaimRecord]) -> None:
    """The claim records of a chapter: the paper's value, ours, the criterion and the verdict."""
    show_table([r.row() for r in records],
               ["claim", "quantity", "data", "paper", "ours", "criterion", "verdict"])


def finish(records: Sequence[claims.ClaimRecord], *, chapter: str, cfg: Any, scale: str,
           seed: int, seeds: Sequence[int], device: Any, started: float | None = None) -> Path:
    """Show the records, glue their counts and save them (with run metadata) as JSON.

    ``started``: ``time.time()`` at the chapter's start, to record its run time."""
    show_records(records)
    n_ok = sum(r.passed for r in records)
    glue(f"{chapter[:2]}_n_records", len(records))
    glue(f"{chapter[:2]}_n_reproduced", n_ok)
    meta = run_metadata(scale=scale, seed=seed, seeds=seeds, device=device,
                        config=asdict(cfg) if is_dataclass(cfg) else dict(cfg))
    meta["chapter"] = chapter
    meta["seconds"] = round(time.time() - started, 1) if started else None
    return claims.save_records(records, records_dir() / f"{chapter}.json", metadata=meta)
