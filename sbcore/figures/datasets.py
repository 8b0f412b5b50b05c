"""Chapter 01's figures: the one-dimensional blocks and 2-D views of the datasets (paper Fig. 2)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..data import blocks
from ..data.synthetic import SyntheticData
from .style import NEG, POS, REFERENCE, new_figure

CLASS_HANDLES = [
    Patch(color=NEG, alpha=0.7, label="class y = −1"),
    Patch(color=POS, alpha=0.7, label="class y = +1"),
]


def _class_hist(ax, x: np.ndarray, y: np.ndarray, title: str, bins: int = 80) -> None:
    edges = np.linspace(-1.05, 1.05, bins + 1)
    ax.hist(x[y == 0], edges, color=NEG, alpha=0.7)
    ax.hist(x[y == 1], edges, color=POS, alpha=0.7)
    ax.set_title(title)
    ax.set_yticks([])


def plot_blocks(n_samples: int = 20_000, *, seed: int = 0, noise: float = 0.1) -> Figure:
    """Fig. 2, top row: the one-dimensional blocks, as class-conditional histograms of one
    coordinate (``n_samples`` draws of each block, seeded by ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    y_pm = 2 * torch.randint(0, 2, (n_samples,), generator=g, dtype=torch.float64) - 1
    cols = {
        "linear": blocks.linear(y_pm, g),
        f"noisy linear (p = {noise:g})": blocks.noisy_linear(y_pm, g, p=noise),
    }
    for k in blocks.SLAB_KS:
        cols[f"{k}-slab"] = blocks.slab(y_pm, g, k=k)
    y = ((y_pm + 1) / 2).numpy()
    ncols = 3
    nrows = -(-(len(cols) + 1) // ncols)  # one spare panel holds the legend
    fig, axes = new_figure(height=1.75 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    flat = axes.ravel()
    for i, (ax, (name, x)) in enumerate(zip(flat, cols.items())):
        _class_hist(ax, x.numpy(), y, name)
        if i + ncols >= len(cols):  # no panel below this one
            ax.set_xlabel("coordinate value")
    for ax in axes[:, 0]:
        ax.set_ylabel("points")
    for ax in flat[len(cols) :]:
        ax.axis("off")
    flat[len(cols)].legend(handles=CLASS_HANDLES, loc="center")
    return fig


def plot_2d_views(datas: Sequence[SyntheticData], *, n_points: int = 2000) -> Figure:
    """Fig. 2, bottom row: coordinate 1 (S) against coordinate 2 (an Sc coordinate), unrotated,
    one panel per dataset; the first ``n_points`` points, coloured by class."""
    fig, axes = new_figure(width=2.2 * len(datas), height=2.75, ncols=len(datas), squeeze=False)
    for ax, d in zip(axes[0], datas):
        z, y = d.z[:n_points].numpy(), d.y[:n_points].numpy()
        ax.scatter(z[:, 0], z[:, 1], c=np.where(y == 1, POS, NEG), s=2, alpha=0.6, linewidths=0)
        ax.set_title(d.name)
        ax.set_xlabel("coordinate 1 (S)")
    axes[0, 0].set_ylabel("coordinate 2 (in Sc)")
    fig.legend(handles=CLASS_HANDLES, loc="outside lower center", ncols=2)
    return fig


def plot_fit_speed(ks: Sequence[int], epochs: np.ndarray, *, cap: int) -> Figure:
    """Epochs of SGD to 99% training accuracy against k (one line per seed, log scale); a seed
    that never fits within ``cap`` epochs is drawn at cap + 1 on the dashed budget line."""
    fig, ax = new_figure(width=4.2, height=2.6)
    for j in range(epochs.shape[1]):
        ax.plot(ks, epochs[:, j], marker="o", ms=3, lw=1)
    ax.axhline(cap + 1, color=REFERENCE, lw=0.8, ls="--")
    ax.text(
        ks[0],
        cap + 1,
        f" budget ({cap} epochs): not fitted",
        va="bottom",
        fontsize=7,
        color=REFERENCE,
    )
    ax.set_yscale("log")
    ax.set_xticks(list(ks))
    ax.set_xlabel("k (slabs of the 1-D block)")
    ax.set_ylabel("epochs to 99% train accuracy")
    return fig
