"""Chapter 10's figure: which method moves which pitfall, at a glance (a heat map of each method's
difference from vanilla SGD, signed so that the mitigating direction is always positive)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

from . import style  # noqa: F401  (the book's rcParams)


def signed_text(v: float) -> str:
    """``+0.12`` / ``-0.12``, and ``0.00`` (no sign) for what rounds to zero."""
    text = f"{v:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


def plot_moves(
    deltas: Mapping[str, Mapping[str, float]],
    noise: Mapping[str, Mapping[str, float]],
    columns: Sequence[tuple[str, str, int]],
    *,
    limit: float = 0.5,
    floor: float = 0.01,
    flags: Mapping[str, Sequence[str]] | None = None,
) -> plt.Figure:
    """Heat map of methods (rows) x scorecard columns.

    ``deltas[method][key]``: mean difference from vanilla; ``noise[method][key]``: its standard
    error over seeds; ``columns``: (key, label, better) with better = +1 when up mitigates
    simplicity bias and -1 when down does. A cell's colour is ``better * delta`` (blue: towards
    mitigation, red: away from it; clipped at ``limit``), its text the signed difference itself;
    a cell within twice its standard error, or within ``floor``, is shown pale with the text in
    grey ("within noise"); "—" where no difference is taken (NaN: the models did not train). ``flags[method]``: columns whose value carries a caveat, marked "*".
    """
    names = list(deltas)
    keys = [c[0] for c in columns]
    shape = (len(names), len(keys))  # no method scored beside vanilla: an empty map, not a crash
    d = np.array([[deltas[n].get(k, np.nan) for k in keys] for n in names], float).reshape(shape)
    se = np.array([[noise[n].get(k, 0.0) for k in keys] for n in names], float).reshape(shape)
    signed = d * np.array([c[2] for c in columns])[None]
    clear = np.abs(d) > np.maximum(2 * se, floor)
    shown = np.where(clear, signed, signed * 0.25)  # within noise: pale
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(keys), 1.9 + 0.42 * len(names)))
    im = ax.imshow(
        np.clip(np.nan_to_num(shown), -limit, limit),
        cmap="RdBu",
        norm=TwoSlopeNorm(0.0, -limit, limit),
        aspect="auto",
    )
    for i in range(len(names)):
        for j in range(len(keys)):
            txt = "—" if np.isnan(d[i, j]) else signed_text(d[i, j])
            txt += "*" if keys[j] in (flags or {}).get(names[i], ()) else ""
            dark = abs(np.nan_to_num(shown[i, j])) > 0.6 * limit  # white on the deepest colours
            ax.text(
                j,
                i,
                txt,
                ha="center",
                va="center",
                fontsize=8.5,
                color=("white" if dark else "black") if clear[i, j] else "#6b6b6b",
            )
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(
        [f"{c[1]} {'↑' if c[2] > 0 else '↓'}" for c in columns],
        rotation=40,
        ha="right",
        fontsize=8,
    )
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.spines[:].set_visible(False)
    cb = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    cb.ax.tick_params(labelsize=7.5)
    ax.set_title(
        "difference from vanilla SGD; blue: towards mitigation, red: away, pale: within noise",
        fontsize=8,
        loc="left",
    )
    fig.tight_layout()
    return fig
