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

    ``n_train``/``n_test``: points per seed; ``n_seeds``: members trained together (their spread
    is the ± of every number); ``models``: Table 4's architectures; ``wide_dims``: input
    dimensions of the Fig. 3b runs (|Sc| = d - 1); ``no_s_models``: the models retrained without
    S for claim #10; SGD knobs as in App. B.
    """

    n_train: int
    n_test: int
    n_seeds: int
    max_epochs: int
    wide_n_train: int
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 5e-7
    batch_size: int = 256
    d: int = 50
    models: tuple[str, ...] = TABLE4_MODELS
    wide_model: str = "(2000,1)-FCN"
    wide_dims: tuple[int, ...] = (50, 250)
    no_s_models: tuple[str, ...] = TABLE4_MODELS

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test", "max_epochs", "wide_n_train", "batch_size"):
            positive_int(name, getattr(self, name))
        positive_int("n_seeds", self.n_seeds, minimum=2)
        positive_int("d", self.d, minimum=3)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(0 <= self.momentum < 1, "momentum", "in [0, 1)", self.momentum)
        require(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        require(all(d >= 3 for d in self.wide_dims), "wide_dims", "integers >= 3", self.wide_dims)
        for m in (*self.models, self.wide_model, *self.no_s_models):
            ModelSpec.parse(m)  # raises ValueError naming the allowed notation

    @property
    def train(self) -> TrainConfig:
        """The SGD recipe with the paper's stopping rule (loss < 0.01 or max_epochs)."""
        return TrainConfig(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, max_epochs=self.max_epochs)

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "smoke": ExtremeSBConfig(n_train=3000, n_test=4000, n_seeds=2, max_epochs=40,
                             wide_n_train=3000, momentum=0.9, models=("(100,1)-FCN", "(32,7,1)-CNN", "(100,10,1)-GRU"),
                             wide_model="(500,1)-FCN", wide_dims=(50, 100),
                             no_s_models=("(100,1)-FCN",)),
    "book": ExtremeSBConfig(n_train=10_000, n_test=5000, n_seeds=3, max_epochs=60,
                            wide_n_train=10_000, momentum=0.9,
                            no_s_models=("(100,1)-FCN", "(100,2)-FCN")),
    "paper": ExtremeSBConfig(n_train=50_000, n_test=10_000, n_seeds=5, max_epochs=500,
                             wide_n_train=50_000),
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
