"""CIFAR-style MobileNetV2.

Architecture paper: M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen, "MobileNetV2:
Inverted Residuals and Linear Bottlenecks", CVPR 2018 (arXiv:1801.04381), Table 2.

This is the CIFAR variant of kuangliu/pytorch-cifar, which differs from Table 2 of the paper in
three ways that we keep, because they define the network whose parameter count (2,296,922 with 10
classes) is the one quoted for CIFAR-10:

- the stem conv and the first stride-2 stage (24 channels) use stride 1, so 32x32 inputs are
  downsampled only 8x overall (the paper's 32x would leave a 1x1 map);
- every stride-1 block is residual; where the channel count changes, the shortcut is a 1x1 conv +
  BN (the paper has no shortcut there);
- the final 4x4 average pool (here adaptive, so 64x32 dominoes work too) replaces the 7x7 one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["InvertedResidual", "MobileNetV2", "MobileNetV2Config", "MOBILENETV2"]


@dataclass(frozen=True)
class MobileNetV2Config:
    """Configuration of a CIFAR-style MobileNetV2.

    stem_channels: channels of the first 3x3 conv (paper: 32).
    stages: one ``(expansion, out_channels, num_blocks, stride)`` per bottleneck sequence
        (paper Table 2's t, c, n, s, with the CIFAR stride changes).
    head_channels: channels of the last 1x1 conv before pooling (paper: 1280).
    in_channels: 1 or 3. num_classes: size of the logit vector.
    """

    stem_channels: int = 32
    stages: tuple[tuple[int, int, int, int], ...] = (
        (1, 16, 1, 1),
        (6, 24, 2, 1),  # stride 2 in the paper; 1 for 32x32 inputs
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    head_channels: int = 1280
    in_channels: int = 3
    num_classes: int = 10


MOBILENETV2 = MobileNetV2Config()


def _conv_bn(
    in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    # No conv bias: the BatchNorm shift that follows makes it redundant.
    pad = kernel_size // 2
    conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride, pad, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_ch))


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear project (1x1) (Sandler et al., 2018, Table 1).

    The projection has no ReLU: the paper's "linear bottleneck" (Section 3.2) keeps information in
    the low-dimensional output. x: (B, in_planes, H, W) -> (B, out_planes, ceil(H/s), ceil(W/s)).
    """

    def __init__(self, in_planes: int, out_planes: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = expansion * in_planes
        self.expand = _conv_bn(in_planes, hidden, 1)
        self.depthwise = _conv_bn(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = _conv_bn(hidden, out_planes, 1)
        self.relu = nn.ReLU()
        # CIFAR variant: every stride-1 block is residual, projecting when the width changes.
        self.shortcut: nn.Module | None = None
        if stride == 1:
            same = in_planes == out_planes
            self.shortcut = nn.Identity() if same else _conv_bn(in_planes, out_planes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.expand(x))
        out = self.relu(self.depthwise(out))
        out = self.project(out)
        return out if self.shortcut is None else out + self.shortcut(x)


class MobileNetV2(nn.Module):
    """CIFAR-style MobileNetV2 (Sandler et al., 2018) built from a :class:`MobileNetV2Config`.

    x: (B, in_channels, H, W) float, any H, W >= 8 -> logits: (B, num_classes).
    """

    def __init__(self, config: MobileNetV2Config) -> None:
        super().__init__()
        self.config = config
        self.stem = nn.Sequential(_conv_bn(config.in_channels, config.stem_channels, 3), nn.ReLU())
        blocks: list[nn.Module] = []
        in_planes = config.stem_channels
        for expansion, out_planes, num_blocks, stride in config.stages:
            for j in range(num_blocks):
                block_stride = stride if j == 0 else 1
                blocks.append(InvertedResidual(in_planes, out_planes, expansion, block_stride))
                in_planes = out_planes
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(_conv_bn(in_planes, config.head_channels, 1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(config.head_channels, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.blocks(self.stem(x)))
        return self.linear(torch.flatten(self.pool(out), 1))
