"""One model-agnostic training loop (knows nothing of datasets or attacks).

The paper's recipe (App. B): SGD, at most 500 epochs, stopping once the training loss falls
below 0.01. Data stay in memory as tensors and batches are drawn by index (no DataLoader).
A stacked model (:class:`sbcore.models.Stacked`) trains all its members in one vectorized pass;
each member draws its own batch order and stops on its own: once its epoch loss is below the
threshold its weights are frozen at that point (the stack keeps computing it, which is cheaper
than reshaping the stack, and its frozen weights are restored at the end).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn
from tqdm import tqdm  # plain text bar: works in a terminal, a notebook and papermill logs

OPTIMIZERS = ("sgd", "adam", "rmsprop")
SCHEDULES = ("constant", "step")

Perturb = Callable[[nn.Module, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, schedule and stopping rule. Defaults: the paper's synthetic recipe (App. B).

    ``schedule="step"`` multiplies the learning rate by ``step_gamma`` every ``step_every``
    epochs (the MNIST-CIFAR recipe: x0.2 every 30). ``stop_loss=None`` disables early stopping.
    ``max_updates`` caps the number of SGD updates (App. D.1 uses 10M).
    """

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 5e-7
    batch_size: int = 256
    max_epochs: int = 500
    stop_loss: float | None = 0.01
    schedule: str = "constant"
    step_every: int = 30
    step_gamma: float = 0.2
    max_updates: int | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("lr", "batch_size", "max_epochs", "step_every"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.max_updates is not None and self.max_updates < 1:
            raise ValueError(f"max_updates must be >= 1 or None, got {self.max_updates}")


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


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer of ``cfg`` (momentum is RMSProp's momentum, Adam ignores it)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)


def n_members(model: nn.Module) -> int:
    """Number of members of a stacked model; 1 for an ordinary model."""
    return int(getattr(model, "n_models", 1))


def gather_batch(x: Tensor, idx: Tensor, *, shared: bool, stacked: bool) -> Tensor:
    """Rows ``idx`` (M, b) of ``x``: shared x (n, ...) or one dataset per member (M, n, ...).

    Returns (M, b, ...) for a stacked model, (b, ...) for an ordinary one (M must be 1).
    """
    if shared:
        out = x[idx]
    else:
        out = x[torch.arange(idx.shape[0], device=x.device)[:, None], idx]
    return out if stacked else out[0]


def fit(model: nn.Module, x: Tensor, y: Tensor, cfg: TrainConfig = TrainConfig(), *,
        seed: int = 0, perturb: Perturb | None = None,
        callback: Callable[[nn.Module, int], dict] | None = None, eval_every: int = 0,
        progress: bool = True, desc: str = "train") -> History:
    """Train ``model`` in place on (x, y) and return its :class:`History`.

    Args:
        model: a stacked model (logits (M, B, C)) or an ordinary one (logits (B, C)).
        x: (n, *shape) shown to every member, or (M, n, *shape): one dataset per member (e.g.
            one per seed), recognised by ``y`` having shape (M, n). Already on the model's device.
        y: (n,) or (M, n) int64 class indices.
        cfg: optimizer, schedule and stopping rule.
        seed: seeds the batch order (each member gets its own permutation every epoch).
        perturb: ``perturb(model, x_batch, y_batch) -> x_batch'`` for adversarial training.
        callback: called as ``callback(model, epoch)`` every ``eval_every`` epochs (and after the
            last); its dict goes to ``History.evals``.
    """
    M = n_members(model)
    stacked = hasattr(model, "n_models")
    n = y.shape[-1]
    shared = y.dim() == 1
    y = y.unsqueeze(0).expand(M, n) if shared else y
    if y.shape[0] != M:
        raise ValueError(f"y must have shape (n,) or ({M}, n), got {tuple(y.shape)}")
    device = x.device
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    opt = make_optimizer(model.parameters(), cfg)
    sched = (torch.optim.lr_scheduler.StepLR(opt, cfg.step_every, cfg.step_gamma)
             if cfg.schedule == "step" else None)
    hist = History(config=asdict(cfg), stopped_epoch=[0] * M)
    frozen: dict[int, list[Tensor]] = {}
    params = list(model.parameters())
    bs = min(cfg.batch_size, n)
    n_batches = math.ceil(n / bs)
    start = time.perf_counter()
    bar = tqdm(range(1, cfg.max_epochs + 1), desc=desc, disable=not progress, leave=False,
               mininterval=1.0)
    for epoch in bar:
        model.train()
        perm = torch.argsort(torch.rand(M, n, generator=g), dim=1).to(device)
        loss_sum = torch.zeros(M, device=device)
        for b in range(n_batches):
            idx = perm[:, b * bs:(b + 1) * bs]
            xb = gather_batch(x, idx, shared=shared, stacked=stacked)
            yb = torch.gather(y, 1, idx)
            if perturb is not None:
                xb = perturb(model, xb, yb if stacked else yb[0])
            logits = model(xb)
            logits = logits if stacked else logits.unsqueeze(0)
            losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 yb.reshape(-1), reduction="none")
            per_model = losses.view(M, -1).mean(1)
            opt.zero_grad(set_to_none=True)
            per_model.sum().backward()  # members are independent: the sum keeps their gradients
            opt.step()
            loss_sum += per_model.detach() * idx.shape[1]
            hist.n_updates += 1
            if cfg.max_updates and hist.n_updates >= cfg.max_updates:
                break
        if sched is not None:
            sched.step()
        epoch_loss = (loss_sum / n).tolist()
        hist.loss.append(epoch_loss)
        for m, value in enumerate(epoch_loss):
            if cfg.stop_loss is not None and not hist.stopped_epoch[m] and value < cfg.stop_loss:
                hist.stopped_epoch[m] = epoch
                frozen[m] = [p.detach()[m].clone() if stacked else p.detach().clone() for p in params]
        bar.set_postfix(loss=f"{max(epoch_loss):.4f}", stopped=f"{len(frozen)}/{M}")
        done = len(frozen) == M or (cfg.max_updates and hist.n_updates >= cfg.max_updates)
        if callback is not None and eval_every and (epoch % eval_every == 0 or done):
            hist.evals.append({"epoch": epoch, "n_updates": hist.n_updates, **callback(model, epoch)})
        if done:
            break
    bar.close()
    with torch.no_grad():  # members that stopped early get their weights back
        for m, saved in frozen.items():
            for p, s in zip(params, saved):
                (p[m] if stacked else p).copy_(s)
    model.eval()
    hist.seconds = time.perf_counter() - start
    return hist
