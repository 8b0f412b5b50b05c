"""Checks of chapter 01: the building blocks' stated properties (claims #2, #3; Sec. 3.1, App. B)."""

from .base import NO_MODEL, PERFORMANCE, Bar, Check

CHAPTER = "01_datasets_and_metrics"  # the chapter that records these checks

CHECKS = [
    Check(
        "datasets.bayes_exact",
        guard=NO_MODEL,
        claim=2,
        quantity="accuracy of the optimal rule, {block}",
        paper="Bayes accuracy 1",
        source="Sec. 3.1",
        kind="all_within",
        target=1.0,
        tol=0.0,
        rationale="a linear or k-slab block is separated exactly by its rule, so every sampled "
        "point must be classified correctly: no slack",
    ),
    Check(
        "datasets.bayes_noisy",
        guard=NO_MODEL,
        claim=2,
        quantity="accuracy of the sign rule, {block}",
        paper="Bayes accuracy 1 - p/2",
        source="Sec. 3.1",
        kind="all_within",
        target=None,
        tol=Bar(0.0, k=4, n_name="(n / p)"),
        rationale="target 1 - p/2; tolerance four standard errors of the sampled accuracy, "
        "fixed by n before sampling (only the round(n p) noisy points vary, each "
        "misclassified with probability 1/2): {bar}",
    ),
    Check(
        "datasets.pieces",
        guard=NO_MODEL,
        claim=2,
        quantity="linear pieces needed, {block} (label changes along x)",
        paper="k - 1 pieces for a k-slab, 1 for linear",
        source="Sec. 3.1",
        kind="all_within",
        target=None,
        tol=0.0,
        rationale="the count of label changes along a sorted noiseless sample is an integer: it "
        "must equal the printed number of pieces exactly",
    ),
    Check(
        "datasets.fit_small_k",
        guard=PERFORMANCE,
        claim=2,
        quantity="epochs of SGD to 99% training accuracy, {k}-slab (1-D), at most {cap} epochs",
        paper="small k is learned quickly by SGD (no number)",
        source="Sec. 3.1",
        kind="at_most",
        target=500,
        rationale="no number printed: 'quickly' read before any run as within App. B's epoch "
        "cap of 500 for every seed (a network that never fits reads cap + 1)",
    ),
    Check(
        "datasets.fit_growth",
        guard=PERFORMANCE,
        claim=2,
        quantity="epochs to fit the {k}-slab / epochs to fit the 5-slab",
        paper="unlike large-k periodic functions (no number)",
        source="Sec. 3.1",
        kind="at_least",
        target=2.0,
        rationale="no number printed: 'unlike large k' read as at least twice the epochs for "
        "the largest k run as for the 5-slab, every seed (a network that fits "
        "neither reads 1)",
    ),
    Check(
        "datasets.outer_probs",
        claim=3,
        quantity="outer-slab probability x (4 for the 5-slab, 8 for the 7-slab)",
        paper="1/4, 1/8",
        source="App. B",
        kind="all_within",
        target=1.0,
        tol=1e-12,
        fact=True,
        rationale="the layout stores the paper's probabilities, so this compares a constant with "
        "itself: a fact of the construction, never a reproduction",
    ),
    Check(
        "datasets.moment_gap_exact",
        guard=NO_MODEL,
        claim=3,
        quantity="|E[x²|y=+1] - E[x²|y=-1]| from the layout, {block}",
        paper="equal class-conditional variances",
        source="App. B",
        kind="at_most",
        target=1e-9,
        rationale="closed-form moments of uniform pieces: the paper asserts equality, so the "
        "gap must vanish up to float rounding (it is 0.02-0.06 with uniform slab "
        "probabilities)",
    ),
    Check(
        "datasets.moment_gap_sampled",
        guard=NO_MODEL,
        claim=3,
        quantity="|E[x²|y=+1] - E[x²|y=-1]| sampled, {block}",
        paper="equal class-conditional variances",
        source="App. B",
        kind="at_most",
        target=Bar(0.0, k=8, n_name="(n / 2)"),
        rationale="two times four standard errors of a class-conditional mean of x² (x² <= 1, "
        "so its variance is at most 1/4) on the n / 2 points of a class, fixed by n before "
        "sampling: {bar}",
    ),
]
