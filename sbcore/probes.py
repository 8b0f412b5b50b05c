"""Linear probes: how well a linear classifier on raw pixels separates a dataset.

Used to check which image blocks are "simple" (linearly separable, like the paper's S) and which are
"complex" (a linear model falls short, like Sc); see the Fashion-MNIST stand-in in
``sbcore.data.dominoes``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

__all__ = ["linear_probe_accuracy"]


def _as_2d(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """(n, ...) tensor or array -> (n, n_features) float32 numpy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1).astype(np.float32, copy=False)


def _as_1d(y: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    return np.asarray(y).reshape(-1)


def linear_probe_accuracy(
    x_train: torch.Tensor | np.ndarray,
    y_train: torch.Tensor | np.ndarray,
    x_test: torch.Tensor | np.ndarray,
    y_test: torch.Tensor | np.ndarray,
    *,
    C: float = 1.0,
    max_iter: int = 100,
) -> float:
    """Test accuracy of an L2-regularized logistic regression on flattened, standardized pixels.

    Args:
        x_train: (n_train, ...) any numeric dtype (uint8 or float in [0, 1]); flattened per row.
        y_train: (n_train,) class labels (any integers; binary or multiclass).
        x_test: (n_test, ...) same trailing shape as ``x_train``.
        y_test: (n_test,) labels.
        C: inverse regularization strength of scikit-learn's ``LogisticRegression`` (> 0).
        max_iter: L-BFGS iterations (>= 1). Hitting the cap is not an error: the probe is a
            measurement, and its ConvergenceWarning is silenced.

    Returns:
        accuracy on the test set, a float in [0, 1].
    """
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    a_train, a_test = _as_2d(x_train), _as_2d(x_test)
    b_train, b_test = _as_1d(y_train), _as_1d(y_test)
    if a_train.shape[0] != b_train.shape[0] or a_test.shape[0] != b_test.shape[0]:
        raise ValueError(
            "x and y must have the same number of rows (x_train/y_train, x_test/y_test)"
        )
    if a_train.shape[1] != a_test.shape[1]:
        raise ValueError(
            f"x_train has {a_train.shape[1]} features per row, x_test {a_test.shape[1]}"
        )
    # Standardizing per pixel makes L-BFGS converge in a few hundred steps; constant pixels (the
    # zero padding) get scale 1 from StandardScaler and so stay at 0.
    scaler = StandardScaler().fit(a_train)
    clf = LogisticRegression(C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(a_train), b_train)
    return float(clf.score(scaler.transform(a_test), b_test))
