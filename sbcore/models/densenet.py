"""CIFAR-style DenseNet121.

Architecture paper: G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger, "Densely Connected
Convolutional Networks", CVPR 2017 (arXiv:1608.06993), Section 3 and Table 1.

DenseNet-BC with growth rate k = 32, dense blocks of [6, 12, 24, 16] bottleneck layers
(BN-ReLU-1x1 conv to 4k, BN-ReLU-3x3 conv to k, output concatenated to the input) and transitions
(BN-ReLU-1x1 conv compressing by the reduction 0.5, then 2x2 average pool). The CIFAR variant of
kuangliu/pytorch-cifar replaces the ImageNet stem (7x7 stride-2 conv + max-pool) by one 3x3
stride-1 conv to 2k channels, so 32x32 inputs are only downsampled by the three transitions; with 10
classes it has 6,956,298 parameters. We pool adaptively so 64x32 dominoes work too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DenseLayer", "Transition", "DenseNet", "DenseNetConfig", "DENSENET121"]


@dataclass(frozen=True)
class DenseNetConfig:
    """Configuration of a CIFAR-style DenseNet-BC.

    growth_rate: k, the channels each dense layer adds; the stem has 2k channels and every
        bottleneck 4k, so scaling k scales the whole network (the zoo's ``width``).
    num_blocks: dense layers per dense block. reduction: transition compression in (0, 1].
    in_channels: 1 or 3. num_classes: size of the logit vector.
    """

    growth_rate: int = 32
    num_blocks: tuple[int, ...] = (6, 12, 24, 16)
    reduction: float = 0.5
    in_channels: int = 3
    num_classes: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.reduction <= 1.0:
            raise ValueError(f"reduction must be in (0, 1], got {self.reduction}")


DENSENET121 = DenseNetConfig()


def _bn_relu_conv(in_ch: int, out_ch: int, kernel_size: int) -> nn.Sequential:
    # Pre-activation order (BN-ReLU-conv), as in the paper's composite function H_l (Section 3).
    return nn.Sequential(
        nn.BatchNorm2d(in_ch),
        nn.ReLU(),
        nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=False),
    )


class DenseLayer(nn.Module):
    """Bottleneck dense layer (Huang et al., 2017, "DenseNet-B").

    x: (B, C, H, W) -> (B, C + growth_rate, H, W): the k new feature maps appended to the input.
    """

    def __init__(self, in_planes: int, growth_rate: int) -> None:
        super().__init__()
        self.reduce = _bn_relu_conv(in_planes, 4 * growth_rate, 1)
        self.conv = _bn_relu_conv(4 * growth_rate, growth_rate, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(self.reduce(x))], dim=1)


class Transition(nn.Module):
    """Transition layer: BN-ReLU-1x1 conv, then 2x2 average pool (Huang et al., 2017, Section 3).

    x: (B, in_planes, H, W) -> (B, out_planes, floor(H / 2), floor(W / 2)).
    """

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        self.conv = _bn_relu_conv(in_planes, out_planes, 1)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class DenseNet(nn.Module):
    """CIFAR-style DenseNet-BC (Huang et al., 2017) built from a :class:`DenseNetConfig`.

    x: (B, in_channels, H, W) float, any H, W >= 8 -> logits: (B, num_classes).
    """

    def __init__(self, config: DenseNetConfig) -> None:
        super().__init__()
        self.config = config
        k = config.growth_rate
        planes = 2 * k
        # The stem conv has no BN after it: the first dense layer starts with BN-ReLU.
        layers: list[nn.Module] = [nn.Conv2d(config.in_channels, planes, 3, padding=1, bias=False)]
        for i, n in enumerate(config.num_blocks):
            for _ in range(n):
                layers.append(DenseLayer(planes, k))
                planes += k
            if i < len(config.num_blocks) - 1:
                # floor, as in the paper's theta * m, never below one channel at tiny widths
                out_planes = max(1, math.floor(planes * config.reduction))
                layers.append(Transition(planes, out_planes))
                planes = out_planes
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(planes), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.linear = nn.Linear(planes, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        return self.linear(torch.flatten(out, 1))
