"""Adversarial training over an eps-sweep: one stacked model against one run per eps, side by side.

Chapter 08's book-scale AdvMS-(5,7) step: 6,000 training points (d = 20), a (100,2)-FCN, six l2
budgets (0.05, 0.1, 0.2, 0.3, 0.45, 0.62), 3 PGD steps of 2.5 eps / 3 per batch, SGD lr 0.1,
momentum 0.9, batch 128, a fixed number of epochs (no early stopping: both contenders make the
same updates per member). The stack trains the six budgets as six members, each attacked within
its own budget by ``pgd_stacked``; the other contender calls ``fit`` once per budget on a
one-member stack. Both go through ``fit``'s ``perturb`` hook. Contenders alternate in one
process; every number is the median of ``repeats``; only training is timed.

Run alone: ``OMP_NUM_THREADS=1 python benchmarks/bench_adversarial.py`` (writes
``adversarial_results.json`` next to this file, with the machine, its load and its measured
matrix-multiply GFLOP/s). The tests never run it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
from machine import alternate, describe, matmul_gflops, median

from sbcore.data.synthetic import make_adv_ms
from sbcore.experiments.adversarial import PGDConfig, adversarial_perturb
from sbcore.models.stacked import StackedFCN
from sbcore.train import TrainConfig, fit

EPS = (0.05, 0.1, 0.2, 0.3, 0.45, 0.62)
ATTACK = PGDConfig(n_steps=3, step_size=None)


def member_flops(n_train: int, epochs: int, d: int = 20, width: int = 100) -> float:
    """FLOPs of one member over a run of a (width, 2)-FCN: per example and epoch, each PGD step
    is a forward and an input backward (about 3 forwards), the update a forward and a backward
    (about 3 forwards); a forward is 2 FLOPs per multiply-add."""
    forward = 2 * (d * width + width * width + width * 2)
    return forward * 3 * (ATTACK.n_steps + 1) * n_train * epochs


def _timed(x, y, cfg: TrainConfig, eps: list[float], seeds: list[int], width: int) -> float:
    model = StackedFCN(x.shape[1], width=width, depth=2, n_models=len(eps), seeds=seeds)
    start = time.perf_counter()
    fit(
        model,
        x,
        y,
        cfg,
        seed=seeds[0],
        perturb=adversarial_perturb(torch.tensor(eps), ATTACK),
        progress=False,
    )
    return time.perf_counter() - start


def main(repeats: int = 3, n_train: int = 6000, epochs: int = 2, width: int = 100) -> dict:
    data = make_adv_ms(n_train, seed=0)
    cfg = TrainConfig(lr=0.1, momentum=0.9, batch_size=128, max_epochs=epochs, stop_loss=None)
    seeds = list(range(len(EPS)))

    def one_run_per_eps() -> float:
        return sum(_timed(data.x, data.y, cfg, [e], [s], width) for e, s in zip(EPS, seeds))

    times = alternate(
        {
            "one_run_per_eps_s": one_run_per_eps,
            "one_stack_s": lambda: _timed(data.x, data.y, cfg, list(EPS), seeds, width),
        },
        repeats,
    )
    med = {k: median(v) for k, v in times.items()}
    gflops = matmul_gflops()
    work = len(EPS) * member_flops(n_train, epochs, width=width) / 1e9
    return {
        "config": f"AdvMS-(5,7), n={n_train}, ({width},2)-FCN, {len(EPS)} budgets, l2 PGD "
        f"{ATTACK.n_steps} steps, SGD lr 0.1 momentum 0.9, batch 128, {epochs} epochs",
        **{k: round(v, 3) for k, v in med.items()},
        "speedup": round(med["one_run_per_eps_s"] / med["one_stack_s"], 2),
        "matmul_gflops_now": round(gflops, 1),
        "achieved_gflops": {k: round(work / v, 1) for k, v in med.items()},
        "raw": times,
    }


if __name__ == "__main__":
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe("cpu"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "adversarial_sweep": main(),
    }
    out["machine_after"] = {"load_avg_1min": round(os.getloadavg()[0], 2)}
    Path(__file__).with_name("adversarial_results.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out["adversarial_sweep"].items() if k != "raw"}))
