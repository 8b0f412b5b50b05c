"""Long runs recorded outside the book build: each seed is trained on its own, checkpointed, and
written to a JSON file the moment it finishes, so that a run longer than a machine's session
resumes where it stopped and its finished seeds can be committed as they land.

``wide-app-b`` (claim #9, issue 23): the (2000,1)-FCN on MS-(5,7) at d = 250 with App. B's plain
SGD (lr 0.1, no momentum, weight decay 5e-7, batch 256, stop at loss < 0.01, at most 500 epochs)
instead of the book's momentum-0.9 recipe, on the same data and initialisation as the book-scale
run of chapter 02 (seed s trains on ``make_splits("MS-(5,7)", n_train, n_test, [s], d=250)``, the
member seeded by s). Every ``eval_every`` epochs it records train, test and S-randomized test
accuracy, so the chapter can show whether and when the network memorizes::

    python -m sbcore longrun wide-app-b --seeds 0 1 2 --out docs/results/wide-fcn-app-b

Rerunning the same command skips finished seeds and continues a stopped one from its checkpoint
(``<out>/checkpoints/seed-<s>.pt``, saved every ``--checkpoint-seconds`` of training).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import torch

from ..checkpoints import Checkpoint
from ..metrics import eval_seed
from ..runtime import atomic_write_text, project_root, source_commit
from ..train import TrainConfig
from .stacks import accuracy_callback, make_splits, train_stack

WIDE = dict(dataset="MS-(5,7)", model="(2000,1)-FCN", d=250)
APP_B = TrainConfig()  # lr 0.1, momentum 0, wd 5e-7, batch 256, stop at 0.01, <= 500 epochs


def wide_app_b_seed(seed: int, *, n_train: int = 50_000, n_test: int = 5000, eval_every: int = 10,
                    cfg: TrainConfig = APP_B, checkpoint: Checkpoint | None = None,
                    progress: bool = True) -> dict:
    """Train one (2000,1)-FCN (seed ``seed``) on MS-(5,7), d = 250, with ``cfg``; return its record:
    the trajectory (epoch, train / test / S-randomized test accuracy), the final Table-1
    diagnostics and the training loss per epoch."""
    ds, d = WIDE["dataset"], WIDE["d"]
    trains, tests = make_splits(ds, n_train, n_test, [seed], d=d)
    cb = accuracy_callback(trains, tests, seed=eval_seed(seed, d, ds))
    t0 = time.perf_counter()
    res = train_stack(WIDE["model"], trains, tests, cfg, seeds=[seed], progress=progress,
                      callback=cb, eval_every=eval_every, checkpoint=checkpoint,
                      eval_seed=eval_seed(seed, d, ds), desc=f"(2000,1)-FCN, App. B, seed {seed}")
    ev = {k: float(v[0]) for k, v in res.eval.summary().items()}
    return {"seed": seed, "dataset": ds, "d": d, "model": WIDE["model"], "n_train": n_train,
            "n_test": n_test, "train": asdict(cfg), "epochs": res.history.n_epochs,
            "stopped_early": res.history.n_epochs < cfg.max_epochs,
            "loss": [float(v[0]) for v in res.history.loss],
            "trajectory": [{"epoch": int(row["epoch"]), **{k: float(row[k][0]) for k in
                                                           ("train", "test", "s_rand")}}
                           for row in res.history.evals],
            "train_acc": float(res.train_acc[0]), "final": ev,
            "seconds": round(time.perf_counter() - t0, 1)}


def run_wide_app_b(seeds: Sequence[int], out: Path, *, n_train: int, n_test: int,
                   eval_every: int, checkpoint_seconds: float, checkpoints: Path | None = None,
                   progress: bool = True) -> list[Path]:
    """Every seed not yet in ``out``: train (checkpointing to ``checkpoints``, default
    ``out/checkpoints``), then write ``out/seed-<s>.json`` at once."""
    written = []
    for s in seeds:
        path = out / f"seed-{s}.json"
        if path.exists():
            print(f"seed {s}: done already ({path})", flush=True)
            continue
        ckpt = Checkpoint((checkpoints or out / "checkpoints") / f"seed-{s}.pt", every=None,
                          seconds=checkpoint_seconds)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rec = wide_app_b_seed(s, n_train=n_train, n_test=n_test, eval_every=eval_every,
                              checkpoint=ckpt, progress=progress)
        rec.update(started=started, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   commit=source_commit(project_root()), torch=torch.__version__,
                   machine=f"{platform.machine()}, {platform.processor() or 'cpu'}, "
                           f"{torch.get_num_threads()} torch threads")
        atomic_write_text(path, json.dumps(rec, indent=1) + "\n")
        print(f"seed {s}: {rec['epochs']} epochs in {rec['seconds']:.0f} s, test acc "
              f"{rec['final']['acc']:.3f}, train acc {rec['train_acc']:.3f} -> {path}", flush=True)
        written.append(path)
    return written


RECORDED = Path("docs/results/wide-fcn-app-b")  # the committed run, under the project root


def load_wide_app_b(folder: str | Path | None = None) -> list[dict]:
    """The finished seeds of a ``wide-app-b`` run (sorted by seed; empty if none finished);
    ``folder`` None: the committed run (:data:`RECORDED`)."""
    folder = project_root() / RECORDED if folder is None else Path(folder)
    paths = sorted(folder.glob("seed-*.json"))
    recs = [json.loads(p.read_text()) for p in paths]
    for p, r in zip(paths, recs):
        missing = {"seed", "trajectory", "final", "train_acc", "epochs", "commit"} - set(r)
        if missing:
            raise ValueError(f"{p}: not a wide-app-b record (missing {sorted(missing)})")
    return sorted(recs, key=lambda r: r["seed"])


def wide_app_b_rows(records: Sequence[dict]) -> list[dict]:
    """Claim #9's recorded long run (App. B's plain SGD on the (2000,1)-FCN, MS-(5,7), d = 250):
    one row per seed, beside which the book-scale rows above can be read."""
    return [{"seed": r["seed"], "n train": f"{r['n_train']:,}", "epochs": r["epochs"],
             "train acc": f"{r['train_acc']:.3f}", "test acc": f"{r['final']['acc']:.3f}",
             "S-rand AUC": f"{r['final']['s_auc']:.3f}", "Sc-rand AUC": f"{r['final']['sc_auc']:.3f}",
             "commit": r["commit"], "machine": r["machine"]} for r in records]


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    p = argparse.ArgumentParser(prog=prog or "python -m sbcore longrun",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("study", choices=["wide-app-b"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=RECORDED)
    p.add_argument("--n-train", type=int, default=50_000)
    p.add_argument("--n-test", type=int, default=5000)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--checkpoint-seconds", type=float, default=60.0)
    p.add_argument("--checkpoints", type=Path, default=None,
                   help="folder of the checkpoints (default <out>/checkpoints)")
    a = p.parse_args(argv)
    for name in ("n_train", "n_test", "eval_every"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if min(a.seeds) < 0:
        p.error(f"--seeds must be >= 0, got {a.seeds}")
    run_wide_app_b(a.seeds, a.out, n_train=a.n_train, n_test=a.n_test, eval_every=a.eval_every,
                   checkpoint_seconds=a.checkpoint_seconds, checkpoints=a.checkpoints)


if __name__ == "__main__":
    main()
