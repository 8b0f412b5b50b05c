"""Chapter 03's figures: example dominoes as given, S-randomized and Sc-randomized."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..data.dominoes import ImageDominoes, randomize
from .style import POS, new_figure

BOUNDARY = (
    POS  # the red line between the top block (S) and the bottom block (Sc), as the captions say
)


def _as_image(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W) grey or (H, W, 3) RGB for imshow."""
    a = x.detach().cpu().numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def plot_dominoes(data: ImageDominoes, *, n_examples: int = 6, seed: int = 0) -> Figure:
    """Fig. 2, bottom row (image part): dominoes as given, S-randomized and Sc-randomized.

    Rows: standard, S-randomized (top block shuffled across examples), Sc-randomized (bottom
    block shuffled); columns: the first ``n_examples`` examples, labelled with their class. The
    title names the data actually used (``data.source``)."""
    n = min(n_examples, data.n_samples)
    rows = {
        "standard": data,
        "S-randomized": randomize(data, "S", seed=seed),
        "Sc-randomized": randomize(data, "Sc", seed=seed),
    }
    width = min(6.4, 0.72 * n + 1.0)
    col = (width - 1.0) / n
    fig, axes = new_figure(
        width=width, height=len(rows) * 2 * col + 0.6, nrows=len(rows), ncols=n, squeeze=False
    )
    for i, (name, d) in enumerate(rows.items()):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(_as_image(d.x[j]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.axhline(31.5, color=BOUNDARY, lw=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"y = {'+1' if int(data.y[j]) == 1 else '−1'}", fontsize=7.5)
        axes[i, 0].set_ylabel(name, fontsize=7.5)
    fig.suptitle(data.source, fontsize=8)
    return fig
