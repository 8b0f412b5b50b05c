"""Theorem 1 of the paper (Sec. 4.1, App. F), simulated: one-hidden-layer ReLU networks trained
by mini-batch gradient descent with the hinge loss on LSN data rely on the linear coordinate.

The setting, in the theorem's notation (natural logarithms throughout):

* Data (LSN): y = +-1, x_1 = y, x_2 = ((y + 1)/2) eps with a random sign eps, x_{3:d} ~ N(0, I).
* Network: ``f(x) = sum_{j=1..k} v_j ReLU(w_j . x)``; ``v_j = +-1/sqrt(k)`` fixed, exactly k/2 of
  each sign; only ``W = (w_j)`` of shape (k, d) is trained.
* Initialization: ``w_ij ~ N(0, 1/(d k log^p d))`` with p = 4 as the theorem states, or p = 2 as
  Lemma 1 writes (the paper disagrees with itself; both are run).
* Loss and steps: hinge ``max(0, 1 - y f(x))``; gradient descent with step size
  ``eta = lr_scale / sqrt(log d)`` (the theorem asks eta = Omega(1/sqrt(log d))), on ``t`` fresh
  batches of ``n`` points each (one pass over m = t n samples), for
  ``t = floor((4/eta)(1 - c/sqrt(log d)))`` steps: the theorem's stopping time, with its unknown
  universal constant c set by us.
* Conclusions checked: ``|w_1j| = (2/sqrt k)(1 - c/sqrt(log d)) + O(1/sqrt(d k log d))`` (Lemma 1:
  ``w_1j = t eta v_j / 2 +- ...``), ``|w_2j| = O(1/sqrt(d k log d))``,
  ``||w_{3:d,j}|| = O(1/sqrt(k log d))``, test error <= 1/poly(d).

The proof needs m >= c d^2 samples; with d up to 1600 that is out of reach on a laptop, so the
batch size is ``n = ceil(batch_factor * d * log d)``, which is what the rates need (the sampling
noise of t steps on n points puts ||w_{3:d}|| at order 1/sqrt(k log d) and |w_2| below
1/sqrt(d k log d)). Seeds and both initializations run as one stack; the two initializations
share their standard-normal draw and their batches (common random numbers).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..metrics import loglog_slope
from ..progress import progress as show_progress

LOG_POWERS = (4, 2)  # the theorem's init variance 1/(d k log^4 d), and Lemma 1's log^2 d


def init_std(d: int, k: int, log_power: int = 4) -> float:
    """Standard deviation of the hidden weights at initialization: ``1/sqrt(d k log^p d)``."""
    return 1.0 / math.sqrt(d * k * math.log(d) ** log_power)


def step_size(d: int, lr_scale: float = 0.5) -> float:
    """``eta = lr_scale / sqrt(log d)``, of the order the theorem allows (Omega(1/sqrt(log d)))."""
    return lr_scale / math.sqrt(math.log(d))


def n_steps(d: int, lr: float, c_stop: float = 1.0) -> int:
    """The theorem's stopping time ``floor((4/eta)(1 - c/sqrt(log d)))`` (App. F, t-hat).

    Before it, ``y f(x) = t eta / 4 < 1`` (Lemma 2), so the hinge loss stays active everywhere.
    """
    return math.floor(4 / lr * (1 - c_stop / math.sqrt(math.log(d))))


def batch_size(d: int, batch_factor: float = 1.0) -> int:
    """Fresh points per step: ``ceil(batch_factor * d * log d)``."""
    return math.ceil(batch_factor * d * math.log(d))


def output_weights(k: int, *, dtype=torch.float32) -> Tensor:
    """The fixed output layer: (k,) with ``+1/sqrt(k)`` on the first k/2 units and ``-1/sqrt(k)``
    on the rest (the proof assumes exactly k/2 of each sign). ``k`` must be even."""
    if not isinstance(k, int) or k < 2 or k % 2:
        raise ValueError(f"k (hidden units) must be an even integer >= 2, got {k!r}")
    v = torch.full((k,), 1 / math.sqrt(k), dtype=dtype)
    v[k // 2 :] *= -1
    return v


def reference_rates(d: np.ndarray | float, k: int, c_stop: float = 1.0) -> dict[str, np.ndarray]:
    """The theorem's rates at ``d`` (without their O-constants), for the log-log plot.

    Returns {"w1": (2/sqrt k)(1 - c/sqrt(log d)), "w2": 1/sqrt(d k log d),
    "noise": 1/sqrt(k log d), "init": 1/sqrt(d k log^4 d)}, each shaped like ``d``."""
    d = np.asarray(d, dtype=float)
    ld = np.log(d)
    return {
        "w1": 2 / math.sqrt(k) * (1 - c_stop / np.sqrt(ld)),
        "w2": 1 / np.sqrt(d * k * ld),
        "noise": 1 / np.sqrt(k * ld),
        "init": 1 / np.sqrt(d * k * ld**4),
    }


def lsn_batch(n: int, d: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` LSN points drawn directly in float32 (the distribution of
    :func:`sbcore.data.synthetic.make_lsn`, which builds float64 columns one by one and is too
    slow for the ~10^9 Gaussians of a sweep).

    Returns x (n, d) float32 and y (n,) float32 in {-1, +1}."""
    y = 2 * torch.randint(0, 2, (n,), generator=g).float() - 1
    eps = 2 * torch.randint(0, 2, (n,), generator=g).float() - 1
    x = torch.randn(n, d, generator=g)
    x[:, 0] = y
    x[:, 1] = (y + 1) / 2 * eps
    return x, y


def forward(w: Tensor, v: Tensor, x: Tensor) -> Tensor:
    """``f(x) = sum_j v_j ReLU(w_j . x)`` for a stack of networks.

    Args: w (S, P, k, d); v (k,); x (S, n, d) (one batch per s, shared by the P networks).
    Returns f (S, n, P)."""
    S, P, k, d = w.shape
    h = torch.bmm(x, w.reshape(S, P * k, d).transpose(1, 2)).view(S, -1, P, k)
    return (torch.relu(h) * v).sum(-1)


def hinge_grad(w: Tensor, v: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mean hinge loss over a batch and its gradient with respect to ``w``, in closed form.

    ``dL/dw_j = -(1/n) sum_i 1{y_i f(x_i) < 1} y_i v_j 1{w_j . x_i > 0} x_i``.

    Args: w (S, P, k, d); v (k,); x (S, n, d); y (S, n) in {-1, +1}.
    Returns: loss (S, P), grad (S, P, k, d), active (S, P) = share of the batch with y f < 1.
    """
    S, P, k, d = w.shape
    n = x.shape[1]
    h = torch.bmm(x, w.reshape(S, P * k, d).transpose(1, 2)).view(S, n, P, k)
    margin = y[:, :, None] * (torch.relu(h) * v).sum(-1)  # (S, n, P)
    on = (margin < 1).to(x.dtype)
    coef = -(on * y[:, :, None])[..., None] * v * (h > 0).to(x.dtype) / n  # (S, n, P, k)
    grad = torch.bmm(coef.reshape(S, n, P * k).transpose(1, 2), x).view(S, P, k, d)
    return torch.relu(1 - margin).mean(1), grad, on.mean(1)


def _generator(*keys: int) -> torch.Generator:
    """A local generator for one (seed, d, step) stream; streams never overlap across keys."""
    h = 0
    for key in keys:
        h = (h * 1_000_003 + int(key) + 1) % (2**61 - 1)
    return torch.Generator().manual_seed(h)


def init_weights(
    d: int, k: int, seeds: Sequence[int], log_powers: Sequence[int] = LOG_POWERS
) -> Tensor:
    """Hidden weights at initialization, ``w_ij ~ N(0, 1/(d k log^p d))``: (S, P, k, d).

    The P initializations of one seed scale the same standard-normal draw (common random
    numbers), so they differ only by the factor the paper's two statements disagree on."""
    z = torch.stack([torch.randn(k, d, generator=_generator(s, d, 0)) for s in seeds])
    std = torch.tensor([init_std(d, k, p) for p in log_powers])
    return z[:, None] * std[None, :, None, None]


@dataclass
class TheoremRun:
    """Measurements of a sweep. Every array is (D, S, P): dims x seeds x initializations.

    ``w1_mean``/``w2_mean``/``noise_mean``: mean over units of |w_1j|, |w_2j| and
    ||w_{3:d,j}||; ``w2_max``/``noise_max``: the largest unit; ``w1_dev``: the largest
    ``|sqrt(k) |w_1j| / (t eta / 2) - 1|`` (Lemma 1's w_1j = t eta v_j / 2); ``w2_init``: mean
    |w_2j| at initialization; ``test_err``, ``acc``, ``x1_acc``, ``x2_acc``: 0-1 test error,
    accuracy, and accuracy with x_1 (or x_2) permuted across the test set; ``min_active``: the
    smallest share of a batch with an active hinge over the steps.
    """

    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    log_powers: tuple[int, ...]
    k: int
    steps: tuple[int, ...]
    lrs: tuple[float, ...]
    batch_sizes: tuple[int, ...]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def slope(self, name: str) -> np.ndarray:
        """Fitted log-log slope of array ``name`` against d: (S, P)."""
        return loglog_slope(self.dims, self.arrays[name])


def _summaries(w: Tensor, w0: Tensor, v: Tensor, t: int, lr: float) -> dict[str, Tensor]:
    k = w.shape[-2]
    w1, w2, rest = w[..., 0].abs(), w[..., 1].abs(), w[..., 2:].norm(dim=-1)  # (S, P, k)
    dev = (math.sqrt(k) * w1 / (t * lr / 2) - 1).abs().amax(-1)
    return {
        "w1_mean": w1.mean(-1),
        "w2_mean": w2.mean(-1),
        "w2_max": w2.amax(-1),
        "noise_mean": rest.mean(-1),
        "noise_max": rest.amax(-1),
        "w1_dev": dev,
        "w2_init": w0[..., 1].abs().mean(-1),
    }


def _evaluate(
    w: Tensor, v: Tensor, seeds: Sequence[int], d: int, n_test: int, device: torch.device
) -> dict[str, Tensor]:
    """Test error and x_1-/x_2-randomized accuracy on fresh LSN points, one test set per seed."""
    xs, ys, perms = [], [], []
    for s in seeds:
        g = _generator(s, d, -1)
        x, y = lsn_batch(n_test, d, g)
        xs.append(x), ys.append(y)
        perms.append(torch.stack([torch.randperm(n_test, generator=g) for _ in range(2)]))
    x, y = torch.stack(xs).to(device), torch.stack(ys).to(device)
    out = {}
    for name, j in (("acc", None), ("x1_acc", 0), ("x2_acc", 1)):
        xx = x
        if j is not None:
            xx = x.clone()
            for i, perm in enumerate(perms):
                xx[i, :, j] = x[i, perm[j].to(device), j]
        correct = (y[:, :, None] * forward(w, v, xx) > 0).float().mean(1)  # (S, P)
        out[name] = correct
    out["test_err"] = 1 - out["acc"]
    return out


def simulate(
    dims: Sequence[int],
    *,
    k: int,
    seeds: Sequence[int],
    log_powers: Sequence[int] = LOG_POWERS,
    lr_scale: float = 0.5,
    c_stop: float = 1.0,
    batch_factor: float = 1.0,
    n_test: int = 2000,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> TheoremRun:
    """Train the theorem's networks on LSN for every d in ``dims``, seed and initialization.

    Args:
        dims: input dimensions d (each >= 8 so that at least one step is taken).
        k: hidden units (even). seeds: one network (and one data stream) per seed.
        log_powers: p of the init variance 1/(d k log^p d) (4: theorem, 2: Lemma 1).
        lr_scale, c_stop, batch_factor: see :func:`step_size`, :func:`n_steps`, :func:`batch_size`.
        n_test: fresh test points per (d, seed).
    Returns: a :class:`TheoremRun`; the numbers for (d, seed) depend on nothing else.
    """
    device = torch.device(device)
    v = output_weights(k).to(device)
    start, P = time.perf_counter(), len(log_powers)
    steps, lrs, sizes, rows = [], [], [], []
    for d in show_progress(
        dims, desc="Theorem 1", total=len(dims), unit="dimensions", disable=not progress
    ):
        lr, n = step_size(d, lr_scale), batch_size(d, batch_factor)
        t = n_steps(d, lr, c_stop)
        if t < 1:
            raise ValueError(
                f"d={d} gives no gradient step (t = {t}); use a larger d or smaller c_stop"
            )
        w0 = init_weights(d, k, seeds, log_powers).to(device)
        w, active = w0.clone(), torch.ones(len(seeds), P, device=device)
        for step in range(1, t + 1):  # fresh batches: one pass over m = t n points
            batch = [lsn_batch(n, d, _generator(s, d, step)) for s in seeds]
            x = torch.stack([b[0] for b in batch]).to(device)
            y = torch.stack([b[1] for b in batch]).to(device)
            _, grad, on = hinge_grad(w, v, x, y)
            w -= lr * grad
            active = torch.minimum(active, on)
        row = {
            **_summaries(w, w0, v, t, lr),
            **_evaluate(w, v, seeds, d, n_test, device),
            "min_active": active,
        }
        rows.append({key: val.cpu().numpy() for key, val in row.items()})
        steps.append(t), lrs.append(lr), sizes.append(n)
    arrays = {key: np.stack([r[key] for r in rows]) for key in rows[0]}
    return TheoremRun(
        tuple(dims),
        tuple(seeds),
        tuple(log_powers),
        k,
        tuple(steps),
        tuple(lrs),
        tuple(sizes),
        arrays,
        time.perf_counter() - start,
    )
