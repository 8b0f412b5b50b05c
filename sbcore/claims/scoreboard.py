"""The scoreboard: one row per claim #1-#31 with the paper's value, ours and a verdict rolled up
from the claim's records, and the paper's four headline claims (i)-(iv) (#31) rolled up from the
claims they rest on.

Verdicts of a claim, from its records (each re-evaluated from its values):

- "not reproduced": at least one check that ran fails (known deviations included);
- "partly checked": none fails, some were not run at this scale;
- "reproduced": every check ran and passes (facts of the construction alone never make a claim
  reproduced: a claim with only facts reads "fact of the construction");
- "not run at this scale" / "not covered yet": no check ran / no chapter covers it;
- "not testable offline (stand-in)": every check that fails fails on the offline stand-in data
  for a declared reason (the cause ``stand-in data``): kept apart from failures on the paper's own
  data; with the real files present those records are no longer marked, and the verdict is the
  real one.

Every claim that does not reproduce gets a "why" (:func:`why_of`): the declared cause of each
failing record (:data:`sbcore.claims.checks.base.CAUSES`), "not yet known" for a failure no
chapter explains; a record that did not train says so.
"""

from __future__ import annotations

import math
from typing import Sequence

from .checks import CHECKS
from .checks.base import NOT_KNOWN, STAND_IN
from .records import ClaimRecord
from .registry import CLAIMS

# The abstract's four claims and the claims of the table they rest on.
HEADLINES = (
    (
        "(i)",
        "SB can be extreme: networks rely on the simplest feature and ignore every complex one",
        (1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17),
    ),
    (
        "(ii)",
        "Extreme SB explains fragility under benign distribution shift and small (universal) "
        "adversarial perturbations",
        (18, 19, 20, 21, 22),
    ),
    ("(iii)", "SB can hurt in-distribution generalization", (23, 24)),
    ("(iv)", "Ensembles and adversarial training fail to mitigate SB", (26, 27, 28, 29, 30)),
)
VERDICT_ORDER = (
    "not reproduced",
    "not testable offline",
    "partly checked",
    "reproduced",
    "fact of the construction",
    "not run at this scale",
    "not covered yet",
)


def cause_of(r: ClaimRecord) -> str:
    """Why a failing record fails: its check's declared cause where the record carries the known
    deviation, else "not yet known"; "(did not train)" is added where the model did not train."""
    cause = CHECKS[r.check].cause if r.meta.get("known_deviation") and r.check in CHECKS else None
    cause = cause or NOT_KNOWN
    return f"{cause} (did not train)" if not r.trained else cause


def _failing(records: Sequence[ClaimRecord]) -> list[ClaimRecord]:
    return [r for r in records if not r.not_run and not r.fact and not r.erratum and not r.passed]


def why_of(records: Sequence[ClaimRecord]) -> str:
    """The causes of a claim's failing records, each with the checks it explains ("" if none
    fails)."""
    by_cause: dict[str, list[str]] = {}
    for r in _failing(records):
        keys = by_cause.setdefault(cause_of(r), [])
        if r.check not in keys:
            keys.append(r.check)
    return "; ".join(f"{c}: {', '.join(k)}" for c, k in sorted(by_cause.items()))


def verdict_of(records: Sequence[ClaimRecord]) -> str:
    """The verdict of one claim from its records (see the module docstring)."""
    if not records:
        return "not covered yet"
    ran = [r for r in records if not r.not_run]
    checks = [r for r in ran if not (r.fact or r.erratum)]
    failing = _failing(records)
    n_fail = len(failing) + sum(r.fact and not r.passed for r in ran)  # a failing fact is a bug
    n_skip = len(records) - len(ran)
    if n_fail and all(cause_of(r) == STAND_IN for r in failing) and len(failing) == n_fail:
        return (
            f"not testable offline (stand-in): {n_fail} of {len(records)} checks fail on the "
            "stand-in data only"
        )
    if n_fail:
        return f"not reproduced ({n_fail} of {len(records)} checks fail)"
    if not ran:
        return "not run at this scale"
    if not checks:
        return "fact of the construction"
    if n_skip:
        return f"partly checked ({n_skip} of {len(records)} checks not run at this scale)"
    return "reproduced"


def _ours(records: Sequence[ClaimRecord], limit: int = 3) -> str:
    """Our numbers for a claim: the failing records first, then the others, ``limit`` at most."""
    ran = sorted((r for r in records if not r.not_run), key=lambda r: (r.passed, r.fact))
    parts = [f"{r.quantity} ({r.data}): {r.ours}" for r in ran[:limit]]
    if len(ran) > limit:
        parts.append(f"and {len(ran) - limit} more")
    return "; ".join(parts) if parts else "—"


def claim_rows(records: Sequence[ClaimRecord]) -> list[dict]:
    """One row per claim #1-#31: title, the paper's value, ours, the verdict and the chapters."""
    rows = []
    for cid, c in sorted(CLAIMS.items()):
        recs = [r for r in records if r.claim == cid]
        chapters = sorted({r.chapter for r in recs})
        rows.append(
            {
                "claim": cid,
                "title": c.title,
                "paper": f"{c.paper} ({c.where})",
                "ours": _ours(recs),
                "verdict": verdict_of(recs),
                "why": why_of(recs),
                "chapter": chapters,
                "n_records": len(recs),
                "scales": sorted({r.scale for r in recs}),
                "planned": "" if recs else (c.chapter or "no chapter planned"),
            }
        )
    summary = next(r for r in rows if r["claim"] == 31)  # #31 is the four claims, rolled up
    heads = headline_rows(rows)
    classes = {verdict_class(h["verdict"]) for h in heads}  # headline verdicts: three classes
    summary["verdict"] = (
        "reproduced"
        if classes == {"reproduced"}
        else "not reproduced in part"
        if "not reproduced" in classes
        else "partly checked"
    )
    summary["ours"] = "; ".join(f"{h['claim']} {h['verdict']}" for h in heads)
    summary["chapter"], summary["planned"], summary["why"] = ["scoreboard"], "", ""
    return rows


def verdict_class(verdict: str) -> str:
    """The leading words of a verdict, one of :data:`VERDICT_ORDER`."""
    return next((v for v in VERDICT_ORDER if verdict.startswith(v)), verdict)


def headline_rows(rows: Sequence[dict]) -> list[dict]:
    """Claim #31: the four headline claims, each rolled up from the claims it rests on:
    "reproduced" when every one of them is, "not reproduced in part" when any is not, otherwise
    "partly checked"; the reason names the failing claims, those not testable offline (failing on
    the stand-in data only) and those not fully checked, each apart."""
    by_id = {r["claim"]: r for r in rows}
    out = []
    for label, text, ids in HEADLINES:
        cls = {i: verdict_class(by_id[i]["verdict"]) for i in ids}
        failing = [i for i, v in cls.items() if v == "not reproduced"]
        offline = [i for i, v in cls.items() if v == "not testable offline"]
        open_ = [
            i
            for i, v in cls.items()
            if v in ("partly checked", "not run at this scale", "not covered yet")
        ]
        parts = [
            f"{what}: " + ", ".join(f"#{i}" for i in nums)
            for what, nums in (
                ("fails", failing),
                ("not testable offline (stand-in)", offline),
                ("not fully checked", open_),
            )
            if nums
        ]
        reason = "; ".join(parts)
        if failing:
            verdict = "not reproduced in part"
        elif offline or open_:
            verdict = "partly checked"
        else:
            verdict, reason = "reproduced", "every claim it rests on is reproduced"
        out.append(
            {
                "claim": label,
                "statement": text,
                "rests on": ", ".join(f"#{i}" for i in ids),
                "verdict": verdict,
                "reason": reason,
            }
        )
    return out


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
