"""Chapter 05 helpers: margins of the averaging classifier, flipping budgets, OOD scores,
contradicting complex features, attacks on a stack, records and config validation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from sbcore import claims
from sbcore import fragility as F
from sbcore import margins
from sbcore.data import make_lms
from sbcore.data.synthetic import SyntheticData
from sbcore.experiments import make_splits, train_stack
from sbcore.oracles import Averaging, SlabVote
from sbcore.train import TrainConfig


def _unrotated(z, y, name="LMS-5"):
    z = torch.tensor(z, dtype=torch.float32)
    return SyntheticData(x=z, y=torch.tensor(y), z=z, rotation=torch.eye(z.shape[1]),
                         s_coords=(0,), sc_coords=tuple(range(1, z.shape[1])), name=name, seed=0)


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
        [math.sqrt(2 * 0.22 ** 2), 0.22], abs=1e-6)


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
    med = [np.median(margins.averaging_flip_budget(make_lms(1000, k=5, d=d, seed=0), 5))
           for d in (10, 40, 160)]
    assert 0.4 < margins.loglog_slope([10, 40, 160], med) < 0.6


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
    assert margins.exact_curve(np.array([0.1, 0.2, 0.3]), [0, 0.15, 0.3]).tolist() == pytest.approx([1, 2 / 3, 0])
    assert margins.loglog_slope([10, 40], [1.0, 2.0]) == pytest.approx(0.5)


def test_ood_scores():
    model = _LinearOnX0()
    x = torch.tensor([[0.0, 0], [5.0, 0]])
    assert F.max_softmax(model, x).tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-10))])
    assert F.max_logit(model, x).tolist() == [0.0, 5.0]
    assert F.ood_auroc(np.ones(5), np.ones(5)) == 0.5
    assert F.ood_auroc(np.ones(5), np.zeros(5)) == 1.0  # low scores flagged as OOD


def test_contradict_sc_keeps_s_and_turns_every_slab_against_the_label():
    data = make_lms(400, k=5, d=10, seed=3)
    bad = F.contradict_sc(data, seed=1)
    assert torch.equal(bad.z[:, 0], data.z[:, 0]) and torch.equal(bad.y, data.y)
    assert torch.allclose(bad.x, bad.z @ data.rotation)
    votes = SlabVote(data, data.sc_coords, 5)(bad.x)[0].argmax(-1)
    assert torch.equal(votes, 1 - data.y)


@pytest.fixture(scope="module")
def lms_stacks():
    seeds = [0, 1]
    trains, tests = make_splits("LMS-5", 2000, 400, seeds, d=10)
    cfg = TrainConfig(lr=0.1, momentum=0.9, max_epochs=30)
    stacks = [train_stack(m, trains, tests, cfg, seeds=seeds, progress=False).model
              for m in ("(50,1)-FCN", "(100,2)-FCN")]
    return trains, tests, stacks


def test_attack_stack_transfer_and_records(lms_stacks):
    trains, tests, stacks = lms_stacks
    runs = [F.attack_stack(s, trains, tests, model_name=n, eps_pgd=1.1, eps_uap=1.1, n_attack=200,
                           pgd_steps=10, uap_epochs=2, uap_batch=50)
            for s, n in zip(stacks, ("a", "b"))]
    for run in runs:
        assert run.clean_acc.min() > 0.95
        for a in F.ATTACKS:
            assert run.acc[a].max() <= 0.05 and run.share[a].min() >= 0.9
        assert F.uap_in_z(run, tests, "AS-UAP").shape == (10,)
    mat = F.transfer_matrix(runs, stacks, tests, attack="AS-UAP", n_attack=200)
    assert mat.shape == (2, 2, 2) and mat.max() <= 0.05
    recs = F.transfer_records({("LMS-5", "AS-UAP"): mat}, {"LMS-5": ["a", "b"]}, strict=True,
                              scale="smoke", chapter="05_fragility")
    assert len(recs) == 1 and recs[0].values == [mat[0, 1, 0], mat[0, 1, 1], mat[1, 0, 0], mat[1, 0, 1]]
    assert len(F.attack_rows(runs)) == 6


def test_attack_records_known_deviation_does_not_raise_under_strict():
    run = F.AttackRun("MS-(5,7)", "m", 0.32, 0.44, np.ones(2),
                      acc={"PGD": np.zeros(2), "SVD-UAP": np.full(2, 0.06), "AS-UAP": np.zeros(2)},
                      share={a: np.ones(2) for a in F.ATTACKS}, uaps={})
    recs = F.attack_records([run], strict=True, scale="smoke", chapter="05_fragility")
    bad = [r for r in recs if not r.passed]
    assert len(bad) == 1 and "known_deviation" in bad[0].meta
    run.acc["PGD"] = np.full(2, 0.5)  # not a known deviation: strict raises
    with pytest.raises(claims.ClaimNotReproduced):
        F.attack_records([run], strict=True, scale="smoke", chapter="05_fragility")


def test_margin_and_confidence_records():
    ok = F.margin_records([0.5, 0.45], [0.0, 0.1], model="m", strict=True, scale="s", chapter="c")
    assert all(r.passed for r in ok)
    with pytest.raises(claims.ClaimNotReproduced):
        F.margin_records([0.2, 0.2], [0.0, 0.0], model="m", strict=True, scale="s", chapter="c")
    recs = F.confidence_records([0.99, 0.99], [0.98, 0.9], [1.0, 1.0], data="d", model="m",
                                strict=False, scale="s", chapter="c")
    assert [r.passed for r in recs] == [True, False]


def test_config_presets_and_validation_name_the_parameter():
    assert F.config("book").n_seeds >= 3 and F.config("paper").models_ms == F._ALL3
    for kw, name in ((dict(n_attack=10 ** 6), "n_attack"), (dict(n_seeds=1), "n_seeds"),
                     (dict(margin_dims=(10,)), "margin_dims"), (dict(lr=0.0), "lr"),
                     (dict(momentum=1.0), "momentum"), (dict(pgd_steps=0), "pgd_steps")):
        with pytest.raises(ValueError, match=name):
            F.config("smoke", **kw)
    with pytest.raises(ValueError, match="unknown"):
        F.config("smoke", n_image=3)
    with pytest.raises(ValueError):
        F.config("smoke", models=("(100,1)-MLP",))
