"""An ensemble of 10 trained as one stacked model vs 10 sequential fits, side by side in one run.

Configuration (chapter 07's MS-5 experiment): MS-5 (d = 50), 4,000 training points, (100,2)-FCN,
SGD lr 0.1, momentum 0.9, batch 256, a fixed 10 epochs per member (no early stopping, so both
contenders do exactly the same number of updates per member). The stacked run trains the 10
members together (chapter 07's ``train_ensembles`` does the same with more groups); the
sequential run calls ``fit`` ten times on one-member models with the same seeds.

Measured alternately, ``REPEATS`` times, in one process; reported as a ratio of medians, with
the test accuracy of the 10-member ensemble (logits averaged) of each contender as a sanity check.
Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_ensemble.py`` (writes
benchmarks/ensemble_results.json).
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import torch

from sbcore.data import from_name
from sbcore.metrics import accuracy, ensemble_logits
from sbcore.models import ModelSpec
from sbcore.models.inference import predict_logits
from sbcore.train import TrainConfig, fit

N_TRAIN, N_TEST, MEMBERS, EPOCHS, REPEATS = 4000, 5000, 10, 10, 3
MODEL = "(100,2)-FCN"


def stacked(train, spec, cfg, seeds):
    model = spec.build(train.n_features, seeds=seeds)
    start = time.perf_counter()
    fit(model, train.x, train.y, cfg, seed=0, progress=False)
    return time.perf_counter() - start, model


def sequential(train, spec, cfg, seeds):
    models, start = [], time.perf_counter()
    for s in seeds:
        m = spec.build(train.n_features, seeds=[s])
        fit(m, train.x, train.y, cfg, seed=s, progress=False)
        models.append(m)
    return time.perf_counter() - start, models


def main() -> dict:
    train, test = from_name("MS-5", N_TRAIN + N_TEST, seed=0).split(N_TRAIN)
    spec = ModelSpec.parse(MODEL)
    cfg = TrainConfig(lr=0.1, momentum=0.9, batch_size=256, max_epochs=EPOCHS, stop_loss=None)
    seeds = list(range(MEMBERS))
    times = {"stacked_s": [], "sequential_s": []}
    acc = {}
    for _ in range(REPEATS):
        t, model = stacked(train, spec, cfg, seeds)
        times["stacked_s"].append(t)
        acc["stacked"] = float(
            accuracy(ensemble_logits(predict_logits(model, test.x), MEMBERS), test.y)[0]
        )
        t, models = sequential(train, spec, cfg, seeds)
        times["sequential_s"].append(t)
        lg = torch.cat([predict_logits(m, test.x) for m in models])
        acc["sequential"] = float(accuracy(ensemble_logits(lg, MEMBERS), test.y)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    summary = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "config": f"MS-5, n={N_TRAIN}, {MODEL}, {MEMBERS} members, {EPOCHS} epochs each, batch 256",
        **{k: round(v, 3) for k, v in med.items()},
        "ratio_sequential_over_stacked": round(med["sequential_s"] / med["stacked_s"], 2),
        "ensemble_test_acc": {k: round(v, 4) for k, v in acc.items()},
        "raw": times,
    }
    Path(__file__).with_name("ensemble_results.json").write_text(json.dumps(summary, indent=1))
    for k, v in summary.items():
        if k != "raw":
            print(f"{k:>30}: {v}")
    return summary


if __name__ == "__main__":
    main()
