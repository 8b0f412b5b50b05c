"""Chapter 07 (sbcore.chapters.ch07_ensembles) and metrics.ensemble_logits: logit averaging,
config validation, stacked ensembles and their claim records."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import sbcore
from sbcore.chapters import ch07_ensembles as ch
from sbcore.claims import ClaimNotReproduced
from sbcore.claims.checks import CHECKS
from sbcore.claims.run import apply_overrides
from sbcore.experiments.ensembles import coordinate_reliance
from sbcore.metrics import ensemble_logits


def test_ensemble_logits_is_the_mean_of_the_first_k_members_by_hand():
    lg = torch.tensor(
        [[[1.0, 0.0], [0.0, 2.0]], [[3.0, 0.0], [0.0, -2.0]], [[-1.0, 6.0], [9.0, 0.0]]]
    )  # (M=3, n=2, C=2)
    assert torch.allclose(ensemble_logits(lg, 1), lg[0])
    assert torch.allclose(ensemble_logits(lg, 2), torch.tensor([[2.0, 0.0], [0.0, 0.0]]))
    assert torch.allclose(ensemble_logits(lg, [0, 2]), torch.tensor([[0.0, 3.0], [4.5, 1.0]]))
    # leading group dimension: (G, M, n, C) -> (G, n, C)
    assert ensemble_logits(torch.stack([lg, lg]), 3).shape == (2, 2, 2)


def test_averaging_logits_differs_from_majority_vote():
    # two weakly wrong members and one confidently right member: the logit mean is right
    lg = torch.tensor([[[0.1, 0.0]], [[0.1, 0.0]], [[0.0, 5.0]]])
    assert ensemble_logits(lg, 3).argmax(-1).item() == 1


@pytest.mark.parametrize("members", [0, 4, [5], []])
def test_ensemble_logits_rejects_bad_members(members):
    with pytest.raises(ValueError, match="members"):
        ensemble_logits(torch.zeros(3, 2, 2), members)


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(n_members=1), "n_members"),
        (dict(n_groups=1), "n_groups"),
        (dict(ms5_sizes=()), "ms5_sizes"),
        (dict(sizes=(1, 11)), "sizes"),
        (dict(sizes=(1,)), "sizes"),
        (dict(noisy_noise=0.0), "noisy_noise"),
        (dict(lr=-1.0), "lr"),
        (dict(momentum=1.0), "momentum"),
        (dict(model="(100,2)-XYZ"), "model"),
        (dict(target_single=0.4), "target_single"),
        (dict(n_test=10), "n_test"),
    ],
)
def test_config_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        apply_overrides(ch.PRESETS["book"], bad, ch.KNOBS)


def test_flat_knobs_map_onto_the_recipe_and_unknown_names_are_rejected():
    cfg = apply_overrides(
        ch.PRESETS["book"], {"lr": 0.05, "max_epochs": 7, "n_groups": 4}, ch.KNOBS
    )
    assert (cfg.train.lr, cfg.train.max_epochs, cfg.n_groups) == (0.05, 7, 4)
    assert cfg.noisy_train.max_epochs == cfg.noisy_max_epochs and cfg.noisy_train.lr == 0.05
    with pytest.raises(ValueError, match="n_membres"):
        sbcore.start("07_ensembles", scale="smoke", progress=False, n_membres=3)


def test_presets_resolve():
    for cfg in ch.PRESETS.values():
        assert max(cfg.sizes) <= cfg.n_members
    assert ch.PRESETS["paper"].train.momentum == 0.0  # App. B's plain SGD


def _run(logits, y):
    return ch.EnsembleRun(
        "x", 10, None, [], torch.as_tensor(logits, dtype=torch.float32), torch.as_tensor(y), None
    )


def test_member_accuracy_gain_and_disagreement_by_hand():
    # G=1, M=2, n=4; member 0 right on points 0,1; member 1 right on points 0,2 (y = all 1)
    m0 = [[0, 1], [0, 1], [1, 0], [1, 0]]
    m1 = [[0, 1], [1, 0], [0, 3], [1, 0]]
    run = _run([[m0, m1]], [[1, 1, 1, 1]])
    assert np.allclose(run.member_acc(), [[0.5, 0.5]])
    # mean logits: point 2 -> (0.5, 1.5) right, point 1 -> (0.5, 0.5) tie -> argmax 0 (wrong)
    assert np.allclose(run.ensemble_acc(2), [0.5])
    assert np.allclose(run.gain(2), [0.0])
    assert run.disagreement() == pytest.approx(0.5)


def test_pick_size_is_closest_to_target():
    a = _run([[[[0, 1]] * 4, [[0, 1]] * 4]], [[1, 1, 1, 1]])  # acc 1.0
    b = _run([[[[0, 1]] * 3 + [[1, 0]], [[0, 1]] * 3 + [[1, 0]]]], [[1, 1, 1, 1]])  # acc 0.75
    assert ch.pick_size([a, b], 0.75) is b


def test_gain_ratio_and_accuracy_bar_by_hand():
    assert ch.gain_snr([0.1, 0.3]) == pytest.approx(0.2 / math.sqrt(0.02))
    assert ch.gain_snr([0.1, 0.1]) == 1e9 and ch.gain_snr([0.0, 0.0]) == 0.0
    assert ch.gain_snr([-0.1, -0.3]) < 0
    # 0.005 rounding + 4 standard errors of an accuracy near 0.75 on 2,000 points
    assert CHECKS["ensembles.noisy.acc"].tol(2000) == pytest.approx(
        0.005 + 4 * math.sqrt(0.1875 / 2000)
    )
    assert CHECKS["ensembles.noisy.gap"].target(5000) == pytest.approx(
        0.01 + 4 * math.sqrt(0.1875 / 5000)
    )


# G=2 groups of M=2 members on 8 points (y = 1), every member right on 6 of them (0.75: trained,
# above the gain checks' learned precondition 0.6): the last four points every member gets right.
_RIGHT = [[0, 1]] * 4
_GAINS = [
    [[0, 1], [0, 3], [1, 0], [1, 0], *_RIGHT],  # member 0: right on points 0, 1
    [[0, 1], [1, 0], [0, 3], [1, 0], *_RIGHT],
]  # member 1: right on 0, 2 -> mean on 0-2
_LOSES = [
    [[0, 1], [0, 1], [1, 0], [1, 0], *_RIGHT],  # member 0: weakly right on 0, 1
    [[5, 0], [5, 0], [0, 0.1], [0, 0.1], *_RIGHT],
]  # member 1: confidently wrong there


def _ms5_like(group):
    return _run([group, group], [[1] * 8] * 2)


def test_ms5_records_gate_on_the_direction_and_raise_when_it_fails():
    run = sbcore.start(
        "07_ensembles", scale="smoke", strict=False, progress=False, n_members=2, sizes=(1, 2)
    )
    ms5 = _ms5_like(_GAINS)  # members 0.75 each, ensembles 0.875: gain +0.125 in both groups
    assert np.allclose(ms5.gain(2), [0.125, 0.125])
    ch.ms5_records(run, ms5)
    rec = {(r.check, r.meta.get("k")): r for r in run.records}
    assert rec[("ensembles.ms5.gain_sign", 2)].passed and rec[
        ("ensembles.ms5.gain_snr", 2)
    ].values == [1e9]
    # the paper's 5 and 10 are not formed: recorded as not run, never as reproduced
    assert rec[("ensembles.ms5.gain", 5)].not_run and rec[("ensembles.ms5.gain", 10)].not_run
    assert rec[("ensembles.ms5.single", None)].meta["known_deviation"]
    strict = sbcore.start(
        "07_ensembles", scale="smoke", strict=True, progress=False, n_members=2, sizes=(1, 2)
    )
    losing = _ms5_like(_LOSES)  # members 0.75 each, ensembles right on the last four only
    assert np.allclose(losing.gain(2), [-0.25, -0.25])
    with pytest.raises(ClaimNotReproduced, match="#25"):
        ch.ms5_records(strict, losing)


def test_train_ensembles_stack_groups_and_records():
    run = sbcore.start(
        "07_ensembles",
        scale="smoke",
        strict=False,
        progress=False,
        n_members=3,
        n_groups=2,
        n_test=200,
        max_epochs=3,
        sizes=(1, 3),
    )
    cfg = run.cfg
    ens = ch.train_ensembles("LMS-5", 300, cfg, cfg.train, seed=0, progress=False)
    assert ens.logits.shape == (2, 3, 200, 2) and ens.y.shape == (2, 200)
    assert ens.model.n_models == 6
    # members of one group differ (own initialization), groups see different data
    assert not torch.allclose(ens.logits[0, 0], ens.logits[0, 1])
    assert not torch.equal(ens.tests[0].x, ens.tests[1].x)
    ev = ch.randomized_ensemble_eval(ens, 3)
    assert set(ev) == {"acc", "auc", "s_acc", "s_auc", "sc_acc", "sc_auc"} and ev["acc"].shape == (
        2,
    )
    assert np.allclose(ev["acc"], ens.ensemble_acc(3))
    assert coordinate_reliance(ens).shape == (3, 50)
    ch.noisy_records(run, ens)
    assert {r.claim for r in run.records} == {26}
    ran = sorted(r.meta["k"] for r in run.records if not r.not_run)
    skipped = sorted(r.meta["k"] for r in run.records if r.not_run)
    assert ran == [3, 3] and skipped == [5, 5, 10, 10]


def test_keep_best_keeps_every_members_best_test_epoch():
    cfg = ch.PRESETS["smoke"]
    run = ch.train_ensembles(
        "MS-5",
        600,
        dataclasses.replace(cfg, n_members=3, n_groups=2, sizes=(1, 3), n_test=300),
        dataclasses.replace(cfg.train, max_epochs=6),
        seed=0,
        progress=False,
        keep_best=True,
    )
    best = run.at_best()
    assert best.logits.shape == run.logits.shape and best.best_logits is None
    # a member's best epoch is never worse than its last, and is one of the epochs trained
    assert np.all(best.member_acc() >= run.member_acc() - 1e-12)
    plain = ch.train_ensembles(
        "MS-5",
        600,
        dataclasses.replace(cfg, n_members=3, n_groups=2, sizes=(1, 3), n_test=300),
        dataclasses.replace(cfg.train, max_epochs=6),
        seed=0,
        progress=False,
    )
    torch.testing.assert_close(plain.logits, run.logits)  # keeping the best changes no training
    with pytest.raises(ValueError, match="keep_best"):
        plain.at_best()
