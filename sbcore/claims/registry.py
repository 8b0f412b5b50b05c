"""The registry of the paper's claims #1-#31, in the order of the book's claims table.

Each entry: a short title, the claim in plain words, the paper's value as printed, where the
paper states it, and the book chapter that checks it (None while no chapter covers it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One claim of the paper. ``chapter`` is the notebook name (without extension) or None."""

    id: int
    title: str
    statement: str
    paper: str
    where: str
    chapter: str | None


_C = [
    (
        1,
        "Stylized 2-D picture",
        "NNs learn the linear small-margin boundary on the simple feature and ignore a 4-piece feature that would give a larger margin.",
        "no numbers (Fig. 1)",
        "Sec. 1, Fig. 1",
        "00_theory",
    ),
    (
        2,
        "Building blocks",
        "Bayes accuracy is 1 (linear), 1 - p/2 (p-noisy linear), 1 (k-slab, k-1 pieces); every dataset is separable by a piecewise-linear classifier.",
        "1, 1 - p/2, k-1 pieces",
        "Sec. 3.1",
        "01_datasets_and_metrics",
    ),
    (
        3,
        "Equal class-conditional variance",
        "Outer-slab probabilities 1/4 (5-slab) and 1/8 (7-slab) equalize the class-conditional variances.",
        "probabilities 1/4, 1/8",
        "App. B",
        "01_datasets_and_metrics",
    ),
    (
        4,
        "Theorem 1 (LSN)",
        "A one-hidden-layer ReLU net trained by GD with hinge loss on LSN relies almost only on the linear coordinate.",
        "|w1| >> |w2|, ||w3:d|| small; test error <= 1/poly(d)",
        "Sec. 4.1, App. F",
        "00_theory",
    ),
    (
        5,
        "Extreme SB on LMS-5",
        "S-randomized AUC ~0.5 and Sc-randomized AUC 1.0 for FCNs, CNNs and GRUs of depth 1 and 2.",
        "S-rand AUC 0.49-0.51; Sc-rand AUC 1.00",
        "Sec. 4.2, Table 4",
        "02_extreme_sb_slabs",
    ),
    (
        6,
        "Extreme SB on MS-(5,7)",
        "The same on MS-(5,7): the 5-slab is S, the 7-slabs Sc.",
        "S-rand AUC 0.50; Sc-rand AUC 1.00",
        "Sec. 4.2, Table 4",
        "02_extreme_sb_slabs",
    ),
    (
        7,
        "Randomized logits",
        "Sc-randomized logits of true positives overlap the originals; S-randomization shuffles them.",
        "qualitative (Fig. 3a)",
        "Sec. 4.2, Fig. 3a",
        "02_extreme_sb_slabs",
    ),
    (
        8,
        "Decision boundary",
        "The (100,1)-FCN boundary projected on S and the most influential Sc coordinate depends only on S.",
        "qualitative (Fig. 3c)",
        "Fig. 3c",
        "02_extreme_sb_slabs",
    ),
    (
        9,
        "More complex features do not help",
        "With |Sc| = 49 or 249, (2000,1)-FCNs still use only S.",
        "S-rand 0.49-0.50 ± 0.01; Sc-rand 1.00 ± 0.00",
        "Sec. 4.2, Fig. 3b",
        "02_extreme_sb_slabs",
    ),
    (
        10,
        "Sc is learnable",
        "Without S, the same models and sample size reach ~100% from Sc alone.",
        "~100% test accuracy",
        "Sec. 4.2, App. D.1",
        "02_extreme_sb_slabs",
    ),
    (
        11,
        "MNIST-CIFAR",
        "Four CNNs reach 100% through the MNIST block and are invariant to CIFAR, although CIFAR alone is almost fully predictive.",
        "MNIST-rand AUC 0.50-0.52; CIFAR-rand AUC 1.00; CIFAR-only GoogLeNet 95.4%",
        "Sec. 4.2, Table 4",
        "03_extreme_sb_images",
    ),
    (
        12,
        "Class pairs",
        "The result holds for class pairs A, B and C.",
        "Table 5",
        "App. C.2",
        "03_extreme_sb_images",
    ),
    (
        13,
        "Activations and optimizers",
        "ReLU/LeakyReLU/PReLU/Tanh x SGD/Adam/RMSProp all show extreme SB.",
        "Table 6: S-rand AUC 0.495-0.502",
        "App. C.3",
        "04_sb_survives",
    ),
    (
        14,
        "Dropout and l2",
        "Dropout and l2 regularization do not change extreme SB.",
        "Table 7",
        "App. C.4",
        "04_sb_survives",
    ),
    (
        15,
        "Input dimension",
        "Low d and few complex features do not change extreme SB.",
        "Table 8",
        "App. C.5",
        "04_sb_survives",
    ),
    (
        16,
        "Initialization",
        "Kaiming/Xavier at scales x0.1-x10 do not change extreme SB.",
        "Table 9",
        "App. C.6",
        "04_sb_survives",
    ),
    (
        17,
        "Non-random initialization",
        "Initializing from a slab-only model partly mitigates SB.",
        "qualitative (Fig. 5)",
        "App. C.7",
        "04_sb_survives",
    ),
    (
        18,
        "OOD fragility",
        "Randomizing S drops AUC to 0.5 while randomizing all of Sc has no effect; logit-based OOD detectors can fail.",
        "S-rand AUC 0.5; Sc-rand = standard",
        "Sec. 4.3",
        "05_fragility",
    ),
    (
        19,
        "Margins",
        "An averaging classifier has margin O(sqrt(d)); SB networks are flipped by O(1) l2 perturbations.",
        "asymptotic statement",
        "Sec. 4.3",
        "05_fragility",
    ),
    (
        20,
        "Universal perturbations",
        "Small l2 UAPs that attack only S nullify performance; they spend almost all their budget on S.",
        "budget on S: 99.6%, 99.9%, 99.3%",
        "Sec. 4.3, Fig. 4",
        "05_fragility",
    ),
    (
        21,
        "UAP transfer",
        "FCNs, CNNs and GRUs learn essentially the same UAP.",
        "qualitative (Fig. 4)",
        "Sec. 4.3, Fig. 4",
        "05_fragility",
    ),
    (
        22,
        "Confident when Sc contradicts S",
        "Sc-randomized logits stay unchanged, so confidence stays high when complex features contradict S.",
        "discussion only",
        "Sec. 1, 4.3",
        "05_fragility",
    ),
    (
        23,
        "SB hurts generalization",
        "On noisy LMS-7, FCNs use only the 95%-predictive linear coordinate and reach ~95% test accuracy; without S they reach ~100%.",
        "Table 2: test 0.940-0.949; S-rand ~0.498",
        "Sec. 5, App. D.1",
        "06_generalization",
    ),
    (
        24,
        "Weight decay",
        "Weight decay above 5e-4 keeps train and test near 95%.",
        "95% train and test",
        "App. D.1",
        "06_generalization",
    ),
    (
        25,
        "Ensembles on MS-5",
        "Ensembles of 5 and 10 FCNs improve ~75% single models by ~15 and ~20 points.",
        "+15 (5 models), +20 (10 models)",
        "App. E.1, Fig. 6",
        "07_ensembles",
    ),
    (
        26,
        "Ensembles under extreme SB",
        "On noisy LMS-7 with p = 0.5, ensembles of 3, 5, 10 stay at 75%.",
        "75%",
        "App. E.1, Fig. 6",
        "07_ensembles",
    ),
    (
        27,
        "Ensembles still use only S",
        "Vanilla ensembles stay invariant to the complex features of LMS-5.",
        "NB: S-rand AUC 0.507, Sc-rand 1.000",
        "Sec. 6, App. E.1",
        "07_ensembles",
    ),
    (
        28,
        "Adversarial training and max margin",
        "l2 AT on AdvMS-(5,7) does not reach the maximum margin.",
        "Fig. 7",
        "App. E.2.1",
        "08_adversarial_training",
    ),
    (
        29,
        "AT does not mitigate SB",
        "For eps <= gamma_S AT FCNs rely on the 5-slabs only; for larger eps AT fails.",
        "S-rand 50%; Sc-rand = standard",
        "App. E.2.1",
        "08_adversarial_training",
    ),
    (
        30,
        "l-inf AT on MNIST-CIFAR",
        "AT reaches eps-robust accuracy 0.98-0.99 but still relies only on MNIST.",
        "Table 11",
        "App. E.2.2",
        "08_adversarial_training",
    ),
    (
        31,
        "Summary",
        "SB can be extreme, explains brittleness, hurts generalization, and ensembles/AT fail to fix it.",
        "the four claims above",
        "Abstract, Sec. 1, 6",
        "scoreboard",
    ),
]

CLAIMS: dict[int, Claim] = {c[0]: Claim(*c) for c in _C}
