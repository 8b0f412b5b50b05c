"""Chapter 01's figures: the one-dimensional blocks and 2-D views of the datasets (paper Fig. 2)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import blocks
from ..data.synthetic import SyntheticData
from .style import NEG, POS

def _class_hist(ax, x: np.ndarray, y: np.ndarray, title: str, bins: int = 80) -> None:
    edges = np.linspace(-1.05, 1.05, bins + 1)
    ax.hist(x[y == 0], edges, color=NEG, alpha=0.7, label="y = −1")
    ax.hist(x[y == 1], edges, color=POS, alpha=0.7, label="y = +1")
    ax.set_title(title)
    ax.set_xlabel("coordinate value")
    ax.set_yticks([])


def plot_blocks(n_samples: int = 20_000, *, seed: int = 0, noise: float = 0.1) -> plt.Figure:
    """Fig. 2, top row: the one-dimensional blocks, as class-conditional histograms."""
    g = torch.Generator().manual_seed(seed)
    y_pm = 2 * torch.randint(0, 2, (n_samples,), generator=g, dtype=torch.float64) - 1
    cols = {"Linear": blocks.linear(y_pm, g),
            f"Noisy linear (p = {noise:g})": blocks.noisy_linear(y_pm, g, p=noise)}
    for k in blocks.SLAB_KS:
        cols[f"{k}-slab"] = blocks.slab(y_pm, g, k=k)
    y = ((y_pm + 1) / 2).numpy()
    fig, axes = plt.subplots(1, len(cols), figsize=(2.2 * len(cols), 2.0), sharex=True)
    for ax, (name, x) in zip(axes, cols.items()):
        _class_hist(ax, x.numpy(), y, name)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8, ncol=2, loc="upper center")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_2d_views(datas: Sequence[SyntheticData], *, n_points: int = 2000) -> plt.Figure:
    """Fig. 2, bottom row: coordinate 0 (S) against coordinate 1 (an Sc coordinate), unrotated."""
    fig, axes = plt.subplots(1, len(datas), figsize=(2.6 * len(datas), 2.6))
    for ax, d in zip(np.atleast_1d(axes), datas):
        z, y = d.z[:n_points].numpy(), d.y[:n_points].numpy()
        ax.scatter(z[:, 0], z[:, 1], c=np.where(y == 1, POS, NEG), s=2, alpha=0.6, linewidths=0)
        ax.set_title(d.name)
        ax.set_xlabel("coordinate 1 (S)")
        ax.set_ylabel("coordinate 2 (in Sc)")
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig
