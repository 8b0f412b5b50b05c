"""Chapter 03 (sbcore.chapters.ch03_extreme_sb_images) and the shared image pieces of
sbcore.experiments.images on tiny hand-built dominoes: randomized metrics, training, records,
presets and their validation."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import sbcore
from sbcore.chapters import ch03_extreme_sb_images as ch
from sbcore.claims import ClaimNotReproduced
from sbcore.claims.checks.images import CHANCE
from sbcore.data.dominoes import ImageDominoes
from sbcore.experiments.images import MNIST_CIFAR_RECIPE, randomized_image_eval, train_image_model
from sbcore.figures.images import plot_dominoes


def _dominoes(n=400, seed=0, channels=1, source="toy dominoes") -> ImageDominoes:
    """Top block: bright (class 1) or dark (class 0) square; bottom block: left or right bar,
    both fully predictive; plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.1 * torch.rand(n, channels, 64, 32, generator=g)
    x[:, :, 8:24, 8:24] += 0.8 * y.view(-1, 1, 1, 1)
    x[y == 0, :, 40:56, 2:10] += 0.8
    x[y == 1, :, 40:56, 22:30] += 0.8
    return ImageDominoes(
        x=x.clamp(0, 1),
        y=y,
        source=source,
        top_classes=("dark", "bright"),
        bottom_classes=("left", "right"),
    )


class ReadsRows(nn.Module):
    """Score = mean brightness of the top square (rows 0:32) minus 0.45: uses S only."""

    def __init__(self, rows=slice(8, 24), cols=slice(8, 24)):
        super().__init__()
        self.rows, self.cols = rows, cols
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        s = x[:, :, self.rows, self.cols].mean((1, 2, 3)) - 0.45 + 0 * self.dummy
        return torch.stack([-s, s], dim=1)


class ReadsBottom(ReadsRows):
    """Score = right bar minus left bar of the bottom block: uses Sc only."""

    def forward(self, x):
        s = x[:, :, 40:56, 22:30].mean((1, 2, 3)) - x[:, :, 40:56, 2:10].mean((1, 2, 3))
        return torch.stack([-s, s], dim=1) + 0 * self.dummy


def _run(strict=False, **kw):
    return sbcore.start("03_extreme_sb_images", scale="smoke", strict=strict, progress=False, **kw)


def _result(model, pair, test, n=2):
    ev = randomized_image_eval([model] * n, test)
    return ch.ImageResult(
        pair, type(model).__name__, test.source, ev, np.ones(n), [], test.n_samples
    )


def test_model_reading_only_the_top_block_is_invariant_to_sc_and_at_chance_under_s():
    test = _dominoes(2000, seed=1)
    ev = randomized_image_eval([ReadsRows()], test, seed=0)
    assert ev.acc[0] == 1.0 and ev.auc[0] == 1.0
    assert ev.sc_acc[0] == ev.acc[0] and ev.sc_auc[0] == ev.auc[0]
    assert abs(ev.s_acc[0] - 0.5) < 0.05 and abs(ev.s_auc[0] - 0.5) < 0.05
    # true-positive scores: identical under Sc-randomization
    np.testing.assert_array_equal(ev.tp_scores["standard"][0], ev.tp_scores["Sc-randomized"][0])


def test_model_reading_only_the_bottom_block_is_the_mirror_image():
    test = _dominoes(2000, seed=2)
    ev = randomized_image_eval([ReadsBottom(), ReadsRows()], test, seed=0)
    assert ev.acc.shape == (2,)
    assert ev.s_acc[0] == ev.acc[0] == 1.0
    assert abs(ev.sc_acc[0] - 0.5) < 0.05


def test_each_model_gets_its_own_randomized_test_set():
    ev = randomized_image_eval([ReadsRows(), ReadsRows()], _dominoes(400, seed=9), seed=0)
    assert ev.s_acc[0] != ev.s_acc[1] or ev.s_auc[0] != ev.s_auc[1]


def test_records_pass_for_a_top_only_model_and_fail_for_a_bottom_only_one():
    test = _dominoes(2000, seed=3, source="MNIST-CIFAR:A (toy)")
    good, bad = _result(ReadsRows(), "A", test), _result(ReadsBottom(), "B", test)
    run = _run()
    ch.check_tables(run, [good, bad])
    recs = [r for r in run.records if not r.not_run]
    assert [r.claim for r in recs] == [11] * 4 + [12] * 2
    assert all(r.passed for r in recs[:4]) and not any(r.passed for r in recs[4:])
    assert all(r.data == test.source for r in recs)
    ch.check_shift(run, [good])
    assert [(r.claim, r.passed) for r in run.records[-2:]] == [(18, True), (18, True)]
    with pytest.raises(ClaimNotReproduced):
        ch.check_tables(_run(strict=True), [_result(ReadsBottom(), "A", test)])
    ch.check_logits(run, [good])
    ks, shuffle = run.records[-2:]
    assert ks.claim == 7 and ks.passed and ks.values == [0.0, 0.0]
    # reading the top block only, S-randomization spreads the true positives' scores over both
    # classes: their KS distance to all scores is within the bar; a bottom-only reader keeps them
    assert shuffle.check == "images.logits_shuffle" and shuffle.passed
    ch.check_logits(run, [_result(ReadsBottom(), "A", test)])
    assert not run.records[-1].passed and min(run.records[-1].values) > 0.3


def test_missing_cnns_and_pairs_are_recorded_as_not_run():
    run = _run()
    ch.check_tables(run, [_result(ReadsRows(), "A", _dominoes(400, seed=3))])
    missing = [r for r in run.records if r.not_run]
    assert {r.meta["model"] for r in missing if r.claim == 11} == set(ch.PAPER_MODELS)
    assert {r.meta["pair"] for r in missing if r.claim == 12} == {"B", "C"}
    assert not any(r.passed for r in missing)


def test_s_randomized_accuracy_bar_adds_the_sampling_error():
    assert CHANCE(400, 2) == pytest.approx(0.02 + 1.5 / np.sqrt(800))
    run = _run()
    res = _result(ReadsRows(), "A", _dominoes(400, seed=3))
    res.eval.s_acc[:] = 0.5 + CHANCE(400, 2) - 1e-3
    ch.check_tables(run, [res])
    assert run.records[0].passed and run.records[0].tol == pytest.approx(CHANCE(400, 2))


def test_stand_in_deviations_are_known_and_mnist_cifar_is_enforced():
    test = _dominoes(1000, seed=8, source="Fashion-MNIST dominoes:A (toy)")
    res = _result(ReadsBottom(), "A", test, n=1)
    run = _run(strict=True)
    ch.check_logits(run, [res])
    assert not run.records[-1].passed and "known" in run.records[-1].verdict
    with pytest.raises(ClaimNotReproduced):
        ch.check_logits(run, [dataclasses.replace(res, source="MNIST-CIFAR:A (...)")])


def test_block_record_threshold_claim_and_not_run_at_smoke():
    run = _run()
    ch.check_block(run, [0.9], source="toy", probe_sc=0.8)
    assert run.records[-1].not_run  # smoke: check_block is off
    run = _run(check_block=True)
    ch.check_block(run, [0.96, 0.95], source="MNIST-CIFAR:A", probe_sc=0.99)
    ch.check_block(run, [0.93], source="MNIST-CIFAR:B", probe_sc=0.5)
    ok, low = run.records
    assert ok.claim == 11 and ok.passed and "Sc block only" in ok.data and not low.passed
    assert ok.target == 0.944  # MNIST-CIFAR: the paper's 95.4% less a point, whatever the probe
    # the stand-in: its own level, the linear probe on the same bottom block
    ch.check_block(run, [0.90, 0.91], source="Fashion-MNIST dominoes:A", probe_sc=0.84)
    ch.check_block(run, [0.90, 0.83], source="Fashion-MNIST dominoes:A", probe_sc=0.84)
    fine, below = run.records[-2:]
    assert fine.passed and fine.target == 0.84 and not below.passed


def test_training_a_small_cnn_learns_the_toy_dominoes_and_is_seeded():
    train, test = _dominoes(256, seed=4), _dominoes(256, seed=5)
    cfg = dataclasses.replace(
        ch.PRESETS["smoke"],
        train=dataclasses.replace(ch.PRESETS["smoke"].train, max_epochs=3, batch_size=32),
        block_max_epochs=2,
    )
    m1, h1 = train_image_model("small_cnn", train.x, train.y, cfg.train, seed=7, progress=False)
    m2, _ = train_image_model("small_cnn", train.x, train.y, cfg.train, seed=7, progress=False)
    assert h1.loss[-1][0] < h1.loss[0][0]
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q)
    res = ch.run_seeds("small_cnn", "A", train, test, cfg, [0, 1], progress=False)
    # AUC, not accuracy: after a few dozen updates BN running statistics still lag (eval mode)
    assert res.eval.auc.shape == (2,) and res.eval.auc.min() > 0.9 and res.source == "toy dominoes"
    assert ch.table_rows([res])[0]["pair"] == "A" and res.n_test == 256
    acc = ch.block_only_accuracy(train, test, cfg, [0], progress=False)
    assert acc.shape == (1,) and 0 <= acc[0] <= 1


def test_probes_see_both_blocks():
    train, test = _dominoes(300, seed=6), _dominoes(300, seed=7)
    p = ch.probe_accuracies(train, test)
    assert set(p) == {"S", "Sc"} and p["S"] > 0.95 and p["Sc"] > 0.95


def test_paper_preset_uses_the_papers_recipe_models_and_pairs():
    cfg = sbcore.start("03_extreme_sb_images", scale="paper", progress=False).cfg
    tc = cfg.train
    assert tc == MNIST_CIFAR_RECIPE
    assert (tc.optimizer, tc.lr, tc.momentum, tc.weight_decay) == ("sgd", 0.05, 0.9, 5e-5)
    assert (tc.schedule, tc.step_every, tc.step_gamma) == ("step", 30, 0.2)
    assert (tc.max_epochs, tc.stop_loss) == (500, 0.01)
    assert cfg.pairs == ("A", "B", "C") and cfg.n_seeds == 5 and cfg.width == 1.0
    assert set(cfg.models) == set(cfg.pair_models) == set(ch.PAPER_MODELS)
    assert cfg.block_model == "googlenet" and cfg.n_train is None and cfg.n_test is None
    assert len(cfg.runs()) == 12


def test_book_preset_has_the_small_cnn_a_reduced_zoo_model_and_three_seeds():
    cfg = ch.PRESETS["book"]
    assert "small_cnn" in cfg.models and len(cfg.models) >= 2 and cfg.n_seeds >= 3
    assert cfg.width < 1 and cfg.width_of("small_cnn") == 1.0
    assert all(p == "A" for p, _ in cfg.runs())
    assert cfg.train.step_every * 10 == MNIST_CIFAR_RECIPE.step_every  # schedule compressed


def test_flat_knobs_map_onto_the_recipe():
    cfg = _run(lr=0.01, max_epochs=2, pairs=["A", "B"]).cfg
    assert (cfg.train.lr, cfg.train.max_epochs, cfg.pairs) == (0.01, 2, ("A", "B"))


@pytest.mark.parametrize(
    "override, name",
    [
        (dict(n_seeds=1), "n_seeds"),
        (dict(pairs=("D",)), "pairs"),
        (dict(models=("vgg",)), "models"),
        (dict(width=0.0), "width"),
        (dict(lr=-1.0), "lr"),
        (dict(momentum=1.0), "momentum"),
        (dict(source="cifar"), "source"),
        (dict(n_train=0), "n_train"),
        (dict(n_test=10), "n_test"),
        (dict(block_model="x"), "block_model"),
        (dict(max_epochs=0), "max_epochs"),
    ],
)
def test_config_validation_names_the_parameter(override, name):
    with pytest.raises(ValueError, match=name):
        sbcore.start("03_extreme_sb_images", scale="book", progress=False, **override)


def test_unknown_knob_is_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        _run(n_epochs=3)


def test_domino_figure_names_the_source():
    fig = plot_dominoes(_dominoes(10), n_examples=4)
    assert fig._suptitle.get_text() == "toy dominoes"
    assert len(fig.axes) == 12
