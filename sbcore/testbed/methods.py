"""Reference methods of the testbed, each written from its paper and scored whether or not it helps.

* :func:`vanilla`: the paper's SGD recipe, the reference row of every scorecard.
* :func:`sam`: sharpness-aware minimization (Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware
  Minimization for Efficiently Improving Generalization", ICLR 2021), argued to reduce simplicity
  bias by Nguyen et al. ("Changing the Training Data Distribution to Reduce Simplicity Bias
  Improves In-distribution Generalization", NeurIPS 2024).
* :func:`spectral_decoupling`: an l2 penalty on the logits (Pezeshki et al., "Gradient Starvation:
  A Learning Proclivity in Neural Networks", NeurIPS 2021), against gradient starvation.
* :func:`jtt`: Just Train Twice (Liu et al., "Just Train Twice: Improving Group Robustness without
  Training Group Information", ICML 2021): train briefly, then retrain from the start with the
  training points the first model got wrong upsampled. A method with its own loop (``train``).
* :func:`diverse`: a set of models trained together with a penalty on the alignment of their input
  gradients (Teney, Abbasnejad, Lucey & van den Hengel, "Evading the Simplicity Bias: Training a
  Diverse Set of Models Discovers Solutions with Superior OOD Generalization", CVPR 2022).
* :func:`useful` / :func:`useful_sam`: USEFUL (Nguyen, Haddad, Gan & Mirzasoleiman, "Changing the
  Training Data Distribution to Reduce Simplicity Bias Improves In-distribution Generalization",
  NeurIPS 2024): train briefly, split each class by the network's output, upsample the cluster
  it has not learned once and retrain, with SGD or with SAM. Its own loop (``train``).

The hyperparameters are the papers' defaults where they give one (SAM's rho = 0.05) and otherwise
ours, fixed before scoring and never tuned on the scorecard.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import replace
from functools import partial

import torch
from torch import Tensor, nn

from ..models.inference import predict_logits
from ..models.stacked import is_stack
from ..train import History, TrainConfig, fit
from .protocol import Committee, Method, cross_entropy, member_views

REFERENCE = ("sam", "spectral_decoupling", "diverse", "useful", "useful_sam", "jtt")  # default
EXTRA: tuple[str, ...] = ()  # reference methods scored only on request (none at present)


def positive(name: str, value: float) -> float:
    """``value`` as a float, checked to be a finite number > 0 (not a bool, NaN or inf)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def count(name: str, value: int, least: int) -> int:
    """``value`` as an int, checked to be an integer >= ``least`` (not a bool or a float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def vanilla() -> Method:
    """Plain training: the cross-entropy and the chapter's SGD recipe, nothing else."""
    return Method("vanilla", paper="Shah et al. (2020), App. B")


# ---------------------------------------------------------------- SAM


def sam_perturbation(model: nn.Module, grads: list[Tensor | None], rho: float) -> list[Tensor]:
    """SAM's first-order ascent step eps_hat = rho * g / ||g||_2 (Foret et al. 2021, Eq. 2), per
    member: a stack's parameters lead with the member axis and each member is normalised by its
    own gradient norm; an ordinary model is one member. Returns one eps per parameter (0 where a
    parameter got no gradient)."""
    stacked = is_stack(model)
    lead = (lambda t: t) if stacked else (lambda t: t.unsqueeze(0))  # noqa: E731
    sq = sum(lead(g).pow(2).flatten(1).sum(1) for g in grads if g is not None)
    scale = rho / (sq.sqrt() + 1e-12)  # (M,)
    params = [p for p in model.parameters() if p.requires_grad]
    out = []
    for p, g in zip(params, grads):
        if g is None:
            out.append(torch.zeros_like(p))
            continue
        s = scale.view(-1, *[1] * (lead(g).dim() - 1))
        out.append((lead(g) * s).reshape(g.shape))
    return out


def sam_loss(
    model: nn.Module, x: Tensor, y: Tensor, logits: Tensor, n_data: int, *, rho: float
) -> Tensor:
    """The loss at the perturbed weights, L(w + eps_hat) with eps_hat held constant: its gradient
    with respect to w is SAM's update direction grad L(w)|_{w + eps_hat} (Foret et al. 2021,
    Eq. 3, without the second-order term, as in the paper's algorithm)."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(
        cross_entropy(logits, y).sum(), [p for _, p in params], allow_unused=True
    )
    eps = sam_perturbation(model, list(grads), rho)
    shifted = {n: p + e.detach() for (n, p), e in zip(params, eps)}
    return cross_entropy(torch.func.functional_call(model, shifted, (x,)), y)


def sam(rho: float = 0.05) -> Method:
    """Sharpness-aware minimization with radius ``rho`` (the paper's default 0.05) around the
    chapter's SGD recipe: two forward-backward passes per step."""
    rho = positive("rho", rho)
    return Method(
        "SAM", loss=partial(sam_loss, rho=rho), settings={"rho": rho}, paper="Foret et al. (2021)"
    )


# ---------------------------------------------------------------- spectral decoupling


def sd_penalty(logits: Tensor, lam: float) -> Tensor:
    """Spectral decoupling's penalty (lam / 2) ||logits||_2^2, averaged over the batch
    (Pezeshki et al. 2021, Sec. 4): logits (..., b, C) -> (...). Its gradient with respect to
    one example's logits is lam * logits / b."""
    return 0.5 * lam * logits.pow(2).sum(-1).mean(-1)


def sd_loss(
    model: nn.Module, x: Tensor, y: Tensor, logits: Tensor, n_data: int, *, lam: float
) -> Tensor:
    return cross_entropy(logits, y) + sd_penalty(logits, lam)


def spectral_decoupling(lam: float = 0.1) -> Method:
    """Cross-entropy plus (lam / 2) ||logits||^2. The penalty keeps the loss above the stopping
    threshold, so every model trains for the whole epoch budget."""
    lam = positive("lam", lam)
    return Method(
        "spectral decoupling",
        loss=partial(sd_loss, lam=lam),
        settings={"lambda": lam},
        paper="Pezeshki et al. (2021)",
    )


# ---------------------------------------------------------------- diverse ensembles


def gradient_alignment(grads: Tensor, n_groups: int) -> Tensor:
    """Mean squared cosine similarity of the input gradients of every pair of members of a group,
    over pairs and points: grads (K * D, b, ...) with member m in group ``m % D`` -> (D,). Zero when
    the members' gradients are orthogonal at every point, one when they are parallel."""
    M, b = grads.shape[:2]
    K = M // n_groups
    g = grads.reshape(K, n_groups, b, -1)
    g = g / (g.norm(dim=-1, keepdim=True) + 1e-12)
    cos = torch.einsum("idbf,jdbf->dijb", g, g)  # (D, K, K, b)
    i, j = torch.triu_indices(K, K, offset=1)
    return cos[:, i, j].pow(2).mean((1, 2))


def diversity_loss(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    logits: Tensor,
    n_data: int,
    *,
    weight: float,
    n_points: int,
) -> Tensor:
    """Each member's cross-entropy plus ``weight`` times its group's gradient alignment, shared
    out over the group's K members so that the summed objective is sum_m CE_m + weight *
    alignment. The gradient is that of each member's top predicted logit with respect to the
    input, at the same training points for every member of a group (Teney et al. 2022, Sec. 3),
    the first ``n_points`` of the batch (an unbiased estimate of the batch mean, at a fraction of
    the cost of differentiating through every input gradient)."""
    committee = isinstance(model, Committee)
    xs, lg, K, D = member_views(model, x[:n_points] if committee else x[:, :n_points], n_data)
    if K < 2:
        raise ValueError("a diversity term needs at least two members training on the same data")
    top = lg.gather(-1, lg.argmax(-1, keepdim=True)).sum()
    grads = torch.autograd.grad(top, xs, create_graph=True)[0]
    align = gradient_alignment(grads, D)  # (D,)
    if committee:  # one value: every member's own cross-entropy on the whole batch
        own = model.forward_members(x.unsqueeze(0).expand(K, *x.shape))
        return cross_entropy(own, y.expand(K, -1)).sum() + weight * align.sum()
    return cross_entropy(logits, y) + weight * align.repeat(K) / K


def diverse(members: int = 2, weight: float = 1.0, n_points: int = 64) -> Method:
    """A set of ``members`` models trained together with the input-gradient diversity penalty
    (on ``n_points`` points of each batch), scored as the average of their logits (the paper
    selects one model on held-out OOD data, which the scorecard does not have)."""
    members, n_points = count("members", members, 2), count("n_points", n_points, 1)
    weight = positive("weight", weight)
    return Method(
        "diverse ensemble",
        loss=partial(diversity_loss, weight=weight, n_points=n_points),
        members=members,
        settings={"members": members, "weight": weight, "n_points": n_points},
        paper="Teney et al. (2022)",
    )


# ---------------------------------------------------------------- Just Train Twice


def upsample(
    x: Tensor, y: Tensor, wrong: Tensor, factor: int, *, seed: int
) -> tuple[Tensor, Tensor]:
    """JTT's second training set for each member: every point once, plus ``factor - 1`` more
    copies of the points in the error set. x (M, n, ...), y (M, n), wrong (M, n) bool ->
    x (M, L, ...), y (M, L). Members with fewer errors are topped up to the common length L by
    draws from their own upsampled list, so each member's mix is its own in expectation."""
    g = torch.Generator().manual_seed(int(seed))
    lists = [
        torch.cat([torch.arange(y.shape[1]), w.nonzero()[:, 0].repeat(factor - 1)])
        for w in wrong.cpu()
    ]
    L = max(len(i) for i in lists)
    idx = torch.stack(
        [torch.cat([i, i[torch.randint(len(i), (L - len(i),), generator=g)]]) for i in lists]
    ).to(y.device)
    rows = torch.arange(y.shape[0], device=y.device)[:, None]
    return x[rows, idx], y[rows, idx]


def member_sets(model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, bool]:
    """Every member's own training set: x (M, n, ...), y (M, n) (a stack's member m trains on
    dataset ``m % D``; an ordinary model is one member), and whether ``model`` is a stack."""
    stacked = is_stack(model)
    M = model.n_models if stacked else 1
    xs = x[torch.arange(M) % x.shape[0]] if y.dim() == 2 else x.expand(M, *x.shape)
    ys = y[torch.arange(M) % y.shape[0]] if y.dim() == 2 else y.expand(M, *y.shape)
    return xs, ys, stacked


def jtt_train(
    method: Method,
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: TrainConfig,
    *,
    seed: int,
    n_data: int,
    progress: bool,
    desc: str,
    epochs: int,
    factor: int,
) -> History:
    """Stage 1: a copy of ``model`` (same initialization) trained for ``epochs`` epochs with
    ``cfg``; its training errors form the error set of each member. Stage 2: ``model`` trained
    with ``cfg`` on its data with the error set upsampled ``factor`` times (Liu et al. 2021,
    Alg. 1)."""
    first = copy.deepcopy(model)
    fit(
        first,
        x,
        y,
        replace(cfg, max_epochs=epochs, stop_loss=None),
        seed=seed,
        progress=progress,
        desc=f"{desc}, stage 1",
    )
    xs, ys, stacked = member_sets(model, x, y)
    lg = predict_logits(first, xs if stacked else xs[0], per_member=stacked)
    xu, yu = upsample(xs, ys, lg.argmax(-1) != ys, factor, seed=seed)
    return fit(
        model,
        xu if stacked else xu[0],
        yu if stacked else yu[0],
        cfg,
        seed=seed,
        progress=progress,
        desc=f"{desc}, stage 2",
    )


def jtt(epochs: int = 2, factor: int = 20) -> Method:
    """Just Train Twice: ``epochs`` of identification training, then the error set upsampled
    ``factor`` times (our choices; the paper tunes both per dataset)."""
    epochs, factor = count("epochs", epochs, 1), count("factor", factor, 1)
    return Method(
        "JTT",
        train=partial(jtt_train, epochs=epochs, factor=factor),
        settings={"epochs": epochs, "factor": factor},
        paper="Liu et al. (2021)",
    )


# ---------------------------------------------------------------- USEFUL


def two_means(z: Tensor, iters: int = 50) -> Tensor:
    """k-means with k = 2 on the rows of z (n, f): True for the rows of one cluster, False for
    the other. Deterministic: the centres start at the two rows with the lowest and the highest
    projection on z's first principal direction, then Lloyd's steps run until no row moves."""
    z = z.double()
    centred = z - z.mean(0)
    if len(z) < 2 or not bool(centred.abs().max() > 0):
        return torch.zeros(len(z), dtype=torch.bool, device=z.device)
    proj = centred @ torch.linalg.svd(centred, full_matrices=False).Vh[0]
    centres = torch.stack([z[proj.argmin()], z[proj.argmax()]])
    side = torch.cdist(z, centres).argmin(1).bool()
    for _ in range(iters):
        centres = torch.stack([z[~side].mean(0), z[side].mean(0)])
        new = torch.cdist(z, centres).argmin(1).bool()
        if bool((new == side).all()):
            break
        side = new
    return side


def slow_cluster(logits: Tensor, y: Tensor) -> Tensor:
    """USEFUL's selection (Nguyen et al. 2024, Alg. 1): within each class, the examples are split
    in two by 2-means on the network's output (``logits`` (n, C)), and the cluster with the higher
    mean cross-entropy is the one the network has not learned early. Returns a bool (n,) that is
    True on those examples (none for a class whose outputs do not split)."""
    loss = torch.nn.functional.cross_entropy(logits.float(), y, reduction="none")
    out = torch.zeros(len(y), dtype=torch.bool, device=y.device)
    for c in y.unique():
        idx = (y == c).nonzero()[:, 0]
        side = two_means(logits[idx])
        if bool(side.all()) or not bool(side.any()):
            continue
        slow = side if loss[idx][side].mean() > loss[idx][~side].mean() else ~side
        out[idx[slow]] = True
    return out


def useful_train(
    method: Method,
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: TrainConfig,
    *,
    seed: int,
    n_data: int,
    progress: bool,
    desc: str,
    base: Method,
    fraction: float,
    factor: int,
) -> History:
    """Stage 1: a copy of ``model`` (same initialization) trained with ``base`` for ``fraction``
    of the epoch budget (at least one epoch, no early stop); per member and class, the cluster
    of its outputs that it has not learned (:func:`slow_cluster`). Stage 2: ``model``, from its
    initialization, trained with ``base`` and ``cfg`` on its data with that cluster repeated
    ``factor`` times (``factor = 2``: upsampled once)."""
    first = copy.deepcopy(model)
    early = replace(cfg, max_epochs=max(1, round(fraction * cfg.max_epochs)), stop_loss=None)
    base.fit(
        first, x, y, early, seed=seed, n_data=n_data, progress=progress, desc=f"{desc}, stage 1"
    )
    xs, ys, stacked = member_sets(model, x, y)
    lg = predict_logits(first, xs if stacked else xs[0], per_member=stacked)
    slow = torch.stack([slow_cluster(lg[m], ys[m]) for m in range(len(ys))])
    xu, yu = upsample(xs, ys, slow, factor, seed=seed)
    return base.fit(
        model,
        xu if stacked else xu[0],
        yu if stacked else yu[0],
        cfg,
        seed=seed,
        n_data=len(ys) if stacked else 1,
        progress=progress,
        desc=f"{desc}, stage 2",
    )


def useful(base: Method | None = None, fraction: float = 0.1, factor: int = 2) -> Method:
    """USEFUL, "UpSample Early For Uniform Learning" (Nguyen, Haddad, Gan & Mirzasoleiman, NeurIPS
    2024): train for ``fraction`` of the epochs, split every class in two by the network's output,
    upsample the examples of the cluster with the higher loss (``factor`` copies in all), and
    retrain from the same initialization, all with ``base`` (vanilla SGD when None, or e.g.
    :func:`sam`). The paper separates at 5-10% of the training epochs and repeats the slow
    cluster once (``factor = 2``); ``fraction = 0.1`` is the end of that range, so that at the
    book's 40 epochs stage 1 is 4 epochs."""
    base = vanilla() if base is None else base
    if not isinstance(base, Method) or base.train is not None or base.members != 1:
        raise ValueError(
            f"base must be a testbed Method of one member without its own train hook, got {base!r}"
        )
    fraction = positive("fraction", fraction)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    factor = count("factor", factor, 2)
    name = "USEFUL" if base.name == "vanilla" else f"USEFUL + {base.name}"
    return Method(
        name,
        train=partial(useful_train, base=base, fraction=fraction, factor=factor),
        settings={"base": base.name, "fraction": fraction, "factor": factor, **base.settings},
        paper="Nguyen et al. (2024)",
    )


def useful_sam() -> Method:
    """USEFUL around SAM (rho = 0.05), the combination the USEFUL paper reports best."""
    return useful(sam())


def reference() -> list[Method]:
    """The leaderboard's reference methods with their default settings, in its order."""
    return [by_name(name) for name in REFERENCE]


def by_name(name: str) -> Method:
    """A reference method by its function name (``"sam"``, ``"spectral_decoupling"``, ...)."""
    names = ("vanilla", *REFERENCE, *EXTRA)
    if name not in names:
        raise ValueError(f"method must be one of {names}, got {name!r}")
    return globals()[name]()
