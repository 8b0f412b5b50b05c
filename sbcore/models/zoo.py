"""The image-model zoo: one name -> one CIFAR-style network, at any width.

Shah et al. (2020, Section 5, MNIST-CIFAR dominoes) train standard CIFAR architectures; the book
builds them by name with :func:`build_image_model`. ``width`` multiplies every channel count
(rounded half up, never below 1) so a chapter can run a thin copy of a zoo architecture on a laptop
CPU; ``width=1.0`` gives exactly the published CIFAR-10 architecture (kuangliu/pytorch-cifar
layouts, whose parameter counts tests/test_zoo.py checks).

Models, with their parameter counts for ``in_channels=3`` and ``num_classes=2``
(a 10-class head adds 8 x (features + 1); in_channels=1 removes 2 x 9 x stem channels):

=============  =================================================  ==========  ==========
name           architecture (paper)                               width 1.0   width 0.25
=============  =================================================  ==========  ==========
resnet18       ResNet18, BasicBlock [2,2,2,2] (He et al., 2016)   11,169,858     700,434
resnet50       ResNet50, Bottleneck [3,4,6,3] (He et al., 2016)   23,504,450   1,480,082
mobilenetv2    MobileNetV2 (Sandler et al., 2018)                  2,286,674     162,182
densenet121    DenseNet-BC-121, k=32 (Huang et al., 2017)          6,948,098     450,626
googlenet      GoogLeNet / Inception v1 (Szegedy et al., 2015)     6,158,050     390,682
small_cnn      4-conv CNN + global average pool (ours)                24,778       1,660
=============  =================================================  ==========  ==========

Every model maps x: (B, in_channels, H, W) float -> logits (B, num_classes) for H, W >= 8,
in particular (B, C, 32, 32) CIFAR images and (B, C, 64, 32) dominoes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

from torch import nn

from sbcore.models.densenet import DENSENET121, DenseNet
from sbcore.models.googlenet import GOOGLENET, GoogLeNet
from sbcore.models.mobilenet import MOBILENETV2, MobileNetV2
from sbcore.models.resnet import RESNET18, RESNET50, ResNet, ResNetConfig
from sbcore.models.small_cnn import SMALL_CNN, SmallCNN

__all__ = ["IMAGE_MODELS", "build_image_model", "scale_channels"]

IN_CHANNELS = (1, 3)


def scale_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded half up, at least 1; identity at ``width == 1.0``.

    Half-up rather than Python's round-half-even, so halves always go the same way
    (10 x 0.25 = 2.5 -> 3, where ``round`` would give 2 but 1.5 -> 2).
    """
    return max(1, math.floor(channels * width + 0.5))


def _scale_all(channels: tuple[int, ...], width: float) -> tuple[int, ...]:
    return tuple(scale_channels(c, width) for c in channels)


def _resnet(base: ResNetConfig) -> Callable[[int, int, float], nn.Module]:
    def build(in_channels: int, num_classes: int, width: float) -> nn.Module:
        config = dataclasses.replace(
            base,
            planes=_scale_all(base.planes, width),
            in_channels=in_channels,
            num_classes=num_classes,
        )
        return ResNet(config)

    return build


def _mobilenetv2(in_channels: int, num_classes: int, width: float) -> nn.Module:
    base = MOBILENETV2
    # Only the channel counts scale; expansion factors, block counts and strides are the layout.
    stages = tuple((t, scale_channels(c, width), n, s) for t, c, n, s in base.stages)
    config = dataclasses.replace(
        base,
        stem_channels=scale_channels(base.stem_channels, width),
        stages=stages,
        head_channels=scale_channels(base.head_channels, width),
        in_channels=in_channels,
        num_classes=num_classes,
    )
    return MobileNetV2(config)


def _densenet121(in_channels: int, num_classes: int, width: float) -> nn.Module:
    # Every DenseNet width (stem 2k, bottleneck 4k, block outputs) is a multiple of k.
    config = dataclasses.replace(
        DENSENET121,
        growth_rate=scale_channels(DENSENET121.growth_rate, width),
        in_channels=in_channels,
        num_classes=num_classes,
    )
    return DenseNet(config)


def _googlenet(in_channels: int, num_classes: int, width: float) -> nn.Module:
    base = GOOGLENET
    config = dataclasses.replace(
        base,
        stem_channels=scale_channels(base.stem_channels, width),
        inceptions=tuple(_scale_all(spec, width) for spec in base.inceptions),
        in_channels=in_channels,
        num_classes=num_classes,
    )
    return GoogLeNet(config)


def _small_cnn(in_channels: int, num_classes: int, width: float) -> nn.Module:
    config = dataclasses.replace(
        SMALL_CNN,
        channels=_scale_all(SMALL_CNN.channels, width),
        in_channels=in_channels,
        num_classes=num_classes,
    )
    return SmallCNN(config)


_BUILDERS: dict[str, Callable[[int, int, float], nn.Module]] = {
    "resnet18": _resnet(RESNET18),
    "resnet50": _resnet(RESNET50),
    "mobilenetv2": _mobilenetv2,
    "densenet121": _densenet121,
    "googlenet": _googlenet,
    "small_cnn": _small_cnn,
}

IMAGE_MODELS: tuple[str, ...] = tuple(_BUILDERS)


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a channel count is a bug, not a 1.
    return isinstance(value, int) and not isinstance(value, bool)


def build_image_model(
    name: str, *, in_channels: int = 3, num_classes: int = 2, width: float = 1.0
) -> nn.Module:
    """Build a freshly initialized zoo model (PyTorch default init, on the CPU, train mode).

    name: one of :data:`IMAGE_MODELS`. in_channels: 1 (grey) or 3 (RGB).
    num_classes: int >= 2. width: float > 0 multiplying every channel count (1.0: published net).
    Returns an ``nn.Module`` mapping x: (B, in_channels, H, W) -> logits (B, num_classes), for any
    H, W >= 8 (32x32 CIFAR images, 64x32 MNIST-CIFAR dominoes of Shah et al., 2020, Section 5).
    Raises ``ValueError`` naming the offending parameter before anything is built. Seed with
    ``torch.manual_seed`` beforehand for reproducible weights.
    """
    if not isinstance(name, str) or name not in _BUILDERS:
        raise ValueError(f"name must be one of {', '.join(IMAGE_MODELS)}; got {name!r}")
    if not _is_int(in_channels) or in_channels not in IN_CHANNELS:
        raise ValueError(f"in_channels must be 1 or 3; got {in_channels!r}")
    if not _is_int(num_classes) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}")
    if (
        isinstance(width, bool)
        or not isinstance(width, (int, float))
        or not math.isfinite(width)
        or width <= 0
    ):
        raise ValueError(
            f"width must be a finite number > 0 (1.0 = published network); got {width!r}"
        )
    return _BUILDERS[name](in_channels, num_classes, float(width))
