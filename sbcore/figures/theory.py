"""Figures of chapter 00: the stylized picture (paper Fig. 1) and Theorem 1's weights against d."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.theory import TheoremRun, reference_rates
from .style import NEG, POS, VARIANT_COLOURS

PIECEWISE = "#ff7f0e"  # the paper draws the larger-margin boundary in orange
_LOG = {4: "log⁴ d", 2: "log² d"}


def plot_stylized(
    z: np.ndarray,
    y: np.ndarray,
    grid: np.ndarray,
    scores: np.ndarray,
    polyline: np.ndarray,
    *,
    margins: dict[str, float] | None = None,
) -> plt.Figure:
    """Fig. 1: the data in the (phi_1, phi_2) plane, the network's boundary (black, score = 0)
    and the four-piece boundary (orange).

    Args: z (n, 2) points; y (n,) in {0, 1}; grid (G,); scores (G, G) with rows over phi_2;
    polyline (V, 2); margins: optional {"network": m1, "four pieces": m2} for the legend.
    """
    margins = margins or {}
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    for cls, colour, label in ((0, NEG, "y = −1"), (1, POS, "y = +1")):
        pts = z[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=4, color=colour, alpha=0.5, lw=0, label=label)
    ax.contour(grid, grid, scores, levels=[0.0], colors="black", linewidths=1.8)
    net = "network's boundary" + (
        f" (margin {margins['network']:.3f})" if "network" in margins else ""
    )
    ax.plot([], [], color="black", lw=1.8, label=net)
    piece = "four-piece boundary" + (
        f" (margin {margins['four pieces']:.3f})" if "four pieces" in margins else ""
    )
    ax.plot(polyline[:, 0], polyline[:, 1], color=PIECEWISE, lw=2.2, label=piece)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(grid[0], grid[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("φ₁ (linear, simple)")
    ax.set_ylabel("φ₂ (five bands, complex)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def _log_d_axis(ax, d: np.ndarray) -> None:
    """Log-scaled d axis labelled at the simulated dimensions only."""
    ax.set_xscale("log")
    ax.set_xticks(d, [str(int(v)) for v in d])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel("input dimension d")


def _band(ax, d, values, colour, style, label):
    mean, sd = values.mean(1), values.std(1)
    ax.plot(d, mean, style, color=colour, lw=1.6, ms=4, label=label)
    ax.fill_between(d, np.maximum(mean - sd, 1e-12), mean + sd, color=colour, alpha=0.15, lw=0)


def plot_theorem(run: TheoremRun) -> plt.Figure:
    """Theorem 1 simulated: (a) |w_1j|, |w_2j|, ||w_{3:d,j}|| (means over units; mean +- sd over
    seeds) against d on log-log axes beside the theorem's rates (grey, constants set to 1);
    (b) the ratio mean|w_1j| / mean|w_2j| with a sqrt(d) guide; (c) test accuracy and the
    x_1- and x_2-randomized accuracies. Solid: the theorem's init; dashed: Lemma 1's."""
    d = np.asarray(run.dims, dtype=float)
    ref = reference_rates(d, run.k)
    colours = {"w1_mean": "#1f77b4", "w2_mean": "#d62728", "noise_mean": "#2ca02c"}
    names = {"w1_mean": "|w₁ⱼ|", "w2_mean": "|w₂ⱼ|", "noise_mean": "‖w₃:d,ⱼ‖"}
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.0))
    ax = axes[0]
    for i, p in enumerate(run.log_powers):
        style = "o-" if i == 0 else "s--"
        for key, colour in colours.items():
            _band(
                ax,
                d,
                run.arrays[key][:, :, i],
                colour,
                style,
                f"{names[key]}, init {_LOG[p]}" if key == "w2_mean" or i == 0 else None,
            )
    for key, rate in (("w1_mean", "w1"), ("w2_mean", "w2"), ("noise_mean", "noise")):
        ax.plot(d, ref[rate], ":", color="grey", lw=1.2)
    init = run.arrays["w2_init"][:, :, 0].mean(1)
    ax.plot(d, init, "-", color="#d62728", lw=0.8, alpha=0.6, label="|w₂ⱼ| at init (log⁴ d)")
    ax.plot([], [], ":", color="grey", label="theorem's rates (constant 1)")
    ax.set(yscale="log", ylabel="weight (mean over units)", title="(a) weights against d")
    _log_d_axis(ax, d)
    ax.legend(frameon=False, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax = axes[1]
    for i, p in enumerate(run.log_powers):
        ratio = run.arrays["w1_mean"][:, :, i] / run.arrays["w2_mean"][:, :, i]
        _band(
            ax,
            d,
            ratio,
            "#9467bd" if i == 0 else "#8c564b",
            "o-" if i == 0 else "s--",
            f"init {_LOG[p]}",
        )
    first = (run.arrays["w1_mean"][0, :, 0] / run.arrays["w2_mean"][0, :, 0]).mean()
    ax.plot(d, first * np.sqrt(d / d[0]), ":", color="grey", label="∝ √d")
    ax.set(yscale="log", ylabel="|w₁ⱼ| / |w₂ⱼ|", title="(b) linear over slab weight")
    _log_d_axis(ax, d)
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    ax = axes[2]
    for key, colour, style, label in (
        ("acc", VARIANT_COLOURS["standard"], "o-", "test accuracy"),
        ("x2_acc", VARIANT_COLOURS["Sc-randomized"], "^--", "x₂ (slab) randomized"),
        ("x1_acc", VARIANT_COLOURS["S-randomized"], "o-", "x₁ (linear) randomized"),
    ):
        _band(ax, d, run.arrays[key][:, :, 0], colour, style, label)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set(ylim=(0.4, 1.05), ylabel="accuracy (init log⁴ d)", title="(c) which coordinate is used")
    _log_d_axis(ax, d)
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.tight_layout()
    return fig
