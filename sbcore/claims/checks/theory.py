"""Checks of chapter 00 (the theory): Fig. 1's stylized picture (claim #1) and Theorem 1 simulated
on LSN data (claim #4). Every bar below was fixed from the paper's statement before any run."""

from math import e

from .base import PERFORMANCE, TRAINED, Check

LEMMA1_CONST = 2 * e  # Lemma 1's c0 (1 + eta/4)^t with c0 = 2 and t eta / 4 <= 1

CHAPTER = "00_theory"  # the chapter that records these checks

CHECKS = [
    # ---- Claim #1: Fig. 1, the stylized picture -------------------------------------------------
    Check(
        "theory.fig1_phi1_randomized",
        learned=TRAINED,
        claim=1,
        quantity="phi_1-randomized accuracy of {model}s on the stylized data",
        paper="NNs learn the linear boundary on phi_1",
        source="Sec. 1, Fig. 1",
        kind="all_within",
        target=0.5,
        tol=0.05,
        rationale="a model that relies on phi_1 falls to chance once phi_1 is drawn independently "
        "of the label (Table 1's rule); 0.05 is over 3 binomial sd at 1,000 test points",
    ),
    Check(
        "theory.fig1_phi2_invariance",
        learned=TRAINED,
        claim=1,
        quantity="accuracy minus phi_2-randomized accuracy of {model}s",
        paper="NNs stay invariant to phi_2",
        source="Sec. 1, Fig. 1",
        kind="at_most",
        target=0.01,
        tol=0.0,
        rationale="invariance to phi_2 means randomizing it leaves the accuracy at the standard "
        "value (Table 1's rule); 0.01 allows ten test points in 1,000",
    ),
    Check(
        "theory.fig1_margin_ratio",
        learned=TRAINED,
        claim=1,
        quantity="margin of the learned boundary / margin of the piecewise boundary ({model})",
        paper="the piecewise boundary using both features has a larger margin",
        source="Sec. 1, Fig. 1",
        kind="at_most",
        target=1.0,
        tol=0.0,
        rationale="the claim is a strict inequality between the two margins, measured on the same "
        "training points",
    ),
    Check(
        "theory.fig1_piecewise_margin",
        claim=1,
        quantity="margin of the four-piece boundary / margin of phi_1 = 0, on the training points",
        paper="the orange boundary has the larger margin",
        source="Sec. 1, Fig. 1",
        kind="at_least",
        target=1.0,
        tol=0.0,
        fact=True,
        rationale="true by construction of the data: sqrt(gamma_1^2 + gamma_2^2) > gamma_1",
    ),
    # ---- Claim #4: Theorem 1 on LSN -------------------------------------------------------------
    Check(
        "theory.linear_weight",
        learned=TRAINED,
        claim=4,
        quantity="largest |sqrt(k) |w_1j| / (t eta / 2) - 1| over units and d in {dims} "
        "(init log^4 d)",
        paper="|w1j| = (2/sqrt k)(1 - c/sqrt(log d)) + O(1/sqrt(dk log d))",
        source="Thm. 1 (Sec. 4.1); Lemma 1 (App. F)",
        kind="at_most",
        target=0.1,
        tol=0.0,
        rationale="Lemma 1: w_1j = t eta v_j / 2 up to O(1/sqrt(dk log d)), a relative error "
        "O(1/sqrt(d log d)), 0.05 at d = 50, rounded up to 0.1",
    ),
    Check(
        "theory.slab_weight_bound",
        learned=TRAINED,
        claim=4,
        quantity="largest sqrt(d k log d) |w_2j| over units and d in {dims} (init 1/(dk log^4 d))",
        paper="|w2j| = O(1/sqrt(dk log d))",
        source="Thm. 1 (Sec. 4.1); Lemma 1 (App. F)",
        kind="at_most",
        target=LEMMA1_CONST,
        tol=0.0,
        rationale="Lemma 1 bounds |w_2j| by c0 (1 + eta/4)^t / sqrt(dk log d) with c0 = 2 and "
        "t eta/4 <= 1, so the constant is at most 2e = 5.44",
    ),
    Check(
        "theory.slab_weight_bound_log2",
        learned=TRAINED,
        claim=4,
        quantity="largest sqrt(d k log d) |w_2j| over units and d in {dims} (init 1/(dk log^2 d))",
        paper="|w2j| = O(1/sqrt(dk log d)) (Lemma 1's initialization)",
        source="Lemma 1 (App. F)",
        kind="at_most",
        target=LEMMA1_CONST,
        tol=0.0,
        rationale="the same bound, under the initialization variance Lemma 1 writes",
    ),
    Check(
        "theory.noise_norm_bound",
        learned=TRAINED,
        claim=4,
        quantity="largest sqrt(k log d) ||w_{{3:d,j}}|| over units and d in {dims}",
        paper="||w_{3:d,j}|| = O(1/sqrt(k log d))",
        source="Thm. 1 (Sec. 4.1); Lemma 1 (App. F)",
        kind="at_most",
        target=LEMMA1_CONST,
        tol=0.0,
        rationale="Lemma 1 bounds the noise block by c0 (1 + eta/4)^t / sqrt(k log d) <= "
        "2e / sqrt(k log d)",
    ),
    Check(
        "theory.ratio_slope",
        learned=TRAINED,
        claim=4,
        quantity="mean over seeds of the log-log slope of mean|w_1j| / mean|w_2j| against d "
        "over {dims} (init log^4 d)",
        paper="linear weights grow ~sqrt(d) larger than slab weights (up to log factors)",
        source="Sec. 4.1, remark after Thm. 1",
        kind="mean_within",
        target=0.775,
        tol=0.375,
        rationale="the mean slope over seeds in [0.4, 1.15]: sqrt(d) is slope 0.5; log factors of "
        "total power <= 2.5 (the init's log^2 d, the bound's log^(1/2) d) move a local "
        "slope by <= 2.5/log 50 = 0.64 for d >= 50; 0.1 below 0.5 for the fit",
    ),
    Check(
        "theory.ratio_slope_log2",
        learned=TRAINED,
        claim=4,
        quantity="mean over seeds of the log-log slope of mean|w_1j| / mean|w_2j| against d "
        "over {dims} (init log^2 d)",
        paper="linear weights grow ~sqrt(d) larger than slab weights (up to log factors)",
        source="Sec. 4.1; Lemma 1 (App. F)",
        kind="mean_within",
        target=0.775,
        tol=0.375,
        rationale="the same bracket as under the theorem's initialization",
    ),
    Check(
        "theory.hinge_active",
        learned=TRAINED,
        claim=4,
        quantity="smallest share of a batch with y f(x) < 1, over steps and d in {dims}",
        paper="the hinge loss stays active for all points until t-hat",
        source="Lemma 1 (App. F)",
        kind="at_least",
        target=0.99,
        tol=0.0,
        rationale="Lemma 2 gives y f(x) = t eta/4 +- O(1/sqrt(log d)) < 1 before t-hat; 1% slack "
        "for the finite-d error term",
    ),
    Check(
        "theory.test_error",
        guard=PERFORMANCE,
        claim=4,
        quantity="largest d x test error over d in {dims}",
        paper="test error <= 1/poly(d)",
        source="Thm. 1 (Sec. 4.1)",
        kind="at_most",
        target=1.0,
        tol=0.0,
        rationale="1/poly(d) read at its weakest, power 1: test error <= 1/d at every d",
    ),
    Check(
        "theory.x1_randomized",
        learned=TRAINED,
        claim=4,
        quantity="x_1-randomized accuracy at d = {d}",
        paper="the network relies almost only on the linear coordinate",
        source="Thm. 1 (Sec. 4.1)",
        kind="all_within",
        target=0.5,
        tol=0.05,
        rationale="relying on x_1 means chance once x_1 is drawn independently of y (Table 1's "
        "rule); 0.05 is over 4 binomial sd at 2,000 test points",
    ),
    Check(
        "theory.x2_randomized",
        learned=TRAINED,
        claim=4,
        quantity="accuracy minus x_2-randomized accuracy at d = {d}",
        paper="the slab coordinate barely matters (|w_2j| stays at initialization scale)",
        source="Thm. 1 (Sec. 4.1)",
        kind="at_most",
        target=0.01,
        tol=0.0,
        rationale="invariance to x_2 means randomizing it leaves accuracy at the standard value "
        "(Table 1's rule); 0.01 allows 20 test points in 2,000",
    ),
]
