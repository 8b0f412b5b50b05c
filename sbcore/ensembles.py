"""Chapter 07, ensembles and simplicity bias: presets, stacked ensembles, claim checks (#25-#27).

An ensemble of K members is the average of their *logits* (the authors' code averages logits;
the paper does not say). A stack of G * M independently initialized members trains in one
vectorized pass: members g*M .. g*M + M-1 form group g and share group g's training set, so the G
groups are G independent repetitions (datasets and initializations) that give the spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from . import claims
from .data.synthetic import SyntheticData, from_name, randomize
from .metrics import accuracy, coordinate_randomized_accuracy, roc_auc
from .models.specs import ModelSpec
from .runtime import member_seeds
from .scales import choose, positive_int, require
from .models.inference import predict_logits
from .train import History, TrainConfig, fit


@dataclass(frozen=True)
class EnsembleConfig:
    """Knobs of chapter 07. ``None`` in the notebook's parameters cell means "the preset's".

    ``n_members``: members per ensemble (M); ``n_groups``: independent ensembles (G), each on its
    own dataset; ``ms5_sizes``: training-set sizes of the MS-5 sweep (#25); ``noisy_n_train`` /
    ``noisy_noise``: noisy LMS-7 with a p = 0.5 linear coordinate (#26); ``lms5_n_train``: LMS-5
    (#27); ``sizes``: the ensemble sizes K reported; SGD knobs as in chapter 02's book recipe.
    """

    n_members: int
    n_groups: int
    ms5_sizes: tuple[int, ...]
    n_test: int
    max_epochs: int
    noisy_n_train: int
    noisy_max_epochs: int
    lms5_n_train: int
    model: str = "(100,2)-FCN"
    sizes: tuple[int, ...] = (1, 3, 5, 10)
    noisy_noise: float = 0.5
    target_single: float = 0.75
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-7
    batch_size: int = 256
    d: int = 50

    def __post_init__(self) -> None:
        for name in ("n_test", "max_epochs", "noisy_n_train", "noisy_max_epochs", "lms5_n_train",
                     "batch_size"):
            positive_int(name, getattr(self, name))
        positive_int("n_members", self.n_members, minimum=2)
        positive_int("n_groups", self.n_groups, minimum=2)
        positive_int("d", self.d, minimum=3)
        require(len(self.ms5_sizes) > 0 and all(isinstance(n, int) and n > 0 for n in self.ms5_sizes),
                "ms5_sizes", "a non-empty tuple of positive integers", self.ms5_sizes)
        require(len(self.sizes) > 0 and all(isinstance(k, int) and 1 <= k <= self.n_members for k in self.sizes),
                "sizes", f"ensemble sizes in [1, n_members={self.n_members}]", self.sizes)
        require(0 < self.noisy_noise <= 1, "noisy_noise", "in (0, 1]", self.noisy_noise)
        require(0.5 < self.target_single < 1, "target_single", "in (0.5, 1)", self.target_single)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(0 <= self.momentum < 1, "momentum", "in [0, 1)", self.momentum)
        require(self.weight_decay >= 0, "weight_decay", ">= 0", self.weight_decay)
        ModelSpec.parse(self.model)

    def train(self, max_epochs: int | None = None) -> TrainConfig:
        return TrainConfig(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, max_epochs=max_epochs or self.max_epochs)


PRESETS = {
    "smoke": EnsembleConfig(n_members=5, n_groups=2, ms5_sizes=(3000, 8000), n_test=2000,
                            max_epochs=40, noisy_n_train=2000, noisy_max_epochs=5,
                            lms5_n_train=2000, sizes=(1, 3, 5)),
    "book": EnsembleConfig(n_members=10, n_groups=3, ms5_sizes=(2000, 3000, 3500, 4000, 5000, 8000),
                           n_test=5000, max_epochs=100, noisy_n_train=10_000, noisy_max_epochs=10,
                           lms5_n_train=10_000),
    # The paper states no sample sizes for App. E.1; plain SGD (no momentum) as App. B.
    "paper": EnsembleConfig(n_members=10, n_groups=5,
                            ms5_sizes=(2000, 3000, 3500, 4000, 4500, 5000, 6000, 8000, 16_000),
                            n_test=10_000, max_epochs=500, noisy_n_train=40_000, noisy_max_epochs=500,
                            lms5_n_train=50_000, momentum=0.0),
}


def config(scale: str | None = None, **overrides) -> EnsembleConfig:
    """The chapter's config at ``scale`` with the non-None ``overrides`` applied (validated)."""
    return choose(PRESETS, scale, **overrides)


def ensemble_logits(logits: Tensor, members: int | Sequence[int]) -> Tensor:
    """Logits of an ensemble: the mean over ``members`` (the first K if an int) of per-member
    logits ``(M, n, C)`` (or ``(..., M, n, C)``) -> ``(n, C)`` (or ``(..., n, C)``)."""
    idx = list(range(members)) if isinstance(members, int) else list(members)
    if not idx or max(idx) >= logits.shape[-3] or min(idx) < 0:
        raise ValueError(f"members must index [0, {logits.shape[-3]}), got {members!r}")
    return logits[..., idx, :, :].mean(-3)


@dataclass
class EnsembleRun:
    """G ensembles of M members on one dataset family. ``logits``: (G, M, n_test, C) on the test
    sets; ``y``: (G, n_test); ``tests``: one test set per group; ``model``: the (G*M)-member stack."""

    dataset: str
    n_train: int
    model: nn.Module
    tests: list[SyntheticData]
    logits: Tensor
    y: Tensor
    history: History

    @property
    def n_groups(self) -> int:
        return self.logits.shape[0]

    @property
    def n_members(self) -> int:
        return self.logits.shape[1]

    def member_acc(self) -> np.ndarray:
        """(G, M) test accuracy of every member alone."""
        G, M = self.n_groups, self.n_members
        y = self.y.repeat_interleave(M, 0)
        return accuracy(self.logits.reshape(G * M, *self.logits.shape[2:]), y).reshape(G, M)

    def ensemble_acc(self, k: int) -> np.ndarray:
        """(G,) test accuracy of the ensemble of the first ``k`` members of each group."""
        return accuracy(ensemble_logits(self.logits, k), self.y)

    def gain(self, k: int) -> np.ndarray:
        """(G,) ensemble-of-k accuracy minus the mean accuracy of that group's members."""
        return self.ensemble_acc(k) - self.member_acc().mean(1)

    def disagreement(self) -> float:
        """Mean over groups and member pairs of the share of test points two members label
        differently: what an ensemble can gain from (0 = every member makes the same errors)."""
        pred = self.logits.argmax(-1)  # (G, M, n)
        dis = (pred[:, :, None, :] != pred[:, None, :, :]).double().mean(-1)  # (G, M, M)
        M = self.n_members
        return float(dis.sum((1, 2)).mean() / (M * (M - 1)))


def _member_logits(model: nn.Module, tests: Sequence[SyntheticData], n_members: int) -> Tensor:
    x = torch.stack([t.x for t in tests]).repeat_interleave(n_members, 0)
    x = x.to(next(model.parameters()).device)
    lg = predict_logits(model, x, per_member=True).cpu()
    return lg.reshape(len(tests), n_members, *lg.shape[1:])


def train_ensembles(dataset: str, n_train: int, cfg: EnsembleConfig, *, seed: int = 0,
                    max_epochs: int | None = None, device="cpu", progress: bool = True,
                    **data_kw) -> EnsembleRun:
    """Train ``cfg.n_groups`` ensembles of ``cfg.n_members`` members on ``dataset`` in one pass.

    Group g trains on its own dataset (seed ``member_seeds(seed, G)[g]``); every member has its
    own initialization seed and batch order and stops on its own (training loss < 0.01)."""
    G, M = cfg.n_groups, cfg.n_members
    splits = [from_name(dataset, n_train + cfg.n_test, seed=s, d=cfg.d, **data_kw).split(n_train)
              for s in member_seeds(seed, G)]
    x = torch.stack([tr.x for tr, _ in splits]).repeat_interleave(M, 0).to(device)
    y = torch.stack([tr.y for tr, _ in splits]).repeat_interleave(M, 0).to(device)
    init = [10_000 + s for s in member_seeds(seed, G * M)]  # distinct from the data seeds
    stack = ModelSpec.parse(cfg.model).build(cfg.d, seeds=init).to(device)
    hist = fit(stack, x, y, cfg.train(max_epochs), seed=seed, progress=progress,
               desc=f"{G}x{M} {cfg.model} on {splits[0][0].name}, n={n_train}")
    tests = [te for _, te in splits]
    return EnsembleRun(splits[0][0].name, n_train, stack, tests, _member_logits(stack, tests, M),
                       torch.stack([t.y for t in tests]), hist)


def randomized_ensemble_eval(run: EnsembleRun, k: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Standard, S- and Sc-randomized accuracy and AUC of the ensembles of k members: (G,) each."""
    out = {}
    for key, which in (("", None), ("s_", "S"), ("sc_", "Sc")):
        tests = run.tests if which is None else [randomize(t, which, seed=seed) for t in run.tests]
        lg = ensemble_logits(_member_logits(run.model, tests, run.n_members), k)
        out[key + "acc"], out[key + "auc"] = accuracy(lg, run.y), roc_auc(lg, run.y)
    return out


def coordinate_reliance(run: EnsembleRun, *, group: int = 0, seed: int = 0) -> np.ndarray:
    """Fig. 6b: accuracy lost by each member of ``group`` when one unrotated coordinate is
    randomized, (M, d). Row m, column j large: member m relies on coordinate j."""
    M = run.n_members
    members = run.model.select(list(range(group * M, (group + 1) * M)))
    cra = coordinate_randomized_accuracy(members, [run.tests[group]] * M, seed=seed)
    return run.member_acc()[group][:, None] - cra


def size_curve(run: EnsembleRun, sizes: Sequence[int]) -> np.ndarray:
    """(len(sizes), G) test accuracy of the ensembles of the first k members, k in ``sizes``."""
    return np.stack([run.ensemble_acc(k) for k in sizes])


def pick_size(runs: Sequence[EnsembleRun], target: float) -> EnsembleRun:
    """The sweep point whose mean single-member accuracy is closest to ``target`` (75%: the
    paper's setting, 'sample size chosen so that the models overfit')."""
    return min(runs, key=lambda r: abs(float(r.member_acc().mean()) - target))


def sweep_rows(runs: Sequence[EnsembleRun], sizes: Sequence[int]) -> list[dict]:
    """MS-5 sweep table: per training-set size, single-member and ensemble accuracy (mean ± sd)."""
    from .report import mean_std

    rows = []
    for r in runs:
        row = {"n_train": r.n_train, "single": mean_std(r.member_acc().ravel())}
        row.update({f"ensemble of {k}": mean_std(r.ensemble_acc(k)) for k in sizes if k > 1})
        row["disagreement"] = r.disagreement()
        rows.append(row)
    return rows


# Tolerances (from the paper and the issue, never from our runs).
SPREAD_UNITS = 2.0  # "well outside the spread over seeds": mean gain >= 2 sd of the gain over seeds
PAPER_GAIN = {5: 0.15, 10: 0.20}  # App. E.1: +15 and +20 points
GAIN_TOL = 0.05  # "about": ±5 points
UNSTATED_SIZE = "the paper does not state the MS-5 sample size these magnitudes depend on"
ENS_TOL = 0.03  # #26: within 0.03 of a single model / of the paper's 75%
S_AUC_TOL, SC_AUC_MIN = 0.03, 0.99  # #27, as chapter 02


def ms5_records(run: EnsembleRun, sizes: Sequence[int], *, scale: str, chapter: str,
                strict: bool) -> list[claims.ClaimRecord]:
    """Claim #25 on MS-5 at the ~75% size. The gate (the issue's): the gain of the largest
    ensemble over a single member lies well outside its spread over seeds, i.e. every group gains
    and mean / sd of the gain over groups >= 2. The paper's magnitudes (single ~75%, +15 and +20
    points) are recorded beside it as known deviations (they never stop the build, and fail
    visibly): they hinge on a sample size the paper does not state."""
    common = dict(data=f"MS-5, n = {run.n_train}", scale=scale, chapter=chapter)
    k_max = max(sizes)
    g = run.gain(k_max)
    ratio = g.mean() / g.std(ddof=1) if g.std(ddof=1) > 0 else float("inf")
    recs = [claims.check(25, "mean single-member test accuracy", run.member_acc().mean(1),
                         paper="≈0.75", kind="within", target=0.75, tol=GAIN_TOL, strict=strict,
                         known_deviation=UNSTATED_SIZE, **common),
            claims.check(25, f"gain of {k_max} members over a single member", g,
                         paper="+0.20 (10 members)", kind="at_least", target=0.0, strict=strict, **common),
            claims.check(25, f"gain of {k_max} members, mean / sd over seeds", [ratio],
                         paper="+0.20 (10 members)", kind="at_least", target=SPREAD_UNITS,
                         strict=strict, **common)]
    for k, paper in PAPER_GAIN.items():
        if k in sizes:
            recs.append(claims.check(25, f"test-accuracy gain of {k} members (paper's size)", g if k == k_max else run.gain(k),
                                     paper=f"+{paper:.2f}", kind="within", target=paper,
                                     tol=GAIN_TOL, strict=strict,
                                     known_deviation=UNSTATED_SIZE, **common))
    return recs


def noisy_records(run: EnsembleRun, sizes: Sequence[int], *, scale: str, chapter: str,
                  strict: bool) -> list[claims.ClaimRecord]:
    """Claim #26: on noisy LMS-7 (p = 0.5) ensembles stay at a single model's ~75%."""
    common = dict(data=f"noisy LMS-7 (p=0.5), n = {run.n_train}", scale=scale, chapter=chapter,
                  strict=strict)
    recs = []
    for k in (k for k in sizes if k > 1):
        recs.append(claims.check(26, f"|ensemble of {k} - single| test accuracy", np.abs(run.gain(k)),
                                 paper="0 (flat at 75%)", kind="at_most", target=ENS_TOL, **common))
        recs.append(claims.check(26, f"test accuracy, ensemble of {k}", run.ensemble_acc(k),
                                 paper="0.75", kind="within", target=0.75, tol=ENS_TOL, **common))
    return recs


def lms5_records(run: EnsembleRun, k: int, *, scale: str, chapter: str, strict: bool,
                 seed: int = 0) -> list[claims.ClaimRecord]:
    """Claim #27: an ensemble of k members on LMS-5 still relies on S only."""
    ev = randomized_ensemble_eval(run, k, seed=seed)
    common = dict(data=f"LMS-5, n = {run.n_train}", scale=scale, chapter=chapter, strict=strict)
    return [claims.check(27, f"S-randomized AUC, ensemble of {k}", ev["s_auc"], paper="0.507 (authors' NB)",
                         kind="within", target=0.5, tol=S_AUC_TOL, **common),
            claims.check(27, f"Sc-randomized AUC, ensemble of {k}", ev["sc_auc"], paper="1.000 (authors' NB)",
                         kind="at_least", target=SC_AUC_MIN, **common)]
