"""Claim #2's fit-speed experiment: the 1-D k-slab of any odd k, and epochs to fit it."""

import numpy as np
import pytest

from sbcore.chapters.ch01_datasets_and_metrics import label_changes
from sbcore.experiments.fit_speed import epochs_to_fit, periodic_slab
from sbcore.train import TrainConfig


@pytest.mark.parametrize("k", [3, 5, 9, 11])
def test_periodic_slab_has_k_slabs_alternating_with_the_5_slabs_gap_share(k):
    d = periodic_slab(20_000, k, seed=1)
    x, y = d.x[:, 0].double(), d.y
    assert x.min() >= -1 and x.max() <= 1 and d.n_features == 1
    assert label_changes(x, 2 * y - 1) == k - 1  # k - 1 pieces, as for the paper's slabs
    width, gap = 2 * 0.6 / k, 0.8 / (k - 1)
    centre = (k - 1) // 2
    for i in range(k):  # every slab holds points of one label only: centre slab label 0
        lo = -1 + i * (width + gap)
        inside = (x >= lo) & (x <= lo + width)
        assert inside.any() and set(y[inside].tolist()) == {abs(i - centre) % 2}
    assert abs(y.double().mean() - 0.5) < 0.02
    with pytest.raises(ValueError, match="odd"):
        periodic_slab(100, 4)


def test_epochs_to_fit_counts_the_first_fitted_epoch_and_the_budget_when_never():
    fast = epochs_to_fit(
        [3],
        n=500,
        seeds=[0, 1],
        progress=False,
        cfg=TrainConfig(lr=0.1, momentum=0.9, max_epochs=30),
    )
    assert fast.shape == (1, 2) and np.all(fast <= 30)
    never = epochs_to_fit(
        [5], n=500, seeds=[0], progress=False, cfg=TrainConfig(lr=1e-6, max_epochs=3)
    )
    assert never.tolist() == [[4]]  # the budget + 1: not fitted


def test_fit_rows_one_row_per_k():
    from sbcore.chapters.ch01_datasets_and_metrics import fit_rows

    assert fit_rows((5, 7), np.array([[56, 79], [126, 501]])) == [
        {"k": 5, "seed 0": 56, "seed 1": 79},
        {"k": 7, "seed 0": 126, "seed 1": 501},
    ]
