"""The trainer: a few steps lower the loss, stopping rule, stacked = sequential, config checks."""

from dataclasses import replace

import pytest
import torch

from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.models.inference import predict_logits
from sbcore.train import TrainConfig, fit


@pytest.fixture(scope="module")
def lms():
    return make_lms(2000, seed=0)


def _loss(model, x, y):
    lg = predict_logits(model, x)
    return torch.nn.functional.cross_entropy(lg.reshape(-1, 2), y.repeat(lg.shape[0])).item()


def test_a_few_steps_lower_the_loss(lms):
    model = ModelSpec.parse("(32,1)-FCN").build(50, seeds=[0])
    before = _loss(model, lms.x, lms.y)
    hist = fit(model, lms.x, lms.y, TrainConfig(max_epochs=2, stop_loss=None), progress=False)
    assert hist.n_updates == 2 * 8  # ceil(2000 / 256) updates per epoch
    assert _loss(model, lms.x, lms.y) < before


def test_members_of_a_stack_train_independently(lms):
    cfg = TrainConfig(max_epochs=2, stop_loss=None, momentum=0.9)
    spec = ModelSpec.parse("(16,2)-FCN")
    x, y = torch.stack([lms.x, lms.x]), torch.stack([lms.y, lms.y])
    stack = spec.build(50, seeds=[3, 4])
    fit(stack, x, y, cfg, seed=0, progress=False)
    # member independence: re-seeding member 0 leaves member 1's trajectory unchanged
    other = spec.build(50, seeds=[99, 4])
    fit(other, x, y, cfg, seed=0, progress=False)
    for p, q in zip(stack.parameters(), other.parameters()):
        assert torch.allclose(p[1], q[1], atol=1e-5)
        assert not torch.allclose(p[0], q[0])


def test_stopping_rule_freezes_each_member(lms):
    model = ModelSpec.parse("(64,1)-FCN").build(50, seeds=[0, 1])
    cfg = TrainConfig(max_epochs=200, momentum=0.9, stop_loss=0.05)
    hist = fit(model, lms.x, lms.y, cfg, progress=False)
    assert all(e > 0 for e in hist.stopped_epoch)
    assert hist.n_epochs == max(hist.stopped_epoch)
    for m, e in enumerate(hist.stopped_epoch):
        assert hist.loss[e - 1][m] < 0.05


def test_callback_and_schedule(lms):
    model = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0])
    cfg = TrainConfig(max_epochs=3, stop_loss=None, schedule="step", step_every=1, step_gamma=0.5)
    hist = fit(
        model, lms.x, lms.y, cfg, callback=lambda m, e: {"e2": e * 2}, eval_every=1, progress=False
    )
    assert [h["e2"] for h in hist.evals] == [2, 4, 6]


def test_max_updates_caps_training(lms):
    model = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0])
    hist = fit(model, lms.x, lms.y, TrainConfig(max_updates=5, stop_loss=None), progress=False)
    assert hist.n_updates == 5


def test_ordinary_module_is_trained_too(lms):
    model = torch.nn.Sequential(torch.nn.Linear(50, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    before = _loss(model, lms.x, lms.y)
    fit(model, lms.x, lms.y, TrainConfig(max_epochs=3, stop_loss=None), progress=False)
    assert _loss(model, lms.x, lms.y) < before


@pytest.mark.parametrize(
    "kw,param",
    [
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr": 0}, "lr"),
        ({"batch_size": -1}, "batch_size"),
        ({"momentum": 1.0}, "momentum"),
        ({"schedule": "cosine"}, "schedule"),
        ({"weight_decay": -1}, "weight_decay"),
    ],
)
def test_bad_config_raises(kw, param):
    with pytest.raises(ValueError, match=param):
        TrainConfig(**kw)


def test_batches_draw_into_a_static_buffer(lms):
    from sbcore.train import Batches

    x2, y2 = torch.stack([lms.x, lms.x + 1]), torch.stack([lms.y, lms.y])
    data = Batches(x2, y2, 4, 256, seed=0)  # 2 datasets, member m on dataset m % 2
    ptr = data.order.data_ptr()
    data.shuffle()
    first = data.order.clone()
    data.shuffle()
    assert data.order.data_ptr() == ptr and not torch.equal(first, data.order)
    assert len(data.bounds) == 8 and data.bounds[-1] == (1792, 2000)  # the short last batch
    xb, yb = data.gather(data.index(7))
    assert xb.shape == (4, 208, 50) and yb.shape == (4, 208)
    for m in range(4):  # each member's rows come from its own dataset, in its own order
        rows = data.order[m, 1792:] - (m % 2) * 2000
        assert torch.equal(xb[m], lms.x[rows] + (m % 2)) and torch.equal(yb[m], lms.y[rows])
    assert sorted(data.order[1].tolist()) == list(range(2000, 4000))


class _FakeStream:
    def __init__(self, device=None):
        pass

    def wait_stream(self, other):
        pass


class _FakeGraph:  # "replays" by running the recorded step on its static buffer
    def __init__(self, fn):
        self.replay = fn


def test_captured_path_bookkeeping_on_cpu(lms, monkeypatch):
    """The graph path's CPU-independent pieces: warm-up counts, one capture per batch width, the
    static index buffer, the tensor-held optimizer; CUDA itself is faked (replay = rerun)."""
    import contextlib

    from sbcore import train

    captures = []

    def fake_capture(self, static):
        captures.append(static.shape[1])
        return _FakeGraph(lambda: self.step(static))

    monkeypatch.setattr(train, "use_cuda_graph", lambda cfg, x, perturb: cfg.cuda_graph)
    monkeypatch.setattr(train.CapturedStep, "capture", fake_capture)
    monkeypatch.setattr(torch.cuda, "Stream", _FakeStream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda: _FakeStream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    cfg = TrainConfig(
        lr=(0.1, 0.05),
        momentum=0.9,
        weight_decay=(0.0, 1e-3),
        max_epochs=5,
        stop_loss=None,
        schedule="step",
        step_every=2,
        batch_size=300,
    )
    runs = []
    for graph in (False, True):
        model = ModelSpec.parse("(16,1)-FCN").build(50, seeds=[0, 1])
        runs.append(
            (model, fit(model, lms.x, lms.y, replace(cfg, cuda_graph=graph), progress=False))
        )
    assert captures == [300, 200]  # 2000 = 6 x 300 + 200: the short batch is captured in epoch 4
    (eager, h0), (graphed, h1) = runs
    assert h0.n_updates == h1.n_updates == 35
    for p, q in zip(eager.parameters(), graphed.parameters()):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-6)


def test_cuda_graphs_are_off_until_verified_on_a_gpu():
    """The captured step has never run on a GPU here: eager is the default (make gpu-check
    measures the captured one against it)."""
    assert TrainConfig().cuda_graph is False
