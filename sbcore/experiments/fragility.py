"""One attack suite for synthetic and image data: per-example PGD and the two UAPs of
:mod:`sbcore.attacks` against each of M models, with accuracy after each attack and the share of
the perturbation's energy on S (paper Sec. 4.3, Fig. 4; claims #20, #21); and the other fragility
measurements of Sec. 4.3 on ordinary models: confidence-based OOD scores under Sc-randomization
(claim #18) and confidence when every complex feature contradicts S (claim #22); and claim #19's
sweep of the minimal flipping budget over d (:func:`flip_budget_sweep`).

Shares are measured on the perturbation the model actually receives, ``x_adv - x`` (after clipping
for images; for unclipped synthetic data that is the label-signed UAP itself, whose energy
distribution equals the UAP's), averaged over points; ``raw_share`` is the UAP's own share before
clipping. PGD starts at delta = 0: a random start adds a random direction of norm ~eps spread
over every coordinate, which the steps only partly remove and which says nothing about the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..attacks import Clip, apply_uap, as_uap, pgd, svd_uap
from ..data.dominoes import ImageDominoes, block_mask
from ..data.synthetic import SyntheticData, contradict, randomize
from ..margins import averaging_flip_budget, flip_budget
from ..metrics import budget_share, max_logit, max_softmax, mean_std, member_seed, ood_auroc
from ..models.stacked import Member
from ..train import TrainConfig
from .stacks import make_splits, train_stack

ATTACKS = ("PGD", "SVD-UAP", "AS-UAP")
UAPS = ATTACKS[1:]


@dataclass
class AttackRun:
    """Attacks on M models: (M,) arrays keyed by attack of accuracy after it and share on S; the
    UAPs (one per model, an example's shape) and, per UAP, the accuracy per class (M, 2)."""

    data: str
    model_name: str
    eps_pgd: float
    eps_uap: float
    clean_acc: np.ndarray
    acc: dict[str, np.ndarray]
    share: dict[str, np.ndarray]
    raw_share: dict[str, np.ndarray]
    uaps: dict[str, list[Tensor]] = field(default_factory=dict)
    class_acc: dict[str, np.ndarray] = field(default_factory=dict)


@torch.no_grad()
def accuracy_of(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Share of argmax predictions of an ordinary model (B, *shape) -> (B, C) equal to y."""
    return float((model(x).argmax(-1) == y).double().mean())


def attack_models(
    models: Sequence[nn.Module],
    fit_sets: Sequence[tuple[Tensor, Tensor]],
    eval_sets: Sequence[tuple[Tensor, Tensor]],
    *,
    on_s: Tensor,
    eps_pgd: float,
    eps_uap: float,
    pgd_steps: int,
    uap_epochs: int,
    uap_batch: int,
    bases: Sequence[Tensor | None] | None = None,
    clip: Clip = None,
    seed: int = 0,
    data: str = "",
    model_name: str = "",
) -> AttackRun:
    """PGD (budget ``eps_pgd``, per example), SVD-UAP and AS-UAP (``eps_uap``), all l2, on model m.

    Args:
        models: M ordinary models (B, *shape) -> (B, C), in eval mode.
        fit_sets / eval_sets: per model, (x, y) the UAPs are fitted on / every attack is scored on
            (x (n, *shape), y (n,) in {0, 1}).
        on_s: boolean mask of S in one example, in the basis of ``bases`` (unrotated coordinates
            of synthetic data) or of the input (image blocks).
        bases: per model, the rotation R of its data (x = z @ R) or None.
        clip: None (synthetic: after the rotation x lies in no box) or (0, 1) for images.
    """
    M = len(models)
    bases = list(bases) if bases is not None else [None] * M
    if not (len(fit_sets) == len(eval_sets) == len(bases) == M) or M == 0:
        raise ValueError("models, fit_sets, eval_sets and bases must hold one entry per model")
    for name, v in (
        ("pgd_steps", pgd_steps),
        ("uap_epochs", uap_epochs),
        ("uap_batch", uap_batch),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    acc, share, raw = ({a: np.zeros(M) for a in ATTACKS} for _ in range(3))
    uaps: dict[str, list[Tensor]] = {a: [] for a in UAPS}
    clean, class_acc = np.zeros(M), {a: np.full((M, 2), np.nan) for a in UAPS}
    for m, (model, (xf, yf), (xt, yt), basis) in enumerate(
        zip(models, fit_sets, eval_sets, bases)
    ):
        clean[m] = accuracy_of(model, xt, yt)
        delta = pgd(
            model,
            xt,
            yt,
            eps=eps_pgd,
            step_size=2.5 * eps_pgd / pgd_steps,
            n_steps=pgd_steps,
            random_start=False,
            clip=clip,
        )
        acc["PGD"][m] = accuracy_of(model, xt + delta, yt)
        share["PGD"][m] = raw["PGD"][m] = float(budget_share(delta, on_s, basis=basis).mean())
        uaps["SVD-UAP"].append(
            svd_uap(
                model,
                xf,
                yf,
                eps=eps_uap,
                step_size=2.5 * eps_uap / pgd_steps,
                n_steps=pgd_steps,
                clip=clip,
                seed=seed + m,
            )
        )
        uaps["AS-UAP"].append(
            as_uap(
                model,
                xf,
                yf,
                eps=eps_uap,
                step_size=eps_uap / 5,
                n_epochs=uap_epochs,
                batch_size=uap_batch,
                clip=clip,
                seed=seed + m,
            )
        )
        for a in UAPS:
            x_adv = apply_uap(xt, yt, uaps[a][m], clip=clip)
            acc[a][m] = accuracy_of(model, x_adv, yt)
            class_acc[a][m] = [
                accuracy_of(model, x_adv[yt == c], yt[yt == c]) if (yt == c).any() else np.nan
                for c in (0, 1)
            ]
            share[a][m] = float(budget_share(x_adv - xt, on_s, basis=basis).mean())
            raw[a][m] = float(budget_share(uaps[a][m][None], on_s, basis=basis)[0])
    return AttackRun(
        data, model_name, float(eps_pgd), float(eps_uap), clean, acc, share, raw, uaps, class_acc
    )


def transfer_matrix(
    runs: Sequence[AttackRun],
    models: Sequence[Sequence[nn.Module]],
    eval_sets: Sequence[tuple[Tensor, Tensor]],
    *,
    attack: str,
) -> np.ndarray:
    """Accuracy of target architecture j under the ``attack`` UAP of source architecture i.

    ``models[j][m]``: architecture j's model for seed m; all architectures of seed m were trained
    on the same data (same rotation), so source member m's UAP is applied to target member m.
    Returns (S, T, M)."""
    out = np.zeros((len(runs), len(models), len(eval_sets)))
    for i, run in enumerate(runs):
        for j, arch in enumerate(models):
            for m, (x, y) in enumerate(eval_sets):
                out[i, j, m] = accuracy_of(arch[m], apply_uap(x, y, run.uaps[attack][m]), y)
    return out


def mean_block_distance(data: ImageDominoes, block: str = "S") -> float:
    """``D = ||mean(block | y=1) - mean(block | y=0)||_2`` over domino images (n, C, 64, 32): the
    budget a label-signed UAP needs to carry each class mean onto the other."""
    if not ((data.y == 0).any() and (data.y == 1).any()):
        raise ValueError("data must hold both classes to measure the distance of their means")
    diff = data.x[data.y == 1].mean(0) - data.x[data.y == 0].mean(0)
    return float(diff[block_mask(data.x.shape[1:], block)].norm())


def attack_dominoes(
    models: Sequence[nn.Module],
    train: ImageDominoes,
    test: ImageDominoes,
    *,
    n_attack: int,
    pgd_steps: int,
    uap_epochs: int,
    uap_batch: int,
    seed: int = 0,
    model_name: str = "",
) -> AttackRun:
    """:func:`attack_models` on domino images, clipped to [0, 1], with the budgets of the data:
    D = :func:`mean_block_distance` of ``train``, D / 2 for PGD (a point at its class mean
    crosses the midway boundary) and D for the UAPs (each class mean carried onto the other).
    UAPs are fitted on the first ``n_attack`` training images, attacks scored on as many test
    images; S is the top block."""
    n, M = min(n_attack, train.n_samples, test.n_samples), len(models)
    d = mean_block_distance(train)
    return attack_models(
        models,
        [(train.x[:n], train.y[:n])] * M,
        [(test.x[:n], test.y[:n])] * M,
        on_s=block_mask(test.x.shape[1:], "S"),
        eps_pgd=d / 2,
        eps_uap=d,
        pgd_steps=pgd_steps,
        uap_epochs=uap_epochs,
        uap_batch=uap_batch,
        clip=(0.0, 1.0),
        seed=seed,
        data=test.source,
        model_name=model_name,
    )


def ood_aucs(
    models: Sequence[nn.Module], tests: Sequence[SyntheticData], *, seed: int = 0
) -> dict[str, np.ndarray]:
    """Per model m, ROC-AUC of the max-softmax and max-logit OOD scores at telling its
    Sc-randomized test points (drawn from ``member_seed(seed, m)``) from the originals:
    {"max-softmax": (M,), "max-logit": (M,)}."""
    out: dict[str, list] = {"max-softmax": [], "max-logit": []}
    for m, (model, t) in enumerate(zip(models, tests)):
        shifted = randomize(t, "Sc", seed=member_seed(seed, m))
        for name, fn in (("max-softmax", max_softmax), ("max-logit", max_logit)):
            out[name].append(ood_auroc(fn(model, t.x), fn(model, shifted.x)))
    return {k: np.array(v) for k, v in out.items()}


def contradiction(
    models: Sequence[nn.Module], tests: Sequence[SyntheticData], *, seed: int = 0
) -> dict:
    """Per model: mean max-softmax confidence on the test set (``clean_conf``) and with all of Sc
    taken from the other class (``contra_conf``, :func:`sbcore.data.synthetic.contradict`), the
    share of predictions still following S (``follow_s``) and the test accuracy (``acc``), all
    (M,); model 0's confidences (``conf0``) for a figure."""
    out: dict = {"clean_conf": [], "contra_conf": [], "follow_s": [], "acc": []}
    for m, (model, t) in enumerate(zip(models, tests)):
        bad = contradict(t, seed=member_seed(seed, m))
        c, cb = max_softmax(model, t.x), max_softmax(model, bad.x)
        out.setdefault("conf0", {"original": c, "Sc contradicts S": cb})
        out["clean_conf"].append(c.mean())
        out["contra_conf"].append(cb.mean())
        out["follow_s"].append(accuracy_of(model, bad.x, bad.y))
        out["acc"].append(accuracy_of(model, t.x, t.y))
    return {k: v if k == "conf0" else np.array(v) for k, v in out.items()}


def members(result) -> list:
    """The members of a trained stack (a :class:`sbcore.experiments.stacks.StackResult`)."""
    return [Member(result.model, m) for m in range(result.model.n_models)]  # (B, d) -> (B, 2)


def shift_and_contradiction(results: dict, splits: dict, *, seed: int) -> tuple[dict, dict]:
    """(dataset, model) -> OOD-score AUCs under Sc-randomization (claim #18), and -> confidence
    with every Sc coordinate contradicting S (claim #22); see
    :mod:`sbcore.experiments.fragility`."""
    keys = [(ds, r) for ds, rs in results.items() for r in rs]
    ood = {(ds, r.model_name): ood_aucs(members(r), splits[ds][1], seed=seed) for ds, r in keys}
    contra = {
        (ds, r.model_name): contradiction(members(r), splits[ds][1], seed=seed) for ds, r in keys
    }
    return ood, contra


def uap_in_z(run: AttackRun, tests, attack: str) -> np.ndarray:
    """Member 0's UAP in the unrotated basis (delta_z = delta @ R.T), for Fig. 4: (d,)."""
    return (run.uaps[attack][0] @ tests[0].rotation.T).numpy()


def attack_rows(runs: Sequence[AttackRun], paper_share: str | Mapping[str, str]) -> list[dict]:
    """One table row per run and attack: budget, accuracy before/after, share on S (applied; and
    the UAP's own before clipping), the paper's share for the UAPs."""
    return [
        {
            "data": r.data.split(" (")[0],
            "model": r.model_name,
            "attack": a,
            "l2 eps": round(r.eps_pgd if a == "PGD" else r.eps_uap, 3),
            "clean acc": mean_std(r.clean_acc),
            "attacked acc": mean_std(r.acc[a]),
            "share on S": mean_std(r.share[a]),
            "share before clipping": mean_std(r.raw_share[a]) if a != "PGD" else "—",
            "share (paper)": "—"
            if a == "PGD"
            else (paper_share if isinstance(paper_share, str) else paper_share.get(r.data, "—")),
        }
        for r in runs
        for a in ATTACKS
    ]


def flip_budget_sweep(
    model: str,
    dims: Sequence[int],
    *,
    n_train: int,
    n_test: int,
    n_points: int,
    seeds: Sequence[int],
    cfg: TrainConfig,
    device: torch.device | str = "cpu",
    progress: bool = True,
    n_steps: int = 20,
) -> dict[str, np.ndarray]:
    """Claim #19's sweep: for each d of ``dims``, train ``model`` on LMS-5 (one member per seed)
    and take the median minimal l2 flipping budget over ``n_points`` test points of the network
    (PGD by bisection, :func:`sbcore.margins.flip_budget`) and of the averaging classifier f*
    (exact). Returns {"f*": (M, len(dims)), model: (M, len(dims)), "acc": the network's test
    accuracy (M, len(dims))}."""
    avg, net, acc = [], [], []
    for d in dims:
        trains, tests = make_splits("LMS-5", n_train, n_test, seeds, d=d)
        res = train_stack(model, trains, tests, cfg, seeds=seeds, device=device, progress=progress)
        stack = res.model.cpu()
        acc.append(res.eval.acc)
        pts = [t.subset(slice(0, n_points)) for t in tests]
        avg.append([float(np.median(averaging_flip_budget(p, 5))) for p in pts])
        net.append(
            [flip_budget(Member(stack, m), p.x, p.y, n_steps=n_steps) for m, p in enumerate(pts)]
        )
    return {"f*": np.array(avg).T, model: np.array(net).T, "acc": np.array(acc).T}
