"""Ensembles as stacks: G independent ensembles of M members trained in one vectorized pass, their
logits, accuracies, gains, disagreement and randomized metrics (paper App. E.1).

An ensemble of K members is the average of their *logits* (the authors' code averages logits;
the paper does not say). Members g*M .. g*M + M-1 form group g and share group g's training set,
so the G groups are G independent repetitions (datasets and initializations) that give the spread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..data.synthetic import SyntheticData, from_name
from ..metrics import (
    accuracy,
    coordinate_randomized_accuracy,
    ensemble_logits,
    table1_eval,
)
from ..models.inference import predict_logits
from ..models.specs import ModelSpec
from ..runtime import member_seeds
from ..train import History, TrainConfig, fit


@dataclass
class EnsembleRun:
    """G ensembles of M members on one dataset family. ``logits``: (G, M, n_test, C) on the test
    sets; ``y``: (G, n_test); ``tests``: one test set per group; ``model``: the G*M-member stack;
    ``best_logits``: with ``keep_best``, every member's test logits at the epoch of its best test
    accuracy (the authors' notebook 04 keeps that checkpoint: a selection on the test set)."""

    dataset: str
    n_train: int
    model: nn.Module
    tests: list[SyntheticData]
    logits: Tensor
    y: Tensor
    history: History
    best_logits: Tensor | None = None

    def at_best(self) -> "EnsembleRun":
        """The same ensembles with every member at its best-test-accuracy epoch."""
        if self.best_logits is None:
            raise ValueError("trained without keep_best=True: no best-epoch logits were kept")
        return replace(self, logits=self.best_logits, best_logits=None)

    @property
    def n_members(self) -> int:
        return self.logits.shape[1]

    def member_acc(self) -> np.ndarray:
        """(G, M) test accuracy of every member alone."""
        G, M = self.logits.shape[:2]
        return accuracy(self.logits.flatten(0, 1), self.y.repeat_interleave(M, 0)).reshape(G, M)

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
        return float(dis.sum((1, 2)).mean() / (self.n_members * (self.n_members - 1)))


def member_logits(model: nn.Module, tests: Sequence[SyntheticData], n_members: int) -> Tensor:
    """(G, M, n, C) logits of every member on its group's test set."""
    x = torch.stack([t.x for t in tests]).repeat_interleave(n_members, 0)
    lg = predict_logits(model, x.to(next(model.parameters()).device), per_member=True).cpu()
    return lg.reshape(len(tests), n_members, *lg.shape[1:])


def train_ensembles(
    dataset: str,
    n_train: int,
    train: TrainConfig,
    *,
    n_groups: int,
    n_members: int,
    n_test: int,
    model: str = "(100,2)-FCN",
    d: int = 50,
    seed: int = 0,
    device="cpu",
    progress: bool = True,
    keep_best: bool = False,
    **data_kw,
) -> EnsembleRun:
    """Train ``n_groups`` ensembles of ``n_members`` members of ``model`` on ``dataset`` (n_train
    points per group, ``n_test`` test points) in one pass.

    Group g trains on its own dataset (seed ``member_seeds(seed, G)[g]``); every member has its
    own initialization seed and batch order and stops on its own (training loss < 0.01). With
    ``keep_best``, every member's test logits are also kept at the epoch of its best test accuracy
    (evaluated after every epoch: about one forward pass over the test sets per epoch)."""
    G, M = n_groups, n_members
    splits = [
        from_name(dataset, n_train + n_test, seed=s, d=d, **data_kw).split(n_train)
        for s in member_seeds(seed, G)
    ]
    x = torch.stack([tr.x for tr, _ in splits]).repeat_interleave(M, 0).to(device)
    y = torch.stack([tr.y for tr, _ in splits]).repeat_interleave(M, 0).to(device)
    init = [10_000 + s for s in member_seeds(seed, G * M)]  # distinct from the data seeds
    stack = ModelSpec.parse(model).build(d, seeds=init).to(device)
    tests = [te for _, te in splits]
    y_test = torch.stack([t.y for t in tests])
    best: dict = {}

    def keep(m, epoch) -> dict:
        lg = member_logits(m, tests, M)
        acc = torch.as_tensor(accuracy(lg.flatten(0, 1), y_test.repeat_interleave(M, 0)))
        if not best:
            best.update(acc=acc, logits=lg.clone())
        better = (acc > best["acc"]).reshape(G, M)
        best["logits"][better] = lg[better]
        best["acc"] = torch.maximum(acc, best["acc"])
        return {}

    hist = fit(
        stack,
        x,
        y,
        train,
        seed=seed,
        progress=progress,
        callback=keep if keep_best else None,
        eval_every=1 if keep_best else 0,
        desc=f"{G}x{M} {model} on {splits[0][0].name}, n={n_train}",
    )
    return EnsembleRun(
        splits[0][0].name,
        n_train,
        stack,
        tests,
        member_logits(stack, tests, M),
        y_test,
        hist,
        best.get("logits"),
    )


def randomized_ensemble_eval(run: EnsembleRun, k: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Standard, S- and Sc-randomized accuracy and AUC of the ensembles of k members: (G,) each
    (:func:`sbcore.metrics.table1_eval`, group g's randomized sets from ``member_seed(seed, g)``)."""

    def logits(variant: list, _: str) -> torch.Tensor:
        return ensemble_logits(member_logits(run.model, variant, run.n_members), k)

    return table1_eval(logits, run.tests, run.y, seed=seed).summary()


def coordinate_reliance(run: EnsembleRun, *, group: int = 0, seed: int = 0) -> np.ndarray:
    """Fig. 6b: accuracy lost by each member of ``group`` when one unrotated coordinate is
    randomized, (M, d). Row m, column j large: member m relies on coordinate j."""
    M = run.n_members
    members = run.model.select(list(range(group * M, (group + 1) * M)))
    cra = coordinate_randomized_accuracy(members, [run.tests[group]] * M, seed=seed)
    return run.member_acc()[group][:, None] - cra
