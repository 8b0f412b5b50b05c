"""Chapter 01, datasets and randomized metrics: the building blocks' stated properties, checked
exactly and by sampling (claims #2, #3), and the randomized metrics on hand-built classifiers.

Exact values come from the slab layout (uniform pieces have closed-form moments); sampled values
check that the generators draw what the layout says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import blocks
from ..data.synthetic import from_name
from ..experiments.fit_speed import epochs_to_fit
from ..metrics import randomized_eval
from ..oracles import LinearOnS, SlabVote, slab_score
from ..runtime import member_seeds
from ..scales import positive_int, require
from ..train import TrainConfig

CHAPTER = "01_datasets_and_metrics"
SUMMARY = ("n_samples",)


@dataclass(frozen=True)
class Config:
    """``n_samples``: points drawn per block for the sampled checks; ``n_worked``: points of the
    LMS-5 set the worked example of the randomized metrics runs on; ``fit_*``: how many epochs a
    (100,1)-FCN needs to fit a 1-D k-slab for k in ``fit_ks`` (``fit_n`` points, ``fit_seeds``
    seeds, recipe ``fit_train``; claim #2's "small k is learned quickly")."""

    n_samples: int
    n_worked: int = 20_000
    fit_ks: tuple[int, ...] = (3, 5, 7, 9, 11)
    fit_n: int = 4000
    fit_seeds: int = 3
    fit_train: TrainConfig = field(default_factory=TrainConfig)  # App. B: plain SGD, <= 500 epochs

    def __post_init__(self) -> None:
        positive_int("n_samples", self.n_samples, minimum=1000)
        positive_int("n_worked", self.n_worked, minimum=100)
        positive_int("fit_n", self.fit_n, minimum=100)
        positive_int("fit_seeds", self.fit_seeds, minimum=2)
        require(
            5 in self.fit_ks
            and max(self.fit_ks) > 5
            and all(isinstance(k, int) and k >= 3 and k % 2 for k in self.fit_ks),
            "fit_ks",
            "odd integers >= 3 holding 5 and a larger k",
            self.fit_ks,
        )


PRESETS = {
    "smoke": Config(
        50_000,
        n_worked=5000,
        fit_ks=(3, 5, 7, 9),
        fit_seeds=2,
        fit_train=TrainConfig(momentum=0.9, max_epochs=100),
    ),
    "book": Config(400_000),
    "paper": Config(2_000_000, fit_seeds=5),
}


def exact_second_moments(k: int, probs: tuple[float, ...] | None = None) -> dict[int, float]:
    """E[x^2 | y] of a k-slab from its layout, per class in {-1, +1}.

    ``probs`` replaces the per-slab probabilities (e.g. uniform) to show what the paper's 1/4 and
    1/8 fix. Uniform on [a, b]: E[x^2] = (b^3 - a^3) / (3 (b - a))."""
    lay = blocks.slab_layout(k)
    p = probs or lay.prob
    out = {}
    for cls in (-1, 1):
        out[cls] = sum(
            pi * (b**3 - a**3) / (3 * (b - a))
            for a, b, l, pi in zip(lay.lo, lay.hi, lay.label, p)
            if l == cls
        )
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
    rows.append(
        {
            "block": "Linear",
            "pieces": 1,
            "pieces (sampled)": label_changes(x, y),
            "width": float("nan"),
            "Bayes (theory)": 1.0,
            "Bayes (sampled)": float(((x > 0) == (y > 0)).double().mean()),
        }
    )
    for p in (0.1, 0.5):
        x = blocks.noisy_linear(y, g, p=p)
        rows.append(
            {
                "block": f"Noisy linear p={p:g}",
                "pieces": 1,
                "width": float("nan"),
                "Bayes (theory)": 1 - p / 2,
                "Bayes (sampled)": float(((x > 0) == (y > 0)).double().mean()),
            }
        )
    for k in blocks.SLAB_KS:
        x = blocks.slab(y, g, k=k)
        m = exact_second_moments(k)
        rows.append(
            {
                "block": f"{k}-slab",
                "pieces": k - 1,
                "pieces (sampled)": label_changes(x, y),
                "width": blocks.slab_layout(k).width,
                "Bayes (theory)": 1.0,
                "Bayes (sampled)": float((slab_score(x, k) == y).double().mean()),
                "E[x²], y=−1, exact": m[-1],
                "E[x²], y=+1, exact": m[1],
                "E[x²], y=−1, sampled": float((x[y < 0] ** 2).mean()),
                "E[x²], y=+1, sampled": float((x[y > 0] ** 2).mean()),
            }
        )
    return rows


def label_changes(x: torch.Tensor, y: torch.Tensor) -> int:
    """Number of label changes along the sorted sample: the fewest thresholds (linear pieces
    of a 1-D classifier) that classify the sample perfectly."""
    order = torch.argsort(x)
    return int((y[order][1:] != y[order][:-1]).sum())


def check_blocks(run, rows: list[dict]) -> None:
    """Claim #2 on the rows of :func:`block_table`: Bayes accuracies and the pieces needed."""
    n = run.cfg.n_samples
    for r in rows:
        if "p=" in r["block"]:
            p = float(r["block"].split("=")[1])
            run.check(
                "datasets.bayes_noisy",
                [r["Bayes (sampled)"]],
                data="1-D blocks",
                block=r["block"],
                target=1 - p / 2,
                n=n / p,
            )
        else:
            run.check(
                "datasets.bayes_exact", [r["Bayes (sampled)"]], data="1-D blocks", block=r["block"]
            )
        if "pieces (sampled)" in r:
            run.check(
                "datasets.pieces",
                [r["pieces (sampled)"]],
                data="1-D blocks",
                block=r["block"],
                target=r["pieces"],
            )


def moment_rows() -> list[dict]:
    """E[x²|y] per class of the 5- and 7-slab, with the paper's outer probabilities and with
    every slab of a class equally likely (the counterfactual)."""
    rows = []
    for k in (5, 7):
        for name, m in (
            (f"paper (outer 1/{4 if k == 5 else 8})", exact_second_moments(k)),
            ("uniform over slabs", exact_second_moments(k, uniform_probs(k))),
        ):
            rows.append(
                {
                    "block": f"{k}-slab",
                    "probabilities": name,
                    "E[x²], y=−1": m[-1],
                    "E[x²], y=+1": m[1],
                    "difference": abs(m[1] - m[-1]),
                }
            )
    return rows


def check_moments(run, rows: list[dict], moments: list[dict]) -> None:
    """Claim #3: the paper's outer-slab probabilities (a fact of the layout) give equal
    class-conditional second moments, exactly and in the sampled blocks."""
    lay = {k: blocks.slab_layout(k) for k in (5, 7)}
    run.check(
        "datasets.outer_probs",
        [(lay[5].prob[0] + lay[5].prob[-1]) * 4, (lay[7].prob[0] + lay[7].prob[-1]) * 8],
        data="slab layout",
    )
    for m in moments[0::2]:
        run.check(
            "datasets.moment_gap_exact", [m["difference"]], data="slab layout", block=m["block"]
        )
    for r in rows:
        if "E[x²], y=+1, sampled" in r and r["block"] in ("5-slab", "7-slab"):
            run.check(
                "datasets.moment_gap_sampled",
                [abs(r["E[x²], y=+1, sampled"] - r["E[x²], y=−1, sampled"])],
                data="1-D blocks",
                block=r["block"],
                n=run.cfg.n_samples / 2,
            )


def fit_speed(run) -> np.ndarray:
    """(len(fit_ks), fit_seeds) epochs to 99% training accuracy of a 1-D k-slab
    (:func:`sbcore.experiments.fit_speed.epochs_to_fit`; the budget + 1 where it never fits)."""
    cfg = run.cfg
    return epochs_to_fit(
        cfg.fit_ks,
        n=cfg.fit_n,
        seeds=member_seeds(run.seed, cfg.fit_seeds),
        cfg=cfg.fit_train,
        device=run.device,
        progress=run.progress,
    )


def fit_rows(ks, epochs: np.ndarray) -> list[dict]:
    """The fit-speed table: one row per k, epochs to 99% training accuracy per seed."""
    return [
        {"k": k, **{f"seed {j}": int(e) for j, e in enumerate(row)}} for k, row in zip(ks, epochs)
    ]


def check_fit_speed(run, epochs: np.ndarray) -> None:
    """Claim #2, second half: the 5- and 7-slab fit within App. B's epoch budget, and the largest
    k takes at least twice as many epochs as the 5-slab (per seed)."""
    ks, cap = list(run.cfg.fit_ks), run.cfg.fit_train.max_epochs
    data = f"1-D k-slabs, n = {run.cfg.fit_n:,}"
    for k in (k for k in (5, 7) if k in ks):
        run.check("datasets.fit_small_k", epochs[ks.index(k)], data=data, k=k, cap=cap)
    run.check(
        "datasets.fit_growth",
        epochs[ks.index(max(ks))] / epochs[ks.index(5)],
        data=data,
        k=max(ks),
    )


def worked_example(n: int, *, seed: int, device) -> list[dict]:
    """Table 1 on LMS-5 for two hand-built classifiers: one reads S only, one Sc only."""
    lms = from_name("LMS-5", n, seed=seed)
    oracles = {
        "reads only S (linear)": LinearOnS(lms),
        "reads only Sc (slab vote)": SlabVote(lms, lms.sc_coords, k=5),
    }
    out = []
    for name, model in oracles.items():
        ev = randomized_eval(model.to(device), [lms], seed=seed)
        out.append({"model": name, **{k: float(v[0]) for k, v in ev.summary().items()}})
    return out
