"""Chapter 01: the building blocks' stated properties, checked exactly and by sampling (#2, #3).

Exact values come from the slab layout (uniform pieces have closed-form moments); sampled values
check that the generators draw what the layout says.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .data import blocks
from .oracles import slab_score
from .scales import choose, positive_int


@dataclass(frozen=True)
class FactsConfig:
    """``n_samples``: points drawn per block for the sampled checks."""

    n_samples: int

    def __post_init__(self) -> None:
        positive_int("n_samples", self.n_samples, minimum=1000)

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {"smoke": FactsConfig(50_000), "book": FactsConfig(400_000), "paper": FactsConfig(2_000_000)}


def config(scale: str | None = None, **overrides) -> FactsConfig:
    return choose(PRESETS, scale, **overrides)


def exact_second_moments(k: int, probs: tuple[float, ...] | None = None) -> dict[int, float]:
    """E[x^2 | y] of a k-slab from its layout, per class in {-1, +1}.

    ``probs`` replaces the per-slab probabilities (e.g. uniform) to show what the paper's 1/4 and
    1/8 fix. Uniform on [a, b]: E[x^2] = (b^3 - a^3) / (3 (b - a))."""
    lay = blocks.slab_layout(k)
    p = probs or lay.prob
    out = {}
    for cls in (-1, 1):
        out[cls] = sum(pi * (b**3 - a**3) / (3 * (b - a))
                       for a, b, l, pi in zip(lay.lo, lay.hi, lay.label, p) if l == cls)
    return out


def uniform_probs(k: int) -> tuple[float, ...]:
    """Every slab of a class equally likely (the counterfactual to the paper's choice)."""
    lay = blocks.slab_layout(k)
    counts = {c: lay.label.count(c) for c in (-1, 1)}
    return tuple(1 / counts[l] for l in lay.label)


def block_table(n_samples: int, *, seed: int = 0) -> list[dict]:
    """For each block: pieces needed, slab width, exact and sampled Bayes accuracy, and the
    class-conditional second moments (exact, sampled). One row per block."""
    g = torch.Generator().manual_seed(seed)
    y = 2 * torch.randint(0, 2, (n_samples,), generator=g, dtype=torch.float64) - 1
    rows = []
    x = blocks.linear(y, g)
    rows.append({"block": "Linear", "pieces": 1, "pieces (sampled)": label_changes(x, y),
                 "width": float("nan"), "Bayes (theory)": 1.0,
                 "Bayes (sampled)": float(((x > 0) == (y > 0)).double().mean())})
    for p in (0.1, 0.5):
        x = blocks.noisy_linear(y, g, p=p)
        rows.append({"block": f"Noisy linear p={p:g}", "pieces": 1, "width": float("nan"),
                     "Bayes (theory)": 1 - p / 2,
                     "Bayes (sampled)": float(((x > 0) == (y > 0)).double().mean())})
    for k in blocks.SLAB_KS:
        x = blocks.slab(y, g, k=k)
        m = exact_second_moments(k)
        rows.append({"block": f"{k}-slab", "pieces": k - 1, "pieces (sampled)": label_changes(x, y),
                     "width": blocks.slab_layout(k).width,
                     "Bayes (theory)": 1.0,
                     "Bayes (sampled)": float((slab_score(x, k) == y).double().mean()),
                     "E[x²], y=−1, exact": m[-1], "E[x²], y=+1, exact": m[1],
                     "E[x²], y=−1, sampled": float((x[y < 0] ** 2).mean()),
                     "E[x²], y=+1, sampled": float((x[y > 0] ** 2).mean())})
    return rows


def label_changes(x: torch.Tensor, y: torch.Tensor) -> int:
    """Number of label changes along the sorted sample: the fewest thresholds (linear pieces
    of a 1-D classifier) that classify the sample perfectly."""
    order = torch.argsort(x)
    return int((y[order][1:] != y[order][:-1]).sum())


def sampling_tolerance(p: float, n_samples: int, n_se: float = 4.0) -> float:
    """``n_se`` standard errors of the sampled accuracy of the sign rule on a p-noisy linear block:
    exactly round(n p) points are noisy and each is misclassified with probability 1/2."""
    return n_se * math.sqrt(p * 0.25 / n_samples)


def second_moment_tolerance(n_samples: int, n_se: float = 4.0) -> float:
    """``n_se`` standard errors of a class-conditional mean of x^2 (x^2 <= 1, so var <= 1/4)."""
    return n_se * math.sqrt(0.25 / (n_samples / 2))
