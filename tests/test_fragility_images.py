"""sbcore.fragility_images and plots_fragility.plot_uap_images on a tiny hand-built model."""

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from sbcore import fragility_images as FI  # noqa: E402
from sbcore.data.dominoes import ImageDominoes  # noqa: E402
from sbcore.figures.fragility import plot_uap_images  # noqa: E402


class TopOnly(nn.Module):
    """Logits (0, <w, x_top - 0.5>): reads rows 0:32 (S) of a (B, 1, 64, 32) domino only."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = ((x[:, :, :32] - 0.5) * self.w).flatten(1).sum(1)
        return torch.stack([torch.zeros_like(s), s], 1)


def _data(n: int = 64, seed: int = 0) -> tuple[ImageDominoes, TopOnly]:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(1, 32, 32, generator=g) / 32
    x = 0.3 + 0.4 * torch.rand(n, 1, 64, 32, generator=g)   # inside [0, 1], away from the edges
    model = TopOnly(w)
    y = (model(x)[:, 1] > 0).long()
    return ImageDominoes(x, y, "toy dominoes", ("a", "b"), ("c", "d")), model


def test_mean_block_distance():
    x = torch.zeros(4, 1, 64, 32)
    x[2:, :, :32] = 0.5                   # class 1: top block 0.5 everywhere (1024 pixels)
    x[2:, :, 32:] = 1.0                   # the bottom block does not count
    data = ImageDominoes(x, torch.tensor([0, 0, 1, 1]), "t", ("a", "b"), ("c", "d"))
    assert FI.mean_block_distance(data) == pytest.approx(0.5 * 32)
    with pytest.raises(ValueError):
        FI.mean_block_distance(data.subset(slice(0, 2)))   # one class only


def test_attacks_on_a_top_only_model_spend_everything_on_S():
    data, model = _data()
    assert 0.2 < data.y.float().mean() < 0.8
    run = FI.attack_image_models([model, model], data, data, model_name="top-only", n_attack=64,
                                 pgd_steps=10, uap_epochs=2, uap_batch=16, seed=0)
    assert run.eps_pgd == pytest.approx(run.eps_uap / 2)
    assert run.clean_acc == pytest.approx([1.0, 1.0])
    for a in ("PGD", "AS-UAP"):
        assert run.share[a] == pytest.approx(1.0, abs=1e-6), a
        assert run.raw_share[a] == pytest.approx(1.0, abs=1e-6), a
    # svd_uap runs PGD with a random start, whose noise on Sc the steps only shrink.
    assert run.share["SVD-UAP"].min() >= 0.99 and run.raw_share["SVD-UAP"].min() >= 0.99
    assert run.acc["PGD"].max() <= 0.05
    for a in ("SVD-UAP", "AS-UAP"):
        u = run.uaps[a][0]
        assert u.shape == (1, 64, 32)
        assert u[:, 32:].square().sum() <= 0.01 * u.square().sum()
        assert u.norm() <= run.eps_uap * (1 + 1e-5)
        assert run.class_acc[a].shape == (2, 2)
    recs = FI.image_attack_records(run, strict=True, scale="smoke", chapter="05_fragility")
    assert len(recs) == 2 * len(FI.ATTACKS)
    assert all(r.data == "toy dominoes" and r.claim == 20 for r in recs)
    assert all(r.passed for r in recs if "share" in r.quantity)
    rows = FI.image_attack_rows(run)
    assert [r["attack"] for r in rows] == list(FI.ATTACKS)


@pytest.mark.parametrize("kw", [dict(n_attack=0), dict(n_attack=65), dict(pgd_steps=0),
                                dict(uap_batch=1.5), dict(models=[])])
def test_bad_arguments_raise(kw):
    data, model = _data()
    args = dict(models=[model], n_attack=8, pgd_steps=2, uap_epochs=1, uap_batch=4)
    args.update(kw)
    with pytest.raises(ValueError):
        FI.attack_image_models(args.pop("models"), data, data, model_name="m", **args)


def test_model_choice_and_plot():
    assert FI.image_model_for("paper") == "densenet121"
    assert FI.image_model_for("book") == FI.image_model_for("smoke") == "small_cnn"
    fig = plot_uap_images({"a": np.random.default_rng(0).normal(size=(1, 64, 32)),
                           "zeros": np.zeros((64, 32))})
    assert len(fig.axes) == 3   # two panels and the colour bar
