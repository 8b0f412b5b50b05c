"""(a) The authors' own LMS-5 pipeline against sbcore's, data to the three AUCs, per seed.

Configuration: the authors' notebook 01 (100,000 training and 10,000 test points of LMS-5,
d = 50, a (100,2)-FCN, SGD lr 0.1, weight decay 5e-5, batch 256), each pipeline with its own
stopping rule (theirs: train accuracy >= 1 - 1e-4, checked every 5,000 updates; ours, the
paper's: epoch loss < 0.01). Timed: making the data, training, the standard / S- / Sc-randomized
AUCs. sbcore runs one seed alone and ten seeds as one stack (one dataset per seed, as the
chapters do); the authors' code runs one seed per process (``authors_lms5.py``), unmodified, from
the checkout named by the environment variable ``SB_AUTHORS_REPO``; without it this part is
skipped with a message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from machine import alternate, median

from sbcore.data import from_name
from sbcore.experiments.stacks import train_stack
from sbcore.train import TrainConfig

N_TRAIN, N_TEST = 100_000, 10_000
CFG = TrainConfig(lr=0.1, weight_decay=5e-5, batch_size=256)
HERE = Path(__file__).resolve().parent


def sbcore_run(seeds: list[int], out: dict) -> float:
    start = time.perf_counter()
    splits = [from_name("LMS-5", N_TRAIN + N_TEST, seed=s).split(N_TRAIN) for s in seeds]
    res = train_stack(
        "(100,2)-FCN",
        [a for a, _ in splits],
        [b for _, b in splits],
        CFG,
        seeds=seeds,
        progress=False,
    )
    seconds = time.perf_counter() - start
    ev = res.eval
    out[len(seeds)] = {
        "aucs": [
            [round(float(v), 4) for v in (ev.auc[m], ev.s_auc[m], ev.sc_auc[m])]
            for m in range(len(seeds))
        ],
        "stopped_epoch": res.history.stopped_epoch,
        "n_updates": res.history.n_updates,
    }
    return seconds


def authors_run(repo: str, seed: int, out: dict) -> float:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, str(HERE / "authors_lms5.py"), repo, str(seed)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"the authors' pipeline failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    out.setdefault("runs", []).append(res)
    return res["seconds"]


def main(repeats: int = 1, stack: int = 10) -> dict:
    repo = os.environ.get("SB_AUTHORS_REPO")
    if not repo or not (Path(repo) / "scripts" / "utils.py").is_file():
        msg = (
            "skipped: set SB_AUTHORS_REPO to a checkout of "
            "github.com/harshays/simplicitybiaspitfalls "
            f"(got {repo!r})"
        )
        print(msg)
        return {"skipped": msg}
    details: dict = {"authors": {}, "sbcore": {}}
    seeds = list(range(stack))
    times = alternate(
        {
            "authors_one_seed_s": lambda: authors_run(repo, 0, details["authors"]),
            "sbcore_one_seed_s": lambda: sbcore_run([0], details["sbcore"]),
            f"sbcore_{stack}_seeds_stacked_s": lambda: sbcore_run(seeds, details["sbcore"]),
        },
        repeats,
    )
    med = {k: median(v) for k, v in times.items()}
    per_seed = med[f"sbcore_{stack}_seeds_stacked_s"] / stack
    run = details["authors"]["runs"][-1]
    return {
        "config": "LMS-5 (notebook 01): n=100,000 + 10,000 test, d=50, (100,2)-FCN, SGD lr 0.1, "
        "wd 5e-5, batch 256; each pipeline to its own stopping rule, then 3 AUCs",
        **{k: round(v, 3) for k, v in med.items()},
        "sbcore_per_seed_in_stack_s": round(per_seed, 3),
        "speedup_one_seed": round(med["authors_one_seed_s"] / med["sbcore_one_seed_s"], 2),
        "speedup_per_seed_stacked": round(med["authors_one_seed_s"] / per_seed, 2),
        "target": "speedup per seed >= 20",
        "authors_breakdown_s": {k: round(run[k], 3) for k in ("data_s", "train_s", "auc_s")},
        "authors_updates": run["n_updates"],
        "authors_aucs": [round(a, 4) for a in run["aucs"]],
        "authors_stand_in_modules": run["stand_ins"],
        "sbcore": details["sbcore"],
        "raw": times,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
