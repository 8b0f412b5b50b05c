"""Metrics against hand-computed values."""

import numpy as np
import pytest
import torch

from sbcore.data import make_lms
from sbcore.metrics import (
    accuracy,
    coordinate_randomized_accuracy,
    decision_grid,
    ks_distance,
    randomized_eval,
    roc_auc,
    s_share_of_map,
    score,
)


def _logits(scores):
    s = torch.as_tensor(scores, dtype=torch.float32)
    return torch.stack([torch.zeros_like(s), s], dim=-1)


def test_accuracy_and_auc_by_hand():
    lg = _logits([0.9, -0.2, 0.3, -0.8])  # predictions 1, 0, 1, 0
    y = torch.tensor([1, 1, 0, 0])
    assert accuracy(lg, y).tolist() == [0.5]
    # pairs (pos, neg): (0.9,0.3) ok, (0.9,-0.8) ok, (-0.2,0.3) wrong, (-0.2,-0.8) ok -> 3/4
    assert roc_auc(lg, y).tolist() == [0.75]
    assert torch.allclose(score(lg), torch.tensor([0.9, -0.2, 0.3, -0.8]))


def test_metrics_per_member():
    lg = torch.stack([_logits([1, -1]), _logits([-1, 1])])  # (2, 2, 2)
    y = torch.tensor([1, 0])
    assert accuracy(lg, y).tolist() == [1.0, 0.0]
    assert roc_auc(lg, y).tolist() == [1.0, 0.0]


def test_ks_distance_by_hand():
    assert ks_distance(np.array([1, 2, 3]), np.array([1, 2, 3])) == 0
    assert ks_distance(np.array([0, 0]), np.array([1, 1])) == 1
    assert ks_distance(np.array([1, 2, 3, 4]), np.array([3, 4, 5, 6])) == 0.5


class OnlyS(torch.nn.Module):
    """A stack of one 'model' that reads only the unrotated coordinate 0: score = z_0."""

    n_models = 1

    def __init__(self, rotation):
        super().__init__()
        self.rotation = rotation
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        z0 = (x @ self.rotation.T)[..., 0]
        out = torch.stack([torch.zeros_like(z0), z0], -1)
        return out if out.dim() == 3 else out.unsqueeze(0)


def test_randomized_metrics_of_a_model_that_uses_only_s():
    data = make_lms(20_000, seed=0)
    ev = randomized_eval(OnlyS(data.rotation), [data], seed=0)
    assert ev.acc[0] == 1 and ev.auc[0] == 1
    assert ev.sc_acc[0] == pytest.approx(1, abs=1e-4) and ev.sc_auc[0] == pytest.approx(1)
    assert ev.s_auc[0] == pytest.approx(0.5, abs=0.015)
    assert ev.s_acc[0] == pytest.approx(0.5, abs=0.015)
    cra = coordinate_randomized_accuracy(OnlyS(data.rotation), [data])
    assert cra.shape == (1, 50)
    assert cra[0, 0] == pytest.approx(0.5, abs=0.02) and np.all(cra[0, 1:] > 0.999)


def test_decision_grid_of_a_model_that_uses_only_s():
    data = make_lms(500, seed=0)
    grid = decision_grid(OnlyS(data.rotation), [data], (0, 1), n_grid=21, n_background=4)
    assert grid.shape == (1, 21, 21)
    # P(y=+1) = sigmoid(z0): increases along the S axis, constant along the Sc axis
    assert np.allclose(grid[0], grid[0][0:1, :], atol=1e-5)
    assert grid[0, 0, -1] == pytest.approx(1 / (1 + np.exp(-1)), abs=1e-4)
    assert s_share_of_map(grid[0]) == pytest.approx(1.0)
    assert s_share_of_map(grid[0].T) == pytest.approx(0.0, abs=1e-6)


def test_true_positive_scores_follow_the_original_true_positives():
    data = make_lms(4000, seed=1)
    ev = randomized_eval(OnlyS(data.rotation), [data], seed=0)
    n_tp = int((data.y == 1).sum())
    assert all(len(ev.tp_scores[k][0]) == n_tp for k in ev.tp_scores)
    # after S-randomization about half of the original positives score below zero
    assert (ev.tp_scores["S-randomized"][0] < 0).mean() == pytest.approx(0.5, abs=0.05)
    assert np.allclose(ev.tp_scores["Sc-randomized"][0], ev.tp_scores["standard"][0], atol=1e-5)


def test_decision_grid_per_member_matches_each_member_alone():
    from sbcore.models import ModelSpec

    datas = [make_lms(20, seed=s) for s in (0, 1)]
    stack = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[3, 4])
    # n_background = every point: the background average no longer depends on the draw
    grids = decision_grid(stack, datas, (0, 1), n_grid=5, n_background=20, seed=0)
    assert grids.shape == (2, 5, 5)
    for m in range(2):
        alone = decision_grid(stack.select(m), [datas[m]], (0, 1), n_grid=5, n_background=20)
        assert np.allclose(grids[m], alone[0], atol=1e-5)


def test_shuffle_ks_and_its_bar_by_hand():
    from sbcore.claims.checks.slabs import shuffle_bar
    from sbcore.metrics import RandomizedEval, shuffle_ks

    everything = np.array([-2.0, -1.0, 1.0, 2.0])
    ev = RandomizedEval(
        *(np.zeros(1),) * 6,
        tp_scores={"S-randomized": [np.array([-2.0, 2.0]), np.array([1.0, 2.0])]},
        all_scores=[everything, everything],
    )
    ks, n_tp, n = shuffle_ks(ev)
    # member 0's S-randomized positives spread over both classes: CDFs differ by at most 1/4;
    # member 1's stay positive: at t = -1 the CDFs are 0 and 1/2
    assert ks == [0.25, 0.5] and n_tp == [2, 2] and n == [4, 4]
    assert shuffle_bar([2500, 2400], [5000, 5000]) == pytest.approx(
        1.95 * np.sqrt(7400 / (2400 * 5000)) + 0.02
    )


def test_table1_eval_is_one_evaluation_for_stacks_callables_and_member_offsets():
    """Table 1 on the same predictor through each of its callers gives the same numbers: the
    synthetic stack path, the testbed's callables and a member offset (member m of a stack on a
    shared test set is measured with the seed of member m, whoever asks)."""
    from sbcore.metrics import table1_eval
    from sbcore.oracles import LinearOnS
    from sbcore.testbed.evaluation import randomized_aucs

    data = make_lms(3000, seed=2)
    oracle = LinearOnS(data)
    three = randomized_eval(oracle, [data, data, data], seed=5)
    assert three.acc.tolist() == [1.0, 1.0, 1.0] and np.allclose(three.sc_auc, 1.0)
    assert len(set(three.s_acc.tolist())) == 3  # three independent permutations
    via_callables = randomized_aucs([oracle] * 3, [data] * 3, seed=5)
    for k in ("acc", "auc", "s_auc", "sc_auc"):
        assert np.array_equal(via_callables[k], getattr(three, k)), k
    third = table1_eval(lambda v, _: oracle(v[0].x), [data], data.y, seed=5, first_member=2)
    assert third.s_acc[0] == three.s_acc[2] and third.s_auc[0] == three.s_auc[2]
    assert 0.45 < third.s_auc[0] < 0.55
