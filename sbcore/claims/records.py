"""Claim records: what a chapter measured for one check, its verdict, and how records are saved,
loaded, pooled over seeds and rolled up into the scoreboard.

A record is re-evaluated from its values wherever it is read (the stored ``passed`` flag is never
trusted), so a scoreboard always says what the numbers say under the criterion printed beside them.
Records carry values; the registry carries criteria: :func:`against_registry` refuses a record whose
stored criterion disagrees with its check's declaration, and a chapter that left checks unrecorded.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..runtime import atomic_write_text
from .checks import CHAPTER_CHECKS, CHECKS
from .checks.base import KINDS, Bar, PerField, criterion_text, passes
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
    def erratum(self) -> bool:
        """A value shown beside a printed one that matches no definition: never counted."""
        return bool(self.meta.get("erratum"))

    @property
    def trained(self) -> bool:
        """The learned precondition (:mod:`sbcore.claims.checks.base`): every standard accuracy /
        AUC stored under ``meta["learned"]`` is at least its ``min``; True for a check without one."""
        pre = self.meta.get("learned")
        if pre is None:
            return True
        v = np.asarray(pre["values"], dtype=float)
        return bool(v.size and np.all(np.isfinite(v)) and np.all(v >= pre["min"] - 1e-12))

    @property
    def passed(self) -> bool:
        """Recomputed from the values (and the learned precondition) every time it is read."""
        return (
            not self.not_run
            and self.trained
            and passes(self.kind, self.values, self.target, self.tol, self.upper)
        )

    @property
    def verdict(self) -> str:
        if self.not_run:
            return f"not run at this scale ({self.meta['not_run']})"
        if self.fact:
            return "fact of the construction" if self.passed else "fact fails (a bug)"
        if self.erratum:
            return (
                "matches the printed value"
                if self.passed
                else "erratum: the printed value matches no definition (see the errata)"
            )
        if self.passed:
            return "reproduced"
        if not self.trained:
            pre = self.meta["learned"]
            return (
                f"did not train ({pre['metric']} {min(pre['values'], default=float('nan')):.3f}"
                f" < {pre['min']:g}): not evidence for the claim"
            )
        known = self.meta.get("known_deviation")
        return f"not reproduced (known: {known})" if known else "not reproduced"

    @property
    def identity(self) -> tuple:
        """What makes a record unique within one run: claim, quantity, data and scale."""
        return (self.claim, self.quantity, self.data, self.scale)

    def row(self) -> dict:
        """A flat dict for tables."""
        return {
            "claim": f"#{self.claim}",
            "quantity": self.quantity,
            "data": self.data,
            "paper": f"{self.paper} ({self.source})",
            "ours": self.ours,
            "criterion": self.criterion,
            "verdict": self.verdict,
        }

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
            raise ValueError(
                f"{where}: duplicate record for claim #{r.claim}, {r.quantity!r} on "
                f"{r.data!r} ({r.scale}); each check is recorded once per run"
            )
        seen.add(r.identity)


_FIELDS = {f.name for f in fields(ClaimRecord)}


def parse_records(items: Sequence[dict], *, where: str) -> list[ClaimRecord]:
    """Records from their JSON form (as :meth:`ClaimRecord.to_json` writes them); an item that
    is not a record, an unknown kind or claim number, or a duplicate raises ValueError naming
    ``where``."""
    try:
        recs = [ClaimRecord(**{k: v for k, v in r.items() if k in _FIELDS}) for r in items]
    except (AttributeError, TypeError) as e:
        raise ValueError(f"{where} is not a valid records file: {e}") from None
    check_unique(recs, where=where)
    for rec in recs:
        if rec.kind not in KINDS or rec.claim not in CLAIMS:
            raise ValueError(
                f"{where}: record {rec.quantity!r} has kind {rec.kind!r} / claim "
                f"#{rec.claim}, not one of {KINDS} / #1-#{len(CLAIMS)}"
            )
    return recs


def record_counts(records: Sequence[ClaimRecord]) -> dict[str, int]:
    """How many records a run made and how many of them did not run: saved with the run, so that
    a records file that lost a record, or gained a "not run" mark, no longer matches its run."""
    return {"n_records": len(records), "n_not_run": sum(r.not_run for r in records)}


def check_counts(records: Sequence[ClaimRecord], run: dict, *, where: str) -> None:
    """Raise ValueError naming ``where`` if ``records`` disagree with the counts ``run`` saved."""
    if "n_records" not in run:
        return  # a run that saved no counts (written by hand, or by an older sbcore)
    have = record_counts(records)
    for name, n in have.items():
        if run.get(name) != n:
            raise ValueError(
                f"{where}: holds {n} record(s) for {name[2:].replace('_', ' ')}, its "
                f"run made {run.get(name)}; records were removed or edited"
            )


def load_records(paths: Iterable[str | Path]) -> list[ClaimRecord]:
    """Records from JSON files written by :func:`save_records` (metadata goes to ``meta['run']``).

    A file that does not parse, that holds duplicate records, or whose records no longer match
    the counts its run saved, raises ValueError naming it."""
    out = []
    for p in paths:
        try:
            payload = json.loads(Path(p).read_text())
            items = payload["records"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{p} is not a valid records file: {e}") from None
        recs = parse_records(items, where=str(p))
        check_counts(recs, payload.get("metadata") or {}, where=str(p))
        for rec in recs:
            rec.meta = {**rec.meta, "run": payload.get("metadata", {})}
        out += recs
    return out


_CRITERION = ("claim", "kind", "target", "tol", "upper")
_PROSE = ("paper", "source", "rationale")


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def against_registry(
    records: Sequence[ClaimRecord], *, where: str, complete: bool = True
) -> list[ClaimRecord]:
    """``records`` checked against the registry, with its prose (paper, source, rationale).

    Raises ValueError naming ``where`` for a record whose check the registry lacks; whose claim,
    kind, target, tolerance or upper bound differ from the check's declaration (a bar the
    registry leaves to the run must be a finite number); that claims to be a fact or a known
    deviation the check does not declare; or that is "not run" but holds values. With
    ``complete``, every check of the registry that a chapter present in ``records`` declares must
    have a record there (run or not run): a missing check is a failure to report."""
    out = []
    for r in records:
        c = CHECKS.get(r.check)
        what = f"{where}: record {r.quantity!r} (check {r.check!r})"
        if c is None:
            raise ValueError(f"{what}: no such check in the registry (sbcore/claims/checks/)")
        for name in _CRITERION:
            stored, declared = getattr(r, name), getattr(c, name)
            taken = r.meta.get("bar_sample")
            if isinstance(declared, Bar) and taken is not None and not r.not_run:
                n = tuple(taken["n"]) if isinstance(taken["n"], list) else taken["n"]
                declared = declared(n, taken["n_seeds"], taken["printed"])
            if isinstance(declared, PerField) and not r.not_run:
                if declared.field not in r.meta:
                    raise ValueError(f"{what}: no {declared.field} to read its target by")
                declared = declared(r.meta[declared.field])
            if (declared is None or isinstance(declared, (Bar, PerField))) and name in (
                "target",
                "tol",
            ):
                # the run sets it (a bar without its sample: a record from before bars kept
                # theirs): a number, except on a record that did not run
                if not r.not_run and (stored is None or not math.isfinite(stored)):
                    raise ValueError(f"{what}: {name} {stored!r} is not a number")
            elif not _same(stored, declared):
                raise ValueError(
                    f"{what}: stored {name} {stored!r} disagrees with the registry's "
                    f"{declared!r}; the criterion comes from the registry"
                )
        if not r.not_run and bool(r.meta.get("fact")) != c.fact:
            raise ValueError(
                f"{what}: marked fact={bool(r.meta.get('fact'))}, the registry "
                f"declares fact={c.fact}"
            )
        if not r.not_run and bool(r.meta.get("erratum")) != bool(c.erratum):
            raise ValueError(
                f"{what}: marked erratum={bool(r.meta.get('erratum'))}, the registry "
                f"declares erratum={bool(c.erratum)}"
            )
        pre = r.meta.get("learned")
        if not r.not_run and (pre is None) != (c.learned is None):
            raise ValueError(
                f"{what}: the registry declares learned={c.learned!r}; the record "
                f"{'has no' if pre is None else 'has a'} learned precondition"
            )
        if pre is not None and (
            not isinstance(pre, dict)
            or not _same(pre.get("min"), c.learned)
            or not isinstance(pre.get("values"), list)
        ):
            raise ValueError(
                f"{what}: its learned precondition is not the registry's "
                f"(min {c.learned!r}, a list of values)"
            )
        known = r.meta.get("known_deviation")
        if known is not None and known != c.known_deviation:
            raise ValueError(f"{what}: its known deviation is not the one the registry declares")
        if r.not_run and (r.values or not str(r.meta["not_run"]).strip()):
            raise ValueError(f"{what}: a record that did not run holds values or gives no reason")
        if r.chapter not in CHAPTER_CHECKS or r.check not in CHAPTER_CHECKS[r.chapter]:
            raise ValueError(f"{what}: chapter {r.chapter!r} does not record this check")
        out.append(ClaimRecord(**{**asdict(r), **{k: getattr(c, k) for k in _PROSE}}))
    if complete:
        for chapter in sorted({r.chapter for r in out}):
            seen = {r.check for r in out if r.chapter == chapter}
            missing = [k for k in CHAPTER_CHECKS[chapter] if k not in seen]
            if missing:
                raise ValueError(
                    f"{where}: chapter {chapter} has no record of check(s) "
                    f"{', '.join(missing)}; every declared check is recorded, run "
                    "or not run"
                )
    return out


def load_folder(folder: str | Path) -> list[ClaimRecord]:
    """Every records file of ``folder`` (one build's, or a rerun's), loaded, refused on duplicates
    across files and checked against the registry (:func:`against_registry`)."""
    recs = load_records(sorted(Path(folder).glob("*.json")))
    check_unique(recs, where=str(folder))
    return against_registry(recs, where=str(folder))


def merge(records: Sequence[ClaimRecord]) -> list[ClaimRecord]:
    """Pool records of the same (claim, quantity, data, scale) across runs (seeds)."""
    groups: dict[tuple, ClaimRecord] = {}
    for r in records:
        if r.identity in groups:
            groups[r.identity].values = groups[r.identity].values + list(r.values)
        else:
            groups[r.identity] = ClaimRecord(**{**asdict(r), "values": list(r.values)})
    return list(groups.values())
