"""Per-member PGD on stacks, adversarial training through fit's hook, the AdvMS-(5,7) margins and
chapter 08's configuration."""

import dataclasses
import math
import tokenize

import numpy as np
import pytest
import torch

from sbcore.attacks import pgd, pgd_stacked
from sbcore.chapters import ch08_adversarial_training as ch
from sbcore.data.dominoes import ImageDominoes
from sbcore.data.synthetic import make_adv_ms
from sbcore.experiments.adversarial import (
    PGDConfig,
    adversarial_perturb,
    image_eval,
    robust_accuracy,
    sweep_members,
    train_eps_sweep,
)
from sbcore.margins import ADV_MS, sample_margin, slab_gap, support_margin
from sbcore.models.stacked import Member, StackedFCN
from sbcore.train import TrainConfig, fit

torch.set_num_threads(1)


def _stack(M=4, d=6, width=16, seed=0):
    return StackedFCN(d, width=width, depth=2, n_models=M, seeds=[seed + m for m in range(M)])


@pytest.mark.parametrize("norm,clip", [("l2", None), ("linf", None), ("linf", (-1.0, 1.0))])
def test_pgd_stacked_matches_single_model_pgd_member_by_member(norm, clip):
    torch.manual_seed(0)
    M, B, d = 4, 32, 6
    model = _stack(M, d)
    x = torch.rand(M, B, d) * 2 - 1
    y = torch.randint(0, 2, (M, B))
    eps = torch.tensor([0.0, 0.05, 0.3, 0.7])
    steps = torch.tensor([0.1, 0.02, 0.1, 0.25])
    delta = pgd_stacked(
        model, x, y, eps=eps, step_size=steps, n_steps=7, norm=norm, random_start=False, clip=clip
    )
    for m in range(M):
        ref = pgd(
            Member(model, m),
            x[m],
            y[m],
            eps=float(eps[m]),
            step_size=float(steps[m]),
            n_steps=7,
            norm=norm,
            random_start=False,
            clip=clip,
        )
        torch.testing.assert_close(delta[m], ref, atol=1e-5, rtol=1e-4)
    assert delta[0].abs().max() == 0  # eps = 0: inputs unchanged


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_stacked_random_start_keeps_each_members_budget(norm):
    model = _stack()
    x, y = torch.randn(4, 50, 6), torch.randint(0, 2, (4, 50))
    eps = torch.tensor([0.1, 0.2, 0.0, 1.0])
    delta = pgd_stacked(model, x, y, eps=eps, step_size=0.05, n_steps=3, norm=norm, seed=3)
    size = delta.norm(dim=2) if norm == "l2" else delta.abs().amax(dim=2)
    assert (size <= eps[:, None] + 1e-5).all()
    assert size[3].max() > 0.5 and size[2].max() == 0
    again = pgd_stacked(model, x, y, eps=eps, step_size=0.05, n_steps=3, norm=norm, seed=3)
    torch.testing.assert_close(delta, again)  # seeded


def test_pgd_stacked_leaves_parameter_grads_and_modes_alone():
    model = _stack()
    model.train()
    x, y = torch.randn(4, 8, 6), torch.randint(0, 2, (4, 8))
    pgd_stacked(model, x, y, eps=0.5, step_size=0.1, n_steps=2)
    assert all(p.grad is None for p in model.parameters()) and model.training


@pytest.mark.parametrize(
    "kw",
    [
        dict(eps=[0.1, 0.2]),
        dict(eps=-0.1),
        dict(step_size=0.0),
        dict(eps=[0.1, float("nan"), 0.1, 0.1]),
    ],
)
def test_pgd_stacked_rejects_bad_budgets(kw):
    args = {**dict(eps=0.1, step_size=0.1, n_steps=2), **kw}
    with pytest.raises(ValueError):
        pgd_stacked(_stack(), torch.randn(4, 8, 6), torch.randint(0, 2, (4, 8)), **args)
    with pytest.raises(ValueError):  # x must be (M, B, *shape)
        pgd_stacked(
            _stack(),
            torch.randn(8, 6),
            torch.randint(0, 2, (8,)),
            eps=0.1,
            step_size=0.1,
            n_steps=1,
        )


def test_pgd_config_steps_and_validation():
    torch.testing.assert_close(
        PGDConfig(n_steps=10, step_size=None).steps(torch.tensor([0.4])), torch.tensor([0.1])
    )
    assert PGDConfig(step_size=0.1).steps(torch.tensor([0.0, 1.0])).tolist() == pytest.approx(
        [0.1, 0.1]
    )
    for bad in (dict(n_steps=0), dict(step_size=-1.0), dict(norm="l1")):
        with pytest.raises(ValueError):
            PGDConfig(**bad)


def test_robust_accuracy_is_at_most_standard_and_equal_at_zero_budget():
    data = make_adv_ms(400, seed=0)
    model = _stack(M=2, d=20)
    x, y = data.x.expand(2, -1, -1), data.y.expand(2, -1)
    with torch.no_grad():
        clean = (model(x).argmax(-1) == y).double().mean(-1).numpy()
    attack = PGDConfig(n_steps=5, step_size=None, random_start=False)
    np.testing.assert_allclose(
        robust_accuracy(model, x, y, [0.0, 0.0], attack, batch_size=150), clean
    )
    assert (robust_accuracy(model, x, y, [0.3, 1.0], attack) <= clean + 1e-12).all()


def test_adversarial_training_goes_through_fit_and_lowers_the_adversarial_loss():
    data = make_adv_ms(512, n_simple=2, n_complex=2, seed=1)
    eps = torch.tensor([0.02, 0.05])
    model = StackedFCN(4, width=32, depth=2, n_models=2)
    hook = adversarial_perturb(eps, PGDConfig(n_steps=2, step_size=None), seed=0)
    hist = fit(
        model,
        data.x,
        data.y,
        TrainConfig(lr=0.1, momentum=0.9, max_epochs=25, stop_loss=None, batch_size=64),
        perturb=hook,
        progress=False,
    )
    first, last = np.array(hist.loss[0]), np.array(hist.loss[-1])
    assert (last < first - 0.05).all()


def test_adversarial_perturb_handles_an_ordinary_model():
    net = torch.nn.Sequential(torch.nn.Linear(5, 2))
    hook = adversarial_perturb(0.2, PGDConfig(n_steps=3, norm="linf"), clip=(0.0, 1.0))
    x = torch.rand(16, 5)
    out = hook(net, x, torch.randint(0, 2, (16,)))
    assert out.shape == x.shape and (out - x).abs().max() <= 0.2 + 1e-6
    assert out.min() >= 0 and out.max() <= 1


def test_sweep_members_are_eps_major():
    budgets, which = sweep_members([0.1, 0.3], 3)
    assert budgets.tolist() == pytest.approx([0.1, 0.1, 0.1, 0.3, 0.3, 0.3])
    assert which == [0, 1, 2, 0, 1, 2]


def test_train_eps_sweep_shapes_and_bounds():
    splits = [make_adv_ms(300, seed=s).split(200) for s in (0, 1)]
    r = train_eps_sweep(
        [a for a, _ in splits],
        [b for _, b in splits],
        [0.05, 0.5],
        width=8,
        depth=2,
        cfg=TrainConfig(max_epochs=1, stop_loss=None),
        attack=PGDConfig(n_steps=1, step_size=None),
        eval_attack=PGDConfig(n_steps=2, step_size=None),
        seeds=[0, 1],
        progress=False,
    )
    for a in (r.acc, r.robust, r.s_acc, r.sc_acc, r.train_acc):
        assert a.shape == (2, 2) and ((a >= 0) & (a <= 1)).all()
    assert (r.robust <= r.acc + 1e-12).all() and r.label == "(8,2)-FCN"
    assert r.where(hi=0.1).tolist() == [True, False]


def test_slab_gaps_and_support_margins_of_adv_ms():
    assert slab_gap(5, gamma=0.05) == pytest.approx(0.1)
    assert slab_gap(7, gamma=0.15) == pytest.approx(0.3)
    assert support_margin(ADV_MS[:10]) == pytest.approx(0.5 * math.sqrt(10 * 0.01))
    assert support_margin(ADV_MS) == pytest.approx(0.5)


def test_sample_margin_is_half_the_closest_opposite_pair_and_above_the_support_margin():
    data = make_adv_ms(300, seed=2)
    z, y = data.z.double(), data.y
    brute = min(
        (z[i] - z[j]).norm().item() for i in range(300) for j in range(300) if y[i] != y[j]
    )
    assert sample_margin(data, chunk=7) == pytest.approx(brute / 2)
    # rotation does not change distances; S alone gives a smaller margin
    xs = torch.cdist(data.x[y == 1].double(), data.x[y == 0].double()).min().item() / 2
    assert sample_margin(data) == pytest.approx(xs, rel=1e-5)
    assert support_margin(ADV_MS[:10]) <= sample_margin(data, data.s_coords) <= sample_margin(data)


def test_image_eval_columns():
    x = torch.rand(20, 1, 64, 32)
    y = torch.arange(20) % 2
    test = ImageDominoes(x=x, y=y, source="toy", top_classes=("a", "b"), bottom_classes=("c", "d"))
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 32, 2))
    out = image_eval(net, test, eps=0.3, attack=PGDConfig(n_steps=2, norm="linf"))
    assert set(out) == {"acc", "robust", "s_acc", "sc_acc"} and out["robust"] <= out["acc"]


def test_chapter_presets_validate_and_reject_bad_values():
    for cfg in ch.PRESETS.values():
        assert ch.GAMMA_DATA in cfg.eps
    book = ch.PRESETS["book"]
    for bad in (
        dict(widths=()),
        dict(eps=(0.1, -0.2)),
        dict(image_models=("vgg",)),
        dict(attack=PGDConfig(norm="linf")),
        dict(n_seeds=0),
        dict(image_seeds=3),
    ):
        with pytest.raises(ValueError):
            dataclasses.replace(book, **bad)
    assert set(ch.PAPER_BARS) == {200, 1000, 2000}
    assert ch.PRESETS["paper"].widths == (200, 1000, 2000)
    # The module's size guide, counted in statements (tokenize's logical lines) so that the
    # formatter's layout does not move it: 260 lines as unformatted, 148 statements
    with open(ch.__file__) as f:
        statements = sum(t.type == tokenize.NEWLINE for t in tokenize.generate_tokens(f.readline))
    assert statements <= 150, f"chapter module has {statements} statements"


def test_image_adversarial_training_goes_through_the_shared_trainer():
    from sbcore.experiments.images import train_image_model

    calls = []
    hook = adversarial_perturb(0.3, PGDConfig(n_steps=1, norm="linf"), clip=(0.0, 1.0))

    def counting(model, x, y):
        calls.append(x.shape[0])
        x_adv = hook(model, x, y)
        assert (x_adv - x).abs().max() <= 0.3 + 1e-6 and 0 <= x_adv.min() and x_adv.max() <= 1
        return x_adv

    x, y = torch.rand(16, 1, 64, 32), torch.arange(16) % 2
    model, hist = train_image_model(
        "small_cnn",
        x,
        y,
        TrainConfig(max_epochs=1, batch_size=8),
        seed=0,
        progress=False,
        perturb=counting,
    )
    assert calls == [8, 8] and hist.n_epochs == 1 and not model.training


def test_margin_sizes_and_the_margin_against_n_table():
    from sbcore import margins

    assert margins.margin_sizes(6000) == [1000, 3000, 6000, 12_000, 24_000, 48_000]
    assert margins.margin_sizes(300) == [100, 150, 300, 600, 1200, 2400]
    rows = margins.margins_against_n([200, 400], seed=0)
    assert [r["margin"] for r in rows] == ["sample, n = 200", "sample, n = 400", "support (n → ∞)"]
    # a sample margin never falls below the support margin and does not grow with n
    for key in ("γ_S", "γ_data"):
        assert rows[0][key] >= rows[1][key] >= rows[2][key] - 1e-9
    assert rows[2]["γ_S"] == pytest.approx(0.158, abs=1e-3) and rows[2]["γ_data"] == pytest.approx(
        0.5
    )
