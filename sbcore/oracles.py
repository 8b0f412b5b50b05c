"""Hand-built classifiers with known reliance, used as references for the metrics.

``LinearOnS`` reads only the linear coordinate (a model with extreme SB by construction);
``SlabVote`` reads only the slab coordinates and votes with the optimal slab rule on each
(a model that relies on Sc only); ``Averaging`` is the paper's averaging classifier f* of
Sec. 4.3, which sums a per-coordinate score over every coordinate. All three take rotated inputs
(B, d) and return logits (1, B, 2), like a stack of one member.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .data.blocks import slab_layout
from .data.synthetic import SyntheticData


class _Oracle(nn.Module):
    n_models = 1

    def __init__(self, data: SyntheticData):
        super().__init__()
        self.register_buffer("rotation", data.rotation.clone())
        self._anchor = nn.Parameter(torch.zeros(1), requires_grad=False)  # gives a device

    def unrotate(self, x: Tensor) -> Tensor:
        return x @ self.rotation.T

    @staticmethod
    def logits(s: Tensor) -> Tensor:
        out = torch.stack([-s / 2, s / 2], dim=-1)
        return out if out.dim() == 3 else out.unsqueeze(0)


def slab_score(z: Tensor, k: int, *, gamma: float = 0.1, B: float = 1.0) -> Tensor:
    """+1 where the k-slab rule says class +1, -1 otherwise (points in gaps go to the nearest slab)."""
    lay = slab_layout(k, gamma=gamma, B=B)
    centres = torch.tensor(
        [(a + b) / 2 for a, b in zip(lay.lo, lay.hi)], dtype=z.dtype, device=z.device
    )
    labels = torch.tensor(lay.label, dtype=z.dtype, device=z.device)
    return labels[(z.unsqueeze(-1) - centres).abs().argmin(-1)]


class LinearOnS(_Oracle):
    """Score = the unrotated coordinate ``coord`` (the linear S of LMS-k), times ``scale``."""

    def __init__(self, data: SyntheticData, coord: int = 0, scale: float = 10.0):
        super().__init__(data)
        self.coord, self.scale = coord, scale

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(self.scale * self.unrotate(x)[..., self.coord])


class SlabVote(_Oracle):
    """Score = mean over ``coords`` of the k-slab rule: uses Sc only, ignores S."""

    def __init__(self, data: SyntheticData, coords: tuple[int, ...], k: int, scale: float = 10.0):
        super().__init__(data)
        self.coords, self.k, self.scale = list(coords), k, scale

    def forward(self, x: Tensor) -> Tensor:
        z = self.unrotate(x)[..., self.coords]
        return self.logits(self.scale * slab_score(z, self.k).mean(-1))


class Averaging(_Oracle):
    """The averaging classifier f* (Sec. 4.3): score = sum over every coordinate of its optimal
    1-D rule (the sign for a linear coordinate, the slab rule for a k-slab), divided by sqrt(d)."""

    def __init__(self, data: SyntheticData, k: int, linear_coords: tuple[int, ...] = (0,)):
        super().__init__(data)
        self.k, self.linear = k, list(linear_coords)

    def forward(self, x: Tensor) -> Tensor:
        z = self.unrotate(x)
        votes = slab_score(z, self.k)
        if self.linear:
            votes[..., self.linear] = torch.sign(z[..., self.linear])
        return self.logits(votes.sum(-1) / z.shape[-1] ** 0.5)
