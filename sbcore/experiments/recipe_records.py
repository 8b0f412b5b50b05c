"""A recorded recipe study (:mod:`sbcore.experiments.recipes` runs it): which models and
candidate recipes it holds, when a seed counts as trained, where chapter 02's record lies, and
reading it: every field checked (:func:`check_study`), loaded, merged from parts run apart, and
summarised for the chapter (the table, the chosen recipe per model, the findings).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..runtime import project_root

#: App. B's recipe, the first candidate of every model (:data:`sbcore.experiments.recipes.CANDIDATES`).
PLAIN = "App. B (SGD lr 0.1)"
#: Which candidates each model is tried with (App. B always, first).
STUDY: dict[str, tuple[str, ...]] = {
    "(32,7,1)-CNN": (PLAIN, "SGD lr 0.03"),
    "(32,7,2)-CNN": (PLAIN, "SGD lr 0.03", "Adam lr 1e-3"),
    "(100,10,1)-GRU": (PLAIN, "Adam lr 1e-3"),
    "(100,10,2)-GRU": (PLAIN, "Adam lr 1e-3"),
}
#: A member "trained" when its final test accuracy reaches this: MS-(5,7)'s 5-slab separates the
#: classes exactly, and a model that has not learned it stays near 0.5 (or, half-way, well below).
TRAINED = 0.99
#: The recorded study chapter 02 shows, relative to the checkout's root.
RECORD = Path("docs") / "results" / "ms57-recipes.json"


_KEYS = (
    "dataset",
    "n_train",
    "n_test",
    "seeds",
    "trained_if",
    "device",
    "machine",
    "torch",
    "max_epochs",
    "commit",
    "started",
    "rows",
)
_SAME = _KEYS[:8]  # what studies must share to be merged (the epoch cap may differ per run)
_PER_SEED = ("test_acc", "auc", "s_auc", "sc_auc", "train_acc", "trained", "stopped_epoch")
_SHARES = ("test_acc", "auc", "s_auc", "sc_auc", "train_acc")  # accuracies and AUCs: in [0, 1]


def _ok(v, lo: float = 0.0, hi: float = math.inf, *, integer: bool = False) -> bool:
    """A finite JSON number (an int with ``integer``; never a bool) in [lo, hi]."""
    kinds = int if integer else (int, float)
    return isinstance(v, kinds) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi


def _check_head(record: Mapping) -> None:
    for k in ("n_train", "n_test", "seeds", "max_epochs"):
        if not _ok(record[k], 1, integer=True):
            raise ValueError(f"{k} must be an integer >= 1, got {record[k]!r}")
    if not _ok(record["trained_if"], 0, 1) or record["trained_if"] == 0:
        raise ValueError(f"trained_if must be a number in (0, 1], got {record['trained_if']!r}")
    texts = [record[k] for k in ("dataset", "device", "machine", "torch", "started")]
    if not all(isinstance(v, str) for v in texts + list(np.atleast_1d(record["commit"]))):
        raise ValueError("dataset, device, machine, torch, commit and started must be text")
    if not isinstance(record["rows"], list) or not all(
        isinstance(r, dict) for r in record["rows"]
    ):
        raise ValueError("rows must be a list of runs (JSON objects)")


def _check_values(row: Mapping, key: tuple) -> None:
    """A model of the study and one of its recipes; accuracies and AUCs in [0, 1], losses
    finite and >= 0, flags true/false, counts integers."""
    if key[0] not in STUDY or key[1] not in STUDY[key[0]]:
        raise ValueError(f"{key} is not a (model, recipe) of the study (recipe_records.STUDY)")
    named = [(k, row[k]) for k in _SHARES] + [
        (f"curves.{k}", v) for k in ("test", "s_rand") for v in row["curves"][k]
    ]
    for name, values in named:
        bad = [v for v in values if not _ok(v, 0, 1)]
        if bad:
            raise ValueError(f"{key}: {name} must hold numbers in [0, 1], got {bad[0]!r}")
    if not all(_ok(v) for e in row["loss"] for v in e):
        raise ValueError(f"{key}: loss must hold finite numbers >= 0")
    if (
        not all(isinstance(t, bool) for t in row["trained"])
        or not _ok(row["seconds"])
        or not all(_ok(e, 0, row["epochs"], integer=True) for e in row["stopped_epoch"])
    ):
        raise ValueError(
            f"{key}: trained must be true/false, seconds >= 0 and stopped_epoch "
            f"epochs in [0, {row['epochs']}]"
        )


def _check_row(row: Mapping, record: Mapping) -> None:
    key, n = (row["model"], row["recipe"]), record["seeds"]
    if row["dataset"] != record["dataset"]:
        raise ValueError(f"{key} is on {row['dataset']}, the study on {record['dataset']}")
    if any(len(row[k]) != n for k in _PER_SEED):
        raise ValueError(f"{key} does not hold one value per seed ({n})")
    curves = [row["curves"]["test"], row["curves"]["s_rand"], row["loss"]]
    if any(len(c) != row["epochs"] or any(len(e) != n for e in c) for c in curves):
        raise ValueError(
            f"{key}'s curves do not hold one value per seed for each of its {row['epochs']} epochs"
        )
    if not _ok(row["epochs"], 1, integer=True) or row["epochs"] > row["config"]["max_epochs"]:
        raise ValueError(f"{key} ran {row['epochs']!r} epochs, past its cap or not a count")
    _check_values(row, key)
    if row["trained"] != [a >= record["trained_if"] for a in row["test_acc"]]:
        raise ValueError(f"{key}'s 'trained' flags disagree with its test accuracy")


def check_study(record: Mapping) -> dict:
    """``record`` checked: its settings are all there with the right types, it holds at least one
    run, no (model, recipe) twice, every row names a model of :data:`STUDY` and one of its
    recipes, its per-seed lists and per-epoch curves have the right lengths, its accuracies and
    AUCs are finite and in [0, 1], and its ``trained`` flags agree with its test accuracy.
    Raises ValueError naming the problem."""
    if not isinstance(record, Mapping):
        raise ValueError("a recipe study is a JSON object")
    missing = [k for k in _KEYS if k not in record]
    if missing:
        raise ValueError(f"missing {missing}")
    if not record["rows"]:
        raise ValueError("holds no run")
    _check_head(record)
    seen = set()
    for row in record["rows"]:
        try:
            key = (row["model"], row["recipe"])
            if key in seen:
                raise ValueError(f"{key} recorded twice")
            seen.add(key)
            _check_row(row, record)
        except (KeyError, TypeError) as err:
            raise ValueError(f"a run lacks {err} or has the wrong type") from err
    return dict(record)


def load_study(path: str | Path | None = None) -> dict:
    """A recorded study (default: :data:`RECORD` in this checkout), checked by
    :func:`check_study`; ValueError names the file."""
    path = Path(path) if path is not None else project_root() / RECORD
    try:
        return check_study(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable recipe study ({err})") from err
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def merge_studies(
    records: Sequence[Mapping], *, longest: bool = False, names: Sequence[str] | None = None
) -> dict:
    """One record from studies run apart (e.g. in two processes) with the same data, machine and
    versions (the epoch cap may differ: each row keeps its own in ``config``); rows in the order of
    :data:`STUDY`. Raises ValueError when the settings differ or a (model, recipe) repeats, unless
    ``longest``: then of a repeated (model, recipe) the run with the highest epoch cap is kept (a
    rerun for longer supersedes the shorter run, whose epochs it repeats on the same data).
    ``names`` (e.g. the files) name the studies in the errors."""
    if not records:
        raise ValueError("no study to merge")
    names = list(names or [f"study {i + 1}" for i in range(len(records))])
    first = records[0]
    for name, r in zip(names[1:], records[1:]):
        diff = [k for k in _SAME if r[k] != first[k]]
        if diff:
            raise ValueError(
                f"studies differ in {diff} ({name} and {names[0]}); only studies "
                f"with equal settings merge"
            )
    seen: dict[tuple, str] = {}
    for name, key in (
        (n, (row["model"], row["recipe"])) for n, r in zip(names, records) for row in r["rows"]
    ):
        if key in seen and not longest:
            raise ValueError(
                f"a (model, recipe) appears in more than one study: {key} in "
                f"{seen[key]} and {name} (pass longest=True, --longest, to keep "
                f"the longest run of each)"
            )
        seen[key] = name
    rows = [row for r in records for row in r["rows"]]
    if longest:
        best: dict[tuple, Mapping] = {}
        for row in rows:
            key = (row["model"], row["recipe"])
            if key not in best or row["config"]["max_epochs"] > best[key]["config"]["max_epochs"]:
                best[key] = row
        rows = list(best.values())
    order = {(m, r): i for i, (m, r) in enumerate((m, r) for m, rs in STUDY.items() for r in rs)}
    rows.sort(key=lambda row: order.get((row["model"], row["recipe"]), len(order)))
    return check_study(
        {
            **first,
            "rows": rows,
            "max_epochs": max(r["max_epochs"] for r in records),
            "commit": sorted({c for r in records for c in np.atleast_1d(r["commit"])}),
            "started": min(r["started"] for r in records),
        }
    )


def summary_rows(record: Mapping) -> list[dict]:
    """One row per (model, recipe): how many seeds trained (test accuracy >= ``trained_if``), how
    many met the paper's stopping rule (training loss < 0.01: a seed can fit its training set
    without learning the 5-slab), and their final numbers."""
    n = record["seeds"]

    def span(v: Sequence[float]) -> str:
        return f"{min(v):.3f}-{max(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"

    return [
        {
            "model": r["model"],
            "recipe": r["recipe"],
            "trained": f"{sum(r['trained'])}/{n}",
            "met the stopping rule": f"{sum(e > 0 for e in r['stopped_epoch'])}/{n}",
            "test acc": span(r["test_acc"]),
            "mean test acc": f"{np.mean(r['test_acc']):.3f}",
            "S-rand AUC": span(r["s_auc"]),
            "Sc-rand AUC": span(r["sc_auc"]),
            "epochs": f"{r['epochs']} of {r['config']['max_epochs']}",
        }
        for r in record["rows"]
    ]


def chosen(record: Mapping, model: str) -> str:
    """The recipe ``model`` should train with: App. B's, unless a departure both trained more seeds
    and reached a higher mean test accuracy over seeds (then the best such departure, by trained
    seeds, then mean test accuracy). Both, because a recipe can fit more training sets without
    learning the data (it then trains no more seeds), or train one more seed while the others learn
    less. Runs compared must share their epoch cap."""
    rows = [r for r in record["rows"] if r["model"] == model]
    if not rows:
        raise ValueError(f"the study holds no run of {model}")
    caps = {r["config"]["max_epochs"] for r in rows}
    if len(caps) > 1:
        raise ValueError(
            f"the runs of {model} have different epoch caps {sorted(caps)}: "
            "they cannot be compared"
        )

    def score(r: Mapping) -> tuple[int, float]:
        return sum(r["trained"]), float(np.mean(r["test_acc"]))

    plain = next((r for r in rows if r["recipe"] == PLAIN), None)
    if plain is None:
        return max(rows, key=score)["recipe"]
    better = [r for r in rows if all(a > b for a, b in zip(score(r), score(plain)))]
    return max(better, key=score)["recipe"] if better else PLAIN


def findings(study: Mapping) -> str:
    """``"(32,7,1)-CNN: App. B (SGD lr 0.1) 4/5; (100,10,1)-GRU: App. B (SGD lr 0.1) 0/5, Adam lr
    1e-3 3/5; ..."``: seeds trained per model and recipe, from a recorded study."""
    by_model: dict[str, list[str]] = {}
    for r in study["rows"]:
        by_model.setdefault(r["model"], []).append(
            f"{r['recipe']} {sum(r['trained'])}/{study['seeds']}"
        )
    return "; ".join(f"{m}: {', '.join(v)}" for m, v in by_model.items())


def setting(study: Mapping) -> str:
    """Where and how a recorded recipe study ran, in one line."""
    short = (c[:7] + ("+dirty" if "+dirty" in c else "") for c in np.atleast_1d(study["commit"]))
    commits = ", ".join(dict.fromkeys(sorted(short)))  # 7-digit hashes, each once
    minutes = sum(r["seconds"] for r in study["rows"]) / 60
    return (
        f"{study['dataset']}, {study['n_train']:,} training and {study['n_test']:,} test "
        f"points per seed, {study['seeds']} seeds, each run capped at the epochs the table "
        f"lists; {minutes:.0f} minutes of training in all on {study['device']} "
        f"({study['machine']}, torch {study['torch']}); commit {commits}, started "
        f"{study['started']}"
    )


def trained_summary(study: Mapping) -> str:
    """``"S-randomized AUC 0.490-0.510 and Sc-randomized AUC 1.000-1.000 over the 4 seeds that
    trained"``: what the seeds that learned the data rely on, pooled over models and recipes."""
    pairs = [
        (s, c)
        for r in study["rows"]
        for s, c, t in zip(r["s_auc"], r["sc_auc"], r["trained"])
        if t
    ]
    if not pairs:
        return "no seed trained under any recipe"
    s_auc, sc_auc = zip(*pairs)
    return (
        f"S-randomized AUC {min(s_auc):.3f}-{max(s_auc):.3f} and Sc-randomized AUC "
        f"{min(sc_auc):.3f}-{max(sc_auc):.3f} over the {len(pairs)} seeds that trained"
    )
