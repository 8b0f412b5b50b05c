"""Chapter 04's library pieces: dropout and initialization schemes of the stacked FCN, Table 8's
noise coordinates, App. C.7's data and weight mixing, per-member grids, the printed tables and
the chapter's presets (the paper scale starts training)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import sbcore
from sbcore.chapters import ch04_sb_survives as ch
from sbcore.claims.checks import CHECKS
from sbcore.claims.checks.survives import (
    KEY_FIELDS,
    parse_printed,
    printed_cell,
    printed_cells,
)
from sbcore.data.synthetic import make_lms, make_ms_k, with_linear_at
from sbcore.experiments import stacks
from sbcore.experiments.stacks import make_splits
from sbcore.experiments.survives import fcn_grid, mix_members
from sbcore.metrics import ks_distance
from sbcore.models.stacked import StackedFCN
from sbcore.train import TrainConfig

# ------------------------------------------------------------------ dropout


def _unit_probe(p, n_models=1):
    """An FCN whose logit 0 is hidden unit 0 after dropout: 1 when kept (before scaling)."""
    m = StackedFCN(3, width=4, depth=1, n_models=n_models, dropout=p)
    with torch.no_grad():
        m.net[0].weight.zero_()
        m.net[0].bias.fill_(1.0)
        m.net[2].weight.zero_()
        m.net[2].weight[:, 0, 0] = 1.0
        m.net[2].bias.zero_()
    return m


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_dropout_matches_nn_dropout_statistics(p):
    torch.manual_seed(0)
    n = 40_000
    ours = _unit_probe(p).train()(torch.zeros(n, 3))[0, :, 0]
    ref = torch.nn.Dropout(p).train()(torch.ones(n))
    tol = 5 * math.sqrt(p * (1 - p) / n)
    for v in (ours, ref):
        assert abs((v == 0).double().mean().item() - p) < tol  # share dropped
        assert torch.allclose(v[v != 0], torch.full_like(v[v != 0], 1 / (1 - p)))  # survivors
    assert abs(ours.mean().item() - ref.mean().item()) < 2 * tol / (1 - p)  # mean kept


def test_dropout_is_per_member_and_off_in_eval_mode():
    torch.manual_seed(1)
    m = _unit_probe((0.0, 0.3, 0.3), n_models=3)
    out = m.train()(torch.zeros(20_000, 3))[..., 0]
    dropped = (out == 0).double().mean(1)
    assert dropped[0] == 0 and abs(dropped[1] - 0.3) < 0.02 and abs(dropped[2] - 0.3) < 0.02
    assert not torch.equal(out[1] == 0, out[2] == 0)  # each member its own mask
    assert torch.all(m.eval()(torch.zeros(100, 3))[..., 0] == 1)
    assert m.select(1).dropout == (0.3,)
    with pytest.raises(ValueError, match="dropout"):
        StackedFCN(3, width=4, depth=1, dropout=1.0)
    with pytest.raises(ValueError, match="one per member"):
        StackedFCN(3, width=4, depth=1, n_models=2, dropout=(0.1,))


# ------------------------------------------------------------------ initialization


def test_init_schemes_follow_the_formulas_per_member_from_its_seed():
    m = StackedFCN(
        400,
        width=300,
        depth=2,
        n_models=2,
        seeds=[5, 6],
        init=("kaiming", "xavier"),
        init_scale=(0.5, 2.0),
    )
    linears = [m.net[0], m.net[2], m.net[4]]
    for lin in linears:
        fan_in, fan_out = lin.weight.shape[1:]
        k = 0.5 * math.sqrt(2 / fan_in)
        x = 2.0 * math.sqrt(2 / (fan_in + fan_out))
        n = fan_in * fan_out
        assert abs(lin.weight[0].std().item() / k - 1) < 6 / math.sqrt(2 * n) + 0.01
        assert abs(lin.weight[1].std().item() / x - 1) < 6 / math.sqrt(2 * n) + 0.01
        assert abs(lin.weight[0].mean().item()) < 6 * k / math.sqrt(n)
        assert torch.all(lin.bias == 0)
    alone = StackedFCN(
        400, width=300, depth=2, n_models=1, seeds=[6], init="xavier", init_scale=2.0
    )
    assert all(torch.equal(a[0], b[1]) for a, b in zip(alone.parameters(), m.parameters()))


def test_default_init_is_unchanged_and_scale_multiplies_weights_only():
    a = StackedFCN(10, width=8, depth=1, n_models=2, seeds=[1, 2])
    b = StackedFCN(10, width=8, depth=1, n_models=2, seeds=[1, 2], init="default", init_scale=1.0)
    c = StackedFCN(10, width=8, depth=1, n_models=2, seeds=[1, 2], init_scale=(1.0, 3.0))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert torch.allclose(c.net[0].weight[1], 3 * a.net[0].weight[1])
    assert torch.equal(c.net[0].bias, a.net[0].bias)
    with pytest.raises(ValueError, match="init"):
        StackedFCN(10, width=8, depth=1, init="orthogonal")


# ------------------------------------------------------------------ data


def test_table8_noise_coordinates_carry_no_label_information():
    data = make_lms(20_000, k=7, d=10, n_slabs=3, seed=3)
    assert data.s_coords == (0,) and data.sc_coords == (1, 2, 3)
    noise = data.z[:, 4:]
    assert noise.min() >= 0 and noise.max() <= 1
    pos, neg = noise[data.y == 1], noise[data.y == 0]
    bar = 1.95 * math.sqrt(1 / len(pos) + 1 / len(neg))  # KS test at the 0.1% level
    for j in range(noise.shape[1]):
        assert ks_distance(pos[:, j].numpy(), neg[:, j].numpy()) < bar
    # the slab and linear coordinates, by contrast, separate the classes completely
    assert ks_distance(data.z[data.y == 1, 0].numpy(), data.z[data.y == 0, 0].numpy()) == 1.0
    assert torch.allclose(data.x, data.z @ data.rotation)


def test_n_slabs_default_and_validation():
    a, b = make_lms(500, k=7, d=6, seed=1), make_lms(500, k=7, d=6, seed=1, n_slabs=5)
    assert torch.equal(a.z, b.z) and a.name == b.name == "LMS-7" and a.sc_coords == (1, 2, 3, 4, 5)
    with pytest.raises(ValueError, match="n_slabs"):
        make_lms(100, k=7, d=5, n_slabs=5)
    assert make_lms(100, k=7, d=2, n_slabs=1).sc_coords == (1,)


def test_with_linear_at_puts_the_linear_block_in_place_of_one_coordinate():
    ms = make_ms_k(4000, k=7, d=10, seed=2)
    lms = with_linear_at(ms, 4, seed=2)
    sign = 2 * lms.y.float() - 1
    assert torch.all(lms.z[:, 4] * sign >= 0.1 - 1e-6) and torch.all(lms.z[:, 4].abs() <= 1)
    keep = [j for j in range(10) if j != 4]
    assert torch.equal(lms.z[:, keep], ms.z[:, keep]) and torch.equal(lms.rotation, ms.rotation)
    assert lms.s_coords == (4,) and lms.sc_coords == tuple(keep) and lms.name == "LMS-7"
    assert torch.allclose(lms.x, lms.z @ lms.rotation)


# ------------------------------------------------------------------ stacks


def test_mix_members_is_the_convex_combination_per_alpha_and_seed():
    a = StackedFCN(5, width=3, depth=1, n_models=2, seeds=[1, 2])
    b = StackedFCN(5, width=3, depth=1, n_models=2, seeds=[3, 4])
    mixed = mix_members(a, b, [0.0, 0.25, 1.0])
    assert mixed.n_models == 6
    for pm, pa, pb in zip(mixed.parameters(), a.parameters(), b.parameters()):
        assert torch.allclose(pm[0:2], pb) and torch.allclose(pm[4:6], pa)
        assert torch.allclose(pm[2:4], 0.25 * pa + 0.75 * pb)


def test_fcn_grid_trains_cells_times_seeds_and_splits_them_back():
    trains, tests = make_splits("LMS-7", 400, 200, [1, 2], d=6)
    cells, stack = fcn_grid(
        "(8,1)-FCN",
        [{"dropout": 0.0}, {"dropout": 0.1}, {"dropout": 0.2}],
        trains,
        tests,
        TrainConfig(max_epochs=2),
        seeds=[1, 2],
        labels=[{"p": p} for p in (0.0, 0.1, 0.2)],
        progress=False,
    )
    assert stack.n_models == 6 and stack.dropout == (0.0, 0.0, 0.1, 0.1, 0.2, 0.2)
    assert [c.labels["p"] for c in cells] == [0.0, 0.1, 0.2]
    assert all(c.auc.shape == (2,) and c.s_auc.shape == (2,) for c in cells)


# ------------------------------------------------------------------ the printed tables


def test_printed_tables_and_bars():
    assert len(printed_cells("t6")) == 24 and len(printed_cells("t7")) == 12
    assert len(printed_cells("t8")) == 6 and len(printed_cells("t9")) == 8
    assert printed_cell("t6", {"data": "LMS-7", "opt": "adam", "act": "tanh"}) == "0.502±0.004"
    assert printed_cell("t7", {"model": "(100,1)-FCN", "dropout": 0.0, "l2": 1e-4}) == "0.50±0.01"
    assert printed_cell("t7", {"model": "(100,2)-FCN", "dropout": 0.05, "l2": 1e-3}) == "0.50±0.00"
    assert parse_printed("0.50±0.00") == (0.5, 0.005) and parse_printed("0.499±0.001") == (
        0.499,
        0.001,
    )
    # sigma_0 by hand: n = 5000 balanced -> sqrt(5001 / (12 * 2500^2)) = 0.008165
    bar = CHECKS["survives.t6.s_auc"].tol
    assert bar.se((2500, 2500)) == pytest.approx(0.008165, abs=1e-6)
    target, pm = parse_printed("0.499±0.001")
    tol = bar((2500, 2500), 3, printed=pm)
    assert target == 0.499 and tol == pytest.approx(0.001 + 3 * 0.008165 / math.sqrt(3), abs=1e-5)
    for t, fields in KEY_FIELDS.items():
        assert all(len(k) == len(fields) for k in printed_cells(t))
    assert all(k in CHECKS for k in ("survives.t6.s_auc", "survives.f5.alpha1_s_drop"))


# ------------------------------------------------------------------ the chapter's presets


def test_presets_resolve_and_the_paper_scale_runs_the_full_grid():
    paper = ch.PRESETS["paper"]
    assert paper.n_seeds == 5 and len(paper.t6_activations) * len(paper.t6_optimizers) == 12
    assert len(ch.optimizer_configs(paper)) == 5  # SGD + Adam and RMSProp at two rates
    assert len(paper.t7_models) * len(paper.t7_dropouts) * len(paper.t7_l2s) == 18
    assert paper.t8_cells == ch.T8_CELLS and len(paper.t9_inits) * len(paper.t9_scales) == 8
    for scale in ("smoke", "book"):
        ch.PRESETS[scale]  # constructed, hence validated
    with pytest.raises(ValueError, match="t7_dropouts"):
        dataclasses.replace(paper, t7_dropouts=(1.5,))
    with pytest.raises(ValueError, match="f5_alphas"):
        dataclasses.replace(paper, f5_alphas=(0.2, 1.0))


class _Started(Exception):
    pass


def test_the_paper_scale_starts_training(monkeypatch):
    def first_fit(*args, **kwargs):
        raise _Started

    monkeypatch.setattr(stacks, "fit", first_fit)
    run = sbcore.start("04_sb_survives", scale="paper", seed=1, progress=False)
    assert run.scale == "paper" and len(run.seeds) == 5
    with pytest.raises(_Started):
        ch.table6(run)


def test_before_violation_rows_give_the_worst_seed_per_alpha_by_hand():
    from sbcore.experiments.survives import before_violation_rows

    f = {
        "alphas": np.array([0.0, 0.5]),
        "before": {
            "auc": np.array([[0.9, 0.8], [1.0, 1.0]]),
            "s_auc": np.array([[0.5, 0.7], [0.99, 0.97]]),
            "sc_auc": np.array([[0.6, 0.4], [0.5, 0.52]]),
        },
    }
    rows = before_violation_rows(f)
    assert [r["α"] for r in rows] == ["0", "0.5"]
    assert (
        rows[0]["largest |AUC − S-rand AUC|"] == "0.400"
        and rows[1]["largest |AUC − S-rand AUC|"] == "0.030"
    )
    assert (
        rows[0]["largest |Sc-rand AUC − 0.5|"] == "0.100"
        and rows[1]["largest |Sc-rand AUC − 0.5|"] == "0.020"
    )
