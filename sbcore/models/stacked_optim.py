"""SGD, Adam and RMSprop for stacked parameters, with one learning rate, momentum and weight decay
per member.

Every parameter leads with the member axis M (a plain model is seen through a (1, *shape) view),
so a per-member hyperparameter is an (M,) tensor viewed as (M, 1, ..., 1) and expanded over the
rest of the parameter. The arithmetic is that of ``torch.optim.SGD`` (dampening 0, no Nesterov,
weight decay added to the gradient), ``torch.optim.Adam`` and ``torch.optim.RMSprop`` (their
defaults otherwise: betas (0.9, 0.999), alpha 0.99, eps 1e-8), applied to each member.

Two ways to hold a hyperparameter:

* a Python float, when every member shares it and ``tensors=False``: the very calls of
  ``torch.optim``'s single-tensor code, so the result matches it bit for bit on the CPU;
* an (M,) tensor on the parameters' device, when the members differ or ``tensors=True``. Then the
  step count is a device tensor too and the step issues no host synchronisation, which is what
  CUDA graph capture needs (``torch.optim``'s ``capturable=True``).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

OPTIMIZERS = ("sgd", "adam", "rmsprop")
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8

Coef = float | Tensor  # a shared Python float, or a per-member (M,) tensor expanded to a parameter


def _axpy(y: Tensor, x: Tensor, a: Coef) -> Tensor:
    """y + a * x as a new tensor; ``a`` a float (torch's ``alpha``) or a tensor shaped like x."""
    return y.add(x, alpha=a) if isinstance(a, float) else torch.addcmul(y, x, a)


def _axpy_(y: Tensor, x: Tensor, a: Coef) -> Tensor:
    """y += a * x in place."""
    return y.add_(x, alpha=a) if isinstance(a, float) else y.addcmul_(x, a)


def _foreach_axpy(ys: list[Tensor], xs: list[Tensor], coefs: list[Coef], inplace: bool = False):
    """[y + a * x] over lists in one foreach call (a shared float, or per-parameter tensors)."""
    if isinstance(coefs[0], float):
        fn = torch._foreach_add_ if inplace else torch._foreach_add
        return fn(ys, xs, alpha=coefs[0])
    fn = torch._foreach_addcmul_ if inplace else torch._foreach_addcmul
    return fn(ys, xs, coefs)


class StackedOptimizer:
    """One optimizer step for M members at once.

    Args:
        params: parameters as member views, each (M, *shape) (they are updated in place).
        kind: "sgd", "adam" or "rmsprop".
        lr, momentum, weight_decay: M floats each (momentum is SGD's and RMSprop's; Adam has none).
        tensors: hold every hyperparameter as a device tensor even when the members share it.
    """

    def __init__(
        self,
        params: Sequence[Tensor],
        *,
        kind: str,
        lr: Sequence[float],
        momentum: Sequence[float],
        weight_decay: Sequence[float],
        tensors: bool = False,
    ):
        if kind not in OPTIMIZERS:
            raise ValueError(f"kind must be one of {OPTIMIZERS}, got {kind!r}")
        self.params, self.kind, self.tensors = list(params), kind, tensors
        if not self.params:
            raise ValueError("no trainable parameters to optimize")
        self.M = self.params[0].shape[0]
        for name, v in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if len(v) != self.M:
                raise ValueError(f"{name} needs {self.M} values (one per member), got {len(v)}")
        dev = self.params[0].device
        self._device = dev
        self.momentum = self._coefs(momentum)
        self.weight_decay = self._coefs(weight_decay)
        self.use_momentum = kind != "adam" and max(momentum) > 0
        self.use_decay = max(weight_decay) > 0
        zeros = lambda: [torch.zeros_like(p) for p in self.params]  # noqa: E731
        self.buf = zeros() if self.use_momentum else None  # zero start == torch's first-step clone
        if kind == "adam":
            self.exp_avg, self.exp_avg_sq = zeros(), zeros()
        if kind == "rmsprop":
            self.square_avg = zeros()
        self.n_steps = 0  # host count (float path)
        self.step_t = torch.zeros(
            (), dtype=torch.float64, device=dev
        )  # device count (tensor path)
        self._lr64 = torch.zeros(self.M, dtype=torch.float64, device=dev)
        self._neg_lr = torch.zeros(self.M, dtype=self.params[0].dtype, device=dev)
        self.set_lr(lr)

    def _uniform(self, values: Sequence[float]) -> bool:
        return not self.tensors and len(set(values)) == 1

    def _views(self, t: Tensor) -> list[Tensor]:
        # expanded to each parameter's shape (no copy): foreach ops then see equal sizes
        return [t.view(self.M, *([1] * (p.dim() - 1))).expand_as(p) for p in self.params]

    def _coefs(self, values: Sequence[float]) -> list[Coef]:
        """One coefficient per parameter: a float, or an (M,) tensor expanded to the parameter."""
        if self._uniform(values):
            return [float(values[0])] * len(self.params)
        t = torch.tensor(
            [float(v) for v in values], dtype=self.params[0].dtype, device=self._device
        )
        return self._views(t)

    def set_lr(self, lr: Sequence[float]) -> None:
        """New learning rates (M floats), e.g. from a schedule. In place: captured steps see it."""
        self.lr_values = [float(v) for v in lr]
        self.lr_shared = self.lr_values[0] if self._uniform(self.lr_values) else None
        self._lr64.copy_(torch.tensor(self.lr_values, dtype=torch.float64))
        self._neg_lr.copy_(-self._lr64)
        self.neg_lr = (
            [-self.lr_shared] * len(self.params)
            if self.lr_shared is not None
            else self._views(self._neg_lr)
        )

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor | None]) -> None:
        """Update every parameter from its gradient (member views (M, *shape); None: skipped)."""
        self.n_steps += 1
        if self.kind == "adam":  # the device step count is read only by Adam
            self.step_t += 1
        live = [i for i, g in enumerate(grads) if g is not None]
        if self.kind == "sgd":  # the paper's optimizer: one foreach call per operation
            self._sgd(live, [grads[i] for i in live])
            return
        extra = self._adam_coefs() if self.kind == "adam" else None
        for i in live:
            p, g = self.params[i], grads[i]
            if self.use_decay:
                g = _axpy(g, p, self.weight_decay[i])
            if self.kind == "adam":
                self._adam(i, p, g, *extra)
            else:
                self._rmsprop(i, p, g)

    def _sgd(self, live: list[int], grads: list[Tensor]) -> None:
        params = [self.params[i] for i in live]
        pick = lambda coefs: [coefs[i] for i in live]  # noqa: E731
        if self.use_decay:
            grads = _foreach_axpy(grads, params, pick(self.weight_decay))
        if self.use_momentum:
            bufs = pick(self.buf)
            torch._foreach_mul_(
                bufs,
                self.momentum[0] if isinstance(self.momentum[0], float) else pick(self.momentum),
            )
            torch._foreach_add_(bufs, grads)
            grads = bufs
        _foreach_axpy(params, grads, pick(self.neg_lr), inplace=True)

    def _adam_coefs(self):
        """(bias_correction2_sqrt, -step_size as float or (M,) tensor) of this step."""
        b1, b2 = ADAM_BETAS
        if self.lr_shared is not None:  # torch.optim's host arithmetic
            bc1, bc2 = 1 - b1**self.n_steps, 1 - b2**self.n_steps
            return bc2**0.5, -(self.lr_shared / bc1)
        bc1 = 1 - b1**self.step_t
        bc2_sqrt = (1 - b2**self.step_t).sqrt().to(self.params[0].dtype)
        neg_step = (-(self._lr64 / bc1)).to(self.params[0].dtype)
        return bc2_sqrt, self._views(neg_step)

    def _adam(self, i: int, p: Tensor, g: Tensor, bc2_sqrt: Coef, neg_step) -> None:
        b1, b2 = ADAM_BETAS
        self.exp_avg[i].lerp_(g, 1 - b1)
        self.exp_avg_sq[i].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (self.exp_avg_sq[i].sqrt() / bc2_sqrt).add_(ADAM_EPS)
        if isinstance(neg_step, float):
            p.addcdiv_(self.exp_avg[i], denom, value=neg_step)
        else:  # torch's addcdiv order: (value * exp_avg) / denom
            p.add_(torch.mul(self.exp_avg[i], neg_step[i]).div_(denom))

    def _rmsprop(self, i: int, p: Tensor, g: Tensor) -> None:
        a = RMSPROP_ALPHA
        self.square_avg[i].mul_(a).addcmul_(g, g, value=1 - a)
        avg = self.square_avg[i].sqrt().add_(RMSPROP_EPS)
        if self.use_momentum:
            buf = self.buf[i].mul_(self.momentum[i]).addcdiv_(g, avg)
            _axpy_(p, buf, self.neg_lr[i])
        elif isinstance(self.neg_lr[i], float):
            p.addcdiv_(g, avg, value=self.neg_lr[i])
        else:
            p.add_(torch.mul(g, self.neg_lr[i]).div_(avg))
