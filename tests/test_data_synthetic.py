"""The synthetic generators against the paper's numbers (claims.md section 1)."""

import numpy as np
import pytest
import torch

from sbcore.data import blocks, from_name, make_lms, make_lsn, make_ms, make_ms_k, randomize
from sbcore.data.synthetic import make_adv_ms, random_rotation


def _y(n=40_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2 * torch.randint(0, 2, (n,), generator=g, dtype=torch.float64) - 1, g


@pytest.mark.parametrize("k,width", [(3, 0.533333), (5, 0.24), (7, 0.114286)])
def test_slab_widths_and_gaps(k, width):
    lay = blocks.slab_layout(k)
    assert lay.width == pytest.approx(width, abs=1e-6)
    gaps = np.array(lay.lo[1:]) - np.array(lay.hi[:-1])
    assert np.allclose(gaps, 0.2)  # 2 B gamma
    assert lay.lo[0] == pytest.approx(-1) and lay.hi[-1] == pytest.approx(1)
    assert lay.label[(k - 1) // 2] == -1  # the centre slab is negative
    for cls in (-1, 1):
        assert sum(p for p, l in zip(lay.prob, lay.label) if l == cls) == pytest.approx(1)


def test_slab_supports_match_claims_table():
    lay5, lay7 = blocks.slab_layout(5), blocks.slab_layout(7)
    # 5-slab: positive +-[0.32, 0.56]; negative outer +-[0.76, 1.0] w.p. 1/4
    assert (lay5.lo[3], lay5.hi[3]) == pytest.approx((0.32, 0.56))
    assert (lay5.lo[4], lay5.hi[4]) == pytest.approx((0.76, 1.0))
    assert lay5.prob[0] + lay5.prob[4] == pytest.approx(1 / 4)
    # 7-slab: positive inner +-[0.257, 0.371] w.p. 7/8, outer +-[0.886, 1] w.p. 1/8
    assert (lay7.lo[4], lay7.hi[4]) == pytest.approx((0.2571, 0.3714), abs=1e-4)
    assert lay7.prob[0] + lay7.prob[6] == pytest.approx(1 / 8)
    assert lay7.prob[3] == pytest.approx(1 / 2)  # negative centre w.p. 1/2


@pytest.mark.parametrize("k", [5, 7])
def test_equal_class_conditional_second_moments(k):
    # claims.md: E[x^2] = 0.1984 (5-slab) and 0.1986 (7-slab) for both classes (App. B)
    y, g = _y(200_000)
    x = blocks.slab(y, g, k=k)
    expected = {5: 0.1984, 7: 0.1986}[k]
    for cls in (-1, 1):
        assert (x[y == cls] ** 2).mean().item() == pytest.approx(expected, abs=3e-3)


def test_slab_points_fall_in_their_class_slabs():
    y, g = _y(20_000)
    for k in blocks.SLAB_KS:
        lay = blocks.slab_layout(k)
        x = blocks.slab(y, g, k=k)
        for xi, yi in zip(x[:2000].tolist(), y[:2000].tolist()):
            slabs = [i for i in range(k) if lay.lo[i] <= xi <= lay.hi[i]]
            assert len(slabs) == 1 and lay.label[slabs[0]] == yi


def test_linear_support_and_bayes_accuracy():
    y, g = _y()
    x = blocks.linear(y, g)
    assert x[y > 0].min() >= 0.1 and x[y > 0].max() <= 1
    assert x[y < 0].max() <= -0.1 and x[y < 0].min() >= -1
    assert ((x > 0) == (y > 0)).float().mean() == 1  # Bayes accuracy 1


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_noisy_linear_bayes_accuracy_is_one_minus_half_p(p):
    y, g = _y(100_000)
    x = blocks.noisy_linear(y, g, p=p)
    assert ((x.abs() <= 0.1).sum().item()) == pytest.approx(round(100_000 * p), abs=200)
    acc = ((x > 0) == (y > 0)).double().mean().item()
    assert acc == pytest.approx(1 - p / 2, abs=5e-3)


def test_same_seed_same_tensors_and_different_seed_differs():
    a, b, c = make_lms(500, seed=3), make_lms(500, seed=3), make_lms(500, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.rotation, b.rotation)
    assert not torch.equal(a.x, c.x)


def test_rotation_is_orthogonal_and_consistent():
    R = random_rotation(50, 0)
    assert torch.allclose(R @ R.T, torch.eye(50), atol=1e-5)
    d = make_ms(300, seed=1)
    assert torch.allclose(d.z @ d.rotation, d.x, atol=1e-5)
    assert torch.allclose(d.x @ d.rotation.T, d.z, atol=1e-5)


def test_dataset_layouts():
    lms = make_lms(1000, k=5)
    assert lms.s_coords == (0,) and lms.sc_coords == tuple(range(1, 50))
    assert set(torch.unique(lms.y).tolist()) == {0, 1}
    # the linear coordinate's sign is the label
    assert torch.equal((lms.z[:, 0] > 0).long(), lms.y)
    ms = make_ms_k(100, k=5)
    assert ms.s_coords == () and len(ms.sc_coords) == 50
    adv = make_adv_ms(100)
    assert adv.n_features == 20 and adv.s_coords == tuple(range(10))
    lsn = make_lsn(2000, d=10)
    assert torch.equal(lsn.rotation, torch.eye(10))
    assert torch.equal(lsn.z[:, 0], 2 * lsn.y.float() - 1)
    assert set(lsn.z[lsn.y == 0, 1].tolist()) == {0.0}
    assert set(lsn.z[lsn.y == 1, 1].tolist()) == {-1.0, 1.0}
    assert from_name("noisy LMS-7", 100).name == "noisy LMS-7 (p=0.1)"


def test_randomization_keeps_marginal_and_breaks_dependence():
    d = make_lms(20_000, seed=0)
    r = randomize(d, "S", seed=1)
    # the marginal of S is kept exactly (a permutation) ...
    assert torch.equal(torch.sort(r.z[:, 0]).values, torch.sort(d.z[:, 0]).values)
    # ... its tie to the label is gone (originally sign(S) == y always)
    agree = ((r.z[:, 0] > 0).long() == r.y).float().mean().item()
    assert agree == pytest.approx(0.5, abs=0.02)
    # labels and Sc untouched, and x is the re-rotated z
    assert torch.equal(r.y, d.y) and torch.equal(r.z[:, 1:], d.z[:, 1:])
    assert torch.allclose(r.x, r.z @ d.rotation)
    rc = randomize(d, "Sc", seed=1)
    assert torch.equal(rc.z[:, 0], d.z[:, 0]) and not torch.equal(rc.z[:, 1:], d.z[:, 1:])


def test_drop_removes_coordinates_and_keeps_labels():
    d = make_lms(500, seed=0)
    no_s = d.drop(d.s_coords)
    assert no_s.n_features == 49 and no_s.s_coords == () and len(no_s.sc_coords) == 49
    assert torch.equal(no_s.z, d.z[:, 1:]) and torch.equal(no_s.y, d.y)


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda: make_lms(-5), "n_samples"),
        (lambda: make_lms(100, k=4), "k"),
        (lambda: make_lms(100, d=1), "d"),
        (lambda: blocks.noisy_linear(torch.ones(3), torch.Generator(), p=1.5), "p"),
        (lambda: blocks.slab_layout(5, gamma=0.3), "gamma"),
        (lambda: from_name("LMS-9", 10), "k \\(number of slabs\\)"),
        (lambda: from_name("XMS-5", 10), "dataset"),
        (lambda: randomize(make_lms(10), "T"), "coords"),
        (lambda: make_lms(100).split(100), "n_train"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()
