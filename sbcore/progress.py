"""Progress of long loops, shown the way the place it is shown in can take it.

:func:`progress` wraps an iterable (the epochs of :func:`sbcore.train.fit`) and reports how far it
has come, how long it has run and about how long is left:

* in a terminal (stderr is a TTY): a tqdm bar, redrawn in place;
* in a Jupyter kernel (a notebook, papermill, a chapter run by ``reproduce``): one line of text
  per notebook cell, updated in place (``update_display_data``): live in Jupyter, and a single
  output in a papermill notebook instead of one stderr output per redraw;
* anywhere else (logs, pipes): a line every :data:`EVERY` seconds, and none for loops that end
  sooner.

``$SBCORE_PROGRESS`` overrides the choice: ``bar``, ``cell``, ``lines`` or ``off`` (``make book``
sets ``off``: a rendered page shows no progress).
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Callable, Iterable, Iterator, TextIO

from tqdm import tqdm

EVERY = 30.0  # seconds between two report lines in logs and pipes
MODES = ("bar", "cell", "lines", "off")
_CELL: dict[str, Any] = {}  # the current notebook cell's display handle: {"cell": n, "handle": h}


def _kernel_cell() -> int | None:
    """The execution count of the running cell when inside an IPython kernel, else None."""
    shell = sys.modules.get("IPython")
    shell = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return None
    return int(getattr(shell, "execution_count", 0) or 0)


def mode() -> str:
    """The reporting mode here: ``$SBCORE_PROGRESS`` when set (one of :data:`MODES`), else
    ``bar`` in a terminal, ``cell`` in a Jupyter kernel, ``lines`` elsewhere."""
    forced = os.environ.get("SBCORE_PROGRESS", "").strip()
    if forced:
        if forced not in MODES:
            raise ValueError(f"$SBCORE_PROGRESS must be one of {MODES}, got {forced!r}")
        return forced
    if _kernel_cell() is not None:
        return "cell"
    return "bar" if getattr(sys.stderr, "isatty", lambda: False)() else "lines"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class Report:
    """Progress of one loop as text: ``desc: 12/40 epochs (30%), 0:04 elapsed, ~0:09 left,
    loss=0.1234``. Iterate it like the wrapped iterable; ``set_postfix(**kw)`` adds fields;
    ``close()`` writes the last state. ``show(text, final)`` is where the text goes."""

    def __init__(
        self,
        iterable: Iterable,
        *,
        desc: str,
        total: int,
        initial: int = 0,
        unit: str = "epochs",
        show: Callable[[str, bool], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.iterable, self.desc, self.total, self.unit = iterable, desc, total, unit
        self.n = self.initial = initial
        self.show, self.clock = show, clock
        self.start = clock()
        self.postfix: dict[str, Any] = {}
        self.closed = False

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.n += 1
            self.show(self.text(), False)

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = kw

    def text(self) -> str:
        elapsed = self.clock() - self.start
        done = self.n - self.initial
        pct = 100 * self.n / self.total if self.total else 100.0
        parts = [f"{self.desc}: {self.n}/{self.total} {self.unit} ({pct:.0f}%)"]
        parts.append(f"{_duration(elapsed)} elapsed")
        if 0 < done and self.n < self.total:
            parts.append(f"~{_duration(elapsed / done * (self.total - self.n))} left")
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        return ", ".join(parts)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.show(self.text(), True)


class _Lines:
    """Where a :class:`Report` writes in logs and pipes: nothing for the first ``every``
    seconds, then a line at most every ``every`` seconds, and a last line if any was written."""

    def __init__(self, every: float, file: TextIO | None, clock: Callable[[], float]):
        self.every, self.file, self.clock = every, file, clock
        self.last = clock()
        self.wrote = False

    def __call__(self, text: str, final: bool) -> None:
        now = self.clock()
        if (final and self.wrote) or (not final and now - self.last >= self.every):
            print(text + (" (done)" if final else ""), file=self.file or sys.stderr, flush=True)
            self.last, self.wrote = now, True


class _Cell:
    """Where a :class:`Report` writes in a Jupyter kernel: one display per cell, updated in place
    (every loop of the cell reuses it), at most every ``every`` seconds and at the end."""

    def __init__(self, every: float, clock: Callable[[], float]):
        from IPython.display import display

        self.every, self.clock, self.last = every, clock, -math.inf
        cell = _kernel_cell()
        if _CELL.get("cell") != cell:
            _CELL.update(cell=cell, handle=display({"text/plain": ""}, raw=True, display_id=True))
        self.handle = _CELL["handle"]

    def __call__(self, text: str, final: bool) -> None:
        now = self.clock()
        if final or now - self.last >= self.every:
            self.handle.update({"text/plain": text}, raw=True)
            self.last = now


class _Off:
    def __call__(self, text: str, final: bool) -> None:
        pass


def progress(
    iterable: Iterable,
    *,
    desc: str,
    total: int,
    initial: int = 0,
    disable: bool = False,
    unit: str = "epochs",
    every: float | None = None,
    file: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
):
    """A progress report over ``iterable`` (``total`` items, ``initial`` done already) in the
    :func:`mode` of this process: a tqdm bar, or a :class:`Report` writing to the notebook cell, to
    ``file`` (default stderr) every ``every`` seconds (default :data:`EVERY`; 1 in a cell), or
    nowhere (``disable``, or ``off``). Either way it iterates like ``iterable`` and has
    ``set_postfix(**kw)`` and ``close()``."""
    how = "off" if disable else mode()
    if how == "bar":
        return tqdm(
            iterable, desc=desc, total=total, initial=initial, leave=False, mininterval=1.0
        )
    if how == "cell":
        show = _Cell(1.0 if every is None else every, clock)
    elif how == "lines":
        show = _Lines(EVERY if every is None else every, file, clock)
    else:
        show = _Off()
    return Report(
        iterable, desc=desc, total=total, initial=initial, unit=unit, show=show, clock=clock
    )
