"""Chapter 10, the testbed: the scales at which :func:`sbcore.testbed.evaluate` scores a method, and
what the page shows (the leaderboard's rows and what the prose reads off it).

The scorecard measures every pitfall of the paper the same way for every method (see
:mod:`sbcore.testbed`): extreme simplicity bias on LMS-5 and MS-(5,7) (Sec. 4.1), the harm to
in-distribution accuracy on noisy LMS-7 (Sec. 6), the gain of ensembles on MS-5 (App. E.1),
fragility on LMS-5 at chapter 05's budgets (Sec. 4.3) and extreme SB on image dominoes (Sec. 4.2).
This module imports no testbed code (the testbed is the layer above it); it holds the settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..data.dominoes import SOURCES
from ..experiments.images import MNIST_CIFAR_RECIPE
from ..models.specs import ModelSpec
from ..models.zoo import IMAGE_MODELS
from ..scales import positive_int, require
from ..train import TrainConfig

CHAPTER = "10_testbed"
SUMMARY = ("n_train_lms", "methods", "method")
KNOBS = {k: f"train.{k}" for k in ("lr", "momentum", "weight_decay", "batch_size", "max_epochs")}
REFERENCE = ("sam", "spectral_decoupling", "diverse")  # the default rows beside vanilla
KNOWN = (*REFERENCE, "jtt")  # every reference method of sbcore.testbed.methods
# Chapter 05's l2 budgets on LMS-5: |S| in [0.1, 1] and the boundary in the gap (-0.1, 0.1), so
# 1.1 carries every point across; the same for PGD (per point) and the UAPs (one for all points).
EPS_LMS5 = 1.1
# A difference from vanilla below this is no move, however small the spread (0.000 ± 0.000 vs
# 1.000 ± 0.000 rounds away a 1e-5 difference; the tables show three decimals).
MIN_MOVE = 0.01
# The columns that say whether a model uses the complex features at all (Sec. 4, Table 4).
SB_COLUMNS = (
    "lms5_s_auc",
    "lms5_sc_auc",
    "ms57_s_auc",
    "ms57_sc_auc",
    "img_top_auc",
    "img_bottom_auc",
)


@dataclass(frozen=True)
class Config:
    """``n_seeds``: independent repetitions (the ± of every number); ``n_test``: test points per
    seed; ``n_train_*``: training points per seed on LMS-5, MS-(5,7), noisy LMS-7 (noise
    ``noise``) and MS-5 (small, so that single models overfit, App. E.1); ``train``: the SGD
    recipe of every synthetic model (each stops on its own at training loss < 0.01); ``model`` /
    ``ens_model``: the architectures (chapter 02's and chapter 07's); ``ens_sizes``: the ensemble
    sizes whose gain is scored; ``n_attack``, ``pgd_steps``, ``uap_*``: chapter 05's attack suite
    on LMS-5; ``image_*``: domino pair A (MNIST-CIFAR when on disk, else the Fashion-MNIST
    stand-in) and its recipe. ``methods``: reference methods to score beside vanilla (names in
    :mod:`sbcore.testbed.methods`); ``method``: your own, as ``"package.module:name"``."""

    n_seeds: int
    n_test: int
    n_train_lms: int
    n_train_ms57: int
    n_train_noisy: int
    n_train_ms5: int
    n_attack: int
    train: TrainConfig
    image_n_train: int | None
    image_n_test: int | None
    image_train: TrainConfig
    model: str = "(100,1)-FCN"
    ens_model: str = "(100,2)-FCN"
    ens_sizes: tuple[int, ...] = (5, 10)
    noise: float = 0.1
    d: int = 50
    pgd_steps: int = 20
    uap_epochs: int = 5
    uap_batch: int = 50
    image_source: str = "auto"
    image_model: str = "small_cnn"
    methods: tuple[str, ...] = REFERENCE
    method: str | None = None

    def __post_init__(self) -> None:
        for name, least in (
            ("n_seeds", 2),
            ("n_test", 100),
            ("n_train_lms", 1),
            ("n_train_ms57", 1),
            ("n_train_noisy", 1),
            ("n_train_ms5", 1),
            ("n_attack", 1),
            ("pgd_steps", 1),
            ("uap_epochs", 1),
            ("uap_batch", 1),
            ("d", 3),
        ):
            positive_int(name, getattr(self, name), minimum=least)
        require(
            self.n_attack <= min(self.n_test, self.n_train_lms),
            "n_attack",
            "<= n_test and n_train_lms",
            self.n_attack,
        )
        require(
            len(self.ens_sizes) > 0 and all(isinstance(k, int) and k >= 2 for k in self.ens_sizes),
            "ens_sizes",
            "ensemble sizes >= 2",
            self.ens_sizes,
        )
        require(0 < self.noise < 1, "noise", "in (0, 1)", self.noise)
        for m in (self.model, self.ens_model):
            ModelSpec.parse(m)
        require(
            self.image_model in IMAGE_MODELS,
            "image_model",
            f"one of {IMAGE_MODELS}",
            self.image_model,
        )
        require(
            self.image_source in SOURCES, "image_source", f"one of {SOURCES}", self.image_source
        )
        for name in ("image_n_train", "image_n_test"):
            if getattr(self, name) is not None:
                positive_int(name, getattr(self, name), minimum=20)
        require(set(self.methods) <= set(KNOWN), "methods", f"names from {KNOWN}", self.methods)
        require(
            self.method is None or (isinstance(self.method, str) and self.method.count(":") == 1),
            "method",
            "None or 'package.module:name'",
            self.method,
        )


# Chapter 02's book recipe: SGD lr 0.1, momentum 0.9 (to fit a CPU), l2 5e-7, stop < 0.01.
_SGD = TrainConfig(lr=0.1, momentum=0.9, weight_decay=5e-7, batch_size=256, max_epochs=60)
_R = MNIST_CIFAR_RECIPE
PRESETS = {
    # Seconds per method: tiny sets, short budgets; the numbers mean little, the code path all.
    "smoke": Config(
        n_seeds=2,
        n_test=400,
        n_train_lms=1000,
        n_train_ms57=3000,
        n_train_noisy=1000,
        n_train_ms5=1500,
        n_attack=100,
        train=dataclasses.replace(_SGD, max_epochs=8),
        pgd_steps=5,
        uap_epochs=1,
        image_n_train=128,
        image_n_test=100,
        image_train=dataclasses.replace(_R, max_epochs=2, batch_size=32),
    ),
    # The book on a 2-core CPU: about a minute per method.
    "book": Config(
        n_seeds=3,
        n_test=2000,
        n_train_lms=10_000,
        n_train_ms57=20_000,
        n_train_noisy=10_000,
        n_train_ms5=3500,
        n_attack=300,
        train=dataclasses.replace(_SGD, max_epochs=40),
        pgd_steps=10,
        uap_epochs=2,
        image_n_train=1000,
        image_n_test=400,
        image_train=dataclasses.replace(_R, max_epochs=6, batch_size=64, step_every=2),
    ),
    # The paper's sample sizes and plain SGD (App. B); MS-5's size is chapter 07's choice (~75%
    # single-model accuracy); all domino images with the MNIST-CIFAR recipe (a GPU is advised).
    "paper": Config(
        n_seeds=5,
        n_test=10_000,
        n_train_lms=50_000,
        n_train_ms57=100_000,
        n_train_noisy=40_000,
        n_train_ms5=3500,
        n_attack=2000,
        train=TrainConfig(lr=0.1, momentum=0.0, max_epochs=500),
        uap_epochs=10,
        image_n_train=None,
        image_n_test=None,
        image_train=_R,
        image_model="resnet18",
    ),
}


def method_names(cfg: Config) -> list[str]:
    """What the chapter scores beside vanilla: your method when given, else the reference ones."""
    return [cfg.method] if cfg.method else list(cfg.methods)


def moved(
    deltas: dict[str, dict[str, float]],
    noise: dict[str, dict[str, float]],
    columns: dict[str, int],
    *,
    floor: float = MIN_MOVE,
) -> dict[str, list[str]]:
    """Per method, the columns it moves in the mitigating direction by more than twice the noise
    and more than ``floor`` (``columns``: key -> +1 when up mitigates, -1 when down does).
    ``deltas``/``noise``: method -> column -> mean difference from vanilla / its standard error."""
    out = {}
    for name, row in deltas.items():
        out[name] = [
            k
            for k, sign in columns.items()
            if np.isfinite(row.get(k, np.nan))
            and sign * row[k] > max(2 * noise[name].get(k, 0.0), floor)
        ]
    return out


def describe(moves: dict[str, list[str]], labels: dict[str, str]) -> dict[str, str]:
    """One phrase per method for the prose: which columns it moves, or that it moves none."""
    return {
        name: (
            "none of the columns beyond noise" if not cols else ", ".join(labels[c] for c in cols)
        )
        for name, cols in moves.items()
    }


def masked(deltas: dict[str, dict[str, float]], noise: dict[str, dict[str, float]]) -> list[str]:
    """Methods whose LMS-5 accuracy under PGD rises beyond twice its standard error while their
    accuracy under the universal perturbation does not. Per-point PGD at the same budget is at
    least as strong as any universal perturbation when it finds its maximum, so this pattern says
    that PGD's gradient steps fail on those models (gradient masking), not that they are robust."""
    up = moved(deltas, noise, {"pgd_acc": 1, "uap_acc": 1})
    return [n for n, cols in up.items() if "pgd_acc" in cols and "uap_acc" not in cols]


def failures_text(card) -> str:
    """The sentence the prose glues about methods whose scoring stopped (diverged, or their code
    raised): they are left out of the map and of the lists below it."""
    fails = card.failures()
    if not fails:
        return "Every scored method trained to the end"
    return "Left out of the map below, because their scoring stopped: " + "; ".join(
        f"{name} ({f})" for name, f in fails.items()
    )
