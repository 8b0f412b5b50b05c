"""Metrics of the paper (Sec. 3, Table 1): accuracy, ROC-AUC, S-/Sc-randomized metrics, logit
scores of true positives, coordinate-wise randomized accuracy and the 2-D decision boundary.

Logits are (M, n, C) for M stacked members (or (n, C) for one model); the score of a binary
classifier is ``logit_1 - logit_0``. The paper's text says "area under the precision-recall
curve" for the randomized AUC while its code computes ROC-AUC; we use ROC-AUC (both are 0.5 for
an uninformative score on balanced data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn

from .data.synthetic import SyntheticData, randomize
from .models.inference import predict_logits


def _members(logits: Tensor) -> Tensor:
    return logits if logits.dim() == 3 else logits.unsqueeze(0)


def score(logits: Tensor) -> Tensor:
    """Binary score ``logit_1 - logit_0``: (..., n, 2) -> (..., n)."""
    if logits.shape[-1] != 2:
        raise ValueError(f"score needs 2 logits per example, got {logits.shape[-1]}")
    return logits[..., 1] - logits[..., 0]


def accuracy(logits: Tensor, y: Tensor) -> np.ndarray:
    """Share of argmax predictions equal to y. logits (M, n, C) or (n, C); y (n,) or (M, n).

    Returns (M,) float array."""
    lg = _members(logits)
    yy = y if y.dim() == 2 else y.unsqueeze(0)
    return (lg.argmax(-1) == yy).double().mean(-1).cpu().numpy()


def roc_auc(logits: Tensor, y: Tensor) -> np.ndarray:
    """ROC-AUC of the score ``logit_1 - logit_0`` per member (scikit-learn). Returns (M,)."""
    s = score(_members(logits)).cpu().numpy()
    yy = (y if y.dim() == 2 else y.unsqueeze(0).expand(s.shape[0], -1)).cpu().numpy()
    return np.array([roc_auc_score(yy[m], s[m]) for m in range(s.shape[0])])


def stack_data(datas: Sequence[SyntheticData]) -> tuple[Tensor, Tensor]:
    """One dataset per member -> x (M, n, d), y (M, n); a single dataset -> x (n, d), y (n,)."""
    if len(datas) == 1:
        return datas[0].x, datas[0].y
    return torch.stack([d.x for d in datas]), torch.stack([d.y for d in datas])


def logits_on(model: nn.Module, datas: Sequence[SyntheticData]) -> Tensor:
    """Logits (M, n, C) of a stack on its per-member test sets (or one shared set)."""
    x, _ = stack_data(datas)
    x = x.to(next(model.parameters()).device)
    return predict_logits(model, x, per_member=len(datas) > 1).cpu()


@dataclass
class RandomizedEval:
    """Standard, S-randomized and Sc-randomized accuracy and AUC of every member ((M,) arrays),
    and the scores of the original test set's true positives under each randomization (lists of
    M arrays) for Fig. 3a; ``all_scores``: every original test point's score (M arrays), against
    which the S-randomized true positives' scores are compared (#7: S-randomization shuffles the
    scores across both classes)."""

    acc: np.ndarray
    auc: np.ndarray
    s_acc: np.ndarray
    s_auc: np.ndarray
    sc_acc: np.ndarray
    sc_auc: np.ndarray
    tp_scores: dict[str, list[np.ndarray]]
    all_scores: list[np.ndarray] | None = None

    def summary(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("acc", "auc", "s_acc", "s_auc", "sc_acc", "sc_auc")}


BLOCKS = {"": None, "s_": "S", "sc_": "Sc"}  # Table 1's three test sets, by metric prefix


def table1_eval(
    logits: Callable[[list, str], Tensor],
    tests: Sequence,
    y: Tensor,
    *,
    seed: int = 0,
    first_member: int = 0,
) -> RandomizedEval:
    """Table 1's randomized evaluation, the paper's defining measurement, for any predictors.

    ``tests``: one test set per member (any data with ``.randomized(block, seed=)``: synthetic
    or image dominoes); ``logits(variant, name)`` gives the members' logits (M, n, C) on a list
    of M test sets (member m on ``variant[m]``), ``name`` being "standard", "S-randomized" or
    "Sc-randomized"; ``y``: the labels, (n,) shared or (M, n). S-randomization permutes the S
    block across the test points, Sc-randomization the Sc block; member m's randomized sets are
    drawn from its own seed, ``member_seed(seed, first_member + m)``, so the members' randomized
    metrics are independent measurements even on one shared test set. The true positives of
    the standard test set fix the rows whose scores are kept (randomization keeps rows aligned).
    """
    out: dict[str, np.ndarray] = {}
    tp: dict[str, list[np.ndarray]] = {}
    mask = all_scores = None
    for key, block in BLOCKS.items():
        variant = (
            list(tests)
            if block is None
            else [
                t.randomized(block, seed=member_seed(seed, first_member + m))
                for m, t in enumerate(tests)
            ]
        )
        name = "standard" if block is None else f"{block}-randomized"
        lg = _members(logits(variant, name))
        out[key + "acc"], out[key + "auc"] = accuracy(lg, y), roc_auc(lg, y)
        s = score(lg)
        if mask is None:
            yy = y if y.dim() == 2 else y.unsqueeze(0).expand(lg.shape[0], -1)
            mask = (yy == 1) & (lg.argmax(-1) == 1)
            all_scores = [s[m].numpy() for m in range(lg.shape[0])]
        tp[name] = [s[m][mask[m]].numpy() for m in range(lg.shape[0])]
    return RandomizedEval(tp_scores=tp, all_scores=all_scores, **out)


def randomized_eval(
    model: nn.Module, datas: Sequence[SyntheticData], *, seed: int = 0
) -> RandomizedEval:
    """:func:`table1_eval` of a stack on its synthetic test sets (one per member, or one shared
    by all members)."""
    M = int(getattr(model, "n_models", 1))
    if len(datas) == 1 and M > 1:
        datas = list(datas) * M
    return table1_eval(lambda v, _: logits_on(model, v), datas, stack_data(datas)[1], seed=seed)


def eval_seed(seed: int, *keys) -> int:
    """A randomization seed of its own for each (run seed, what is measured: dataset, dimension,
    architecture, cell...), so that the randomized metrics of different models of one run are
    independent measurements rather than one permutation seen many times."""
    import zlib

    return int(seed) * 1_000_003 + zlib.crc32(repr(keys).encode()) % 1_000_003


def member_seed(seed: int, member: int) -> int:
    """The randomization seed of member ``member`` of a stack evaluated with base ``seed``."""
    return int(seed) * 7919 + int(member)


def coordinate_randomized_accuracy(
    model: nn.Module, datas: Sequence[SyntheticData], *, seed: int = 0
) -> np.ndarray:
    """Accuracy after randomizing one unrotated coordinate at a time: (M, d).

    A drop at coordinate j means the model relies on j (used to find the most influential Sc
    coordinate for Fig. 3c and which coordinates each ensemble member uses, Fig. 6b)."""
    y = stack_data(datas)[1]
    d = datas[0].n_features
    cols = [
        accuracy(
            logits_on(
                model, [randomize(x, [j], seed=member_seed(seed, m)) for m, x in enumerate(datas)]
            ),
            y,
        )
        for j in range(d)
    ]
    return np.stack(cols, axis=1)


@torch.no_grad()
def decision_grid(
    model: nn.Module,
    datas: Sequence[SyntheticData],
    coords: tuple[int, int],
    *,
    n_grid: int = 81,
    n_background: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """Probability of class 1 over a grid of two unrotated coordinates (Fig. 3c).

    Coordinates ``coords = (a, b)`` sweep [-B, B] (B = 1); the other coordinates are those of
    ``n_background`` random test points and the probability is averaged over them (the authors
    draw the others uniformly instead; for a model that ignores them both give the same map).
    Returns (M, n_grid, n_grid) with axis 1 over coordinate b and axis 2 over coordinate a.
    """
    grid = torch.linspace(-1, 1, n_grid)
    gb, ga = torch.meshgrid(grid, grid, indexing="ij")
    g = torch.Generator().manual_seed(seed)
    maps = []
    for m, data in enumerate(datas):
        bg = data.z[torch.randperm(data.n_samples, generator=g)[:n_background]]
        z = bg.repeat(n_grid * n_grid, 1)
        z[:, coords[0]] = ga.reshape(-1).repeat_interleave(n_background)
        z[:, coords[1]] = gb.reshape(-1).repeat_interleave(n_background)
        x = (z @ data.rotation).to(next(model.parameters()).device)
        # one dataset per member: evaluate member m alone, not the whole stack
        own = model.select(m) if len(datas) > 1 and hasattr(model, "select") else model
        lg = predict_logits(own, x).cpu()
        p = torch.softmax(lg, -1)[..., 1]
        maps.append(
            p.reshape(-1, n_grid * n_grid, n_background).mean(-1).reshape(-1, n_grid, n_grid)
        )
    return torch.cat(maps).numpy()


def shuffle_ks(ev: RandomizedEval) -> tuple[list[float], list[int], list[int]]:
    """#7's second half, per member: the KS distance between the S-randomized true positives'
    scores and every original test score (0 when S-randomization shuffles the scores across both
    classes, as for a model that reads S alone), and the two sample sizes."""
    pairs = list(zip(ev.tp_scores["S-randomized"], ev.all_scores))
    return (
        [ks_distance(a, b) for a, b in pairs],
        [len(a) for a, _ in pairs],
        [len(b) for _, b in pairs],
    )


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance: max |F_a(t) - F_b(t)| over t (0 = same sample)."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if a.size == 0 or b.size == 0:
        return float("nan")
    t = np.concatenate([a, b])
    fa = np.searchsorted(a, t, side="right") / a.size
    fb = np.searchsorted(b, t, side="right") / b.size
    return float(np.abs(fa - fb).max())


@torch.no_grad()
def max_softmax(model: nn.Module, x: Tensor) -> np.ndarray:
    """OOD score of Hendrycks & Gimpel (2017): the largest softmax probability of an ordinary
    model (B, *shape) -> (B, C); returns (B,)."""
    return torch.softmax(model(x), -1).max(-1).values.double().cpu().numpy()


@torch.no_grad()
def max_logit(model: nn.Module, x: Tensor) -> np.ndarray:
    """The logit-based OOD score: the largest logit, (B,)."""
    return model(x).max(-1).values.double().cpu().numpy()


def ood_auroc(score_in: np.ndarray, score_out: np.ndarray) -> float:
    """ROC-AUC of a detector flagging low scores as out-of-distribution (1: perfect, 0.5: blind)."""
    labels = np.r_[np.zeros(len(score_in)), np.ones(len(score_out))]
    return float(roc_auc_score(labels, -np.r_[score_in, score_out]))


def ensemble_logits(logits: Tensor, members: int | Sequence[int]) -> Tensor:
    """Logits of an ensemble: the mean over ``members`` (the first K if an int) of per-member
    logits ``(M, n, C)`` (or ``(..., M, n, C)``) -> ``(n, C)`` (or ``(..., n, C)``). The authors'
    code averages logits; the paper does not say how it combines members."""
    idx = list(range(members)) if isinstance(members, int) else list(members)
    if not idx or max(idx) >= logits.shape[-3] or min(idx) < 0:
        raise ValueError(f"members must index [0, {logits.shape[-3]}), got {members!r}")
    return logits[..., idx, :, :].mean(-3)


def coords_mask(n_features: int, coords: Sequence[int]) -> Tensor:
    """A boolean mask of length ``n_features``, True on ``coords`` (e.g. S of a synthetic set)."""
    mask = torch.zeros(n_features, dtype=torch.bool)
    idx = [int(c) for c in coords]
    if any(not 0 <= c < n_features for c in idx):
        raise ValueError(f"coords must lie in [0, {n_features}), got {list(coords)}")
    mask[idx] = True
    return mask


def budget_share(delta: Tensor, on_s: Tensor, *, basis: Tensor | None = None) -> Tensor:
    """Share of each perturbation's squared l2 norm that falls on the simple feature S (Fig. 4).

    ``share(delta) = ||delta_S||_2^2 / ||delta||_2^2`` (0 when ``delta = 0``: no budget spent),
    the fraction of the perturbation's energy on S; shares over a partition of the coordinates
    sum to 1. The paper reports percentages without a definition; the authors' code computed
    ``|delta_S| / ||delta||_2`` (one coordinate, un-squared; its square is our share). We use the
    squared ratio. For rotated synthetic data pass ``basis=R`` (``x = z @ R``): delta is
    un-rotated first, ``delta_z = delta @ R.T``, and ``on_s`` marks coordinates of z.

    Args:
        delta: (B, *shape) perturbations, always a batch (a single UAP is ``uap[None]``).
        on_s: (*shape) boolean mask of S in one example (:func:`coords_mask` for indices).
        basis: None or the (d, d) orthogonal rotation R (then ``shape`` is (d,)).
    Returns:
        (B,) shares in [0, 1], delta's dtype.
    """
    delta, on_s = delta.detach(), torch.as_tensor(on_s, device=delta.device)
    if on_s.dtype != torch.bool or tuple(on_s.shape) != tuple(delta.shape[1:]):
        raise ValueError(
            f"on_s must be a boolean mask of one example's shape "
            f"{tuple(delta.shape[1:])}, got {on_s.dtype} {tuple(on_s.shape)}"
        )
    if basis is not None:
        d = delta.shape[-1]
        if delta.dim() != 2 or tuple(basis.shape) != (d, d):
            raise ValueError(
                f"basis must be (d, d) with delta (B, d), got basis "
                f"{tuple(basis.shape)} and delta {tuple(delta.shape)}"
            )
        delta = delta @ basis.to(delta).T
    energy = delta.reshape(delta.shape[0], -1).square()
    total, share_s = energy.sum(dim=1), energy[:, on_s.reshape(-1)].sum(dim=1)
    return torch.where(
        total > 0,
        share_s / total.clamp_min(torch.finfo(energy.dtype).tiny),
        torch.zeros_like(total),
    )


def mean_std(values) -> str:
    """``0.500 ± 0.004`` over seeds (sample standard deviation)."""
    v = np.asarray(values, dtype=float)
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{v.mean():.3f} ± {sd:.3f}"


def s_share_of_map(grid: np.ndarray) -> float:
    """Share of a decision map's variance explained by its S axis (axis -1): Var(E[p|S]) / Var(p).

    1 means the map depends on S only (claim #8, Fig. 3c); 0 means it ignores S."""
    total = grid.var()
    return float(grid.mean(axis=-2).var() / total) if total > 0 else 0.0


def loglog_slope(dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``log values`` against ``log d`` (0.5 for sqrt(d) growth, 0 for
    O(1)): Theorem 1's weight ratios (chapter 00) and the margin budgets (chapter 05).

    Args: dims (D,); values (D, ...) positive. Returns the slopes, shape ``values.shape[1:]`` (a
    0-d array for one curve)."""
    x = np.log(np.asarray(dims, dtype=float))
    y = np.log(np.asarray(values, dtype=float))
    xc = x - x.mean()
    return np.tensordot(xc, y - y.mean(axis=0), axes=(0, 0)) / (xc @ xc)
