"""The paper's claims (#1-#31 of shared/paper/claims.md), our measurements and their verdicts.

A chapter measures a quantity over seeds and calls :func:`check`, which compares it with the
paper's value under a tolerance fixed *from the paper* (never from our runs) and returns a
:class:`ClaimRecord`. Records are shown in the chapter, saved as JSON (one file per chapter) and
aggregated by the scoreboard page and ``python -m sbcore reproduce``. With ``strict=True`` a record
that fails raises :class:`ClaimNotReproduced`, so the tests and the book build fail loudly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .registry import CLAIMS, Claim
from .runtime import atomic_write_text

KINDS = ("within", "at_least", "at_most", "between")


class ClaimNotReproduced(AssertionError):
    """A claim record failed its check while ``strict=True``."""


@dataclass
class ClaimRecord:
    """One measured quantity behind a claim, with its verdict.

    ``values``: one number per seed; ``kind``/``target``/``tol``: the check (``within``: |mean -
    target| <= tol; ``at_least``/``at_most``: every value (seed) on the right side of ``target``;
    ``between``: every value in [target, tol]); ``paper``: the paper's value as printed.
    """

    claim: int
    quantity: str
    values: list[float]
    paper: str
    kind: str
    target: float
    tol: float
    data: str
    scale: str
    chapter: str
    passed: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def ours(self) -> str:
        """``mean ± std (n seeds)`` as printed in the tables."""
        if not self.values:
            return "—"
        return f"{self.mean:.3f} ± {self.std:.3f} (n={len(self.values)})"

    @property
    def criterion(self) -> str:
        if self.kind == "within":
            return f"mean within {self.target:.3g} ± {self.tol:.2g}"
        if self.kind == "at_least":
            return f"every value ≥ {self.target:.3g}"
        if self.kind == "at_most":
            return f"every value ≤ {self.target:.3g}"
        return f"every value in [{self.target:.3g}, {self.tol:.3g}]"

    @property
    def not_run(self) -> bool:
        return "not_run" in self.meta

    @property
    def verdict(self) -> str:
        if self.passed:
            return "reproduced"
        if self.not_run:
            return f"not run at this scale ({self.meta['not_run']})"
        known = self.meta.get("known_deviation")
        return f"not reproduced (known: {known})" if known else "not reproduced"

    def evaluate(self) -> bool:
        v = np.asarray(self.values, dtype=float)
        if v.size == 0 or not np.all(np.isfinite(v)):
            return False
        if self.kind == "within":
            return bool(abs(v.mean() - self.target) <= self.tol + 1e-12)
        if self.kind == "at_least":
            return bool(np.all(v >= self.target - 1e-12))
        if self.kind == "at_most":
            return bool(np.all(v <= self.target + 1e-12))
        return bool(np.all((v >= self.target - 1e-12) & (v <= self.tol + 1e-12)))

    def row(self) -> dict:
        """A flat dict for tables."""
        return {"claim": f"#{self.claim}", "quantity": self.quantity, "data": self.data,
                "paper": self.paper, "ours": self.ours, "criterion": self.criterion,
                "verdict": self.verdict}


def check(claim: int, quantity: str, values: Iterable[float], *, paper: str, kind: str,
          target: float, tol: float = 0.0, data: str, scale: str, chapter: str,
          strict: bool = False, known_deviation: str | None = None, **meta) -> ClaimRecord:
    """Build a record for ``claim`` and evaluate it; raise if ``strict`` and it fails.

    ``known_deviation``: a known reason why this record fails, explained in its chapter (like
    pytest's xfail). Such a record never raises; if it fails its verdict says "not reproduced
    (known: reason)", and the scoreboard still counts it as not reproduced."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of #1-#{len(CLAIMS)}, got {claim!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    vals = [float(v) for v in np.ravel(np.asarray(list(values), dtype=float))]
    if known_deviation:
        meta["known_deviation"] = known_deviation
    rec = ClaimRecord(claim, quantity, vals, paper, kind, float(target), float(tol), data, scale,
                      chapter, meta=meta)
    rec.passed = rec.evaluate()
    if strict and not rec.passed and not known_deviation:
        raise ClaimNotReproduced(
            f"claim #{claim} not reproduced: {quantity} on {data} = {rec.ours}, "
            f"criterion {rec.criterion} (paper: {paper}). Rerun with strict=False to explore.")
    return rec


def not_run(claim: int, quantity: str, *, paper: str, reason: str, data: str, scale: str,
            chapter: str) -> ClaimRecord:
    """A record for a check of ``claim`` that this scale does not run (so the scoreboard never
    counts the claim as fully reproduced on the strength of the checks that did run)."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of #1-#{len(CLAIMS)}, got {claim!r}")
    return ClaimRecord(claim, quantity, [], paper, "within", float("nan"), 0.0, data, scale,
                       chapter, passed=False, meta={"not_run": reason})


def save_records(records: Sequence[ClaimRecord], path: str | Path, *, metadata: dict) -> Path:
    """Write records and run metadata (config, seed, scale, versions, commit) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"metadata": metadata, "records": [asdict(r) for r in records]}
    return atomic_write_text(path, json.dumps(payload, indent=1, default=_jsonable))


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def load_records(paths: Iterable[str | Path]) -> list[ClaimRecord]:
    """Records from JSON files written by :func:`save_records` (metadata goes to ``meta['run']``).

    Every file is checked before use: one that does not parse, lacks a field, or holds the same
    (claim, quantity, data, scale) twice raises ``ValueError`` naming the file. The stored
    ``passed`` flag is ignored: verdicts are recomputed from the values."""
    out = []
    for p in paths:
        try:
            payload = json.loads(Path(p).read_text())
            rows = payload["records"]
            meta = payload.get("metadata", {})
            if not isinstance(rows, list) or not isinstance(meta, dict):
                raise TypeError("'records' must be a list and 'metadata' an object")
            recs = [ClaimRecord(**r) for r in rows]
            for rec in recs:
                rec.meta = {**rec.meta, "run": meta}
                rec.passed = rec.evaluate()  # never trust a stored verdict
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            raise ValueError(f"{p}: not a valid records file ({what}); delete it or rerun its chapter") from e
        seen: set[tuple] = set()
        for rec in recs:
            key = (rec.claim, rec.quantity, rec.data, rec.scale)
            if key in seen:
                raise ValueError(f"{p}: duplicate record for claim #{rec.claim}, {rec.quantity!r} on "
                                 f"{rec.data!r} at {rec.scale!r}; one run records each check once")
            seen.add(key)
            out.append(rec)
    return out


def merge(records: Sequence[ClaimRecord]) -> list[ClaimRecord]:
    """Pool records of the same (claim, quantity, data, scale) across runs (seeds) and re-check."""
    groups: dict[tuple, ClaimRecord] = {}
    for r in records:
        key = (r.claim, r.quantity, r.data, r.scale)
        if key in groups:
            groups[key].values = groups[key].values + list(r.values)
        else:
            groups[key] = ClaimRecord(**{**asdict(r), "values": list(r.values)})
    merged = list(groups.values())
    for r in merged:
        r.passed = r.evaluate()
    return merged


def scoreboard(records: Sequence[ClaimRecord]) -> list[dict]:
    """One row per claim #1-#31: the paper's value, ours, the verdict and the chapters that
    measured it. A claim with no record says "not covered yet" (``planned`` names the chapter
    meant to cover it); a claim is reproduced when all its records pass, and "partly checked"
    when none fails but some were not run at this scale."""
    rows = []
    for cid, c in sorted(CLAIMS.items()):
        recs = [r for r in records if r.claim == cid]
        if recs:
            n_ok = sum(r.passed for r in recs)
            n_skip = sum(r.not_run for r in recs)
            n_fail = len(recs) - n_ok - n_skip
            if n_fail:
                verdict = f"not reproduced ({n_fail} of {len(recs)} checks fail)"
            elif n_skip == len(recs):
                verdict = "not run at this scale"
            elif n_skip:
                verdict = f"partly checked ({n_skip} of {len(recs)} checks not run at this scale)"
            else:
                verdict = "reproduced"
            scales = sorted({r.scale for r in recs})
            ours = f"{n_ok}/{len(recs)} checks pass at {', '.join(scales)} scale"
            chapter = sorted({r.chapter for r in recs})
        else:
            verdict, ours, chapter = "not covered yet", "—", []
        rows.append({"claim": cid, "title": c.title, "paper": c.paper, "ours": ours,
                     "verdict": verdict, "chapter": chapter,
                     "planned": "" if recs else (c.chapter or "no chapter planned")})
    return rows


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A GitHub/MyST Markdown table of ``rows`` restricted to ``columns``."""
    def cell(v) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else f"{v:.3f}"
        if isinstance(v, (list, tuple)):
            v = ", ".join(map(str, v))
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


__all__ = ["CLAIMS", "Claim", "ClaimRecord", "ClaimNotReproduced", "check", "not_run", "save_records",
           "load_records", "merge", "scoreboard", "markdown_table"]
