"""Scales (smoke / book / paper) and the presets behind them.

``smoke``: seconds per chapter, for the tests. ``book``: the rendered book on a 2-core laptop CPU,
a few minutes per chapter. ``paper``: the paper's sample sizes, models and sweeps. ``None`` means
the environment variable ``SBCORE_SCALE``, else ``book``. Each experiment keeps its presets as
frozen dataclasses beside its code and resolves them with :func:`choose`, which rejects unknown
scales, unknown knobs and impossible values before anything trains.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, TypeVar

SCALES = ("smoke", "book", "paper")
T = TypeVar("T")


def resolve_scale(scale: str | None = None) -> str:
    """``scale``, else ``$SBCORE_SCALE``, else ``"book"``; anything else raises ValueError."""
    if scale is None:
        scale = os.environ.get("SBCORE_SCALE") or "book"
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES} (or None for $SBCORE_SCALE / 'book'), got {scale!r}")
    return scale


def choose(presets: Mapping[str, T], scale: str | None = None, **overrides) -> T:
    """The preset for ``scale`` with every override that is not None applied.

    The preset's ``__post_init__`` validates the result, so a bad value (a negative sample size,
    say) raises ValueError naming the parameter and the allowed values.
    """
    base = presets[resolve_scale(scale)]
    names = [f.name for f in dataclasses.fields(base)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; allowed: {names}")
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def require(condition: bool, name: str, allowed: str, value) -> None:
    """Raise ``ValueError("<name> must be <allowed>, got <value>")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def positive_int(name: str, value, minimum: int = 1) -> None:
    """Validate an integer knob (bools are rejected)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    require(ok, name, f"an integer >= {minimum}", value)
