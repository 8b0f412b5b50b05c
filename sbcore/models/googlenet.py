"""CIFAR-style GoogLeNet (Inception v1).

Architecture paper: C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan,
V. Vanhoucke, A. Rabinovich, "Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842),
Table 1 (the inception 3a-5b channel counts used below).

This is the CIFAR variant of kuangliu/pytorch-cifar (6,166,250 parameters with 10 classes), which
keeps Table 1's nine Inception modules and their channel counts but:

- replaces the ImageNet stem (7x7/2 conv, pools, 1x1 and 3x3 convs) by one 3x3 conv to 192 channels;
- builds the "5x5" branch as two stacked 3x3 convs (same 5x5 receptive field; the factorisation of
  BN-Inception, Ioffe & Szegedy, 2015);
- adds BatchNorm after every conv (the convs keep their biases, which the published count
  includes), drops the auxiliary classifiers and dropout;
- downsamples only at the two 3x3/2 max-pools (after 3b and after 4e), so 32x32 -> 8x8.

We pool adaptively before the classifier so 64x32 dominoes work too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Inception", "GoogLeNet", "GoogLeNetConfig", "GOOGLENET"]

# One Inception module: (n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj), Table 1.
InceptionSpec = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class GoogLeNetConfig:
    """Configuration of a CIFAR-style GoogLeNet.

    stem_channels: output channels of the 3x3 stem conv (192, the input of inception 3a).
    inceptions: nine :data:`InceptionSpec` for modules 3a, 3b, 4a-4e, 5a, 5b; each module's input
        width is the sum n1x1 + n3x3 + n5x5 + pool_proj of the previous one.
    pool_after: indices of the modules followed by a 3x3 stride-2 max-pool (3b and 4e).
    in_channels: 1 or 3. num_classes: size of the logit vector.
    """

    stem_channels: int = 192
    inceptions: tuple[InceptionSpec, ...] = (
        (64, 96, 128, 16, 32, 32),  # 3a
        (128, 128, 192, 32, 96, 64),  # 3b
        (192, 96, 208, 16, 48, 64),  # 4a
        (160, 112, 224, 24, 64, 64),  # 4b
        (128, 128, 256, 24, 64, 64),  # 4c
        (112, 144, 288, 32, 64, 64),  # 4d
        (256, 160, 320, 32, 128, 128),  # 4e
        (256, 160, 320, 32, 128, 128),  # 5a
        (384, 192, 384, 48, 128, 128),  # 5b
    )
    pool_after: tuple[int, ...] = (1, 6)
    in_channels: int = 3
    num_classes: int = 10


GOOGLENET = GoogLeNetConfig()


def _conv_bn_relu(in_ch: int, out_ch: int, kernel_size: int) -> nn.Sequential:
    # bias=True although BN follows: the CIFAR reference keeps PyTorch's default conv bias, and
    # the published parameter count includes it.
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(),
    )


class Inception(nn.Module):
    """Inception module with dimension reductions (Szegedy et al., 2015, Fig. 2b).

    Four parallel branches, concatenated along channels: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3 (the
    "5x5" branch); 3x3 max-pool -> 1x1.
    x: (B, in_planes, H, W) -> (B, n1x1 + n3x3 + n5x5 + pool_proj, H, W).
    """

    def __init__(self, in_planes: int, spec: InceptionSpec) -> None:
        super().__init__()
        n1x1, n3x3_red, n3x3, n5x5_red, n5x5, pool_proj = spec
        self.out_planes = n1x1 + n3x3 + n5x5 + pool_proj
        self.branch1 = _conv_bn_relu(in_planes, n1x1, 1)
        self.branch3 = nn.Sequential(
            _conv_bn_relu(in_planes, n3x3_red, 1), _conv_bn_relu(n3x3_red, n3x3, 3)
        )
        self.branch5 = nn.Sequential(
            _conv_bn_relu(in_planes, n5x5_red, 1),
            _conv_bn_relu(n5x5_red, n5x5, 3),
            _conv_bn_relu(n5x5, n5x5, 3),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), _conv_bn_relu(in_planes, pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNet(nn.Module):
    """CIFAR-style GoogLeNet (Szegedy et al., 2015) built from a :class:`GoogLeNetConfig`.

    x: (B, in_channels, H, W) float, any H, W >= 4 -> logits: (B, num_classes).
    """

    def __init__(self, config: GoogLeNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [_conv_bn_relu(config.in_channels, config.stem_channels, 3)]
        planes = config.stem_channels
        for i, spec in enumerate(config.inceptions):
            module = Inception(planes, spec)
            layers.append(module)
            planes = module.out_planes
            if i in config.pool_after:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(planes, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pool(self.features(x))
        return self.linear(torch.flatten(out, 1))
