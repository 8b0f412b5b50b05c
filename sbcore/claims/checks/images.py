"""Checks of chapter 03: extreme SB on image dominoes (claims #11, #12, image halves of #7, #18).

Bars from Tables 4, 5 and 11: MNIST-randomized AUC 0.50-0.54 with ± up to 0.03 (largest 0.54 ±
0.01), standard and CIFAR-randomized AUC 1.00 ± 0.00, MNIST-randomized accuracy 0.493-0.501 ± up
to 0.005 (Table 11's column, read as MNIST-randomized), CIFAR-only GoogLeNet 95.4%.
"""

from .base import PERFORMANCE, TRAINED, Bar, Check
from .base import STAND_IN as STAND_IN_DATA

# A mean-over-seeds accuracy at chance: the paper's ± 0.02 plus three standard errors of the mean
# of n_seeds chance accuracies (also chapter 05's S-randomized accuracy, #18)
CHANCE = Bar(0.02, k=3)

_STAND_IN = (
    "on the Fashion-MNIST stand-in the small CNN also reads the bottom block a little "
    "(its S-randomized AUC stays above 0.5, chapter 05 measures why); the bar is the "
    "paper's, for MNIST-CIFAR"
)
_S_AUC = dict(
    kind="at_most",
    target=0.55,
    known_deviation=_STAND_IN,
    cause=STAND_IN_DATA,
    rationale="Table 5's largest MNIST-randomized AUC is 0.54 ± 0.01: every seed at most 0.55",
)
_S_ACC = dict(
    kind="mean_within",
    target=0.5,
    tol=CHANCE,
    rationale="Table 11 prints 0.493-0.501 ± up to 0.005 (its column is MNIST-randomized), "
    "which 0.5 ± 0.02 covers; plus three standard errors of the mean of n_seeds chance "
    "accuracies: {bar}",
)
_SC_AUC = dict(
    kind="at_least",
    target=0.995,
    rationale="printed 1.00 ± 0.00: at least 0.995 (rounds to 1.00) for every seed",
)
_SC_GAP = dict(
    kind="at_most",
    target=0.01,
    rationale="test accuracies print as 0.999-1.000 and CIFAR-randomized AUC as 1.00, so "
    "randomizing the CIFAR block moves accuracy by less than the two roundings, "
    "0.01, for every seed",
)


def block_alone_bar(source: str, probe_sc: float) -> float:
    """#11's block-alone bar: 0.944 on MNIST-CIFAR, else the linear probe's accuracy on the
    bottom block of the same data (see the check's rationale)."""
    return 0.944 if source.startswith("MNIST-CIFAR") else float(probe_sc)


CHAPTER = "03_extreme_sb_images"  # the chapter that records these checks

CHECKS = [
    Check(
        "images.a.s_acc",
        learned=TRAINED,
        claim=11,
        quantity="S-randomized accuracy, {model}",
        paper="0.493-0.501",
        source="Table 11",
        **_S_ACC,
    ),
    Check(
        "images.a.s_auc",
        learned=TRAINED,
        claim=11,
        quantity="S-randomized AUC, {model}",
        paper="0.50-0.52",
        source="Table 4",
        **_S_AUC,
    ),
    Check(
        "images.a.sc_auc",
        learned=TRAINED,
        claim=11,
        quantity="Sc-randomized AUC, {model}",
        paper="1.00",
        source="Table 4",
        **_SC_AUC,
    ),
    Check(
        "images.a.sc_gap",
        learned=TRAINED,
        claim=11,
        quantity="|Sc-randomized - standard accuracy|, {model}",
        paper="0 (invariant to CIFAR)",
        source="Sec. 4.2",
        **_SC_GAP,
        cause=STAND_IN_DATA,
        known_deviation="on the stand-in the small CNN also reads the bottom block a little "
        "(its S-randomized AUC stays above 0.5), so shuffling that block can move "
        "accuracy by a point (found in a smoke run with the real-MNIST top block, "
        "not before it)",
    ),
    Check(
        "images.block_alone",
        guard=PERFORMANCE,
        claim=11,
        quantity="test accuracy on the Sc block alone, {model}",
        paper="95.4% (GoogLeNet, CIFAR automobile vs truck)",
        source="Sec. 4.2",
        kind="at_least",
        target=None,
        rationale="on MNIST-CIFAR: 95.4% is printed once without ±, every seed at least one "
        "point below it, 0.944; on the stand-in that CIFAR number says nothing about a "
        "Fashion-MNIST pair, so 'the complex block alone is predictive' is asked "
        "against the stand-in's own level: every seed at least as accurate as a linear "
        "probe on the same bottom block, measured in the same run (block_alone_bar)",
    ),
    Check(
        "images.pair.s_auc",
        learned=TRAINED,
        claim=12,
        quantity="S-randomized AUC, {model}, pair {pair}",
        paper="0.50-0.54",
        source="Table 5",
        **_S_AUC,
    ),
    Check(
        "images.pair.sc_auc",
        learned=TRAINED,
        claim=12,
        quantity="Sc-randomized AUC, {model}, pair {pair}",
        paper="1.00 ± 0.00",
        source="Table 5",
        **_SC_AUC,
    ),
    Check(
        "images.logits_ks",
        learned=TRAINED,
        claim=7,
        quantity="KS(standard, Sc-randomized) of true-positive scores, {model}",
        paper="essentially overlap (no number)",
        source="Fig. 3a",
        kind="at_most",
        target=0.05,
        known_deviation=_STAND_IN,
        cause=STAND_IN_DATA,
        rationale="as for the slabs: no gap above 5 points between the two CDFs, every seed",
    ),
    Check(
        "images.logits_shuffle",
        learned=TRAINED,
        claim=7,
        quantity="KS(S-randomized true-positive scores, all test scores), {model}",
        paper="S-randomized scores spread over both classes (no number)",
        source="Table 1, Fig. 3a",
        kind="at_most",
        target=None,
        known_deviation=_STAND_IN,
        cause=STAND_IN_DATA,
        rationale="as for the slabs (checks.slabs.shuffle_bar), every seed",
    ),
    Check(
        "images.shift.s_drop",
        learned=TRAINED,
        claim=18,
        quantity="AUC lost to S-randomization, {model}",
        paper="AUC 1.00 -> 0.50-0.54",
        source="Sec. 4.3, Table 5",
        kind="at_least",
        target=0.445,
        known_deviation=_STAND_IN,
        cause=STAND_IN_DATA,
        rationale="standard AUC >= 0.995 and MNIST-randomized AUC <= 0.55 (0.54 ± 0.01) leave a "
        "drop of at least 0.445 for every seed",
    ),
    Check(
        "images.shift.sc_drop",
        learned=TRAINED,
        claim=18,
        quantity="AUC lost to Sc-randomization, {model}",
        paper="none: 1.00 -> 1.00",
        source="Sec. 4.3, Table 5",
        kind="at_most",
        target=0.005,
        rationale="both AUCs are printed 1.00 ± 0.00: they differ by less than the rounding",
    ),
]
