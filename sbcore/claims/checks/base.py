"""A check: one quantity a chapter measures for a claim, declared once with the paper's number.

Every check carries the paper's printed value and where it is printed (``paper``, ``source``),
the criterion (``kind``, ``target``, ``tol``, ``upper``) and one line saying how that tolerance
follows from the printed number and its ± (``rationale``), never from what our code produced.

Kinds, and what they ask of the values (one per seed or member):

- ``mean_within``: the mean over seeds lies within ``target ± tol`` (a claim about the average;
  one bad seed can pass, and the criterion printed says so);
- ``all_within``: every seed lies within ``target ± tol``;
- ``at_least`` / ``at_most``: every seed is at least / at most ``target``;
- ``between``: every seed lies in ``[target, upper]``.

A ``target`` or ``tol`` that depends on the sample is a :class:`Bar`: the printed rounding and
spread plus ``k`` standard errors of a binomial accuracy or of a null AUC; the chapter passes
only the sample size (``run.check(..., n=n_test, n_seeds=...)``) and the rationale prints the
bar's formula where it says ``{bar}``. ``target=None`` or ``tol=None`` means a value the run reads
off something other than a sample size (a printed table cell, a probe of the data): the chapter
passes it to ``run.check`` and the rationale says where it comes from. ``fact=True`` marks a value that cannot fail by construction (a closed form of the data, a
constant): it is shown beside the claim but never counted as a reproduction.
``known_deviation``: a reason why the check fails under a stated condition (the data is the
stand-in, the model is the GRU...), with where it was found: before any run, or in a run of the
chapter (the text says which), and its ``cause``, one of :data:`CAUSES`. Such a record never
raises and still counts as not reproduced. ``erratum``: the printed value matches no definition
the paper allows (the errata page shows the evidence); the value is shown beside the printed one
and never counted, like a fact.

The *learned* precondition. "Relies only on S", "ignores Sc", "stays below 100 %", "fails under
attack" are all met by a network that never trained (a constant classifier's S-randomized AUC is
0.5, its Sc-randomized gap 0). So every check declares one of:

- ``learned=x``: the same run passes the measured models' standard test accuracy (or AUC) per
  seed, and the record passes only if every one is at least ``x``; otherwise it reads *did not
  train* and fails (:data:`TRAINED` = 0.9 for the paper's models, all of which reach at least 0.94);
- ``guard=PERFORMANCE``: the value is itself the model's standard performance (a trivial model
  fails the bar by itself); ``guard=TRAINING_FAILS``: the claim is that training fails (a trivial
  model is what the paper reports); ``guard=NO_MODEL``: a property of the data or of a closed
  form, no network involved. ``tests/test_claims_learned.py`` feeds constant and untrained models
  through every check and fails if a guarded one passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = ("mean_within", "all_within", "at_least", "at_most", "between")
EPS = 1e-12  # float slack at the bar, so that a value printed equal to the bar passes
TRAINED = (
    0.9  # standard accuracy / AUC from which a model behind a reliance check counts as trained
)
PERFORMANCE = "the value is the model's own standard performance: a trivial model fails the bar"
TRAINING_FAILS = "the claim is that training fails: a trivial model is what the paper reports"
NO_MODEL = "a property of the data or of a closed form: no network is measured"
GUARDS = (PERFORMANCE, TRAINING_FAILS, NO_MODEL)
# Why a known deviation fails (the scoreboard's "why" column); a failure without one reads
# "not yet known". Each is backed by a record or an experiment in the check's chapter.
STAND_IN = "stand-in data"
SMALLER = "smaller than the paper"
CHECK_DIFFERS = "check differs from the paper"
DISAGREES = "disagrees with the paper under its own setup"
NOT_KNOWN = "not yet known"
CAUSES = (STAND_IN, SMALLER, CHECK_DIFFERS, DISAGREES, NOT_KNOWN)


@dataclass(frozen=True)
class Bar:
    """A bar that follows from the printed number and our sample size: ``printed`` (the printed
    value's rounding and ±, or the printed value itself for a target; ``None``: read off the
    printed table cell by the run) plus ``k`` standard errors of a binomial accuracy near ``p``
    on ``n`` points, sqrt(p (1 - p) / n) (``auc=False``), or of a null AUC on ``n = (n_pos,
    n_neg)`` points, sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg)) (``auc=True``); with
    ``n_seeds`` the standard error of the mean of that many such values. ``n_name`` names the
    sample in the printed formula."""

    printed: float | None
    k: float
    p: float = 0.5
    auc: bool = False
    n_name: str = "n_test"

    def __post_init__(self) -> None:
        if not self.k > 0 or not 0 < self.p < 1:
            raise ValueError(f"Bar needs k > 0 and 0 < p < 1, got k={self.k}, p={self.p}")

    def se(self, n, n_seeds: int = 1) -> float:
        """The standard error of one value (``n_seeds=1``) or of a mean of ``n_seeds``."""
        if self.auc:
            n_pos, n_neg = n
            if min(n_pos, n_neg) < 1:
                raise ValueError(f"a null AUC needs both classes, got n = {n}")
            var = (n_pos + n_neg + 1) / (12.0 * n_pos * n_neg)
        else:
            if not n >= 1:
                raise ValueError(f"n must be >= 1, got {n}")
            var = self.p * (1 - self.p) / n
        return math.sqrt(var / n_seeds)

    def __call__(self, n, n_seeds: int = 1, printed: float | None = None) -> float:
        """The bar at sample size ``n`` (``printed``: the run's printed part when the bar reads
        it off a table cell)."""
        if (printed is None) == (self.printed is None):
            raise ValueError("pass printed= exactly when the bar reads it off the printed table")
        base = self.printed if printed is None else printed
        return base + self.k * self.se(n, n_seeds)

    def text(self) -> str:
        """The formula, as the rationale prints it."""
        base = "the printed ±" if self.printed is None else f"{self.printed:g}"
        if self.auc:
            se = "sigma_0 / sqrt(n_seeds), sigma_0 = sqrt((n + 1) / (12 n_pos n_neg))"
        else:
            se = f"sqrt({self.p:g} · {1 - self.p:g} / {self.n_name})"
        return f"{base} + {self.k:g} {se}"


@dataclass(frozen=True)
class PerField:
    """A target the paper prints once per value of one field of the check's quantity (``field``,
    e.g. the ensemble size ``k``): ``values`` maps that field's value to the printed number. The
    chapter passes the field (``run.check(..., k=5)``) and nothing else."""

    field: str
    values: dict

    def __call__(self, value) -> float:
        if value not in self.values:
            raise ValueError(
                f"the paper prints no value for {self.field} = {value!r} "
                f"(it prints {sorted(self.values)})"
            )
        return float(self.values[value])

    def text(self) -> str:
        return ", ".join(f"{v:g} at {self.field} = {k}" for k, v in sorted(self.values.items()))


@dataclass(frozen=True)
class Check:
    """One declared check of claim ``claim`` (see the module docstring for the fields)."""

    key: str
    claim: int
    quantity: str
    paper: str
    source: str
    kind: str
    target: float | Bar | PerField | None
    rationale: str
    tol: float | Bar | None = 0.0
    upper: float | None = None
    fact: bool = False
    known_deviation: str | None = None
    learned: float | None = None
    guard: str | None = None
    cause: str | None = None
    erratum: str | None = None

    def __post_init__(self) -> None:
        bars = [b for b in (self.target, self.tol) if isinstance(b, Bar)]
        if len(bars) > 1:
            raise ValueError(f"check {self.key}: a bar for the target or the tol, not both")
        if bars and "{bar}" not in self.rationale and bars[0].text() not in self.rationale:
            raise ValueError(
                f"check {self.key}: a check with a bar prints it: put {{bar}} in the rationale"
            )
        if bars:
            object.__setattr__(self, "rationale", self.rationale.replace("{bar}", bars[0].text()))
        if isinstance(self.target, PerField):
            if "{" + self.target.field not in self.quantity or "{target}" not in self.rationale:
                raise ValueError(
                    f"check {self.key}: a per-{self.target.field} target needs "
                    f"{{{self.target.field}}} in the quantity and {{target}} in the rationale"
                )
            text = self.rationale.replace("{target}", self.target.text())
            object.__setattr__(self, "rationale", text)
        if (self.cause is None) != (self.known_deviation is None):
            raise ValueError(
                f"check {self.key}: a known deviation needs its cause (one of "
                f"base.CAUSES), and a cause its known deviation"
            )
        if self.cause is not None and self.cause not in CAUSES:
            raise ValueError(
                f"check {self.key}: cause must be one of {CAUSES}, got {self.cause!r}"
            )
        if (self.learned is None) == (self.guard is None) and not self.fact:
            raise ValueError(
                f"check {self.key}: declare exactly one of learned= (the standard "
                f"accuracy/AUC from which the model counts as trained) or guard="
            )
        if self.guard is not None and self.guard not in GUARDS:
            raise ValueError(f"check {self.key}: guard must be one of base.GUARDS")
        if self.learned is not None and not 0.5 < self.learned <= 1:
            raise ValueError(f"check {self.key}: learned must be in (0.5, 1], got {self.learned}")
        if self.kind not in KINDS:
            raise ValueError(f"check {self.key}: kind must be one of {KINDS}, got {self.kind!r}")
        low = self.target if isinstance(self.target, (int, float)) else 0
        if self.kind == "between" and (self.upper is None or low > self.upper):
            raise ValueError(f"check {self.key}: 'between' needs upper >= target")
        if isinstance(self.tol, (int, float)) and self.tol < 0:
            raise ValueError(f"check {self.key}: tol must be >= 0, got {self.tol}")


def criterion_text(kind: str, target: float, tol: float = 0.0, upper: float | None = None) -> str:
    """The criterion as printed in every table: says whether it holds per seed or on the mean."""
    if kind == "mean_within":
        return f"mean over seeds within {target:.3g} ± {tol:.2g}"
    if kind == "all_within":
        return f"every seed within {target:.3g} ± {tol:.2g}"
    if kind == "at_least":
        return f"every seed ≥ {target:.3g}"
    if kind == "at_most":
        return f"every seed ≤ {target:.3g}"
    return f"every seed in [{target:.3g}, {upper:.3g}]"


def passes(kind: str, values, target: float, tol: float = 0.0, upper: float | None = None) -> bool:
    """Whether ``values`` (one per seed) meet the criterion; no values or a NaN never pass."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        return False
    if kind == "mean_within":
        return bool(abs(v.mean() - target) <= tol + EPS)
    if kind == "all_within":
        return bool(np.all(np.abs(v - target) <= tol + EPS))
    if kind == "at_least":
        return bool(np.all(v >= target - EPS))
    if kind == "at_most":
        return bool(np.all(v <= target + EPS))
    if kind == "between":
        return bool(
            np.all((v >= target - EPS) & (v <= (math.inf if upper is None else upper) + EPS))
        )
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
