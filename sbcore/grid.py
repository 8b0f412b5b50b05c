"""Hyperparameter grids of SGD (paper App. D.1): the grid, one stack per grid point, validation
accuracy per member and the model selection by it."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .experiments import StackResult, train_stack
from .metrics import accuracy, logits_on, stack_data
from .scales import require
from .train import TrainConfig

HP = {"lr": "learning rate", "batch_size": "batch", "weight_decay": "weight decay",
      "momentum": "momentum"}  # a grid point's hyperparameters, and their names in prose


@dataclass(frozen=True)
class SGDGrid:
    """The hyperparameter grid of App. D.1 (a full product; constant learning rate)."""

    lr: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.3)
    batch_size: tuple[int, ...] = (4, 16, 64, 256)
    weight_decay: tuple[float, ...] = (0.0, 5e-5, 5e-4)
    momentum: tuple[float, ...] = (0.0, 0.9, 0.95)

    def __post_init__(self) -> None:
        for name, ok, allowed in (
                ("lr", lambda v: v > 0, "positive values"),
                ("batch_size", lambda v: isinstance(v, int) and v > 0, "positive integers"),
                ("weight_decay", lambda v: v >= 0, "values >= 0"),
                ("momentum", lambda v: 0 <= v < 1, "values in [0, 1)")):
            vals = getattr(self, name)
            require(len(vals) > 0 and all(ok(v) for v in vals), f"grid.{name}",
                    f"a non-empty tuple of {allowed}", vals)

    def __len__(self) -> int:
        return math.prod(len(getattr(self, k)) for k in HP)

    def combinations(self) -> list[dict]:
        """Every point of the grid as ``{"lr", "batch_size", "weight_decay", "momentum"}``."""
        return [dict(zip(HP, v)) for v in itertools.product(*(getattr(self, k) for k in HP))]

    def describe(self) -> str:
        """The grid in words, e.g. "learning rate 0.01 or 0.1, batch 256, ..."."""
        return ", ".join(f"{w} {' or '.join(f'{v:g}' for v in getattr(self, k))}"
                         for k, w in HP.items())


@dataclass
class GridRun:
    """One (architecture, grid point) stack: its hyperparameters, validation accuracy per seed
    and the full :class:`StackResult` (train/test/randomized diagnostics on the test sets)."""

    hp: dict
    val_acc: np.ndarray
    result: StackResult


def run_grid(model: str, trains, vals, tests, grid: SGDGrid, base: TrainConfig, *,
             seeds: Sequence[int], device="cpu", progress: bool = True) -> list[GridRun]:
    """Train ``model`` at every point of ``grid`` (one stack of ``len(seeds)`` members each, the
    grid point's hyperparameters on top of ``base``: budget and stopping rule) and measure each
    member's validation accuracy (App. D.1 selects by it)."""
    runs = []
    for hp in grid.combinations():
        res = train_stack(model, trains, tests, replace(base, **{k: hp[k] for k in HP}),
                          seeds=seeds, device=device, progress=progress)
        runs.append(GridRun(hp, accuracy(logits_on(res.model, vals), stack_data(vals)[1]), res))
    return runs


def best_run(runs: Sequence[GridRun]) -> GridRun:
    """The grid point with the highest mean validation accuracy (App. D.1's model selection)."""
    return max(runs, key=lambda r: float(np.mean(r.val_acc)))
