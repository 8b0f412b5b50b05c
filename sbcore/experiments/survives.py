"""Per-member grids (chapter 04): grid cells trained as one stack of FCN members, members mixed
parameter by parameter, and the non-random initialization of App. C.7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data.synthetic import SyntheticData, from_name, with_linear_at
from ..metrics import (
    accuracy,
    coordinate_randomized_accuracy,
    logits_on,
    randomized_eval,
    stack_data,
)
from ..models.specs import ModelSpec
from ..models.stacked import StackedFCN
from ..train import TrainConfig, fit
from .stacks import StackResult, train_stack


@dataclass
class GridCell:
    """One cell of a grid trained as part of one stack: its labels and per-seed diagnostics
    ((n_seeds,) arrays), the epochs the stack ran."""

    labels: dict
    auc: np.ndarray
    s_auc: np.ndarray
    sc_auc: np.ndarray
    acc: np.ndarray
    train_acc: np.ndarray
    epochs: int

    @classmethod
    def from_stack(cls, r: StackResult, labels: dict) -> "GridCell":
        return cls(
            labels,
            r.eval.auc,
            r.eval.s_auc,
            r.eval.sc_auc,
            r.eval.acc,
            np.asarray(r.train_acc),
            r.history.n_epochs,
        )


def fcn_grid(
    model: str | ModelSpec,
    cells: Sequence[dict],
    trains: Sequence[SyntheticData],
    tests: Sequence[SyntheticData],
    cfg: TrainConfig,
    *,
    seeds: Sequence[int],
    labels: Sequence[dict] | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    eval_seed: int = 0,
    init_from: nn.Module | None = None,
) -> tuple[list[GridCell], nn.Module]:
    """Train every cell of a grid for every seed as one stack of C x S FCN members, member
    ``c * S + s`` on ``trains[s]``, and evaluate it on ``tests[s]``.

    ``cells``: C dicts of per-member :class:`StackedFCN` options (``dropout``, ``init``,
    ``init_scale``; all cells the same keys); ``init_from``: a stack of C x S members whose
    weights replace the initialization (e.g. mixed weights). Returns (one GridCell per cell,
    the trained stack)."""
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    S, C = len(seeds), len(cells)
    opts = {k: [c[k] for c in cells for _ in range(S)] for k in cells[0]}
    stack = StackedFCN(
        trains[0].n_features,
        width=spec.sizes[0],
        depth=spec.sizes[1],
        activation=spec.activation,
        n_models=C * S,
        seeds=list(seeds) * C,
        **opts,
    )
    if init_from is not None:
        stack.load_state_dict(init_from.state_dict())
    stack = stack.to(device)
    x, y = (t.repeat(C, *[1] * (t.dim() - 1)) for t in stack_data(trains))
    hist = fit(
        stack,
        x.to(device),
        y.to(device),
        cfg,
        seed=seeds[0],
        progress=progress,
        desc=f"{spec.label} on {trains[0].name}, {C} cells",
    )
    train_acc = accuracy(logits_on(stack, list(trains) * C), y)
    ev = randomized_eval(stack, list(tests) * C, seed=eval_seed)
    parts = [np.asarray(v).reshape(C, S) for v in (ev.auc, ev.s_auc, ev.sc_auc, ev.acc, train_acc)]
    labels = labels or [dict(c) for c in cells]
    return [GridCell(labels[c], *(p[c] for p in parts), hist.n_epochs) for c in range(C)], stack


@torch.no_grad()
def mix_members(a: nn.Module, b: nn.Module, alphas: Sequence[float]) -> nn.Module:
    """Stacks ``a`` and ``b`` (same architecture, S members) mixed parameter by parameter:
    member ``i * S + s`` of the result is ``alphas[i] * a[s] + (1 - alphas[i]) * b[s]`` (paper
    App. C.7's M_alpha = alpha M_slab + (1 - alpha) M_rand). Returns a new stack of len(alphas) x S."""
    S = a.n_models
    out = a.select([s for _ in alphas for s in range(S)])
    w = torch.tensor([float(al) for al in alphas for _ in range(S)])
    for p, pa, pb in zip(out.parameters(), a.parameters(), b.parameters()):
        ww = w.view(-1, *[1] * (p.dim() - 1)).to(p.dtype)
        p.copy_(
            ww * pa.repeat(len(alphas), *[1] * (p.dim() - 1))
            + (1 - ww) * pb.repeat(len(alphas), *[1] * (p.dim() - 1))
        )
    return out


def nonrandom_init(
    model: str,
    alphas: Sequence[float],
    *,
    d: int,
    n_slab_train: int,
    n_train: int,
    n_test: int,
    slab_cfg: TrainConfig,
    cfg: TrainConfig,
    seeds: Sequence[int],
    device: torch.device | str = "cpu",
    progress: bool = True,
    eval_seed: int = 0,
) -> dict:
    """Non-random initialization (paper App. C.7, Fig. 5), one member per seed throughout.

    M_slab (``model``, an FCN) is trained on MS-7 (``n_slab_train`` points, ``slab_cfg``). The
    LMS-7 data puts the linear coordinate in place of the 7-slab whose randomization alone costs
    M_slab the least MS-7 accuracy (same points' other coordinates and rotation). M_alpha =
    alpha M_slab + (1 - alpha) M_rand (M_rand: a fresh initialization) is evaluated on MS-7 and on
    LMS-7, then trained on LMS-7 (``n_train`` points, ``cfg``) and evaluated again.

    Returns a dict of numpy arrays: ``alphas`` (A,); ``slab_acc``, ``unused_drop`` (S,): M_slab's
    MS-7 test accuracy and the accuracy its replaced coordinate costs; ``coords``; ``ms7_acc``
    (A, S); ``before`` / ``after``: {"auc", "s_auc", "sc_auc"} -> (A, S) on LMS-7; ``ratio`` (A, S):
    7-slab reliance (AUC - Sc-randomized AUC) after over before training; ``b_holds`` (A,): before
    training every seed has |AUC - S-rand AUC| <= 0.02 and |Sc-rand AUC - 0.5| <= 0.05.
    """
    S, A = len(seeds), len(alphas)
    data = [from_name("MS-7", n_slab_train + 2 * n_test + n_train, seed=s, d=d) for s in seeds]
    ms = (
        [x.subset(slice(0, n_slab_train)) for x in data],
        [x.subset(slice(n_slab_train, n_slab_train + n_test)) for x in data],
    )
    slab = train_stack(
        model, *ms, slab_cfg, seeds=seeds, device=device, progress=progress, eval_seed=eval_seed
    )
    drop = slab.eval.acc[:, None] - coordinate_randomized_accuracy(
        slab.model, ms[1], seed=eval_seed
    )
    coords = [int(np.argmin(row)) for row in drop]
    pools = [
        with_linear_at(x.subset(slice(n_slab_train + n_test, None)), j, seed=s).split(n_train)
        for x, j, s in zip(data, coords, seeds)
    ]
    lms = ([p[0] for p in pools], [p[1] for p in pools])
    spec = ModelSpec.parse(model)
    rand = StackedFCN(
        d,
        width=spec.sizes[0],
        depth=spec.sizes[1],
        activation=spec.activation,
        n_models=S,
        seeds=[s + 104_729 for s in seeds],
    )
    mixed = mix_members(slab.model.cpu(), rand, alphas).to(device)
    keys = ("auc", "s_auc", "sc_auc")
    ev = randomized_eval(mixed, lms[1] * A, seed=eval_seed + 1)
    before = {k: np.asarray(getattr(ev, k)).reshape(A, S) for k in keys}
    cells, _ = fcn_grid(
        spec,
        [{"dropout": 0.0}] * A,
        *lms,
        cfg,
        seeds=seeds,
        device=device,
        labels=[{"alpha": a} for a in alphas],
        progress=progress,
        eval_seed=eval_seed + 2,
        init_from=mixed,
    )
    after = {k: np.stack([getattr(c, k) for c in cells]) for k in keys}
    ms7 = accuracy(logits_on(mixed, ms[1] * A), stack_data(ms[1] * A)[1]).reshape(A, S)
    b_holds = (
        (np.abs(before["auc"] - before["s_auc"]) <= 0.02)
        & (np.abs(before["sc_auc"] - 0.5) <= 0.05)
    ).all(1)
    ratio = (after["auc"] - after["sc_auc"]) / np.maximum(before["auc"] - before["sc_auc"], 1e-6)
    return {
        "alphas": np.asarray(alphas, float),
        "slab_acc": slab.eval.acc,
        "coords": coords,
        "unused_drop": drop[np.arange(S), coords],
        "ms7_acc": ms7,
        "before": before,
        "after": after,
        "ratio": ratio,
        "b_holds": b_holds,
    }


def before_violation_rows(f: dict) -> list[dict]:
    """Fig. 5(b) per alpha of a :func:`nonrandom_init` result ``f``: the largest violation over
    seeds of "before training, M_alpha relies only on the 7-slabs" (|AUC - S-randomized AUC| and
    |Sc-randomized AUC - 0.5| on LMS-7), one row per alpha."""
    b = f["before"]
    return [
        {
            "α": f"{al:g}",
            "largest |AUC − S-rand AUC|": f"{np.abs(b['auc'] - b['s_auc'])[i].max():.3f}",
            "largest |Sc-rand AUC − 0.5|": f"{np.abs(b['sc_auc'] - 0.5)[i].max():.3f}",
        }
        for i, al in enumerate(f["alphas"])
    ]
