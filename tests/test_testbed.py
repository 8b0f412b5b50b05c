"""The testbed: fit's loss hook, the reference methods' mechanisms against hand computations and
autograd, the method protocol, and a smoke-scale scorecard of vanilla and one reference method."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from sbcore import testbed
from sbcore.chapters import ch10_testbed as ch
from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.testbed import methods as M
from sbcore.testbed.protocol import Averaged, Committee, member_views
from sbcore.testbed.scorecard import KEYS, MethodScore, Scorecard
from sbcore.train import TrainConfig, fit, member_cross_entropy


@pytest.fixture(scope="module")
def lms():
    return make_lms(600, seed=0)


# ---------------------------------------------------------------- fit's loss hook


def test_default_loss_is_unchanged(lms):
    cfg = TrainConfig(max_epochs=2, stop_loss=None, momentum=0.9)
    spec = ModelSpec.parse("(16,1)-FCN")
    a, b = spec.build(50, seeds=[1, 2]), spec.build(50, seeds=[1, 2])
    ha = fit(a, lms.x, lms.y, cfg, progress=False)
    hb = fit(
        b, lms.x, lms.y, cfg, progress=False, loss=lambda m, x, y, lg: member_cross_entropy(lg, y)
    )
    assert ha.loss == hb.loss
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_custom_loss_is_used_with_the_callers_shapes(lms):
    seen = []

    def no_signal(model, x, y, logits):  # zero loss: with no weight decay nothing moves
        seen.append((tuple(x.shape), tuple(y.shape), tuple(logits.shape)))
        return 0.0 * logits.sum((-2, -1))  # (M,) for a stack, one value for a model

    cfg = TrainConfig(max_epochs=1, stop_loss=None, weight_decay=0.0, batch_size=200)
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(50, 8), nn.ReLU(), nn.Linear(8, 2))
    before = [p.detach().clone() for p in plain.parameters()]
    hist = fit(plain, lms.x, lms.y, cfg, loss=no_signal, progress=False)
    assert seen[0] == ((200, 50), (200,), (200, 2))  # an ordinary model: no member axis
    assert hist.loss == [[0.0]]
    for p, q in zip(before, plain.parameters()):
        assert torch.equal(p, q)
    stack = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1])
    fit(stack, lms.x, lms.y, cfg, loss=no_signal, progress=False)
    assert seen[-1] == ((2, 200, 50), (2, 200), (2, 200, 2))


def test_a_custom_loss_is_never_captured_in_a_cuda_graph(lms, monkeypatch):
    from sbcore import train

    def refuse(*a, **k):
        raise AssertionError("a custom loss must not be captured")

    monkeypatch.setattr(train, "use_cuda_graph", lambda cfg, x, perturb: True)
    monkeypatch.setattr(train, "CapturedStep", refuse)
    model = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0])
    fit(
        model,
        lms.x,
        lms.y,
        TrainConfig(max_epochs=1),
        progress=False,
        loss=lambda m, x, y, lg: member_cross_entropy(lg, y),
    )
    with pytest.raises(AssertionError):  # the default loss would be
        fit(model, lms.x, lms.y, TrainConfig(max_epochs=1), progress=False)


# ---------------------------------------------------------------- SAM


def _tiny(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(3, 2)


def test_sam_ascent_step_by_hand():
    model = _tiny()
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    w, b = model.weight.detach().clone(), model.bias.detach().clone()
    # by hand: g = dL/dw, eps = rho g / ||g||, then the gradient of L at w + eps
    wg, bg = w.clone().requires_grad_(), b.clone().requires_grad_()
    gw, gb = torch.autograd.grad(nn.functional.cross_entropy(x @ wg.T + bg, y), (wg, bg))
    norm = torch.sqrt(gw.pow(2).sum() + gb.pow(2).sum())
    rho = 0.3
    w2 = (w + rho * gw / norm).requires_grad_()
    b2 = (b + rho * gb / norm).requires_grad_()
    want = torch.autograd.grad(nn.functional.cross_entropy(x @ w2.T + b2, y), (w2, b2))
    loss = M.sam_loss(model, x, y, model(x), 1, rho=rho)
    got = torch.autograd.grad(loss, (model.weight, model.bias))
    for g, h in zip(got, want):
        assert torch.allclose(g, h, atol=1e-6)
    eps = M.sam_perturbation(model, [gw, gb], rho)
    assert torch.sqrt(sum(e.pow(2).sum() for e in eps)).item() == pytest.approx(rho, rel=1e-5)


def test_sam_normalises_each_member_of_a_stack_by_its_own_norm(lms):
    stack = ModelSpec.parse("(4,1)-FCN").build(50, seeds=[0, 1])
    x, y = lms.x[:32].expand(2, -1, -1), lms.y[:32].expand(2, -1)
    grads = torch.autograd.grad(member_cross_entropy(stack(x), y).sum(), list(stack.parameters()))
    eps = M.sam_perturbation(stack, list(grads), 0.05)
    per_member = torch.sqrt(sum(e.pow(2).flatten(1).sum(1) for e in eps))
    assert torch.allclose(per_member, torch.full((2,), 0.05), atol=1e-6)
    for m in range(2):  # each member's direction is its own gradient's
        assert all(
            torch.allclose(
                e[m] / 0.05 * torch.sqrt(sum(g[m].pow(2).sum() for g in grads)), g[m], atol=1e-5
            )
            for e, g in zip(eps, grads)
        )


# ---------------------------------------------------------------- spectral decoupling


def test_spectral_decoupling_penalty_gradient():
    logits = torch.randn(2, 7, 2, requires_grad=True)
    lam = 0.3
    (grad,) = torch.autograd.grad(M.sd_penalty(logits, lam).sum(), logits)
    assert torch.allclose(grad, lam * logits.detach() / 7, atol=1e-7)
    assert M.sd_penalty(logits, lam).shape == (2,)
    y = torch.randint(0, 2, (2, 7))
    total = M.sd_loss(None, None, y, logits, 1, lam=lam)
    assert torch.allclose(total, member_cross_entropy(logits, y) + M.sd_penalty(logits, lam))


# ---------------------------------------------------------------- diverse ensembles


def test_gradient_alignment_by_hand():
    g = torch.tensor([[[1.0, 0.0]], [[0.0, 2.0]], [[1.0, 1.0]]])  # K = 3 members, D = 1, b = 1
    # pairs: (1,2) cos 0; (1,3) cos 1/sqrt2; (2,3) cos 1/sqrt2 -> squared mean (0 + .5 + .5) / 3
    assert M.gradient_alignment(g, 1).item() == pytest.approx(1 / 3, abs=1e-6)
    two_groups = torch.cat([g[:2], -g[:2]]).reshape(2, 2, 1, 2)  # (K=2) x (D=2): m = k * D + d
    out = M.gradient_alignment(two_groups.reshape(4, 1, 2), 2)
    assert out.shape == (2,)


def test_diversity_term_matches_per_member_autograd(lms):
    K, D = 3, 2
    stack = ModelSpec.parse("(6,1)-FCN").build(50, seeds=list(range(K * D)))
    x = torch.stack([lms.x[:10], lms.x[10:20]] * K)  # member m sees group m % D's batch
    xs, lg, k, d = member_views(stack, x, D)
    assert (k, d) == (K, D)
    top = lg.gather(-1, lg.argmax(-1, keepdim=True)).sum()
    grads = torch.autograd.grad(top, xs)[0]
    # the same gradients member by member, each on its group's points
    for m in range(K * D):
        xm = x[m % D].clone().requires_grad_()
        lm = Averaged(stack, [m])(xm)
        (gm,) = torch.autograd.grad(lm.max(-1).values.sum(), xm)
        assert torch.allclose(grads[m], gm, atol=1e-6)
    want = torch.stack(
        [
            np.mean(
                [
                    nn.functional.cosine_similarity(grads[i * D + g], grads[j * D + g], dim=-1)
                    .pow(2)
                    .mean()
                    .item()
                    for i in range(K)
                    for j in range(i + 1, K)
                ]
            )
            * torch.ones(())
            for g in range(D)
        ]
    )
    assert torch.allclose(M.gradient_alignment(grads, D), want.float(), atol=1e-5)


def test_diversity_loss_trains_a_committee_and_a_stack(lms):
    method = M.diverse(members=2, weight=1.0)
    torch.manual_seed(0)
    comm = Committee(
        [nn.Sequential(nn.Linear(50, 8), nn.ReLU(), nn.Linear(8, 2)) for _ in range(2)]
    )
    hist = method.fit(comm, lms.x, lms.y, TrainConfig(max_epochs=2, stop_loss=None), seed=0)
    assert np.isfinite(hist.loss[-1]).all()
    stack = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1, 2, 3])
    x, y = torch.stack([lms.x, lms.x]), torch.stack([lms.y, lms.y])
    hist = method.fit(stack, x, y, TrainConfig(max_epochs=2, stop_loss=None), seed=0, n_data=2)
    assert len(hist.loss[-1]) == 4
    with pytest.raises(ValueError, match="two members"):
        method.fit(
            ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1]),
            x,
            y,
            TrainConfig(max_epochs=1),
            seed=0,
            n_data=2,
        )


# ---------------------------------------------------------------- protocol and scorecard


def test_method_protocol_and_loading():
    assert testbed.load_method("sbcore.testbed.methods:sam").name == "SAM"
    assert testbed.load_method("sbcore.testbed.methods:vanilla").loss is None
    for bad in (
        "sbcore.testbed.methods",
        "sbcore.testbed.methods:nope",
        "sbcore.testbed.methods:REFERENCE",
    ):
        with pytest.raises(ValueError):
            testbed.load_method(bad)
    for kw in ({"name": ""}, {"name": "x", "members": 0}, {"name": "x", "loss": 3}):
        with pytest.raises(ValueError):
            testbed.Method(**kw)
    with pytest.raises(ValueError):
        M.sam(rho=0)
    with pytest.raises(ValueError):
        M.by_name("dropout")


def test_scorecard_deltas_noise_and_moves():
    rows = [
        MethodScore("vanilla", {k: np.array([0.5, 0.5]) for k in KEYS}),
        MethodScore("m", {k: np.array([0.9, 0.7]) for k in KEYS}),
    ]
    card = Scorecard("smoke", [0, 1], rows, "x")
    assert card.deltas()["m"]["lms5_s_auc"] == pytest.approx(0.3)
    assert card.noise()["m"]["lms5_s_auc"] == pytest.approx(np.sqrt(0.02 / 2))
    moves = ch.moved(card.deltas(), card.noise(), {"lms5_s_auc": 1, "lms5_sc_auc": -1})
    assert moves == {"m": ["lms5_s_auc"]}
    assert "vanilla" in repr(card) and "0.800 ± 0.141" in repr(card)
    d = {"a": {"pgd_acc": 0.5, "uap_acc": 0.0}, "b": {"pgd_acc": 0.5, "uap_acc": 0.5}}
    se = {n: {"pgd_acc": 0.1, "uap_acc": 0.1} for n in d}
    assert ch.masked(d, se) == ["a"]  # PGD "helps" but the universal perturbation still wins
    assert card.table()[0]["method"] == "vanilla"


def test_a_column_whose_models_did_not_train_gives_no_difference():
    # vanilla learned MS-(5,7) (accuracy 1.0); "m" sits at chance there: its S-randomized AUC of
    # 0.5 and Sc-randomized AUC of 0.5 would read as a strong mitigation, and must not
    good = {k: np.array([0.5, 0.5]) for k in KEYS} | {"ms57_acc": np.array([1.0, 1.0])}
    chance = dict(good, ms57_acc=np.array([1.0, 0.5]), ms57_sc_auc=np.array([0.5, 0.5]))
    van = MethodScore("vanilla", dict(good, ms57_sc_auc=np.array([1.0, 1.0])))
    card = Scorecard("smoke", [0, 1], [van, MethodScore("m", chance)], "x")
    assert card.rows[1].untrained("ms57_sc_auc") and card.rows[1].untrained("ms57_s_auc")
    assert not card.rows[1].untrained("lms5_s_auc")  # no accuracy recorded: nothing to guard
    assert not card.rows[1].untrained("noisy_acc")  # a performance column guards itself
    assert np.isnan(card.deltas()["m"]["ms57_sc_auc"])
    assert ch.moved(card.deltas(), card.noise(), {"ms57_sc_auc": -1}) == {"m": []}
    assert card.table()[1]["MS-(5,7) Sc-rand AUC"] == "0.500 ± 0.000 †"
    assert "†: the models behind the value did not train" in repr(card)


def test_config_validation():
    assert ch.KNOWN == (*M.REFERENCE, *M.EXTRA) and ch.REFERENCE == M.REFERENCE
    smoke = ch.PRESETS["smoke"]
    for kw in (
        {"methods": ("dropout",)},
        {"method": "nocolon"},
        {"n_seeds": 1},
        {"n_attack": 10**6},
        {"ens_sizes": (1,)},
    ):
        with pytest.raises(ValueError):
            dataclasses.replace(smoke, **kw)


def test_evaluate_vanilla_and_a_reference_method_at_smoke_scale():
    card = testbed.evaluate(M.spectral_decoupling(), scale="smoke")
    assert [r.name for r in card.rows] == ["vanilla", testbed.CONTROL, "spectral decoupling"]
    for r in card.rows:
        for k in KEYS:
            assert r.values[k].shape == (2,) and np.isfinite(r.values[k]).all(), (r.name, k)
    van = card.row("vanilla").values
    assert abs(van["lms5_s_auc"].mean() - 0.5) < 0.1 and van["lms5_sc_auc"].min() > 0.95
    assert card.image_data and "spectral decoupling" in repr(card)
    again = testbed.evaluate(M.vanilla(), scale="smoke", positive_control=False)
    assert [r.name for r in again.rows] == ["vanilla"]  # same seeds, same numbers
    for k in KEYS:
        assert np.allclose(again.rows[0].values[k], van[k])
    # the positive control moves every column the smoke scale keeps, beyond twice the spread
    kept = ch.PRESETS["smoke"].control_columns
    labels = {c.key: c.label for c in testbed.COLUMNS}
    better = {c.key: c.better for c in testbed.COLUMNS}
    rows, missing = ch.control_range(card.deltas(), card.noise(), better, labels, kept)
    assert kept and missing == [], rows
    assert {r["column"] for r in rows if r["the control moves it"] == "yes"} >= {
        labels[k] for k in kept
    }


def test_the_control_trains_on_s_randomized_sets_and_is_tested_on_the_originals():
    from sbcore.testbed.evaluation import Data, prepare

    cfg = ch.PRESETS["smoke"]
    data = prepare(cfg, [0, 1])
    blind = data.without_s(0)
    assert isinstance(blind, Data)
    for name in ("lms5", "ms57", "noisy"):
        (tr, te), (btr, bte) = getattr(data, name), getattr(blind, name)
        assert bte is te  # the same test sets
        for t, b in zip(tr, btr):
            s, sc = list(t.s_coords), list(t.sc_coords)
            assert torch.equal(b.y, t.y) and torch.equal(b.z[:, sc], t.z[:, sc])
            assert not torch.equal(b.z[:, s], t.z[:, s])  # S permuted across the points
            assert torch.equal(b.z[:, s].sort(0).values, t.z[:, s].sort(0).values)
            # S no longer predicts y: LMS's linear coordinate's sign agrees with y half the time
            if name != "ms57":
                agree = ((b.z[:, s[0]] > 0).long() == b.y).float().mean()
                assert abs(float(agree) - 0.5) < 0.06
    assert blind.ms5 is data.ms5  # MS-5 has no S
    (itr, ite), (btr, bte) = data.images, blind.images
    assert bte is ite and torch.equal(btr.x[:, :, 32:], itr.x[:, :, 32:])
    assert not torch.equal(btr.x[:, :, :32], itr.x[:, :, :32])


# ---------------------------------------------------------------- Just Train Twice


def test_upsample_repeats_the_error_set_by_hand():
    x = torch.arange(2 * 5, dtype=torch.float32).reshape(2, 5, 1)
    y = torch.zeros(2, 5, dtype=torch.long)
    wrong = torch.tensor([[1, 0, 0, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.bool)
    xu, yu = M.upsample(x, y, wrong, 4, seed=0)
    assert xu.shape == (2, 5 + 2 * 3, 1) and yu.shape == (2, 11)
    counts = torch.bincount(xu[0, :, 0].long(), minlength=5)
    assert counts.tolist() == [4, 1, 1, 4, 1]  # the member with the most errors: exact
    own = xu[1, :, 0].long() - 5
    assert own.min() >= 0 and own.max() <= 4  # member 1 only draws its own points
    assert torch.bincount(own[:8], minlength=5).tolist() == [1, 1, 4, 1, 1]


def test_jtt_retrains_on_the_first_models_errors(lms, monkeypatch):
    calls = []
    real_fit = M.fit

    def spy(model, x, y, cfg, **kw):
        calls.append((x.shape, cfg.max_epochs, cfg.stop_loss))
        return real_fit(model, x, y, cfg, **kw)

    monkeypatch.setattr(M, "fit", spy)
    noisy = make_lms(400, seed=1, noise=0.3)  # S is wrong on ~15% of the points
    stack = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1])
    x, y = torch.stack([noisy.x, noisy.x]), torch.stack([noisy.y, noisy.y])
    cfg = TrainConfig(max_epochs=3, momentum=0.9)
    M.jtt(epochs=2, factor=5).fit(stack, x, y, cfg, seed=0, n_data=2)
    (s1, e1, stop1), (s2, e2, _) = calls
    assert s1 == x.shape and e1 == 2 and stop1 is None  # stage 1: the identification epochs
    assert e2 == 3 and s2[0] == 2 and s2[1] > 400  # stage 2: the error set upsampled


# ---------------------------------------------------------------- USEFUL


def test_two_means_splits_two_obvious_groups_whatever_their_order():
    z = torch.tensor([[0.0, 0.1], [5.0, 5.0], [0.2, 0.0], [5.1, 4.9], [0.1, 0.2]])
    side = M.two_means(z)
    assert side.tolist() in ([False, True, False, True, False], [True, False, True, False, True])
    assert not M.two_means(torch.ones(4, 2)).any()  # one point repeated: nothing to split


def test_slow_cluster_picks_each_classs_unlearned_examples_by_hand():
    # class 0: three examples learned early (logits far on the right side), two not (near 0);
    # class 1: two learned, one not. Expected: exactly the unlearned ones, per class.
    logits = torch.tensor(
        [[4.0, -4.0], [0.1, 0.0], [4.2, -3.9], [3.8, -4.1], [0.0, 0.2],  # class 0
         [-4.0, 4.0], [0.0, 0.1], [-3.9, 4.2]]  # class 1
    )  # fmt: skip
    y = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    assert M.slow_cluster(logits, y).tolist() == [0, 1, 0, 0, 1, 0, 1, 0]
    # the higher-loss cluster is chosen, not the smaller one: here the unlearned cluster is the
    # larger one of class 0
    logits2 = torch.tensor([[4.0, -4.0], [0.1, 0.0], [0.0, 0.1], [0.2, 0.1]])
    assert M.slow_cluster(logits2, torch.zeros(4, dtype=torch.long)).tolist() == [0, 1, 1, 1]


def test_useful_upsamples_the_slow_cluster_once_and_retrains_with_its_base(lms, monkeypatch):
    calls = []
    real = M.Method.fit

    def spy(self, model, x, y, cfg, **kw):
        calls.append((self.name, x.shape, cfg.max_epochs, cfg.stop_loss))
        return real(self, model, x, y, cfg, **kw)

    monkeypatch.setattr(M.Method, "fit", spy)
    picked = []
    real_slow = M.slow_cluster
    monkeypatch.setattr(
        M, "slow_cluster", lambda lg, y: picked.append(real_slow(lg, y)) or picked[-1]
    )
    stack = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1])
    start = copy.deepcopy(stack.state_dict())
    x, y = torch.stack([lms.x, lms.x]), torch.stack([lms.y, lms.y])
    cfg = TrainConfig(max_epochs=20, momentum=0.9)
    method = M.useful(M.sam(), fraction=0.1)
    assert method.name == "USEFUL + SAM" and method.settings["rho"] == 0.05
    method.fit(stack, x, y, cfg, seed=0, n_data=2)
    outer, (n1, s1, e1, stop1), (n2, s2, e2, _) = calls
    assert outer[0] == "USEFUL + SAM" and n1 == n2 == "SAM"  # both stages use the base method
    assert s1 == x.shape and e1 == 2 and stop1 is None  # 10% of 20 epochs, no early stop
    n_slow = max(int(p.sum()) for p in picked)
    assert len(picked) == 2 and 0 < n_slow < 600
    assert e2 == 20 and s2 == (2, 600 + n_slow, 50)  # every point once, the slow ones twice
    assert any(not torch.equal(start[k], v) for k, v in stack.state_dict().items())
    with pytest.raises(ValueError, match="^base must be"):
        M.useful(M.jtt())
    with pytest.raises(ValueError, match=r"^fraction must be in \(0, 1\]"):
        M.useful(fraction=1.5)


@pytest.mark.parametrize("make", [M.useful, M.jtt])
def test_two_stage_methods_train_an_ordinary_model(lms, make):
    # the image columns train one ordinary network per seed, not a stack
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(50, 8), nn.ReLU(), nn.Linear(8, 2))
    hist = make().fit(net, lms.x, lms.y, TrainConfig(max_epochs=3), seed=0)
    assert len(hist.loss) >= 1 and all(np.isfinite(hist.loss))


def test_member_diagnostics_of_identical_and_different_members():
    from sbcore.experiments.stacks import make_splits
    from sbcore.testbed.evaluation import member_diagnostics

    _, tests = make_splits("LMS-5", 10, 200, [0])
    one = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0])
    twins = one.select([0, 0])  # the same member twice: parallel gradients everywhere
    d = member_diagnostics([Averaged(twins, [0, 1])], tests, seed=0, n_points=50)
    assert d["alignment"][0] == pytest.approx(1.0, abs=1e-5)
    assert d["member_s_auc"].shape == (1, 2) and d["member_s_auc"][0, 0] == d["member_s_auc"][0, 1]
    pair = ModelSpec.parse("(8,1)-FCN").build(50, seeds=[0, 1])
    assert member_diagnostics([Averaged(pair, [0, 1])], tests, seed=0)["alignment"][0] < 1.0
