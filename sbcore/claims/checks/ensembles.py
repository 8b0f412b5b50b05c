"""Checks of chapter 07: ensembles (claims #25-#27; App. E.1, Fig. 6). The paper prints ≈ 75%
single models and gains of ≈ 15 and ≈ 20 points on MS-5 (sample size unstated), 75% for ensembles
of 3, 5 and 10 on noisy LMS-7 with p = 0.5, and no number for #27 (its notebook: S-randomized AUC
0.507, Sc-randomized 1.000)."""

from .base import Check

_UNSTATED = "the paper does not state the MS-5 sample size these magnitudes depend on"

CHECKS = [
    Check("ens.ms5.single", claim=25, quantity="mean single-member test accuracy", paper="≈ 0.75",
          source="App. E.1", kind="mean_within", target=0.75, tol=0.05, known_deviation=_UNSTATED,
          rationale="'≈ 75%' with no ±: the mean within 0.75 ± 0.05"),
    Check("ens.ms5.gain_sign", claim=25, quantity="gain of {k} members over a single member",
          paper="+0.20 (10 members)", source="App. E.1, Fig. 6a", kind="at_least", target=0.0,
          rationale="'ensembles help': every independent ensemble gains over its members' mean"),
    Check("ens.ms5.gain_snr", claim=25, quantity="gain of {k} members, mean / sd over seeds",
          paper="+0.20 (10 members)", source="App. E.1, Fig. 6a", kind="at_least", target=2.0,
          rationale="a gain 'well outside the spread': its mean at least two standard deviations "
                    "over independent ensembles"),
    Check("ens.ms5.gain", claim=25, quantity="test-accuracy gain of {k} members", paper="+{paper:.2f}",
          source="App. E.1, Fig. 6a", kind="mean_within", target=None, tol=0.05,
          known_deviation=_UNSTATED,
          rationale="'≈ 15' and '≈ 20' points with no ±: the mean gain within ± 0.05 of them"),
    Check("ens.noisy.gap", claim=26, quantity="|ensemble of {k} - single| test accuracy",
          paper="0 (flat at 75%)", source="App. E.1, Fig. 6a", kind="at_most", target=0.03,
          rationale="Fig. 6a's curve is flat at 75% with no ± printed: every seed within 0.03"),
    Check("ens.noisy.acc", claim=26, quantity="test accuracy, ensemble of {k}", paper="0.75",
          source="App. E.1, Fig. 6a", kind="all_within", target=0.75, tol=0.03,
          rationale="75% printed with no ± (the Bayes accuracy of the p = 0.5 linear coordinate): "
                    "every seed within 0.75 ± 0.03"),
    Check("ens.lms5.s_auc", claim=27, quantity="S-randomized AUC, ensemble of {k}",
          paper="0.507 (authors' notebook)", source="Sec. 6, App. E.1", kind="mean_within",
          target=0.5, tol=0.02, rationale="as Table 4's single models: the mean within 0.5 ± 0.02"),
    Check("ens.lms5.sc_auc", claim=27, quantity="Sc-randomized AUC, ensemble of {k}",
          paper="1.000 (authors' notebook)", source="Sec. 6, App. E.1", kind="at_least",
          target=0.995, rationale="printed 1.000: at least 0.995 for every seed"),
]
