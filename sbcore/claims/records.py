"""Claim records: what a chapter measured for one check, its verdict, and how records are saved,
loaded, pooled over seeds and rolled up into the scoreboard.

A record is re-evaluated from its values wherever it is read (the stored ``passed`` flag is never
trusted), so a scoreboard always says what the numbers say under the criterion printed beside them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..runtime import atomic_write_text
from .checks.base import KINDS, criterion_text, passes
from .registry import CLAIMS


class ClaimNotReproduced(AssertionError):
    """A claim record failed its check while ``strict=True``."""


@dataclass
class ClaimRecord:
    """One measured quantity behind a claim (``values``: one number per seed or member).

    ``check``: the registry key it was made from; ``kind``/``target``/``tol``/``upper``: the
    criterion (see :mod:`sbcore.claims.checks.base`); ``paper``/``source``: the paper's printed
    value and where; ``rationale``: why that tolerance. ``meta`` holds ``not_run`` (a reason),
    ``known_deviation``, ``fact`` and whatever the chapter adds (model, hyperparameters)."""

    claim: int
    check: str
    quantity: str
    values: list[float]
    paper: str
    source: str
    kind: str
    target: float
    tol: float
    upper: float | None
    rationale: str
    data: str
    scale: str
    chapter: str
    meta: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def ours(self) -> str:
        """``mean ± sd (n=...)`` over seeds, as printed in every table."""
        if not self.values:
            return "—"
        return f"{self.mean:.3f} ± {self.std:.3f} (n={len(self.values)})"

    @property
    def criterion(self) -> str:
        if math.isnan(self.target):  # a not-run record of a check whose bar the run sets
            return "— (set by the run)"
        return criterion_text(self.kind, self.target, self.tol, self.upper)

    @property
    def not_run(self) -> bool:
        return "not_run" in self.meta

    @property
    def fact(self) -> bool:
        return bool(self.meta.get("fact"))

    @property
    def passed(self) -> bool:
        """Recomputed from the values every time it is read."""
        return not self.not_run and passes(self.kind, self.values, self.target, self.tol, self.upper)

    @property
    def verdict(self) -> str:
        if self.not_run:
            return f"not run at this scale ({self.meta['not_run']})"
        if self.fact:
            return "fact of the construction" if self.passed else "fact fails (a bug)"
        if self.passed:
            return "reproduced"
        known = self.meta.get("known_deviation")
        return f"not reproduced (known: {known})" if known else "not reproduced"

    @property
    def identity(self) -> tuple:
        """What makes a record unique within one run: claim, quantity, data and scale."""
        return (self.claim, self.quantity, self.data, self.scale)

    def row(self) -> dict:
        """A flat dict for tables."""
        return {"claim": f"#{self.claim}", "quantity": self.quantity, "data": self.data,
                "paper": f"{self.paper} ({self.source})", "ours": self.ours,
                "criterion": self.criterion, "verdict": self.verdict}

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def save_records(records: Sequence[ClaimRecord], path: str | Path, *, metadata: dict) -> Path:
    """Write records and run metadata (config, seed, scale, versions, commit) as JSON, atomically.
    Duplicate records (same claim, quantity, data and scale) are refused."""
    check_unique(records, where=str(path))
    payload = {"metadata": metadata, "records": [r.to_json() for r in records]}
    return atomic_write_text(path, json.dumps(payload, indent=1, default=_jsonable))


def check_unique(records: Sequence[ClaimRecord], *, where: str) -> None:
    """Raise ValueError naming ``where`` if two records share claim, quantity, data and scale."""
    seen: set[tuple] = set()
    for r in records:
        if r.identity in seen:
            raise ValueError(f"{where}: duplicate record for claim #{r.claim}, {r.quantity!r} on "
                             f"{r.data!r} ({r.scale}); each check is recorded once per run")
        seen.add(r.identity)


_FIELDS = {f.name for f in fields(ClaimRecord)}


def load_records(paths: Iterable[str | Path]) -> list[ClaimRecord]:
    """Records from JSON files written by :func:`save_records` (metadata goes to ``meta['run']``).

    A file that does not parse, or that holds duplicate records, raises ValueError naming it."""
    out = []
    for p in paths:
        try:
            payload = json.loads(Path(p).read_text())
            recs = [ClaimRecord(**{k: v for k, v in r.items() if k in _FIELDS})
                    for r in payload["records"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{p} is not a valid records file: {e}") from None
        check_unique(recs, where=str(p))
        for rec in recs:
            if rec.kind not in KINDS or rec.claim not in CLAIMS:
                raise ValueError(f"{p}: record {rec.quantity!r} has kind {rec.kind!r} / claim "
                                 f"#{rec.claim}, not one of {KINDS} / #1-#{len(CLAIMS)}")
            rec.meta = {**rec.meta, "run": payload.get("metadata", {})}
        out += recs
    return out


def merge(records: Sequence[ClaimRecord]) -> list[ClaimRecord]:
    """Pool records of the same (claim, quantity, data, scale) across runs (seeds)."""
    groups: dict[tuple, ClaimRecord] = {}
    for r in records:
        if r.identity in groups:
            groups[r.identity].values = groups[r.identity].values + list(r.values)
        else:
            groups[r.identity] = ClaimRecord(**{**asdict(r), "values": list(r.values)})
    return list(groups.values())
