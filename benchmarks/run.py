"""Every benchmark, side by side in one run: ``make bench`` (or ``python benchmarks/run.py a b``).

(a) ``bench_authors``: the authors' LMS-5 pipeline against sbcore, per seed (needs SB_AUTHORS_REPO).
(b) ``bench_stacks.seeds_in_one_stack``: ten seeds in one stack against one seed.
(c) ``bench_stacks.grid_as_one_stack``: a chapter-06 grid as one stack against one run per point.
(d) ``bench_cuda``: eager against captured steps on a CUDA GPU (skipped on the CPU).
(e) ``bench_ensemble``: a stacked ensemble against its members trained one after another.
(f) ``bench_adversarial``: a stacked adversarial-training eps sweep against one run per eps.

Writes ``results.json`` next to this file (pass ``--out PATH`` to write elsewhere): each part's
ratios, with the machine, its load average and its measured matrix-multiply GFLOP/s beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import bench_adversarial
import bench_authors
import bench_cuda
import bench_ensemble
import bench_stacks
import torch
from machine import describe

PARTS = {
    "a": ("authors_lms5", bench_authors.main),
    "b": ("ten_seeds_stacked", bench_stacks.seeds_in_one_stack),
    "c": ("grid_as_one_stack", bench_stacks.grid_as_one_stack),
    "d": ("cuda_graphs", bench_cuda.main),
    "e": ("ensemble_stacked", bench_ensemble.main),
    "f": ("adversarial_eps_sweep_stacked", bench_adversarial.main),
}


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", choices=[*PARTS, []], help="a b c d e f (default: all)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe(device),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    for key in args.parts or list(PARTS):
        name, run = PARTS[key]
        print(f"--- ({key}) {name}", flush=True)
        start = time.perf_counter()
        out[name] = run()
        out[name]["bench_seconds"] = round(time.perf_counter() - start, 1)
        out[name]["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
        print(
            json.dumps({k: v for k, v in out[name].items() if k not in ("raw", "sbcore")}),
            flush=True,
        )
    out["machine_after"] = {"load_avg_1min": round(os.getloadavg()[0], 2)}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
