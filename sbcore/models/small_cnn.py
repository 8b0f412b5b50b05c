"""A small CNN for MNIST-over-CIFAR dominoes on a laptop CPU.

Not from the paper: Shah et al. (2020, Section 5) train large CIFAR networks on 64x32 dominoes; the
book's CPU scale needs something that trains in about a minute on two cores. It is a plain
conv-BN-ReLU stack with max-pooling (LeCun et al., "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 1998; BatchNorm from Ioffe & Szegedy, ICML 2015) and a global-average-pool
head (Lin, Chen & Yan, "Network in Network", ICLR 2014), so the input height does not matter.

Default layout for a (B, 3, 64, 32) domino (channels 8-16-32-64, 2x2 max-pool after the first
three convs, so the last conv sees an 8x4 map; its receptive field of 38x38 pixels covers a whole
32x32 half of the domino):

    conv3x3 3->8   + BN + ReLU + maxpool   -> (B, 8, 32, 16)
    conv3x3 8->16  + BN + ReLU + maxpool   -> (B, 16, 16, 8)
    conv3x3 16->32 + BN + ReLU + maxpool   -> (B, 32, 8, 4)
    conv3x3 32->64 + BN + ReLU             -> (B, 64, 8, 4)
    global average pool + linear 64->2     -> (B, 2)

Parameter count (width 1.0, batch_norm=True, bias-free convs): 24,778 with in_channels=3 and 2
classes (24,634 with in_channels=1); checked in tests/test_zoo.py. Cost: about 2.2 MMAC per forward
pass of a 64x32 image. Why 8 channels first: the full-resolution first layer dominates the time.
Measured on a shared 2-core CPU, one thread, SGD at batch 128 over 10,000 RGB 64x32 dominoes:
4-6 s per epoch for this layout (about ten epochs a minute) against 11 s for 16-32-64-64;
``width=2.0`` in the zoo gives 16-32-64-128 when more capacity is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["SmallCNN", "SmallCNNConfig", "SMALL_CNN"]


@dataclass(frozen=True)
class SmallCNNConfig:
    """Configuration of :class:`SmallCNN`.

    channels: output channels of each 3x3 conv; a 2x2 max-pool follows every conv but the last.
    batch_norm: BN after each conv (convs then drop their bias); False gives a plain biased CNN.
    in_channels: 1 or 3. num_classes: size of the logit vector.
    """

    channels: tuple[int, ...] = (8, 16, 32, 64)
    batch_norm: bool = True
    in_channels: int = 3
    num_classes: int = 2

    def __post_init__(self) -> None:
        if len(self.channels) < 1:
            raise ValueError("channels must name at least one conv layer")


SMALL_CNN = SmallCNNConfig()


class SmallCNN(nn.Module):
    """Conv-BN-ReLU(-maxpool) stack with a global-average-pool linear head.

    x: (B, in_channels, H, W) float, H and W at least 2 ** (len(channels) - 1) (8 by default)
    -> logits: (B, num_classes).
    """

    def __init__(self, config: SmallCNNConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        in_ch = config.in_channels
        for i, out_ch in enumerate(config.channels):
            layers.append(nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=not config.batch_norm))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.ReLU())
            # No pool after the last conv: it keeps an 8x4 map for 64x32 inputs, so the head still
            # averages over positions in both halves of the domino.
            if i < len(config.channels) - 1:
                layers.append(nn.MaxPool2d(2))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(in_ch, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pool(self.features(x))
        return self.linear(torch.flatten(out, 1))
