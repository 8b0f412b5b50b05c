"""Chapter 02, extreme simplicity bias on slab data (claims #5-#10, synthetic halves of #7, #18).

The chapter trains the six Table-4 architectures on LMS-5 and MS-(5,7), wide (2000,1)-FCNs with
|Sc| = 49 and 249 (Fig. 3b), and the same models on the data with S removed (#10). Every seed
draws its own dataset, rotation and initialization; the seeds of one architecture train as one
stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

from ..claims.checks.slabs import PAPER_S_AUC, PAPER_WIDE, shuffle_bar
from ..claims.display import mean_std
from ..claims.run import auc_precondition
from ..experiments.recipe_records import STUDY
from ..experiments.recipes import CANDIDATES, describe
from ..experiments.stacks import StackResult, make_splits, train_stack
from ..metrics import (
    coordinate_randomized_accuracy,
    decision_grid,
    eval_seed,
    ks_distance,
    shuffle_ks,
)
from ..models.specs import TABLE4_MODELS, ModelSpec
from ..scales import positive_int, require
from ..train import TrainConfig

CHAPTER = "02_extreme_sb_slabs"
DATASETS = ("LMS-5", "MS-(5,7)")
SUMMARY = ("n_train", "n_test")
KNOBS = {
    "lr": "train.lr",
    "momentum": "train.momentum",
    "weight_decay": "train.weight_decay",
    "batch_size": "train.batch_size",
    "max_epochs": "train.max_epochs",
    "no_s_max_epochs": "no_s_train.max_epochs",
}
N_BACKGROUND = 16  # test points averaged under each decision map (Fig. 3c)


@dataclass(frozen=True)
class Config:
    """Knobs of chapter 02 (``None`` in the notebook's parameters cell means "the preset's").

    ``n_train``/``n_train_ms``: training points per seed on LMS-5 / MS-(5,7); ``n_test``: test
    points per seed; ``n_seeds``: members trained together (the ± of every number); ``train``: the
    SGD recipe (App. B) with the paper's stopping rule; ``models``/``models_ms``: the Table 4
    architectures run on LMS-5 / MS-(5,7); ``wide_*``: Fig. 3b's runs (|Sc| = d - 1, same sample
    sizes); ``no_s_*``: claim #10's runs without S, with App. D.1's recipe for slab-only data;
    ``ms_recipes``: model -> the name of a recipe of :data:`sbcore.experiments.recipes.CANDIDATES`
    whose optimizer, learning rate and momentum replace ``train``'s for that model on MS-(5,7)
    (weight decay, batch size, epoch cap and stopping rule stay ``train``'s), chosen from the
    recorded recipe study; the ``lr`` and ``momentum`` knobs do not reach these models.
    """

    n_train: int
    n_train_ms: int
    n_test: int
    n_seeds: int
    train: TrainConfig
    d: int = 50
    models: tuple[str, ...] = TABLE4_MODELS
    models_ms: tuple[str, ...] = TABLE4_MODELS
    wide_model: str = "(2000,1)-FCN"
    wide_dims: tuple[int, ...] = (50, 250)
    wide_datasets: tuple[str, ...] = DATASETS
    no_s_models: tuple[str, ...] = TABLE4_MODELS
    no_s_datasets: tuple[str, ...] = DATASETS
    no_s_train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            lr=0.3, momentum=0.9, weight_decay=5e-4, max_epochs=500
        )
    )
    ms_recipes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("n_train", "n_train_ms"):
            positive_int(name, getattr(self, name))
        positive_int("n_test", self.n_test, minimum=100)  # Fig. 3c averages over 16 test points
        positive_int("n_seeds", self.n_seeds, minimum=2)
        positive_int("d", self.d, minimum=3)
        require(
            all(isinstance(d, int) and d >= 3 for d in self.wide_dims),
            "wide_dims",
            "integers >= 3",
            self.wide_dims,
        )
        for name in ("wide_datasets", "no_s_datasets"):
            require(
                set(getattr(self, name)) <= set(DATASETS),
                name,
                f"a subset of {DATASETS}",
                getattr(self, name),
            )
        for m in (
            *self.models,
            *self.models_ms,
            self.wide_model,
            *self.no_s_models,
            *self.ms_recipes,
        ):
            ModelSpec.parse(m)  # raises ValueError naming the allowed notation
        require(
            set(self.ms_recipes.values()) <= set(CANDIDATES),
            "ms_recipes",
            f"recipe names from {sorted(CANDIDATES)}",
            dict(self.ms_recipes),
        )
        object.__setattr__(
            self,
            "ms_recipes",  # "(100, 10, 1)-GRU" and "(100,10,1)-GRU" alike
            {ModelSpec.parse(m).label: r for m, r in self.ms_recipes.items()},
        )

    def n_train_for(self, dataset: str) -> int:
        return self.n_train_ms if dataset.startswith("MS") else self.n_train

    def models_for(self, dataset: str) -> tuple[str, ...]:
        return self.models_ms if dataset.startswith("MS") else self.models

    def recipe_name(self, dataset: str, model: str) -> str | None:
        """The name of ``model``'s recipe from ``ms_recipes`` on MS-(5,7), else None."""
        label = ModelSpec.parse(model).label
        return self.ms_recipes.get(label) if dataset.startswith("MS") else None

    def recipe_for(self, dataset: str, model: str) -> TrainConfig:
        """``train``, or on MS-(5,7) ``train`` with the optimizer, learning rate and momentum of
        the model's recipe from ``ms_recipes``."""
        name = self.recipe_name(dataset, model)
        if name is None:
            return self.train
        c = CANDIDATES[name]
        return replace(self.train, optimizer=c.optimizer, lr=c.lr, momentum=c.momentum)


_BOOK = TrainConfig(lr=0.1, momentum=0.9, max_epochs=60)
PRESETS = {
    "smoke": Config(
        n_train=20_000,
        n_train_ms=30_000,
        n_test=10_000,
        n_seeds=2,
        train=_BOOK,
        models=("(100,1)-FCN", "(100,2)-FCN", "(32,7,1)-CNN"),
        models_ms=("(100,2)-FCN",),
        wide_model="(500,1)-FCN",
        wide_dims=(50, 100),
        wide_datasets=("LMS-5",),
        no_s_models=("(100,2)-FCN",),
        no_s_datasets=("LMS-5",),
        no_s_train=TrainConfig(lr=0.3, momentum=0.9, weight_decay=5e-4, max_epochs=60),
    ),
    "book": Config(
        n_train=50_000,
        n_train_ms=50_000,
        n_test=5000,
        n_seeds=3,
        train=_BOOK,
        models_ms=("(100,1)-FCN", "(100,2)-FCN"),
        no_s_models=("(100,1)-FCN", "(100,2)-FCN"),
        no_s_train=TrainConfig(lr=0.3, momentum=0.9, weight_decay=5e-4, max_epochs=120),
    ),
    # The paper's recipe (App. B). LMS-5: 50,000 points (App. B); MS-(5,7): the paper states no
    # size, the authors' notebooks use 100,000. On MS-(5,7) the recipe study's choices (the test
    # suite holds them to docs/results/ms57-recipes.json): App. B's SGD leaves the GRUs at ln 2.
    "paper": Config(
        n_train=50_000,
        n_train_ms=100_000,
        n_test=10_000,
        n_seeds=5,
        train=TrainConfig(max_epochs=500),
        ms_recipes={"(100,10,1)-GRU": "Adam lr 1e-3", "(100,10,2)-GRU": "Adam lr 1e-3"},
    ),
}


def _key(dataset: str) -> str:
    return "lms5" if dataset.startswith("LMS") else "ms57"


def table4(run) -> tuple[dict, list[StackResult]]:
    """Train every Table 4 architecture of this scale on LMS-5 and MS-(5,7): (splits, results)."""
    cfg = run.cfg
    splits = {
        ds: make_splits(ds, cfg.n_train_for(ds), cfg.n_test, run.seeds, d=cfg.d) for ds in DATASETS
    }
    results = [
        train_stack(
            m,
            *splits[ds],
            cfg.recipe_for(ds, m),
            seeds=run.seeds,
            device=run.device,
            progress=run.progress,
            eval_seed=eval_seed(run.seed, i, m),
        )
        for i, ds in enumerate(DATASETS)
        for m in cfg.models_for(ds)
    ]
    return splits, results


def table4_rows(results: Sequence[StackResult]) -> list[dict]:
    """Table 4 redrawn: per dataset and model, standard / Sc- / S-randomized AUC, ours and paper's."""
    return [
        {
            "data": r.dataset,
            "model": r.model_name,
            "recipe": describe(r.history.config),
            "train acc": mean_std(r.train_acc),
            "test acc": mean_std(r.eval.acc),
            "AUC": mean_std(r.eval.auc),
            "Sc-rand AUC": mean_std(r.eval.sc_auc),
            "Sc-rand AUC (paper)": "1.00",
            "S-rand AUC": mean_std(r.eval.s_auc),
            "S-rand AUC (paper)": PAPER_S_AUC.get(r.dataset, {}).get(r.model_name, "—"),
            "epochs": r.history.n_epochs,
        }
        for r in results
    ]


def check_table4(run, results: Sequence[StackResult]) -> None:
    """Claims #5 and #6 per model, #18 (synthetic) per model; the Table 4 architectures this
    scale does not train are recorded as "not run"."""
    for r in results:
        k = _key(r.dataset)
        fmt = dict(data=r.dataset, model=r.model_name, **auc_precondition(r.eval))
        run.check(f"slabs.{k}.s_auc", r.eval.s_auc, **fmt)
        run.check(f"slabs.{k}.sc_auc", r.eval.sc_auc, **fmt)
        run.check("slabs.shift.s_drop", r.eval.auc - r.eval.s_auc, **fmt)
        run.check("slabs.shift.sc_drop", r.eval.auc - r.eval.sc_auc, **fmt)
    for ds in DATASETS:
        for m in TABLE4_MODELS:
            if m not in run.cfg.models_for(ds):
                reason = (
                    "the CNNs and GRUs need far more epochs on MS-(5,7) than a CPU "
                    "build affords (see the recipe study); the paper scale trains them"
                    if ds.startswith("MS")
                    else "left out to save time"
                )
                for q in ("s_auc", "sc_auc"):
                    run.not_run(f"slabs.{_key(ds)}.{q}", reason, data=ds, model=m)


def check_logits(run, results: Sequence[StackResult]) -> None:
    """Claim #7 (synthetic): KS distance of the true positives' scores before and after
    Sc-randomization, per model and seed."""
    for r in results:
        ks = [
            ks_distance(a, b)
            for a, b in zip(r.eval.tp_scores["standard"], r.eval.tp_scores["Sc-randomized"])
        ]
        run.check(
            "slabs.logits_ks", ks, data=r.dataset, model=r.model_name, **auc_precondition(r.eval)
        )
        ks, n_tp, n = shuffle_ks(r.eval)
        run.check(
            "slabs.logits_shuffle",
            ks,
            data=r.dataset,
            model=r.model_name,
            target=shuffle_bar(n_tp, n),
            **auc_precondition(r.eval),
        )


def boundary_maps(result: StackResult, tests, *, n_grid: int = 61, seed: int = 0):
    """Fig. 3c for every member: the decision map over (S, the member's most influential Sc
    coordinate) and that coordinate. Returns (maps (M, n, n), coords list of M ints)."""
    cra = coordinate_randomized_accuracy(result.model, tests, seed=seed)
    s, sc = tests[0].s_coords[0], list(tests[0].sc_coords)
    coords = [sc[int(np.argmin(cra[m, sc]))] for m in range(cra.shape[0])]
    maps = [
        decision_grid(
            result.model.select(m),
            [tests[m]],
            (s, j),
            n_grid=n_grid,
            n_background=N_BACKGROUND,
            seed=seed,
        )[0]
        for m, j in enumerate(coords)
    ]
    return np.stack(maps), coords


def wide_runs(run) -> list[StackResult]:
    """Fig. 3b: the wide FCN at every input dimension of ``wide_dims`` (|Sc| = d - 1)."""
    cfg = run.cfg
    return [
        train_stack(
            cfg.wide_model,
            *make_splits(ds, cfg.n_train_for(ds), cfg.n_test, run.seeds, d=d),
            cfg.train,
            seeds=run.seeds,
            device=run.device,
            progress=run.progress,
            eval_seed=eval_seed(run.seed, d, ds),
        )
        for ds in cfg.wide_datasets
        for d in cfg.wide_dims
    ]


def n_complex(result: StackResult) -> int:
    return result.model.net[0].weight.shape[1] - 1


def wide_rows(results: Sequence[StackResult]) -> list[dict]:
    """Fig. 3b's inset table: |Sc|, S-/Sc-randomized AUC of the wide FCNs, ours and the paper's."""
    rows = []
    for r in results:
        p = PAPER_WIDE.get((r.dataset.split("-")[0], n_complex(r)), ("—", "—"))
        rows.append(
            {
                "data": r.dataset,
                "model": r.model_name,
                "|Sc|": n_complex(r),
                "train acc": mean_std(r.train_acc),
                "test acc": mean_std(r.eval.acc),
                "S-rand AUC": mean_std(r.eval.s_auc),
                "S-rand AUC (paper)": p[0],
                "Sc-rand AUC": mean_std(r.eval.sc_auc),
                "Sc-rand AUC (paper)": p[1],
            }
        )
    return rows


def check_wide(run, results: Sequence[StackResult]) -> None:
    """Claim #9; the paper's four settings this scale does not run are "not run"."""
    done = set()
    for r in results:
        n_sc = n_complex(r)
        done.add((r.dataset, n_sc))
        known = r.dataset.startswith("MS") and n_sc == 249  # the memorization seen in our runs
        fmt = dict(
            data=f"{r.dataset}, |Sc| = {n_sc}",
            model=r.model_name,
            n_sc=n_sc,
            **auc_precondition(r.eval),
        )
        run.check("slabs.wide.s_auc", r.eval.s_auc, known=known, **fmt)
        run.check("slabs.wide.sc_auc", r.eval.sc_auc, known=known, **fmt)
    for ds in DATASETS:
        for n_sc in (49, 249):
            if (ds, n_sc) not in done:
                for q in ("s_auc", "sc_auc"):
                    run.not_run(
                        f"slabs.wide.{q}",
                        "left out to save time",
                        data=f"{ds}, |Sc| = {n_sc}",
                        model="(2000,1)-FCN",
                        n_sc=n_sc,
                    )


def no_s_runs(run, splits: dict) -> list[StackResult]:
    """Claim #10: the same models and sample sizes with S removed, App. D.1's slab recipe."""
    cfg, out = run.cfg, []
    for ds in cfg.no_s_datasets:
        trains, tests = ([t.drop(t.s_coords) for t in part] for part in splits[ds])
        out += [
            train_stack(
                m,
                trains,
                tests,
                cfg.no_s_train,
                seeds=run.seeds,
                device=run.device,
                progress=run.progress,
                eval_seed=eval_seed(run.seed, ds, m, "no S"),
            )
            for m in cfg.no_s_models
        ]
    return out


def check_no_s(run, results: Sequence[StackResult]) -> None:
    """Claim #10 per model; the Table 4 models and datasets not rerun without S are "not run"."""
    for r in results:
        run.check("slabs.no_s.acc", r.eval.acc, data=r.dataset, model=r.model_name)
    for ds in DATASETS:
        for m in TABLE4_MODELS:
            if ds not in run.cfg.no_s_datasets or m not in run.cfg.no_s_models:
                run.not_run(
                    "slabs.no_s.acc", "left out to save time", data=f"{ds} without S", model=m
                )


def s_auc_range(results: Sequence[StackResult], dataset: str) -> str:
    """``"0.497-0.503"``: the smallest and largest mean S-randomized AUC over models on ``dataset``."""
    means = [r.eval.s_auc.mean() for r in results if r.dataset == dataset]
    return f"{min(means):.3f}-{max(means):.3f}" if means else "—"


def recipe_rows(cfg: Config) -> list[dict]:
    """On MS-(5,7): each Table-4 model's recipe at this scale (or that it is not trained here) and
    at the paper scale, and where the paper scale's recipe comes from."""
    paper = PRESETS["paper"]

    def used(c: Config, m: str) -> str:
        return describe(c.recipe_for("MS-(5,7)", m)) if m in c.models_ms else "not trained"

    def source(m: str) -> str:
        if m in paper.ms_recipes:
            return "the recipe study: better than App. B's on both counts"
        return "App. B; the recipe study found none better" if m in STUDY else "App. B"

    return [
        {
            "model": m,
            "MS-(5,7), this scale": used(cfg, m),
            "MS-(5,7), paper scale": used(paper, m),
            "paper scale's recipe from": source(m),
        }
        for m in TABLE4_MODELS
    ]
