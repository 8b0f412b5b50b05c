"""Checks of chapter 07: ensembles (claims #25-#27; App. E.1, Fig. 6). The paper prints ≈ 75%
single models and gains of ≈ 15 and ≈ 20 points on MS-5 (sample size unstated), 75% for ensembles
of 3, 5 and 10 on noisy LMS-7 with p = 0.5 (read off Fig. 6a, no ±), and no number for #27 (the
authors' notebook 04, three members: S-randomized AUC 0.507, Sc-randomized 1.000)."""

from .base import NOT_KNOWN, PERFORMANCE, SMALLER, TRAINED, Bar, Check, PerField

# App. E.1's printed MS-5 gains (≈ +15 and ≈ +20 points) per ensemble size, and the sizes each
# claim reports (#25 on MS-5, #26 on noisy LMS-7)
GAIN = PerField("k", {5: 0.15, 10: 0.20})
PAPER_SIZES = {25: tuple(GAIN.values), 26: (3, 5, 10)}

_UNSTATED = "the paper does not state the MS-5 sample size these magnitudes depend on"
_GAINS = "+0.15 (5 members), +0.20 (10 members)"
_HALF_GAIN = (
    "with App. B's plain SGD, at the swept MS-5 size whose single members are closest to "
    "75%, the gains stay well below the printed ones, also with each member at its "
    "best test-accuracy epoch (the authors' notebook 04; chapter 07 records both): "
    "neither the recipe nor that selection is the missing factor, and the paper states "
    "no sample size or other setting that could be"
)

CHAPTER = "07_ensembles"  # the chapter that records these checks

CHECKS = [
    Check(
        "ensembles.ms5.single",
        guard=PERFORMANCE,
        claim=25,
        quantity="mean single-member test accuracy",
        paper="≈ 0.75",
        source="App. E.1",
        kind="mean_within",
        target=0.75,
        tol=0.05,
        known_deviation=_UNSTATED,
        cause=SMALLER,
        rationale="'≈ 75%' with no ±: the mean over independent ensembles within 0.75 ± 0.05, "
        "the same reading of '≈' as for the printed gains",
    ),
    Check(
        "ensembles.ms5.gain_sign",
        learned=0.6,
        claim=25,
        quantity="gain of {k} members over a single member",
        paper=_GAINS,
        source="App. E.1, Fig. 6a",
        kind="at_least",
        target=0.0,
        rationale="the direction of the printed gains ('ensembles improve generalization'): "
        "every independent ensemble gains over its members' mean accuracy",
    ),
    Check(
        "ensembles.ms5.gain_snr",
        learned=0.6,
        claim=25,
        quantity="gain of {k} members, mean / sd over seeds",
        paper=_GAINS,
        source="App. E.1, Fig. 6a",
        kind="at_least",
        target=2.0,
        rationale="gains of 15-20 points are printed without a spread, as effects well outside "
        "seed noise: the mean gain at least two standard deviations over independent "
        "ensembles",
    ),
    Check(
        "ensembles.ms5.gain",
        learned=0.6,
        claim=25,
        quantity="test-accuracy gain of {k} members",
        paper=_GAINS,
        source="App. E.1, Fig. 6a",
        kind="mean_within",
        target=GAIN,
        tol=0.05,
        known_deviation=_HALF_GAIN,
        cause=NOT_KNOWN,
        rationale="'≈ 15' and '≈ 20' points with no ±: the mean gain within ± 0.05, the step "
        "between the two printed gains, of the printed gain of that size ({target})",
    ),
    Check(
        "ensembles.ms5.gain_best",
        learned=0.6,
        claim=25,
        quantity="test-accuracy gain of {k} members, each at its best test-accuracy epoch",
        paper=_GAINS,
        source="App. E.1, Fig. 6a",
        kind="mean_within",
        target=GAIN,
        tol=0.05,
        known_deviation=_HALF_GAIN,
        cause=NOT_KNOWN,
        rationale="as the gain above ({target}), with the authors' notebook 04 selection: every "
        "member kept at the epoch of its best test accuracy (a selection on the test set)",
    ),
    Check(
        "ensembles.noisy.gap",
        learned=0.6,
        claim=26,
        quantity="|ensemble of {k} - single| test accuracy",
        paper="0 (flat at 75%)",
        source="App. E.1, Fig. 6a",
        kind="at_most",
        target=Bar(0.01, k=4, p=0.75),
        rationale="Fig. 6a reads 75% for single models and ensembles, whole percents with no ±: "
        "every seed within two roundings (0.01) plus four standard errors of an "
        "accuracy near 0.75 on n_test points, {bar}",
    ),
    Check(
        "ensembles.noisy.acc",
        guard=PERFORMANCE,
        claim=26,
        quantity="test accuracy, ensemble of {k}",
        paper="0.75",
        source="App. E.1, Fig. 6a",
        kind="all_within",
        target=0.75,
        tol=Bar(0.005, k=4, p=0.75),
        rationale="75% read as a whole percent with no ± (the Bayes accuracy of the p = 0.5 "
        "linear coordinate): every seed within its rounding (0.005) plus four "
        "standard errors on n_test points, {bar}",
    ),
    Check(
        "ensembles.lms5.s_auc",
        learned=TRAINED,
        claim=27,
        quantity="S-randomized AUC, ensemble of {k}",
        paper="0.507 (authors' notebook 04)",
        source="Sec. 6, App. E.1",
        kind="mean_within",
        target=0.5,
        tol=0.02,
        rationale="no number in the paper; as Table 4's single models (0.49-0.51, Fig. 3b's "
        "± 0.01): the mean over seeds within 0.5 ± 0.02",
    ),
    Check(
        "ensembles.lms5.sc_auc",
        learned=TRAINED,
        claim=27,
        quantity="Sc-randomized AUC, ensemble of {k}",
        paper="1.000 (authors' notebook 04)",
        source="Sec. 6, App. E.1",
        kind="at_least",
        target=0.995,
        rationale="printed 1.000: at least 0.995, which rounds to 1.00, for every seed",
    ),
]
