"""The scoreboard: one row per claim #1-#31 with the paper's value, ours and a verdict rolled up
from the claim's records, and the paper's four headline claims (i)-(iv) (#31) rolled up from the
claims they rest on.

Verdicts of a claim, from its records (each re-evaluated from its values):

- "not reproduced": at least one check that ran fails (known deviations included);
- "partly checked": none fails, some were not run at this scale;
- "reproduced": every check ran and passes (facts of the construction alone never make a claim
  reproduced: a claim with only facts reads "fact of the construction");
- "not run at this scale" / "not covered yet": no check ran / no chapter covers it.
"""

from __future__ import annotations

import math
from typing import Sequence

from .records import ClaimRecord
from .registry import CLAIMS

# The abstract's four claims and the claims of the table they rest on.
HEADLINES = (
    ("(i)", "SB can be extreme: networks rely on the simplest feature and ignore every complex one",
     (1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)),
    ("(ii)", "Extreme SB explains fragility under benign distribution shift and small (universal) "
             "adversarial perturbations", (18, 19, 20, 21, 22)),
    ("(iii)", "SB can hurt in-distribution generalization", (23, 24)),
    ("(iv)", "Ensembles and adversarial training fail to mitigate SB", (26, 27, 28, 29, 30)),
)
VERDICT_ORDER = ("not reproduced", "partly checked", "reproduced", "fact of the construction",
                 "not run at this scale", "not covered yet")


def verdict_of(records: Sequence[ClaimRecord]) -> str:
    """The verdict of one claim from its records (see the module docstring)."""
    if not records:
        return "not covered yet"
    ran = [r for r in records if not r.not_run]
    checks = [r for r in ran if not r.fact]
    n_fail = sum(not r.passed for r in ran)
    n_skip = len(records) - len(ran)
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
        rows.append({"claim": cid, "title": c.title, "paper": f"{c.paper} ({c.where})",
                     "ours": _ours(recs), "verdict": verdict_of(recs), "chapter": chapters,
                     "n_records": len(recs), "scales": sorted({r.scale for r in recs}),
                     "planned": "" if recs else (c.chapter or "no chapter planned")})
    summary = next(r for r in rows if r["claim"] == 31)  # #31 is the four claims, rolled up
    heads = headline_rows(rows)
    classes = {verdict_class(h["verdict"]) for h in heads}
    summary["verdict"] = ("reproduced" if classes == {"reproduced"} else
                          "not reproduced in part" if "not reproduced" in classes else
                          "partly checked")
    summary["ours"] = "; ".join(f"{h['claim']} {h['verdict']}" for h in heads)
    summary["chapter"], summary["planned"] = ["scoreboard"], ""
    return rows


def verdict_class(verdict: str) -> str:
    """The leading words of a verdict, one of :data:`VERDICT_ORDER`."""
    return next((v for v in VERDICT_ORDER if verdict.startswith(v)), verdict)


def headline_rows(rows: Sequence[dict]) -> list[dict]:
    """Claim #31: the four headline claims, each rolled up from the claims it rests on:
    "reproduced" when every one of them is, "not reproduced in part" when any is not, otherwise
    "partly checked", naming the claims not yet fully checked."""
    by_id = {r["claim"]: r for r in rows}
    out = []
    for label, text, ids in HEADLINES:
        cls = {i: verdict_class(by_id[i]["verdict"]) for i in ids}
        failing = [i for i, v in cls.items() if v == "not reproduced"]
        open_ = [i for i, v in cls.items() if v in ("partly checked", "not run at this scale",
                                                      "not covered yet")]
        if failing:
            verdict = "not reproduced in part"
            reason = "fails: " + ", ".join(f"#{i}" for i in failing)
            if open_:
                reason += "; not fully checked: " + ", ".join(f"#{i}" for i in open_)
        elif open_:
            verdict = "partly checked"
            reason = "not fully checked: " + ", ".join(f"#{i}" for i in open_)
        else:
            verdict, reason = "reproduced", "every claim it rests on is reproduced"
        out.append({"claim": label, "statement": text,
                    "rests on": ", ".join(f"#{i}" for i in ids), "verdict": verdict,
                    "reason": reason})
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
