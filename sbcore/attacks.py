"""Adversarial perturbations: PGD in l2 / linf (one model, or a stack with a budget per member), the
SVD- and AS-UAPs. The share of a perturbation's budget on S is a metric (:mod:`sbcore.metrics`).

Paper Sec. 4.3 (claims #19-#21, Fig. 4) and App. E.2 (PGD adversarial training, claims #28-#30).
The paper gives no UAP algorithm, budget or sign rule (claims.md section 5, item 14); we follow the
authors' released code: instance-wise PGD, "SVD-UAP" (Kamath et al., arXiv 2005.08632), "AS-UAP"
(Shafahi et al., arXiv 1811.11304, Alg. 2), a UAP applied with a label-dependent sign.

Conventions: a model maps ``x`` (B, *shape) to logits (B, C); ``y`` is (B,) int64. Attacks return
``delta`` in the paper's delta form (``x_adv = x + delta``). Input gradients come from
``torch.autograd.grad``, so parameter ``.grad`` fields are left exactly as they were; the model runs
in eval mode and every submodule's train/eval flag is restored afterwards. Constants follow
``x.device`` and ``x.dtype``. Random draws use a local ``torch.Generator`` on the CPU (the same seed
gives the same start on any device); ``seed=None`` draws that seed from torch's global generator,
so a chapter that calls ``torch.manual_seed`` first stays reproducible.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("l2", "linf")
Clip = tuple[float, float] | None


# ---------------------------------------------------------------- argument checks


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_clip(clip, x: Tensor) -> Clip:
    if clip is None:
        return None
    bad = ValueError(f"clip must be None or a pair (lo, hi) with lo < hi, got {clip!r}")
    try:
        lo, hi = (float(c) for c in clip)
    except (TypeError, ValueError):
        raise bad from None
    if not lo < hi:
        raise bad
    # Clipping only keeps the norm bound when the box contains x (see pgd); fail loudly otherwise.
    if x.numel() and (x.min() < lo or x.max() > hi):
        raise ValueError(
            f"x must lie inside clip=({lo}, {hi}); got x in "
            f"[{x.min().item():.6g}, {x.max().item():.6g}]"
        )
    return lo, hi


def _check_batch(x: Tensor, y: Tensor) -> None:
    if x.dim() < 2 or y.dim() != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(
            "x (B, *shape) and y (B,) must have the same batch size B >= 1, got "
            f"x {tuple(x.shape)} and y {tuple(y.shape)}"
        )


def _check_binary(y: Tensor) -> None:
    if not ((y == 0) | (y == 1)).all():
        raise ValueError("y must hold binary labels in {0, 1} for a UAP (its sign depends on y)")


def _check_common(x: Tensor, y: Tensor, eps, step_size) -> None:
    if not (isinstance(eps, numbers.Real) and eps >= 0):
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    if not (isinstance(step_size, numbers.Real) and step_size > 0):
        raise ValueError(f"step_size must be a number > 0, got {step_size!r}")
    _check_batch(x, y)


# ---------------------------------------------------------------- small helpers


@contextmanager
def _eval_mode(model: nn.Module):
    """Run ``model`` in eval mode, then restore each submodule's own flag (mixed modes too)."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def _generator(seed: int | None) -> torch.Generator:
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator().manual_seed(int(seed))


def _per_example_norm(t: Tensor) -> Tensor:
    """(B, *shape) -> (B, 1, ..., 1): the l2 norm of each example, shaped to broadcast."""
    return t.flatten(1).norm(dim=1).view(-1, *[1] * (t.dim() - 1))


def _project(delta: Tensor, eps: float, norm: str) -> Tensor:
    """Euclidean projection of each example's delta onto {||delta||_p <= eps}, p = 2 or inf."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / _per_example_norm(delta).clamp_min(eps))


def _steepest(grad: Tensor, norm: str) -> Tensor:
    """Unit steepest-ascent direction per example: grad/||grad||_2 (l2) or sign(grad) (linf)."""
    if norm == "linf":
        return grad.sign()
    return grad / _per_example_norm(grad).clamp_min(torch.finfo(grad.dtype).tiny)


def _clip_box(x: Tensor, delta: Tensor, clip: Clip) -> Tensor:  # x + delta into [lo, hi]
    return delta if clip is None else (x + delta).clamp(*clip) - x


def _input_grad(loss_fn: Callable[[Tensor], Tensor], delta: Tensor) -> Tensor:
    """d loss_fn(delta) / d delta, touching no parameter's ``.grad``."""
    delta = delta.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(delta), delta, allow_unused=True)
    return torch.zeros_like(delta) if grad is None else grad


def _random_start(x: Tensor, eps: float, norm: str, gen: torch.Generator) -> Tensor:
    """A uniform draw from the eps-ball of the threat model, one per example (drawn on the CPU)."""
    if norm == "linf":
        start = eps * (2 * torch.rand(x.shape, generator=gen, dtype=x.dtype) - 1)
    else:
        direction = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        direction = direction / _per_example_norm(direction).clamp_min(torch.finfo(x.dtype).tiny)
        radius = eps * torch.rand(x.shape[0], generator=gen, dtype=x.dtype) ** (1 / x[0].numel())
        start = direction * radius.view(-1, *[1] * (x.dim() - 1))
    return start.to(x.device)


def _signed(x: Tensor, y: Tensor, delta: Tensor, clip: Clip) -> Tensor:
    sign = (2 * y - 1).to(x.dtype).view(-1, *[1] * (x.dim() - 1))
    return x + sign * delta if clip is None else (x + sign * delta).clamp(*clip)


# ---------------------------------------------------------------- per-example PGD


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    n_steps: int,
    norm: str = "l2",
    random_start: bool = True,
    clip: Clip = None,
    targeted: bool = False,
    seed: int | None = None,
) -> Tensor:
    """PGD (Madry et al. 2018) on the cross-entropy, one delta per example (Sec. 4.3, App. E.2).

    Threat set of example i: ``T_i = {delta : ||delta||_p <= eps, lo <= x_i + delta <= hi}``
    (p = 2 or inf; the box only with ``clip``). Untargeted: maximize ``CE(model(x_i + delta), y_i)``
    over ``T_i``; targeted: minimize it, ``y`` then being the target class. Each step is
    ``delta <- delta +/- step_size * u`` with ``u = g / ||g||_2`` (l2, per example) or
    ``u = sign(g)`` (linf), ``g`` the input gradient, followed by the projection onto the norm
    ball and then the clip into the box. That clip keeps the norm bound: the box contains x, so
    clamping ``x_i + delta`` into it moves every coordinate of delta towards 0 and never
    increases any ``|delta_j|``; the result lies in ``T_i`` (a feasible point, not always the
    exact Euclidean projection onto ``T_i``).

    Args:
        model: maps (B, *shape) to logits (B, C); run in eval mode, its modes restored after.
        x: (B, *shape) float inputs; with ``clip`` they must lie in [lo, hi].
        y: (B,) int64 labels (targets when ``targeted``).
        eps: budget >= 0 (eps = 0 returns zeros). step_size: > 0. n_steps: >= 1.
        norm: "l2" or "linf". random_start: start uniformly in the eps-ball (seeded by ``seed``).
        clip: None or (lo, hi) with lo < hi: the valid input range (e.g. (0, 1) for images).
    Returns:
        delta: same shape, dtype and device as x, detached.
    """
    _check_common(x, y, eps, step_size)
    n_steps = _check_count("n_steps", n_steps)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    clip = _check_clip(clip, x)
    x, y = x.detach(), y.detach()
    if eps == 0:
        return torch.zeros_like(x)
    delta = _random_start(x, eps, norm, _generator(seed)) if random_start else torch.zeros_like(x)
    delta = _clip_box(x, _project(delta, eps, norm), clip)
    ascent = -1.0 if targeted else 1.0

    def loss(d: Tensor) -> Tensor:  # summed, so each example's gradient is its own
        return F.cross_entropy(model(x + d), y, reduction="sum")

    with _eval_mode(model), torch.enable_grad():
        for _ in range(n_steps):
            step = ascent * step_size * _steepest(_input_grad(loss, delta), norm)
            delta = _clip_box(x, _project(delta + step, eps, norm), clip)
    return delta.detach()


# ---------------------------------------------------------------- universal perturbations


def apply_uap(x: Tensor, y: Tensor, delta: Tensor, *, clip: Clip = None) -> Tensor:
    """Apply a UAP with the label-dependent sign of the authors' code (claims.md sec. 5, item 14).

    ``x_adv_i = clamp(x_i + (2 y_i - 1) * delta, lo, hi)``: class 1 (the paper's +1) gets
    ``+delta`` and class 0 gets ``-delta``. For a (near-)linear score one unsigned perturbation
    pushes one class across the boundary and the other away from it, so a binary "universal"
    perturbation is a single direction ``delta`` signed by the label, as in the authors' code.

    Args:
        x: (B, *shape) inputs (inside ``clip`` if given). y: (B,) int64 in {0, 1}.
        delta: (*shape), the UAP. clip: None or (lo, hi).
    Returns:
        x_adv: (B, *shape).
    """
    _check_batch(x, y)
    _check_binary(y)
    if tuple(delta.shape) != tuple(x.shape[1:]):
        raise ValueError(
            f"delta must have shape x.shape[1:] = {tuple(x.shape[1:])}, got {tuple(delta.shape)}"
        )
    return _signed(x, y, delta.to(x), _check_clip(clip, x))


def svd_uap(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    n_steps: int,
    norm: str = "l2",
    clip: Clip = None,
    seed: int | None = None,
) -> Tensor:
    """SVD-UAP (Kamath et al., arXiv 2005.08632): the top singular vector of per-example PGD deltas.

    1. ``delta_i = pgd(model, x, y, eps=eps, ...)`` for every example (random start from ``seed``).
    2. Rows ``delta_i / ||delta_i||_2`` of a (B, D) matrix (as 2005.08632 does; zero rows stay 0).
    3. ``v``: its top right singular vector, scaled so that ``||v||_p = eps`` (p = ``norm``).
    4. Sign: ``v`` is defined up to sign. We return ``s * v`` with ``s`` in {+1, -1} giving the
       larger mean cross-entropy on (x, y) when applied by :func:`apply_uap` (i.e. class 1 gets
       ``+s v``, class 0 gets ``-s v``); on an exact tie, the ``s`` with
       ``sum_i (2 y_i - 1) <delta_i, s v> >= 0`` (aligned with the label-signed PGD deltas).
       Label-signing rows does not change ``v`` (it multiplies the matrix on the left by a
       diagonal +/-1 matrix), so only this final choice depends on the convention. The authors
       picked, between +v and -v, the one with the lower accuracy on the *evaluation* set;
       choosing on the batch that built the UAP keeps held-out data out of it.

    Args: as :func:`pgd`; ``y`` must be binary {0, 1}.
    Returns:
        delta: (*shape) = x.shape[1:], to be applied with :func:`apply_uap`. Zeros if eps = 0.
    """
    _check_batch(x, y)
    _check_binary(y)
    deltas = pgd(
        model, x, y, eps=eps, step_size=step_size, n_steps=n_steps, norm=norm, clip=clip, seed=seed
    )
    rows = deltas.flatten(1)
    rows = rows / rows.norm(dim=1, keepdim=True).clamp_min(torch.finfo(rows.dtype).tiny)
    if eps == 0 or not rows.any():
        return torch.zeros_like(x[0])
    work = rows.to(torch.promote_types(rows.dtype, torch.float32))  # no half-precision SVD
    v = torch.linalg.svd(work, full_matrices=False).Vh[0].to(x.dtype)
    v = v * (eps / (v.abs().max() if norm == "linf" else v.norm()))
    s = 1.0 if ((2 * y - 1).to(x.dtype) * (rows @ v)).sum() >= 0 else -1.0
    v = v.view(x.shape[1:])
    x, y, clip = x.detach(), y.detach(), (None if clip is None else tuple(map(float, clip)))
    with _eval_mode(model), torch.no_grad():
        keep = F.cross_entropy(model(_signed(x, y, s * v, clip)), y)
        flip = F.cross_entropy(model(_signed(x, y, -s * v, clip)), y)
    return (-s * v if flip > keep else s * v).detach()


def as_uap(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps: float,
    step_size: float,
    n_epochs: int,
    batch_size: int,
    clip: Clip = None,
    loss_clip: float | None = None,
    seed: int | None = None,
) -> Tensor:
    """AS-UAP: Shafahi et al. (arXiv 1811.11304) Alg. 2, stochastic gradient ascent on one delta.

    Maximizes ``mean_i min(CE(model(x_adv_i), y_i), beta)`` over ``{||delta||_2 <= eps}``, with
    ``x_adv`` from :func:`apply_uap` (label-signed, clipped into ``clip``) and the clipped loss
    only when ``loss_clip = beta`` is given (the authors' code does not clip). Starting from
    ``delta = 0``, for each of ``n_epochs`` passes over a seeded shuffle of (x, y) and each
    minibatch of ``batch_size``: ``delta <- P(delta + step_size * g / ||g||_2)`` with ``g`` the
    minibatch gradient and ``P`` the projection onto the l2 ball (one step per minibatch, as in
    Alg. 2; the paper's optimizer is replaced by normalized steps, as in the authors' code).

    Args: as :func:`pgd`; ``y`` must be binary {0, 1}; ``loss_clip``: None or beta > 0.
    Returns:
        delta: (*shape) = x.shape[1:], ``||delta||_2 <= eps``; zeros if eps = 0.
    """
    _check_common(x, y, eps, step_size)
    n_epochs = _check_count("n_epochs", n_epochs)
    batch_size = _check_count("batch_size", batch_size)
    clip = _check_clip(clip, x)
    _check_binary(y)
    if loss_clip is not None and not (isinstance(loss_clip, numbers.Real) and loss_clip > 0):
        raise ValueError(f"loss_clip must be None or a number > 0, got {loss_clip!r}")
    x, y = x.detach(), y.detach()
    delta = torch.zeros_like(x[0])
    if eps == 0:
        return delta
    gen = _generator(seed)

    def loss(d: Tensor, xb: Tensor, yb: Tensor) -> Tensor:
        per_example = F.cross_entropy(model(_signed(xb, yb, d, clip)), yb, reduction="none")
        return (per_example if loss_clip is None else per_example.clamp(max=loss_clip)).mean()

    with _eval_mode(model), torch.enable_grad():
        for _ in range(n_epochs):
            order = torch.randperm(x.shape[0], generator=gen).to(x.device)
            for idx in order.split(batch_size):
                grad = _input_grad(lambda d: loss(d, x[idx], y[idx]), delta)
                step = step_size * _steepest(grad[None], "l2")[0]
                delta = _project((delta + step)[None], eps, "l2")[0]
    return delta.detach()


# ---------------------------------------------------------------- PGD on a stack, one budget per member


def _member_view(t: Tensor, dims: int) -> Tensor:
    """(M,) -> (M, 1, ..., 1) with ``dims - 1`` trailing ones, to broadcast over (M, B, *shape)."""
    return t.view(-1, *[1] * (dims - 1))


def _member_budgets(name: str, value, M: int, x: Tensor, *, positive: bool) -> Tensor:
    t = torch.as_tensor(value, dtype=x.dtype).reshape(-1)
    t = t.expand(M) if t.numel() == 1 else t
    if t.numel() != M or not torch.isfinite(t).all() or (t <= 0 if positive else t < 0).any():
        raise ValueError(
            f"{name} must be one number or {M} numbers (one per member), each "
            f"{'> 0' if positive else '>= 0'}; got {value!r}"
        )
    return t.to(x.device)


def pgd_stacked(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    eps,
    step_size,
    n_steps: int,
    norm: str = "l2",
    random_start: bool = True,
    clip: Clip = None,
    seed: int | None = None,
) -> Tensor:
    """Untargeted PGD on a stack of M models, member m attacked within its own budget ``eps[m]``.

    The threat set of example b of member m is ``{||delta||_p <= eps[m]}`` (and the box with
    ``clip``); each step is :func:`pgd`'s step with member m's ``step_size[m]``. Members are
    independent (the loss is the sum of per-member cross-entropies), so member m's delta equals
    ``pgd(Member(model, m), x[m], y[m], eps=eps[m], step_size=step_size[m], ...)`` without a
    random start; with one, the starts are drawn member after member from one generator. An
    eps-sweep then trains as one stack: adversarial training at M budgets (App. E.2.1, Fig. 7).

    Args:
        model: a stack mapping (M, B, *shape) to logits (M, B, C); eval mode, modes restored.
        x: (M, B, *shape) float, one batch per member. y: (M, B) int64.
        eps: a number or (M,) budgets >= 0 (0 leaves that member's inputs unchanged).
        step_size: a number or (M,) steps > 0. n_steps, norm, random_start, clip, seed: as pgd.
    Returns:
        delta: (M, B, *shape), detached.
    """
    n_steps = _check_count("n_steps", n_steps)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if x.dim() < 3 or y.shape != x.shape[:2] or x.shape[1] == 0:
        raise ValueError(
            f"x (M, B, *shape) and y (M, B) must agree with B >= 1, got x "
            f"{tuple(x.shape)} and y {tuple(y.shape)}"
        )
    M = x.shape[0]
    eps = _member_view(_member_budgets("eps", eps, M, x, positive=False), x.dim())
    step = _member_view(_member_budgets("step_size", step_size, M, x, positive=True), x.dim())
    clip = _check_clip(clip, x)
    x, y = x.detach(), y.detach()
    tiny = torch.finfo(x.dtype).tiny

    def project(delta: Tensor) -> Tensor:
        if norm == "linf":
            return torch.maximum(torch.minimum(delta, eps), -eps)
        size = delta.flatten(2).norm(dim=2).view(*delta.shape[:2], *[1] * (x.dim() - 2))
        return delta * (eps / torch.maximum(size, eps).clamp_min(tiny))

    delta = torch.zeros_like(x)
    if random_start:
        gen = _generator(seed)
        delta = torch.stack([_random_start(x[m], 1.0, norm, gen) for m in range(M)]) * eps
    delta = _clip_box(x, project(delta), clip)

    def loss(d: Tensor) -> Tensor:  # summed: each (member, example) gradient is its own
        logits = model(x + d)
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
        )

    with _eval_mode(model), torch.enable_grad():
        for _ in range(n_steps):
            grad = _input_grad(loss, delta)
            if norm == "linf":
                unit = grad.sign()
            else:
                size = grad.flatten(2).norm(dim=2).view(*grad.shape[:2], *[1] * (x.dim() - 2))
                unit = grad / size.clamp_min(tiny)
            delta = _clip_box(x, project(delta + step * unit), clip)
    return delta.detach()
