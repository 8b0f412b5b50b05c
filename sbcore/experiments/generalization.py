"""Hyperparameter grids of SGD (paper App. D.1): the grid, trained as one stack per batch size,
validation accuracy per member and the model selection by it.

The batch size cannot differ inside a stack (one batch index per step), so the grid trains as
``len(grid.batch_size)`` stacks. Each stack holds every (learning rate, weight decay, momentum)
point of its batch size times every seed (:func:`sbcore.train.grid_config`: per-member
hyperparameters, seeds varying fastest), member ``p * S + s`` on seed ``s``'s dataset and
initialized from that seed. Members stop on their own, and each point is trained, evaluated and
reported as one :func:`sbcore.experiments.stacks.train_stack` run per point would be (the same
initialization, data, recipe, stopping and evaluation); only the members' batch orders differ,
drawn from one generator for the whole stack. With full-batch steps the two agree to float
tolerance (tests/test_generalization.py checks it).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np

from ..metrics import accuracy, logits_on, randomized_eval, stack_data
from ..metrics import eval_seed as seed_for
from ..models.specs import ModelSpec
from ..scales import require
from ..train import History, TrainConfig, fit, grid_config
from .stacks import StackResult

HP = {
    "lr": "learning rate",
    "batch_size": "batch",
    "weight_decay": "weight decay",
    "momentum": "momentum",
}  # a grid point's hyperparameters, and their names in prose
MEMBER_HP = ("lr", "weight_decay", "momentum")  # what may differ inside one stack


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
            ("momentum", lambda v: 0 <= v < 1, "values in [0, 1)"),
        ):
            vals = getattr(self, name)
            require(
                len(vals) > 0 and all(ok(v) for v in vals),
                f"grid.{name}",
                f"a non-empty tuple of {allowed}",
                vals,
            )

    def __len__(self) -> int:
        return math.prod(len(getattr(self, k)) for k in HP)

    def combinations(self) -> list[dict]:
        """Every point of the grid as ``{"lr", "batch_size", "weight_decay", "momentum"}``."""
        return [dict(zip(HP, v)) for v in itertools.product(*(getattr(self, k) for k in HP))]

    def describe(self) -> str:
        """The grid in words, e.g. "learning rate 0.01 or 0.1, batch 256, ..."."""
        return ", ".join(
            f"{w} {' or '.join(f'{v:g}' for v in getattr(self, k))}" for k, w in HP.items()
        )

    def n_in(self, other: "SGDGrid") -> int:
        """How many of this grid's points are points of ``other`` (e.g. of the paper's grid)."""
        theirs = {tuple(c.values()) for c in other.combinations()}
        return sum(tuple(c.values()) in theirs for c in self.combinations())


@dataclass
class GridRun:
    """One (architecture, grid point): its hyperparameters, validation accuracy per seed and a
    :class:`StackResult` of its seeds (train/test/randomized diagnostics on the test sets)."""

    hp: dict
    val_acc: np.ndarray
    result: StackResult


def point_history(
    hist: History, members: Sequence[int], cfg: TrainConfig, n_batches: int
) -> History:
    """The :class:`History` that ``members`` of a stack would have had trained alone: their loss
    columns, up to the epoch at which the last of them stopped (or the whole run if one never
    did), that many epochs' updates, and the stack's seconds in proportion to its members."""
    stopped = [hist.stopped_epoch[m] for m in members]
    if all(stopped):
        n_epochs = max(stopped)
        n_updates = min(n_epochs * n_batches, cfg.max_updates or math.inf)
    else:
        n_epochs, n_updates = hist.n_epochs, hist.n_updates
    share = len(members) / len(hist.stopped_epoch)
    loss = [[row[m] for m in members] for row in hist.loss[:n_epochs]]
    return History(
        config=asdict(cfg),
        loss=loss,
        stopped_epoch=stopped,
        n_updates=int(n_updates),
        seconds=hist.seconds * share,
    )


def run_grid(
    model: str,
    trains,
    vals,
    tests,
    grid: SGDGrid,
    base: TrainConfig,
    *,
    seeds: Sequence[int],
    device="cpu",
    progress: bool = True,
    eval_seed: int = 0,
) -> list[GridRun]:
    """Train ``model`` at every point of ``grid`` for every seed (seed s on ``trains[s]``), the
    grid point's hyperparameters on top of ``base`` (budget and stopping rule), as one stack per
    batch size; then evaluate each point's members on ``vals`` (App. D.1 selects by validation
    accuracy) and ``tests`` as :func:`sbcore.experiments.stacks.train_stack` does, each
    (architecture, grid point) with a randomization seed of its own (``eval_seed(eval_seed,
    model, *hyperparameters)``: independent measurements, not one permutation seen many times). Returns one
    :class:`GridRun` per point, in the order of ``grid.combinations()``."""
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    if not len(trains) == len(vals) == len(tests) == len(seeds):
        raise ValueError(f"trains, vals and tests must hold one dataset per seed ({len(seeds)})")
    done = {}
    for bs in grid.batch_size:
        for run in _train_batch_size(
            spec,
            trains,
            vals,
            tests,
            grid,
            replace(base, batch_size=bs),
            seeds=seeds,
            device=device,
            progress=progress,
            eval_seed=eval_seed,
        ):
            done[tuple(run.hp.values())] = run
    return [done[tuple(hp.values())] for hp in grid.combinations()]


def _train_batch_size(
    spec: ModelSpec,
    trains,
    vals,
    tests,
    grid: SGDGrid,
    base: TrainConfig,
    *,
    seeds,
    device,
    progress,
    eval_seed,
) -> list[GridRun]:
    """One stack: every (lr, weight decay, momentum) point of ``grid`` x every seed at
    ``base.batch_size``; then one :class:`GridRun` per point."""
    S = len(seeds)
    cfg, points = grid_config(base, seeds, **{k: getattr(grid, k) for k in MEMBER_HP})
    x, y = stack_data(trains)
    stack = spec.build(trains[0].n_features, seeds=[p["seed"] for p in points]).to(device)
    hist = fit(
        stack,
        x.to(device),
        y.to(device),
        cfg,
        seed=seeds[0],
        progress=progress,
        desc=f"{spec.label}, batch {base.batch_size}, {len(points) // S} grid points x {S} seeds",
    )
    n = trains[0].n_samples
    n_batches = math.ceil(n / min(base.batch_size, n))
    y_val = stack_data(vals)[1]
    runs = []
    for first in range(0, len(points), S):
        members = list(range(first, first + S))
        hp = {k: (base.batch_size if k == "batch_size" else points[first][k]) for k in HP}
        sub = stack.select(members)
        point_cfg = replace(base, **{k: hp[k] for k in MEMBER_HP})
        res = StackResult(
            trains[0].name,
            spec.label,
            sub,
            point_history(hist, members, point_cfg, n_batches),
            randomized_eval(sub, tests, seed=seed_for(eval_seed, spec.label, *hp.values())),
            accuracy(logits_on(sub, trains), y).tolist(),
        )
        runs.append(GridRun(hp, accuracy(logits_on(sub, vals), y_val), res))
    return runs


def best_run(runs: Sequence[GridRun]) -> GridRun:
    """The grid point with the highest mean validation accuracy (App. D.1's model selection)."""
    return max(runs, key=lambda r: float(np.mean(r.val_acc)))
