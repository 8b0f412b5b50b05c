"""Train-and-evaluate building blocks shared by the chapters.

Synthetic data: one call trains a stack of models (one member per seed, each on its own dataset)
and returns its Table-1 diagnostics; the chapters only choose datasets, models and what to record.
Image dominoes (chapters 03 and 05): the MNIST-CIFAR recipe, loading a pair, training one zoo
model per seed and the randomized evaluation of ordinary models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .data.dominoes import ImageDominoes, load_dominoes
from .data.dominoes import randomize as randomize_dominoes
from .data.synthetic import SyntheticData, from_name, randomize, with_linear_at
from .margins import averaging_flip_budget, flip_budget
from .metrics import (RandomizedEval, accuracy, coordinate_randomized_accuracy, logits_on,
                      member_seed, randomized_eval, roc_auc, score, stack_data)
from .models.inference import predict_logits
from .models.specs import ModelSpec
from .models.stacked import Member, StackedFCN
from .models.zoo import build_image_model
from .train import History, Perturb, TrainConfig, fit


def make_splits(dataset: str, n_train: int, n_test: int, seeds: Sequence[int], *,
                d: int = 50, **kwargs) -> tuple[list[SyntheticData], list[SyntheticData]]:
    """One (train, test) pair per seed; train and test of one seed share its rotation."""
    splits = [from_name(dataset, n_train + n_test, seed=s, d=d, **kwargs).split(n_train)
              for s in seeds]
    return [a for a, _ in splits], [b for _, b in splits]


@dataclass
class StackResult:
    """A trained stack (one member per seed), its training history and its diagnostics."""

    dataset: str
    model_name: str
    model: nn.Module
    history: History
    eval: RandomizedEval
    train_acc: list[float]

    @property
    def row(self) -> dict:
        """Mean over members of every diagnostic, for tables."""
        out = {"dataset": self.dataset, "model": self.model_name,
               "train acc": float(sum(self.train_acc) / len(self.train_acc))}
        for k, v in self.eval.summary().items():
            out[k] = float(v.mean())
        out["epochs"] = self.history.n_epochs
        out["seconds"] = round(self.history.seconds, 1)
        return out


def train_stack(model: str | ModelSpec, trains: Sequence[SyntheticData],
                tests: Sequence[SyntheticData], cfg: TrainConfig, *, seeds: Sequence[int],
                device: torch.device | str = "cpu", progress: bool = True,
                eval_seed: int = 0, callback=None, eval_every: int = 0,
                desc: str | None = None) -> StackResult:
    """Train one member per seed (member m on ``trains[m]``) in one vectorized pass and evaluate
    standard, S-randomized and Sc-randomized accuracy and AUC on ``tests``. ``callback`` and
    ``eval_every`` go to :func:`fit` (e.g. :func:`accuracy_callback`); ``desc`` labels the
    progress bar."""
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    if len(trains) != len(seeds) or len(tests) != len(seeds):
        raise ValueError(f"trains and tests must hold one dataset per seed ({len(seeds)})")
    x, y = stack_data(trains)
    stack = spec.build(trains[0].n_features, seeds=seeds).to(device)
    hist = fit(stack, x.to(device), y.to(device), cfg, seed=seeds[0], callback=callback,
               eval_every=eval_every, progress=progress,
               desc=desc or f"{spec.label} on {trains[0].name}")
    train_acc = accuracy(logits_on(stack, trains), y).tolist()
    ev = randomized_eval(stack, tests, seed=eval_seed)
    return StackResult(trains[0].name, spec.label, stack, hist, ev, train_acc)


def flip_budget_sweep(model: str, dims: Sequence[int], *, n_train: int, n_test: int,
                      n_points: int, seeds: Sequence[int], cfg: TrainConfig,
                      device: torch.device | str = "cpu", progress: bool = True,
                      n_steps: int = 20) -> dict[str, np.ndarray]:
    """Claim #19's sweep: for each d of ``dims``, train ``model`` on LMS-5 (one member per seed)
    and take the median minimal l2 flipping budget over ``n_points`` test points of the network
    (PGD by bisection, :func:`sbcore.margins.flip_budget`) and of the averaging classifier f*
    (exact). Returns {"f*": (M, len(dims)), model: (M, len(dims))}."""
    avg, net = [], []
    for d in dims:
        trains, tests = make_splits("LMS-5", n_train, n_test, seeds, d=d)
        stack = train_stack(model, trains, tests, cfg, seeds=seeds, device=device,
                            progress=progress).model.cpu()
        pts = [t.subset(slice(0, n_points)) for t in tests]
        avg.append([float(np.median(averaging_flip_budget(p, 5))) for p in pts])
        net.append([flip_budget(Member(stack, m), p.x, p.y, n_steps=n_steps)
                    for m, p in enumerate(pts)])
    return {"f*": np.array(avg).T, model: np.array(net).T}

# ---------------------------------------------------------------- image dominoes (chapters 03, 05)

#: The paper's MNIST-CIFAR recipe (App. B): SGD, lr 0.05 decayed x0.2 every 30 epochs, momentum
#: 0.9, l2 5e-5, no augmentation, stop at training loss < 0.01 or 500 epochs; the batch size,
#: which the paper does not state, is the authors' 256.
MNIST_CIFAR_RECIPE = TrainConfig(lr=0.05, momentum=0.9, weight_decay=5e-5, batch_size=256,
                                 max_epochs=500, schedule="step", step_every=30, step_gamma=0.2)


def load_pair(source: str, pair: str, *, n_train: int | None = None, n_test: int | None = None,
              seed: int = 0) -> tuple[ImageDominoes, ImageDominoes]:
    """(train, test) dominoes of ``pair`` from ``source`` ("auto", "mnist-cifar" or "fashion");
    ``n_train``/``n_test``: class-balanced heads (None: all); ``seed`` fixes the pairing."""
    kw = dict(source=source, pair=pair, seed=seed)
    return (load_dominoes(split="train", n_samples=n_train, **kw),
            load_dominoes(split="test", n_samples=n_test, **kw))


def train_image_model(name: str, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, *,
                      seed: int, width: float = 1.0, device: torch.device | str = "cpu",
                      progress: bool = True, desc: str = "",
                      perturb: Perturb | None = None) -> tuple[nn.Module, History]:
    """Build zoo model ``name`` under ``torch.manual_seed(seed)`` and train it with ``fit``.

    x: (n, C, H, W) float images in [0, 1]; y: (n,) int64 in {0, 1}. ``perturb``: fit's hook
    (e.g. :func:`sbcore.adversarial.adversarial_perturb` for adversarial training). Returns
    (model in eval mode on ``device``, its History)."""
    torch.manual_seed(seed)
    model = build_image_model(name, in_channels=x.shape[1], num_classes=2, width=width).to(device)
    hist = fit(model, x.to(device), y.to(device), cfg, seed=seed, progress=progress,
               desc=desc or f"{name} seed {seed}", perturb=perturb)
    return model.eval(), hist


def train_image_models(name: str, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
                       seeds: Sequence[int], *, width: float = 1.0,
                       device: torch.device | str = "cpu", progress: bool = True,
                       desc: str = "") -> tuple[list[nn.Module], list[History]]:
    """One :func:`train_image_model` per seed, all on (x, y): (models, histories)."""
    out = [train_image_model(name, x, y, cfg, seed=s, width=width, device=device,
                             progress=progress, desc=f"{desc or name} seed {s}") for s in seeds]
    return [m for m, _ in out], [h for _, h in out]


def image_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits (n, C) of an ordinary model on images x (n, C, H, W), on the CPU."""
    device = next(model.parameters()).device
    return predict_logits(model, x.to(device), batch_size=1024)[0].cpu()


def randomized_image_eval(models: Sequence[nn.Module], test: ImageDominoes, *,
                          seed: int = 0) -> RandomizedEval:
    """Table 1's diagnostics of each model on the standard / S- / Sc-randomized test set:
    (M,) arrays, M = len(models), and the scores ``logit_1 - logit_0`` of the original test
    set's true positives under each variant (Fig. 3a; randomization keeps the rows aligned).
    Model m's randomized test sets are drawn from its own seed ``member_seed(seed, m)``."""
    keys = {"standard": "", "S-randomized": "s_", "Sc-randomized": "sc_"}
    out: dict[str, list] = {k + m: [] for k in keys.values() for m in ("acc", "auc")}
    tp: dict[str, list] = {v: [] for v in keys}
    for m, model in enumerate(models):
        variants = {"standard": test}
        variants.update({f"{b}-randomized": randomize_dominoes(test, b, seed=member_seed(seed, m))
                         for b in ("S", "Sc")})
        hit = None
        for name, data in variants.items():  # "standard" first: it fixes the true positives
            lg = image_logits(model, data.x)
            out[keys[name] + "acc"].append(accuracy(lg, test.y)[0])
            out[keys[name] + "auc"].append(roc_auc(lg, test.y)[0])
            hit = (test.y == 1) & (lg.argmax(-1) == 1) if hit is None else hit
            tp[name].append(score(lg)[hit].numpy())
    return RandomizedEval(tp_scores=tp, **{k: np.array(v) for k, v in out.items()})


# ---------------------------------------------------------------- per-member grids (chapter 04)

@dataclass
class GridCell:
    """One cell of a grid trained as part of one stack: its labels and per-seed diagnostics
    ((n_seeds,) arrays), the epochs the stack ran."""

    labels: dict
    auc: np.ndarray
    s_auc: np.ndarray
    sc_auc: np.ndarray
    acc: np.ndarray
    train_acc: np.ndarray
    epochs: int

    @classmethod
    def from_stack(cls, r: StackResult, labels: dict) -> "GridCell":
        return cls(labels, r.eval.auc, r.eval.s_auc, r.eval.sc_auc, r.eval.acc,
                   np.asarray(r.train_acc), r.history.n_epochs)


def fcn_grid(model: str | ModelSpec, cells: Sequence[dict], trains: Sequence[SyntheticData],
             tests: Sequence[SyntheticData], cfg: TrainConfig, *, seeds: Sequence[int],
             labels: Sequence[dict] | None = None, device: torch.device | str = "cpu",
             progress: bool = True, eval_seed: int = 0, init_from: nn.Module | None = None
             ) -> tuple[list[GridCell], nn.Module]:
    """Train every cell of a grid for every seed as one stack of C x S FCN members, member
    ``c * S + s`` on ``trains[s]``, and evaluate it on ``tests[s]``.

    ``cells``: C dicts of per-member :class:`StackedFCN` options (``dropout``, ``init``,
    ``init_scale``; all cells the same keys); ``init_from``: a stack of C x S members whose
    weights replace the initialization (e.g. mixed weights). Returns (one GridCell per cell,
    the trained stack)."""
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    S, C = len(seeds), len(cells)
    opts = {k: [c[k] for c in cells for _ in range(S)] for k in cells[0]}
    stack = StackedFCN(trains[0].n_features, width=spec.sizes[0], depth=spec.sizes[1],
                       activation=spec.activation, n_models=C * S, seeds=list(seeds) * C, **opts)
    if init_from is not None:
        stack.load_state_dict(init_from.state_dict())
    stack = stack.to(device)
    x, y = (t.repeat(C, *[1] * (t.dim() - 1)) for t in stack_data(trains))
    hist = fit(stack, x.to(device), y.to(device), cfg, seed=seeds[0], progress=progress,
               desc=f"{spec.label} on {trains[0].name}, {C} cells")
    train_acc = accuracy(logits_on(stack, list(trains) * C), y)
    ev = randomized_eval(stack, list(tests) * C, seed=eval_seed)
    parts = [np.asarray(v).reshape(C, S) for v in (ev.auc, ev.s_auc, ev.sc_auc, ev.acc, train_acc)]
    labels = labels or [dict(c) for c in cells]
    return [GridCell(labels[c], *(p[c] for p in parts), hist.n_epochs) for c in range(C)], stack


@torch.no_grad()
def mix_members(a: nn.Module, b: nn.Module, alphas: Sequence[float]) -> nn.Module:
    """Stacks ``a`` and ``b`` (same architecture, S members) mixed parameter by parameter:
    member ``i * S + s`` of the result is ``alphas[i] * a[s] + (1 - alphas[i]) * b[s]`` (paper
    App. C.7's M_alpha = alpha M_slab + (1 - alpha) M_rand). Returns a new stack of len(alphas) x S."""
    S = a.n_models
    out = a.select([s for _ in alphas for s in range(S)])
    w = torch.tensor([float(al) for al in alphas for _ in range(S)])
    for p, pa, pb in zip(out.parameters(), a.parameters(), b.parameters()):
        ww = w.view(-1, *[1] * (p.dim() - 1)).to(p.dtype)
        p.copy_(ww * pa.repeat(len(alphas), *[1] * (p.dim() - 1))
                + (1 - ww) * pb.repeat(len(alphas), *[1] * (p.dim() - 1)))
    return out


def make_splits3(dataset: str, n_train: int, n_val: int, n_test: int, seeds: Sequence[int], *,
                 d: int = 50, **kwargs) -> tuple[list[SyntheticData], ...]:
    """(trains, vals, tests): one dataset per seed, split three ways (one rotation per seed)."""
    trains, rest = make_splits(dataset, n_train, n_val + n_test, seeds, d=d, **kwargs)
    vals, tests = zip(*(r.split(n_val) for r in rest))
    return trains, list(vals), list(tests)


def accuracy_callback(trains, tests, *, seed: int = 0, train: bool = True):
    """``fit`` callback: train (unless ``train=False``: a pass over the whole training set each
    time), test and S-randomized test accuracy (per member) over training; member m's
    S-randomized test set is drawn from its own seed, ``member_seed(seed, m)``."""
    y_tr, y_te = stack_data(trains)[1], stack_data(tests)[1]
    s_tests = [randomize(t, "S", seed=member_seed(seed, m)) for m, t in enumerate(tests)]

    def cb(m, epoch):
        out = {"train": accuracy(logits_on(m, trains), y_tr).tolist()} if train else {}
        return {**out, "test": accuracy(logits_on(m, tests), y_te).tolist(),
                "s_rand": accuracy(logits_on(m, s_tests), y_te).tolist()}
    return cb


def nonrandom_init(model: str, alphas: Sequence[float], *, d: int, n_slab_train: int,
                   n_train: int, n_test: int, slab_cfg: TrainConfig, cfg: TrainConfig,
                   seeds: Sequence[int], device: torch.device | str = "cpu",
                   progress: bool = True, eval_seed: int = 0) -> dict:
    """Non-random initialization (paper App. C.7, Fig. 5), one member per seed throughout.

    M_slab (``model``, an FCN) is trained on MS-7 (``n_slab_train`` points, ``slab_cfg``). The
    LMS-7 data puts the linear coordinate in place of the 7-slab whose randomization alone costs
    M_slab the least MS-7 accuracy (same points' other coordinates and rotation). M_alpha =
    alpha M_slab + (1 - alpha) M_rand (M_rand: a fresh initialization) is evaluated on MS-7 and on
    LMS-7, then trained on LMS-7 (``n_train`` points, ``cfg``) and evaluated again.

    Returns a dict of numpy arrays: ``alphas`` (A,); ``slab_acc``, ``unused_drop`` (S,): M_slab's
    MS-7 test accuracy and the accuracy its replaced coordinate costs; ``coords``; ``ms7_acc``
    (A, S); ``before`` / ``after``: {"auc", "s_auc", "sc_auc"} -> (A, S) on LMS-7; ``ratio`` (A, S):
    7-slab reliance (AUC - Sc-randomized AUC) after over before training; ``b_holds`` (A,): before
    training every seed has |AUC - S-rand AUC| <= 0.02 and |Sc-rand AUC - 0.5| <= 0.05.
    """
    S, A = len(seeds), len(alphas)
    data = [from_name("MS-7", n_slab_train + 2 * n_test + n_train, seed=s, d=d) for s in seeds]
    ms = ([x.subset(slice(0, n_slab_train)) for x in data],
          [x.subset(slice(n_slab_train, n_slab_train + n_test)) for x in data])
    slab = train_stack(model, *ms, slab_cfg, seeds=seeds, device=device, progress=progress,
                       eval_seed=eval_seed)
    drop = slab.eval.acc[:, None] - coordinate_randomized_accuracy(slab.model, ms[1], seed=eval_seed)
    coords = [int(np.argmin(row)) for row in drop]
    pools = [with_linear_at(x.subset(slice(n_slab_train + n_test, None)), j, seed=s).split(n_train)
             for x, j, s in zip(data, coords, seeds)]
    lms = ([p[0] for p in pools], [p[1] for p in pools])
    spec = ModelSpec.parse(model)
    rand = StackedFCN(d, width=spec.sizes[0], depth=spec.sizes[1], activation=spec.activation,
                      n_models=S, seeds=[s + 104_729 for s in seeds])
    mixed = mix_members(slab.model.cpu(), rand, alphas).to(device)
    keys = ("auc", "s_auc", "sc_auc")
    ev = randomized_eval(mixed, lms[1] * A, seed=eval_seed + 1)
    before = {k: np.asarray(getattr(ev, k)).reshape(A, S) for k in keys}
    cells, _ = fcn_grid(spec, [{"dropout": 0.0}] * A, *lms, cfg, seeds=seeds, device=device,
                        labels=[{"alpha": a} for a in alphas], progress=progress,
                        eval_seed=eval_seed + 2, init_from=mixed)
    after = {k: np.stack([getattr(c, k) for c in cells]) for k in keys}
    ms7 = accuracy(logits_on(mixed, ms[1] * A), stack_data(ms[1] * A)[1]).reshape(A, S)
    b_holds = ((np.abs(before["auc"] - before["s_auc"]) <= 0.02)
               & (np.abs(before["sc_auc"] - 0.5) <= 0.05)).all(1)
    ratio = (after["auc"] - after["sc_auc"]) / np.maximum(before["auc"] - before["sc_auc"], 1e-6)
    return {"alphas": np.asarray(alphas, float), "slab_acc": slab.eval.acc, "coords": coords,
            "unused_drop": drop[np.arange(S), coords], "ms7_acc": ms7, "before": before,
            "after": after, "ratio": ratio, "b_holds": b_holds}
