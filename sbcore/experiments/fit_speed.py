"""How fast SGD fits a k-slab as k grows (claim #2: "small k is learned quickly by SGD, unlike
large-k periodic functions", Sec. 3.1).

The paper's slab layout (:func:`sbcore.data.blocks.slab_layout`) exists for k = 3, 5, 7 only (its
outer-slab probabilities equalize the class variances). To follow k further, :func:`periodic_slab`
draws a 1-D k-slab of the same shape for any odd k: k equal slabs with alternating labels (the
centre slab y = -1), every slab of a class equally likely, and gaps taking the same share of
[-1, 1] as the paper's 5-slab (40 %: gamma = 0.4 / (k - 1)), so that only the number of pieces
changes with k. :func:`epochs_to_fit` trains one stacked FCN per k (one member per seed) and
records the first epoch at which each member classifies its training set to ``fit_at``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..data.synthetic import SyntheticData
from ..metrics import accuracy, logits_on, stack_data
from ..models.specs import ModelSpec
from ..train import TrainConfig, fit

GAP_SHARE = 0.4  # the paper's 5-slab: 4 gaps of 2 gamma = 0.2 on [-1, 1]


def periodic_slab(n: int, k: int, *, seed: int = 0, gap_share: float = GAP_SHARE) -> SyntheticData:
    """``n`` points of a 1-D k-slab (odd k >= 3) on [-1, 1], labels 0 / 1 (y = +1 -> 1); see the
    module docstring. Unrotated, one coordinate (S = Sc = none: the data of a building block)."""
    if not isinstance(k, int) or k < 3 or k % 2 == 0:
        raise ValueError(f"k must be an odd integer >= 3, got {k!r}")
    if not 0 <= gap_share < 1:
        raise ValueError(f"gap_share must be in [0, 1), got {gap_share}")
    g = torch.Generator().manual_seed(int(seed))
    width = 2 * (1 - gap_share) / k
    gap = 2 * gap_share / (k - 1)
    centre = (k - 1) // 2
    label = torch.tensor([0 if abs(i - centre) % 2 == 0 else 1 for i in range(k)])
    y = torch.randint(0, 2, (n,), generator=g)
    slabs = [torch.nonzero(label == c).ravel() for c in (0, 1)]
    x = torch.empty(n, dtype=torch.float64)
    for c in (0, 1):
        mask = y == c
        pick = slabs[c][torch.randint(0, len(slabs[c]), (int(mask.sum()),), generator=g)]
        left = -1 + pick.double() * (width + gap)
        x[mask] = left + width * torch.rand(int(mask.sum()), generator=g, dtype=torch.float64)
    z = x[:, None].float()
    return SyntheticData(
        x=z,
        y=y,
        z=z,
        rotation=torch.eye(1),
        s_coords=(),
        sc_coords=(),
        name=f"{k}-slab (1-D)",
        seed=int(seed),
    )


def epochs_to_fit(
    ks: Sequence[int],
    *,
    n: int,
    seeds: Sequence[int],
    cfg: TrainConfig,
    model: str = "(100,1)-FCN",
    fit_at: float = 0.99,
    device="cpu",
    progress: bool = True,
) -> np.ndarray:
    """(len(ks), len(seeds)) first epoch at which each member's training accuracy reaches
    ``fit_at`` (``cfg.max_epochs + 1`` if it never does within the budget)."""
    out = []
    for k in ks:
        trains = [periodic_slab(n, k, seed=s) for s in seeds]
        x, y = stack_data(trains)
        stack = ModelSpec.parse(model).build(1, seeds=seeds).to(device)
        hist = fit(
            stack,
            x.to(device),
            y.to(device),
            cfg,
            seed=seeds[0],
            progress=progress,
            callback=lambda m, e: {"train": accuracy(logits_on(m, trains), y).tolist()},
            eval_every=1,
            desc=f"{model} on a {k}-slab",
        )
        first = np.full(len(seeds), cfg.max_epochs + 1)
        for e in reversed(hist.evals):  # ends at each member's first epoch at fit_at
            first = np.where(np.asarray(e["train"]) >= fit_at, e["epoch"], first)
        out.append(first)
    return np.stack(out)
