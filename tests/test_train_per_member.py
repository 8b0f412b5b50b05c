"""Per-member hyperparameters: a stack with one lr / momentum / weight decay per member trains
each member exactly as torch.optim trains it alone; shared values reproduce torch.optim bit for bit."""

import pytest
import torch

from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.models.stacked_optim import StackedOptimizer
from sbcore.train import Batches, TrainConfig, fit, grid_config

TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
SPEC = ModelSpec.parse("(16,2)-FCN")
N, BATCH, EPOCHS, SEEDS = 600, 64, 2, (3, 4, 5)


@pytest.fixture(scope="module")
def lms():
    return make_lms(N, seed=0)


def _torch_kwargs(kind, lr, momentum, weight_decay):
    kw = dict(lr=lr, weight_decay=weight_decay)
    return kw if kind == "adam" else {**kw, "momentum": momentum}


def _alone(lms, kind, m, lr, momentum, weight_decay):
    """Member m trained alone by torch.optim, on the batch order fit gives member m of 3."""
    model = SPEC.build(50, seeds=[SEEDS[m]])
    opt = TORCH[kind](model.parameters(), **_torch_kwargs(kind, lr, momentum, weight_decay))
    data = Batches(lms.x, lms.y, len(SEEDS), BATCH, seed=0)
    for _ in range(EPOCHS):
        data.shuffle()
        for b in range(len(data.bounds)):
            idx = data.index(b)[m]
            loss = torch.nn.functional.cross_entropy(model(lms.x[idx])[0], lms.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


CASES = [  # (optimizer, per-member field, its three values, the shared settings)
    ("sgd", "lr", (0.3, 0.1, 0.03), dict(momentum=0.9, weight_decay=5e-4)),
    ("sgd", "momentum", (0.0, 0.5, 0.9), dict(lr=0.1, weight_decay=5e-4)),
    ("sgd", "weight_decay", (0.0, 1e-3, 1e-2), dict(lr=0.1, momentum=0.9)),
    ("adam", "lr", (1e-2, 3e-3, 1e-3), dict(weight_decay=5e-4)),
    ("adam", "weight_decay", (0.0, 1e-3, 1e-2), dict(lr=3e-3)),
    ("rmsprop", "lr", (1e-2, 3e-3, 1e-3), dict(momentum=0.5, weight_decay=5e-4)),
    ("rmsprop", "momentum", (0.0, 0.5, 0.9), dict(lr=1e-3, weight_decay=5e-4)),
    ("rmsprop", "weight_decay", (0.0, 1e-3, 1e-2), dict(lr=1e-3)),
]


@pytest.mark.parametrize("kind,name,values,shared", CASES)
def test_each_member_trains_as_if_alone(lms, kind, name, values, shared):
    hp = {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0, **shared, name: values}
    stack = SPEC.build(50, seeds=list(SEEDS))
    cfg = TrainConfig(optimizer=kind, batch_size=BATCH, max_epochs=EPOCHS, stop_loss=None, **hp)
    fit(stack, lms.x, lms.y, cfg, seed=0, progress=False)
    for m in range(len(SEEDS)):
        alone = _alone(
            lms, kind, m, **{k: (v[m] if isinstance(v, tuple) else v) for k, v in hp.items()}
        )
        for p, q in zip(stack.parameters(), alone.parameters()):
            torch.testing.assert_close(p[m], q[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", TORCH)
def test_shared_values_reproduce_torch_optim_bitwise(lms, kind):
    kw = dict(lr=0.05 if kind == "sgd" else 1e-3, momentum=0.9, weight_decay=5e-4)
    stack = SPEC.build(50, seeds=list(SEEDS))
    fit(
        stack,
        lms.x,
        lms.y,
        TrainConfig(optimizer=kind, batch_size=BATCH, max_epochs=EPOCHS, stop_loss=None, **kw),
        seed=0,
        progress=False,
    )
    ref = SPEC.build(50, seeds=list(SEEDS))  # the loop fit had before: torch.optim on the stack
    opt = TORCH[kind](ref.parameters(), **_torch_kwargs(kind, **kw))
    data = Batches(lms.x, lms.y, len(SEEDS), BATCH, seed=0)
    for _ in range(EPOCHS):
        data.shuffle()
        for b in range(len(data.bounds)):
            xb, yb = data.gather(data.index(b))
            lg = ref(xb)
            loss = torch.nn.functional.cross_entropy(
                lg.reshape(-1, 2), yb.reshape(-1), reduction="none"
            )
            opt.zero_grad()
            loss.view(len(SEEDS), -1).mean(1).sum().backward()
            opt.step()
    for p, q in zip(stack.parameters(), ref.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kind", TORCH)
@pytest.mark.parametrize("tensors", [False, True])
def test_optimizer_arithmetic_per_member(kind, tensors):
    """The optimizer alone, on random parameters and gradients (tensors=True: the CUDA-graph path)."""
    g = torch.Generator().manual_seed(0)
    lr, mom, wd = (0.1, 0.01, 0.05), (0.0, 0.9, 0.5), (0.0, 1e-2, 1e-3)
    if kind == "adam":
        lr = (1e-2, 1e-3, 3e-3)
    start = torch.randn(3, 4, 5, generator=g)
    grads = [torch.randn(3, 4, 5, generator=g) for _ in range(6)]
    stacked = start.clone()
    opt = StackedOptimizer(
        [stacked], kind=kind, lr=lr, momentum=mom, weight_decay=wd, tensors=tensors
    )
    for gr in grads:
        opt.step([gr])
    for m in range(3):
        p = torch.nn.Parameter(start[m].clone())
        ref = TORCH[kind]([p], **_torch_kwargs(kind, lr[m], mom[m], wd[m]))
        for gr in grads:
            p.grad = gr[m].clone()
            ref.step()
        torch.testing.assert_close(stacked[m], p.detach(), atol=1e-6, rtol=1e-6)


def test_schedule_scales_every_member(lms):
    kw = dict(
        max_epochs=3, stop_loss=None, schedule="step", step_every=1, step_gamma=0.5, momentum=0.9
    )
    stack = SPEC.build(50, seeds=[0, 1])
    fit(stack, lms.x, lms.y, TrainConfig(lr=(0.2, 0.1), **kw), progress=False)
    twin = SPEC.build(50, seeds=[1, 1])  # same batch orders (same seed, same stack size)
    fit(twin, lms.x, lms.y, TrainConfig(lr=0.1, **kw), progress=False)
    for p, q in zip(stack.parameters(), twin.parameters()):
        torch.testing.assert_close(p[1], q[1], atol=1e-5, rtol=1e-5)


def test_config_per_member_fields():
    cfg = TrainConfig(lr=[0.1, 0.2], weight_decay=(0.0, 1e-4))
    assert cfg.lr == (0.1, 0.2) and hash(cfg)  # lists become tuples: still hashable
    assert cfg.members("lr", 2) == (0.1, 0.2) and cfg.members("momentum", 2) == (0.0, 0.0)
    with pytest.raises(ValueError, match="lr has 2 values"):
        cfg.members("lr", 3)
    with pytest.raises(ValueError, match="differ in length"):
        TrainConfig(lr=(0.1, 0.2), momentum=(0.0, 0.5, 0.9))
    for kw, name in [
        ({"lr": (0.1, 0.0)}, "lr"),
        ({"momentum": (0.5, 1.0)}, "momentum"),
        ({"weight_decay": (0.0, -1.0)}, "weight_decay"),
        ({"lr": ()}, "lr"),
    ]:
        with pytest.raises(ValueError, match=name):
            TrainConfig(**kw)
    assert TrainConfig().lr == 0.1 and TrainConfig(lr=1).lr == 1  # scalars untouched


def test_stack_size_is_checked(lms):
    with pytest.raises(ValueError, match="lr has 3 values"):
        fit(
            SPEC.build(50, seeds=[0, 1]),
            lms.x,
            lms.y,
            TrainConfig(lr=(0.1, 0.2, 0.3)),
            progress=False,
        )
    plain = torch.nn.Linear(50, 2)
    fit(plain, lms.x, lms.y, TrainConfig(lr=(0.1,), max_epochs=1, stop_loss=None), progress=False)
    with pytest.raises(ValueError, match="momentum has 2 values"):
        fit(plain, lms.x, lms.y, TrainConfig(momentum=(0.1, 0.2)), progress=False)


def test_grid_as_one_stack(lms):
    cfg, points = grid_config(
        TrainConfig(max_epochs=2, stop_loss=None),
        seeds=(0, 1),
        lr=(0.1, 0.01),
        momentum=(0.0, 0.9),
    )
    assert len(points) == 8 and cfg.lr == (0.1,) * 4 + (0.01,) * 4
    assert cfg.momentum == (0.0, 0.0, 0.9, 0.9) * 2 and [p["seed"] for p in points] == [0, 1] * 4
    # one dataset per seed, member m on dataset m % 2
    other = make_lms(N, seed=1)
    x, y = torch.stack([lms.x, other.x]), torch.stack([lms.y, other.y])
    stack = SPEC.build(50, seeds=[p["seed"] for p in points])
    hist = fit(stack, x, y, cfg, progress=False)
    assert len(hist.loss[-1]) == 8
    with pytest.raises(ValueError, match="grid axes"):
        grid_config(TrainConfig(), seeds=(0,), batch_size=(64,))
    with pytest.raises(ValueError, match="D dividing"):
        fit(SPEC.build(50, seeds=[0, 1, 2]), x, y, TrainConfig(max_epochs=1), progress=False)


@pytest.mark.parametrize("name", ["(8,3,2)-CNN", "(6,5,1)-GRU", "(8,1)-FCN"])
def test_every_stacked_architecture_takes_per_member_values(lms, name):
    """Conv kernels (M, F, C, k) and GRU biases (M, 1, 1, 3h) get their member's values too."""
    spec = ModelSpec.parse(name)
    stack = spec.build(50, seeds=[7, 7])
    hp = dict(lr=(0.05, 0.01), momentum=(0.9, 0.0), weight_decay=(1e-3, 0.0))
    cfg = TrainConfig(batch_size=BATCH, max_epochs=1, stop_loss=None, **hp)
    fit(stack, lms.x, lms.y, cfg, seed=0, progress=False)
    twin = spec.build(50, seeds=[7, 7])  # member 1 alone in a stack of the same size
    fit(
        twin,
        lms.x,
        lms.y,
        TrainConfig(batch_size=BATCH, max_epochs=1, stop_loss=None, lr=0.01, weight_decay=0.0),
        seed=0,
        progress=False,
    )
    for p, q in zip(stack.parameters(), twin.parameters()):
        torch.testing.assert_close(p[1], q[1], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(p[0], q[0])
