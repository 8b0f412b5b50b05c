"""Chapter 03 helpers (sbcore.images) on tiny hand-built dominoes: randomized metrics, training,
records, presets and their validation."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from sbcore import images
from sbcore.data.dominoes import ImageDominoes
from sbcore.figures.images import plot_dominoes


def _dominoes(n=400, seed=0, channels=1) -> ImageDominoes:
    """Top block: bright (class 1) or dark (class 0) square; bottom block: left or right bar,
    both fully predictive; plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.1 * torch.rand(n, channels, 64, 32, generator=g)
    x[:, :, 8:24, 8:24] += 0.8 * y.view(-1, 1, 1, 1)
    x[y == 0, :, 40:56, 2:10] += 0.8
    x[y == 1, :, 40:56, 22:30] += 0.8
    return ImageDominoes(x=x.clamp(0, 1), y=y, source="toy dominoes", top_classes=("dark", "bright"),
                         bottom_classes=("left", "right"))


class ReadsRows(nn.Module):
    """Score = mean brightness of the top square (rows 0:32) minus 0.4: uses S only."""

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


def test_model_reading_only_the_top_block_is_invariant_to_sc_and_at_chance_under_s():
    test = _dominoes(2000, seed=1)
    ev = images.randomized_image_eval([ReadsRows()], test, seed=0)
    assert ev.acc[0] == 1.0 and ev.auc[0] == 1.0
    assert ev.sc_acc[0] == ev.acc[0] and ev.sc_auc[0] == ev.auc[0]
    assert abs(ev.s_acc[0] - 0.5) < 0.05 and abs(ev.s_auc[0] - 0.5) < 0.05
    # true-positive scores: identical under Sc-randomization
    np.testing.assert_array_equal(ev.tp_scores["standard"][0], ev.tp_scores["Sc-randomized"][0])


def test_model_reading_only_the_bottom_block_is_the_mirror_image():
    test = _dominoes(2000, seed=2)
    ev = images.randomized_image_eval([ReadsBottom(), ReadsRows()], test, seed=0)
    assert ev.acc.shape == (2,)
    assert ev.s_acc[0] == ev.acc[0] == 1.0
    assert abs(ev.sc_acc[0] - 0.5) < 0.05


def test_records_pass_for_a_top_only_model_and_fail_for_a_bottom_only_one():
    test = _dominoes(2000, seed=3)
    good = images.ImageResult("A", "top-reader", test.source,
                              images.randomized_image_eval([ReadsRows()] * 2, test), np.ones(2))
    bad = images.ImageResult("B", "bottom-reader", test.source,
                             images.randomized_image_eval([ReadsBottom()] * 2, test), np.ones(2))
    common = dict(scale="smoke", chapter="03_extreme_sb_images", strict=False)
    recs = images.table_records([good, bad], **common)
    assert [r.claim for r in recs] == [11] * 4 + [12] * 4
    assert all(r.passed for r in recs[:4]) and not any(r.passed for r in recs[4:6])
    assert all(r.data == "toy dominoes" for r in recs)
    shift = images.shift_records([good], **common)
    assert [r.claim for r in shift] == [18, 18] and all(r.passed for r in shift)
    with pytest.raises(AssertionError):
        images.table_records([bad], **{**common, "strict": True})
    (ks,) = images.logit_records([good], **common)
    assert ks.claim == 7 and ks.passed and ks.values == [0.0, 0.0]


def test_logit_record_is_enforced_on_mnist_cifar_and_an_expected_deviation_on_the_stand_in():
    test = _dominoes(1000, seed=8)
    ev = images.randomized_image_eval([ReadsBottom()], test)
    common = dict(scale="smoke", chapter="03_extreme_sb_images", strict=True)
    (rec,) = images.logit_records([images.ImageResult("A", "m", "Fashion-MNIST dominoes:A", ev,
                                                      np.ones(1))], **common)
    assert not rec.passed and "known" in rec.verdict
    with pytest.raises(AssertionError):
        images.logit_records([images.ImageResult("A", "m", "MNIST-CIFAR:A (...)", ev, np.ones(1))],
                             **common)


def test_block_record_threshold_and_claim():
    rec = images.block_record([0.9, 0.88], source="toy", model="small_cnn", scale="smoke",
                              chapter="03_extreme_sb_images", strict=False)
    assert rec.claim == 11 and rec.passed and "Sc block only" in rec.data
    assert not images.block_record([0.7], source="toy", model="m", scale="smoke", chapter="c",
                                   strict=False).passed


def test_training_a_small_cnn_learns_the_toy_dominoes_and_is_seeded():
    train, test = _dominoes(256, seed=4), _dominoes(256, seed=5)
    cfg = dataclasses.replace(images.config("smoke"), max_epochs=3, batch_size=32)
    tc = cfg.train_config()
    m1, h1 = images.train_image_model("small_cnn", train.x, train.y, tc, seed=7, progress=False)
    m2, _ = images.train_image_model("small_cnn", train.x, train.y, tc, seed=7, progress=False)
    assert h1.loss[-1][0] < h1.loss[0][0]
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q)
    res = images.run_seeds("small_cnn", "A", train, test, cfg, [0, 1], progress=False)
    # AUC, not accuracy: after a few dozen updates BN running statistics still lag (eval mode)
    assert res.eval.auc.shape == (2,) and res.eval.auc.min() > 0.9 and res.source == "toy dominoes"
    assert images.table_rows([res])[0]["pair"] == "A"
    acc = images.block_only_accuracy(train, test, dataclasses.replace(cfg, block_max_epochs=2),
                                     [0], progress=False)
    assert acc.shape == (1,) and 0 <= acc[0] <= 1


def test_probes_see_both_blocks():
    train, test = _dominoes(300, seed=6), _dominoes(300, seed=7)
    p = images.probe_accuracies(train, test)
    assert set(p) == {"S", "Sc"} and p["S"] > 0.95 and p["Sc"] > 0.95


def test_paper_preset_uses_the_papers_recipe_models_and_pairs():
    cfg = images.config("paper")
    tc = cfg.train_config()
    assert (tc.optimizer, tc.lr, tc.momentum, tc.weight_decay) == ("sgd", 0.05, 0.9, 5e-5)
    assert (tc.schedule, tc.step_every, tc.step_gamma) == ("step", 30, 0.2)
    assert (tc.max_epochs, tc.stop_loss) == (500, 0.01)
    assert cfg.pairs == ("A", "B", "C") and cfg.n_seeds == 5 and cfg.width == 1.0
    assert set(cfg.models) == set(cfg.pair_models) == {"mobilenetv2", "googlenet", "resnet50", "densenet121"}
    assert cfg.block_model == "googlenet" and cfg.n_train is None and cfg.n_test is None
    assert len(cfg.runs()) == 12


def test_book_preset_has_the_small_cnn_a_reduced_zoo_model_and_three_seeds():
    cfg = images.config("book")
    assert "small_cnn" in cfg.models and len(cfg.models) >= 2 and cfg.n_seeds >= 3
    assert cfg.width < 1 and cfg.width_of("small_cnn") == 1.0
    assert all(p == "A" for p, _ in cfg.runs())


@pytest.mark.parametrize("override, name", [
    (dict(n_seeds=1), "n_seeds"), (dict(pairs=("D",)), "pairs"), (dict(models=("vgg",)), "models"),
    (dict(width=0.0), "width"), (dict(lr=-1.0), "lr"), (dict(momentum=1.0), "momentum"),
    (dict(source="cifar"), "source"), (dict(n_train=0), "n_train"), (dict(block_model="x"), "block_model"),
    (dict(max_epochs=0), "max_epochs")])
def test_config_validation_names_the_parameter(override, name):
    with pytest.raises(ValueError, match=name):
        images.config("book", **override)


def test_unknown_knob_is_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        images.config("smoke", n_epochs=3)


def test_domino_figure_names_the_source():
    fig = plot_dominoes(_dominoes(10), n_examples=4)
    assert fig._suptitle.get_text() == "toy dominoes"
    assert len(fig.axes) == 12
