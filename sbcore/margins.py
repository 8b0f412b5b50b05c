"""Margins (paper Sec. 4.3, claim #19): how large an l2 perturbation must be to flip a prediction.

The averaging classifier f* (``sbcore.oracles.Averaging``) sums one +-1 vote per coordinate of
LMS-k. To flip it an attacker must overturn about half of the d votes, each costing at least the
distance from its coordinate to the nearest vote boundary (>= gamma = 0.1 for points inside the
slabs), so its minimal l2 budget grows like sqrt(d). A network that reads only S is flipped by
moving S alone, a budget of O(1) whatever d. f*'s minimal budget has a closed form (its votes are
separable); a network's is estimated with PGD (:func:`flip_budget`, by bisection on eps).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .attacks import pgd
from .data.blocks import slab_layout
from .data.synthetic import SyntheticData
from .oracles import slab_score


def vote_boundaries(k: int, *, gamma: float = 0.1, B: float = 1.0) -> Tensor:
    """Where the k-slab rule of f* changes its vote: midpoints between adjacent slab centres.

    Returns (k - 1,) float64, increasing (adjacent slabs carry opposite labels)."""
    lay = slab_layout(k, gamma=gamma, B=B)
    centres = torch.tensor([(a + b) / 2 for a, b in zip(lay.lo, lay.hi)], dtype=torch.float64)
    return (centres[1:] + centres[:-1]) / 2


def flip_distances(z: Tensor, k: int, *, linear_coords: Sequence[int] = (0,)) -> Tensor:
    """Distance from each unrotated coordinate to the nearest point where f*'s vote flips.

    z: (n, d) unrotated points. Linear coordinates flip at 0 (distance |z_j|); k-slab coordinates
    at :func:`vote_boundaries`. Returns (n, d) float64 >= 0."""
    z = z.to(torch.float64)
    dist = (z.unsqueeze(-1) - vote_boundaries(k)).abs().min(-1).values
    lin = list(linear_coords)
    if lin:
        dist[:, lin] = z[:, lin].abs()
    return dist


def averaging_flip_budget(
    data: SyntheticData, k: int, *, linear_coords: Sequence[int] = (0,)
) -> np.ndarray:
    """Exact minimal l2 budget that flips f* (``oracles.Averaging``) on each point of ``data``.

    f*'s score is ``sum_j v_j(z_j) / sqrt(d)`` with votes v_j in {-1, +1}; it predicts class 1 iff
    the score is > 0 (argmax ties go to class 0). With c correct votes and w wrong ones, class 1
    flips once ``m = ceil((c - w) / 2)`` correct votes turn, class 0 once ``m = floor((c - w) / 2)
    + 1`` do. Votes are separable and the l2 norm is rotation invariant, so the cheapest flip
    overturns the m correct votes with the smallest distances r_j: budget = sqrt(sum of the m
    smallest r_j^2) (an infimum: any larger budget flips). Already-misclassified points get 0.

    Returns (n,) float64."""
    z = data.z.to(torch.float64)
    votes = slab_score(z, k)  # the vote rule of oracles.Averaging
    lin = list(linear_coords)
    if lin:
        votes[:, lin] = torch.sign(z[:, lin])
    sign = (2 * data.y - 1).to(torch.float64).unsqueeze(1)
    correct = votes * sign > 0
    margin = (correct.sum(1) - (votes * sign < 0).sum(1)).to(torch.float64)
    need = torch.where(data.y == 1, torch.ceil(margin / 2), torch.floor(margin / 2) + 1).long()
    r2 = torch.where(
        correct, flip_distances(z, k, linear_coords=lin) ** 2, torch.full_like(z, math.inf)
    )
    csum = torch.cat(
        [torch.zeros(len(z), 1, dtype=torch.float64), torch.sort(r2, dim=1).values.cumsum(1)],
        dim=1,
    )
    budget = csum.gather(1, need.clamp(0, z.shape[1]).unsqueeze(1)).squeeze(1).sqrt()
    return torch.where(need <= 0, torch.zeros_like(budget), budget).numpy()


def pgd_accuracy(
    model: nn.Module, x: Tensor, y: Tensor, *, eps: float, n_steps: int = 20
) -> float:
    """Accuracy of ``model`` (B, d) -> (B, C) under l2 PGD with budget ``eps`` (no clipping).

    Step size 2.5 eps / n_steps (Madry et al.'s rule), starting at delta = 0: a random start
    leaves an orthogonal component of norm ~eps that wastes budget and biases the budgets up."""
    if eps > 0:
        x = x + pgd(
            model,
            x,
            y,
            eps=eps,
            step_size=2.5 * eps / n_steps,
            n_steps=n_steps,
            random_start=False,
        )
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).double().mean())


def robust_curve(
    model: nn.Module, x: Tensor, y: Tensor, eps_grid: Sequence[float], *, n_steps: int = 20
) -> np.ndarray:
    """l2 robust accuracy (PGD) at every eps of ``eps_grid``: (len(eps_grid),)."""
    return np.array([pgd_accuracy(model, x, y, eps=float(e), n_steps=n_steps) for e in eps_grid])


def flip_budget(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    level: float = 0.5,
    hi: float = 4.0,
    n_iter: int = 10,
    n_steps: int = 20,
) -> float:
    """Smallest l2 budget at which PGD brings accuracy to ``level`` or below, by bisection.

    With level = 0.5 this is the median minimal flipping budget of the correctly classified
    points (PGD gives an upper bound on each point's true minimum). Searches [0, hi]; returns
    ``hi`` if even ``hi`` is not enough. Precision hi / 2**n_iter."""
    if pgd_accuracy(model, x, y, eps=hi, n_steps=n_steps) > level:
        return hi
    lo = 0.0
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        if pgd_accuracy(model, x, y, eps=mid, n_steps=n_steps) <= level:
            hi = mid
        else:
            lo = mid
    return hi


def exact_curve(budgets: np.ndarray, eps_grid: Sequence[float]) -> np.ndarray:
    """Robust accuracy from exact per-point minimal budgets: share of points with budget > eps."""
    b = np.asarray(budgets, float)
    return np.array([(b > e).mean() for e in eps_grid])


# ---------------------------------------------------------------- AdvMS-(5,7) margins (App. E.2.1)


def slab_gap(k: int, *, gamma: float, B: float = 1.0) -> float:
    """Smallest distance between a slab of class -1 and one of class +1 of a k-slab: 2 B gamma."""
    lay = slab_layout(k, gamma=gamma, B=B)
    return min(
        max(lay.lo[j] - lay.hi[i], lay.lo[i] - lay.hi[j], 0.0)
        for i in range(k)
        for j in range(k)
        if lay.label[i] != lay.label[j]
    )


def support_margin(slabs: Sequence[tuple[int, float]], *, B: float = 1.0) -> float:
    """The largest l2 margin any classifier can have on the *distribution* of a product of slabs:
    half the l2 distance between the two classes' supports.

    ``slabs``: (k, gamma) per coordinate used. Each class's support is a product of unions of
    slabs, so the squared distance between the supports is the sum over coordinates of the
    squared per-coordinate gap (:func:`slab_gap`); no classifier is robust beyond half of it at
    the closest pair, and the nearest-support classifier reaches it. For AdvMS-(5,7): S alone
    (ten 5-slabs, gap 0.1) gives 0.158, all twenty coordinates (plus ten 7-slabs, gap 0.3) 0.5."""
    return 0.5 * math.sqrt(sum(slab_gap(k, gamma=g, B=B) ** 2 for k, g in slabs))


def sample_margin(
    data: SyntheticData, coords: Sequence[int] | None = None, *, chunk: int = 2048
) -> float:
    """The largest l2 margin any classifier can have on the *sample* ``data``: half the smallest
    distance between two points of opposite classes, measured on the unrotated coordinates
    ``coords`` (None: all of them, which equals the distance between the rotated inputs).

    A classifier reading only ``coords`` is moved by perturbations within them alone, so its
    margin is bounded by that half-distance; 1-nearest-neighbour on ``coords`` attains it. This
    is exact for the sample and shrinks towards :func:`support_margin` as the sample grows."""
    z = data.z.to(torch.float64)
    z = z if coords is None else z[:, list(coords)]
    pos, neg = z[data.y == 1], z[data.y == 0]
    if not len(pos) or not len(neg):
        raise ValueError("data must hold points of both classes")
    best = min(
        torch.cdist(pos[i : i + chunk], neg).min().item() for i in range(0, len(pos), chunk)
    )
    return 0.5 * best


#: AdvMS-(5,7) (App. E.2.1): (k, gamma) of each unrotated coordinate; S = the ten 5-slabs.
ADV_MS = [(5, 0.05)] * 10 + [(7, 0.15)] * 10


def adv_ms_margins(trains: Sequence[SyntheticData]) -> dict[str, dict[str, np.ndarray]]:
    """gamma_S (S alone) and gamma_data (all coordinates) of AdvMS-(5,7) by both methods:
    ``{"S" | "all": {"support": (1,), "sample": (n_sets,)}}``, one sample margin per training
    set in ``trains`` (:func:`support_margin`, :func:`sample_margin`)."""
    s = trains[0].s_coords
    return {
        "S": {
            "support": np.array([support_margin(ADV_MS[: len(s)])]),
            "sample": np.array([sample_margin(t, s) for t in trains]),
        },
        "all": {
            "support": np.array([support_margin(ADV_MS)]),
            "sample": np.array([sample_margin(t) for t in trains]),
        },
    }


MARGIN_SIZES = (1 / 6, 1 / 2, 1, 2, 4, 8)  # margins_against_n: sizes as multiples of n_train


def margin_sizes(n_train: int) -> list[int]:
    """The training-set sizes of the margin-against-n table: :data:`MARGIN_SIZES` times
    ``n_train`` (at least 100 points)."""
    return [max(100, int(n_train * f)) for f in MARGIN_SIZES]


def margins_against_n(ns: Sequence[int], *, seed: int = 0) -> list[dict]:
    """gamma_S and gamma_data of AdvMS-(5,7) against the training-set size: for each n of ``ns``
    the sample margins (:func:`sample_margin`) of the first n points of one draw of n = max(ns)
    points (seed ``seed``), beside the support margins the sample margins shrink towards (the
    errata's evidence that no size gives the printed 0.30 and 0.62 together)."""
    from .data.synthetic import from_name

    data = from_name("AdvMS-(5,7)", max(ns), seed=seed)
    s = data.s_coords
    rows = [
        {
            "margin": f"sample, n = {n:,}",
            "γ_S": sample_margin(data.subset(slice(0, n)), s),
            "γ_data": sample_margin(data.subset(slice(0, n))),
        }
        for n in sorted(ns)
    ]
    rows.append(
        {
            "margin": "support (n → ∞)",
            "γ_S": support_margin(ADV_MS[: len(s)]),
            "γ_data": support_margin(ADV_MS),
        }
    )
    return rows
