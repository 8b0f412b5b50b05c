"""The image half of chapter 05: the attack suite (sbcore.experiments.fragility) on domino images with
clipping, the domino budget, the chapter's image records, and figures.fragility.plot_uap_images, on
a tiny hand-built model."""

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

import sbcore  # noqa: E402
from sbcore.chapters import ch05_fragility as ch  # noqa: E402
from sbcore.claims import ClaimNotReproduced  # noqa: E402
from sbcore.data.dominoes import ImageDominoes, block_mask  # noqa: E402
from sbcore.experiments.fragility import ATTACKS, attack_models, mean_block_distance  # noqa: E402
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
    x = 0.3 + 0.4 * torch.rand(n, 1, 64, 32, generator=g)  # inside [0, 1], away from the edges
    model = TopOnly(w)
    y = (model(x)[:, 1] > 0).long()
    return ImageDominoes(x, y, "toy dominoes", ("a", "b"), ("c", "d")), model


def _attack(models, data, **kw):
    d = mean_block_distance(data)
    args = dict(
        on_s=block_mask(data.x.shape[1:], "S"),
        eps_pgd=d / 2,
        eps_uap=d,
        pgd_steps=10,
        uap_epochs=2,
        uap_batch=16,
        clip=(0.0, 1.0),
        seed=0,
        data=data.source,
        model_name="top-only",
    )
    args.update(kw)
    sets = [(data.x, data.y)] * len(models)
    return attack_models(models, sets, sets, **args)


def test_mean_block_distance():
    x = torch.zeros(4, 1, 64, 32)
    x[2:, :, :32] = 0.5  # class 1: top block 0.5 everywhere (1024 pixels)
    x[2:, :, 32:] = 1.0  # the bottom block does not count
    data = ImageDominoes(x, torch.tensor([0, 0, 1, 1]), "t", ("a", "b"), ("c", "d"))
    assert mean_block_distance(data) == pytest.approx(0.5 * 32)
    with pytest.raises(ValueError):
        mean_block_distance(data.subset(slice(0, 2)))  # one class only


def test_attacks_on_a_top_only_model_spend_everything_on_S():
    data, model = _data()
    assert 0.2 < data.y.float().mean() < 0.8
    run = _attack([model, model], data)
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
    r = sbcore.start("05_fragility", scale="smoke", strict=True, progress=False)
    ch.check_image_attacks(r, run)
    recs = [x for x in r.records if not x.not_run]
    assert len(recs) == 1 + 2 * 2  # PGD accuracy; per UAP, accuracy and share
    assert all(x.data == "toy dominoes" and x.claim == 20 for x in r.records)
    assert all(x.passed for x in recs if "share" in x.quantity)
    assert [x.meta["model"] for x in r.records if x.not_run] == ["densenet121"]  # not attacked
    rows = ch.attack_rows([run], paper_share=ch.PAPER_SHARE["images"])
    assert [row["attack"] for row in rows] == list(ATTACKS)


def test_stand_in_deviations_apply_on_the_stand_in_only():
    data, model = _data()
    run = _attack([model], data)
    run.share["AS-UAP"] = np.array([0.5])
    for source, raises in (
        ("Fashion-MNIST dominoes:A (toy)", False),
        ("MNIST-CIFAR:A (toy)", True),
    ):
        run.data = source
        r = sbcore.start("05_fragility", scale="smoke", strict=True, progress=False)
        if raises:
            with pytest.raises(ClaimNotReproduced):
                ch.check_image_attacks(r, run)
        else:
            ch.check_image_attacks(r, run)
            assert "known" in [x for x in r.records if "AS-UAP's" in x.quantity][0].verdict


@pytest.mark.parametrize("kw", [dict(pgd_steps=0), dict(uap_batch=1.5), dict(models=[])])
def test_bad_arguments_raise(kw):
    data, model = _data()
    models = kw.pop("models", [model])
    with pytest.raises(ValueError):
        _attack(models, data, **kw)


def test_model_choice_and_plot():
    assert ch.PRESETS["paper"].image_model == ch.PAPER_IMAGE_MODEL == "densenet121"
    assert ch.PRESETS["book"].image_model == ch.PRESETS["smoke"].image_model == "small_cnn"
    fig = plot_uap_images(
        {"a": np.random.default_rng(0).normal(size=(1, 64, 32)), "zeros": np.zeros((64, 32))}
    )
    assert len(fig.axes) == 3  # two panels and the colour bar
