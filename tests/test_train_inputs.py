"""fit's checks: bad data, a bad model or loss hook fail with one-line ValueErrors naming the
argument before any update; a NaN or infinite loss stops the training naming the member, the epoch
(eagerly and on the CUDA-graph path, faked on the CPU)."""

import contextlib
import math

import pytest
import torch
from torch import nn

from sbcore import train
from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.train import NonFiniteLoss, TrainConfig, fit, member_cross_entropy

CFG = TrainConfig(max_epochs=3, stop_loss=None, batch_size=64)  # 600 points: 10 steps an epoch


@pytest.fixture(scope="module")
def lms():
    return make_lms(600, seed=0)


def _stack(M=2):
    return ModelSpec.parse("(8,1)-FCN").build(50, seeds=list(range(M)))


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def _unchanged(model, before):
    return all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def _bad_inputs(lms):
    nan_x, inf_x = lms.x.clone(), lms.x.clone()
    nan_x[3, 7], inf_x[5, 0] = float("nan"), float("inf")
    label = lambda v: torch.where(torch.arange(600) == 5, v, lms.y)  # noqa: E731
    return {
        "label 2 for 2 classes": (
            lms.x,
            label(2),
            r"^y must hold class indices in \[0, 2\) .*"
            r"from 0 to 2$",
        ),
        "a negative label": (lms.x, label(-1), r"^y must hold class indices in \[0, 2\)"),
        "float labels": (lms.x, lms.y.float(), r"^y must hold int64 class indices"),
        "the wrong width": (
            lms.x[:, :49],
            lms.y,
            r"^x: the model does not take examples of "
            r"shape \(49,\)",
        ),
        "zero points": (lms.x[:0], lms.y[:0], r"^x and y hold no points"),
        "a NaN in x": (nan_x, lms.y, r"^x holds non-finite values"),
        "an inf in x": (inf_x, lms.y, r"^x holds non-finite values"),
        "x as a list": (lms.x.tolist(), lms.y, r"^x must be a torch.Tensor"),
        "x and y disagree": (lms.x, lms.y[:500], r"^y must have shape"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(make_lms(600, seed=0))))
def test_bad_data_fails_naming_the_argument_before_any_update(lms, case):
    x, y, match = _bad_inputs(lms)[case]
    for model in (_stack(), nn.Sequential(nn.Linear(50, 8), nn.ReLU(), nn.Linear(8, 2))):
        before = _weights(model)
        with pytest.raises(ValueError, match=match) as info:
            fit(model, x, y, CFG, progress=False)
        assert "\n" not in str(info.value) and _unchanged(model, before)


def test_a_model_without_class_logits_is_refused(lms):
    with pytest.raises(ValueError, match=r"^model must return logits \(b, C\)"):
        fit(nn.Sequential(nn.Linear(50, 1), nn.Flatten(0)), lms.x, lms.y, CFG, progress=False)


def test_a_loss_hook_must_give_one_value_per_member(lms):
    stack = _stack(5)
    before = _weights(stack)
    for bad, got in (
        (lambda m, x, y, lg: member_cross_entropy(lg, y).sum(), r"\(\)"),
        (lambda m, x, y, lg: 0.5, "float"),
        (lambda m, x, y, lg: member_cross_entropy(lg, y)[:2], r"\(2,\)"),
    ):
        with pytest.raises(
            ValueError,
            match=rf"^loss must return one value per member \(5, "
            rf"as a tensor\), got {got}$",
        ):
            fit(stack, lms.x, lms.y, CFG, loss=bad, progress=False)
        assert _unchanged(stack, before)
    # (M, 1) or a scalar for a stack of one are one value per member: accepted as before
    fit(
        _stack(2),
        lms.x,
        lms.y,
        CFG,
        loss=lambda m, x, y, lg: member_cross_entropy(lg, y)[:, None],
        progress=False,
    )
    fit(
        _stack(1),
        lms.x,
        lms.y,
        CFG,
        loss=lambda m, x, y, lg: member_cross_entropy(lg, y).sum(),
        progress=False,
    )


def _poisoned(member, from_update, value=float("nan")):
    """The cross-entropy, with ``member``'s loss ``value`` from update ``from_update`` (from 1)."""
    calls = []

    def loss(model, x, y, logits):
        calls.append(1)
        out = member_cross_entropy(logits, y)
        if len(calls) >= from_update:
            out = out + torch.where(torch.arange(len(out)) == member, value, 0.0)
        return out

    return loss


def test_a_nan_loss_names_the_member_and_epoch(lms):
    stack = _stack(5)
    with pytest.raises(NonFiniteLoss) as info:
        fit(stack, lms.x, lms.y, CFG, loss=_poisoned(3, 17), progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert str(err).startswith(
        "member 3 of 5 (counting from 0): loss is nan at epoch 2 (after "
        f"{err.history.n_updates} updates)"
    )
    assert (err.members, err.epoch) == ((3,), 2) and err.history.n_updates == 20
    assert err.history.n_epochs == 2 and math.isnan(err.history.loss[-1][3])
    assert all(math.isfinite(v) for m, v in enumerate(err.history.loss[-1]) if m != 3)


def test_an_infinite_loss_and_an_ordinary_model(lms):
    with pytest.raises(
        NonFiniteLoss,
        match=r"^member 1 of 2 \(counting from 0\): loss is inf at "
        r"epoch 1 \(after \d+ updates\)",
    ):
        fit(_stack(2), lms.x, lms.y, CFG, loss=_poisoned(1, 4, math.inf), progress=False)
    plain = nn.Sequential(nn.Linear(50, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(NonFiniteLoss, match=r"^the model's loss is nan at epoch 1 "):
        fit(
            plain, lms.x, lms.y, TrainConfig(lr=1e30, max_epochs=3, stop_loss=None), progress=False
        )


def test_every_diverged_member_is_named(lms):
    with pytest.raises(NonFiniteLoss) as info:
        fit(
            _stack(3),
            lms.x,
            lms.y,
            TrainConfig(lr=(0.1, 1e30, 1e30), max_epochs=3, stop_loss=None),
            progress=False,
        )
    assert info.value.members == (1, 2) and str(info.value).startswith("members 1, 2 of 3")


def test_a_member_that_already_stopped_may_diverge_after(lms):
    """A stopped member's weights are restored at the end: what it computes after is moot."""
    cfg = TrainConfig(max_epochs=3, stop_loss=5.0, batch_size=64)

    def lifted(loss):  # member 1 never meets the stopping rule, member 0 at epoch 1
        return lambda m, x, y, lg: loss(m, x, y, lg) + torch.tensor([0.0, 100.0])

    stack = _stack(2)
    hist = fit(stack, lms.x, lms.y, cfg, loss=lifted(_poisoned(0, 11)), progress=False)
    assert hist.stopped_epoch == [1, 0] and hist.n_epochs == 3 and math.isnan(hist.loss[-1][0])
    assert all(torch.isfinite(p).all() for p in stack.parameters())  # epoch 1's, restored
    with pytest.raises(NonFiniteLoss, match=r"^member 1 of 2 .* at epoch 2 "):
        fit(_stack(2), lms.x, lms.y, cfg, loss=lifted(_poisoned(1, 11)), progress=False)


class _FakeStream:
    def __init__(self, device=None):
        pass

    def wait_stream(self, other):
        pass


class _FakeGraph:
    def __init__(self, fn):
        self.replay = fn


def test_the_graph_path_reports_divergence_as_the_eager_one(lms, monkeypatch):
    """A captured step runs no Python; divergence is read from the epoch losses on both paths:
    the same member and epoch (CUDA faked: replay = rerun)."""
    found = []
    for graph in (False, True):
        if graph:
            monkeypatch.setattr(train, "use_cuda_graph", lambda cfg, x, perturb: cfg.cuda_graph)
            monkeypatch.setattr(
                train.CapturedStep,
                "capture",
                lambda self, static: _FakeGraph(lambda: self.step(static)),
            )
            monkeypatch.setattr(torch.cuda, "Stream", _FakeStream)
            monkeypatch.setattr(torch.cuda, "current_stream", lambda: _FakeStream())
            monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
        cfg = TrainConfig(
            lr=(0.1, 1e30),
            momentum=0.9,
            max_epochs=3,
            stop_loss=None,
            batch_size=64,
            cuda_graph=graph,
        )
        with pytest.raises(NonFiniteLoss) as info:
            fit(_stack(2), lms.x, lms.y, cfg, progress=False)
        found.append(str(info.value))
    assert found[0] == found[1] and found[0].startswith("member 1 of 2")
