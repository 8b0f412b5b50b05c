"""Theorem 1's simulation (sbcore.experiments.theory), Fig. 1's stylized data
(sbcore.data.stylized) and the chapter 00 module, against hand-computed values and autograd."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from sbcore import metrics
from sbcore.chapters import ch00_theory as ch
from sbcore.data import stylized
from sbcore.experiments import theory

ROOT = Path(__file__).resolve().parents[1]


# ---- the theorem's quantities, by hand ----------------------------------------------------------
def test_output_weights_are_balanced_and_fixed_size():
    v = theory.output_weights(6)
    assert v.tolist() == pytest.approx([1 / math.sqrt(6)] * 3 + [-1 / math.sqrt(6)] * 3)
    assert int((v > 0).sum()) == int((v < 0).sum()) == 3
    for bad in (5, 0, 2.0):
        with pytest.raises(ValueError, match="k"):
            theory.output_weights(bad)


def test_schedule_by_hand():
    # d = 50: log d = 3.912, eta = 0.5 / 1.978 = 0.2528, t = floor(15.82 * 0.4944) = 7
    assert theory.init_std(100, 4, 4) == pytest.approx(1 / math.sqrt(400 * math.log(100) ** 4))
    assert theory.init_std(100, 4, 2) == pytest.approx(1 / (20 * math.log(100)))
    assert theory.step_size(50) == pytest.approx(0.25280, abs=1e-5)
    assert theory.n_steps(50, theory.step_size(50)) == 7
    assert theory.batch_size(50) == math.ceil(50 * math.log(50)) == 196


def test_reference_rates_by_hand():
    d = math.exp(4.0)  # log d = 4
    r = theory.reference_rates(d, k=4)
    assert float(r["w1"]) == pytest.approx(2 / 2 * (1 - 1 / 2))
    assert float(r["w2"]) == pytest.approx(1 / math.sqrt(d * 16))
    assert float(r["noise"]) == pytest.approx(1 / 4)
    assert float(r["init"]) == pytest.approx(1 / math.sqrt(d * 4 * 256))


def test_loglog_slope_recovers_a_power_law():
    dims = [50, 100, 400, 1600]
    values = np.stack([3.0 * np.array(dims) ** 0.7, 0.5 * np.array(dims) ** -0.5], axis=1)
    assert metrics.loglog_slope(dims, values) == pytest.approx([0.7, -0.5])


def test_init_variance_matches_the_statement():
    w = theory.init_weights(400, 50, seeds=(0, 1), log_powers=(4, 2))  # (S, P, k, d)
    assert w.shape == (2, 2, 50, 400)
    for i, p in enumerate((4, 2)):
        assert w[:, i].std().item() == pytest.approx(theory.init_std(400, 50, p), rel=0.02)
    # both settings scale one draw: the ratio is log d exactly
    assert (w[:, 1] / w[:, 0]).flatten()[:5].tolist() == pytest.approx(
        [math.log(400)] * 5, rel=1e-5
    )


def test_lsn_batch_follows_the_definition():
    x, y = theory.lsn_batch(20_000, 10, torch.Generator().manual_seed(0))
    assert torch.equal(x[:, 0], y)
    assert set(x[y < 0, 1].tolist()) == {0.0} and set(x[y > 0, 1].tolist()) == {-1.0, 1.0}
    assert x[:, 2:].mean().item() == pytest.approx(0, abs=0.01)
    assert x[:, 2:].var().item() == pytest.approx(1, abs=0.02)
    assert y.mean().item() == pytest.approx(0, abs=0.02)


def test_hinge_gradient_matches_autograd():
    g = torch.Generator().manual_seed(3)
    S, P, k, d, n = 2, 2, 4, 7, 33
    w = torch.randn(S, P, k, d, generator=g, dtype=torch.float64)
    x = torch.randn(S, n, d, generator=g, dtype=torch.float64)
    y = 2 * torch.randint(0, 2, (S, n), generator=g).double() - 1
    v = theory.output_weights(k, dtype=torch.float64)
    loss, grad, active = theory.hinge_grad(w, v, x, y)
    wa = w.clone().requires_grad_(True)
    f = theory.forward(wa, v, x)  # (S, n, P)
    ref = torch.relu(1 - y[:, :, None] * f).mean(1)  # (S, P)
    (ref_grad,) = torch.autograd.grad(ref.sum(), wa)
    assert torch.allclose(loss, ref, atol=1e-12)
    assert torch.allclose(grad, ref_grad, atol=1e-12)
    assert torch.equal(active, (y[:, :, None] * f < 1).double().mean(1))


def test_tiny_case_linear_weight_grows_slab_weight_stays_small():
    run = theory.simulate((64,), k=8, seeds=(0,), n_test=500)
    t, lr = run.steps[0], run.lrs[0]
    w1 = run.w1_mean[0, 0, 0]
    assert w1 == pytest.approx(t * lr / (2 * math.sqrt(8)), rel=0.1)  # Lemma 1: t eta v / 2
    assert run.w2_mean[0, 0, 0] < w1 / 20
    assert run.w2_max[0, 0, 0] < 5.44 / math.sqrt(64 * 8 * math.log(64))
    assert run.acc[0, 0, 0] == 1.0 and run.x2_acc[0, 0, 0] == 1.0
    assert abs(run.x1_acc[0, 0, 0] - 0.5) < 0.08


def test_simulation_is_pure_in_d_and_seed():
    a = theory.simulate((20, 40), k=4, seeds=(3, 5), n_test=200)
    b = theory.simulate((40,), k=4, seeds=(5,), n_test=200)
    for key in ("w1_mean", "w2_max", "noise_mean", "x1_acc"):
        assert np.array_equal(a.arrays[key][1, 1], b.arrays[key][0, 0])
    with pytest.raises(ValueError, match="no gradient step"):
        theory.simulate((8,), k=4, seeds=(0,), c_stop=5.0)


# ---- Fig. 1's data --------------------------------------------------------------------------------
def test_stylized_data_supports_and_seed():
    a = stylized.make_stylized(3000, seed=4)
    assert torch.equal(a.x, stylized.make_stylized(3000, seed=4).x)
    assert torch.equal(a.x, a.z) and a.s_coords == (0,) and a.sc_coords == (1,)
    ypm = 2 * a.y - 1
    assert (a.z[:, 0] * ypm).min().item() >= 0.1 - 1e-6  # phi_1 alone separates, margin 0.1
    band = torch.bucketize(a.z[:, 1].contiguous(), torch.tensor([-0.69, -0.23, 0.23, 0.69]))
    assert torch.equal(ypm, torch.tensor([-1, 1, -1, 1, -1])[band])  # phi_2 alone separates


def test_piecewise_boundary_attains_the_max_margin():
    assert stylized.max_margin(0.1, 0.15) == pytest.approx(math.sqrt(0.0325))
    poly = stylized.piecewise_boundary(0.1, 0.15)
    assert poly.shape == (7, 2)  # 4 slanted pieces + 2 ends
    data = stylized.make_stylized(5000, seed=0)
    ypm = 2.0 * data.y - 1
    assert torch.equal(stylized.polyline_predict(data.z, poly), ypm)
    dist = stylized.distance_to_polyline(data.z, poly)
    assert dist.min().item() >= stylized.max_margin(0.1, 0.15) - 1e-6
    # the band corners nearest to the boundary lie exactly at the max margin
    corner = torch.tensor([[0.1, 0.46 - 0.08]])  # a positive band's lower-left corner
    assert stylized.distance_to_polyline(corner, poly).item() == pytest.approx(math.sqrt(0.0325))


def test_distances_and_crossings_by_hand():
    seg = torch.tensor([[1.0, -1.0], [1.0, 1.0]])
    pts = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    assert stylized.distance_to_polyline(pts, seg).tolist() == pytest.approx([1.0, 2.0])
    grid = torch.linspace(-1, 1, 201)
    score = (grid[None, :] - 0.3).expand(201, 201)  # boundary phi_1 = 0.3
    cross = stylized.zero_crossings(score, grid)
    assert cross[:, 0].tolist() == pytest.approx([0.3] * len(cross), abs=1e-6)
    ok = torch.tensor([True, False])
    m = stylized.signed_margin(torch.tensor([[0.0, 0.0], [0.5, 0.0]]), ok, cross)
    assert m == pytest.approx(-0.2, abs=1e-6)  # the misclassified point counts


# ---- the chapter module ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("k", 7),
        ("dims", (100, 50)),
        ("dims", (4, 50)),
        ("gamma_slab", 0.3),
        ("n_seeds", 0),
        ("model", "FCN"),
        ("momentum", 1.0),
    ],
)
def test_config_rejects_bad_values(field, value):
    import dataclasses

    with pytest.raises(ValueError, match=field if field != "model" else "model"):
        dataclasses.replace(ch.PRESETS["smoke"], **{field: value})


def test_check_values_cover_the_declared_checks():
    tree = ast.parse((ROOT / "sbcore/claims/checks/theory.py").read_text())
    declared = {
        c.args[0].value
        for c in ast.walk(tree)
        if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "Check"
    }
    cfg = ch.PRESETS["smoke"]
    import dataclasses

    tiny = dataclasses.replace(
        cfg, n_train=200, n_test=200, max_epochs=30, dims=(20, 40), k=4, n_lsn_test=200
    )
    res = ch.fig1_experiment(tiny, [0, 1], progress=False, n_grid=101)
    run = ch.theorem_experiment(tiny, [0, 1], progress=False)
    values = {**ch.fig1_check_values(res), **ch.theorem_check_values(run)}
    assert set(values) == declared
    assert all(np.asarray(v).shape == (2,) for v in values.values())
    assert len(ch.fig1_rows(res, [0, 1])) == 2 and len(ch.slope_rows(run)) == 3
