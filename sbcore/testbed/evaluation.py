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

The second row is the testbed's **positive control** (:data:`CONTROL`): vanilla SGD trained on the
same training sets with S randomized (:meth:`Data.without_s`), so that it cannot use S and must
learn the complex features if it learns at all; it is tested on the same test sets as every row.
A column moves for a method that truly avoids the simplicity bias only if it moves for the
control: the control shows each column's range at a scale (``Config.control_columns`` names the
columns the scale keeps, and chapter 10 checks that the control moves them). MS-5 has no S, so
the ensemble columns have no control.

Each method is scored on its own: one that diverges (a NaN or infinite training loss, or logits)
or whose code raises ends its row at that stage with a :class:`~.scorecard.Failure` (an exception
also warns with :class:`MethodFailed`; ``errors="raise"`` re-raises it), and the other methods
keep theirs. Vanilla, the reference row, must not fail: its exceptions propagate.
"""

from __future__ import annotations

import numbers
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..chapters.ch10_testbed import CONTROL, EPS_LMS5, PRESETS, Config
from ..claims.run import MAX_SEED
from ..data.synthetic import SyntheticData
from ..experiments.fragility import attack_models
from ..experiments.images import image_logits, load_pair, randomized_image_eval
from ..experiments.stacks import make_splits
from ..metrics import (
    accuracy,
    coords_mask,
    ensemble_logits,
    member_seed,
    stack_data,
    table1_eval,
)
from ..models.inference import predict_logits
from ..models.specs import ModelSpec
from ..models.zoo import build_image_model
from ..runtime import member_seeds, pick_device
from ..scales import resolve_scale
from ..train import TrainConfig
from .methods import gradient_alignment, vanilla
from .protocol import Averaged, Committee, Method
from .scorecard import Failure, MethodScore, Scorecard

INIT_STRIDE = 7919  # member k > 0 of seed s starts from seed s + k * INIT_STRIDE
ERRORS = ("record", "raise")
MAX_SEEDS = MAX_SEED * 1000  # a chapter's member seeds: member_seeds(seed < 2**31, n < 1000)


class MethodFailed(UserWarning):
    """A method's code raised while the testbed scored it; its row records the failure."""


class NonFiniteLogits(FloatingPointError):
    """A trained predictor's logits are NaN or infinite: the method diverged."""


def finite(logits: Tensor, what: str) -> Tensor:
    """``logits``, checked for NaN and inf (one reduction) before any metric reads them."""
    if not bool(torch.isfinite(logits).all()):
        raise NonFiniteLogits(f"the logits of {what} are not finite (NaN or inf)")
    return logits


@dataclass
class Data:
    """Everything a method is scored on, drawn once per call: (trains, tests) per synthetic set
    (one dataset per seed) and the domino (train, test) pair."""

    lms5: tuple[list[SyntheticData], list[SyntheticData]]
    ms57: tuple[list[SyntheticData], list[SyntheticData]]
    noisy: tuple[list[SyntheticData], list[SyntheticData]]
    ms5: tuple[list[SyntheticData], list[SyntheticData]]
    images: tuple

    def without_s(self, seed: int) -> Data:
        """The same data with S randomized in every training set (one seeded permutation of the
        S block across the training points, per set: S keeps its distribution and carries no
        label; :func:`sbcore.data.synthetic.randomize`), the domino training set's top block
        likewise; the test sets and MS-5 (whose S is empty) as they are."""

        def blind(sets: tuple, k: int) -> tuple:
            return [
                t.randomized("S", seed=member_seed(seed + k, i)) for i, t in enumerate(sets[0])
            ], sets[1]

        train, test = self.images
        return Data(
            blind(self.lms5, 0),
            blind(self.ms57, 1),
            blind(self.noisy, 2),
            self.ms5,
            (train.randomized("S", seed=seed + 3), test),
        )


def control() -> Method:
    """The positive control's row: plain SGD (:func:`~.methods.vanilla`'s recipe), which
    :func:`evaluate` trains on :meth:`Data.without_s` instead of the original training sets."""
    return Method(
        CONTROL,
        paper="this testbed: vanilla SGD with S randomized in training",
        settings={"training sets": "S randomized"},
    )


def prepare(cfg: Config, seeds: Sequence[int]) -> Data:
    """Draw every dataset of the scorecard for ``seeds`` (the image pairing from ``seeds[0]``)."""
    kw = dict(d=cfg.d)
    return Data(
        make_splits("LMS-5", cfg.n_train_lms, cfg.n_test, seeds, **kw),
        make_splits("MS-(5,7)", cfg.n_train_ms57, cfg.n_test, seeds, **kw),
        make_splits("noisy LMS-7", cfg.n_train_noisy, cfg.n_test, seeds, noise=cfg.noise, **kw),
        make_splits("MS-5", cfg.n_train_ms5, cfg.n_test, seeds, **kw),
        load_pair(
            cfg.image_source,
            "A",
            n_train=cfg.image_n_train,
            n_test=cfg.image_n_test,
            seed=seeds[0],
        ),
    )


def train_predictors(
    method: Method,
    model: str,
    trains: Sequence[SyntheticData],
    cfg: Config,
    seeds: Sequence[int],
    *,
    device="cpu",
    progress: bool = False,
    recipe: TrainConfig | None = None,
) -> list:
    """One predictor per seed (seed s's ``method.members`` stack members, logits averaged),
    trained with ``method`` on ``trains[s]``; member k * S + s starts from seed
    ``seeds[s] + k * INIT_STRIDE`` (k = 0: the seed itself, as chapter 02's stacks), with
    ``recipe`` (default ``cfg.train``)."""
    S, K = len(seeds), method.members
    stack = (
        ModelSpec.parse(model)
        .build(trains[0].n_features, seeds=[s + k * INIT_STRIDE for k in range(K) for s in seeds])
        .to(device)
    )
    x, y = stack_data(trains)
    method.fit(
        stack,
        x.to(device),
        y.to(device),
        cfg.train if recipe is None else recipe,
        seed=seeds[0],
        n_data=S,
        progress=progress,
        desc=f"{method.name}: {model} on {trains[0].name}",
    )
    stack = stack.cpu().eval()
    return [Averaged(stack, [k * S + s for k in range(K)]).eval() for s in range(S)]


@torch.no_grad()
def randomized_aucs(
    preds: Sequence, tests: Sequence[SyntheticData], *, seed: int
) -> dict[str, np.ndarray]:
    """Test accuracy and standard / S- / Sc-randomized AUC of predictor m on ``tests[m]``
    (:func:`sbcore.metrics.table1_eval`, its randomized sets from ``member_seed(seed, m)``).
    Raises :class:`NonFiniteLogits` before any metric reads a NaN or inf."""

    def logits(variant: list, name: str) -> Tensor:
        which = "" if name == "standard" else f"{name} "
        return torch.stack(
            [
                finite(
                    p(t.x), f"predictor {m} of {len(preds)} on the {which}{t.name} test set"
                ).reshape(-1, t.n_samples, 2)[0]
                for m, (p, t) in enumerate(zip(preds, variant))
            ]
        )

    ev = table1_eval(logits, tests, torch.stack([t.y for t in tests]), seed=seed)
    return {k: getattr(ev, k) for k in ("acc", "auc", "s_auc", "sc_auc")}


def member_diagnostics(
    preds: Sequence[Averaged], tests: Sequence[SyntheticData], *, seed: int, n_points: int = 500
) -> dict[str, np.ndarray]:
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
    return {
        "alignment": np.array(align),
        "member_s_auc": np.array(s_auc),
        "member_sc_auc": np.array(sc_auc),
    }


def fragility(preds: Sequence, data: Data, cfg: Config, *, seed: int) -> dict[str, np.ndarray]:
    """Chapter 05's suite on the LMS-5 predictors: PGD accuracy, the stronger UAP's accuracy and
    its share of energy on S (unrotated basis), (S,) each."""
    trains, tests = data.lms5
    n = cfg.n_attack
    run = attack_models(
        preds,
        [(t.x[:n], t.y[:n]) for t in trains],
        [(t.x[:n], t.y[:n]) for t in tests],
        on_s=coords_mask(cfg.d, tests[0].s_coords),
        bases=[t.rotation for t in tests],
        eps_pgd=EPS_LMS5,
        eps_uap=EPS_LMS5,
        pgd_steps=cfg.pgd_steps,
        uap_epochs=cfg.uap_epochs,
        uap_batch=cfg.uap_batch,
        seed=seed,
        data="LMS-5",
    )
    accs = np.stack([run.acc["SVD-UAP"], run.acc["AS-UAP"]])
    shares = np.stack([run.share["SVD-UAP"], run.share["AS-UAP"]])
    worst = accs.argmin(0)
    cols = np.arange(accs.shape[1])
    return {
        "pgd_acc": run.acc["PGD"],
        "uap_acc": accs[worst, cols],
        "uap_share": shares[worst, cols],
    }


def ensemble_gains(
    method: Method,
    data: Data,
    cfg: Config,
    seeds: Sequence[int],
    *,
    device="cpu",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """MS-5 ensembles, one per seed: E = max(ens_sizes) predictors of ``method.members`` members
    each, all trained as one stack (member (e * K + k) * G + g is member k of predictor e of
    group g). Returns {"gain<k>": (G,)} for every k of ``cfg.ens_sizes``."""
    trains, tests = data.ms5
    G, K, E = len(seeds), method.members, max(cfg.ens_sizes)
    init = [10_000 + s + j * INIT_STRIDE for j in range(E * K) for s in seeds]
    stack = ModelSpec.parse(cfg.ens_model).build(cfg.d, seeds=init).to(device)
    x, y = stack_data(trains)
    method.fit(
        stack,
        x.to(device),
        y.to(device),
        cfg.train,
        seed=seeds[0],
        n_data=G,
        progress=progress,
        desc=f"{method.name}: {G}x{E} ensembles on MS-5",
    )
    xt, yt = (torch.stack([t.x for t in tests]), torch.stack([t.y for t in tests]))
    lg = predict_logits(stack, xt.repeat(E * K, 1, 1).to(device), per_member=True).cpu()
    finite(lg, "the MS-5 ensembles' members on their test sets")
    lg = lg.view(E, K, G, *lg.shape[1:]).mean(1).transpose(0, 1)  # (G, E, n, C)
    single = accuracy(lg.flatten(0, 1), yt.repeat_interleave(E, 0)).reshape(G, E).mean(1)
    return {f"gain{k}": accuracy(ensemble_logits(lg, k), yt) - single for k in cfg.ens_sizes}


def image_aucs(
    method: Method,
    data: Data,
    cfg: Config,
    seeds: Sequence[int],
    *,
    device="cpu",
    progress: bool = False,
    train=None,
) -> dict[str, np.ndarray]:
    """One domino model per seed (``method.members`` zoo models as a :class:`Committee`), built
    under ``torch.manual_seed(seed)`` like chapter 03's, trained on ``train`` (default the
    domino training set of ``data``); standard, top- and bottom-randomized AUC on its test set."""
    train = data.images[0] if train is None else train
    test = data.images[1]
    models = []
    for s in seeds:
        torch.manual_seed(s)
        nets = [
            build_image_model(cfg.image_model, in_channels=train.x.shape[1], num_classes=2)
            for _ in range(method.members)
        ]
        model = (nets[0] if method.members == 1 else Committee(nets)).to(device)
        method.fit(
            model,
            train.x.to(device),
            train.y.to(device),
            cfg.image_train,
            seed=s,
            progress=progress,
            desc=f"{method.name}: {cfg.image_model} seed {s}",
        )
        models.append(model.cpu().eval())
        finite(
            image_logits(models[-1], test.x),
            f"the {cfg.image_model} of seed {s} on the domino test set",
        )
    ev = randomized_image_eval(models, test, seed=seeds[0])
    return {"img_top_auc": ev.s_auc, "img_bottom_auc": ev.sc_auc, "img_auc": ev.auc}


def score(
    method: Method,
    data: Data,
    cfg: Config,
    seeds: Sequence[int],
    *,
    device="cpu",
    progress: bool = False,
    catch: bool = False,
    fit_data: Data | None = None,
) -> MethodScore:
    """Every column of the scorecard for one method (see the module docstring), stage by stage:
    trained on ``fit_data``'s training sets (default ``data``'s: the positive control passes
    :meth:`Data.without_s`), tested and attacked on ``data``'s.

    With ``catch``, an exception at a stage ends the row there: ``failure`` says what failed
    (:meth:`Failure.of`) and the columns of the stages before stay. Without, it propagates with
    a note naming the method and the stage."""
    start, stage = time.perf_counter(), "start"
    row = MethodScore(method.name, {}, paper=method.paper, settings=dict(method.settings))
    values, kw = row.values, dict(device=device, progress=progress)
    fit_data = data if fit_data is None else fit_data
    try:
        for key, name, sets, fits in (
            ("lms5", "LMS-5", data.lms5, fit_data.lms5),
            ("ms57", "MS-(5,7)", data.ms57, fit_data.ms57),
        ):
            stage = f"{name} training"
            recipe = cfg.ms57_train if key == "ms57" else None
            preds = train_predictors(method, cfg.model, fits[0], cfg, seeds, recipe=recipe, **kw)
            stage = f"{name} evaluation"
            ev = randomized_aucs(preds, sets[1], seed=seeds[0])
            values.update(
                {
                    f"{key}_s_auc": ev["s_auc"],
                    f"{key}_sc_auc": ev["sc_auc"],
                    f"{key}_acc": ev["acc"],
                }
            )
            if key == "lms5":
                stage = "LMS-5 attacks"
                values.update(fragility(preds, data, cfg, seed=seeds[0]))
                if method.members > 1:
                    stage = "LMS-5 member diagnostics"
                    row.diagnostics = member_diagnostics(preds, sets[1], seed=seeds[0])
        stage = "noisy LMS-7 training"
        noisy = train_predictors(
            method, cfg.model, fit_data.noisy[0], cfg, seeds, recipe=cfg.noisy_train, **kw
        )
        stage = "noisy LMS-7 evaluation"
        values["noisy_acc"] = randomized_aucs(noisy, data.noisy[1], seed=seeds[0])["acc"]
        stage = "MS-5 ensembles"
        values.update(ensemble_gains(method, data, cfg, seeds, **kw))
        stage = "domino images"
        values.update(image_aucs(method, data, cfg, seeds, train=fit_data.images[0], **kw))
    except Exception as err:  # a method is arbitrary code; KeyboardInterrupt still stops
        if not catch:
            err.add_note(f"while the testbed scored {method.name!r}, at {stage}")
            raise
        row.failure = Failure.of(err, stage)
        if row.failure.kind == "error":
            warnings.warn(
                f"testbed: {method.name!r} failed: {row.failure}", MethodFailed, stacklevel=3
            )
    row.seconds = time.perf_counter() - start
    return row


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``, ``"cpu"`` or ``"cuda"`` as the chapters pick them
    (:func:`sbcore.runtime.pick_device`), or a ``torch.device`` of a CPU or an available GPU."""
    if isinstance(device, torch.device):
        if device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_available()):
            return device
        raise ValueError(f"device must be a CPU or an available CUDA device, got {device}")
    return pick_device(device)


def _is_int(v, below: int) -> bool:
    return not isinstance(v, bool) and isinstance(v, numbers.Integral) and 0 <= v < below


def check_seeds(seed: int, seeds: Sequence[int] | None) -> list[int] | None:
    """Seeds as the chapters take them (``sbcore.claims.run.Run.create``): ``seed`` an integer
    in [0, 2**31); ``seeds`` (any iterable) distinct integers, at least one, in [0, 2**31 * 1000)
    (the member seeds of those base seeds). Returns ``seeds`` as a list of ints."""
    if not _is_int(seed, MAX_SEED):
        raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
    if seeds is None:
        return None
    try:
        got = list(seeds) if not isinstance(seeds, (str, bytes)) else None
    except TypeError:
        got = None
    if not got or not all(_is_int(s, MAX_SEEDS) for s in got) or len(set(got)) != len(got):
        raise ValueError(
            f"seeds must be distinct integers in [0, 2**31 * 1000), at least one, got {seeds!r}"
        )
    return [int(s) for s in got]


def evaluate(
    method: Method | Sequence[Method],
    scale: str | None = "smoke",
    seeds: Sequence[int] | None = None,
    *,
    seed: int = 0,
    config: Config | None = None,
    device: str | torch.device = "auto",
    progress: bool = False,
    errors: str = "record",
    positive_control: bool = True,
) -> Scorecard:
    """Score ``method`` (or several) beside vanilla SGD, which is always trained first in the same
    call with the same seeds and data.

    Args:
        method: a :class:`Method` or a list of them (``sbcore.testbed.methods``, or your own).
        scale: "smoke" (seconds), "book" (about a minute per method on a 2-core CPU), "paper"
            (the paper's sample sizes; a GPU is advised); None: $SBCORE_SCALE, else "book".
        seeds: one per repetition (default ``member_seeds(seed, n_seeds)`` of the scale).
        config: a :class:`sbcore.chapters.ch10_testbed.Config` instead of the scale's preset.
        device: "auto" (the default, as the chapters: CUDA when present), "cpu" or "cuda"
            (:func:`sbcore.runtime.pick_device`), or a ``torch.device``.
        errors: "record": a method that diverges or raises gets a row saying so (an exception
            also warns, :class:`MethodFailed`; ``Scorecard.raise_errors()`` re-raises it, its
            frames' locals cleared) and the others are scored; "raise": the first exception
            propagates as it is (to debug a method).
        positive_control: score the positive control (:func:`control`) as the second row, on
            the training sets with S randomized: it shows how far each column can move.
    Returns a :class:`Scorecard` (print it, or ``.table()`` for rows). Raises ValueError naming
    the argument for a bad scale, seed, seeds, config, device, errors or method, before training.
    """
    scale = resolve_scale(scale)
    if config is not None and not isinstance(config, Config):
        raise ValueError(f"config must be a ch10_testbed.Config, got {type(config).__name__}")
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {ERRORS}, got {errors!r}")
    seeds = check_seeds(seed, seeds)
    device = resolve_device(device)
    cfg = config if config is not None else PRESETS[scale]
    seeds = seeds if seeds is not None else member_seeds(seed, cfg.n_seeds)
    given = (
        [method]
        if isinstance(method, Method)
        else list(method)
        if isinstance(method, (list, tuple))
        else [None]
    )
    if not all(isinstance(m, Method) for m in given):
        raise ValueError("method must be a testbed Method or a list of them")
    ref = [vanilla()] + ([control()] if positive_control else [])
    methods = ref + [m for m in given if m.name not in ("vanilla", CONTROL)]
    if len({m.name for m in methods}) != len(methods):
        raise ValueError(f"methods need distinct names, got {[m.name for m in methods]}")
    data = prepare(cfg, seeds)
    blind = data.without_s(seeds[0]) if positive_control else data
    rows = [
        score(
            m,
            data,
            cfg,
            seeds,
            device=device,
            progress=progress,
            catch=i >= len(ref) and errors == "record",
            fit_data=blind if m.name == CONTROL else data,
        )
        for i, m in enumerate(methods)
    ]
    for r in rows:  # a kept traceback keeps its lines, not the data and models of its frames
        if r.failure is not None and r.failure.error is not None:
            traceback.clear_frames(r.failure.error.__traceback__)
    return Scorecard(scale, seeds, rows, image_data=data.images[1].source)
