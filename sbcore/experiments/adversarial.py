"""Adversarial training and its evaluation (paper App. E.2, claims #28-#30, Fig. 7, Table 11).

Adversarial training (Madry et al. 2018) is ``sbcore.train.fit`` with a ``perturb`` hook that
replaces each batch by its PGD perturbation (:func:`adversarial_perturb`): no second training loop.
An eps-sweep is one stack: member ``i * n_seeds + j`` is budget ``eps[i]`` and seed ``seeds[j]``,
attacked within its own budget by :func:`sbcore.attacks.pgd_stacked`, trained and evaluated on
seed j's data, so every (eps, seed) pair trains in the same vectorized pass.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..attacks import NORMS, Clip, pgd, pgd_stacked
from ..data.dominoes import ImageDominoes
from ..data.synthetic import SyntheticData
from ..metrics import accuracy, randomized_eval, stack_data, table1_eval
from ..models.inference import predict_logits
from ..models.stacked import StackedFCN, is_stack
from ..train import History, Perturb, TrainConfig, fit


@dataclass(frozen=True)
class PGDConfig:
    """A PGD attack: ``n_steps`` steps of ``step_size`` (None: Madry's ``2.5 eps / n_steps``,
    which scales with each member's budget) in ``norm``, from a random start or from delta = 0.
    The paper (App. B): step 0.1, 40 steps, for l2 and linf."""

    n_steps: int = 40
    step_size: float | None = 0.1
    norm: str = "l2"
    random_start: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.n_steps, bool) or not isinstance(self.n_steps, int) or self.n_steps < 1:
            raise ValueError(f"n_steps must be an integer >= 1, got {self.n_steps!r}")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be None or > 0, got {self.step_size!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")

    def steps(self, eps: Tensor) -> Tensor:
        """Step size per budget, (M,); budgets of 0 get any positive step (nothing moves)."""
        eps = torch.as_tensor(eps, dtype=torch.float32).reshape(-1)
        if self.step_size is not None:
            return torch.full_like(eps, self.step_size)
        return (2.5 * eps / self.n_steps).clamp_min(1e-12)


def adversarial_perturb(eps, attack: PGDConfig, *, clip: Clip = None, seed: int = 0) -> Perturb:
    """The ``perturb`` hook of :func:`sbcore.train.fit` for adversarial training.

    ``eps``: one budget (an ordinary model, x (B, *shape)) or (M,) budgets, one per member of a
    stack (x (M, B, *shape)). Each call returns ``x + delta`` with delta from PGD; random starts
    are drawn from ``seed`` and a call counter, so a training run is reproducible."""
    eps_t = torch.as_tensor(eps, dtype=torch.float32).reshape(-1)
    steps = attack.steps(eps_t)
    calls = itertools.count()

    def perturb(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        s = seed * 1_000_003 + next(calls)
        kw = dict(
            n_steps=attack.n_steps,
            norm=attack.norm,
            random_start=attack.random_start,
            clip=clip,
            seed=s,
        )
        if is_stack(model):
            return x + pgd_stacked(model, x, y, eps=eps_t, step_size=steps, **kw)
        return x + pgd(model, x, y, eps=float(eps_t[0]), step_size=float(steps[0]), **kw)

    return perturb


def robust_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps,
    attack: PGDConfig,
    *,
    clip: Clip = None,
    batch_size: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """eps-robust accuracy under ``attack`` (an upper bound on the true robust accuracy).

    A stack: x (M, n, *shape), y (M, n), eps one number or (M,); returns (M,). An ordinary model:
    x (n, *shape), y (n,), eps a number; returns (1,). Batches of ``batch_size`` points."""
    stacked = is_stack(model)
    eps_t = torch.as_tensor(eps, dtype=torch.float32).reshape(-1)
    steps = attack.steps(eps_t)
    n = y.shape[-1]
    hits = []
    for b, start in enumerate(range(0, n, batch_size)):
        sl = slice(start, start + batch_size)
        xb, yb = (x[:, sl], y[:, sl]) if stacked else (x[sl], y[sl])
        kw = dict(
            n_steps=attack.n_steps,
            norm=attack.norm,
            random_start=attack.random_start,
            clip=clip,
            seed=seed + b,
        )
        if stacked:
            delta = pgd_stacked(model, xb, yb, eps=eps_t, step_size=steps, **kw)
        else:
            delta = pgd(model, xb, yb, eps=float(eps_t[0]), step_size=float(steps[0]), **kw)
        with torch.no_grad():
            logits = model(xb + delta)
        hits.append(logits.argmax(-1) == yb)
    return torch.cat(hits, dim=-1).double().mean(-1).reshape(-1).cpu().numpy()


@dataclass
class SweepResult:
    """An eps-sweep of one architecture: every array is (n_eps, n_seeds).

    ``acc``/``robust``: standard and eps-robust test accuracy (each model attacked at its own
    training budget); ``s_acc``/``sc_acc``: S- and Sc-randomized test accuracy; ``train_acc``:
    standard training accuracy; ``model``: the trained stack; ``history``: its training;
    ``robust_at``: eps-robust test accuracy of every model at the one budget ``eps_at`` (None when
    the sweep was not asked for it)."""

    width: int
    depth: int
    eps: np.ndarray
    acc: np.ndarray
    robust: np.ndarray
    s_acc: np.ndarray
    sc_acc: np.ndarray
    train_acc: np.ndarray
    model: nn.Module
    history: History
    robust_at: np.ndarray | None = None
    eps_at: float | None = None

    @property
    def label(self) -> str:
        return f"({self.width},{self.depth})-FCN"

    def where(self, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
        """Boolean mask over the eps grid: lo <= eps <= hi."""
        return (self.eps >= lo - 1e-9) & (self.eps <= hi + 1e-9)


def sweep_members(eps: Sequence[float], n_seeds: int) -> tuple[Tensor, list[int]]:
    """Member budgets (M,) and member -> seed index, M = len(eps) * n_seeds (eps-major)."""
    budgets = torch.tensor([float(e) for e in eps for _ in range(n_seeds)])
    return budgets, [j for _ in eps for j in range(n_seeds)]


def train_eps_sweep(
    trains: Sequence[SyntheticData],
    tests: Sequence[SyntheticData],
    eps: Sequence[float],
    *,
    width: int,
    depth: int,
    cfg: TrainConfig,
    attack: PGDConfig,
    eval_attack: PGDConfig,
    seeds: Sequence[int],
    device="cpu",
    progress: bool = True,
    eps_at: float | None = None,
) -> SweepResult:
    """Adversarially train a (width, depth)-FCN at every budget in ``eps`` and every seed, as one
    stack, and evaluate it (App. E.2.1, Fig. 7: the same eps for training and evaluation); with
    ``eps_at``, also every model's robust accuracy at that one budget (e.g. gamma_data).

    ``trains[j]``/``tests[j]``: seed j's data; ``seeds[j]`` also initializes its members (offset
    by the budget's index). Randomized accuracies use :func:`sbcore.metrics.randomized_eval`."""
    if not (len(trains) == len(tests) == len(seeds) >= 1):
        raise ValueError("trains, tests and seeds must have one entry per seed")
    budgets, which = sweep_members(eps, len(seeds))
    init = [10_000 * (i // len(seeds) + 1) + seeds[j] for i, j in enumerate(which)]
    model = StackedFCN(
        trains[0].n_features, width=width, depth=depth, n_models=len(which), seeds=init
    ).to(device)
    x, y = stack_data([trains[j] for j in which])
    x, y = (x, y) if x.dim() == 3 else (x[None], y[None])
    hist = fit(
        model,
        x.to(device),
        y.to(device),
        cfg,
        seed=seeds[0],
        progress=progress,
        perturb=adversarial_perturb(budgets.to(device), attack, seed=seeds[0]),
        desc=f"AT ({width},{depth})-FCN, {len(eps)} eps x {len(seeds)} seeds",
    )
    member_tests = [tests[j] for j in which]
    ev = randomized_eval(model, member_tests, seed=seeds[0])
    xt, yt = stack_data(member_tests)
    xt, yt = (xt, yt) if xt.dim() == 3 else (xt[None], yt[None])
    rob = robust_accuracy(
        model, xt.to(device), yt.to(device), budgets.to(device), eval_attack, seed=seeds[0]
    )
    shape = (len(eps), len(seeds))
    rob_at = None
    if eps_at is not None:
        rob_at = robust_accuracy(
            model,
            xt.to(device),
            yt.to(device),
            torch.full_like(budgets, float(eps_at)).to(device),
            eval_attack,
            seed=seeds[0],
        ).reshape(shape)
    with torch.no_grad():
        train_acc = accuracy(predict_logits(model, x.to(device), per_member=True).cpu(), y)
    return SweepResult(
        width,
        depth,
        np.asarray(eps, float),
        ev.acc.reshape(shape),
        rob.reshape(shape),
        ev.s_acc.reshape(shape),
        ev.sc_acc.reshape(shape),
        train_acc.reshape(shape),
        model,
        hist,
        rob_at,
        eps_at,
    )


def image_eval(
    model: nn.Module,
    test: ImageDominoes,
    *,
    eps: float,
    attack: PGDConfig,
    seed: int = 0,
    member: int = 0,
) -> dict[str, float]:
    """Table 11's columns for one image model: standard, eps-robust (pixels clipped to [0, 1]),
    S-randomized and Sc-randomized test accuracy. The randomized test sets are drawn from
    ``member_seed(seed, member)``."""
    device = next(model.parameters()).device
    x, y = test.x.to(device), test.y.to(device)
    model.eval()

    def logits(variant: list, _: str) -> torch.Tensor:
        return predict_logits(model, variant[0].x.to(device), batch_size=500).cpu()

    ev = table1_eval(logits, [test], test.y, seed=seed, first_member=member)
    out = {"acc": float(ev.acc[0]), "s_acc": float(ev.s_acc[0]), "sc_acc": float(ev.sc_acc[0])}
    out["robust"] = float(
        robust_accuracy(model, x, y, eps, attack, clip=(0.0, 1.0), seed=seed, batch_size=500)[0]
    )
    return out
