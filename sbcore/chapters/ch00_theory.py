"""Chapter 00, the theory: Fig. 1's stylized picture (claim #1) and Theorem 1 simulated on LSN
data (claim #4). Presets, the two experiments, and the values the chapter's checks record."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sbcore import metrics
from sbcore.data import stylized
from sbcore.experiments import theory
from sbcore.metrics import accuracy, logits_on, randomized_eval, score, stack_data
from sbcore.models.inference import predict_logits
from sbcore.models.specs import ModelSpec
from sbcore.scales import positive_int, require
from sbcore.train import TrainConfig, fit

CHAPTER = "00_theory"


@dataclass(frozen=True)
class Config:
    """Knobs of chapter 00. Fig. 1: ``n_train``/``n_test`` stylized points per seed, ``model``,
    the margins ``gamma_linear`` (phi_1) and ``gamma_slab`` (phi_2), SGD ``lr``, ``momentum``,
    ``max_epochs`` (stopping once the training loss is below 0.01). Theorem 1: ``dims``, hidden
    units ``k``, ``lr_scale`` (eta = lr_scale / sqrt(log d)), ``c_stop`` (the stopping time's
    constant), ``batch_factor`` (n = batch_factor d log d fresh points per step), ``n_lsn_test``.
    """

    n_seeds: int = 3
    n_train: int = 2000
    n_test: int = 2000
    model: str = "(100,1)-FCN"
    gamma_linear: float = 0.1
    gamma_slab: float = 0.15
    lr: float = 0.1
    momentum: float = 0.9
    max_epochs: int = 300
    dims: tuple[int, ...] = (50, 100, 200, 400, 800, 1600)
    k: int = 64
    lr_scale: float = 0.5
    c_stop: float = 1.0
    batch_factor: float = 1.0
    n_lsn_test: int = 2000

    def __post_init__(self) -> None:
        if isinstance(self.dims, list):  # papermill passes sequences as lists
            object.__setattr__(self, "dims", tuple(self.dims))
        for name in ("n_seeds", "max_epochs"):
            positive_int(name, getattr(self, name))
        positive_int("n_train", self.n_train, minimum=10)
        positive_int("n_test", self.n_test, minimum=10)
        positive_int("n_lsn_test", self.n_lsn_test, minimum=10)
        positive_int("k", self.k, minimum=2)
        require(self.k % 2 == 0, "k", "even (k/2 units of each output sign)", self.k)
        ModelSpec.parse(self.model)  # raises ValueError on a malformed name
        require(0 < self.gamma_linear < 1, "gamma_linear", "in (0, 1)", self.gamma_linear)
        require(
            0 < self.gamma_slab < 0.25,
            "gamma_slab",
            "in (0, 0.25) (room for 5 slabs)",
            self.gamma_slab,
        )
        for name in ("lr", "lr_scale", "c_stop", "batch_factor"):
            require(getattr(self, name) > 0, name, "> 0", getattr(self, name))
        require(0 <= self.momentum < 1, "momentum", "in [0, 1)", self.momentum)
        ok = (
            isinstance(self.dims, tuple)
            and len(self.dims) >= 2
            and all(isinstance(d, int) and d >= 8 for d in self.dims)
            and list(self.dims) == sorted(set(self.dims))
        )
        require(ok, "dims", "a tuple of at least 2 increasing integers >= 8", self.dims)
        steps = [
            theory.n_steps(d, theory.step_size(d, self.lr_scale), self.c_stop) for d in self.dims
        ]
        require(
            min(steps) >= 1,
            "c_stop",
            f"small enough for a step at d = {self.dims[0]}",
            self.c_stop,
        )


PRESETS = {
    "smoke": Config(
        n_seeds=2,
        n_train=600,
        n_test=1000,
        max_epochs=150,
        dims=(50, 100, 200, 400, 800),
        k=32,
        n_lsn_test=1000,
    ),
    "book": Config(n_seeds=5),
    "paper": Config(
        n_seeds=10,
        n_train=10_000,
        n_test=5000,
        max_epochs=500,
        dims=(50, 100, 200, 400, 800, 1600, 3200),
        k=128,
        batch_factor=2.0,
        n_lsn_test=10_000,
    ),
}


# ---- Fig. 1: the stylized picture (claim #1) -------------------------------------------------
@dataclass
class Fig1Result:
    """One FCN per seed on its own stylized data. Arrays are (M,) over members unless noted."""

    trains: list
    tests: list
    train_acc: np.ndarray
    acc: np.ndarray
    phi1_acc: np.ndarray  # phi_1 (S) randomized
    phi2_acc: np.ndarray  # phi_2 (Sc) randomized
    margin_learned: np.ndarray
    margin_piecewise: np.ndarray
    margin_linear: np.ndarray
    grid: np.ndarray  # (G,) axis values
    scores: np.ndarray  # (M, G, G) logit_+ - logit_-; rows over phi_2, columns over phi_1
    polyline: np.ndarray  # (V, 2) the four-piece boundary
    epochs: list


def fig1_experiment(
    cfg: Config, seeds, *, device="cpu", progress=True, n_grid: int = 441
) -> Fig1Result:
    """Train ``cfg.model`` on the stylized data (one member and dataset per seed) and measure
    which feature each member uses and the margin of its boundary against the four-piece one."""
    gam = dict(gamma_linear=cfg.gamma_linear, gamma_slab=cfg.gamma_slab)
    splits = [
        stylized.make_stylized(cfg.n_train + cfg.n_test, seed=s, **gam).split(cfg.n_train)
        for s in seeds
    ]
    trains, tests = [a for a, _ in splits], [b for _, b in splits]
    x, y = stack_data(trains)
    model = ModelSpec.parse(cfg.model).build(2, seeds=seeds).to(device)
    train_cfg = TrainConfig(lr=cfg.lr, momentum=cfg.momentum, max_epochs=cfg.max_epochs)
    hist = fit(
        model,
        x.to(device),
        y.to(device),
        train_cfg,
        seed=seeds[0],
        progress=progress,
        desc=f"{cfg.model} on Fig. 1 data",
    )
    ev = randomized_eval(model, tests, seed=seeds[0])
    grid = torch.linspace(-1.1, 1.1, n_grid)
    gy, gx = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    scores = score(predict_logits(model, pts.to(device)).cpu()).reshape(-1, n_grid, n_grid)
    poly = stylized.piecewise_boundary(**gam)
    train_pred = logits_on(model, trains).argmax(-1)
    learned, piece, lin = [], [], []
    for m, tr in enumerate(trains):
        ypm = 2.0 * tr.y - 1
        learned.append(
            stylized.signed_margin(
                tr.z, train_pred[m] == tr.y, stylized.zero_crossings(scores[m], grid)
            )
        )
        right = stylized.polyline_predict(tr.z, poly) == ypm
        piece.append(
            float(
                torch.where(right, 1.0, -1.0)
                .double()
                .mul(stylized.distance_to_polyline(tr.z, poly))
                .min()
            )
        )
        lin.append(float((tr.z[:, 0] * ypm).min()))
    return Fig1Result(
        trains,
        tests,
        accuracy(logits_on(model, trains), y),
        ev.acc,
        ev.s_acc,
        ev.sc_acc,
        np.array(learned),
        np.array(piece),
        np.array(lin),
        grid.numpy(),
        scores.numpy(),
        poly.numpy(),
        [e or len(hist.loss) for e in hist.stopped_epoch],
    )


def fig1_check_values(res: Fig1Result) -> dict[str, np.ndarray]:
    """Per-seed values of the claim #1 checks, keyed like the registry."""
    return {
        "theory.fig1_phi1_randomized": res.phi1_acc,
        "theory.fig1_phi2_invariance": res.acc - res.phi2_acc,
        "theory.fig1_margin_ratio": res.margin_learned / res.margin_piecewise,
        "theory.fig1_piecewise_margin": res.margin_piecewise / res.margin_linear,
    }


def fig1_rows(res: Fig1Result, seeds) -> list[dict]:
    """One table row per seed: accuracies, randomized accuracies and the three margins."""
    return [
        {
            "seed": s,
            "train acc": res.train_acc[m],
            "test acc": res.acc[m],
            "φ₁-randomized": res.phi1_acc[m],
            "φ₂-randomized": res.phi2_acc[m],
            "margin (network)": res.margin_learned[m],
            "margin (φ₁ = 0)": res.margin_linear[m],
            "margin (four pieces)": res.margin_piecewise[m],
            "epochs": res.epochs[m],
        }
        for m, s in enumerate(seeds)
    ]


# ---- Theorem 1 on LSN (claim #4) -------------------------------------------------------------
def theorem_experiment(cfg: Config, seeds, *, device="cpu", progress=True) -> theory.TheoremRun:
    """The sweep over ``cfg.dims`` for every seed, under both initializations (log^4 d, log^2 d)."""
    return theory.simulate(
        cfg.dims,
        k=cfg.k,
        seeds=seeds,
        lr_scale=cfg.lr_scale,
        c_stop=cfg.c_stop,
        batch_factor=cfg.batch_factor,
        n_test=cfg.n_lsn_test,
        device=device,
        progress=progress,
    )


def theorem_check_values(run: theory.TheoremRun) -> dict[str, np.ndarray]:
    """Per-seed values of the claim #4 checks; index 0 of the last axis is the theorem's init."""
    d = np.asarray(run.dims, dtype=float)[:, None, None]
    ld = np.log(d)
    w2_scaled = (np.sqrt(d * run.k * ld) * run.w2_max).max(0)  # (S, P)
    slopes = metrics.loglog_slope(run.dims, run.w1_mean / run.w2_mean)  # (S, P)
    p4, p2 = run.log_powers.index(4), run.log_powers.index(2)
    return {
        "theory.linear_weight": run.w1_dev[:, :, p4].max(0),
        "theory.slab_weight_bound": w2_scaled[:, p4],
        "theory.slab_weight_bound_log2": w2_scaled[:, p2],
        "theory.noise_norm_bound": (np.sqrt(run.k * ld) * run.noise_max).max(0)[:, p4],
        "theory.ratio_slope": slopes[:, p4],
        "theory.ratio_slope_log2": slopes[:, p2],
        "theory.hinge_active": run.min_active[:, :, p4].min(0),
        "theory.test_error": (d * run.test_err).max(0)[:, p4],
        "theory.x1_randomized": run.x1_acc[-1, :, p4],
        "theory.x2_randomized": (run.acc - run.x2_acc)[-1, :, p4],
    }


def theorem_learned(run: theory.TheoremRun) -> dict[str, np.ndarray]:
    """Per seed, the lowest test accuracy over the dimensions under each check's initialization:
    the learned precondition of the claim #4 checks (a network that did not learn LSN says nothing
    about Theorem 1's weights)."""
    p4, p2 = run.log_powers.index(4), run.log_powers.index(2)
    low = run.acc.min(0)  # (S, P)
    return {key: low[:, p2 if key.endswith("_log2") else p4] for key in theorem_check_values(run)}


def slope_rows(run: theory.TheoremRun) -> list[dict]:
    """Fitted log-log slopes (mean +- sd over seeds) beside the slopes of the theorem's rates."""
    ref = theory.reference_rates(np.asarray(run.dims), run.k)
    ref_slope = {key: float(metrics.loglog_slope(run.dims, val)) for key, val in ref.items()}
    rows = []
    sup = {4: "⁴", 2: "²"}
    for name, label, rate in (
        ("w1_mean", "linear weight w₁ⱼ", "w1"),
        ("w2_mean", "slab weight w₂ⱼ", "w2"),
        ("noise_mean", "noise block w₃:d,ⱼ (norm)", "noise"),
    ):
        s = run.slope(name)  # labels avoid "|": they go into Markdown tables
        rows.append(
            {
                "weight": label,
                "theorem's rate": ref_slope[rate],
                **{
                    f"init log{sup.get(p, p)} d": f"{s[:, i].mean():.2f} ± {s[:, i].std():.2f}"
                    for i, p in enumerate(run.log_powers)
                },
            }
        )
    return rows


# ---- numbers for the prose (glued, never typed) ------------------------------------------------
def _span(values: np.ndarray, fmt: str = ".3f") -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}} to {hi:{fmt}}"


def settings_text(cfg: Config) -> dict[str, str]:
    """The chapter's settings as prose-ready strings (so a papermill override reads right)."""
    from sbcore.data.stylized import max_margin

    return {
        "model": cfg.model,
        "n_train": f"{cfg.n_train:,}",
        "n_seeds": str(cfg.n_seeds),
        "gamma_linear": f"{cfg.gamma_linear:g}",
        "slab_gap": f"{2 * cfg.gamma_slab:g}",
        "max_margin": f"{max_margin(cfg.gamma_linear, cfg.gamma_slab):.3f}",
        "dims": ", ".join(str(d) for d in cfg.dims),
        "k": str(cfg.k),
        "lr_scale": f"{cfg.lr_scale:g}",
        "c_stop": f"{cfg.c_stop:g}",
        "batch_factor": f"{cfg.batch_factor:g}",
    }


def fig1_text(res: Fig1Result) -> dict[str, str]:
    """Fig. 1's measured numbers as strings: ranges over seeds."""
    return {
        "phi1_acc": _span(res.phi1_acc),
        "phi2_acc": _span(res.phi2_acc),
        "margin_net": _span(res.margin_learned),
        "margin_lin": _span(res.margin_linear),
        "margin_piece": _span(res.margin_piecewise),
        "margin_ratio": _span(res.margin_learned / res.margin_piecewise, ".2f"),
    }


def theorem_text(run: theory.TheoremRun) -> dict[str, str]:
    """Theorem 1's measured numbers as strings (theorem's init unless the name ends in _log2)."""
    vals = theorem_check_values(run)
    p4, p2 = run.log_powers.index(4), run.log_powers.index(2)
    growth = (run.w2_mean / run.w2_init).mean(1)  # (D, P), mean over seeds
    slopes = {name: run.slope(name) for name in ("w1_mean", "w2_mean", "noise_mean")}
    return {
        "steps": ", ".join(map(str, run.steps)),
        "batch_sizes": ", ".join(f"{n:,}" for n in run.batch_sizes),
        "w1_dev": f"{vals['theory.linear_weight'].max():.3f}",
        "w2_scaled": f"{vals['theory.slab_weight_bound'].max():.2f}",
        "w2_scaled_log2": f"{vals['theory.slab_weight_bound_log2'].max():.2f}",
        "noise_scaled": f"{vals['theory.noise_norm_bound'].max():.2f}",
        "w2_growth": _span(growth[:, p4], ".1f"),
        "w2_growth_log2": _span(growth[:, p2], ".1f"),
        "w1_slope": f"{slopes['w1_mean'][:, p4].mean():.2f}",
        "w2_slope": f"{slopes['w2_mean'][:, p4].mean():.2f}",
        "w2_slope_log2": f"{slopes['w2_mean'][:, p2].mean():.2f}",
        "noise_slope": f"{slopes['noise_mean'][:, p4].mean():.2f}",
        "ratio_slope": f"{vals['theory.ratio_slope'].mean():.2f}",
        "ratio_slope_log2": f"{vals['theory.ratio_slope_log2'].mean():.2f}",
        "ratio_slope_seeds": _span(vals["theory.ratio_slope"], ".2f"),
        "test_err": f"{run.test_err.max():.4f}",
        "x1_acc": _span(run.x1_acc[:, :, p4]),
        "x2_acc": _span(run.x2_acc[:, :, p4]),
    }
