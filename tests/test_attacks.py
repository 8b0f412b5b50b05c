"""Attack properties on tiny fixed models (cleverhans style): eps = 0 is the identity, the norm and
box bounds hold, bad arguments raise, linear models match the closed form, gradients never leak
onto parameters and train/eval modes survive; the budget share on hand-computed cases."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sbcore.attacks import apply_uap, as_uap, pgd, svd_uap
from sbcore.metrics import budget_share, coords_mask


class Linear2(nn.Module):
    """f(x) = w.x + b as two logits [0, w.x + b] (class 1 is the paper's +1)."""

    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(float(b), dtype=w.dtype))

    def forward(self, x):
        score = x.flatten(1) @ self.w + self.b
        return torch.stack([torch.zeros_like(score), score], dim=1)


class ModeRecorder(nn.Module):
    """Identity that records the train flag it saw in forward."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


def mlp(in_features=12, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(in_features, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2)
    ).to(dtype)


def batch(n=16, shape=(3, 4), seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand((n, *shape), generator=g) - 1).to(dtype)
    y = torch.randint(0, 2, (n,), generator=g)
    return x, y


def linear_data(n=40, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    w = w + 0.5 * w.sign()  # no coordinate near 0, so sign(w) is well defined
    x = 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % 2
    return Linear2(w, b=0.1), x, y, w


def attack_all(model, x, y, eps, **kw):
    return {
        "pgd_l2": pgd(model, x, y, eps=eps, step_size=0.1, n_steps=3, norm="l2", seed=0, **kw),
        "pgd_linf": pgd(model, x, y, eps=eps, step_size=0.1, n_steps=3, norm="linf", seed=0, **kw),
        "svd_uap": svd_uap(model, x, y, eps=eps, step_size=0.1, n_steps=3, seed=0, **kw),
        "as_uap": as_uap(
            model, x, y, eps=eps, step_size=0.1, n_epochs=2, batch_size=5, seed=0, **kw
        ),
    }


# ---------------------------------------------------------------- basic properties


def test_eps_zero_returns_x():
    x, y = batch()
    model = mlp()
    for name, delta in attack_all(model, x, y, 0.0).items():
        assert not delta.any(), name
        if name.startswith("pgd"):
            assert delta.shape == x.shape and torch.equal(x + delta, x)
        else:
            assert delta.shape == x.shape[1:] and torch.equal(apply_uap(x, y, delta), x)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("clip", [None, (-1.0, 1.0), (-1.0, 1.5)])
def test_pgd_norm_bound_and_box_hold(norm, clip):
    for trial in range(8):
        x, y = batch(n=12, seed=trial)
        model = mlp(seed=trial)
        eps = [0.05, 0.3, 1.0, 3.0][trial % 4]
        step = [0.01, 0.5, 2.0, 10.0][trial % 4]  # oversized steps push against both bounds
        delta = pgd(
            model,
            x,
            y,
            eps=eps,
            step_size=step,
            n_steps=5,
            norm=norm,
            clip=clip,
            seed=trial,
            targeted=bool(trial % 2),
        )
        assert delta.shape == x.shape and delta.dtype == x.dtype
        size = delta.flatten(1).norm(dim=1) if norm == "l2" else delta.flatten(1).abs().amax(1)
        assert (size <= eps * (1 + 1e-6)).all()
        if clip is not None:
            assert ((x + delta) >= clip[0] - 1e-6).all() and ((x + delta) <= clip[1] + 1e-6).all()


@pytest.mark.parametrize("clip", [None, (-1.0, 1.0)])
def test_uap_norm_bound_and_box_hold(clip):
    for trial in range(4):
        x, y = batch(n=10, seed=trial)
        model, eps = mlp(seed=trial), [0.1, 0.7, 2.0, 5.0][trial]
        uaps = attack_all(model, x, y, eps, clip=clip)
        assert uaps["svd_uap"].norm().item() == pytest.approx(eps, rel=1e-5)
        assert uaps["as_uap"].norm() <= eps * (1 + 1e-6)
        for name in ("svd_uap", "as_uap"):
            x_adv = apply_uap(x, y, uaps[name], clip=clip)
            if clip is None:
                torch.testing.assert_close(x_adv - x, (2 * y - 1).view(-1, 1, 1) * uaps[name])
            else:
                assert x_adv.min() >= clip[0] and x_adv.max() <= clip[1]
                assert ((x_adv - x).flatten(1).norm(dim=1) <= eps * (1 + 1e-6)).all()


def test_svd_uap_linf_is_scaled_to_linf_budget():
    x, y = batch()
    delta = svd_uap(mlp(), x, y, eps=0.2, step_size=0.05, n_steps=3, norm="linf", seed=0)
    assert delta.abs().max().item() == pytest.approx(0.2, rel=1e-6)


def test_seeded_random_start_is_reproducible():
    x, y = batch()
    model = mlp()
    kw = dict(eps=0.5, step_size=0.01, n_steps=1, norm="l2")
    assert torch.equal(pgd(model, x, y, seed=3, **kw), pgd(model, x, y, seed=3, **kw))
    assert not torch.equal(pgd(model, x, y, seed=3, **kw), pgd(model, x, y, seed=4, **kw))
    torch.manual_seed(0)
    a = pgd(model, x, y, **kw)
    torch.manual_seed(0)
    assert torch.equal(a, pgd(model, x, y, **kw))  # seed=None follows torch's global seed


def test_pgd_works_under_no_grad_and_raises_the_loss():
    x, y = batch(n=32)
    model = mlp()
    with torch.no_grad():
        delta = pgd(model, x, y, eps=0.5, step_size=0.1, n_steps=10, random_start=False)
    model.eval()
    with torch.no_grad():
        assert F.cross_entropy(model(x + delta), y) > F.cross_entropy(model(x), y)


# ---------------------------------------------------------------- bad arguments


PGD_OK = dict(eps=0.1, step_size=0.1, n_steps=2)


@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(eps=-0.1), "eps"),
        (dict(eps=float("nan")), "eps"),
        (dict(n_steps=0), "n_steps"),
        (dict(n_steps=2.5), "n_steps"),
        (dict(step_size=0.0), "step_size"),
        (dict(step_size=-1.0), "step_size"),
        (dict(norm="l1"), "norm"),
        (dict(clip=(1.0, -1.0)), "clip"),
        (dict(clip=(0.0, 0.0)), "clip"),
        (dict(clip=(0.0,)), "clip"),
        (dict(clip=(0.0, 0.5)), "clip"),  # x is not inside [0, 0.5]
    ],
)
def test_pgd_bad_arguments_raise(kw, name):
    x, y = batch()
    with pytest.raises(ValueError, match=name):
        pgd(mlp(), x, y, **{**PGD_OK, **kw})


def test_batch_mismatch_and_non_binary_labels_raise():
    x, y = batch()
    model = mlp()
    with pytest.raises(ValueError, match="batch size"):
        pgd(model, x, y[:-1], **PGD_OK)
    with pytest.raises(ValueError, match="batch size"):
        as_uap(model, x, y[:-1], eps=0.1, step_size=0.1, n_epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        as_uap(model, x, y, eps=0.1, step_size=0.1, n_epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="n_epochs"):
        as_uap(model, x, y, eps=0.1, step_size=0.1, n_epochs=0, batch_size=4)
    with pytest.raises(ValueError, match="loss_clip"):
        as_uap(model, x, y, eps=0.1, step_size=0.1, n_epochs=1, batch_size=4, loss_clip=0.0)
    with pytest.raises(ValueError, match="binary"):
        svd_uap(model, x, y + 1, **PGD_OK)
    with pytest.raises(ValueError, match="delta must have shape"):
        apply_uap(x, y, torch.zeros(12))
    with pytest.raises(ValueError, match="clip"):
        apply_uap(x, y, torch.zeros(3, 4), clip=(0.0, 1.0))


# ---------------------------------------------------------------- closed forms on linear models


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_on_linear_model_matches_closed_form(norm):
    model, x, y, w = linear_data()
    eps = 0.5
    delta = pgd(model, x, y, eps=eps, step_size=eps / 2, n_steps=60, norm=norm, seed=0)
    direction = w / w.norm() if norm == "l2" else w.sign()
    expected = -eps * (2 * y - 1).double()[:, None] * direction
    torch.testing.assert_close(delta, expected, atol=1e-4, rtol=0)


def test_targeted_pgd_lowers_the_loss_towards_the_target():
    x, y = batch(n=32)
    model = mlp().eval()
    target = 1 - y
    delta = pgd(model, x, target, eps=1.0, step_size=0.1, n_steps=20, targeted=True, seed=0)
    with torch.no_grad():
        before = F.cross_entropy(model(x), target, reduction="none")
        after = F.cross_entropy(model(x + delta), target, reduction="none")
    assert after.mean() < before.mean() - 0.05
    assert (after <= before + 1e-6).float().mean() > 0.9


def test_svd_uap_on_linear_model_recovers_the_direction():
    model, x, y, w = linear_data()
    eps = 0.5
    delta = svd_uap(model, x, y, eps=eps, step_size=0.25, n_steps=60, seed=0)
    # our sign convention: class 1 receives +delta, which must lower its score w.x + b
    torch.testing.assert_close(delta, -eps * w / w.norm(), atol=1e-4, rtol=0)


def test_as_uap_on_linear_model_nullifies_accuracy_above_the_margin():
    g = torch.Generator().manual_seed(1)
    d, n = 10, 200
    w = torch.randn(d, generator=g, dtype=torch.float64)
    w_hat = w / w.norm()
    y = torch.arange(n) % 2
    noise = torch.randn(n, d, generator=g, dtype=torch.float64)
    noise = noise - (noise @ w_hat)[:, None] * w_hat  # orthogonal to w
    along = (2 * y - 1).double() * (0.1 + 0.2 * torch.rand(n, generator=g, dtype=torch.float64))
    x = along[:, None] * w_hat + noise  # margin along w is at most 0.3
    model = Linear2(w)
    assert (model(x).argmax(1) == y).all()
    delta = as_uap(model, x, y, eps=0.5, step_size=0.1, n_epochs=3, batch_size=32, seed=0)
    accuracy = (model(apply_uap(x, y, delta)).argmax(1) == y).double().mean()
    assert accuracy <= 0.01
    assert torch.dot(delta, -w_hat) / delta.norm() > 0.99


# ---------------------------------------------------------------- no leaks: grads and modes


def test_gradients_never_reach_parameters():
    x, y = batch()
    fresh, preset = mlp(), mlp(seed=1)
    for p in preset.parameters():
        p.grad = torch.full_like(p, 0.25)
    for model in (fresh, preset):
        attack_all(model, x, y, 0.5)
        attack_all(model, x, y, 0.5, clip=(-1.0, 1.0))
    assert all(p.grad is None for p in fresh.parameters())
    assert all(torch.equal(p.grad, torch.full_like(p, 0.25)) for p in preset.parameters())


@pytest.mark.parametrize("start", ["train", "eval", "mixed"])
def test_attacks_run_in_eval_mode_and_restore_modes(start):
    x, y = batch()
    recorder = ModeRecorder()
    model = nn.Sequential(recorder, mlp())
    model.train(start != "eval")
    if start == "mixed":
        model[1][3].eval()  # the dropout alone in eval mode
    before = [m.training for m in model.modules()]
    attack_all(model, x, y, 0.5)
    assert [m.training for m in model.modules()] == before
    assert recorder.seen and not any(recorder.seen)


# ---------------------------------------------------------------- budget share


def _share(delta, coords, **kw):
    """Share of one perturbation (d,) on ``coords`` through the batched API."""
    return budget_share(delta[None], coords_mask(delta.shape[-1], coords), **kw)[0]


def test_budget_share_hand_computed_cases():
    s = (0,)
    assert _share(torch.tensor([2.0, 0.0, 0.0]), s).item() == 1.0
    assert _share(torch.tensor([0.0, -1.0, 5.0]), s).item() == 0.0
    assert _share(torch.tensor([3.0, 4.0, 0.0]), s).item() == pytest.approx(9 / 25)
    assert _share(torch.zeros(3), s).item() == 0.0  # no budget spent: share 0 by definition
    per_example = budget_share(
        torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]), coords_mask(3, s)
    )
    torch.testing.assert_close(per_example, torch.tensor([9 / 25, 0.0, 0.5]))
    assert _share(torch.tensor([3.0, 4.0, 0.0]), ()).item() == 0.0


def test_budget_share_undoes_the_rotation_and_partitions_to_one():
    g = torch.Generator().manual_seed(0)
    d = 7
    rotation, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    delta_z = torch.zeros(d, dtype=torch.float64)
    delta_z[:2] = torch.tensor([3.0, 4.0])
    delta = delta_z @ rotation  # what an attack on x = z @ R returns
    assert _share(delta, (0,), basis=rotation).item() == pytest.approx(9 / 25, abs=1e-12)
    assert _share(delta, (0,)).item() != pytest.approx(9 / 25, abs=1e-3)  # basis matters
    deltas = torch.randn(5, d, generator=g, dtype=torch.float64)
    on_s = coords_mask(d, (0, 3))
    total = budget_share(deltas, on_s, basis=rotation) + budget_share(
        deltas, ~on_s, basis=rotation
    )
    torch.testing.assert_close(total, torch.ones(5, dtype=torch.float64))


def test_budget_share_on_domino_images_with_a_mask():
    mask = torch.zeros(3, 64, 32, dtype=torch.bool)
    mask[:, :32] = True  # the MNIST block is S
    top, bottom = torch.zeros(3, 64, 32), torch.zeros(3, 64, 32)
    top[:, :32], bottom[:, 32:] = 0.1, 0.2
    assert budget_share(top[None], mask).item() == 1.0
    assert budget_share(bottom[None], mask).item() == 0.0
    both = torch.stack([top, bottom, top + bottom])
    expected = torch.tensor([1.0, 0.0, 0.01 / (0.01 + 0.04)])
    torch.testing.assert_close(budget_share(both, mask), expected)
    assert math.isclose(
        budget_share((top + bottom)[None].flatten(1), mask.flatten()).item(), 0.2, rel_tol=1e-5
    )


def test_budget_share_bad_arguments_raise():
    with pytest.raises(ValueError, match="coords"):
        coords_mask(3, (5,))
    with pytest.raises(ValueError, match="on_s"):
        budget_share(torch.ones(2, 3), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="on_s"):
        budget_share(torch.ones(2, 3), torch.tensor([0, 1, 0]))  # indices, not a mask
    with pytest.raises(ValueError, match="basis"):
        budget_share(torch.ones(2, 3), torch.zeros(3, dtype=torch.bool), basis=torch.eye(4))
