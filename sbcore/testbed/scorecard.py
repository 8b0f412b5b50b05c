"""The scorecard: one row per method, one column per pitfall of the paper, every number a mean and
a standard deviation over seeds, vanilla SGD first as the reference row.

``COLUMNS`` fixes what is measured and which direction mitigates simplicity bias (``+1``: up
helps, ``-1``: down helps). The randomized AUCs read as in the paper (Sec. 3): an S-randomized
AUC of 0.5 means the model ignores everything but S, an Sc-randomized AUC of 1.0 means it ignores
Sc entirely; a model that uses Sc as well moves the first up and the second down.

A method that diverges (a NaN or infinite training loss, or logits) or whose code raises keeps a
row: :class:`Failure` says what happened at which stage, the columns measured before it stay,
and the row is left out of :meth:`Scorecard.deltas` and :meth:`Scorecard.noise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..claims.checks.base import TRAINED


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    group: str
    better: int  # +1: up mitigates simplicity bias, -1: down does


COLUMNS = (
    Column("lms5_s_auc", "LMS-5 S-rand AUC", "extreme SB", +1),
    Column("lms5_sc_auc", "LMS-5 Sc-rand AUC", "extreme SB", -1),
    Column("ms57_s_auc", "MS-(5,7) S-rand AUC", "extreme SB", +1),
    Column("ms57_sc_auc", "MS-(5,7) Sc-rand AUC", "extreme SB", -1),
    Column("noisy_acc", "noisy LMS-7 test acc", "in-distribution", +1),
    Column("gain5", "MS-5 gain, 5 members", "ensembles", +1),
    Column("gain10", "MS-5 gain, 10 members", "ensembles", +1),
    Column("pgd_acc", "LMS-5 acc under PGD", "fragility", +1),
    Column("uap_acc", "LMS-5 acc under UAP", "fragility", +1),
    Column("uap_share", "UAP share on S", "fragility", -1),
    Column("img_top_auc", "dominoes top-rand AUC", "images", +1),
    Column("img_bottom_auc", "dominoes bottom-rand AUC", "images", -1),
)
KEYS = tuple(c.key for c in COLUMNS)
# A randomized AUC or an attack's effect says something only about a model that learned: a model
# at chance has S- and Sc-randomized AUCs of 0.5 and no accuracy to lose. Each such column reads
# the standard test accuracy (the dominoes: AUC) of the same models, and a difference from vanilla
# is taken only where both rows reach TRAINED on every seed (sbcore.claims' learned precondition).
PRECONDITION = {
    **dict.fromkeys(("lms5_s_auc", "lms5_sc_auc", "pgd_acc", "uap_acc", "uap_share"), "lms5_acc"),
    **dict.fromkeys(("ms57_s_auc", "ms57_sc_auc"), "ms57_acc"),
    **dict.fromkeys(("img_top_auc", "img_bottom_auc"), "img_auc"),
}
LABELS = {c.key: c.label for c in COLUMNS}
BETTER = {c.key: c.better for c in COLUMNS}


def mean_sd(values) -> tuple[float, float]:
    """(mean, sample sd) of per-seed values; (nan, nan) when there are none."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def fmt(values) -> str:
    """``0.500 ± 0.004`` (mean ± sd over seeds), ``—`` when not measured."""
    m, s = mean_sd(values)
    return "—" if np.isnan(m) else f"{m:.3f} ± {s:.3f}"


FAILURES = ("diverged", "error")


@dataclass(frozen=True)
class Failure:
    """Why a method's row stops: ``kind`` "diverged" (a NaN or infinite training loss or
    logits: a result) or "error" (its code raised), the ``stage`` (e.g. "MS-(5,7) training"),
    the exception's one-line ``message`` and the exception itself (``error``, with its
    traceback: ``raise failure.error`` shows where)."""

    kind: str
    stage: str
    message: str
    error: BaseException | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, err: BaseException, stage: str) -> "Failure":
        """A :class:`FloatingPointError` (``sbcore.train.NonFiniteLoss``, non-finite logits)
        diverged; any other exception is an error, its type named in the message."""
        lines = str(err).strip().splitlines()
        line = lines[0] if lines else ""
        if isinstance(err, FloatingPointError):
            return cls("diverged", stage, line or type(err).__name__, err)
        return cls(
            "error", stage, f"{type(err).__name__}: {line}" if line else type(err).__name__, err
        )

    def __str__(self) -> str:
        return f"{self.kind} at {self.stage}: {self.message}"


@dataclass
class MethodScore:
    """One method's row: per column key, its per-seed values ((n_seeds,) arrays);
    ``diagnostics``: what else was measured (for a method with several members per predictor:
    their input-gradient alignment and each member's randomized AUCs on LMS-5);
    ``failure``: why the row stops early (None: every column was measured)."""

    name: str
    values: dict[str, np.ndarray]
    paper: str = ""
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    failure: Failure | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @property
    def status(self) -> str:
        """``"ok"``, or the failure in one line."""
        return "ok" if self.failure is None else str(self.failure)

    def mean(self, key: str) -> float:
        return mean_sd(self.values.get(key, []))[0]

    def untrained(self, key: str) -> bool:
        """Whether column ``key``'s models did not learn: the standard performance it rests on
        (:data:`PRECONDITION`) was measured and is below :data:`TRAINED` on some seed."""
        pre = self.values.get(PRECONDITION.get(key, ""))
        return pre is not None and bool(np.nanmin(np.asarray(pre, float)) < TRAINED)


@dataclass
class Scorecard:
    """What :func:`sbcore.testbed.evaluate` returns. ``rows[0]`` is vanilla SGD, trained in the
    same call with the same seeds; ``image_data`` names the domino data actually used."""

    scale: str
    seeds: list[int]
    rows: list[MethodScore]
    image_data: str = ""

    def row(self, name: str) -> MethodScore:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no method {name!r} in the scorecard; have {[r.name for r in self.rows]}")

    def failures(self) -> dict[str, Failure]:
        """Method -> its :class:`Failure`, for the rows that stopped early."""
        return {r.name: r.failure for r in self.rows if r.failure is not None}

    def raise_errors(self) -> None:
        """Raise the exception of the first row whose code raised (kind "error"), with its
        traceback; a divergence is a result and raises nothing."""
        for r in self.rows:
            if r.failure is not None and r.failure.kind == "error" and r.failure.error:
                raise r.failure.error

    def scored(self) -> list[MethodScore]:
        """The rows after vanilla's that did not fail."""
        return [r for r in self.rows[1:] if r.failure is None]

    def table(self, groups: Sequence[str] | None = None) -> list[dict]:
        """One dict per method: its name, every column (of ``groups``, default all) as
        ``mean ± sd`` (followed by " †" where the models behind it did not train:
        :meth:`MethodScore.untrained`), then its training time in seconds; when a row failed, a
        last "status" column ("ok", or what failed at which stage)."""
        cols = [c for c in COLUMNS if groups is None or c.group in groups]
        if not cols:
            raise ValueError(f"groups must name some of {sorted({c.group for c in COLUMNS})}")
        status = bool(self.failures())
        return [
            {
                "method": r.name,
                **{
                    c.label: fmt(r.values.get(c.key, [])) + (" †" if r.untrained(c.key) else "")
                    for c in cols
                },
                "seconds": f"{r.seconds:.0f}",
                **({"status": r.status} if status else {}),
            }
            for r in self.rows
        ]

    def deltas(self) -> dict[str, dict[str, float]]:
        """Method -> column -> mean difference from the vanilla row (rows after the first that
        did not fail: see :meth:`failures`); NaN where either row's models did not train
        (:meth:`MethodScore.untrained`), since then the difference says nothing."""
        ref = self.rows[0]
        return {
            r.name: {
                k: np.nan if r.untrained(k) or ref.untrained(k) else r.mean(k) - ref.mean(k)
                for k in KEYS
            }
            for r in self.scored()
        }

    def noise(self) -> dict[str, dict[str, float]]:
        """Method -> column -> standard error of its difference from vanilla over seeds:
        sqrt(sd_m^2 / n_m + sd_v^2 / n_v) (the rows of :meth:`deltas`)."""
        ref, out = self.rows[0], {}
        for r in self.scored():
            out[r.name] = {}
            for k in KEYS:
                parts = []
                for row in (r, ref):
                    v = np.asarray(row.values.get(k, []), float)
                    v = v[np.isfinite(v)]
                    parts.append(v.var(ddof=1) / v.size if v.size > 1 else 0.0)
                out[r.name][k] = float(np.sqrt(sum(parts)))
        return out

    def __repr__(self) -> str:
        head = (
            f"Scorecard ({self.scale} scale, seeds {self.seeds}; images: "
            f"{self.image_data or '—'}); mean ± sd over seeds\n"
        )
        names = [r.name for r in self.rows]
        width = max(len(c.label) for c in COLUMNS) + 2
        cols = [max(len(n), 15) + 2 for n in names]
        lines = ["".ljust(width) + "".join(n.rjust(w) for n, w in zip(names, cols))]
        for c in COLUMNS:
            cells = [
                fmt(r.values.get(c.key, [])) + (" †" if r.untrained(c.key) else "")
                for r in self.rows
            ]
            arrow = "↑" if c.better > 0 else "↓"
            lines.append(
                f"{c.label} {arrow}".ljust(width)
                + "".join(s.rjust(w) for s, w in zip(cells, cols))
            )
        lines.append(
            "seconds".ljust(width)
            + "".join(f"{r.seconds:.1f}".rjust(w) for r, w in zip(self.rows, cols))
        )
        fails = self.failures()
        if fails:
            lines.append(
                "status".ljust(width)
                + "".join(
                    ("ok" if r.failure is None else r.failure.kind.upper()).rjust(w)
                    for r, w in zip(self.rows, cols)
                )
            )
        lines.append(
            "(↑/↓: the direction that mitigates simplicity bias; †: the models behind the value "
            f"did not train, test accuracy or AUC below {TRAINED:g} on some seed)"
        )
        return head + "\n".join(lines + [f"{name}: {f}" for name, f in fails.items()])


def combine(cards: Sequence[Scorecard]) -> Scorecard:
    """Cards of one scale and seeds whose first rows are vanilla: one card, vanilla once."""
    first = cards[0]
    rows = [first.rows[0]] + [r for c in cards for r in c.rows[1:]]
    return Scorecard(first.scale, first.seeds, rows, first.image_data)
