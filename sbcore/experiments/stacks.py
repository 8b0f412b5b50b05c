"""Synthetic stacks: one call trains a stack of models (one member per seed, each on its own
dataset) and returns its Table-1 diagnostics; the chapters only choose datasets, models and what
to record. Also the (train, test) and (train, val, test) splits per seed and the accuracy
callback that follows a stack over training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..data.synthetic import SyntheticData, from_name, randomize
from ..metrics import RandomizedEval, accuracy, logits_on, member_seed, randomized_eval, stack_data
from ..models.specs import ModelSpec
from ..train import History, TrainConfig, fit


def make_splits(
    dataset: str, n_train: int, n_test: int, seeds: Sequence[int], *, d: int = 50, **kwargs
) -> tuple[list[SyntheticData], list[SyntheticData]]:
    """One (train, test) pair per seed; train and test of one seed share its rotation."""
    splits = [
        from_name(dataset, n_train + n_test, seed=s, d=d, **kwargs).split(n_train) for s in seeds
    ]
    return [a for a, _ in splits], [b for _, b in splits]


@dataclass
class StackResult:
    """A trained stack (one member per seed), its training history and its diagnostics."""

    dataset: str
    model_name: str
    model: nn.Module
    history: History
    eval: RandomizedEval
    train_acc: list[float]

    @property
    def row(self) -> dict:
        """Mean over members of every diagnostic, for tables."""
        out = {
            "dataset": self.dataset,
            "model": self.model_name,
            "train acc": float(sum(self.train_acc) / len(self.train_acc)),
        }
        for k, v in self.eval.summary().items():
            out[k] = float(v.mean())
        out["epochs"] = self.history.n_epochs
        out["seconds"] = round(self.history.seconds, 1)
        return out


def train_stack(
    model: str | ModelSpec,
    trains: Sequence[SyntheticData],
    tests: Sequence[SyntheticData],
    cfg: TrainConfig,
    *,
    seeds: Sequence[int],
    device: torch.device | str = "cpu",
    progress: bool = True,
    eval_seed: int = 0,
    callback=None,
    eval_every: int = 0,
    desc: str | None = None,
    checkpoint=None,
) -> StackResult:
    """Train one member per seed (member m on ``trains[m]``) in one vectorized pass and evaluate
    standard, S-randomized and Sc-randomized accuracy and AUC on ``tests``. ``callback`` and
    ``eval_every`` go to :func:`fit` (e.g. :func:`accuracy_callback`); ``desc`` labels the
    progress bar; ``checkpoint`` goes to :func:`fit` (a stopped training resumes from it)."""
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    if len(trains) != len(seeds) or len(tests) != len(seeds):
        raise ValueError(f"trains and tests must hold one dataset per seed ({len(seeds)})")
    x, y = stack_data(trains)
    stack = spec.build(trains[0].n_features, seeds=seeds).to(device)
    hist = fit(
        stack,
        x.to(device),
        y.to(device),
        cfg,
        seed=seeds[0],
        callback=callback,
        eval_every=eval_every,
        progress=progress,
        desc=desc or f"{spec.label} on {trains[0].name}",
        checkpoint=checkpoint,
    )
    train_acc = accuracy(logits_on(stack, trains), y).tolist()
    ev = randomized_eval(stack, tests, seed=eval_seed)
    return StackResult(trains[0].name, spec.label, stack, hist, ev, train_acc)


def make_splits3(
    dataset: str,
    n_train: int,
    n_val: int,
    n_test: int,
    seeds: Sequence[int],
    *,
    d: int = 50,
    **kwargs,
) -> tuple[list[SyntheticData], ...]:
    """(trains, vals, tests): one dataset per seed, split three ways (one rotation per seed)."""
    trains, rest = make_splits(dataset, n_train, n_val + n_test, seeds, d=d, **kwargs)
    vals, tests = zip(*(r.split(n_val) for r in rest))
    return trains, list(vals), list(tests)


def accuracy_callback(trains, tests, *, seed: int = 0, train: bool = True):
    """``fit`` callback: train (unless ``train=False``: a pass over the whole training set each
    time), test and S-randomized test accuracy (per member) over training; member m's
    S-randomized test set is drawn from its own seed, ``member_seed(seed, m)``."""
    y_tr, y_te = stack_data(trains)[1], stack_data(tests)[1]
    s_tests = [randomize(t, "S", seed=member_seed(seed, m)) for m, t in enumerate(tests)]

    def cb(m, epoch):
        out = {"train": accuracy(logits_on(m, trains), y_tr).tolist()} if train else {}
        return {
            **out,
            "test": accuracy(logits_on(m, tests), y_te).tolist(),
            "s_rand": accuracy(logits_on(m, s_tests), y_te).tolist(),
        }

    return cb
