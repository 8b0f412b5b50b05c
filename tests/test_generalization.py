"""sbcore.generalization: the App. D.1 grid, config validation, selection and claim records."""

import numpy as np
import pytest

from sbcore import generalization as gen


def test_paper_grid_has_180_combinations_all_distinct():
    grid = gen.SGDGrid()
    combos = grid.combinations()
    assert len(grid) == 180 and len(combos) == 180
    assert len({tuple(c.values()) for c in combos}) == 180
    assert {c["lr"] for c in combos} == {0.001, 0.01, 0.05, 0.1, 0.3}
    assert gen.config("paper").grid == grid


def test_book_and_smoke_grids_are_subsets_of_the_paper_grid():
    full = {tuple(c.values()) for c in gen.SGDGrid().combinations()}
    for scale in ("smoke", "book"):
        sub = gen.config(scale).grid.combinations()
        assert sub and {tuple(c.values()) for c in sub} <= full


@pytest.mark.parametrize("bad, name", [
    (dict(n_train=0), "n_train"), (dict(n_seeds=1), "n_seeds"), (dict(noise=1.5), "noise"),
    (dict(strong_weight_decay=5e-4), "strong_weight_decay"), (dict(models=("(100)-MLP",)), "model"),
    (dict(max_updates=0), "max_updates"), (dict(ms7_lr=0.0), "ms7_lr"),
])
def test_config_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        gen.config("smoke", **bad)


@pytest.mark.parametrize("bad, name", [(dict(lr=()), "grid.lr"), (dict(momentum=(1.0,)), "grid.momentum"),
                                       (dict(batch_size=(0,)), "grid.batch_size"),
                                       (dict(weight_decay=(-1.0,)), "grid.weight_decay")])
def test_grid_rejects_bad_values_naming_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        gen.SGDGrid(**bad)


def test_unknown_knob_and_scale_raise():
    with pytest.raises(ValueError, match="unknown"):
        gen.config("smoke", width=3)
    with pytest.raises(ValueError, match="scale"):
        gen.config("huge")


def test_train_config_carries_the_grid_point():
    cfg = gen.config("paper")
    tc = cfg.train_config({"lr": 0.3, "batch_size": 16, "weight_decay": 5e-4, "momentum": 0.9})
    assert (tc.lr, tc.batch_size, tc.weight_decay, tc.momentum) == (0.3, 16, 5e-4, 0.9)
    assert tc.max_updates == 10_000_000 and tc.schedule == "constant" and tc.stop_loss == 0.01


def test_three_way_split_shares_the_rotation_and_sizes():
    tr, va, te = gen.make_splits3("noisy LMS-7", 100, 30, 50, [0, 1], noise=0.1)
    assert [t.n_samples for t in (tr[0], va[0], te[0])] == [100, 30, 50]
    assert tr[0].rotation is va[0].rotation is te[0].rotation
    assert not np.allclose(tr[0].rotation.numpy(), tr[1].rotation.numpy())


class _Run:
    def __init__(self, val):
        self.val_acc = np.array(val)


def test_best_run_selects_on_mean_validation_accuracy():
    runs = [_Run([0.9, 0.99]), _Run([0.94, 0.94]), _Run([0.97, 0.9])]  # means .945, .94, .935
    assert gen.best_run(runs) is runs[0]


def test_paper_tables_cover_the_six_fcns():
    assert set(gen.PAPER_TABLE2) == set(gen.FCNS) == set(gen.PAPER_TABLE10)
    assert gen.PAPER_TABLE10["(300,2)-FCN"][0] == 1.0  # outside the stated grid, kept as printed


def test_wd_records_check_train_and_test_in_the_band():
    evals = [{"train": [0.99, 0.99], "test": [0.95, 0.95]}, {"train": [0.951, 0.949], "test": [0.948, 0.95]}]
    recs = gen.wd_records(evals, 1e-2, scale="smoke", chapter="06_generalization", strict=False)
    assert [r.claim for r in recs] == [24, 24] and all(r.passed for r in recs)
    bad = gen.wd_records([{"train": [0.99], "test": [0.95]}], 1e-2, scale="smoke",
                         chapter="06_generalization", strict=False)
    assert not bad[0].passed and bad[1].passed


def test_a_tiny_grid_run_trains_and_evaluates():
    cfg = gen.config("smoke", n_train=300, n_val=100, n_test=200, max_epochs=2, models=("(16,1)-FCN",))
    tr, va, te = gen.make_splits3("noisy LMS-7", 300, 100, 200, [0, 1])
    runs = gen.run_grid("(16,1)-FCN", tr, va, te, cfg, seeds=[0, 1], progress=False)
    assert len(runs) == len(cfg.grid) and runs[0].val_acc.shape == (2,)
    rows = gen.table2_rows([gen.best_run(runs)])
    assert rows[0]["test (paper)"] == "—"
