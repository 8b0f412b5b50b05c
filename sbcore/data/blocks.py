"""One-dimensional building blocks of the synthetic datasets (paper Sec. 3.1, App. B).

Every block maps labels ``y`` in {-1, +1} to one coordinate. Defaults are the paper's:
margin ``gamma = 0.1``, width ``B = 1``. Each sampler takes a local ``torch.Generator`` so the
datasets are pure functions of their parameters and a seed.

Slab geometry (App. B): a k-slab splits [-B, B] into k slabs of width
``w_k = 2B(1 - (k-1)gamma)/k`` separated by gaps of ``2B gamma``; the centre slab is the negative
class and labels alternate outwards. The outer slabs of the 5-slab (negative) are drawn with
probability 1/4 and those of the 7-slab (positive) with probability 1/8, which makes the two
class-conditional variances equal (App. B); :func:`slab_layout` holds these probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

SLAB_KS = (3, 5, 7)


def _check_block(gamma: float, B: float) -> None:
    if not B > 0:
        raise ValueError(f"B must be > 0, got {B}")
    if not 0 < gamma < 1:
        raise ValueError(f"gamma must be in (0, 1), got {gamma}")


def _uniform(n: int, lo: Tensor | float, hi: Tensor | float, g: torch.Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def linear(y: Tensor, g: torch.Generator, *, gamma: float = 0.1, B: float = 1.0) -> Tensor:
    """Linear(gamma, B): ``x = y * (B gamma + (B - B gamma) U(0,1))``.

    Args: y: (n,) in {-1, +1}. Returns: (n,) float64; positives in [B gamma, B], negatives in
    [-B, -B gamma]. One linear piece classifies it perfectly (Bayes accuracy 1).
    """
    _check_block(gamma, B)
    return y * _uniform(len(y), B * gamma, B, g)


def noisy_linear(
    y: Tensor, g: torch.Generator, *, p: float = 0.1, gamma: float = 0.1, B: float = 1.0
) -> Tensor:
    """NoisyLinear(gamma, B, p) as in Sec. 3.1 (App. B's formula swaps p and 1-p; a typo).

    Exactly ``round(n p)`` points, chosen at random, are uniform on [-B gamma, B gamma] whatever
    their label; the rest are drawn like :func:`linear`. The best classifier (sign of x) then
    errs on half of the noisy points: Bayes accuracy ``1 - p/2`` (0.95 at p = 0.1).

    Args: y: (n,) in {-1, +1}; p: noise fraction in [0, 1]. Returns: (n,) float64.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p (noise fraction) must be in [0, 1], got {p}")
    x = linear(y, g, gamma=gamma, B=B)
    n_noisy = round(len(y) * p)
    idx = torch.randperm(len(y), generator=g)[:n_noisy]
    x[idx] = _uniform(n_noisy, -B * gamma, B * gamma, g)
    return x


@dataclass(frozen=True)
class SlabLayout:
    """The k slabs of a k-slab block: intervals, labels and sampling probabilities.

    ``lo[i], hi[i]``: the i-th slab from the left; ``label[i]`` in {-1, +1}; ``prob[i]``: the
    probability of slab i given its label (probabilities of one class sum to 1).
    """

    k: int
    width: float
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    label: tuple[int, ...]
    prob: tuple[float, ...]


# Probability of a slab *pair* (mirror images) given the class, listed from the centre outwards.
# The centre slab is a single slab; pairs are split evenly between the two sides.
_PAIR_PROBS = {
    3: {-1: (1.0,), +1: (1.0,)},
    5: {-1: (3 / 4, 1 / 4), +1: (1.0,)},
    7: {-1: (1 / 2, 1 / 2), +1: (7 / 8, 1 / 8)},
}


def slab_layout(k: int, *, gamma: float = 0.1, B: float = 1.0) -> SlabLayout:
    """The geometry of Slab(gamma, B, k) (App. B). ``k`` must be 3, 5 or 7 (the paper's)."""
    if k not in SLAB_KS:
        raise ValueError(f"k (number of slabs) must be one of {SLAB_KS}, got {k}")
    _check_block(gamma, B)
    width = 2 * B * (1 - (k - 1) * gamma) / k
    if width <= 0:
        raise ValueError(f"gamma={gamma} leaves no room for {k} slabs: need gamma < {1 / (k - 1)}")
    centre = (k - 1) // 2
    lo, hi, label, prob = [], [], [], []
    for i in range(k):
        left = -B + i * (width + 2 * B * gamma)
        dist = abs(i - centre)  # 0 for the centre slab, 1 for its neighbours, ...
        lab = -1 if dist % 2 == 0 else +1
        # index of this slab's pair among the pairs of its class, counted from the centre
        pair = dist // 2 if lab == -1 else (dist - 1) // 2
        p_pair = _PAIR_PROBS[k][lab][pair]
        lo.append(left)
        hi.append(left + width)
        label.append(lab)
        prob.append(p_pair if dist == 0 else p_pair / 2)
    return SlabLayout(k, width, tuple(lo), tuple(hi), tuple(label), tuple(prob))


def slab(y: Tensor, g: torch.Generator, *, k: int, gamma: float = 0.1, B: float = 1.0) -> Tensor:
    """Slab(gamma, B, k): each point falls uniformly in one slab of its class.

    Args: y: (n,) in {-1, +1}; k in {3, 5, 7}. Returns: (n,) float64 in [-B, B].
    A k-slab needs k-1 linear pieces for Bayes accuracy 1 (Sec. 3.1).
    """
    lay = slab_layout(k, gamma=gamma, B=B)
    lo, hi = torch.tensor(lay.lo, dtype=torch.float64), torch.tensor(lay.hi, dtype=torch.float64)
    label = torch.tensor(lay.label)
    prob = torch.tensor(lay.prob, dtype=torch.float64)
    x = torch.empty(len(y), dtype=torch.float64)
    for cls in (-1, 1):
        mask = y == cls
        p_cls = torch.where(label == cls, prob, torch.zeros_like(prob))
        which = torch.multinomial(p_cls, int(mask.sum()), replacement=True, generator=g)
        x[mask] = _uniform(len(which), lo[which], hi[which], g)
    return x
