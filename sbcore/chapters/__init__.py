"""The chapter wing: one module per notebook, named after it (``ch02_extreme_sb_slabs`` for
``book/02_extreme_sb_slabs.ipynb``). Each holds its ``Config`` (a frozen dataclass), ``PRESETS``
per scale, the flat knobs that map onto nested recipes (``KNOBS``), and what the chapter measures.
No chapter module imports another; :func:`start` is the one entry point a notebook calls.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from typing import Any, Mapping

from ..claims.run import Run

PAPERMILL_HEADER = "# Parameters"  # the comment papermill's Python translator opens its cell with


def chapter_names() -> list[str]:
    """Every chapter of the wing, e.g. ``["01_datasets_and_metrics", ...]``."""
    return sorted(m.name[2:] for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch"))


def module(chapter: str):
    """The module of ``chapter`` (``"02_extreme_sb_slabs"`` or its prefix ``"02"``)."""
    names = chapter_names()
    hits = [n for n in names if n == chapter or n.split("_")[0] == chapter]
    if len(hits) != 1:
        raise ValueError(f"chapter must be one of {names}, got {chapter!r}")
    return importlib.import_module(f"{__name__}.ch{hits[0]}")


def start(chapter: str, **params) -> Run:
    """Start a chapter: ``run = sbcore.start("02_extreme_sb_slabs", scale=scale, seed=seed, ...)``.

    Resolves the scale's preset, coerces and validates every knob (``None`` keeps the preset's
    value), rejects parameters the chapter does not have, including names papermill injected that
    the call did not pass, seeds everything, picks the device and shows the settings."""
    mod = module(chapter)
    caller = inspect.currentframe().f_back
    namespace = injected_parameters(caller.f_globals) if caller is not None else {}
    return Run.create(
        mod.CHAPTER,
        mod.PRESETS,
        knobs=getattr(mod, "KNOBS", {}),
        summary=getattr(mod, "SUMMARY", ()),
        namespace=namespace,
        **params,
    )


def injected_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The names papermill injected into a notebook's kernel (``-p``, ``-f`` or ``reproduce``),
    with their values: the assignments of the executed cell papermill writes, which opens with
    ``# Parameters``, found in IPython's input history ``In``. A script, or a kernel that papermill
    did not parameterize, has none, so its other globals are never taken for parameters."""
    history = namespace.get("In")
    if namespace.get("__name__") != "__main__" or not isinstance(history, list):
        return {}
    names: list[str] = []
    for source in history:
        if not isinstance(source, str) or not source.lstrip().startswith(PAPERMILL_HEADER):
            continue
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        names += [
            t.id
            for stmt in body
            if isinstance(stmt, ast.Assign)
            for t in stmt.targets
            if isinstance(t, ast.Name)
        ]
    return {n: namespace[n] for n in dict.fromkeys(names) if n in namespace}
