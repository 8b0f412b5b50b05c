"""Scales (smoke / book / paper) and the presets behind them.

``smoke``: seconds per chapter, for the tests. ``book``: the rendered book on a 2-core laptop CPU,
a few minutes per chapter. ``paper``: the paper's sample sizes, models and sweeps. ``None`` means
the environment variable ``SBCORE_SCALE``, else ``book``. Each experiment keeps its presets as
frozen dataclasses beside its code (``sbcore/chapters/``); ``sbcore.start`` resolves them and,
through each config's validation (:func:`require`, :func:`positive_int`), rejects unknown scales,
unknown knobs and impossible values before anything trains.
"""

from __future__ import annotations

import os

SCALES = ("smoke", "book", "paper")


def resolve_scale(scale: str | None = None) -> str:
    """``scale``, else ``$SBCORE_SCALE``, else ``"book"``; anything else raises ValueError."""
    if scale is None:
        scale = os.environ.get("SBCORE_SCALE") or "book"
    if scale not in SCALES:
        raise ValueError(
            f"scale must be one of {SCALES} (or None for $SBCORE_SCALE / 'book'), got {scale!r}"
        )
    return scale


def require(condition: bool, name: str, allowed: str, value) -> None:
    """Raise ``ValueError("<name> must be <allowed>, got <value>")`` unless ``condition``."""
    if not condition:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


# The largest value an integer knob may take, so that a typo (n_seeds 100000, n_train 10**9) stops
# with a clear error before anything allocates: 10 million for sizes (5x the largest preset,
# chapter 01's 2,000,000 draws at paper scale; 100x the paper's largest training set), 32 seeds
# (the paper uses 5), input widths up to 10,000 (its widest is 3 x 32 x 64 image pixels).
MAXIMA = {"n_seeds": 32, "d": 10_000}
MAX_SIZE = 10_000_000


def positive_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> None:
    """Validate an integer knob (bools are rejected) in ``[minimum, maximum]``; ``maximum``
    defaults to :data:`MAXIMA` for the knob's name, else :data:`MAX_SIZE`."""
    top = maximum if maximum is not None else MAXIMA.get(name, MAX_SIZE)
    ok = isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= top
    require(ok, name, f"an integer >= {minimum} (and at most {top:,})", value)
