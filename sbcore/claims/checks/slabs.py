"""Checks of chapter 02: extreme SB on slab data (claims #5-#10, synthetic halves of #7, #18).

Bars from the printed numbers: Table 4 prints S-randomized AUCs of 0.49-0.51 (two decimals, no ±;
Fig. 3b prints the same with ± 0.01) and Sc-randomized AUC 1.00 (so >= 0.995 before rounding).
"""

from ...models.specs import TABLE4_MODELS
from .base import DISAGREES, PERFORMANCE, TRAINED, Check

_S_AUC = dict(
    kind="mean_within",
    target=0.5,
    tol=0.02,
    rationale="Table 4 prints 0.49-0.51 and Fig. 3b 0.49-0.50 ± 0.01: the mean over seeds "
    "within 0.5 ± 0.02 covers every printed value and its spread",
)
_SC_AUC = dict(
    kind="at_least",
    target=0.995,
    rationale="printed 1.00 (± 0.00 in Fig. 3b): at least 0.995, which rounds to 1.00, "
    "for every seed",
)

_SHUFFLE = (
    "the paper shows histograms only: S-randomization moves the true positives' scores "
    "onto the whole test set's (both classes), read before any run as a two-sample KS "
    "distance below its 0.1% critical value plus 0.02 of read-off slack, "
    "1.95 sqrt((n_tp + n) / (n_tp n)) + 0.02 at the smallest n_tp of the seeds "
    "(shuffle_bar), every seed"
)


def shuffle_bar(n_tp, n) -> float:
    """The bar of #7's shuffle check (``_SHUFFLE``): n_tp, n one per seed."""
    import math

    return max(1.95 * math.sqrt((a + b) / (a * b)) for a, b in zip(n_tp, n)) + 0.02


_MEMORIZE = (
    "the (2000,1)-FCN memorizes MS-(5,7) at d = 250 (train accuracy 1.00, test at chance) "
    "instead of learning S, with the book's momentum recipe and with App. B's plain SGD "
    "(the recorded long run of chapter 02, docs/results/wide-fcn-app-b); the paper "
    "states no sample size"
)

# Table 4 as printed (synthetic rows): S-randomized AUC per model; Sc-randomized AUC is 1.00.
PAPER_S_AUC = {
    "LMS-5": dict(zip(TABLE4_MODELS, ("0.50", "0.49", "0.50", "0.50", "0.51", "0.50"))),
    "MS-(5,7)": dict(zip(TABLE4_MODELS, ("0.50",) * 6)),
}
# the wide FCNs of Fig. 3b as printed: (S-randomized AUC, Sc-randomized AUC) per (data, |Sc|)
PAPER_WIDE = {
    ("LMS", 49): ("0.50±0.01", "1.00±0.00"),
    ("LMS", 249): ("0.50±0.01", "1.00±0.00"),
    ("MS", 49): ("0.49±0.01", "1.00±0.00"),
    ("MS", 249): ("0.50±0.01", "1.00±0.00"),
}


CHAPTER = "02_extreme_sb_slabs"  # the chapter that records these checks

CHECKS = [
    Check(
        "slabs.lms5.s_auc",
        learned=TRAINED,
        claim=5,
        quantity="S-randomized AUC, {model}",
        paper="0.49-0.51",
        source="Table 4",
        **_S_AUC,
    ),
    Check(
        "slabs.lms5.sc_auc",
        learned=TRAINED,
        claim=5,
        quantity="Sc-randomized AUC, {model}",
        paper="1.00",
        source="Table 4",
        **_SC_AUC,
    ),
    Check(
        "slabs.ms57.s_auc",
        learned=TRAINED,
        claim=6,
        quantity="S-randomized AUC, {model}",
        paper="0.50",
        source="Table 4",
        **_S_AUC,
    ),
    Check(
        "slabs.ms57.sc_auc",
        learned=TRAINED,
        claim=6,
        quantity="Sc-randomized AUC, {model}",
        paper="1.00",
        source="Table 4",
        **_SC_AUC,
    ),
    Check(
        "slabs.logits_ks",
        learned=TRAINED,
        claim=7,
        quantity="KS(standard, Sc-randomized) of true-positive scores, {model}",
        paper="essentially overlap (no number)",
        source="Fig. 3a",
        kind="at_most",
        target=0.05,
        rationale="the paper prints histograms only; 'essentially overlap' read before any run as "
        "no gap above 5 points between the two CDFs, for every seed",
    ),
    Check(
        "slabs.logits_shuffle",
        learned=TRAINED,
        claim=7,
        quantity="KS(S-randomized true-positive scores, all test scores), {model}",
        paper="S-randomized scores spread over both classes (no number)",
        source="Table 1, Fig. 3a",
        kind="at_most",
        target=None,
        rationale=_SHUFFLE,
    ),
    Check(
        "slabs.boundary_share",
        learned=TRAINED,
        claim=8,
        quantity="variance share of the decision map along S, {model}",
        paper="depends only on S (no number)",
        source="Fig. 3c",
        kind="at_least",
        target=0.95,
        rationale="the paper shows pictures only; 'depends only on S' read before any run as at "
        "least 95% of the map's variance along the S axis, for every seed",
    ),
    Check(
        "slabs.wide.s_auc",
        learned=TRAINED,
        claim=9,
        quantity="S-randomized AUC, {model}, |Sc| = {n_sc}",
        paper="0.49-0.50 ± 0.01",
        source="Fig. 3b",
        **_S_AUC,
        known_deviation=_MEMORIZE,
        cause=DISAGREES,
    ),
    Check(
        "slabs.wide.sc_auc",
        learned=TRAINED,
        claim=9,
        quantity="Sc-randomized AUC, {model}, |Sc| = {n_sc}",
        paper="1.00 ± 0.00",
        source="Fig. 3b",
        **_SC_AUC,
        known_deviation=_MEMORIZE,
        cause=DISAGREES,
    ),
    Check(
        "slabs.no_s.acc",
        guard=PERFORMANCE,
        claim=10,
        quantity="test accuracy without S, {model}",
        paper="≈ 100%",
        source="Sec. 4.2, App. D.1",
        kind="at_least",
        target=0.99,
        rationale="'reach 100%' with no ± printed: at least 0.99 for every seed",
    ),
    Check(
        "slabs.shift.s_drop",
        learned=TRAINED,
        claim=18,
        quantity="AUC lost to S-randomization, {model}",
        paper="AUC 1.00 -> 0.49-0.51",
        source="Sec. 4.3, Table 4",
        kind="at_least",
        target=0.47,
        rationale="standard AUC >= 0.995 and S-randomized AUC <= 0.52 (Table 4's range plus its "
        "rounding and Fig. 3b's ± 0.01) leave a drop >= 0.475; every seed >= 0.47",
    ),
    Check(
        "slabs.shift.sc_drop",
        learned=TRAINED,
        claim=18,
        quantity="AUC lost to Sc-randomization, {model}",
        paper="none: 1.00 -> 1.00",
        source="Sec. 4.3, Table 4",
        kind="at_most",
        target=0.005,
        rationale="both AUCs are printed 1.00, so they differ by less than the rounding, 0.005",
    ),
]
