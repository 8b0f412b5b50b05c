"""The testbed scores each method on its own: a method that diverges or raises gets a row saying
what failed at which stage, the others keep theirs; hyperparameters, devices and seeds are checked
before anything trains."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from sbcore import testbed
from sbcore.chapters import ch10_testbed as ch
from sbcore.testbed import methods as M
from sbcore.testbed.evaluation import MethodFailed, NonFiniteLogits
from sbcore.testbed.scorecard import KEYS, Failure, MethodScore, Scorecard
from sbcore.train import NonFiniteLoss, fit

# the smoke preset, smaller still: the code path of every stage in a few seconds
TINY = dataclasses.replace(
    ch.PRESETS["smoke"],
    n_test=100,
    n_train_lms=200,
    n_train_ms57=300,
    n_train_noisy=200,
    n_train_ms5=200,
    n_attack=50,
    pgd_steps=2,
    train=dataclasses.replace(ch.PRESETS["smoke"].train, max_epochs=2),
    image_n_train=40,
    image_n_test=40,
    image_train=dataclasses.replace(ch.PRESETS["smoke"].image_train, max_epochs=1, batch_size=20),
)


@pytest.mark.parametrize(
    "make,name",
    [
        (M.sam, "rho"),
        (M.spectral_decoupling, "lam"),
        (M.diverse, "weight"),
        (M.diverse, "members"),
        (M.diverse, "n_points"),
        (M.jtt, "epochs"),
        (M.jtt, "factor"),
        (M.useful, "fraction"),
        (M.useful, "factor"),
    ],
)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 0, -1, True, "1"])
def test_every_numeric_hyperparameter_refuses_inf_nan_and_out_of_range(make, name, value):
    with pytest.raises(
        ValueError,
        match=rf"^{name} must be (a finite number > 0|an integer "
        rf">= \d), got ",
    ):
        make(**{name: value})


def test_the_defaults_and_plain_numbers_still_build():
    assert M.sam(rho=1).settings == {"rho": 1.0}
    assert M.diverse(members=3, weight=0.5, n_points=np.int64(8)).members == 3
    assert [m.name for m in M.reference()] == [
        "SAM",
        "spectral decoupling",
        "diverse ensemble",
        "USEFUL",
        "USEFUL + SAM",
        "JTT",
    ]
    assert M.useful(fraction=1, factor=np.int64(3)).settings == {
        "base": "vanilla",
        "fraction": 1.0,
        "factor": 3,
    }


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"device": "tpu"}, r"^device must be one of \('auto', 'cpu', 'cuda'\), got 'tpu'$"),
        ({"device": torch.device("meta")}, r"^device must be a CPU or an available CUDA device"),
        ({"seed": -1}, r"^seed must be an integer in \[0, 2\*\*31\), got -1$"),
        ({"seed": 2**31}, r"^seed must be an integer in \[0, 2\*\*31\)"),
        ({"seed": 1.5}, r"^seed must be an integer"),
        ({"seed": True}, r"^seed must be an integer"),
        ({"seeds": [0, -1]}, r"^seeds must be distinct integers in \[0, 2\*\*31 \* 1000\)"),
        ({"seeds": [0.5, 1]}, r"^seeds must be distinct integers"),
        ({"seeds": [2**31 * 1000]}, r"^seeds must be distinct integers"),
        ({"seeds": [1, 1]}, r"^seeds must be distinct integers"),
        ({"seeds": []}, r"^seeds must be distinct integers"),
        ({"seeds": 3}, r"^seeds must be distinct integers"),
        ({"errors": "ignore"}, r"^errors must be one of \('record', 'raise'\)"),
        ({"config": {"n_seeds": 2}}, r"^config must be a ch10_testbed.Config"),
        ({"scale": "huge"}, r"scale"),
    ],
)
def test_evaluate_checks_its_arguments_before_training(kw, match, monkeypatch):
    from sbcore.testbed import evaluation

    monkeypatch.setattr(evaluation, "prepare", lambda *a: pytest.fail("trained anyway"))
    with pytest.raises(ValueError, match=match):
        testbed.evaluate(M.vanilla(), **{"scale": "smoke", **kw})


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only torch")
def test_cuda_without_a_gpu_is_one_line_naming_device():
    with pytest.raises(ValueError, match=r"^device='cuda' was asked for but no CUDA device"):
        testbed.evaluate(M.vanilla(), scale="smoke", device="cuda")


def test_seeds_as_the_chapters_draw_them_are_accepted(monkeypatch):
    from sbcore.testbed import evaluation

    seen = []
    monkeypatch.setattr(evaluation, "prepare", lambda cfg, seeds: seen.append(seeds) or 1 / 0)
    for seeds in ([2**31 * 1000 - 1, 0], np.arange(2), range(3, 5)):
        with pytest.raises(ZeroDivisionError):
            testbed.evaluate(M.vanilla(), scale="smoke", seeds=seeds, device="auto")
    assert seen == [[2**31 * 1000 - 1, 0], [0, 1], [3, 4]]


# ---------------------------------------------------------------- failing methods


def _nan_loss(model, x, y, logits, n_data):
    return testbed.cross_entropy(logits, y) * float("nan")


def _broken_on_images(model, x, y, logits, n_data):
    if x.dim() >= 4:  # the domino images: (b, C, H, W)
        raise ZeroDivisionError("division by zero in my penalty\nsecond line")
    return testbed.cross_entropy(logits, y)


def _nan_weights(method, model, x, y, cfg, **kw):  # trains, then breaks the weights
    hist = fit(model, x, y, cfg, seed=kw["seed"], progress=False)
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))
    return hist


def test_a_diverged_or_broken_method_gets_a_row_and_the_others_keep_theirs():
    methods = [
        testbed.Method("nan loss", loss=_nan_loss),
        testbed.Method("inf weights", train=_nan_weights),
        testbed.Method("broken", loss=_broken_on_images),
        testbed.Method("plain", loss=lambda m, x, y, lg, n: testbed.cross_entropy(lg, y)),
    ]
    with pytest.warns(
        MethodFailed,
        match=r"'broken' failed: error at domino images: "
        r"ZeroDivisionError: division by zero in my penalty$",
    ):
        card = testbed.evaluate(methods, config=TINY, seeds=[0, 1], positive_control=False)
    assert [r.name for r in card.rows] == ["vanilla", "nan loss", "inf weights", "broken", "plain"]
    fails = card.failures()
    assert set(fails) == {"nan loss", "inf weights", "broken"}
    assert str(fails["nan loss"]) == (
        "diverged at LMS-5 training: members 0, 1 of 2 (counting "
        "from 0): loss is nan at epoch 1 (after 1 update); lower "
        "the learning rate or check the loss"
    )
    assert isinstance(fails["nan loss"].error, NonFiniteLoss)
    assert str(fails["inf weights"]) == (
        "diverged at LMS-5 evaluation: the logits of predictor 0 "
        "of 2 on the LMS-5 test set are not finite (NaN or inf)"
    )
    assert isinstance(fails["inf weights"].error, NonFiniteLogits)
    assert (fails["broken"].kind, fails["broken"].stage) == ("error", "domino images")
    for name in ("vanilla", "plain"):  # scored in full
        assert card.row(name).failure is None
        assert all(np.isfinite(card.row(name).values[k]).all() for k in KEYS)
    broken = card.row("broken").values  # the stages before the failure are kept
    assert "lms5_s_auc" in broken and "gain10" in broken and "img_top_auc" not in broken
    assert card.row("nan loss").values == {}
    assert list(card.deltas()) == list(card.noise()) == ["plain"]
    rows = card.table()
    assert rows[0]["status"] == "ok" and rows[1]["status"] == str(fails["nan loss"])
    assert rows[1]["LMS-5 S-rand AUC"] == "—"
    text = repr(card)
    assert "DIVERGED" in text and "ERROR" in text
    assert "broken: error at domino images: ZeroDivisionError: division by zero" in text
    with pytest.raises(ZeroDivisionError, match="division by zero in my penalty"):
        card.raise_errors()  # the test-suite's view: the method's own exception and traceback


def test_errors_raise_and_a_failing_reference_row_propagate():
    early = testbed.Method("early", loss=lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError) as info:
        testbed.evaluate(early, config=TINY, seeds=[0, 1], errors="raise")
    assert "while the testbed scored 'early', at LMS-5 training" in info.value.__notes__
    bad = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, lr=1e30))
    with pytest.raises(NonFiniteLoss) as info:  # vanilla is the reference: never a row
        testbed.evaluate([], config=bad, seeds=[0, 1])
    assert "while the testbed scored 'vanilla', at LMS-5 training" in info.value.__notes__


def test_failure_kinds_and_a_card_without_failures():
    assert Failure.of(NonFiniteLoss([0], [math.nan], 2, 1, 3), "x").kind == "diverged"
    assert str(Failure.of(KeyError("k"), "MS-5 ensembles")) == (
        "error at MS-5 ensembles: KeyError: 'k'"
    )
    assert str(Failure.of(RuntimeError(), "s")) == "error at s: RuntimeError"
    rows = [
        MethodScore("vanilla", {k: np.array([0.5, 0.5]) for k in KEYS}),
        MethodScore("m", {k: np.array([0.9, 0.7]) for k in KEYS}),
    ]
    card = Scorecard("smoke", [0, 1], rows, "x")
    assert "status" not in card.table()[0] and "status" not in repr(card)  # as before
    card.raise_errors()  # nothing to raise
    assert card.failures() == {} and list(card.deltas()) == ["m"]
