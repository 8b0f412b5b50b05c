"""Figures of the randomized metrics (chapters 02 and 03): Table 4 as bars, the logits of true
positives (paper Fig. 3a), decision maps over S and one Sc coordinate (paper Fig. 3c), and the
recipe study behind chapter 02's paper preset (test accuracy over epochs per model and recipe)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .style import REFERENCE, STANDARD, VARIANT_COLOURS, S, new_figure


def plot_logit_histograms(
    panels: Mapping[str, Mapping[str, np.ndarray]], *, bins: int = 60
) -> Figure:
    """Fig. 3a: scores (logit_1 - logit_0) of true positives, standard vs S-/Sc-randomized.

    ``panels``: title -> {"standard": scores, "Sc-randomized": ..., "S-randomized": ...}, each
    (n,) float; one panel per title, histograms normalized to unit area."""
    fig, axes = new_figure(width=3.2 * len(panels), height=2.5, ncols=len(panels), squeeze=False)
    for ax, (title, variants) in zip(axes[0], panels.items()):
        allv = np.concatenate([np.asarray(v) for v in variants.values()])
        edges = np.linspace(np.percentile(allv, 0.5), np.percentile(allv, 99.5), bins + 1)
        for name, v in variants.items():
            ax.hist(
                v,
                edges,
                histtype="step",
                lw=1.5,
                color=VARIANT_COLOURS.get(name),
                label=f"{name} test set",
                density=True,
            )
        ax.axvline(0, color=REFERENCE, lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("score of a true positive (logit₊ − logit₋)")
        ax.set_yticks([])
    axes[0, 0].set_ylabel("share of true positives")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig


def plot_decision_maps(
    maps: Mapping[str, np.ndarray],
    *,
    xlabel: str = "S coordinate",
    ylabels: Mapping[str, str] | None = None,
) -> Figure:
    """Fig. 3c: P(y = +1) over a grid of (S, most influential Sc coordinate).

    ``maps``: title -> (n_grid, n_grid) array with rows over the Sc coordinate, columns over S,
    both spanning [-1, 1]; ``ylabels``: title -> the vertical axis' label of that panel."""
    fig, axes = new_figure(width=2.9 * len(maps) + 0.6, height=2.9, ncols=len(maps), squeeze=False)
    im = None
    for ax, (title, grid) in zip(axes[0], maps.items()):
        im = ax.imshow(
            grid,
            origin="lower",
            extent=(-1, 1, -1, 1),
            cmap="RdBu_r",
            vmin=0,
            vmax=1,
            aspect="equal",
        )
        ax.contour(
            np.linspace(-1, 1, grid.shape[1]),
            np.linspace(-1, 1, grid.shape[0]),
            grid,
            levels=[0.5],
            colors="k",
            linewidths=1,
        )
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel((ylabels or {}).get(title, "most influential Sc coordinate"))
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85, label="P(y = +1), black: 0.5")
    return fig


def plot_randomized_bars(
    rows: Sequence[Mapping], *, metric: str = "auc", title: str = ""
) -> Figure:
    """Standard / Sc-randomized / S-randomized AUC (or accuracy) per model, mean ± std.

    ``rows``: dicts with keys ``model``, ``<metric>``, ``sc_<metric>``, ``s_<metric>`` holding
    per-seed arrays."""
    names = [r["model"] for r in rows]
    keys = [
        (metric, "standard"),
        (f"sc_{metric}", "Sc-randomized"),
        (f"s_{metric}", "S-randomized"),
    ]
    x = np.arange(len(names))
    fig, ax = new_figure(width=1.2 + 0.75 * len(names), height=2.8)
    for i, (key, label) in enumerate(keys):
        vals = [np.asarray(r[key]) for r in rows]
        ax.bar(
            x + (i - 1) * 0.27,
            [v.mean() for v in vals],
            0.27,
            yerr=[v.std() for v in vals],
            color=VARIANT_COLOURS[label],
            label=f"{label} test set",
            capsize=2,
        )
    ax.axhline(0.5, color=REFERENCE, lw=0.8, ls=":", label="chance")
    ax.set_xticks(
        x,
        names,
        rotation=30 if len(names) > 4 else 0,
        ha="right" if len(names) > 4 else "center",
        fontsize=7,
    )
    ax.set_ylabel("test AUC" if metric == "auc" else f"test {metric}")
    ax.set_ylim(0, 1.05)
    if title:
        ax.set_title(title)
    fig.legend(loc="outside upper center", ncols=4)
    return fig


def plot_recipe_study(record: Mapping) -> Figure:
    """Test accuracy (black) and S-randomized test accuracy (orange) over epochs, one thin line
    per seed, one row per model and one panel per recipe tried on it (``record``: a study as
    :func:`sbcore.experiments.recipe_records.load_study` returns it). A seed that learned the 5-slab
    climbs to 1 in black while its orange line stays at chance; one that learned nothing stays at
    0.5 in both."""
    models = list(dict.fromkeys(r["model"] for r in record["rows"]))
    per_model = {m: [r for r in record["rows"] if r["model"] == m] for m in models}
    n_cols = max(len(v) for v in per_model.values())
    fig, axes = new_figure(
        height=1.45 * len(models) + 0.5,
        nrows=len(models),
        ncols=n_cols,
        sharey=True,
        squeeze=False,
    )  # x not shared: runs differ in length
    for i, m in enumerate(models):
        for j in range(n_cols):
            ax = axes[i, j]
            if j >= len(per_model[m]):
                ax.set_axis_off()
                continue
            row = per_model[m][j]
            for key, colour in (("s_rand", S), ("test", STANDARD)):
                curves = np.array(row["curves"][key])  # (epochs, seeds)
                ax.plot(np.arange(1, len(curves) + 1), curves, color=colour, lw=0.7, alpha=0.8)
            ax.axhline(0.5, color=REFERENCE, lw=0.6, ls=":")
            ax.set_title(
                f"{m}\n{row['recipe']}: {sum(row['trained'])}/{record['seeds']} trained",
                fontsize=7.5,
            )
            ax.set_ylim(0.4, 1.03)
        axes[i, 0].set_ylabel("accuracy")
    for ax in axes[-1, : len(per_model[models[-1]])]:
        ax.set_xlabel("epoch")
    handles = [
        plt.Line2D([], [], color=STANDARD, lw=1),
        plt.Line2D([], [], color=S, lw=1),
        plt.Line2D([], [], color=REFERENCE, lw=0.8, ls=":"),
    ]
    fig.legend(
        handles,
        ["test accuracy (one line per seed)", "S-randomized test accuracy", "chance"],
        loc="outside lower center",
        ncols=3,
    )
    return fig


def plot_long_run(records: Sequence[Mapping]) -> Figure:
    """Train (grey), test (black) and S-randomized test accuracy (orange) over the epochs of a
    recorded long run, one line per seed (``records``: as
    :func:`sbcore.experiments.longruns.load_wide_app_b` returns them). Memorization shows as the
    grey line climbing to 1 while the other two stay at chance."""
    fig, ax = new_figure(height=2.4)
    for rec in records:
        t = rec["trajectory"]
        ep = [p["epoch"] for p in t]
        for key, colour, lw in (
            ("train", REFERENCE, 1.2),
            ("test", STANDARD, 0.9),
            ("s_rand", S, 0.9),
        ):
            ax.plot(ep, [p[key] for p in t], color=colour, lw=lw, alpha=0.85)
    ax.axhline(0.5, color=REFERENCE, lw=0.6, ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.03)
    handles = [plt.Line2D([], [], color=c, lw=1) for c in (REFERENCE, STANDARD, S)]
    ax.legend(handles, ["train", "test", "S-randomized test"], loc="center right")
    return fig
