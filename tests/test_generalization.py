"""Chapter 06 (sbcore.chapters.ch06_generalization): the App. D.1 grid, config validation,
selection and claim records."""

import math
from dataclasses import replace

import numpy as np
import pytest

import sbcore
from sbcore.chapters import ch06_generalization as ch
from sbcore.claims import ClaimNotReproduced
from sbcore.claims.checks import CHECKS
from sbcore.claims.checks.generalization import TABLE2, TABLE10
from sbcore.claims.run import apply_overrides
from sbcore.experiments import generalization as sgd
from sbcore.experiments.generalization import SGDGrid, best_run
from sbcore.experiments.stacks import make_splits3, train_stack
from sbcore.metrics import accuracy, eval_seed, logits_on, stack_data
from sbcore.train import TrainConfig, fit


def _run(**kw):
    return sbcore.start("06_generalization", scale="smoke", progress=False, **kw)


def test_paper_grid_has_180_combinations_all_distinct():
    grid = SGDGrid()
    combos = grid.combinations()
    assert len(grid) == 180 and len(combos) == 180
    assert len({tuple(c.values()) for c in combos}) == 180
    assert {c["lr"] for c in combos} == {0.001, 0.01, 0.05, 0.1, 0.3}
    assert ch.PRESETS["paper"].grid == grid


def test_book_and_smoke_grids_are_subsets_of_the_paper_grid():
    full = {tuple(c.values()) for c in SGDGrid().combinations()}
    for scale in ("smoke", "book"):
        sub = ch.PRESETS[scale].grid.combinations()
        assert sub and {tuple(c.values()) for c in sub} <= full
    assert ch.PRESETS["book"].grid.describe() == (
        "learning rate 0.001 or 0.01 or 0.05 or 0.1 or 0.3, batch 256, weight decay 0, "
        "momentum 0 or 0.9"
    )
    assert len(ch.PRESETS["book"].grid) == 10 and len(ch.PRESETS["smoke"].grid) == 1


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(n_train=0), "n_train"),
        (dict(n_seeds=1), "n_seeds"),
        (dict(noise=1.5), "noise"),
        (dict(n_test=10), "n_test"),
        (dict(n_val=0), "n_val"),
        (dict(strong_weight_decay=5e-4), "strong_weight_decay"),
        (dict(models=("(100)-MLP",)), "model"),
        (dict(max_updates=0), "max_updates"),
        (dict(ms7_lr=0.0), "lr"),
        (dict(max_epochs=0), "max_epochs"),
    ],
)
def test_config_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        apply_overrides(ch.PRESETS["smoke"], bad, ch.KNOBS)


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(lr=()), "grid.lr"),
        (dict(momentum=(1.0,)), "grid.momentum"),
        (dict(batch_size=(0,)), "grid.batch_size"),
        (dict(weight_decay=(-1.0,)), "grid.weight_decay"),
    ],
)
def test_grid_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        SGDGrid(**bad)


def test_unknown_knob_and_scale_raise():
    with pytest.raises(ValueError, match="n_trian"):
        _run(n_trian=4000)
    with pytest.raises(ValueError, match="scale"):
        sbcore.start("06_generalization", scale="huge")


def test_flat_knobs_map_onto_the_recipes():
    cfg = apply_overrides(
        ch.PRESETS["book"], {"max_epochs": 3, "ms7_lr": 0.2, "curve_max_epochs": 4}, ch.KNOBS
    )
    assert (cfg.train.max_epochs, cfg.ms7_train.lr, cfg.curve_train.max_epochs) == (3, 0.2, 4)
    assert cfg.ms7_train.weight_decay == 5e-4 and cfg.ms7_train.momentum == 0.9  # App. D.1


def test_grid_train_carries_the_grid_point():
    cfg = ch.PRESETS["paper"]
    tc = cfg.grid_train({"lr": 0.3, "batch_size": 16, "weight_decay": 5e-4, "momentum": 0.9})
    assert (tc.lr, tc.batch_size, tc.weight_decay, tc.momentum) == (0.3, 16, 5e-4, 0.9)
    assert tc.max_updates == 10_000_000 and tc.schedule == "constant" and tc.stop_loss == 0.01


def test_three_way_split_shares_the_rotation_and_sizes():
    tr, va, te = make_splits3("noisy LMS-7", 100, 30, 50, [0, 1], noise=0.1)
    assert [t.n_samples for t in (tr[0], va[0], te[0])] == [100, 30, 50]
    assert tr[0].rotation is va[0].rotation is te[0].rotation
    assert not np.allclose(tr[0].rotation.numpy(), tr[1].rotation.numpy())


class _Run:
    def __init__(self, val):
        self.val_acc = np.array(val)


def test_best_run_selects_on_mean_validation_accuracy():
    runs = [_Run([0.9, 0.99]), _Run([0.94, 0.94]), _Run([0.97, 0.9])]  # means .945, .94, .935
    assert best_run(runs) is runs[0]


def test_paper_tables_cover_the_six_fcns():
    assert set(TABLE2) == set(ch.FCNS) == set(TABLE10) and len(ch.FCNS) == 6
    assert TABLE10["(300,2)-FCN"][0] == 1.0  # outside the stated grid, kept as printed


def test_s_acc_bar_by_hand():
    # 0.003 (Table 2's distance from chance) + 4 standard errors of a mean of 2 x 2,000 coin flips
    assert CHECKS["generalization.s_acc"].tol(2000, 2) == pytest.approx(
        0.003 + 4 * 0.5 / math.sqrt(4000)
    )


class _History:
    def __init__(self, evals):
        self.evals = evals


def test_wd_records_check_train_and_test_in_the_band_for_every_seed():
    run = _run(strict=False)
    evals = [
        {"train": [0.99, 0.99], "test": [0.95, 0.95], "n_updates": 10},
        {"train": [0.951, 0.949], "test": [0.948, 0.95], "n_updates": 20},
    ]
    overfit = _History([{"train": [0.995, 0.99], "test": [0.93, 0.94], "n_updates": 20}])
    ch.wd_records(run, _History(evals), 1e-2, overfit)
    ran = [r for r in run.records if not r.not_run]
    assert [r.claim for r in ran] == [24, 24, 24] and all(r.passed for r in ran)
    assert ran[0].check == "generalization.wd0_train" and ran[0].values == [0.995, 0.99]
    assert all(r.meta["model"] == run.cfg.curve_model for r in ran)
    # the other five FCNs of the claim, train and test each, are not run
    assert sum(r.not_run for r in run.records) == 10
    strict = _run(strict=True)
    with pytest.raises(ClaimNotReproduced, match="#24"):  # one seed still fits the noise
        ch.wd_records(
            strict,
            _History([{"train": [0.99, 0.95], "test": [0.95, 0.95], "n_updates": 5}]),
            1e-2,
            overfit,
        )
    # the contrast: without weight decay a network that trained too little does not overfit;
    # below the paper scale that is a declared deviation (too few updates), still not reproduced
    short = _run(strict=True)
    ch.wd_records(short, _History(evals), 1e-2, _History(evals))
    contrast = short.records[0]
    assert contrast.check == "generalization.wd0_train" and not contrast.passed
    assert contrast.meta["known_deviation"]


def test_a_tiny_grid_run_trains_evaluates_and_records_the_missing_grid():
    run = _run(
        strict=False, n_train=300, n_val=100, n_test=200, max_epochs=2, models=("(16,1)-FCN",)
    )
    cfg = run.cfg
    tr, va, te = make_splits3("noisy LMS-7", 300, 100, 200, run.seeds)
    runs = ch.run_grid("(16,1)-FCN", tr, va, te, cfg, seeds=run.seeds, progress=False)
    assert len(runs) == len(cfg.grid) and runs[0].val_acc.shape == (2,)
    best = [best_run(runs)]
    assert ch.table2_rows(best)[0]["test (paper)"] == "—"
    ch.table2_records(run, best)
    checked = {r.check for r in run.records if not r.not_run}
    assert checked == {
        "generalization.test_acc",
        "generalization.train_acc",
        "generalization.s_acc",
        "generalization.sc_gap",
    }
    grid = [r for r in run.records if r.check == "generalization.grid"]
    # one record per architecture: the trained one ran 1 of 180 points, the six FCNs were not trained
    assert len(grid) == 7 and all(r.not_run for r in grid)
    assert "runs 1 of the 180 grid points" in grid[0].meta["not_run"]


def test_full_grid_is_a_fact_not_a_reproduction():
    run = _run(strict=True, grid=SGDGrid(), models=("(100,1)-FCN",))
    ch.table2_records(run, [])
    rec = [r for r in run.records if r.meta.get("model") == "(100,1)-FCN"][0]
    assert rec.values == [180.0] and rec.fact and rec.verdict == "fact of the construction"


@pytest.mark.parametrize("scale, n_points", [("smoke", 1), ("book", 10), ("paper", 180)])
def test_grid_records_state_how_many_paper_points_each_scale_runs(scale, n_points):
    run = sbcore.start("06_generalization", scale=scale, progress=False, strict=False)
    ch.table2_records(run, [])
    grid = [
        r
        for r in run.records
        if r.check == "generalization.grid" and r.meta["model"] in run.cfg.models
    ]
    assert grid and len(grid) == len(run.cfg.models)
    if n_points == 180:
        assert all(r.values == [180.0] and not r.not_run for r in grid)
    else:
        assert all(f"runs {n_points} of the 180 grid points" in r.meta["not_run"] for r in grid)


def test_grid_points_outside_the_paper_grid_are_not_counted():
    grid = SGDGrid(lr=(0.1, 1.0), batch_size=(256,), weight_decay=(0.0,), momentum=(0.0,))
    assert grid.n_in(SGDGrid()) == 1 and SGDGrid().n_in(SGDGrid()) == 180


def test_ms7_records_mark_untrained_architectures_not_run():
    run = _run(strict=False)
    ch.ms7_records(run, [])
    assert len(run.records) == 6 and all(r.not_run for r in run.records)


def test_stacked_grid_matches_one_run_per_grid_point(monkeypatch):
    # Full-batch steps (batch >= n_train) make the members' batch orders irrelevant, so one stack
    # per batch size must give each grid point what its own run gives, to float tolerance; a high
    # stopping loss makes some members stop early, at different epochs.
    seeds = [0, 1]
    tr, va, te = make_splits3("noisy LMS-7", 300, 100, 200, seeds, noise=0.1)
    grid = sgd.SGDGrid(
        lr=(0.05, 1.0), batch_size=(300, 512), weight_decay=(0.0, 5e-4), momentum=(0.0, 0.9)
    )
    base = TrainConfig(max_epochs=12, stop_loss=0.5)
    stacks = []  # the members of every stack the grid trains

    def counted_fit(model, *args, **kwargs):
        stacks.append(model.n_models)
        return fit(model, *args, **kwargs)

    monkeypatch.setattr(sgd, "fit", counted_fit)
    runs = sgd.run_grid("(16,1)-FCN", tr, va, te, grid, base, seeds=seeds, progress=False)
    assert [r.hp for r in runs] == grid.combinations()
    assert stacks == [8 * 2, 8 * 2]  # one stack per batch size: 8 grid points x 2 seeds each
    stopped = set()
    for run, hp in zip(runs, grid.combinations()):
        ref = train_stack(
            "(16,1)-FCN",
            tr,
            te,
            replace(base, **hp),
            seeds=seeds,
            progress=False,
            eval_seed=eval_seed(0, "(16,1)-FCN", *run.hp.values()),
        )
        got = run.result
        for p, q in zip(got.model.parameters(), ref.model.parameters()):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(
            run.val_acc, accuracy(logits_on(ref.model, va), stack_data(va)[1]), atol=1e-9
        )
        np.testing.assert_allclose(got.train_acc, ref.train_acc, atol=1e-9)
        for k, v in ref.eval.summary().items():
            np.testing.assert_allclose(got.eval.summary()[k], v, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(got.history.loss, ref.history.loss, atol=1e-5)
        assert got.history.stopped_epoch == ref.history.stopped_epoch
        assert got.history.n_updates == ref.history.n_updates
        assert got.history.config["batch_size"] == hp["batch_size"]
        stopped.add(tuple(got.history.stopped_epoch))
    assert len(stopped) > 1  # early and late stoppers, and members that never stopped
