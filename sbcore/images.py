"""Chapter 03, extreme simplicity bias on real images (MNIST-CIFAR dominoes): presets, training,
randomized evaluation and claim checks (#11, #12 and the image halves of #7 and #18).

A domino stacks a simple image (S, top) over a complex one (Sc, bottom), both predictive of the
label (``sbcore.data.dominoes``). CNNs trained with the paper's MNIST-CIFAR recipe (App. B: SGD,
lr 0.05 decayed x0.2 every 30 epochs, momentum 0.9, l2 5e-5, no augmentation, stop at training
loss < 0.01 or 500 epochs) are evaluated on the standard, S-randomized and Sc-randomized test sets
(Sec. 3, Table 1). Each seed trains one ordinary ``nn.Module`` on the same data (the data are fixed
by the pairing seed, as in the paper; seeds vary the initialization and batch order).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import claims
from .data.dominoes import MNIST_CIFAR_PAIRS, SOURCES, ImageDominoes, load_dominoes, randomize
from .metrics import RandomizedEval, accuracy, ks_distance, roc_auc, score
from .models.zoo import IMAGE_MODELS, build_image_model
from .probes import linear_probe_accuracy
from .report import mean_std
from .scales import choose, positive_int, require
from .models.inference import predict_logits
from .train import History, TrainConfig, fit

PAIRS = tuple(MNIST_CIFAR_PAIRS)  # ("A", "B", "C")
PAPER_MODELS = ("mobilenetv2", "googlenet", "resnet50", "densenet121")


@dataclass(frozen=True)
class ImageSBConfig:
    """Knobs of chapter 03. ``None`` in the notebook's parameters cell means "the preset's".

    ``source``: "auto" (MNIST-CIFAR when on disk, else the Fashion-MNIST stand-in), "mnist-cifar"
    or "fashion". ``models``: architectures trained on pair A (Table 4); ``pair_models``: those
    trained on every pair of ``pairs`` (Table 5). ``width``: channel multiplier of the zoo models
    (``small_cnn`` always runs at width 1). ``n_train``/``n_test``/``n_probe``: images used for
    training / testing / the linear probes (None: all of the split). ``n_seeds``: models per
    (pair, architecture), trained one after the other. ``block_model``/``block_max_epochs``: the
    model trained on the complex block alone (Sec. 4.2: GoogLeNet on CIFAR); ``check_block``: make its
    claim record (off at smoke scale, where a few hundred images cannot show it). SGD: App. B.
    """

    n_seeds: int
    max_epochs: int
    source: str = "auto"
    pairs: tuple[str, ...] = PAIRS
    models: tuple[str, ...] = PAPER_MODELS
    pair_models: tuple[str, ...] = PAPER_MODELS
    width: float = 1.0
    n_train: int | None = None
    n_test: int | None = None
    n_probe: int | None = None
    block_model: str = "googlenet"
    block_max_epochs: int = 500
    check_block: bool = True
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    batch_size: int = 256
    step_every: int = 30
    step_gamma: float = 0.2

    def __post_init__(self) -> None:
        for name in ("max_epochs", "block_max_epochs", "batch_size", "step_every"):
            positive_int(name, getattr(self, name))
        positive_int("n_seeds", self.n_seeds, minimum=2)
        for name in ("n_train", "n_test", "n_probe"):
            if getattr(self, name) is not None:
                positive_int(name, getattr(self, name), minimum=2)
        require(self.source in SOURCES, "source", f"one of {SOURCES}", self.source)
        require(len(self.pairs) > 0 and set(self.pairs) <= set(PAIRS), "pairs",
                f"a non-empty subset of {PAIRS}", self.pairs)
        for name in ("models", "pair_models"):
            value = getattr(self, name)
            require(set(value) <= set(IMAGE_MODELS), name, f"names from {IMAGE_MODELS}", value)
        require(len(self.models) > 0, "models", "at least one model name", self.models)
        require(self.block_model in IMAGE_MODELS, "block_model", f"one of {IMAGE_MODELS}",
                self.block_model)
        require(self.width > 0, "width", "> 0", self.width)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(0 <= self.momentum < 1, "momentum", "in [0, 1)", self.momentum)
        require(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        require(0 < self.step_gamma <= 1, "step_gamma", "in (0, 1]", self.step_gamma)

    def train_config(self, max_epochs: int | None = None) -> TrainConfig:
        """The MNIST-CIFAR recipe (App. B) with the paper's stopping rule (loss < 0.01)."""
        return TrainConfig(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, max_epochs=max_epochs or self.max_epochs,
                           schedule="step", step_every=self.step_every, step_gamma=self.step_gamma)

    def runs(self) -> list[tuple[str, str]]:
        """(pair, model) runs: ``models`` on pair A, then ``pair_models`` on every pair."""
        out = [("A", m) for m in self.models]
        out += [(p, m) for p in self.pairs for m in self.pair_models if (p, m) not in out]
        return out

    def width_of(self, model: str) -> float:
        return 1.0 if model == "small_cnn" else self.width

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    # Tests: a few hundred images, the small CNN, two seeds; small batches so that SGD makes enough
    # updates to meet the stopping rule within the epoch cap.
    "smoke": ImageSBConfig(n_seeds=2, max_epochs=4, pairs=("A",), models=("small_cnn",),
                           pair_models=(), n_train=600, n_test=400, n_probe=600,
                           block_model="small_cnn", block_max_epochs=3, check_block=False,
                           batch_size=32),
    # The book on a 2-core CPU: 3,000 of the training images, pair A, the small CNN and ResNet18 at
    # width 1/8, three seeds, at most ~10 epochs with the lr schedule compressed in proportion
    # (x0.2 every 3 epochs instead of every 30); the chapter says what changes and why.
    "book": ImageSBConfig(n_seeds=3, max_epochs=10, pairs=("A",), models=("small_cnn", "resnet18"),
                          pair_models=(), width=0.125, n_train=3000, n_probe=3000,
                          block_model="small_cnn", block_max_epochs=9, batch_size=128,
                          step_every=3),
    # The paper's recipe and models (App. B, Tables 4-5), all images, 5 seeds.
    "paper": ImageSBConfig(n_seeds=5, max_epochs=500),
}


def config(scale: str | None = None, **overrides) -> ImageSBConfig:
    """The chapter's config at ``scale`` with the non-None ``overrides`` applied (validated)."""
    return choose(PRESETS, scale, **overrides)


def load_pair(cfg: ImageSBConfig, pair: str, *, seed: int = 0) -> tuple[ImageDominoes, ImageDominoes]:
    """(train, test) dominoes of ``pair`` with ``cfg``'s source and sizes; ``seed`` fixes the pairing."""
    kw = dict(source=cfg.source, pair=pair, seed=seed)
    return (load_dominoes(split="train", n_samples=cfg.n_train, **kw),
            load_dominoes(split="test", n_samples=cfg.n_test, **kw))


def train_image_model(name: str, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, *,
                      seed: int, width: float = 1.0, device: torch.device | str = "cpu",
                      progress: bool = True, desc: str = "") -> tuple[nn.Module, History]:
    """Build zoo model ``name`` under ``torch.manual_seed(seed)`` and train it with ``fit``.

    x: (n, C, H, W) float images in [0, 1]; y: (n,) int64 in {0, 1}. Returns (model in eval
    mode on ``device``, its History)."""
    torch.manual_seed(seed)
    model = build_image_model(name, in_channels=x.shape[1], num_classes=2, width=width).to(device)
    hist = fit(model, x.to(device), y.to(device), cfg, seed=seed, progress=progress,
               desc=desc or f"{name} seed {seed}")
    return model, hist


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    device = next(model.parameters()).device
    return predict_logits(model, x.to(device), batch_size=1024).cpu()


def randomized_image_eval(models: Sequence[nn.Module], test: ImageDominoes, *,
                          seed: int = 0) -> RandomizedEval:
    """Table 1's diagnostics of each model on the standard / S- / Sc-randomized test set.

    Returns a RandomizedEval with (M,) arrays (M = len(models)) and, for Fig. 3a, the scores
    ``logit_1 - logit_0`` of the original test set's true positives under each variant
    (randomization keeps the rows aligned, so these are the same images before and after)."""
    variants = {"standard": test, "S-randomized": randomize(test, "S", seed=seed),
                "Sc-randomized": randomize(test, "Sc", seed=seed)}
    keys = {"standard": "", "S-randomized": "s_", "Sc-randomized": "sc_"}
    out: dict[str, list] = {k + m: [] for k in keys.values() for m in ("acc", "auc")}
    tp: dict[str, list[np.ndarray]] = {v: [] for v in variants}
    for model in models:
        hit = None
        for name, data in variants.items():  # "standard" first: it fixes the true positives
            lg = _logits(model, data.x)
            out[keys[name] + "acc"].append(accuracy(lg, test.y)[0])
            out[keys[name] + "auc"].append(roc_auc(lg, test.y)[0])
            hit = (test.y == 1) & (lg.argmax(-1) == 1) if hit is None else hit
            tp[name].append(score(lg)[hit].numpy())
    return RandomizedEval(tp_scores=tp, **{k: np.array(v) for k, v in out.items()})


@dataclass
class ImageResult:
    """One (pair, architecture) run over seeds: its eval, train accuracies and histories."""

    pair: str
    model_name: str
    source: str
    eval: RandomizedEval
    train_acc: np.ndarray
    histories: list[History] = field(default_factory=list)


def run_seeds(name: str, pair: str, train: ImageDominoes, test: ImageDominoes, cfg: ImageSBConfig,
              seeds: Sequence[int], *, device="cpu", progress: bool = True) -> ImageResult:
    """Train ``name`` once per seed on ``train`` (cfg's recipe) and evaluate it on ``test``."""
    models, hists, train_acc = [], [], []
    for s in seeds:
        model, hist = train_image_model(name, train.x, train.y, cfg.train_config(), seed=s,
                                        width=cfg.width_of(name), device=device, progress=progress,
                                        desc=f"{pair}/{name} seed {s}")
        models.append(model)
        hists.append(hist)
        train_acc.append(accuracy(_logits(model, train.x), train.y)[0])
    ev = randomized_image_eval(models, test, seed=seeds[0])
    return ImageResult(pair, name, train.source, ev, np.array(train_acc), hists)


def block_only_accuracy(train: ImageDominoes, test: ImageDominoes, cfg: ImageSBConfig,
                        seeds: Sequence[int], *, block: str = "Sc", device="cpu",
                        progress: bool = True) -> np.ndarray:
    """Test accuracy (one per seed) of ``cfg.block_model`` trained on one block alone,
    (n, C, 32, 32) images (Sec. 4.2: the CIFAR block alone is almost fully predictive)."""
    accs = []
    for s in seeds:
        model, _ = train_image_model(cfg.block_model, train.block(block), train.y,
                                     cfg.train_config(cfg.block_max_epochs), seed=s,
                                     width=cfg.width_of(cfg.block_model), device=device,
                                     progress=progress, desc=f"{block} only, seed {s}")
        accs.append(accuracy(_logits(model, test.block(block)), test.y)[0])
    return np.array(accs)


def probe_accuracies(train: ImageDominoes, test: ImageDominoes, *,
                     n_probe: int | None = None) -> dict[str, float]:
    """Linear-probe test accuracy on each block alone: {"S": acc, "Sc": acc}."""
    n = n_probe or train.n_samples
    return {b: linear_probe_accuracy(train.block(b)[:n], train.y[:n], test.block(b), test.y)
            for b in ("S", "Sc")}


# Thresholds of the issue, read off the paper: S-randomized accuracy 0.50 ± 0.05 and AUC at most
# 0.60 (Table 5: 0.50-0.54); Sc-randomized AUC at least 0.99 (printed 1.00) and accuracy within
# 0.01 of standard. "Well above chance" for the complex block alone, fixed before any run: at least
# halfway from chance (0.5) to perfect. KS <= 0.05 for "overlap" as in chapter 02.
S_ACC_TOL, S_AUC_MAX, SC_AUC_MIN, SC_ACC_TOL, BLOCK_MIN, KS_MAX = 0.05, 0.60, 0.99, 0.01, 0.75, 0.05


def _claim(pair: str) -> int:
    return 11 if pair == "A" else 12


def table_records(results: Sequence[ImageResult], *, scale: str, chapter: str,
                  strict: bool) -> list[claims.ClaimRecord]:
    """Claims #11 (pair A, Table 4) and #12 (pairs B, C, Table 5): per architecture, S-randomized
    accuracy ~ 0.5 and AUC <= 0.60; Sc-randomized AUC >= 0.99 and accuracy within 0.01 of standard."""
    recs = []
    for r in results:
        ev, c = r.eval, _claim(r.pair)
        common = dict(data=r.source, scale=scale, chapter=chapter, strict=strict, model=r.model_name)
        paper = PAPER_TABLE5.get((r.pair, r.model_name), ("1.00", "1.00", "0.50-0.54"))
        recs += [
            claims.check(c, f"S-randomized accuracy, {r.model_name}", ev.s_acc, paper="≈ 0.50",
                         kind="within", target=0.5, tol=S_ACC_TOL, **common),
            claims.check(c, f"S-randomized AUC, {r.model_name}", ev.s_auc, paper=paper[2],
                         kind="at_most", target=S_AUC_MAX, **common),
            claims.check(c, f"Sc-randomized AUC, {r.model_name}", ev.sc_auc, paper=paper[1],
                         kind="at_least", target=SC_AUC_MIN, **common),
            claims.check(c, f"|Sc-randomized − standard accuracy|, {r.model_name}",
                         np.abs(ev.sc_acc - ev.acc), paper="0 (invariant to CIFAR)",
                         kind="at_most", target=SC_ACC_TOL, **common)]
    return recs


def skipped_pairs(cfg: "ImageSBConfig", *, scale: str, chapter: str) -> list[claims.ClaimRecord]:
    """Claim #12 for the class pairs this scale does not train (recorded as 'not run')."""
    return [claims.not_run(12, f"Table 5, pair {p}", paper="Table 5", data=f"pair {p}", scale=scale,
                           chapter=chapter, reason="pairs B and C run at paper scale only")
            for p in ("B", "C") if p not in cfg.pairs]


def block_record(accs, *, source: str, model: str, scale: str, chapter: str,
                 strict: bool) -> claims.ClaimRecord:
    """Claim #11: the complex block alone is predictive (paper: GoogLeNet 95.4%)."""
    return claims.check(11, f"test accuracy on the Sc block alone, {model}", accs,
                        paper="95.4% (GoogLeNet, CIFAR automobile vs truck)", kind="at_least",
                        target=BLOCK_MIN, data=f"{source}, Sc block only", scale=scale,
                        chapter=chapter, strict=strict)


def logit_records(results: Sequence[ImageResult], *, scale: str, chapter: str,
                  strict: bool) -> list[claims.ClaimRecord]:
    """Claim #7, image half (Fig. 3a): KS distance between the true-positive scores before and
    after Sc-randomization, per seed (overlap: at most 0.05, as for the slabs).

    On the Fashion-MNIST stand-in the record carries a ``known_deviation`` (it never raises; a
    failure reads "not reproduced (known: ...)"): the issue's bar for the stand-in lists the
    randomized accuracy/AUC checks, not this one. On MNIST-CIFAR it is enforced."""
    return [claims.check(7, f"KS(standard, Sc-randomized) of true-positive scores, {r.model_name}",
                         [ks_distance(a, b) for a, b in zip(r.eval.tp_scores["standard"],
                                                            r.eval.tp_scores["Sc-randomized"])],
                         paper="overlap (Fig. 3a)", kind="at_most", target=KS_MAX, data=r.source,
                         scale=scale, chapter=chapter, strict=strict,
                         known_deviation=None if r.source.startswith("MNIST-CIFAR") else STAND_IN_KS)
            for r in results]


STAND_IN_KS = ("on the Fashion-MNIST stand-in the CNNs use the bottom pair a little (S-randomized "
               "AUC above 0.5), which shifts the true-positive scores; not part of the issue's bar")


def shift_records(results: Sequence[ImageResult], *, scale: str, chapter: str,
                  strict: bool) -> list[claims.ClaimRecord]:
    """Claim #18, image half, pooled over architectures and pairs: S-randomization costs at least
    1 - 0.60 AUC, Sc-randomization at most 1 - 0.99."""
    drop_s = np.concatenate([r.eval.auc - r.eval.s_auc for r in results])
    drop_sc = np.concatenate([r.eval.auc - r.eval.sc_auc for r in results])
    data = "; ".join(sorted({r.source for r in results}))
    common = dict(data=data, scale=scale, chapter=chapter, strict=strict)
    return [claims.check(18, "AUC lost to S-randomization (all image models)", drop_s,
                         paper="AUC 1.0 -> 0.5", kind="at_least", target=1 - S_AUC_MAX, **common),
            claims.check(18, "AUC lost to Sc-randomization (all image models)", drop_sc,
                         paper="negligible", kind="at_most", target=1 - SC_AUC_MIN, **common)]


# Table 5 as printed: MNIST-randomized AUC per model for pairs A, B, C; standard and
# CIFAR-randomized AUC are 1.00±0.00 throughout. Table 4 prints pair A's as single values.
_TABLE5_S_AUC = {"mobilenetv2": ("0.53±0.01", "0.53±0.02", "0.50±0.01"),
                 "googlenet": ("0.52±0.02", "0.50±0.01", "0.53±0.01"),
                 "resnet50": ("0.50±0.01", "0.51±0.01", "0.50±0.03"),
                 "densenet121": ("0.53±0.02", "0.52±0.01", "0.54±0.01")}
PAPER_TABLE5 = {(p, m): ("1.00±0.00", "1.00±0.00", v[i])
                for m, v in _TABLE5_S_AUC.items() for i, p in enumerate(PAIRS)}
TABLE4_S_AUC = {"mobilenetv2": "0.52", "googlenet": "0.51", "resnet50": "0.50", "densenet121": "0.52"}


def table_rows(results: Sequence[ImageResult]) -> list[dict]:
    """Tables 4-5 redrawn: per pair and model, ours (mean ± std over seeds) beside the paper's."""
    rows = []
    for r in results:
        p = PAPER_TABLE5.get((r.pair, r.model_name), ("—", "—", "—"))
        t4 = f" (Table 4: {TABLE4_S_AUC[r.model_name]})" if (r.pair == "A" and
                                                             r.model_name in TABLE4_S_AUC) else ""
        ev = r.eval
        rows.append({"pair": r.pair, "model": r.model_name, "train acc": mean_std(r.train_acc),
                     "test acc": mean_std(ev.acc), "AUC": mean_std(ev.auc), "AUC (paper)": p[0],
                     "Sc-rand AUC": mean_std(ev.sc_auc), "Sc-rand AUC (paper)": p[1],
                     "S-rand acc": mean_std(ev.s_acc), "S-rand AUC": mean_std(ev.s_auc),
                     "S-rand AUC (paper)": p[2] + t4,
                     "epochs": "/".join(str(h.n_epochs) for h in r.histories),
                     "seconds": round(sum(h.seconds for h in r.histories))})
    return rows


def short_source(source: str) -> str:
    """``"Fashion-MNIST dominoes:A"`` from the full source name (for panel titles)."""
    return source.split(" (")[0]
