"""Image dominoes (chapters 03 and 05): the MNIST-CIFAR recipe, loading a pair, training one zoo
model per seed and the randomized evaluation of ordinary models.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..data.dominoes import ImageDominoes, load_dominoes
from ..metrics import RandomizedEval, table1_eval
from ..models.inference import predict_logits
from ..models.zoo import build_image_model
from ..train import History, Perturb, TrainConfig, fit

#: The paper's MNIST-CIFAR recipe (App. B): SGD, lr 0.05 decayed x0.2 every 30 epochs, momentum
#: 0.9, l2 5e-5, no augmentation, stop at training loss < 0.01 or 500 epochs; the batch size,
#: which the paper does not state, is the authors' 256.
MNIST_CIFAR_RECIPE = TrainConfig(
    lr=0.05,
    momentum=0.9,
    weight_decay=5e-5,
    batch_size=256,
    max_epochs=500,
    schedule="step",
    step_every=30,
    step_gamma=0.2,
)


def load_pair(
    source: str, pair: str, *, n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[ImageDominoes, ImageDominoes]:
    """(train, test) dominoes of ``pair`` from ``source`` ("auto", "mnist-cifar", "mnist-fashion"
    or "fashion");
    ``n_train``/``n_test``: class-balanced heads (None: all); ``seed`` fixes the pairing."""
    kw = dict(source=source, pair=pair, seed=seed)
    return (
        load_dominoes(split="train", n_samples=n_train, **kw),
        load_dominoes(split="test", n_samples=n_test, **kw),
    )


def train_image_model(
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    *,
    seed: int,
    width: float = 1.0,
    device: torch.device | str = "cpu",
    progress: bool = True,
    desc: str = "",
    perturb: Perturb | None = None,
) -> tuple[nn.Module, History]:
    """Build zoo model ``name`` under ``torch.manual_seed(seed)`` and train it with ``fit``.

    x: (n, C, H, W) float images in [0, 1]; y: (n,) int64 in {0, 1}. ``perturb``: fit's hook
    (e.g. :func:`sbcore.experiments.adversarial.adversarial_perturb` for adversarial training).
    Returns (model in eval mode on ``device``, its History)."""
    torch.manual_seed(seed)
    model = build_image_model(name, in_channels=x.shape[1], num_classes=2, width=width).to(device)
    hist = fit(
        model,
        x.to(device),
        y.to(device),
        cfg,
        seed=seed,
        progress=progress,
        desc=desc or f"{name} seed {seed}",
        perturb=perturb,
    )
    return model.eval(), hist


def train_image_models(
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    seeds: Sequence[int],
    *,
    width: float = 1.0,
    device: torch.device | str = "cpu",
    progress: bool = True,
    desc: str = "",
) -> tuple[list[nn.Module], list[History]]:
    """One :func:`train_image_model` per seed, all on (x, y): (models, histories)."""
    out = [
        train_image_model(
            name,
            x,
            y,
            cfg,
            seed=s,
            width=width,
            device=device,
            progress=progress,
            desc=f"{desc or name} seed {s}",
        )
        for s in seeds
    ]
    return [m for m, _ in out], [h for _, h in out]


def image_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits (n, C) of an ordinary model on images x (n, C, H, W), on the CPU."""
    device = next(model.parameters()).device
    return predict_logits(model, x.to(device), batch_size=1024)[0].cpu()


def randomized_image_eval(
    models: Sequence[nn.Module], test: ImageDominoes, *, seed: int = 0
) -> RandomizedEval:
    """:func:`sbcore.metrics.table1_eval` of each ordinary image model on one shared domino test
    set: (M,) arrays, M = len(models), model m's randomized sets from ``member_seed(seed, m)``."""

    def logits(variant: list, _: str) -> torch.Tensor:
        return torch.stack([image_logits(m, d.x) for m, d in zip(models, variant)])

    return table1_eval(logits, [test] * len(models), test.y, seed=seed)
