"""Stacks on the CPU: (b) ten seeds in one stack against one seed, and (c) a chapter-06 grid
(learning rate x weight decay x momentum, 2 seeds each) as one stack with per-member
hyperparameters against one run per grid point (what ``generalization.run_grid`` does now).

Contenders alternate in one process; every number is the median of ``repeats``. Only training is
timed (the data are made once, before). Fixed epochs, no early stopping: every contender does
the same number of updates per member.
"""

from __future__ import annotations

import time
from dataclasses import replace

from machine import alternate, matmul_gflops, median

from sbcore.data import from_name
from sbcore.metrics import stack_data
from sbcore.models import ModelSpec
from sbcore.train import TrainConfig, fit, grid_config


def update_flops(d: int, width: int, depth: int, batch: int) -> float:
    """FLOPs of one member's update of a (width, depth)-FCN: forward 2 per multiply-add, backward
    twice that, except the first layer, which needs no input gradient."""
    first, rest = d * width, (depth - 1) * width * width + width * 2
    return 2 * batch * (2 * first + 3 * rest)


def _timed_fit(spec: ModelSpec, x, y, cfg: TrainConfig, seeds) -> float:
    model = spec.build(x.shape[-1], seeds=list(seeds))
    start = time.perf_counter()
    fit(model, x, y, cfg, seed=seeds[0], progress=False)
    return time.perf_counter() - start


def seeds_in_one_stack(repeats: int = 3, n_train: int = 20_000, epochs: int = 3) -> dict:
    """(b) LMS-5, (100,2)-FCN, the paper's recipe (SGD lr 0.1, batch 256), one dataset per seed."""
    spec, seeds = ModelSpec.parse("(100,2)-FCN"), list(range(10))
    x, y = stack_data([from_name("LMS-5", n_train, seed=s) for s in seeds])
    cfg = TrainConfig(max_epochs=epochs, stop_loss=None)
    times = alternate(
        {
            "one_seed_s": lambda: _timed_fit(spec, x[0], y[0], cfg, [0]),
            "ten_seeds_stacked_s": lambda: _timed_fit(spec, x, y, cfg, seeds),
        },
        repeats,
    )
    med = {k: median(v) for k, v in times.items()}
    # The arithmetic of ten members at the matmul rate measured now bounds the stack from below.
    gflops = matmul_gflops()
    n_updates = epochs * -(-n_train // 256)
    floor_s = 10 * n_updates * update_flops(50, 100, 2, 256) / (gflops * 1e9)
    return {
        "config": f"LMS-5, n={n_train}, (100,2)-FCN, SGD lr 0.1, batch 256, {epochs} epochs",
        **{k: round(v, 3) for k, v in med.items()},
        "ratio_ten_stacked_over_one": round(med["ten_seeds_stacked_s"] / med["one_seed_s"], 2),
        "matmul_gflops_now": round(gflops, 1),
        "ten_seeds_arithmetic_floor_s": round(floor_s, 3),
        "ratio_floor_from_arithmetic": round(floor_s / med["one_seed_s"], 2),
        "speedup_per_seed": round(10 * med["one_seed_s"] / med["ten_seeds_stacked_s"], 2),
        "target": "ratio <= 2.5",
        "raw": times,
    }


GRID = dict(lr=(0.01, 0.05, 0.1), weight_decay=(0.0, 5e-5, 5e-4), momentum=(0.0, 0.9))


def grid_as_one_stack(repeats: int = 2, n_train: int = 10_000, epochs: int = 3) -> dict:
    """(c) noisy LMS-7 (p = 0.1), (100,1)-FCN, the 18-point GRID at batch 256, 2 seeds each."""
    spec, seeds = ModelSpec.parse("(100,1)-FCN"), [0, 1]
    x, y = stack_data([from_name("noisy LMS-7", n_train, seed=s) for s in seeds])
    base = TrainConfig(batch_size=256, max_epochs=epochs, stop_loss=None)
    stack_cfg, points = grid_config(base, seeds, **GRID)

    def per_point() -> float:
        total = 0.0
        for i in range(0, len(points), len(seeds)):
            hp = {k: points[i][k] for k in GRID}
            total += _timed_fit(spec, x, y, replace(base, **hp), seeds)
        return total

    member_seeds = [p["seed"] for p in points]
    times = alternate(
        {
            "one_run_per_point_s": per_point,
            "one_stack_s": lambda: _timed_fit(spec, x, y, stack_cfg, member_seeds),
        },
        repeats,
    )
    med = {k: median(v) for k, v in times.items()}
    return {
        "config": f"noisy LMS-7, n={n_train}, (100,1)-FCN, {len(points) // 2} grid points "
        f"x 2 seeds = {len(points)} members, batch 256, {epochs} epochs",
        **{k: round(v, 3) for k, v in med.items()},
        "speedup": round(med["one_run_per_point_s"] / med["one_stack_s"], 2),
        "raw": times,
    }


if __name__ == "__main__":
    print(seeds_in_one_stack(repeats=1))
    print(grid_as_one_stack(repeats=1))
