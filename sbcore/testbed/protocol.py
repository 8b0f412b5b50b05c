"""The method protocol of the testbed: what a training method may change, and how it is trained.

A :class:`Method` is a small frozen object holding the hooks a trainer needs; every hook is
optional and vanilla SGD is ``Method("vanilla")``:

* ``loss(model, x, y, logits, n_data) -> (M,)``: the per-member training loss, in place of the
  cross-entropy (:func:`cross_entropy`). An extra term on the logits (spectral decoupling), on
  input gradients (``torch.autograd.grad(..., create_graph=True)``), on perturbed weights (SAM) or
  across the members of a stack (a diversity term) all fit here. Shapes: a stack gives
  ``x`` (M, b, ...), ``y`` (M, b), ``logits`` (M, b, C); an ordinary model ``x`` (b, ...), ``y``
  (b,), ``logits`` (b, C) and one value. ``n_data``: members ``m`` and ``m'`` of a stack train on
  the same data exactly when ``m % n_data == m' % n_data`` (:func:`sbcore.train.fit`'s layout).
* ``perturb(model, x, y) -> x'``: an input perturbation in the loop (adversarial training).
* ``recipe(cfg) -> cfg``: a change of the optimizer recipe (a :class:`sbcore.train.TrainConfig`).
* ``train(method, model, x, y, cfg, *, seed, n_data, progress, desc) -> History``: a whole training
  function, for methods with their own loop (e.g. train twice, reweight between epochs).
* ``members``: stack members per predictor. A method that trains a set of models (a diverse
  ensemble) is scored as the average of the logits of its ``members`` models; vanilla has 1.

The testbed (:func:`sbcore.testbed.evaluate`) builds the paper's models and data and calls
:meth:`Method.fit`; it never looks inside a method.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..train import History, TrainConfig, fit, member_cross_entropy

MethodLoss = Callable[..., Tensor]
TrainFn = Callable[..., History]


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy per member: logits (M, b, C), y (M, b) -> (M,); (b, C), (b,) -> ()."""
    return member_cross_entropy(logits, y)


@dataclass(frozen=True)
class Method:
    """A training method to score (see the module docstring for every hook).

    ``name``: its row in the scorecard; ``paper``: where it comes from (empty for your own);
    ``settings``: its hyperparameters, shown beside the scores.
    """

    name: str
    loss: MethodLoss | None = None
    perturb: Callable[[nn.Module, Tensor, Tensor], Tensor] | None = None
    recipe: Callable[[TrainConfig], TrainConfig] | None = None
    train: TrainFn | None = None
    members: int = 1
    paper: str = ""
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if isinstance(self.members, bool) or not isinstance(self.members, int) or self.members < 1:
            raise ValueError(f"members must be an integer >= 1, got {self.members!r}")
        for hook in ("loss", "perturb", "recipe", "train"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise ValueError(f"{hook} must be callable or None, got {getattr(self, hook)!r}")

    def fit(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        cfg: TrainConfig,
        *,
        seed: int,
        n_data: int = 1,
        progress: bool = False,
        desc: str = "",
    ) -> History:
        """Train ``model`` in place with this method (arguments as :func:`sbcore.train.fit`)."""
        cfg = self.recipe(cfg) if self.recipe is not None else cfg
        if self.train is not None:
            return self.train(
                self,
                model,
                x,
                y,
                cfg,
                seed=seed,
                n_data=n_data,
                progress=progress,
                desc=desc or self.name,
            )
        loss = None
        if self.loss is not None:
            hook = self.loss
            loss = lambda m, xb, yb, lg: hook(m, xb, yb, lg, n_data)  # noqa: E731
        return fit(
            model,
            x,
            y,
            cfg,
            seed=seed,
            perturb=self.perturb,
            loss=loss,
            progress=progress,
            desc=desc or self.name,
        )


class Committee(nn.Module):
    """K ordinary models trained together as one module: ``forward`` (b, ...) -> the mean of
    their logits (b, C); :meth:`forward_members` (K, b, ...) -> (K, b, C), member k on its own
    inputs. The image part of the testbed wraps a method's ``members`` models in one."""

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        if not models:
            raise ValueError("a committee needs at least one model")
        self.members = nn.ModuleList(models)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def forward_members(self, xs: Tensor) -> Tensor:
        return torch.stack([m(x) for m, x in zip(self.members, xs)])

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


class Averaged(nn.Module):
    """Members ``members`` of a stack as one ordinary predictor: (b, ...) -> the mean of their
    logits (b, C). With one member it is that member."""

    def __init__(self, stack: nn.Module, members: Sequence[int]):
        super().__init__()
        self.stack, self.idx = stack, list(members)

    def forward(self, x: Tensor) -> Tensor:
        return self.stack(x)[self.idx].mean(0)


def member_views(model: nn.Module, x: Tensor, n_data: int) -> tuple[Tensor, Tensor, int, int]:
    """Inputs shared within each group of members that train on the same data, ready for input
    gradients: ``(xs, logits, K, D)`` with ``xs`` (M, b, ...) requiring grad (member m sees the
    batch of member ``m % D``), ``logits`` (M, b, C) of member m on ``xs[m]``, M = K * D members
    in D groups of K. A :class:`Committee` (x (b, ...)) is one group of its K members."""
    if isinstance(model, Committee):
        K, D = model.n_members, 1
        xs = x.detach().unsqueeze(0).repeat(K, *[1] * x.dim()).requires_grad_()
        return xs, model.forward_members(xs), K, D
    M, D = x.shape[0], n_data
    if M % D:
        raise ValueError(f"a stack of {M} members cannot hold {D} equal groups")
    xs = x[:D].detach().repeat(M // D, *[1] * (x.dim() - 1)).requires_grad_()
    return xs, model(xs), M // D, D


def load_method(path: str) -> Method:
    """The method at ``"package.module:name"``: a :class:`Method`, or a callable returning one
    when called without arguments (e.g. ``"sbcore.testbed.methods:sam"``)."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"method must look like 'package.module:name', got {path!r}")
    mod_name, attr = path.split(":")
    obj = getattr(importlib.import_module(mod_name), attr, None)
    if obj is None:
        raise ValueError(f"module {mod_name!r} has no attribute {attr!r}")
    method = obj if isinstance(obj, Method) else obj() if callable(obj) else None
    if not isinstance(method, Method):
        raise ValueError(f"{path} must be a Method or return one when called, got {method!r}")
    return method
