"""Chapter 08's figure: accuracy of adversarially trained FCNs against the l2 budget eps on
AdvMS-(5,7), one panel per width, with the margins as vertical lines (paper Fig. 7)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import style

CURVES = {
    "acc": ("standard", style.VARIANT_COLOURS["standard"], "o", "-"),
    "robust": ("ε-robust", "#1f77b4", "s", "-"),
    "s_acc": ("S-randomized", style.VARIANT_COLOURS["S-randomized"], "v", "-"),
    "sc_acc": ("Sc-randomized", style.VARIANT_COLOURS["Sc-randomized"], "^", "--"),
}
PRINTED = "#7b3294"  # the paper's purple margin lines


def plot_fig7(
    panels: Sequence[Mapping], *, printed: tuple[float, float], computed: tuple[float, float]
) -> plt.Figure:
    """Fig. 7: one panel per width.

    ``panels``: dicts with ``title``, ``eps`` (n_eps,) and, for each key of :data:`CURVES`, an
    (n_eps, n_seeds) array (mean and sd over seeds are drawn). ``printed``: the paper's
    (gamma_S, gamma_data), purple; ``computed``: ours, grey (dashed gamma_S, solid gamma_data)."""
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(3.3 * len(panels), 2.9),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for ax, p in zip(axes[0], panels):
        eps = np.asarray(p["eps"], float)
        for key, (label, colour, marker, ls) in CURVES.items():  # Sc dashed: it may cover standard
            v = np.asarray(p[key], float)
            ax.errorbar(
                eps,
                v.mean(1),
                yerr=v.std(1),
                color=colour,
                marker=marker,
                ms=3,
                capsize=2,
                lw=1,
                ls=ls,
                label=label,
            )
        for (g_s, g_d), colour, who in ((printed, PRINTED, "paper"), (computed, "grey", "ours")):
            ax.axvline(g_s, color=colour, ls="--", lw=0.9, label=f"γ_S ({who})")
            ax.axvline(g_d, color=colour, ls="-", lw=0.9, label=f"γ_data ({who})")
        ax.set_title(p["title"])
        ax.set_xlabel("l2 budget ε (training = evaluation)")
        ax.set_ylim(-0.02, 1.04)
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, -1].legend(frameon=False, fontsize=6.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig
