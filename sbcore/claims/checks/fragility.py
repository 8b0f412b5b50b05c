"""Checks of chapter 05: fragility (claims #18-#22, Fig. 4).

The paper prints shares of the l2 UAP budget on S (99.6% LMS-5, 99.9% MS-(5,7), 99.3% MNIST-CIFAR)
without defining them; the authors' code computes |delta_S| / ||delta||, whose square is our
||delta_S||² / ||delta||². The bar on our scale is the printed value squared (the lower reading).
The paper prints no accuracy after the attacks ("nullify performance"), no UAP budget, no margin
numbers and no OOD numbers: those bars are fixed before any run and say so.
"""

from .base import CHECK_DIFFERS, NOT_KNOWN, STAND_IN, TRAINED, Bar, Check
from .images import CHANCE

_NULLIFY = (
    "the paper prints no accuracy after the attack ('nullify performance'); at most 0.05 "
    "for every seed, fixed before any run"
)
_UAP_FLOOR = (
    "a label-signed UAP on MS-(5,7) must shift every 5-slab by one period, which pushes "
    "the far outer negative slab (1/16 of the points) out of the data's range: an "
    "accuracy floor near 1/16 (the authors' code left 0.066)"
)
_AS_UAP_FLOOR = (
    "AS-UAP only (found on the smoke run of the chapter, not before it): the ~1/16 of "
    "MS-(5,7) points a shift of S cannot flip (the UAP floor) keep a large loss, and "
    "gradient ascent spends its remaining steps on Sc, the only direction left to them; "
    "the SVD-UAP, built from per-example PGD, does not"
)
_GRU_SHARE = (
    "GRU only (found in the book-scale run of the chapter, not before it): the "
    "(100,10,1)-GRU's UAPs on LMS-5 put a small share of their energy off S (the record gives "
    "it), below the printed share's square, while they still nullify accuracy; where that energy goes and why "
    "the GRU differs from the FCN and CNN is not measured yet"
)
_STAND_IN_ACC = (
    "under [0, 1] clipping a label-signed UAP can raise a zero pixel for one class only; "
    "on the Fashion-MNIST stand-in the fitted UAPs flip one class and leave the other"
)
_STAND_IN_SHARE = (
    "the small CNN on the Fashion-MNIST stand-in is sensitive to the bottom block too, "
    "so gradient attacks put part of their energy on Sc"
)


# The printed shares of the l2 UAP budget on S (Table 5's text), per data set
PAPER_SHARE = {"LMS-5": "99.6%", "MS-(5,7)": "99.9%", "images": "99.3% (DenseNet121)"}

CHAPTER = "05_fragility"  # the chapter that records these checks

CHECKS = [
    Check(
        "fragility.shift.s_acc",
        learned=TRAINED,
        claim=18,
        quantity="S-randomized accuracy, {model}",
        paper="0.50 (AUC 0.49-0.51)",
        source="Sec. 4.3, Table 4",
        kind="mean_within",
        target=0.5,
        tol=CHANCE,
        rationale="chance, with Table 4's 0.49-0.51 and Fig. 3b's ± 0.01: 0.5 ± 0.02, "
        "plus three standard errors of the mean of n_seeds chance accuracies, {bar}",
    ),
    Check(
        "fragility.shift.sc_drop",
        learned=TRAINED,
        claim=18,
        quantity="accuracy lost to Sc-randomization, {model}",
        paper="negligible",
        source="Sec. 4.3, Table 2",
        kind="at_most",
        target=0.005,
        rationale="Table 2's Sc-randomized and test accuracies differ by at most 0.003 ± 0.002: "
        "every seed at most 0.005",
    ),
    Check(
        "fragility.ood_auroc",
        learned=TRAINED,
        claim=18,
        quantity="ROC-AUC of the {score} OOD score on Sc-randomized inputs, {model}",
        paper="logit/softmax detectors can fail (no number)",
        source="Sec. 4.3",
        kind="at_most",
        target=0.6,
        rationale="no number printed; 'fail' read before any run as ROC-AUC at most 0.6 (a "
        "detector barely better than a coin), every seed",
    ),
    Check(
        "fragility.margin.slope_avg",
        claim=19,
        quantity="d-exponent of the flipping budget, averaging classifier f*",
        paper="O(sqrt d): 0.5",
        source="Sec. 4.3",
        kind="all_within",
        target=0.5,
        tol=0.15,
        fact=True,
        rationale="f*'s budget is a closed form of the data: shown as a fact of the construction",
    ),
    Check(
        "fragility.margin.slope_net",
        learned=TRAINED,
        claim=19,
        quantity="d-exponent of the flipping budget, {model}",
        paper="O(1): 0",
        source="Sec. 4.3",
        kind="all_within",
        target=0.0,
        tol=0.15,
        rationale="an asymptotic statement with no number: the fitted exponent within 0 ± 0.15 "
        "for every seed (O(sqrt d) would give 0.5), fixed before any run",
    ),
    Check(
        "fragility.pgd_acc",
        learned=TRAINED,
        claim=20,
        quantity="accuracy after PGD (l2 eps = {eps:g}), {model}",
        paper="nullify performance",
        source="Sec. 4.3",
        kind="at_most",
        target=0.05,
        rationale=_NULLIFY,
    ),
    Check(
        "fragility.uap_acc",
        learned=TRAINED,
        claim=20,
        quantity="accuracy after {attack} (l2 eps = {eps:g}), {model}",
        paper="nullify performance",
        source="Sec. 4.3, Fig. 4",
        kind="at_most",
        target=0.05,
        rationale=_NULLIFY,
    ),
    Check(
        "fragility.uap_acc_ms57",
        learned=TRAINED,
        claim=20,
        quantity="accuracy after {attack} (l2 eps = {eps:g}), {model}",
        paper="nullify performance",
        source="Sec. 4.3, Fig. 4",
        kind="at_most",
        target=Bar(1 / 16 + 0.005, k=4, p=1 / 16, n_name="n_attack"),
        rationale="'nullify' on MS-(5,7), where " + _UAP_FLOOR + ": at most the floor 1/16 plus "
        "the rounding 0.005 plus four standard errors of an accuracy near 1/16 on the "
        "n_attack attacked points, {bar}",
    ),
    Check(
        "fragility.share.lms5",
        learned=TRAINED,
        claim=20,
        quantity="share of the {attack}'s l2 budget on S, {model}",
        paper=PAPER_SHARE["LMS-5"],
        source="Fig. 4",
        kind="at_least",
        target=0.992,
        rationale="printed 99.6%; read as the authors' |delta_S|/||delta||, it is 0.996² = 0.992 "
        "on our squared scale; every seed at least that",
        known_deviation=_GRU_SHARE,
        cause=NOT_KNOWN,
    ),
    Check(
        "fragility.share.ms57",
        learned=TRAINED,
        claim=20,
        quantity="share of the {attack}'s l2 budget on S, {model}",
        paper=PAPER_SHARE["MS-(5,7)"],
        source="Fig. 4",
        kind="at_least",
        target=0.998,
        rationale="printed 99.9%: 0.999² = 0.998 on our squared scale; every seed at least that",
        known_deviation=_AS_UAP_FLOOR,
        cause=CHECK_DIFFERS,
    ),
    Check(
        "fragility.image_acc",
        learned=TRAINED,
        claim=20,
        quantity="accuracy after {attack} (l2 eps = {eps:.3g}, clipped), {model}",
        paper="nullify performance",
        source="Sec. 4.3, Fig. 4",
        kind="at_most",
        target=0.05,
        rationale=_NULLIFY,
        known_deviation=_STAND_IN_ACC,
        cause=STAND_IN,
    ),
    Check(
        "fragility.share.images",
        learned=TRAINED,
        claim=20,
        quantity="share of the {attack}'s l2 budget on the top block (applied), {model}",
        paper=PAPER_SHARE["images"],
        source="Fig. 4",
        kind="at_least",
        target=0.986,
        known_deviation=_STAND_IN_SHARE,
        cause=STAND_IN,
        rationale="printed 99.3%: 0.993² = 0.986 on our squared scale; every seed at least that",
    ),
    Check(
        "fragility.transfer",
        learned=TRAINED,
        claim=21,
        quantity="accuracy under a transferred {attack} ({models})",
        paper="the same UAP across models (no number)",
        source="Sec. 4.3, Fig. 4",
        kind="at_most",
        target=0.2,
        rationale="qualitative in the paper; 'essentially the same UAP' read before any run as a "
        "transferred UAP leaving at most 0.2 accuracy, every seed and pair",
    ),
    Check(
        "fragility.contradict.follow_s",
        learned=TRAINED,
        claim=22,
        quantity="share of predictions following S when Sc contradicts it, {model}",
        paper="unchanged (discussion)",
        source="Sec. 1, 4.3",
        kind="at_least",
        target=0.99,
        rationale="discussion only; 'unchanged' read as at least 99% of predictions still "
        "following S, every seed, fixed before any run",
    ),
    Check(
        "fragility.contradict.conf_drop",
        learned=TRAINED,
        claim=22,
        quantity="drop of mean confidence when Sc contradicts S, {model}",
        paper="confidence stays high (discussion)",
        source="Sec. 1, 4.3",
        kind="at_most",
        target=0.05,
        rationale="discussion only; 'stays high' read as a mean max-softmax drop of at most 0.05, "
        "every seed, fixed before any run",
    ),
]
