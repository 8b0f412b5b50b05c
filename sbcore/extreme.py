"""Chapter 02, extreme simplicity bias on slab data: presets and claim checks (#5-#10, #18).

The chapter trains the six Table-4 architectures on LMS-5 and MS-(5,7), wide (2000,1)-FCNs with
|Sc| = 49 and 249 (Fig. 3b), and the same models on the data with S removed (#10).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from . import claims
from .experiments import StackResult
from .metrics import ks_distance
from .models.specs import TABLE4_MODELS, ModelSpec
from .scales import choose, positive_int, require
from .train import TrainConfig

DATASETS = ("LMS-5", "MS-(5,7)")


@dataclass(frozen=True)
class ExtremeSBConfig:
    """Knobs of chapter 02. ``None`` in the notebook's parameters cell means "the preset's".

    ``n_train``/``n_train_ms``: training points per seed on LMS-5 / MS-(5,7); ``n_test``: test
    points per seed; ``n_seeds``: members trained together (their spread is the ± of every number);
    ``models``/``models_ms``: the Table 4 architectures run on LMS-5 / MS-(5,7); ``wide_dims``: input
    dimensions of the Fig. 3b runs (|Sc| = d - 1, same sample sizes as Table 4) on
    ``wide_datasets``; ``no_s_models``: the models retrained without
    S for claim #10 on ``no_s_datasets``, with App. D.1's recipe for slab-only data (``no_s_*``: lr
    0.3, momentum 0.9, weight decay 5e-4, with which the paper's FCNs learn MS-7 to ~100%); SGD knobs
    as in App. B.
    """

    n_train: int
    n_train_ms: int
    n_test: int
    n_seeds: int
    max_epochs: int
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 5e-7
    batch_size: int = 256
    d: int = 50
    models: tuple[str, ...] = TABLE4_MODELS
    models_ms: tuple[str, ...] = TABLE4_MODELS
    wide_model: str = "(2000,1)-FCN"
    wide_dims: tuple[int, ...] = (50, 250)
    wide_datasets: tuple[str, ...] = DATASETS
    no_s_models: tuple[str, ...] = TABLE4_MODELS
    no_s_datasets: tuple[str, ...] = DATASETS
    no_s_lr: float = 0.3
    no_s_momentum: float = 0.9
    no_s_weight_decay: float = 5e-4
    no_s_max_epochs: int = 500

    def __post_init__(self) -> None:
        for name in ("n_train", "n_train_ms", "n_test", "max_epochs", "no_s_max_epochs", "batch_size"):
            positive_int(name, getattr(self, name))
        positive_int("n_seeds", self.n_seeds, minimum=2)
        positive_int("d", self.d, minimum=3)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(0 <= self.momentum < 1, "momentum", "in [0, 1)", self.momentum)
        require(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        require(all(d >= 3 for d in self.wide_dims), "wide_dims", "integers >= 3", self.wide_dims)
        for name in ("wide_datasets", "no_s_datasets"):
            require(set(getattr(self, name)) <= set(DATASETS), name, f"a subset of {DATASETS}",
                    getattr(self, name))
        for m in (*self.models, *self.models_ms, self.wide_model, *self.no_s_models):
            ModelSpec.parse(m)  # raises ValueError naming the allowed notation

    @property
    def train(self) -> TrainConfig:
        """The SGD recipe with the paper's stopping rule (loss < 0.01 or max_epochs)."""
        return TrainConfig(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, max_epochs=self.max_epochs)

    @property
    def no_s_train(self) -> TrainConfig:
        """App. D.1's recipe for slab-only data (claim #10)."""
        return TrainConfig(lr=self.no_s_lr, momentum=self.no_s_momentum,
                           weight_decay=self.no_s_weight_decay, batch_size=self.batch_size,
                           max_epochs=self.no_s_max_epochs)

    def as_dict(self) -> dict:
        return asdict(self)

    def n_train_for(self, dataset: str) -> int:
        return self.n_train_ms if dataset.startswith("MS") else self.n_train

    def models_for(self, dataset: str) -> tuple[str, ...]:
        return self.models_ms if dataset.startswith("MS") else self.models


PRESETS = {
    "smoke": ExtremeSBConfig(n_train=20_000, n_train_ms=30_000, n_test=4000, n_seeds=2, max_epochs=60, momentum=0.9,
                             models=("(100,1)-FCN", "(100,2)-FCN", "(32,7,1)-CNN"),
                             models_ms=("(100,2)-FCN",), wide_model="(500,1)-FCN",
                             wide_dims=(50, 100), wide_datasets=("LMS-5",),
                             no_s_models=("(100,2)-FCN",), no_s_datasets=("LMS-5",),
                             no_s_max_epochs=60),
    "book": ExtremeSBConfig(n_train=50_000, n_train_ms=50_000, n_test=5000, n_seeds=3,
                            max_epochs=60, momentum=0.9,
                            models_ms=("(100,1)-FCN", "(100,2)-FCN"),
                            no_s_models=("(100,1)-FCN", "(100,2)-FCN"), no_s_max_epochs=120),
    # The paper's recipe (App. B). LMS-5: 50,000 points (App. B); MS-(5,7): the paper states no
    # size, the authors' notebooks use 100,000.
    "paper": ExtremeSBConfig(n_train=50_000, n_train_ms=100_000, n_test=10_000, n_seeds=5,
                             max_epochs=500),
}


def config(scale: str | None = None, **overrides) -> ExtremeSBConfig:
    """The chapter's config at ``scale`` with the non-None ``overrides`` applied (validated)."""
    return choose(PRESETS, scale, **overrides)


# Tolerances come from the paper: S-randomized AUC 0.49-0.51 in Table 4 (we allow ±0.03 around
# 0.5, as the issue fixes), Sc-randomized AUC printed as 1.00 (>= 0.99 rounds to it).
S_AUC_TOL = 0.03
SC_AUC_MIN = 0.99


def table4_records(results: Sequence[StackResult], *, scale: str, chapter: str,
                   strict: bool) -> list[claims.ClaimRecord]:
    """Claims #5 (LMS-5) and #6 (MS-(5,7)): per model, S-rand AUC ~ 0.5 and Sc-rand AUC ~ 1."""
    recs = []
    for r in results:
        cid = 5 if r.dataset.startswith("LMS") else 6
        common = dict(data=r.dataset, scale=scale, chapter=chapter, strict=strict, model=r.model_name)
        recs.append(claims.check(cid, f"S-randomized AUC, {r.model_name}", r.eval.s_auc,
                                 paper="0.50 (Table 4)", kind="within", target=0.5, tol=S_AUC_TOL, **common))
        recs.append(claims.check(cid, f"Sc-randomized AUC, {r.model_name}", r.eval.sc_auc,
                                 paper="1.00 (Table 4)", kind="at_least", target=SC_AUC_MIN, **common))
    return recs


NOT_RUN_MS = ("on a CPU the CNNs and GRUs did not learn MS-(5,7)'s 5-slab within the book's budget; "
              "the paper scale runs them")


def skipped_records(cfg: ExtremeSBConfig, *, scale: str, chapter: str) -> list[claims.ClaimRecord]:
    """Claims #5/#6 for the Table 4 architectures this scale does not train, as 'not run'."""
    recs = []
    for ds in DATASETS:
        for m in TABLE4_MODELS:
            if m not in cfg.models_for(ds):
                reason = NOT_RUN_MS if ds.startswith("MS") else "left out at this scale to save time"
                recs.append(claims.not_run(5 if ds.startswith("LMS") else 6, f"S- and Sc-randomized AUC, {m}",
                                           paper="0.50 / 1.00 (Table 4)", reason=reason, data=ds,
                                           scale=scale, chapter=chapter))
    return recs


def logit_records(results: Sequence[StackResult], *, scale: str, chapter: str,
                  strict: bool, ks_max: float = 0.05) -> list[claims.ClaimRecord]:
    """Claim #7, synthetic half (Fig. 3a): Kolmogorov-Smirnov distance between the scores of
    true positives before and after Sc-randomization (the paper: "essentially overlaps").

    ``ks_max = 0.05`` is fixed a priori: "overlap" read as no CDF gap above 5 points."""
    recs = []
    for r in results:
        ks = [ks_distance(a, b) for a, b in zip(r.eval.tp_scores["standard"],
                                                r.eval.tp_scores["Sc-randomized"])]
        recs.append(claims.check(7, f"KS(standard, Sc-randomized) of true-positive scores, {r.model_name}",
                                 ks, paper="overlap (Fig. 3a)", kind="at_most", target=ks_max,
                                 data=r.dataset, scale=scale, chapter=chapter, strict=strict))
    return recs


def shift_records(results: Sequence[StackResult], *, scale: str, chapter: str,
                  strict: bool) -> list[claims.ClaimRecord]:
    """Claim #18, synthetic half: randomizing S costs ~0.5 AUC, randomizing all of Sc ~nothing.

    Pooled over every model and seed on each dataset."""
    recs = []
    for ds in sorted({r.dataset for r in results}):
        rs = [r for r in results if r.dataset == ds]
        drop_s = np.concatenate([r.eval.auc - r.eval.s_auc for r in rs])
        drop_sc = np.concatenate([r.eval.auc - r.eval.sc_auc for r in rs])
        common = dict(data=ds, scale=scale, chapter=chapter, strict=strict)
        recs.append(claims.check(18, "AUC lost to S-randomization (all models)", drop_s,
                                 paper="AUC 1.0 -> 0.5", kind="at_least", target=0.5 - S_AUC_TOL, **common))
        recs.append(claims.check(18, "AUC lost to Sc-randomization (all models)", drop_sc,
                                 paper="negligible", kind="at_most", target=1 - SC_AUC_MIN, **common))
    return recs


def s_share_of_map(grid: np.ndarray) -> float:
    """Share of a decision map's variance explained by its S axis (axis -1): Var(E[p|S]) / Var(p).

    1 means the map depends on S only (claim #8, Fig. 3c); 0 means it ignores S."""
    total = grid.var()
    return float(grid.mean(axis=-2).var() / total) if total > 0 else 0.0


# Table 4 as printed (synthetic rows): S-randomized AUC per model; Sc-randomized AUC is 1.00.
PAPER_S_AUC = {
    "LMS-5": dict(zip(TABLE4_MODELS, ("0.50", "0.49", "0.50", "0.50", "0.51", "0.50"))),
    "MS-(5,7)": dict(zip(TABLE4_MODELS, ("0.50",) * 6)),
}


def table4_rows(results: Sequence[StackResult]) -> list[dict]:
    """Table 4 redrawn: per dataset and model, standard / Sc- / S-randomized AUC, ours and paper's."""
    from .report import mean_std

    rows = []
    for r in results:
        rows.append({"data": r.dataset, "model": r.model_name,
                     "train acc": mean_std(r.train_acc), "test acc": mean_std(r.eval.acc),
                     "AUC": mean_std(r.eval.auc), "Sc-rand AUC": mean_std(r.eval.sc_auc),
                     "Sc-rand AUC (paper)": "1.00",
                     "S-rand AUC": mean_std(r.eval.s_auc),
                     "S-rand AUC (paper)": PAPER_S_AUC.get(r.dataset, {}).get(r.model_name, "—"),
                     "epochs": r.history.n_epochs, "seconds": round(r.history.seconds)})
    return rows


def boundary_maps(result: StackResult, tests, *, n_grid: int = 61, seed: int = 0):
    """Fig. 3c for every member: the decision map over (S, the member's most influential Sc
    coordinate) and that coordinate. Returns (maps (M, n, n), coords list of M ints)."""
    from .metrics import coordinate_randomized_accuracy, decision_grid

    cra = coordinate_randomized_accuracy(result.model, tests, seed=seed)
    s = tests[0].s_coords[0]
    sc = list(tests[0].sc_coords)
    coords = [sc[int(np.argmin(cra[m, sc]))] for m in range(cra.shape[0])]
    maps = [decision_grid(result.model.select(m), [tests[m]], (s, j), n_grid=n_grid, seed=seed)[0]
            for m, j in enumerate(coords)]
    return np.stack(maps), coords


SHARE_MIN = 0.95  # claim #8: "depends only on S", read as >= 95% of the map's variance along S
NO_S_MIN = 0.99   # claim #10: "~100%" test accuracy without S (the threshold)


def check_share(dataset: str, shares: Sequence[float], *, scale: str, chapter: str,
                strict: bool) -> claims.ClaimRecord:
    """Claim #8: share of the (100,1)-FCN decision map's variance explained by S, per seed."""
    return claims.check(8, "variance share of the decision map along S, (100,1)-FCN", shares,
                        paper="boundary depends only on S (Fig. 3c)", kind="at_least",
                        target=SHARE_MIN, data=dataset, scale=scale, chapter=chapter, strict=strict)


def wide_rows(results: Sequence[StackResult]) -> list[dict]:
    """Fig. 3b's inset table: |Sc|, S-/Sc-randomized AUC of the wide FCNs, ours and the paper's."""
    from .report import mean_std

    paper = {("LMS", 49): ("0.50±0.01", "1.00±0.00"), ("LMS", 249): ("0.50±0.01", "1.00±0.00"),
             ("MS", 49): ("0.49±0.01", "1.00±0.00"), ("MS", 249): ("0.50±0.01", "1.00±0.00")}
    rows = []
    for r in results:
        n_sc = r.model.net[0].weight.shape[1] - 1
        p = paper.get((r.dataset.split("-")[0], n_sc), ("—", "—"))
        rows.append({"data": r.dataset, "model": r.model_name, "|Sc|": n_sc,
                     "S-rand AUC": mean_std(r.eval.s_auc), "S-rand AUC (paper)": p[0],
                     "Sc-rand AUC": mean_std(r.eval.sc_auc), "Sc-rand AUC (paper)": p[1]})
    return rows


# Findings of our own runs, recorded (never hidden) but not stopping the build; see the chapter.
WIDE_KNOWN = {
    ("MS-(5,7)", 249): "in our runs (50,000 and 100,000 points, SGD with momentum 0.9) the "
                       "(2000,1)-FCN memorizes MS-(5,7) at d = 250 (train 1.00, test 0.50) instead "
                       "of learning S; the paper does not state its sample size",
}


def wide_records(results: Sequence[StackResult], *, scale: str, chapter: str,
                 strict: bool) -> list[claims.ClaimRecord]:
    """Claim #9: with |Sc| = d - 1 complex coordinates the wide FCN still uses S only."""
    recs = []
    for r in results:
        n_sc = r.model.net[0].weight.shape[1] - 1
        common = dict(data=f"{r.dataset}, |Sc| = {n_sc}", scale=scale, chapter=chapter, strict=strict,
                      known_deviation=WIDE_KNOWN.get((r.dataset, n_sc)))
        recs.append(claims.check(9, f"S-randomized AUC, {r.model_name}", r.eval.s_auc,
                                 paper="0.49-0.50 ± 0.01", kind="within", target=0.5, tol=S_AUC_TOL, **common))
        recs.append(claims.check(9, f"Sc-randomized AUC, {r.model_name}", r.eval.sc_auc,
                                 paper="1.00 ± 0.00", kind="at_least", target=SC_AUC_MIN, **common))
    return recs


def no_s_records(results: Sequence[StackResult], *, scale: str, chapter: str,
                 strict: bool) -> list[claims.ClaimRecord]:
    """Claim #10: without S, the same models and sample size reach ~100% test accuracy."""
    return [claims.check(10, f"test accuracy without S, {r.model_name}", r.eval.acc,
                         paper="~100%", kind="at_least", target=NO_S_MIN, data=r.dataset,
                         scale=scale, chapter=chapter, strict=strict) for r in results]


def s_auc_range(results: Sequence[StackResult], dataset: str) -> str:
    """``"0.497-0.503"``: the smallest and largest mean S-randomized AUC over models on ``dataset``."""
    means = [r.eval.s_auc.mean() for r in results if r.dataset == dataset]
    return f"{min(means):.3f}-{max(means):.3f}" if means else "—"
