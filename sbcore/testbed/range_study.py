"""How large and how long must the testbed's slab columns be for the positive control to learn?

The positive control (plain SGD trained with S randomized, :meth:`~.evaluation.Data.without_s`)
can only show a column's range where it learns the complex features. This study trains it and
vanilla SGD on MS-(5,7) and noisy LMS-7 (and LMS-5 for reference) at several training-set sizes,
epoch budgets, architectures and recipes, three seeds each, and writes every setting's test
accuracy and randomized AUCs to ``docs/results/testbed-range.json`` with the commit and machine.
Chapter 10's presets (:data:`sbcore.chapters.ch10_testbed.PRESETS`) cite it::

    python -m sbcore.testbed.range_study            # about 5 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Sequence

import torch

from ..chapters.ch10_testbed import _SGD, _SLABS, PRESETS
from ..experiments.stacks import make_splits
from ..runtime import atomic_write_text, project_root, source_commit
from ..train import TrainConfig
from .evaluation import randomized_aucs, train_predictors
from .methods import vanilla

RECORD = Path("docs") / "results" / "testbed-range.json"
RECIPES = {"book SGD (chapter 02)": _SGD, "App. D.1, MS-7": _SLABS}
# (dataset, training points, epochs, architecture, recipe)
SETTINGS = (
    ("MS-(5,7)", 20_000, 40, "(100,1)-FCN", "book SGD (chapter 02)"),
    ("noisy LMS-7", 10_000, 40, "(100,1)-FCN", "book SGD (chapter 02)"),
    ("MS-(5,7)", 40_000, 40, "(100,1)-FCN", "App. D.1, MS-7"),
    ("noisy LMS-7", 40_000, 40, "(100,1)-FCN", "App. D.1, MS-7"),
    ("noisy LMS-7", 20_000, 80, "(100,2)-FCN", "App. D.1, MS-7"),
    ("noisy LMS-7", 40_000, 40, "(100,2)-FCN", "App. D.1, MS-7"),
    ("noisy LMS-7", 40_000, 80, "(100,2)-FCN", "App. D.1, MS-7"),
    ("noisy LMS-7", 40_000, 160, "(100,2)-FCN", "App. D.1, MS-7"),
    ("MS-(5,7)", 40_000, 40, "(100,2)-FCN", "App. D.1, MS-7"),
    ("MS-(5,7)", 40_000, 80, "(100,2)-FCN", "App. D.1, MS-7"),
    ("LMS-5", 10_000, 40, "(100,2)-FCN", "book SGD (chapter 02)"),
)


def one_setting(
    dataset: str, n: int, epochs: int, model: str, recipe: TrainConfig, seeds: Sequence[int]
) -> list[dict]:
    """The control and vanilla SGD at one setting: per row, test accuracy and the S- and
    Sc-randomized AUC of every seed (tested on 2,000 points each)."""
    cfg = dataclasses.replace(
        PRESETS["book"], train=dataclasses.replace(recipe, max_epochs=epochs)
    )
    kw = {"noise": 0.1} if dataset == "noisy LMS-7" else {}
    trains, tests = make_splits(dataset, n, 2000, seeds, d=50, **kw)
    out = []
    for control in (True, False):
        sets = (
            [t.randomized("S", seed=1000 + s) for s, t in zip(seeds, trains)]
            if control
            else trains
        )
        t0 = time.perf_counter()
        ev = randomized_aucs(train_predictors(vanilla(), model, sets, cfg, seeds), tests, seed=0)
        out.append(
            {
                "row": "positive control" if control else "vanilla",
                "seconds": round(time.perf_counter() - t0, 1),
                **{k: [round(float(v), 3) for v in ev[k]] for k in ("acc", "s_auc", "sc_auc")},
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m sbcore.testbed.range_study", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=None, help=f"default {RECORD}")
    a = p.parse_args(argv)
    rows = []
    for dataset, n, epochs, model, recipe in SETTINGS:
        for r in one_setting(dataset, n, epochs, model, RECIPES[recipe], a.seeds):
            rows.append(
                {"dataset": dataset, "n_train": n, "epochs": epochs, "model": model,
                 "recipe": recipe, **r}
            )  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    record = {
        "study": "positive control vs vanilla SGD, per setting (issue 24)",
        "seeds": a.seeds,
        "rows": rows,
        "commit": source_commit(project_root()),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }
    out = a.out or project_root() / RECORD
    atomic_write_text(out, json.dumps(record, indent=1) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
