"""sbcore.figures on small made-up results: every figure fits the book's column, no panel's labels
run into another panel, figures stay out of pyplot (so the inline backend never shows them on its
own), glue closes what it glued, and the scoreboard chart classifies every verdict."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from sbcore.claims import display  # noqa: E402
from sbcore.data import from_name  # noqa: E402
from sbcore.figures import (
    datasets,
    ensembles,
    fragility,
    generalization,
    randomized,  # noqa: E402
    scoreboard,
    style,
)

RNG = np.random.default_rng(0)
VERDICTS = (
    "reproduced",
    "partly checked (2 of 5 checks not run at this scale)",
    "not reproduced (1 of 3 checks fail)",
    "not run at this scale",
    "not covered yet",
    "fact of the construction",
)


def _board(n: int = 31) -> list[dict]:
    return [
        {
            "claim": i,
            "title": f"claim number {i} with a title of some length"[: 12 + i],
            "verdict": VERDICTS[i % len(VERDICTS)],
        }
        for i in range(1, n + 1)
    ]


def _variants(n=200):
    return {
        "standard": RNG.normal(3, 1, n),
        "Sc-randomized": RNG.normal(3, 1, n),
        "S-randomized": RNG.normal(0, 2, n),
    }


def _evals():
    return [
        {
            "n_updates": k * 10,
            "train": RNG.uniform(0.5, 1, 3).tolist(),
            "test": RNG.uniform(0.5, 1, 3).tolist(),
            "s_rand": RNG.uniform(0.4, 0.6, 3).tolist(),
        }
        for k in range(6)
    ]


FIGURES = {
    "blocks": lambda: datasets.plot_blocks(2000),
    "2d_views": lambda: datasets.plot_2d_views(
        [from_name(n, 300, seed=0) for n in ("LMS-5", "MS-(5,7)")]
    ),
    "bars": lambda: randomized.plot_randomized_bars(
        [
            {
                "model": f"model {i}\nLMS-5",
                "auc": RNG.uniform(0.9, 1, 3),
                "sc_auc": RNG.uniform(0.9, 1, 3),
                "s_auc": RNG.uniform(0.4, 0.6, 3),
            }
            for i in range(8)
        ]
    ),
    "logits": lambda: randomized.plot_logit_histograms(
        {"LMS-5, (100,1)-FCN": _variants(), "MS-(5,7), (100,1)-FCN": _variants()}
    ),
    "decision_maps": lambda: randomized.plot_decision_maps(
        {t: RNG.uniform(size=(40, 40)) for t in ("LMS-5, (100,1)-FCN", "MS-(5,7), (100,1)-FCN")},
        ylabels={
            "LMS-5, (100,1)-FCN": "Sc coordinate 17 (most influential)",
            "MS-(5,7), (100,1)-FCN": "Sc coordinate 4 (most influential)",
        },
    ),
    "size_sweep": lambda: ensembles.plot_size_sweep(
        [100, 1000, 10000],
        [RNG.uniform(0.6, 0.9, 6) for _ in range(3)],
        {5: [RNG.uniform(0.6, 0.9, 2) for _ in range(3)]},
        chosen=1000,
    ),
    "ensemble_sizes": lambda: ensembles.plot_ensemble_sizes(
        {"MS-5": ([1, 5, 10], RNG.uniform(0.6, 0.9, (3, 4)))}
    ),
    "reliance": lambda: ensembles.plot_reliance(
        {"MS-5": RNG.uniform(0, 0.3, (5, 50)), "noisy LMS-7": RNG.uniform(0, 0.3, (5, 50))}
    ),
    "robust": lambda: fragility.plot_robust_curves(
        np.linspace(0, 1, 5), {"FCN": RNG.uniform(size=(3, 5))}, budget=0.5, title="LMS-5"
    ),
    "budget_d": lambda: fragility.plot_budget_vs_d(
        [10, 50, 100], {"f*": RNG.uniform(1, 2, (3, 3))}
    ),
    "uap_heatmaps": lambda: fragility.plot_uap_heatmaps(
        {f"LMS-5, FCN, UAP {i}": RNG.normal(size=50) for i in range(4)}
    ),
    "confidence": lambda: fragility.plot_confidence(
        {
            "LMS-5, FCN": {
                "originals": RNG.uniform(0.5, 1, 100),
                "Sc contradicts S": RNG.uniform(0.5, 1, 100),
            },
            "MS-(5,7), FCN": {
                "originals": RNG.uniform(0.5, 1, 100),
                "Sc contradicts S": RNG.uniform(0.5, 1, 100),
            },
        }
    ),
    "uap_images": lambda: fragility.plot_uap_images(
        {"SVD-UAP, CNN": RNG.normal(size=(1, 64, 32)), "AS-UAP, CNN": RNG.normal(size=(1, 64, 32))}
    ),
    "curves": lambda: generalization.plot_training_curves(
        {"FCN, weight decay 0": _evals(), "FCN, weight decay 0.05": _evals()}, bayes=0.95
    ),
    "grid": lambda: generalization.plot_grid_scatter(
        [{"model": "FCN", "val": 0.9, "test": 0.9}, {"model": "CNN", "val": 0.8, "test": 0.85}]
    ),
    "verdicts": lambda: scoreboard.plot_verdicts(_board()),
    "verdict_strip": lambda: scoreboard.plot_verdict_strip(_board()),
}


def _extents(fig):
    """Each visible axes' full extent (ticks, labels, title) in display units, after drawing."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    return [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible() and ax.axison]


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_column_and_no_panel_runs_into_another(name):
    n_before = len(plt.get_fignums())
    fig = FIGURES[name]()
    assert fig.get_figwidth() <= style.COLUMN_WIDTH + 1e-9
    assert len(plt.get_fignums()) == n_before, (
        "a figure function registered its figure with pyplot"
    )
    boxes = _extents(fig)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_w <= 1 or overlap_h <= 1, f"{name}: two panels overlap ({a} and {b})"


def test_glue_closes_a_pyplot_figure_so_it_is_shown_once():
    fig = plt.figure()
    assert plt.fignum_exists(fig.number)
    assert display.glue("a_figure", fig) is fig
    assert not plt.fignum_exists(fig.number)
    assert display.glue("a_number", 3) == 3


def test_verdict_classes_and_colours():
    assert scoreboard.verdict_class("partly checked (1 of 2 checks not run)") == "partly checked"
    assert scoreboard.verdict_class("not reproduced (known: ...)") == "not reproduced"
    with pytest.raises(ValueError):
        scoreboard.verdict_class("maybe")
    with pytest.raises(ValueError):
        scoreboard.plot_verdicts([])
    assert len(set(scoreboard.VERDICT_COLOURS.values())) == len(scoreboard.VERDICT_COLOURS)


def test_the_verdict_chart_draws_one_box_per_claim_with_its_colour():
    from matplotlib.colors import to_hex

    rows = _board()
    for fig in (scoreboard.plot_verdicts(rows), scoreboard.plot_verdict_strip(rows)):
        boxes = fig.axes[0].patches
        assert len(boxes) == 31
        drawn = sorted(to_hex(b.get_facecolor()) for b in boxes)
        want = sorted(
            scoreboard.VERDICT_COLOURS[scoreboard.verdict_class(r["verdict"])] for r in rows
        )
        assert drawn == want


def test_testbed_heatmap_text_is_readable_and_has_no_signed_zero():
    from sbcore.figures import testbed as tfig

    assert [tfig.signed_text(v) for v in (0.123, -0.004, 0.0049, -0.0, -0.51)] == [
        "+0.12",
        "0.00",
        "0.00",
        "0.00",
        "-0.51",
    ]
    cols = [("a", "A", 1), ("b", "B", -1)]
    fig = tfig.plot_moves({"m": {"a": 0.2, "b": float("nan")}}, {"m": {"a": 0.01, "b": 0.0}}, cols)
    texts = [t for t in fig.axes[0].texts]
    assert [t.get_text() for t in texts] == ["+0.20", "—"]
    assert min(t.get_fontsize() for t in texts) >= 8
