"""Score a training method on the paper's datasets: :func:`evaluate`.

Every method trains the same models on the same data with the same seeds as vanilla SGD, which is
always scored in the same call as the reference row. Per seed, one dataset and one model (a stack
member; a method with ``members = K`` trains K members per seed and is scored as their logit
average), and per column:

* extreme SB (Sec. 4.1, Table 1): S- and Sc-randomized test AUC of ``model`` on LMS-5 and MS-(5,7);
* in-distribution harm (Sec. 6, Table 2): test accuracy on noisy LMS-7 (p = ``noise``);
* ensembles (App. E.1): on MS-5, the accuracy of the logit average of the first k of ``max(sizes)``
  predictors minus their mean accuracy, one ensemble per seed (chapter 07's ``ens_model``);
* fragility (Sec. 4.3): accuracy of the LMS-5 models under l2 PGD and under the stronger of the
  SVD- and AS-UAP (chapter 05's budget), and that UAP's share of energy on S;
* images (Sec. 4.2, Table 4): top- (S-) and bottom- (Sc-) randomized AUC on domino pair A.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..metrics import coords_mask
from ..chapters.ch10_testbed import EPS_LMS5, PRESETS, Config
from ..data.synthetic import SyntheticData, randomize
from ..experiments import load_pair, make_splits, randomized_image_eval
from ..metrics import accuracy, ensemble_logits, member_seed, roc_auc, stack_data
from ..models.inference import predict_logits
from ..models.specs import ModelSpec
from ..models.zoo import build_image_model
from ..robustness import attack_models
from ..runtime import member_seeds
from ..scales import resolve_scale
from .methods import gradient_alignment, vanilla
from .protocol import Averaged, Committee, Method
from .scorecard import MethodScore, Scorecard

INIT_STRIDE = 7919  # member k > 0 of seed s starts from seed s + k * INIT_STRIDE


@dataclass
class Data:
    """Everything a method is scored on, drawn once per call: (trains, tests) per synthetic set
    (one dataset per seed) and the domino (train, test) pair."""

    lms5: tuple[list[SyntheticData], list[SyntheticData]]
    ms57: tuple[list[SyntheticData], list[SyntheticData]]
    noisy: tuple[list[SyntheticData], list[SyntheticData]]
    ms5: tuple[list[SyntheticData], list[SyntheticData]]
    images: tuple


def prepare(cfg: Config, seeds: Sequence[int]) -> Data:
    """Draw every dataset of the scorecard for ``seeds`` (the image pairing from ``seeds[0]``)."""
    kw = dict(d=cfg.d)
    return Data(make_splits("LMS-5", cfg.n_train_lms, cfg.n_test, seeds, **kw),
                make_splits("MS-(5,7)", cfg.n_train_ms57, cfg.n_test, seeds, **kw),
                make_splits("noisy LMS-7", cfg.n_train_noisy, cfg.n_test, seeds, noise=cfg.noise,
                            **kw),
                make_splits("MS-5", cfg.n_train_ms5, cfg.n_test, seeds, **kw),
                load_pair(cfg.image_source, "A", n_train=cfg.image_n_train,
                          n_test=cfg.image_n_test, seed=seeds[0]))


def train_predictors(method: Method, model: str, trains: Sequence[SyntheticData], cfg: Config,
                     seeds: Sequence[int], *, device="cpu", progress: bool = False) -> list:
    """One predictor per seed (seed s's ``method.members`` stack members, logits averaged),
    trained with ``method`` on ``trains[s]``; member k * S + s starts from seed
    ``seeds[s] + k * INIT_STRIDE`` (k = 0: the seed itself, as chapter 02's stacks)."""
    S, K = len(seeds), method.members
    stack = ModelSpec.parse(model).build(trains[0].n_features,
                                         seeds=[s + k * INIT_STRIDE for k in range(K)
                                                for s in seeds]).to(device)
    x, y = stack_data(trains)
    method.fit(stack, x.to(device), y.to(device), cfg.train, seed=seeds[0], n_data=S,
               progress=progress, desc=f"{method.name}: {model} on {trains[0].name}")
    stack = stack.cpu().eval()
    return [Averaged(stack, [k * S + s for k in range(K)]).eval() for s in range(S)]


@torch.no_grad()
def randomized_aucs(preds: Sequence, tests: Sequence[SyntheticData], *,
                    seed: int) -> dict[str, np.ndarray]:
    """Test accuracy and standard / S- / Sc-randomized AUC of predictor m on ``tests[m]`` (its
    randomized sets drawn from ``member_seed(seed, m)``, as in
    :func:`sbcore.metrics.randomized_eval`)."""
    out: dict[str, list] = {"acc": [], "auc": [], "s_auc": [], "sc_auc": []}
    for m, (p, t) in enumerate(zip(preds, tests)):
        out["acc"].append(accuracy(p(t.x), t.y)[0])
        for key, which in (("auc", None), ("s_auc", "S"), ("sc_auc", "Sc")):
            data = t if which is None else randomize(t, which, seed=member_seed(seed, m))
            out[key].append(roc_auc(p(data.x), t.y)[0])
    return {k: np.array(v) for k, v in out.items()}


def member_diagnostics(preds: Sequence[Averaged], tests: Sequence[SyntheticData], *, seed: int,
                       n_points: int = 500) -> dict[str, np.ndarray]:
    """For a predictor of K >= 2 members: the mean squared cosine of its members' input gradients
    (of each member's top logit) over pairs and ``n_points`` test points (1: parallel, 0:
    orthogonal), (S,); and every member's own S- and Sc-randomized AUC, (S, K)."""
    align, s_auc, sc_auc = [], [], []
    for p, t in zip(preds, tests):
        x = t.x[:n_points].unsqueeze(0).repeat(p.stack.n_models, 1, 1).requires_grad_()
        lg = p.stack(x)[p.idx]
        g = torch.autograd.grad(lg.gather(-1, lg.argmax(-1, keepdim=True)).sum(), x)[0][p.idx]
        align.append(float(gradient_alignment(g, 1)))
        own = [randomized_aucs([Averaged(p.stack, [i])], [t], seed=seed) for i in p.idx]
        s_auc.append([o["s_auc"][0] for o in own])
        sc_auc.append([o["sc_auc"][0] for o in own])
    return {"alignment": np.array(align), "member_s_auc": np.array(s_auc),
            "member_sc_auc": np.array(sc_auc)}


def fragility(preds: Sequence, data: Data, cfg: Config, *, seed: int) -> dict[str, np.ndarray]:
    """Chapter 05's suite on the LMS-5 predictors: PGD accuracy, the stronger UAP's accuracy and
    its share of energy on S (unrotated basis), (S,) each."""
    trains, tests = data.lms5
    n = cfg.n_attack
    run = attack_models(preds, [(t.x[:n], t.y[:n]) for t in trains],
                        [(t.x[:n], t.y[:n]) for t in tests],
                        on_s=coords_mask(cfg.d, tests[0].s_coords),
                        bases=[t.rotation for t in tests], eps_pgd=EPS_LMS5, eps_uap=EPS_LMS5,
                        pgd_steps=cfg.pgd_steps, uap_epochs=cfg.uap_epochs,
                        uap_batch=cfg.uap_batch, seed=seed, data="LMS-5")
    accs = np.stack([run.acc["SVD-UAP"], run.acc["AS-UAP"]])
    shares = np.stack([run.share["SVD-UAP"], run.share["AS-UAP"]])
    worst = accs.argmin(0)
    cols = np.arange(accs.shape[1])
    return {"pgd_acc": run.acc["PGD"], "uap_acc": accs[worst, cols],
            "uap_share": shares[worst, cols]}


def ensemble_gains(method: Method, data: Data, cfg: Config, seeds: Sequence[int], *,
                   device="cpu", progress: bool = False) -> dict[str, np.ndarray]:
    """MS-5 ensembles, one per seed: E = max(ens_sizes) predictors of ``method.members`` members
    each, all trained as one stack (member (e * K + k) * G + g is member k of predictor e of
    group g). Returns {"gain<k>": (G,)} for every k of ``cfg.ens_sizes``."""
    trains, tests = data.ms5
    G, K, E = len(seeds), method.members, max(cfg.ens_sizes)
    init = [10_000 + s + j * INIT_STRIDE for j in range(E * K) for s in seeds]
    stack = ModelSpec.parse(cfg.ens_model).build(cfg.d, seeds=init).to(device)
    x, y = stack_data(trains)
    method.fit(stack, x.to(device), y.to(device), cfg.train, seed=seeds[0], n_data=G,
               progress=progress, desc=f"{method.name}: {G}x{E} ensembles on MS-5")
    xt, yt = (torch.stack([t.x for t in tests]), torch.stack([t.y for t in tests]))
    lg = predict_logits(stack, xt.repeat(E * K, 1, 1).to(device), per_member=True).cpu()
    lg = lg.view(E, K, G, *lg.shape[1:]).mean(1).transpose(0, 1)  # (G, E, n, C)
    single = accuracy(lg.flatten(0, 1), yt.repeat_interleave(E, 0)).reshape(G, E).mean(1)
    return {f"gain{k}": accuracy(ensemble_logits(lg, k), yt) - single for k in cfg.ens_sizes}


def image_aucs(method: Method, data: Data, cfg: Config, seeds: Sequence[int], *, device="cpu",
               progress: bool = False) -> dict[str, np.ndarray]:
    """One domino model per seed (``method.members`` zoo models as a :class:`Committee`), built
    under ``torch.manual_seed(seed)`` like chapter 03's; top- and bottom-randomized AUC."""
    train, test = data.images
    models = []
    for s in seeds:
        torch.manual_seed(s)
        nets = [build_image_model(cfg.image_model, in_channels=train.x.shape[1], num_classes=2)
                for _ in range(method.members)]
        model = (nets[0] if method.members == 1 else Committee(nets)).to(device)
        method.fit(model, train.x.to(device), train.y.to(device), cfg.image_train, seed=s,
                   progress=progress, desc=f"{method.name}: {cfg.image_model} seed {s}")
        models.append(model.cpu().eval())
    ev = randomized_image_eval(models, test, seed=seeds[0])
    return {"img_top_auc": ev.s_auc, "img_bottom_auc": ev.sc_auc}


def score(method: Method, data: Data, cfg: Config, seeds: Sequence[int], *, device="cpu",
          progress: bool = False) -> MethodScore:
    """Every column of the scorecard for one method (see the module docstring)."""
    start, values, diagnostics = time.perf_counter(), {}, {}
    kw = dict(device=device, progress=progress)
    for key, sets in (("lms5", data.lms5), ("ms57", data.ms57)):
        preds = train_predictors(method, cfg.model, sets[0], cfg, seeds, **kw)
        ev = randomized_aucs(preds, sets[1], seed=seeds[0])
        values.update({f"{key}_s_auc": ev["s_auc"], f"{key}_sc_auc": ev["sc_auc"],
                       f"{key}_acc": ev["acc"]})
        if key == "lms5":
            values.update(fragility(preds, data, cfg, seed=seeds[0]))
            if method.members > 1:
                diagnostics = member_diagnostics(preds, sets[1], seed=seeds[0])
    noisy = train_predictors(method, cfg.model, data.noisy[0], cfg, seeds, **kw)
    values["noisy_acc"] = randomized_aucs(noisy, data.noisy[1], seed=seeds[0])["acc"]
    values.update(ensemble_gains(method, data, cfg, seeds, **kw))
    values.update(image_aucs(method, data, cfg, seeds, **kw))
    return MethodScore(method.name, values, paper=method.paper, settings=dict(method.settings),
                       seconds=time.perf_counter() - start, diagnostics=diagnostics)


def evaluate(method: Method | Sequence[Method], scale: str | None = "smoke",
             seeds: Sequence[int] | None = None, *, seed: int = 0, config: Config | None = None,
             device: str | torch.device = "cpu", progress: bool = False) -> Scorecard:
    """Score ``method`` (or several) beside vanilla SGD, which is always trained first in the same
    call with the same seeds and data.

    Args:
        method: a :class:`Method` or a list of them (``sbcore.testbed.methods``, or your own).
        scale: "smoke" (seconds), "book" (about a minute per method on a 2-core CPU), "paper"
            (the paper's sample sizes; a GPU is advised); None: $SBCORE_SCALE, else "book".
        seeds: one per repetition (default ``member_seeds(seed, n_seeds)`` of the scale).
        config: a :class:`sbcore.chapters.ch10_testbed.Config` instead of the scale's preset.
    Returns a :class:`Scorecard` (print it, or ``.table()`` for rows).
    """
    scale = resolve_scale(scale)
    cfg = config if config is not None else PRESETS[scale]
    seeds = list(seeds) if seeds is not None else member_seeds(seed, cfg.n_seeds)
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    given = [method] if isinstance(method, Method) else list(method)
    if not all(isinstance(m, Method) for m in given):
        raise ValueError("method must be a testbed Method or a list of them")
    methods = [vanilla()] + [m for m in given if m.name != "vanilla"]
    if len({m.name for m in methods}) != len(methods):
        raise ValueError(f"methods need distinct names, got {[m.name for m in methods]}")
    data = prepare(cfg, seeds)
    rows = [score(m, data, cfg, seeds, device=device, progress=progress) for m in methods]
    return Scorecard(scale, seeds, rows, image_data=data.images[1].source)
