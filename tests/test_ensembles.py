"""sbcore.ensembles: logit averaging, config validation, stacked ensembles and their records."""

import numpy as np
import pytest
import torch

from sbcore import ensembles as ens


def test_ensemble_logits_is_the_mean_of_the_first_k_members_by_hand():
    lg = torch.tensor([[[1.0, 0.0], [0.0, 2.0]],
                       [[3.0, 0.0], [0.0, -2.0]],
                       [[-1.0, 6.0], [9.0, 0.0]]])  # (M=3, n=2, C=2)
    assert torch.allclose(ens.ensemble_logits(lg, 1), lg[0])
    assert torch.allclose(ens.ensemble_logits(lg, 2), torch.tensor([[2.0, 0.0], [0.0, 0.0]]))
    assert torch.allclose(ens.ensemble_logits(lg, [0, 2]), torch.tensor([[0.0, 3.0], [4.5, 1.0]]))
    # leading group dimension: (G, M, n, C) -> (G, n, C)
    assert ens.ensemble_logits(torch.stack([lg, lg]), 3).shape == (2, 2, 2)


def test_averaging_logits_differs_from_majority_vote():
    # two weakly wrong members and one confidently right member: the logit mean is right
    lg = torch.tensor([[[0.1, 0.0]], [[0.1, 0.0]], [[0.0, 5.0]]])
    assert ens.ensemble_logits(lg, 3).argmax(-1).item() == 1


@pytest.mark.parametrize("members", [0, 4, [5], []])
def test_ensemble_logits_rejects_bad_members(members):
    with pytest.raises(ValueError, match="members"):
        ens.ensemble_logits(torch.zeros(3, 2, 2), members)


@pytest.mark.parametrize("bad, name", [
    (dict(n_members=1), "n_members"), (dict(n_groups=1), "n_groups"), (dict(ms5_sizes=()), "ms5_sizes"),
    (dict(sizes=(1, 11)), "sizes"), (dict(noisy_noise=0.0), "noisy_noise"), (dict(lr=-1.0), "lr"),
    (dict(model="(100,2)-XYZ"), "model"), (dict(target_single=0.4), "target_single"),
])
def test_config_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        ens.config("book", **bad)


def test_presets_resolve():
    for scale in ("smoke", "book", "paper"):
        cfg = ens.config(scale)
        assert max(cfg.sizes) <= cfg.n_members


def _run(logits, y):
    return ens.EnsembleRun("x", 10, None, [], torch.as_tensor(logits, dtype=torch.float32),
                           torch.as_tensor(y), None)


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
    assert ens.pick_size([a, b], 0.75) is b


def test_train_ensembles_stack_groups_and_records():
    cfg = ens.config("smoke", n_members=3, n_groups=2, n_test=200, max_epochs=3, sizes=(1, 3))
    run = ens.train_ensembles("LMS-5", 300, cfg, seed=0, progress=False)
    assert run.logits.shape == (2, 3, 200, 2) and run.y.shape == (2, 200)
    assert run.model.n_models == 6
    # members of one group differ (own initialization), groups see different data
    assert not torch.allclose(run.logits[0, 0], run.logits[0, 1])
    assert not torch.equal(run.tests[0].x, run.tests[1].x)
    ev = ens.randomized_ensemble_eval(run, 3)
    assert set(ev) == {"acc", "auc", "s_acc", "s_auc", "sc_acc", "sc_auc"} and ev["acc"].shape == (2,)
    assert np.allclose(ev["acc"], run.ensemble_acc(3))
    rel = ens.coordinate_reliance(run)
    assert rel.shape == (3, 50)
    recs = ens.noisy_records(run, cfg.sizes, scale="smoke", chapter="07_ensembles", strict=False)
    assert {r.claim for r in recs} == {26}
