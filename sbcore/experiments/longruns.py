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

``long-wd`` (claim (iii), issue 24): does a long training with weight decay make the network
leave the linear feature of noisy LMS-7 (p = 0.1) for the fully predictive slabs (a late,
"grokking"-like switch)? The (100,1)- and (100,2)-FCN, each as one stack of every (weight decay,
seed) pair, trained with Table 10's selected recipe of that FCN (learning rate, batch size,
momentum) for 2.5 million updates, no early stop, logging at log-spaced epochs the train, test,
S- and Sc-randomized accuracy and the weight norm of every member::

    python -m sbcore longrun long-wd --out docs/results/long-wd

Each architecture is written to ``<out>/<model>.json`` when it finishes and resumes from
``<out>/checkpoints/<model>.pt`` when stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import torch

from ..checkpoints import Checkpoint
from ..data.synthetic import from_name, randomize
from ..metrics import accuracy, eval_seed, logits_on, member_seed, stack_data
from ..models.specs import ModelSpec
from ..runtime import atomic_write_text, project_root, source_commit
from ..train import TrainConfig, fit
from .stacks import accuracy_callback, make_splits, train_stack

WIDE = dict(dataset="MS-(5,7)", model="(2000,1)-FCN", d=250)
APP_B = TrainConfig()  # lr 0.1, momentum 0, wd 5e-7, batch 256, stop at 0.01, <= 500 epochs


def wide_app_b_seed(
    seed: int,
    *,
    n_train: int = 50_000,
    n_test: int = 5000,
    eval_every: int = 10,
    cfg: TrainConfig = APP_B,
    checkpoint: Checkpoint | None = None,
    progress: bool = True,
) -> dict:
    """Train one (2000,1)-FCN (seed ``seed``) on MS-(5,7), d = 250, with ``cfg``; return its record:
    the trajectory (epoch, train / test / S-randomized test accuracy), the final Table-1
    diagnostics and the training loss per epoch."""
    ds, d = WIDE["dataset"], WIDE["d"]
    trains, tests = make_splits(ds, n_train, n_test, [seed], d=d)
    cb = accuracy_callback(trains, tests, seed=eval_seed(seed, d, ds))
    t0 = time.perf_counter()
    res = train_stack(
        WIDE["model"],
        trains,
        tests,
        cfg,
        seeds=[seed],
        progress=progress,
        callback=cb,
        eval_every=eval_every,
        checkpoint=checkpoint,
        eval_seed=eval_seed(seed, d, ds),
        desc=f"(2000,1)-FCN, App. B, seed {seed}",
    )
    ev = {k: float(v[0]) for k, v in res.eval.summary().items()}
    return {
        "seed": seed,
        "dataset": ds,
        "d": d,
        "model": WIDE["model"],
        "n_train": n_train,
        "n_test": n_test,
        "train": asdict(cfg),
        "epochs": res.history.n_epochs,
        "stopped_early": res.history.n_epochs < cfg.max_epochs,
        "loss": [float(v[0]) for v in res.history.loss],
        "trajectory": [
            {
                "epoch": int(row["epoch"]),
                **{k: float(row[k][0]) for k in ("train", "test", "s_rand")},
            }
            for row in res.history.evals
        ],
        "train_acc": float(res.train_acc[0]),
        "final": ev,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def run_wide_app_b(
    seeds: Sequence[int],
    out: Path,
    *,
    n_train: int,
    n_test: int,
    eval_every: int,
    checkpoint_seconds: float,
    checkpoints: Path | None = None,
    progress: bool = True,
) -> list[Path]:
    """Every seed not yet in ``out``: train (checkpointing to ``checkpoints``, default
    ``out/checkpoints``), then write ``out/seed-<s>.json`` at once."""
    written = []
    for s in seeds:
        path = out / f"seed-{s}.json"
        if path.exists():
            print(f"seed {s}: done already ({path})", flush=True)
            continue
        ckpt = Checkpoint(
            (checkpoints or out / "checkpoints") / f"seed-{s}.pt",
            every=None,
            seconds=checkpoint_seconds,
        )
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rec = wide_app_b_seed(
            s,
            n_train=n_train,
            n_test=n_test,
            eval_every=eval_every,
            checkpoint=ckpt,
            progress=progress,
        )
        rec.update(
            started=started,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            commit=source_commit(project_root()),
            torch=torch.__version__,
            machine=f"{platform.machine()}, {platform.processor() or 'cpu'}, "
            f"{torch.get_num_threads()} torch threads",
        )
        atomic_write_text(path, json.dumps(rec, indent=1) + "\n")
        print(
            f"seed {s}: {rec['epochs']} epochs in {rec['seconds']:.0f} s, test acc "
            f"{rec['final']['acc']:.3f}, train acc {rec['train_acc']:.3f} -> {path}",
            flush=True,
        )
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
    return [
        {
            "seed": r["seed"],
            "n train": f"{r['n_train']:,}",
            "epochs": r["epochs"],
            "train acc": f"{r['train_acc']:.3f}",
            "test acc": f"{r['final']['acc']:.3f}",
            "S-rand AUC": f"{r['final']['s_auc']:.3f}",
            "Sc-rand AUC": f"{r['final']['sc_auc']:.3f}",
            "commit": r["commit"],
            "machine": r["machine"],
        }
        for r in records
    ]


LONG_WD = dict(dataset="noisy LMS-7", noise=0.1, d=50)
LONG_WD_MODELS = ("(100,1)-FCN", "(100,2)-FCN")
LONG_WD_DECAYS = (0.0, 1e-4, 1e-3, 1e-2)  # 0: the reference; 1e-2 large enough to matter
# Table 10's selected (lr, batch size, momentum) of each FCN on noisy LMS-7 (App. D.1)
LONG_WD_RECIPES = {"(100,1)-FCN": (0.3, 16, 0.9), "(100,2)-FCN": (0.3, 64, 0.0)}
LONG_WD_RECORDED = Path("docs/results/long-wd")


def log_epochs(last: int, per_decade: int = 10) -> tuple[int, ...]:
    """Epochs 1, 2, ... spaced evenly in log10 (``per_decade`` per factor of ten), up to ``last``
    (always included)."""
    if last < 1 or per_decade < 1:
        raise ValueError(f"last and per_decade must be >= 1, got {last}, {per_decade}")
    n = int(math.ceil(math.log10(last) * per_decade))
    spaced = {round(10 ** (i / per_decade)) for i in range(n + 1)}
    return tuple(sorted({e for e in spaced if e <= last} | {last}))


def weight_norms(stack: torch.nn.Module) -> list[float]:
    """The Euclidean norm of every member's parameters (a stack: parameters lead with the member)."""
    sq = sum(p.detach().flatten(1).pow(2).sum(1) for p in stack.parameters())
    return sq.sqrt().tolist()


def long_wd_stack(
    model: str,
    *,
    seeds: Sequence[int],
    decays: Sequence[float] = LONG_WD_DECAYS,
    n_train: int = 40_000,
    n_test: int = 10_000,
    updates: int = 2_500_000,
    per_decade: int = 10,
    checkpoint: Checkpoint | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model`` on noisy LMS-7 (p = 0.1, d = 50) as one stack: member ``j * len(seeds) + i``
    has weight decay ``decays[j]`` and trains on seed ``seeds[i]``'s data from seed ``seeds[i]``'s
    initialisation (so that within a seed only the weight decay differs), with Table 10's recipe of
    ``model``, for ``updates`` updates. Return the record: the members, the trajectory at
    log-spaced epochs (per member: train, test, S- and Sc-randomized test accuracy, weight norm)."""
    if model not in LONG_WD_RECIPES:
        raise ValueError(f"model must be one of {sorted(LONG_WD_RECIPES)}, got {model!r}")
    lr, batch, momentum = LONG_WD_RECIPES[model]
    splits = [
        from_name(
            LONG_WD["dataset"], n_train + n_test, seed=s, d=LONG_WD["d"], noise=LONG_WD["noise"]
        ).split(n_train)
        for s in seeds
    ]
    members = [(s, float(wd)) for wd in decays for s in seeds]
    trains = [splits[i % len(seeds)][0] for i in range(len(members))]
    tests = [splits[i % len(seeds)][1] for i in range(len(members))]
    base = eval_seed(seeds[0], "long-wd", model)
    s_tests = [randomize(t, "S", seed=member_seed(base, m)) for m, t in enumerate(tests)]
    sc_tests = [randomize(t, "Sc", seed=member_seed(base + 1, m)) for m, t in enumerate(tests)]
    y_tr, y_te = stack_data(trains)[1], stack_data(tests)[1]

    def measure(stack, epoch):
        acc = lambda datas, y: accuracy(logits_on(stack, datas), y).tolist()  # noqa: E731
        return {
            "train": acc(trains, y_tr),
            "test": acc(tests, y_te),
            "s_rand": acc(s_tests, y_te),
            "sc_rand": acc(sc_tests, y_te),
            "w_norm": weight_norms(stack),
        }

    per_epoch = math.ceil(n_train / batch)
    epochs = math.ceil(updates / per_epoch)
    cfg = TrainConfig(
        lr=lr,
        batch_size=batch,
        momentum=momentum,
        weight_decay=tuple(wd for _, wd in members),
        max_epochs=epochs,
        max_updates=updates,
        stop_loss=None,
    )
    x, y = stack_data([sp[0] for sp in splits])  # (D, n, d): member m trains on dataset m % D
    stack = ModelSpec.parse(model).build(LONG_WD["d"], seeds=[s for s, _ in members])
    t0 = time.perf_counter()
    hist = fit(
        stack,
        x,
        y,
        cfg,
        seed=seeds[0],
        callback=measure,
        eval_every=log_epochs(epochs, per_decade),
        progress=progress,
        desc=f"{model}, noisy LMS-7, {len(members)} members",
        checkpoint=checkpoint,
    )
    return {
        "model": model,
        **LONG_WD,
        "n_train": n_train,
        "n_test": n_test,
        "members": [{"seed": s, "weight_decay": wd} for s, wd in members],
        "train": asdict(cfg),
        "n_updates": hist.n_updates,
        "epochs": len(hist.loss),
        "trajectory": hist.evals,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def run_long_wd(
    models: Sequence[str],
    out: Path,
    *,
    seeds: Sequence[int],
    updates: int,
    n_train: int,
    n_test: int,
    checkpoint_seconds: float,
    progress: bool = True,
) -> list[Path]:
    """Every architecture of ``models`` not yet in ``out``: train, then write ``out/<model>.json``."""
    written = []
    for model in models:
        slug = model.strip("()").replace(",", "-").replace(")", "")
        path = out / f"{slug}.json"
        if path.exists():
            print(f"{model}: done already ({path})", flush=True)
            continue
        ckpt = Checkpoint(
            out / "checkpoints" / f"{slug}.pt", every=None, seconds=checkpoint_seconds
        )
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rec = long_wd_stack(
            model,
            seeds=seeds,
            n_train=n_train,
            n_test=n_test,
            updates=updates,
            checkpoint=ckpt,
            progress=progress,
        )
        rec.update(
            started=started,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            commit=source_commit(project_root()),
            torch=torch.__version__,
            machine=f"{platform.machine()}, {platform.processor() or 'cpu'}, "
            f"{torch.get_num_threads()} torch threads",
        )
        atomic_write_text(path, json.dumps(rec, indent=1) + "\n")
        last = rec["trajectory"][-1]
        print(
            f"{model}: {rec['n_updates']:,} updates in {rec['seconds']:.0f} s; test acc per member "
            f"{[round(v, 3) for v in last['test']]} -> {path}",
            flush=True,
        )
        written.append(path)
    return written


LINEAR_ACC = 0.95  # noisy LMS-7 (p = 0.1): the linear feature alone is right on ~95% of points


def load_long_wd(folder: str | Path | None = None) -> list[dict]:
    """The finished architectures of a ``long-wd`` run, in :data:`LONG_WD_MODELS` order (empty if
    none finished); ``folder`` None: the committed run (:data:`LONG_WD_RECORDED`)."""
    folder = project_root() / LONG_WD_RECORDED if folder is None else Path(folder)
    recs = []
    for p in sorted(folder.glob("*.json")):
        r = json.loads(p.read_text())
        missing = {"model", "members", "trajectory", "n_updates", "n_test", "commit"} - set(r)
        if missing:
            raise ValueError(f"{p}: not a long-wd record (missing {sorted(missing)})")
        recs.append(r)
    order = {m: i for i, m in enumerate(LONG_WD_MODELS)}
    return sorted(recs, key=lambda r: order.get(r["model"], len(order)))


def switched(rec: dict, *, k: float = 4.0) -> list[bool]:
    """Per member of a long-wd record, whether it left the linear feature for the slabs by the
    last logged step: test accuracy above the linear feature's :data:`LINEAR_ACC` and
    S-randomized accuracy above chance by more than ``k`` binomial standard errors at the record's
    ``n_test`` (a member that uses the slabs has S-randomized accuracy near its test accuracy)."""
    last = rec["trajectory"][-1]
    chance = 0.5 + k * math.sqrt(0.25 / rec["n_test"])
    return [t > LINEAR_ACC and s > chance for t, s in zip(last["test"], last["s_rand"])]


def long_wd_groups(rec: dict) -> dict[float, list[int]]:
    """Weight decay -> the indices of its members in ``rec`` (one per seed)."""
    out: dict[float, list[int]] = {}
    for i, m in enumerate(rec["members"]):
        out.setdefault(float(m["weight_decay"]), []).append(i)
    return out


def long_wd_rows(records: Sequence[dict]) -> list[dict]:
    """One row per (architecture, weight decay) of recorded long-wd runs: its seeds, the updates
    reached, mean ± sd over seeds of the last logged train, test, S- and Sc-randomized accuracy
    and weight norm, and how many of its members switched to the slabs (:func:`switched`)."""

    def ms(v: Sequence[float]) -> str:
        v = [float(x) for x in v]
        mean = sum(v) / len(v)
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        return f"{mean:.3f} ± {sd:.3f}"

    rows = []
    for rec in records:
        last, sw = rec["trajectory"][-1], switched(rec)
        for wd, idx in long_wd_groups(rec).items():
            pick = lambda key: [last[key][i] for i in idx]  # noqa: E731
            rows.append(
                {
                    "model": rec["model"],
                    "weight decay": f"{wd:g}",
                    "seeds": len(idx),
                    "updates": f"{rec['n_updates']:,}",
                    "train": ms(pick("train")),
                    "test": ms(pick("test")),
                    "S-rand": ms(pick("s_rand")),
                    "Sc-rand": ms(pick("sc_rand")),
                    "weight norm": f"{sum(pick('w_norm')) / len(idx):.1f}",
                    "switched": f"{sum(sw[i] for i in idx)} of {len(idx)}",
                }
            )
    return rows


def long_wd_decays() -> str:
    """The long runs' weight decays in words, e.g. "0, 0.0001, 0.001 and 0.01"."""
    words = [f"{w:g}" for w in LONG_WD_DECAYS]
    return ", ".join(words[:-1]) + " and " + words[-1]


def long_wd_text(records: Sequence[dict]) -> str:
    """The sentence the prose glues about the recorded long runs: how many members switched to
    the slabs, where their S-randomized and test accuracies ended, and which architectures are
    not recorded yet."""
    if not records:
        return "No long run is recorded yet, so this build has no answer"
    n = sum(len(r["members"]) for r in records)
    sw = sum(sum(switched(r)) for r in records)
    s_rand = [v for r in records for v in r["trajectory"][-1]["s_rand"]]
    models = ", ".join(r["model"] for r in records)
    updates = ", ".join(f"{r['n_updates']:,}" for r in records)
    parts = [
        f"{sw} of the {n} members ({models}; {updates} updates) switched to the slabs; their "
        f"last S-randomized accuracies lie in {min(s_rand):.3f}-{max(s_rand):.3f}"
    ]
    for r in records:
        last = r["trajectory"][-1]
        tests = {
            wd: sum(last["test"][i] for i in idx) / len(idx)
            for wd, idx in long_wd_groups(r).items()
        }
        parts.append(
            f"the {r['model']}'s mean test accuracy ends at "
            + ", ".join(f"{t:.3f} (weight decay {wd:g})" for wd, t in tests.items())
        )
    missing = [m for m in LONG_WD_MODELS if m not in {r["model"] for r in records}]
    if missing:
        parts.append(f"{', '.join(missing)}: not recorded yet")
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    p = argparse.ArgumentParser(
        prog=prog or "python -m sbcore longrun", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("study", choices=["wide-app-b", "long-wd"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"default {RECORDED} (wide-app-b), {LONG_WD_RECORDED} (long-wd)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=list(LONG_WD_MODELS),
        choices=LONG_WD_MODELS,
        help="long-wd: the architectures (one stack each)",
    )
    p.add_argument("--updates", type=int, default=2_500_000, help="long-wd: updates per stack")
    p.add_argument(
        "--n-train", type=int, default=None, help="default 50,000 (wide-app-b), 40,000 (long-wd)"
    )
    p.add_argument("--n-test", type=int, default=None, help="default 5,000 / 10,000")
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--checkpoint-seconds", type=float, default=60.0)
    p.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder of the checkpoints (default <out>/checkpoints)",
    )
    a = p.parse_args(argv)
    wide = a.study == "wide-app-b"
    a.n_train = a.n_train or (50_000 if wide else 40_000)
    a.n_test = a.n_test or (5000 if wide else 10_000)
    for name in ("n_train", "n_test", "eval_every", "updates"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if min(a.seeds) < 0:
        p.error(f"--seeds must be >= 0, got {a.seeds}")
    if not wide:
        run_long_wd(
            a.models,
            a.out or LONG_WD_RECORDED,
            seeds=a.seeds,
            updates=a.updates,
            n_train=a.n_train,
            n_test=a.n_test,
            checkpoint_seconds=a.checkpoint_seconds,
        )
        return
    run_wide_app_b(
        a.seeds,
        a.out or RECORDED,
        n_train=a.n_train,
        n_test=a.n_test,
        eval_every=a.eval_every,
        checkpoint_seconds=a.checkpoint_seconds,
        checkpoints=a.checkpoints,
    )


if __name__ == "__main__":
    main()
