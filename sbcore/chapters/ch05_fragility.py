"""Chapter 05, fragility (claims #18-#22, Fig. 4): OOD scores under Sc-randomization, l2 margins
of the averaging classifier against networks (:mod:`sbcore.margins`), PGD and UAPs of the one
attack suite on synthetic and domino data, UAP transfer, and confidence when every complex feature
contradicts S (:mod:`sbcore.experiments.fragility`).

Budgets are fixed from the data geometry before any run (the paper states none): see ``EPS_PGD``,
``EPS_UAP`` and the chapter's text; on dominoes,
:func:`sbcore.experiments.fragility.attack_dominoes`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..claims.checks.fragility import PAPER_SHARE
from ..data.dominoes import SOURCES, ImageDominoes
from ..experiments import fragility
from ..experiments.fragility import (
    UAPS,
    AttackRun,
    attack_dominoes,
    attack_models,
    flip_budget_sweep,
    members,
    transfer_matrix,
)
from ..experiments.images import MNIST_CIFAR_RECIPE, load_pair, train_image_models
from ..experiments.stacks import make_splits, train_stack
from ..metrics import coords_mask
from ..models.specs import ModelSpec
from ..models.zoo import IMAGE_MODELS
from ..scales import positive_int, require
from ..train import TrainConfig

CHAPTER = "05_fragility"
DATASETS = ("LMS-5", "MS-(5,7)")
ALL3 = ("(100,1)-FCN", "(32,7,1)-CNN", "(100,10,1)-GRU")
# LMS-5: |S| in [0.1, 1] and the boundary in the gap (-0.1, 0.1): 1.1 carries every point across.
# MS-(5,7): half a 5-slab plus a gap (0.12 + 0.2) per point; one period (0.24 + 0.2) for a signed
# UAP, which pushes the far outer negative slab (1/16 of the points) out of range: the UAP floor.
EPS_PGD = {"LMS-5": 1.1, "MS-(5,7)": 0.32}
EPS_UAP = {"LMS-5": 1.1, "MS-(5,7)": 0.44}
SHARE_CHECK = {"LMS-5": "fragility.share.lms5", "MS-(5,7)": "fragility.share.ms57"}
PAPER_IMAGE_MODEL = "densenet121"
MIN_TEST = 20
KNOBS = {
    **{k: f"train.{k}" for k in ("lr", "momentum", "weight_decay", "batch_size", "max_epochs")},
    "image_max_epochs": "image_train.max_epochs",
}
SUMMARY = ("n_train", "n_train_ms", "n_attack", "image_model")
# Chapter 02's book recipe: SGD lr 0.1, momentum 0.9 (ours, to fit a CPU), l2 5e-7, stop < 0.01.
SYNTH_RECIPE = TrainConfig(lr=0.1, momentum=0.9, weight_decay=5e-7, batch_size=256, max_epochs=60)


@dataclass(frozen=True)
class Config:
    """``n_train``/``n_train_ms``: training points per seed on LMS-5 / MS-(5,7); ``n_test``: test
    points per seed; ``n_seeds``: members per stack; ``n_attack``: points attacked per model (UAPs
    are fitted on as many training points); ``margin_dims``: the d of claim #19's sweep, with
    ``margin_model`` trained on LMS-5 at each; ``models``/``models_ms``: architectures on LMS-5 /
    MS-(5,7); ``train``: their recipe. ``image_*``: the domino part (the paper attacks a
    DenseNet121 on MNIST-CIFAR), trained with ``image_train`` (the MNIST-CIFAR recipe)."""

    n_train: int
    n_train_ms: int
    n_test: int
    n_seeds: int
    n_attack: int
    margin_dims: tuple[int, ...]
    train: TrainConfig = SYNTH_RECIPE
    models: tuple[str, ...] = ALL3
    models_ms: tuple[str, ...] = ("(100,1)-FCN",)
    margin_model: str = "(100,1)-FCN"
    pgd_steps: int = 20
    uap_epochs: int = 5
    uap_batch: int = 50
    d: int = 50
    image_train: TrainConfig = MNIST_CIFAR_RECIPE
    image_model: str = PAPER_IMAGE_MODEL
    image_source: str = "auto"
    image_n_train: int | None = None
    image_n_test: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "n_train",
            "n_train_ms",
            "n_test",
            "n_attack",
            "pgd_steps",
            "uap_epochs",
            "uap_batch",
            "n_seeds",
            "d",
        ):
            positive_int(
                name,
                getattr(self, name),  # n_test: both classes, for the AUCs
                minimum={"n_seeds": 2, "d": 3, "n_test": MIN_TEST}.get(name, 1),
            )
        require(
            self.n_attack <= min(self.n_test, self.n_train, self.n_train_ms),
            "n_attack",
            "<= n_test, n_train and n_train_ms",
            self.n_attack,
        )
        require(
            len(self.margin_dims) >= 2
            and all(isinstance(d, int) and d >= 3 for d in self.margin_dims),
            "margin_dims",
            "at least two integers >= 3",
            self.margin_dims,
        )
        for m in (*self.models, *self.models_ms, self.margin_model):
            ModelSpec.parse(m)  # raises ValueError naming the allowed notation
        require(
            len(self.models) > 0 and len(self.models_ms) > 0,
            "models",
            "at least one architecture per dataset",
            (self.models, self.models_ms),
        )
        require(
            self.image_model in IMAGE_MODELS,
            "image_model",
            f"one of {IMAGE_MODELS}",
            self.image_model,
        )
        require(
            self.image_source in SOURCES, "image_source", f"one of {SOURCES}", self.image_source
        )
        for name in (n for n in ("image_n_train", "image_n_test") if getattr(self, n) is not None):
            positive_int(name, getattr(self, name), minimum=MIN_TEST)

    def n_train_for(self, dataset: str) -> int:
        return self.n_train_ms if dataset.startswith("MS") else self.n_train

    def models_for(self, dataset: str) -> tuple[str, ...]:
        return self.models_ms if dataset.startswith("MS") else self.models


_R = MNIST_CIFAR_RECIPE
PRESETS = {
    "smoke": Config(
        n_train=3000,
        n_train_ms=10_000,
        n_test=1000,
        n_seeds=2,
        n_attack=200,
        margin_dims=(10, 50),
        train=dataclasses.replace(SYNTH_RECIPE, max_epochs=40),
        models=ALL3[:2],
        pgd_steps=10,
        uap_epochs=2,
        image_model="small_cnn",
        image_train=dataclasses.replace(_R, max_epochs=4, batch_size=32),
        image_n_train=600,
        image_n_test=400,
    ),
    # MS-(5,7): only FCNs learn the 5-slab cheaply on a CPU (>= 50k points); CNN/GRU at paper scale.
    "book": Config(
        n_train=10_000,
        n_train_ms=50_000,
        n_test=2000,
        n_seeds=3,
        n_attack=500,
        margin_dims=(10, 25, 50, 100),
        image_model="small_cnn",
        image_train=dataclasses.replace(_R, max_epochs=10, batch_size=128, step_every=3),
        image_n_train=3000,
    ),
    # App. B: 50k LMS-5, the authors' 100k for MS-(5,7), plain SGD lr 0.1, 500 epochs.
    "paper": Config(
        n_train=50_000,
        n_train_ms=100_000,
        n_test=10_000,
        n_seeds=5,
        n_attack=2000,
        margin_dims=(10, 25, 50, 100, 250),
        models_ms=ALL3,
        uap_epochs=10,
        train=dataclasses.replace(SYNTH_RECIPE, momentum=0.0, max_epochs=500),
    ),
}


def train_all(cfg: Config, seeds: Sequence[int], *, device="cpu", progress: bool = True):
    """Per dataset: the per-seed (trains, tests) and one trained stack result per architecture
    (models moved to the CPU, where the attacks run)."""
    splits = {
        ds: make_splits(ds, cfg.n_train_for(ds), cfg.n_test, seeds, d=cfg.d) for ds in DATASETS
    }
    results = {
        ds: [
            train_stack(
                m,
                *splits[ds],
                cfg.train,
                seeds=seeds,
                device=device,
                progress=progress,
                eval_seed=seeds[0],
            )
            for m in cfg.models_for(ds)
        ]
        for ds in DATASETS
    }
    for r in (r for rs in results.values() for r in rs):
        r.model.cpu()
    return splits, results


def budget_sweep(
    cfg: Config, seeds: Sequence[int], *, device="cpu", progress: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Claim #19's sweep over ``cfg.margin_dims``
    (:func:`sbcore.experiments.fragility.flip_budget_sweep`): ({"f*": (M, n_dims), margin_model:
    (M, n_dims)}, median minimal flipping budgets; the networks' test accuracy (M, n_dims))."""
    sweep = flip_budget_sweep(
        cfg.margin_model,
        cfg.margin_dims,
        n_train=cfg.n_train,
        n_test=cfg.n_test,
        n_points=cfg.n_attack,
        seeds=seeds,
        cfg=cfg.train,
        device=device,
        progress=progress,
        n_steps=cfg.pgd_steps,
    )
    return sweep, sweep.pop("acc")


def attack_all(results: dict, splits: dict, cfg: Config, *, seed: int) -> dict[str, list]:
    """dataset -> per architecture, PGD and the two UAPs on every member of its trained stack
    (an :class:`AttackRun`; shares in the unrotated basis)."""
    out, n = {}, cfg.n_attack
    for ds, rs in results.items():
        trains, tests = splits[ds]
        kw = dict(
            on_s=coords_mask(cfg.d, tests[0].s_coords),
            bases=[t.rotation for t in tests],
            eps_pgd=EPS_PGD[ds],
            eps_uap=EPS_UAP[ds],
            pgd_steps=cfg.pgd_steps,
            uap_epochs=cfg.uap_epochs,
            uap_batch=cfg.uap_batch,
            seed=seed,
            data=ds,
        )
        out[ds] = [
            attack_models(
                members(r),
                [(t.x[:n], t.y[:n]) for t in trains],
                [(t.x[:n], t.y[:n]) for t in tests],
                model_name=r.model_name,
                **kw,
            )
            for r in rs
        ]
    return out


def transfer_all(runs: dict, results: dict, splits: dict, cfg: Config) -> dict:
    """(dataset, UAP) -> (S, T, M) accuracy of architecture j under architecture i's UAP of the
    same seed, for every dataset with at least two architectures."""
    out = {}
    for ds, rs in results.items():
        evals = [(t.x[: cfg.n_attack], t.y[: cfg.n_attack]) for t in splits[ds][1]]
        for a in UAPS if len(rs) > 1 else ():
            out[(ds, a)] = transfer_matrix(runs[ds], [members(r) for r in rs], evals, attack=a)
    return out


def attack_images(
    cfg: Config, seeds: Sequence[int], *, seed: int, device="cpu", progress: bool = True
) -> tuple[AttackRun, ImageDominoes]:
    """Train ``cfg.image_model`` once per seed on domino pair A and attack each model
    (:func:`sbcore.experiments.fragility.attack_dominoes`). Returns the run and the training
    set."""
    train, test = load_pair(
        cfg.image_source, "A", n_train=cfg.image_n_train, n_test=cfg.image_n_test, seed=seed
    )
    models = [
        m.cpu()
        for m in train_image_models(
            cfg.image_model,
            train.x,
            train.y,
            cfg.image_train,
            seeds,
            device=device,
            progress=progress,
        )[0]
    ]
    run = attack_dominoes(
        models,
        train,
        test,
        n_attack=cfg.n_attack,
        pgd_steps=cfg.pgd_steps,
        uap_epochs=cfg.uap_epochs,
        uap_batch=cfg.uap_batch,
        seed=seed,
        model_name=cfg.image_model,
    )
    return run, train


def attack_rows(runs: Sequence[AttackRun], paper_share: str | None = None) -> list[dict]:
    """:func:`sbcore.experiments.fragility.attack_rows` with the paper's share of each dataset."""
    return fragility.attack_rows(runs, paper_share or PAPER_SHARE)


def check_shift(run, results: dict, ood: dict) -> None:
    """Claim #18 per dataset and architecture: S-randomized accuracy at chance, Sc-randomization
    costs nothing, and the OOD scores of ``ood`` ((dataset, model) -> {score: AUCs}) are blind."""
    for ds, rs in results.items():
        for r in rs:
            kw = dict(data=ds, model=r.model_name, learned=r.eval.acc)
            run.check(
                "fragility.shift.s_acc",
                r.eval.s_acc,
                **kw,
                n=run.cfg.n_test,
                n_seeds=len(r.eval.s_acc),
            )
            run.check("fragility.shift.sc_drop", r.eval.acc - r.eval.sc_acc, **kw)
            for score, aucs in ood[(ds, r.model_name)].items():
                run.check("fragility.ood_auroc", aucs, score=score, **kw)


def check_margins(run, slopes: dict[str, np.ndarray], acc: np.ndarray) -> None:
    """Claim #19: the d-exponent of the flipping budget, f* (a fact of the data) and network
    (``acc``: the networks' test accuracy (M, n_dims), its learned precondition at every d)."""
    data = f"LMS-5, d in {list(run.cfg.margin_dims)}"
    run.check("fragility.margin.slope_avg", slopes["f*"], data=data)
    m = run.cfg.margin_model
    run.check("fragility.margin.slope_net", slopes[m], data=data, model=m, learned=acc.min(1))


def check_attacks(run, runs: Sequence[AttackRun]) -> None:
    """Claim #20 on synthetic data: accuracy after each attack; share of each UAP's budget on S.
    Architectures of the paper this scale does not attack are recorded as not run."""
    for r in runs:
        kw = dict(data=r.data, model=r.model_name, learned=r.clean_acc)
        run.check("fragility.pgd_acc", r.acc["PGD"], eps=r.eps_pgd, **kw)
        for a in UAPS:
            if r.data == "MS-(5,7)":
                run.check(
                    "fragility.uap_acc_ms57",
                    r.acc[a],
                    attack=a,
                    eps=r.eps_uap,
                    **kw,
                    n=run.cfg.n_attack,
                )
            else:
                run.check("fragility.uap_acc", r.acc[a], attack=a, eps=r.eps_uap, **kw)
            run.check(
                SHARE_CHECK[r.data],
                r.share[a],
                attack=a,
                **kw,
                known=(r.data == "MS-(5,7)" and a == "AS-UAP") or "GRU" in r.model_name,
            )
    for ds in DATASETS:
        for m in (m for m in ALL3 if m not in run.cfg.models_for(ds)):
            run.not_run(
                SHARE_CHECK[ds],
                f"{m} on {ds} runs at paper scale only",
                data=ds,
                attack="UAP",
                model=m,
            )


def check_image_attacks(run, irun: AttackRun) -> None:
    """Claim #20 on dominoes: accuracy after each attack (clipped) and the UAPs' applied share on
    the top block; the stand-in's declared deviations apply on the stand-in only."""
    stand_in = not irun.data.startswith("MNIST-CIFAR")
    kw = dict(data=irun.data, model=irun.model_name, learned=irun.clean_acc)
    run.check("fragility.image_acc", irun.acc["PGD"], attack="PGD", eps=irun.eps_pgd, **kw)
    for a in UAPS:
        run.check(
            "fragility.image_acc", irun.acc[a], attack=a, eps=irun.eps_uap, known=stand_in, **kw
        )
        run.check("fragility.share.images", irun.share[a], attack=a, known=stand_in, **kw)
    if irun.model_name != PAPER_IMAGE_MODEL:
        run.not_run(
            "fragility.share.images",
            "the paper's DenseNet121 runs at paper scale only",
            data=irun.data,
            attack="UAP",
            model=PAPER_IMAGE_MODEL,
        )


def check_transfer(run, mats: dict, names: dict, runs: dict) -> None:
    """Claim #21: every off-diagonal (source != target) accuracy under a transferred UAP.
    ``mats``: (dataset, attack) -> (S, T, M); a dataset with one architecture is not run;
    ``runs``: dataset -> its :class:`AttackRun` s, whose clean accuracies are the precondition."""
    for ds in DATASETS:
        for a in UAPS:
            if (ds, a) not in mats:
                run.not_run(
                    "fragility.transfer",
                    "only one architecture is trained on it at this scale",
                    data=ds,
                    attack=a,
                    models=" / ".join(ALL3),
                )
                continue
            mat = mats[(ds, a)]
            off = [mat[i, j] for i in range(mat.shape[0]) for j in range(mat.shape[1]) if i != j]
            run.check(
                "fragility.transfer",
                np.concatenate(off),
                data=ds,
                attack=a,
                models=" / ".join(names[ds]),
                learned=np.concatenate([r.clean_acc for r in runs[ds]]),
            )


def check_contradiction(run, contra: dict) -> None:
    """Claim #22 per (dataset, model): predictions follow S and confidence stays high."""
    for (ds, model), c in contra.items():
        kw = dict(data=ds, model=model, learned=c["acc"])
        run.check("fragility.contradict.follow_s", c["follow_s"], **kw)
        run.check("fragility.contradict.conf_drop", c["clean_conf"] - c["contra_conf"], **kw)
