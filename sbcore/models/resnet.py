"""CIFAR-style ResNet18 and ResNet50.

Architecture paper: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016 (arXiv:1512.03385), Sections 3-4.

This is the widely used CIFAR variant of kuangliu/pytorch-cifar: the ImageNet stem (7x7
stride-2 conv + max-pool) is replaced by a single 3x3 stride-1 conv, so a 32x32 image enters the
first stage at full resolution. Stages have 64-128-256-512 base planes, [2, 2, 2, 2] BasicBlocks
(ResNet18) or [3, 4, 6, 3] Bottlenecks (ResNet50), and 1x1 projection shortcuts wherever the shape
changes (option B of the paper, Section 3.3).
With 10 classes ResNet18 has 11,173,962 parameters and ResNet50 23,520,842.

We pool with ``AdaptiveAvgPool2d(1)`` instead of the reference's fixed 4x4 average pool, so the
same weights accept 32x32 CIFAR images and 64x32 MNIST-over-CIFAR dominoes (Shah et al., 2020,
Section 5); pooling has no parameters, so the counts are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNetConfig", "RESNET18", "RESNET50"]


@dataclass(frozen=True)
class ResNetConfig:
    """Configuration of a CIFAR-style ResNet.

    block: "basic" (two 3x3 convs, expansion 1) or "bottleneck" (1x1-3x3-1x1, expansion 4).
    num_blocks: blocks per stage; the first block of stages 2-4 downsamples by 2.
    planes: base planes per stage (the stem has ``planes[0]`` channels); the zoo scales these for
        its ``width`` argument.
    in_channels: 1 (grey) or 3 (RGB) input channels. num_classes: size of the logit vector.
    """

    block: Literal["basic", "bottleneck"]
    num_blocks: tuple[int, ...]
    planes: tuple[int, ...] = (64, 128, 256, 512)
    in_channels: int = 3
    num_classes: int = 10

    def __post_init__(self) -> None:
        if self.block not in ("basic", "bottleneck"):
            raise ValueError(f"block must be 'basic' or 'bottleneck', got {self.block!r}")
        if len(self.num_blocks) != len(self.planes):
            raise ValueError(
                f"num_blocks {self.num_blocks} and planes {self.planes} must have the same length"
            )


RESNET18 = ResNetConfig(block="basic", num_blocks=(2, 2, 2, 2))
RESNET50 = ResNetConfig(block="bottleneck", num_blocks=(3, 4, 6, 3))


def _conv_bn(in_ch: int, out_ch: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    # Convs feeding a BatchNorm carry no bias: BN's shift makes it redundant (and the published
    # parameter counts assume none).
    conv = nn.Conv2d(
        in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
    )
    return nn.Sequential(conv, nn.BatchNorm2d(out_ch))


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    # Identity when shapes match, else a 1x1 projection (He et al., 2016, Eq. 2, option B).
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return _conv_bn(in_ch, out_ch, kernel_size=1, stride=stride)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual connection (He et al., 2016, Fig. 2).

    x: (B, in_planes, H, W) -> (B, planes, ceil(H / stride), ceil(W / stride)).
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv_bn(in_planes, planes, 3, stride)
        self.conv2 = _conv_bn(planes, planes, 3)
        self.shortcut = _shortcut(in_planes, planes, stride)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv1(x))
        out = self.conv2(out)
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (He et al., 2016, Fig. 5).

    The stride sits on the 3x3 conv, as in the CIFAR reference implementation.
    x: (B, in_planes, H, W) -> (B, 4 * planes, ceil(H / stride), ceil(W / stride)).
    """

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_planes = self.expansion * planes
        self.conv1 = _conv_bn(in_planes, planes, 1)
        self.conv2 = _conv_bn(planes, planes, 3, stride)
        self.conv3 = _conv_bn(planes, out_planes, 1)
        self.shortcut = _shortcut(in_planes, out_planes, stride)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        out = self.conv3(out)
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet (He et al., 2016) built from a :class:`ResNetConfig`.

    x: (B, in_channels, H, W) float, any H, W >= 8 (e.g. 32x32 CIFAR or 64x32 dominoes)
    -> logits: (B, num_classes). Spatial size is divided by 8 over stages 2-4, then averaged away.
    """

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        block = BasicBlock if config.block == "basic" else Bottleneck
        stem = config.planes[0]
        self.stem = nn.Sequential(_conv_bn(config.in_channels, stem, 3), nn.ReLU())
        stages: list[nn.Module] = []
        in_planes = stem
        for i, (planes, n) in enumerate(zip(config.planes, config.num_blocks)):
            first_stride = 1 if i == 0 else 2
            blocks: list[nn.Module] = []
            for j in range(n):
                blocks.append(block(in_planes, planes, first_stride if j == 0 else 1))
                in_planes = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(in_planes, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem(x))
        return self.linear(torch.flatten(self.pool(out), 1))
