"""``make gpu-check``: every measurement that needs a GPU, in one run of about ten minutes on one
GPU, written to one file as it goes (JSON lines: one object per step, flushed when the step ends,
so a run stopped early keeps what it measured).

Steps, in order (each with its status, seconds and what it measured):

1. ``environment``: torch, CUDA, the device, the matrix-multiply throughput.
2. ``cuda_tests``: ``tests/test_train_cuda.py`` (the captured step against the eager one).
3. ``graph_records``: chapter 02's smoke-scale LMS-5 stacks trained eager and captured on the
   GPU; their Table-1 numbers must agree (this decides whether ``cuda_graph`` may become the
   default again).
4. ``bench_cuda``: benchmark part (d), eager against captured against a hand-captured graph.
5. ``chapters``: every chapter at smoke scale on CUDA (papermill, ``strict=False``): which ran,
   how long, how many records pass.
6. ``paper_ms57``: chapter 02's MS-(5,7) rows for the (32,7,1)-CNN and (100,10,1)-GRU at the
   paper scale's size and recipe (100,000 points, 5 seeds, up to 500 epochs), each within its
   share of the time left: test accuracy and the randomized AUCs per seed, and the epochs reached.

Without a CUDA device (this machine's tests) step 1 runs and every other step is recorded as
skipped, so the script is tested on the CPU up to its first device step.
``--budget SECONDS`` (default 540) bounds the whole run: a step that would start past it is
recorded as skipped for lack of time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
# sbcore from this checkout, for this process, its pytest and its notebook kernels, also where it
# is not installed (a GPU machine's own Python)
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
PAPER_MODELS = ("(32,7,1)-CNN", "(100,10,1)-GRU")


class Log:
    """One JSON object per step, appended to ``path`` and flushed as each step ends."""

    def __init__(self, path: Path, budget: float):
        self.path, self.deadline = path, time.monotonic() + budget
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def step(self, name: str, fn, *, needs_gpu: bool = True, min_left: float = 20.0) -> dict:
        if needs_gpu and not torch.cuda.is_available():
            entry = {"status": "skipped", "why": "no CUDA device"}
        elif self.left() < min_left:
            entry = {"status": "skipped", "why": f"out of time ({self.left():.0f} s left)"}
        else:
            start = time.monotonic()
            try:
                entry = {"status": "ok", **fn()}
            except Exception as e:  # a failed step is a result; the next steps still run
                entry = {
                    "status": "failed",
                    "error": f"{type(e).__name__}: {e}",
                    "traceback": traceback.format_exc()[-3000:],
                }
            entry["seconds"] = round(time.monotonic() - start, 1)
        entry = {"step": name, **entry}
        with self.path.open("a") as f:
            f.write(json.dumps(entry, default=str) + "\n")
        print(
            f"[gpu-check] {name}: {entry['status']}"
            f"{' (' + entry['why'] + ')' if 'why' in entry else ''}",
            flush=True,
        )
        return entry


def environment() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from machine import describe  # noqa: E402 (the benchmarks' own helper)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device,
        "machine": describe(device),
    }
    if device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def cuda_tests() -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_train_cuda.py",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return {
        "returncode": out.returncode,
        "summary": out.stdout.strip().splitlines()[-1:],
        "output": out.stdout[-2000:],
    }


def graph_records(device: str = "cuda", n_train: int | None = None) -> dict:
    from dataclasses import replace

    from sbcore.chapters.ch02_extreme_sb_slabs import PRESETS
    from sbcore.experiments.stacks import make_splits, train_stack
    from sbcore.runtime import member_seeds

    cfg, seeds = PRESETS["smoke"], member_seeds(0, 2)
    trains, tests = make_splits("LMS-5", n_train or cfg.n_train, cfg.n_test, seeds, d=cfg.d)
    out = {}
    for model in cfg.models:
        evs = {}
        for graph in (False, True):
            r = train_stack(
                model,
                trains,
                tests,
                replace(cfg.train, cuda_graph=graph),
                seeds=seeds,
                device=device,
                progress=False,
            )
            evs[graph] = {k: getattr(r.eval, k).tolist() for k in ("acc", "s_auc", "sc_auc")}
            evs[graph]["epochs"] = r.history.n_epochs
        diff = max(
            abs(a - b)
            for k in ("acc", "s_auc", "sc_auc")
            for a, b in zip(evs[False][k], evs[True][k])
        )
        out[model] = {"eager": evs[False], "captured": evs[True], "max_abs_difference": diff}
    out["agree_within_1e-3"] = all(v["max_abs_difference"] <= 1e-3 for v in out.values())
    return out


def bench_cuda() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_cuda as bench

    return bench.main()


def chapters(log: Log) -> dict:
    import papermill as pm

    from sbcore import claims

    out = {}
    for nb in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        if log.left() < 60:
            out[nb.stem] = {"status": "skipped", "why": "out of time"}
            continue
        records = Path(os.environ.get("TMPDIR", "/tmp")) / "gpu-check-records" / nb.stem
        env_before = os.environ.get("SBCORE_RECORDS_DIR")
        os.environ["SBCORE_RECORDS_DIR"] = str(records)
        start = time.monotonic()
        try:
            pm.execute_notebook(
                str(nb),
                str(records / f"{nb.stem}.ipynb"),
                cwd=str(BOOK),
                parameters={"scale": "smoke", "device": "cuda", "strict": False},
                progress_bar=False,
                log_output=False,
            )
            recs = claims.load_records(sorted(records.glob("*.json")))
            ran = [r for r in recs if not r.not_run]
            out[nb.stem] = {
                "status": "ok",
                "records": len(recs),
                "passed": sum(r.passed for r in ran),
                "ran": len(ran),
            }
        except Exception as e:
            out[nb.stem] = {"status": "failed", "error": f"{type(e).__name__}: {str(e)[-500:]}"}
        finally:
            if env_before is None:
                os.environ.pop("SBCORE_RECORDS_DIR", None)
            else:
                os.environ["SBCORE_RECORDS_DIR"] = env_before
        out[nb.stem]["seconds"] = round(time.monotonic() - start, 1)
    return out


def paper_ms57(
    log: Log, device: str = "cuda", n_train: int | None = None, n_test: int | None = None
) -> dict:
    from dataclasses import replace

    from sbcore.chapters.ch02_extreme_sb_slabs import PRESETS
    from sbcore.experiments.stacks import make_splits, train_stack
    from sbcore.runtime import member_seeds

    cfg, seeds = PRESETS["paper"], member_seeds(0, PRESETS["paper"].n_seeds)
    trains, tests = make_splits(
        "MS-(5,7)", n_train or cfg.n_train_ms, n_test or cfg.n_test, seeds, d=cfg.d
    )
    out = {}
    for i, model in enumerate(PAPER_MODELS):
        share = max(log.left() - 15, 0) / (len(PAPER_MODELS) - i)
        recipe = cfg.recipe_for("MS-(5,7)", model)
        start = time.monotonic()  # one epoch first, to size the run to its share of the time
        train_stack(
            model,
            trains,
            tests,
            replace(recipe, max_epochs=1),
            seeds=seeds,
            device=device,
            progress=False,
        )
        per_epoch = time.monotonic() - start
        epochs = int(min(recipe.max_epochs, max(1, share / max(per_epoch, 1e-3) - 1)))
        r = train_stack(
            model,
            trains,
            tests,
            replace(recipe, max_epochs=epochs),
            seeds=seeds,
            device=device,
            progress=False,
        )
        out[model] = {
            "recipe": {k: getattr(recipe, k) for k in ("optimizer", "lr", "momentum")},
            "epoch_seconds": round(per_epoch, 2),
            "epochs_cap": epochs,
            "epochs_run": r.history.n_epochs,
            "stopped_epoch": r.history.stopped_epoch,
            "test_acc": r.eval.acc.tolist(),
            "s_auc": r.eval.s_auc.tolist(),
            "sc_auc": r.eval.sc_auc.tolist(),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "gpu-check.jsonl")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds for the whole run")
    args = ap.parse_args(argv)
    log = Log(args.out, args.budget)
    log.step("environment", environment, needs_gpu=False, min_left=0)
    log.step("cuda_tests", cuda_tests)
    log.step("graph_records", graph_records)
    log.step("bench_cuda", bench_cuda, min_left=60)
    log.step("chapters", lambda: chapters(log), min_left=60)
    log.step("paper_ms57", lambda: paper_ms57(log), min_left=60)
    print(f"[gpu-check] wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
