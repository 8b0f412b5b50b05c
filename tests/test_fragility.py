"""Chapter 05 (sbcore.chapters.ch05_fragility) and the library pieces it calls: margins of the
averaging classifier, flipping budgets, OOD scores, contradicting complex features, the attack suite
on a stack (sbcore.experiments.fragility), records through a Run, and config validation."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

import sbcore
from sbcore import margins, metrics
from sbcore.chapters import ch05_fragility as ch
from sbcore.claims import ClaimNotReproduced
from sbcore.claims.checks import CHECKS
from sbcore.data import make_lms
from sbcore.data.synthetic import SyntheticData, contradict
from sbcore.experiments import fragility
from sbcore.experiments.fragility import ATTACKS, AttackRun, flip_budget_sweep, uap_in_z
from sbcore.experiments.stacks import make_splits, train_stack
from sbcore.metrics import max_logit, max_softmax, ood_auroc
from sbcore.oracles import Averaging, SlabVote
from sbcore.train import TrainConfig


def _run(strict=False, **kw):
    return sbcore.start("05_fragility", scale="smoke", strict=strict, progress=False, **kw)


def _unrotated(z, y, name="LMS-5"):
    z = torch.tensor(z, dtype=torch.float32)
    return SyntheticData(
        x=z,
        y=torch.tensor(y),
        z=z,
        rotation=torch.eye(z.shape[1]),
        s_coords=(0,),
        sc_coords=tuple(range(1, z.shape[1])),
        name=name,
        seed=0,
    )


def test_vote_boundaries_of_the_5_slab_are_the_midpoints_between_centres():
    # slabs start at -1 + i * (0.24 + 0.2): centres -0.88, -0.44, 0, 0.44, 0.88
    assert margins.vote_boundaries(5).tolist() == pytest.approx([-0.66, -0.22, 0.22, 0.66])


def test_flip_distances_by_hand():
    z = torch.tensor([[0.3, 0.0, 0.5]])
    assert margins.flip_distances(z, 5).tolist()[0] == pytest.approx([0.3, 0.22, 0.16])


def test_averaging_flip_budget_by_hand():
    # y=1: three correct votes, two must turn: the two cheapest are 0.22 and 0.22.
    # y=0: the linear vote is wrong (c=2, w=1): one turn suffices, 0.22.
    data = _unrotated([[0.3, 0.44, 0.44], [0.5, 0.0, 0.0]], [1, 0])
    assert margins.averaging_flip_budget(data, 5).tolist() == pytest.approx(
        [math.sqrt(2 * 0.22**2), 0.22], abs=1e-6
    )


def test_averaging_flip_budget_is_the_exact_minimum_for_the_oracle():
    data = _unrotated([[0.3, 0.44, 0.44]], [1])
    f = Averaging(data, 5)
    assert f(data.x)[0].argmax(-1).item() == 1

    def moved(step):  # move coords 1 and 2 towards their nearest boundary 0.22 by `step`
        z = data.z.clone()
        z[0, 1:] -= step
        return f(z)[0].argmax(-1).item()

    assert moved(0.22 - 1e-3) == 1 and moved(0.22 + 1e-3) == 0  # budget sqrt(2) * 0.22


def test_averaging_budget_grows_like_sqrt_d():
    med = [
        np.median(margins.averaging_flip_budget(make_lms(1000, k=5, d=d, seed=0), 5))
        for d in (10, 40, 160)
    ]
    assert 0.4 < metrics.loglog_slope([10, 40, 160], med) < 0.6


class _LinearOnX0(nn.Module):  # score 2 x_0: flipped by moving x_0 across 0
    def forward(self, x):
        return torch.stack([-x[:, 0], x[:, 0]], dim=-1)


def test_flip_budget_of_a_linear_model_is_the_median_distance():
    x = torch.zeros(4, 3)
    x[:, 0] = torch.tensor([0.2, 0.4, 0.6, 0.8])
    y = torch.ones(4, dtype=torch.long)
    b = margins.flip_budget(_LinearOnX0(), x, y, hi=2.0, n_iter=12)
    assert b == pytest.approx(0.4, abs=2e-3)
    assert margins.flip_budget(_LinearOnX0(), x, y, hi=0.1) == 0.1  # not enough: returns hi
    curve = margins.robust_curve(_LinearOnX0(), x, y, [0.0, 0.5, 0.9])
    assert curve.tolist() == [1.0, 0.5, 0.0]


def test_exact_curve_and_loglog_slope():
    assert margins.exact_curve(
        np.array([0.1, 0.2, 0.3]), [0, 0.15, 0.3]
    ).tolist() == pytest.approx([1, 2 / 3, 0])
    assert metrics.loglog_slope([10, 40], [1.0, 2.0]) == pytest.approx(0.5)


def test_ood_scores():
    model = _LinearOnX0()
    x = torch.tensor([[0.0, 0], [5.0, 0]])
    assert max_softmax(model, x).tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-10))])
    assert max_logit(model, x).tolist() == [0.0, 5.0]
    assert ood_auroc(np.ones(5), np.ones(5)) == 0.5
    assert ood_auroc(np.ones(5), np.zeros(5)) == 1.0  # low scores flagged as OOD


def test_contradict_sc_keeps_s_and_turns_every_slab_against_the_label():
    data = make_lms(400, k=5, d=10, seed=3)
    bad = contradict(data, seed=1)
    assert torch.equal(bad.z[:, 0], data.z[:, 0]) and torch.equal(bad.y, data.y)
    assert torch.allclose(bad.x, bad.z @ data.rotation)
    votes = SlabVote(data, data.sc_coords, 5)(bad.x)[0].argmax(-1)
    assert torch.equal(votes, 1 - data.y)


class _Stack:
    """A StackResult stand-in: a trained stack and its name."""

    def __init__(self, model, name, dataset="LMS-5"):
        self.model, self.model_name, self.dataset = model, name, dataset


@pytest.fixture(scope="module")
def lms_stacks():
    seeds = [0, 1]
    trains, tests = make_splits("LMS-5", 2000, 400, seeds, d=10)
    cfg = TrainConfig(lr=0.1, momentum=0.9, max_epochs=30)
    stacks = [
        train_stack(m, trains, tests, cfg, seeds=seeds, progress=False).model
        for m in ("(50,1)-FCN", "(100,2)-FCN")
    ]
    return trains, tests, stacks


def test_attacks_transfer_and_records(lms_stacks):
    trains, tests, stacks = lms_stacks
    results = {"LMS-5": [_Stack(s, n) for s, n in zip(stacks, ("a", "b"))]}
    cfg = dataclasses.replace(ch.PRESETS["smoke"], d=10, n_attack=200, pgd_steps=10, uap_epochs=2)
    runs = ch.attack_all(results, {"LMS-5": (trains, tests)}, cfg, seed=0)["LMS-5"]
    for run in runs:
        assert run.clean_acc.min() > 0.95
        for a in ATTACKS:
            assert run.acc[a].max() <= 0.05 and run.share[a].min() >= 0.9
        assert uap_in_z(run, tests, "AS-UAP").shape == (10,)
    mats = ch.transfer_all({"LMS-5": runs}, results, {"LMS-5": (trains, tests)}, cfg)
    mat = mats[("LMS-5", "AS-UAP")]
    assert set(mats) == {("LMS-5", "SVD-UAP"), ("LMS-5", "AS-UAP")}
    assert mat.shape == (2, 2, 2) and mat.max() <= 0.05
    r = _run(strict=True)
    ch.check_transfer(r, mats, {"LMS-5": ["a", "b"]}, {"LMS-5": runs})
    lms = [x for x in r.records if x.data == "LMS-5"]
    assert len(lms) == 2 and lms[1].values == [
        mat[0, 1, 0],
        mat[0, 1, 1],
        mat[1, 0, 0],
        mat[1, 0, 1],
    ]
    ms = [x for x in r.records if x.data == "MS-(5,7)"]
    assert len(ms) == 2 and all(x.not_run for x in ms)  # one architecture: no transfer to measure
    assert len(ch.attack_rows(runs)) == 6


def _attack_run(data, acc, share):
    return AttackRun(
        data, "m", 0.32, 0.44, np.ones(2), acc=acc, share=share, raw_share=share, uaps={}
    )


def test_attack_records_known_deviations_do_not_raise_under_strict():
    ok = {a: np.ones(2) for a in ATTACKS}
    run = _attack_run(
        "MS-(5,7)",
        {"PGD": np.zeros(2), "SVD-UAP": np.full(2, 0.06), "AS-UAP": np.zeros(2)},
        {**ok, "AS-UAP": np.full(2, 0.99)},
    )
    r = _run(strict=True)
    ch.check_attacks(r, [run])
    bad = [x for x in r.records if not x.passed and not x.not_run]
    # 0.06 after the SVD-UAP on MS-(5,7) is within the floor's bar (1/16 + 0.005 + 4 se)
    assert len(bad) == 1 and all("known_deviation" in x.meta for x in bad)
    ms = [x for x in r.records if x.check == "fragility.uap_acc_ms57"]
    assert len(ms) == 2 and ms[0].target == pytest.approx(
        CHECKS["fragility.uap_acc_ms57"].target(r.cfg.n_attack)
    )
    assert CHECKS["fragility.uap_acc_ms57"].target(10_000) == pytest.approx(
        1 / 16 + 0.005 + 4 * math.sqrt(15 / 256 / 1e4)
    )
    missing = {(x.data, x.meta["model"]) for x in r.records if x.not_run}
    assert ("LMS-5", "(100,10,1)-GRU") in missing and ("MS-(5,7)", "(32,7,1)-CNN") in missing
    run.share["SVD-UAP"] = np.full(2, 0.99)  # the SVD-UAP's share carries no deviation
    with pytest.raises(ClaimNotReproduced):
        ch.check_attacks(_run(strict=True), [run])
    run.acc["PGD"] = np.full(2, 0.5)  # not a known deviation: strict raises
    with pytest.raises(ClaimNotReproduced):
        ch.check_attacks(_run(strict=True), [_attack_run("MS-(5,7)", run.acc, ok)])
    lms = _attack_run("LMS-5", {**run.acc, "PGD": np.zeros(2), "SVD-UAP": np.full(2, 0.06)}, ok)
    with pytest.raises(ClaimNotReproduced):  # no UAP floor on LMS-5
        ch.check_attacks(_run(strict=True), [lms])


def test_share_bars_are_the_printed_percentages_squared():
    from sbcore.claims import CHECKS

    for key, printed in (("lms5", 0.996), ("ms57", 0.999), ("images", 0.993)):
        assert CHECKS[f"fragility.share.{key}"].target == pytest.approx(printed**2, abs=6e-4)


def test_margin_records_slope_of_f_star_is_a_fact():
    r = _run(strict=True)
    acc = np.array([[0.99, 0.98], [1.0, 0.97]])  # (M, n_dims): every network trained
    ch.check_margins(r, {"f*": np.array([0.5, 0.45]), "(100,1)-FCN": np.array([0.0, 0.1])}, acc)
    assert all(x.passed for x in r.records) and r.records[0].fact and not r.records[1].fact
    assert r.records[1].meta["learned"]["values"] == [0.98, 0.97]  # the lowest over d, per seed
    with pytest.raises(ClaimNotReproduced):
        ch.check_margins(r, {"f*": np.array([0.5, 0.5]), "(100,1)-FCN": np.array([0.3, 0.3])}, acc)
    with pytest.raises(ClaimNotReproduced, match="did not train|not reproduced"):  # at chance
        ch.check_margins(
            _run(strict=True),
            {"f*": np.array([0.5, 0.5]), "(100,1)-FCN": np.array([0.0, 0.0])},
            acc * 0.5,
        )


def test_confidence_records():
    r = _run()
    ch.check_contradiction(
        r,
        {
            ("d", "m"): {
                "clean_conf": np.array([0.99, 0.99]),
                "contra_conf": np.array([0.98, 0.9]),
                "follow_s": np.array([1.0, 1.0]),
                "acc": np.array([1.0, 0.99]),
            }
        },
    )
    assert [x.passed for x in r.records] == [True, False]


def test_ood_and_contradiction_on_a_model_reading_only_s():
    data = make_lms(600, k=5, d=10, seed=3)
    w = torch.zeros(10)
    w[0] = 5.0

    class OnS(nn.Module):
        def forward(self, x):
            s = (x @ data.rotation.T) @ w  # the unrotated S coordinate
            return torch.stack([-s, s], -1)

    ood = fragility.ood_aucs([OnS(), OnS()], [data, data], seed=0)
    assert set(ood) == {"max-softmax", "max-logit"}
    assert all(abs(v - 0.5) < 0.05 for a in ood.values() for v in a)  # Sc-randomization is unseen
    c = fragility.contradiction([OnS()], [data], seed=0)
    assert c["follow_s"].tolist() == [1.0]
    assert c["clean_conf"][0] == pytest.approx(c["contra_conf"][0])


def test_flip_budget_sweep_shapes_and_f_star_grows():
    cfg = TrainConfig(lr=0.1, momentum=0.9, max_epochs=5)
    out = flip_budget_sweep(
        "(50,1)-FCN",
        (10, 40),
        n_train=500,
        n_test=200,
        n_points=50,
        seeds=[0, 1],
        cfg=cfg,
        progress=False,
        n_steps=5,
    )
    assert out["f*"].shape == out["(50,1)-FCN"].shape == (2, 2)
    assert (out["f*"][:, 1] > out["f*"][:, 0]).all()


def test_config_presets_and_validation_name_the_parameter():
    assert ch.PRESETS["book"].n_seeds >= 3 and ch.PRESETS["paper"].models_ms == ch.ALL3
    assert (
        ch.PRESETS["paper"].train.momentum == 0.0
        and ch.PRESETS["paper"].image_model == "densenet121"
    )
    for kw, name in (
        (dict(n_attack=10**6), "n_attack"),
        (dict(n_seeds=1), "n_seeds"),
        (dict(margin_dims=(10,)), "margin_dims"),
        (dict(lr=0.0), "lr"),
        (dict(momentum=1.0), "momentum"),
        (dict(pgd_steps=0), "pgd_steps"),
        (dict(image_model="vgg"), "image_model"),
        (dict(image_n_test=5), "image_n_test"),
    ):
        with pytest.raises(ValueError, match=name):
            _run(**kw)
    with pytest.raises(ValueError, match="unknown"):
        _run(n_image=3)
    with pytest.raises(ValueError):
        _run(models=("(100,1)-MLP",))
    assert _run(lr=0.05, image_max_epochs=2).cfg.image_train.max_epochs == 2
