"""One model-agnostic training loop (knows nothing of datasets or attacks).

The paper's recipe (App. B): SGD, at most 500 epochs, stopping once the training loss falls
below 0.01. Data stay in memory as tensors and batches are drawn by index (no DataLoader).
Every model trains as a stack: a stacked model (:class:`sbcore.models.Stacked`) trains all its
members in one vectorized pass, an ordinary module as a stack of one. Each member draws its own
batch order and stops on its own: once its epoch loss is below the threshold its weights are
frozen at that point (the stack keeps computing it, which is cheaper than reshaping the stack,
and its frozen weights are restored at the end). Learning rate, momentum and weight decay may
differ per member, so seeds, ensembles and hyperparameter grids train as one stack. The data and
the model are checked once before training (:mod:`sbcore.train_guards`); a member whose epoch
loss turns NaN or infinite stops the training at the end of that epoch with
:class:`~sbcore.train_guards.NonFiniteLoss` naming it (read from the epoch losses the loop brings
to the host anyway: no extra synchronisation).

With ``TrainConfig(cuda_graph=True)``, on a CUDA device the training step (forward, loss,
backward, optimizer step) is captured once per batch shape in a CUDA graph and replayed
(:mod:`sbcore.cuda_graphs`; never on the CPU): the GPU no longer waits on Python and kernel
launches. It is off by default until a GPU run (``make gpu-check``) has shown that the captured
step gives the records of the eager one.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Collection, Sequence

import torch
from torch import Tensor, nn

from . import checkpoints
from .cuda_graphs import CapturedStep
from .models.stacked import Single, as_stack
from .models.stacked_optim import OPTIMIZERS, StackedOptimizer
from .progress import progress as show_progress
from .train_guards import (  # noqa: F401 (NonFiniteLoss: part of fit's API)
    NonFiniteLoss,
    check_inputs,
    check_model,
    nonfinite,
)

SCHEDULES = ("constant", "step")
PER_MEMBER = ("lr", "momentum", "weight_decay")

Perturb = Callable[[nn.Module, Tensor, Tensor], Tensor]
Loss = Callable[[nn.Module, Tensor, Tensor, Tensor], Tensor]
PerMember = float | tuple[float, ...]


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, schedule and stopping rule. Defaults: the paper's synthetic recipe (App. B).

    ``lr``, ``momentum`` and ``weight_decay`` are one float for every member, or a tuple with one
    value per member of the stack (a list is turned into a tuple). ``schedule="step"`` multiplies
    the learning rate by ``step_gamma`` every ``step_every`` epochs (the MNIST-CIFAR recipe: x0.2
    every 30). ``stop_loss=None`` disables early stopping. ``max_updates`` caps the number of
    updates (App. D.1 uses 10M). ``cuda_graph``: capture the step on a CUDA device (off by default: not yet verified on a GPU).
    """

    optimizer: str = "sgd"
    lr: PerMember = 0.1
    momentum: PerMember = 0.0
    weight_decay: PerMember = 5e-7
    batch_size: int = 256
    max_epochs: int = 500
    stop_loss: float | None = 0.01
    schedule: str = "constant"
    step_every: int = 30
    step_gamma: float = 0.2
    max_updates: int | None = None
    cuda_graph: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in PER_MEMBER:
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                if not value:
                    raise ValueError(f"{name} must be a float or a non-empty tuple, got {value!r}")
                object.__setattr__(self, name, tuple(float(v) for v in value))
        for name in ("batch_size", "max_epochs", "step_every"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        checks = {
            "lr": (lambda v: v > 0, "> 0"),
            "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
            "weight_decay": (lambda v: v >= 0, ">= 0"),
        }
        for name, (ok, what) in checks.items():
            if not all(ok(v) for v in self._values(name)):
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")
        lengths = {
            len(getattr(self, k)) for k in PER_MEMBER if isinstance(getattr(self, k), tuple)
        }
        if len(lengths) > 1:
            raise ValueError(
                f"per-member tuples of lr, momentum, weight_decay differ in length: "
                f"{sorted(lengths)}"
            )
        if self.max_updates is not None and self.max_updates < 1:
            raise ValueError(f"max_updates must be >= 1 or None, got {self.max_updates}")

    def _values(self, name: str) -> tuple[float, ...]:
        value = getattr(self, name)
        return value if isinstance(value, tuple) else (value,)

    def members(self, name: str, n_members: int) -> tuple[float, ...]:
        """``name``'s value for each of ``n_members`` members (a float is shared by all)."""
        value = getattr(self, name)
        if not isinstance(value, tuple):
            return (float(value),) * n_members
        if len(value) != n_members:
            raise ValueError(
                f"{name} has {len(value)} values (one per member) but the model "
                f"stacks {n_members} member(s)"
            )
        return value


def grid_config(
    cfg: TrainConfig, seeds: Sequence[int], **axes: Sequence[float]
) -> tuple[TrainConfig, list[dict]]:
    """A hyperparameter grid (and its seeds) as one stack.

    ``axes``: values of ``lr`` / ``momentum`` / ``weight_decay``; members are the full product
    with the seeds varying fastest, so member m uses seed ``seeds[m % len(seeds)]`` (build the
    stack with those seeds and pass one dataset per seed: ``x`` (len(seeds), n, ...)).
    Returns ``cfg`` with per-member tuples, and each member's point ``{axis: value, "seed": s}``.
    """
    bad = set(axes) - set(PER_MEMBER)
    if bad:
        raise ValueError(f"grid axes must be among {PER_MEMBER}, got {sorted(bad)}")
    names = list(axes)
    points = [
        dict(zip(names, v), seed=s) for v in itertools.product(*axes.values()) for s in seeds
    ]
    return replace(cfg, **{k: tuple(p[k] for p in points) for k in names}), points


@dataclass
class History:
    """What happened during :func:`fit`.

    ``loss``: (n_epochs, M) mean training loss per epoch and member; ``stopped_epoch``: (M,)
    epoch (1-based) at which each member met the stopping rule, 0 if it never did;
    ``evals``: whatever ``callback`` returned, with its epoch and update count.
    """

    config: dict
    loss: list[list[float]] = field(default_factory=list)
    stopped_epoch: list[int] = field(default_factory=list)
    n_updates: int = 0
    seconds: float = 0.0
    evals: list[dict] = field(default_factory=list)

    @property
    def n_epochs(self) -> int:
        return len(self.loss)

    @property
    def final_loss(self) -> list[float]:
        return self.loss[-1] if self.loss else []


def n_members(model: nn.Module) -> int:
    """Number of members of a stacked model; 1 for an ordinary model."""
    return int(getattr(model, "n_models", 1))


class Batches:
    """In-memory batching by index for M members.

    ``x``: (n, *shape) shared by all members, or (D, n, *shape) with ``y`` (D, n): D datasets,
    member m trains on dataset ``m % D`` (D = M: one each). Every epoch each member gets its own
    permutation, drawn from ``seed`` on x's device into the static buffer ``order`` (M, n) (CUDA
    graphs read it in place). ``gather(idx)`` -> x (M, b, *shape), y (M, b).
    """

    def __init__(self, x: Tensor, y: Tensor, M: int, batch_size: int, seed: int):
        self.M, self.n, dev = M, y.shape[-1], x.device
        D = 1 if y.dim() == 1 else y.shape[0]
        if y.dim() > 2 or M % D or x.shape[: y.dim()] != y.shape:
            raise ValueError(
                f"y must have shape (n,) or (D, n) with D dividing {M}, and x (n, ...) "
                f"or (D, n, ...) to match; got x {tuple(x.shape)}, y {tuple(y.shape)}"
            )
        self.shape = x.shape[y.dim() :]
        self.x = x if y.dim() == 1 else x.reshape(D * self.n, *self.shape)
        self.y = y.reshape(-1)
        self.offsets = (
            None if y.dim() == 1 else ((torch.arange(M, device=dev) % D) * self.n)[:, None]
        )
        self.gen = torch.Generator(device=dev).manual_seed(int(seed))
        self.order = torch.empty(M, self.n, dtype=torch.long, device=dev)
        self.loss_sum = torch.zeros(M, device=dev)
        bs = min(batch_size, self.n)
        self.bounds = [(s, min(s + bs, self.n)) for s in range(0, self.n, bs)]

    def shuffle(self) -> None:
        """A new batch order for every member (in place) and a zeroed loss sum."""
        perm = torch.argsort(
            torch.rand(self.M, self.n, generator=self.gen, device=self.x.device), dim=1
        )
        self.order.copy_(perm if self.offsets is None else perm + self.offsets)
        self.loss_sum.zero_()

    def index(self, b: int) -> Tensor:
        s, e = self.bounds[b]
        return self.order[:, s:e]

    def gather(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        flat = idx.reshape(-1)
        return (
            self.x.index_select(0, flat).view(self.M, -1, *self.shape),
            self.y.index_select(0, flat).view(self.M, -1),
        )

    def epoch_loss(self) -> list[float]:
        return (self.loss_sum / self.n).tolist()


class EarlyStop:
    """The stopping rule per member: at the first epoch whose mean loss is below ``stop_loss``
    the member's weights are saved; :meth:`restore` puts them back after training."""

    def __init__(
        self,
        params: Sequence[Tensor],
        lead: Callable[[Tensor], Tensor],
        M: int,
        stop_loss: float | None,
    ):
        self.params, self.lead, self.stop_loss = list(params), lead, stop_loss
        self.epochs = [0] * M
        self.saved: dict[int, list[Tensor]] = {}

    def update(self, epoch: int, losses: Sequence[float]) -> None:
        for m, value in enumerate(losses):
            if self.stop_loss is not None and not self.epochs[m] and value < self.stop_loss:
                self.epochs[m] = epoch
                self.saved[m] = [self.lead(p).detach()[m].clone() for p in self.params]

    @property
    def done(self) -> bool:
        return len(self.saved) == len(self.epochs)

    @torch.no_grad()
    def restore(self) -> None:
        for m, saved in self.saved.items():
            for p, s in zip(self.params, saved):
                self.lead(p)[m].copy_(s)


def member_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of each member: logits (M, B, C), y (M, B) -> (M,); (B, C), (B,) -> ()."""
    losses = nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none"
    )
    return losses.reshape(y.shape).mean(-1)


def train_step(
    stack: nn.Module,
    model: nn.Module,
    params: Sequence[Tensor],
    opt: StackedOptimizer,
    data: Batches,
    perturb: Perturb | None = None,
    loss: Loss | None = None,
) -> Callable[[Tensor], None]:
    """The step ``step(idx)`` on batch ``idx`` (M, b): forward, the mean cross-entropy of each
    member (or ``loss``, checked to give one value per member before any update), its gradients,
    the optimizer step; adds b * loss into ``data.loss_sum``. Without
    ``perturb`` and ``loss`` it makes no host synchronisation, so it can be captured in a CUDA
    graph."""
    lead, M = stack.lead, data.M
    plain = isinstance(stack, Single)

    def step(idx: Tensor) -> None:
        xb, yb = data.gather(idx)
        if perturb is not None:  # the attack sees the caller's model and its batch shapes
            xb = perturb(model, xb[0], yb[0]).unsqueeze(0) if plain else perturb(model, xb, yb)
        logits = stack(xb)
        if loss is None:
            per_member = member_cross_entropy(logits, yb)
        else:  # like perturb, a custom loss sees the caller's model and its batch shapes
            out = loss(model, xb[0], yb[0], logits[0]) if plain else loss(model, xb, yb, logits)
            if not isinstance(out, Tensor) or out.numel() != M:  # shapes only: no sync
                got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise ValueError(
                    f"loss must return one value per member ({M}, as a tensor), got {got}"
                )
            per_member = out.reshape(M)
        # members are independent: the gradient of the sum is each member's own gradient
        grads = torch.autograd.grad(per_member.sum(), params, allow_unused=True)
        opt.step([None if g is None else lead(g) for g in grads])
        data.loss_sum += per_member.detach() * idx.shape[1]

    return step


def use_cuda_graph(cfg: TrainConfig, x: Tensor, perturb: Perturb | None) -> bool:
    """Capture the step: allowed by ``cfg``, data on a CUDA device, no attack in the loop."""
    return cfg.cuda_graph and x.is_cuda and perturb is None


def fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: TrainConfig = TrainConfig(),
    *,
    seed: int = 0,
    perturb: Perturb | None = None,
    loss: Loss | None = None,
    callback: Callable[[nn.Module, int], dict] | None = None,
    eval_every: int | Collection[int] = 0,
    progress: bool = True,
    desc: str = "train",
    checkpoint: "checkpoints.Checkpoint | str | bool | None" = None,
) -> History:
    """Train ``model`` in place on (x, y) and return its :class:`History`.

    Args:
        model: a stacked model (logits (M, B, C)) or an ordinary one (logits (B, C)).
        x: (n, *shape) shown to every member, or (D, n, *shape): D datasets (e.g. one per seed),
            recognised by ``y`` having shape (D, n); member m trains on dataset ``m % D``.
            Already on the model's device.
        y: (n,) or (D, n) int64 class indices.
        cfg: optimizer (per-member lr / momentum / weight decay allowed), schedule, stopping rule.
        seed: seeds the batch order (each member gets its own permutation every epoch).
        perturb: ``perturb(model, x_batch, y_batch) -> x_batch'`` for adversarial training.
        loss: ``loss(model, x_batch, y_batch, logits) -> (M,)`` per-member training losses
            (a stack: x (M, b, ...), y (M, b), logits (M, b, C); an ordinary model: x (b, ...),
            y (b,), logits (b, C) and one value); default the mean cross-entropy of each member
            (:func:`member_cross_entropy`). The stopping rule reads this loss.
        callback: called as ``callback(model, epoch)`` every ``eval_every`` epochs, or at the
            epochs of ``eval_every`` when it is a collection of epochs (e.g. log-spaced), and
            after the last; its dict goes to ``History.evals``.
        checkpoint: a :class:`sbcore.checkpoints.Checkpoint` (or a path: saved every epoch) to
            continue a stopped fit from, bit for bit, or to fast-forward through a finished one;
            None: automatic under ``$SBCORE_CHECKPOINT_DIR`` when set; False: none.

    Raises ValueError naming the argument before any step (:func:`check_inputs`,
    :func:`check_model`, and a ``loss`` that gives no value per member), and
    :class:`~sbcore.train_guards.NonFiniteLoss` at the end of an epoch in which a member still
    training got a NaN or infinite loss (the whole stack stops: the message names each such
    member).
    """
    stack = as_stack(model)
    M, lead = n_members(stack), getattr(stack, "lead", lambda t: t)
    check_inputs(stack, x, y)
    if not isinstance(eval_every, int):
        eval_every = tuple(sorted({int(e) for e in eval_every}))
        if eval_every and eval_every[0] < 1:
            raise ValueError(f"eval_every: epochs must be >= 1, got {eval_every[0]}")
    due = (
        (lambda e: e % eval_every == 0)
        if isinstance(eval_every, int)
        else set(eval_every).__contains__
    )
    # a custom loss may synchronise (a norm, a data-dependent branch): no capture, as for perturb
    graph = use_cuda_graph(cfg, x, perturb) and loss is None
    data = Batches(x, y, M, cfg.batch_size, seed)
    check_model(stack, data)
    ckpt = checkpoints.start(
        checkpoint,
        model,
        x,
        y,
        cfg,
        seed=seed,
        desc=desc,
        callback=callback,
        eval_every=eval_every,
        perturb=perturb,
        loss=loss,
    )
    params = [p for p in stack.parameters() if p.requires_grad]
    opt = StackedOptimizer(
        [lead(p) for p in params],
        kind=cfg.optimizer,
        tensors=graph,
        **{k: cfg.members(k, M) for k in PER_MEMBER},
    )
    step = train_step(stack, model, params, opt, data, perturb, loss)
    run = CapturedStep(step, x.device) if graph else step
    stop = EarlyStop(params, lead, M, cfg.stop_loss)
    hist = History(config=asdict(cfg), stopped_epoch=stop.epochs)
    capped = lambda: bool(cfg.max_updates) and hist.n_updates >= cfg.max_updates  # noqa: E731
    first = 1 if ckpt is None else ckpt.resume(opt, stop, data.gen, hist)
    if first is None:  # this fit had ended: its final weights, History and RNG are restored
        model.eval()
        return hist
    start = time.perf_counter()
    bar = show_progress(
        range(first, cfg.max_epochs + 1),
        desc=desc,
        disable=not progress,
        initial=first - 1,
        total=cfg.max_epochs,
    )
    for epoch in bar:
        stack.train()
        data.shuffle()
        for b in range(len(data.bounds)):
            run(data.index(b))
            hist.n_updates += 1
            if capped():
                break
        if cfg.schedule == "step" and epoch % cfg.step_every == 0:  # as StepLR, after the epoch
            opt.set_lr([v * cfg.step_gamma for v in opt.lr_values])
        hist.loss.append(data.epoch_loss())
        if (err := nonfinite(hist, stop.epochs, epoch)) is not None:
            bar.close()
            raise err
        stop.update(epoch, hist.loss[-1])
        bar.set_postfix(loss=f"{max(hist.loss[-1]):.4f}", stopped=f"{len(stop.saved)}/{M}")
        done = stop.done or capped()
        if callback is not None and eval_every and (due(epoch) or done):
            hist.evals.append(
                {"epoch": epoch, "n_updates": hist.n_updates, **callback(model, epoch)}
            )
        if ckpt is not None:
            ckpt.after_epoch(last=done or epoch == cfg.max_epochs)
        if done:
            break
    bar.close()
    stop.restore()
    model.eval()
    hist.seconds += time.perf_counter() - start
    if ckpt is not None:
        ckpt.finish()
    return hist
