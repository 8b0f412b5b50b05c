"""What :func:`sbcore.train.fit` checks so that a bad input or a diverging member fails with one
line that names it, instead of deep inside torch or with NaN weights and no warning.

- :func:`check_inputs`: the data, once per ``fit`` call, before anything trains (types, int64
  labels, at least one point, one device, no NaN or inf in ``x``: one reduction);
- :func:`check_model`: one example through the model (it takes ``x``'s feature shape and gives
  logits (M, b, C)) and every label a class index in [0, C);
- :func:`nonfinite`: after each epoch, from the epoch losses the loop already has on the host,
  the :class:`NonFiniteLoss` naming each member still training whose loss is NaN or infinite.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn


class NonFiniteLoss(FloatingPointError):
    """A member's training loss became NaN or infinite. ``members``: the diverged members (stack
    indices from 0), ``epoch`` (from 1), ``values``: their epoch losses; ``history``: what
    :func:`sbcore.train.fit` had recorded, that epoch's loss included."""

    def __init__(
        self,
        members: Sequence[int],
        values: Sequence[float],
        n_members: int,
        epoch: int,
        n_updates: int,
        history: Any = None,
    ):
        self.members, self.values, self.epoch = tuple(members), tuple(values), epoch
        self.history = history
        shown = sorted({str(v) for v in values})
        who = (
            "the model's"
            if n_members == 1
            else f"member{'s' * (len(members) > 1)} {', '.join(map(str, members))} of {n_members} "
            f"(counting from 0):"
        )
        super().__init__(
            f"{who} loss is {' / '.join(shown)} at epoch {epoch} (after {n_updates} "
            f"update{'s' * (n_updates != 1)}); lower the learning rate or check the "
            "loss"
        )


def nonfinite(history: Any, stopped_epochs: Sequence[int], epoch: int) -> NonFiniteLoss | None:
    """The :class:`NonFiniteLoss` to raise when the last epoch loss of a member still training
    is not finite (a member that met the stopping rule is left out: its saved weights are
    restored, whatever it computes after), else None. ``history``: a
    :class:`sbcore.train.History`; ``stopped_epochs``: per member, its stopping epoch or 0."""
    last = history.loss[-1]
    bad = [m for m, v in enumerate(last) if not math.isfinite(v) and not stopped_epochs[m]]
    if not bad:
        return None
    return NonFiniteLoss(bad, [last[m] for m in bad], len(last), epoch, history.n_updates, history)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def check_inputs(stack: nn.Module, x: Tensor, y: Tensor) -> None:
    """``fit``'s data checked once, before anything trains: tensors on the model's device, int64
    labels, at least one point, no NaN or inf in ``x``. ValueError names the argument;
    :class:`sbcore.train.Batches` then checks the shapes, :func:`check_model` the model."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if y.dtype != torch.long:
        raise ValueError(f"y must hold int64 class indices, got dtype {y.dtype}")
    if y.dim() in (1, 2) and y.shape[-1] == 0:
        raise ValueError(f"x and y hold no points (y has shape {tuple(y.shape)})")
    p = next(stack.parameters(), None)
    for name, t in (("x", x), ("y", y)):
        if p is not None and t.device != p.device:
            raise ValueError(
                f"{name} is on {t.device}, the model on {p.device}: move both to one device"
            )
    # a NaN or inf makes the sum non-finite; only then (or on overflow) look at every value
    if x.is_floating_point() and not math.isfinite(x.sum()) and not torch.isfinite(x).all():
        raise ValueError("x holds non-finite values (NaN or inf)")


def check_model(stack: nn.Module, data: Any) -> None:
    """One example of ``data`` (a :class:`sbcore.train.Batches`) through the model, in eval mode
    without gradients: it takes x's feature shape and gives logits (M, b, C), and every label is
    a class index in [0, C). ValueError names ``x``, ``model`` or ``y``."""
    xb = data.x[:1].unsqueeze(0).expand(data.M, 1, *data.shape)
    was = stack.training
    stack.eval()
    try:
        with torch.no_grad():
            logits = stack(xb)
    except (RuntimeError, ValueError, IndexError) as err:
        raise ValueError(
            f"x: the model does not take examples of shape {tuple(data.shape)} "
            f"and dtype {data.x.dtype} ({_first_line(err)})"
        ) from err
    finally:
        stack.train(was)
    if not isinstance(logits, Tensor) or logits.dim() != 3 or logits.shape[:2] != (data.M, 1):
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(
            f"model must return logits (b, C), or (M, b, C) for a stack of M, got "
            f"{got} for one example (as a stack of {data.M})"
        )
    n_classes = logits.shape[-1]
    lo, hi = (int(v) for v in torch.aminmax(data.y))
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"y must hold class indices in [0, {n_classes}) for a model of "
            f"{n_classes} classes, got labels from {lo} to {hi}"
        )
