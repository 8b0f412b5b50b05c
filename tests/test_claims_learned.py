"""The learned precondition: no check whose claim is reliance or robustness passes on a constant
or an untrained model (issue 23). Every check of the registry declares either ``learned=`` (the
record needs the measured models' standard accuracy / AUC, and fails as "did not train" below it)
or a guard saying why it needs none; this test feeds real constant and untrained models' standard
metrics through every guarded check, with the values that would pass its bar, and fails if any
passes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import sbcore
from sbcore.claims import CHECKS, ClaimNotReproduced, against_registry
from sbcore.claims.checks.base import (
    NO_MODEL,
    PERFORMANCE,
    TRAINED,
    TRAINING_FAILS,
    Bar,
    Check,
    PerField,
)
from sbcore.data.synthetic import from_name
from sbcore.metrics import accuracy, randomized_eval, roc_auc
from sbcore.models.specs import ModelSpec

# The only checks whose claim is that training fails (App. E.2.1: AT above gamma_S is trivial).
TRAINING_FAILS_KEYS = {"adversarial.above.acc", "adversarial.above.robust"}


@pytest.fixture(scope="module")
def trivial_metrics() -> dict[str, tuple[float, float]]:
    """(standard accuracy, AUC) of a constant classifier and of an untrained (100,1)-FCN on an
    LMS-5 test set."""
    test = from_name("LMS-5", 4000, seed=3)
    const = torch.zeros(1, test.n_samples, 2)
    const[..., 1] = 1.0  # always class 1
    y = test.y[None]
    out = {"constant": (float(accuracy(const, y)[0]), float(roc_auc(const, y)[0]))}
    untrained = ModelSpec.parse("(100,1)-FCN").build(test.n_features, seeds=[0])
    ev = randomized_eval(untrained, [test], seed=0)
    out["untrained"] = (float(ev.acc[0]), float(ev.auc[0]))
    return out


def _sample(b: Bar) -> dict:
    """The run's arguments of a sample-size bar: 2,000 points (1,000 a class for an AUC), and a
    printed ± of 0.01 where the bar reads it off a table."""
    return dict(
        n=(1000, 1000) if b.auc else 2000, **({} if b.printed is not None else {"printed": 0.01})
    )


def _resolved(v: float | Bar | PerField | None) -> float | None:
    """A declared target or tol, with a bar taken at :func:`_sample`'s sample and a per-field
    target at the field's first printed value (the one :func:`_fmt` passes)."""
    if isinstance(v, PerField):
        return v(min(v.values))
    return v(**_sample(v)) if isinstance(v, Bar) else v


def _passing(c: Check) -> tuple[list[float], dict]:
    """Values that meet ``c``'s bar (and the bar, where the run sets it)."""
    bar = next((_sample(b) for b in (c.target, c.tol) if isinstance(b, Bar)), {})
    target = _resolved(c.target)
    if target is None:
        bar["target"] = target = 0.5
    if c.tol is None:
        bar["tol"] = 0.1
    return [target], bar


def _fmt(c: Check) -> dict:
    """Placeholders for every field of the check's quantity template."""
    import string

    fields = {f: spec for _, f, spec, _ in string.Formatter().parse(c.quantity) if f}
    out = {f: 1.0 if spec else "x" for f, spec in fields.items()}
    if isinstance(c.target, PerField):
        out[c.target.field] = min(c.target.values)
    return out


def test_every_check_declares_a_precondition_or_why_it_needs_none():
    for key, c in CHECKS.items():
        if c.fact:
            continue
        assert (c.learned is None) != (c.guard is None), key
        assert c.guard in (None, PERFORMANCE, TRAINING_FAILS, NO_MODEL), key
    assert {k for k, c in CHECKS.items() if c.guard == TRAINING_FAILS} == TRAINING_FAILS_KEYS
    with pytest.raises(ValueError, match="learned= .* or guard="):
        Check(
            "x.y",
            claim=1,
            quantity="q",
            paper="p",
            source="s",
            kind="at_most",
            target=0.5,
            rationale="r",
        )
    with pytest.raises(ValueError, match="cause"):
        Check(
            "x.y",
            claim=1,
            quantity="q",
            paper="p",
            source="s",
            kind="at_most",
            target=0.5,
            rationale="r",
            learned=TRAINED,
            known_deviation="why",
        )


def test_trivial_models_are_at_chance(trivial_metrics):
    for name, (acc, auc) in trivial_metrics.items():
        assert 0.4 < acc < 0.6 and 0.4 < auc < 0.6, name


@pytest.mark.parametrize("model", ["constant", "untrained"])
def test_no_guarded_check_passes_on_a_trivial_model(model, trivial_metrics):
    acc, auc = trivial_metrics[model]
    run = sbcore.start("02_extreme_sb_slabs", scale="smoke", strict=False, progress=False)
    guarded = [c for c in CHECKS.values() if c.learned is not None]
    assert len(guarded) > 60
    for c in guarded:
        values, bar = _passing(c)
        ok = run.check(c.key, values, data="d", learned=[1.0, 1.0], **bar, **_fmt(c))
        assert ok.passed, f"{c.key}: the passing values do not pass, so the test proves nothing"
        for metric in (acc, auc):
            rec = run.check(c.key, values, data="d", learned=[metric, 1.0], **bar, **_fmt(c))
            assert not rec.passed, f"{c.key} passes on a {model} model"
            assert rec.verdict.startswith("did not train"), c.key
    strict = sbcore.start("02_extreme_sb_slabs", scale="smoke", strict=True, progress=False)
    with pytest.raises(ClaimNotReproduced):
        strict.check("slabs.lms5.s_auc", [0.5], data="LMS-5", model="m", learned=[auc])


def test_performance_checks_fail_at_chance_by_themselves():
    """A trivial model scores chance on its own standard performance: 0.5 for an accuracy or
    AUC, d / 2 for Theorem 1's d x test error, no rise for Fig. 5's MS-7 accuracy; a network
    that never fits a k-slab reads App. B's cap + 1 epochs, and 1 as the ratio of two such."""
    chance = {
        "theory.test_error": 10 * 0.5,
        "survives.f5.ms7_rise": 0.0,
        "datasets.fit_small_k": 501.0,
        "datasets.fit_growth": 1.0,
    }
    for c in (c for c in CHECKS.values() if c.guard == PERFORMANCE):
        target = 0.95 if c.target is None else _resolved(c.target)
        tol = 0.05 if c.tol is None else _resolved(c.tol)
        v = [chance.get(c.key, 0.5)]
        assert not sbcore.claims.checks.passes(c.kind, v, target, tol, c.upper), c.key


def test_run_and_registry_refuse_a_missing_or_altered_precondition(tmp_path):
    run = sbcore.start("02_extreme_sb_slabs", scale="smoke", strict=False, progress=False)
    with pytest.raises(ValueError, match="pass learned="):
        run.check("slabs.lms5.s_auc", [0.5], data="LMS-5", model="m")
    with pytest.raises(ValueError, match="pass learned="):
        run.check("slabs.no_s.acc", [1.0], data="LMS-5", model="m", learned=[1.0])
    rec = run.check("slabs.lms5.s_auc", [0.5], data="LMS-5", model="m", learned=[0.95])
    assert rec.passed and rec.meta["learned"] == {
        "metric": "test accuracy",
        "min": TRAINED,
        "values": [0.95],
    }
    lowered = dataclasses.replace(
        rec, meta={**rec.meta, "learned": {**rec.meta["learned"], "min": 0.5}}
    )
    dropped = dataclasses.replace(rec, meta={k: v for k, v in rec.meta.items() if k != "learned"})
    for bad in (lowered, dropped):
        with pytest.raises(ValueError, match="learned"):
            against_registry([bad], where="test", complete=False)
    assert against_registry([rec], where="test", complete=False)[0].passed


def test_runs_helper_passes_the_precondition_only_where_declared():
    run = sbcore.start("00_theory", scale="smoke", strict=False, progress=False)
    recs = run.checks(
        {"theory.fig1_phi1_randomized": [0.5], "theory.fig1_piecewise_margin": [1.2]},
        learned=np.array([0.99]),
        data="d",
        model="m",
    )
    assert "learned" in recs[0].meta and "learned" not in recs[1].meta
    assert all(r.passed for r in recs)


def test_auc_precondition_is_the_models_test_auc():
    from types import SimpleNamespace

    from sbcore.claims.run import auc_precondition

    ev = SimpleNamespace(auc=np.array([0.99, 0.5]))
    pre = auc_precondition(ev)
    assert pre["learned_metric"] == "test AUC" and pre["learned"] is ev.auc
    run = sbcore.start("02_extreme_sb_slabs", scale="smoke", strict=False, progress=False)
    rec = run.check("slabs.lms5.s_auc", [0.5, 0.5], data="LMS-5", model="m", **pre)
    assert not rec.passed and rec.verdict.startswith("did not train (test AUC 0.500")
