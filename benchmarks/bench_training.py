"""Training speed of sbcore against a plain PyTorch DataLoader loop, side by side in one run.

Configuration: LMS-5 (d = 50), a (100,2)-FCN, SGD lr 0.1, batch 256 (the paper's recipe).

1. Time per SGD update: sbcore's in-memory, index-batched trainer vs the textbook loop
   (TensorDataset + DataLoader(shuffle=True) + nn.Sequential).
2. Time from start to the stopping rule (training loss < 0.01), with the standard, S- and
   Sc-randomized AUCs computed, for both.
3. Ten seeds trained together as one stacked model vs ten sequential sbcore runs.
4. The ceiling: the machine's measured matrix-multiply throughput, turned into the least time one
   update's floating-point work can take.

Every comparison is measured in the same process, alternating the contenders, and reported as a
ratio of medians. Run: ``make bench`` (writes benchmarks/results.json; copy the table into
benchmarks/README.md).
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from sbcore.data import make_lms, randomize
from sbcore.metrics import randomized_eval
from sbcore.models import ModelSpec
from sbcore.train import TrainConfig, fit

N_TRAIN, N_TEST, WIDTH, DEPTH, BATCH, LR = 20_000, 5_000, 100, 2, 256, 0.1
REPEATS = 3


def plain_fcn(d: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers, width = [], d
    for _ in range(DEPTH):
        layers += [nn.Linear(width, WIDTH), nn.ReLU()]
        width = WIDTH
    return nn.Sequential(*layers, nn.Linear(width, 2))


def plain_train(x, y, *, seed: int, max_updates: int | None = None, stop_loss: float | None = None,
                max_epochs: int = 500) -> tuple[nn.Module, int, float]:
    """The textbook loop. Returns (model, number of updates, seconds)."""
    model = plain_fcn(x.shape[1], seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR, weight_decay=5e-7)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    n, start = 0, time.perf_counter()
    for _ in range(max_epochs):
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += 1
            if max_updates and n >= max_updates:
                return model, n, time.perf_counter() - start
        if stop_loss is not None and total / len(y) < stop_loss:
            break
    return model, n, time.perf_counter() - start


def plain_aucs(model: nn.Module, test) -> list[float]:
    out = []
    with torch.no_grad():
        for data in (test, randomize(test, "S"), randomize(test, "Sc")):
            lg = model(data.x)
            out.append(roc_auc_score(data.y.numpy(), (lg[:, 1] - lg[:, 0]).numpy()))
    return out


def matmul_gflops(size: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def update_flops(d: int) -> float:
    """Forward + backward (about 3x forward) multiply-adds of one batch, as FLOPs."""
    macs = d * WIDTH + (DEPTH - 1) * WIDTH * WIDTH + WIDTH * 2
    return 3 * 2 * macs * BATCH


def main() -> dict:
    data = make_lms(N_TRAIN + N_TEST, seed=0)
    train, test = data.split(N_TRAIN)
    spec = ModelSpec.parse(f"({WIDTH},{DEPTH})-FCN")
    cfg = TrainConfig(lr=LR, batch_size=BATCH)
    res: dict[str, list[float]] = {k: [] for k in (
        "plain_update_ms", "sbcore_update_ms", "plain_to_stop_s", "sbcore_to_stop_s",
        "sequential_10_s", "stacked_10_s")}
    n_upd = 400
    for rep in range(REPEATS):
        _, n, t = plain_train(train.x, train.y, seed=rep, max_updates=n_upd)
        res["plain_update_ms"].append(1e3 * t / n)
        h = fit(spec.build(50, seeds=[rep]), train.x, train.y,
                TrainConfig(lr=LR, batch_size=BATCH, max_updates=n_upd, stop_loss=None), seed=rep,
                progress=False)
        res["sbcore_update_ms"].append(1e3 * h.seconds / h.n_updates)

        start = time.perf_counter()
        model, _, _ = plain_train(train.x, train.y, seed=rep, stop_loss=0.01)
        plain_aucs(model, test)
        res["plain_to_stop_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        stack = spec.build(50, seeds=[rep])
        fit(stack, train.x, train.y, cfg, seed=rep, progress=False)
        randomized_eval(stack, [test])
        res["sbcore_to_stop_s"].append(time.perf_counter() - start)

        fixed = TrainConfig(lr=LR, batch_size=BATCH, max_epochs=3, stop_loss=None)
        start = time.perf_counter()
        for s in range(10):
            fit(spec.build(50, seeds=[s]), train.x, train.y, fixed, seed=s, progress=False)
        res["sequential_10_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        fit(spec.build(50, seeds=list(range(10))), train.x, train.y, fixed, seed=0, progress=False)
        res["stacked_10_s"].append(time.perf_counter() - start)

    med = {k: statistics.median(v) for k, v in res.items()}
    gflops = matmul_gflops()
    ceiling_ms = 1e3 * update_flops(50) / (gflops * 1e9)
    summary = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "matmul_gflops": round(gflops, 1),
        "update_ceiling_ms": round(ceiling_ms, 4),
        **{k: round(v, 4) for k, v in med.items()},
        "ratio_per_update": round(med["plain_update_ms"] / med["sbcore_update_ms"], 2),
        "ratio_to_stop": round(med["plain_to_stop_s"] / med["sbcore_to_stop_s"], 2),
        "ratio_10_seeds": round(med["sequential_10_s"] / med["stacked_10_s"], 2),
        "sbcore_share_of_ceiling": round(ceiling_ms / med["sbcore_update_ms"], 3),
        "raw": res,
    }
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(summary, indent=1))
    for k, v in summary.items():
        if k != "raw":
            print(f"{k:>26}: {v}")
    return summary


if __name__ == "__main__":
    main()
