"""Multi-dimensional synthetic datasets: LMS-k, noisy LMS-k, MS-(k,k'), MS-k, LSN, AdvMS-(5,7).

Paper Sec. 3.1 and App. B. Coordinates are independent given the label; a seeded random
orthogonal rotation ``R`` (the Q factor of a Gaussian matrix) is applied: ``x = z @ R`` where
``z`` is the unrotated data, so ``z = x @ R.T``. The simple feature set S and the complex set Sc
are coordinate indices of ``z``; S- and Sc-randomization happen in that unrotated basis.

Labels are stored as ``y`` in {0, 1} (int64) for cross-entropy; class 1 is the paper's +1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Sequence

import torch
from torch import Tensor

from . import blocks

Block = Callable[[Tensor, torch.Generator], Tensor]


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A synthetic dataset with what is needed to randomize it.

    Attributes:
        x: (n, d) float32, rotated inputs (what models see).
        y: (n,) int64 in {0, 1}.
        z: (n, d) float32, the same points in the unrotated basis.
        rotation: (d, d) float32 orthogonal ``R`` with ``x = z @ R`` (identity if unrotated).
        s_coords / sc_coords: indices of S and Sc in the unrotated basis.
        name: e.g. ``"LMS-5"``; ``seed``: the seed that generated it.
    """

    x: Tensor
    y: Tensor
    z: Tensor
    rotation: Tensor
    s_coords: tuple[int, ...]
    sc_coords: tuple[int, ...]
    name: str
    seed: int
    meta: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    @property
    def n_features(self) -> int:
        return self.x.shape[1]

    def subset(self, idx: Tensor | slice) -> "SyntheticData":
        """Rows ``idx`` of the dataset, sharing its rotation."""
        return replace(self, x=self.x[idx], y=self.y[idx], z=self.z[idx])

    def split(self, n_train: int) -> tuple["SyntheticData", "SyntheticData"]:
        """First ``n_train`` rows as train, the rest as test (rows are already i.i.d.)."""
        if not 0 < n_train < self.n_samples:
            raise ValueError(f"n_train must be in (0, {self.n_samples}), got {n_train}")
        return self.subset(slice(0, n_train)), self.subset(slice(n_train, None))

    def with_z(self, z: Tensor) -> "SyntheticData":
        """The same labels and rotation with new unrotated coordinates ``z`` (n, d)."""
        return replace(self, z=z, x=z @ self.rotation)

    def drop(self, coords: Sequence[int]) -> "SyntheticData":
        """The dataset without coordinates ``coords`` (e.g. without S, for claim #10).

        The remaining coordinates are re-rotated with the top-left block of a fresh orthogonal
        matrix drawn from the same seed, so the result is again a rotated dataset.
        """
        keep = [i for i in range(self.n_features) if i not in set(coords)]
        if not keep:
            raise ValueError("coords would drop every coordinate")
        z = self.z[:, keep]
        rot = random_rotation(len(keep), self.seed)
        pos = {c: j for j, c in enumerate(keep)}
        return SyntheticData(
            x=z @ rot,
            y=self.y,
            z=z,
            rotation=rot,
            s_coords=tuple(pos[c] for c in self.s_coords if c in pos),
            sc_coords=tuple(pos[c] for c in self.sc_coords if c in pos),
            name=f"{self.name} without "
            + ("S" if tuple(coords) == self.s_coords else str(list(coords))),
            seed=self.seed,
            meta=dict(self.meta),
        )

    def randomized(self, block: str, *, seed: int) -> SyntheticData:
        """The S- or Sc-randomized copy of this test set (``block`` "S" or "Sc"; see
        :func:`randomize`), the one variant :func:`sbcore.metrics.table1_eval` asks for."""
        return randomize(self, block, seed=seed)


def random_rotation(d: int, seed: int) -> Tensor:
    """A (d, d) random orthogonal matrix: Q of the QR decomposition of a Gaussian matrix.

    Signs are fixed by ``diag(R)`` so that Q is Haar-distributed.
    """
    g = torch.Generator().manual_seed(_stream(seed, 1))
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    return (q * torch.sign(torch.diagonal(r))).float()


def _stream(seed: int, k: int) -> int:
    """Independent sub-seeds for labels/coordinates (k=0) and the rotation (k=1)."""
    return (int(seed) * 1_000_003 + 7919 * k) % (2**63 - 1)


def _check_n(n_samples: int) -> None:
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")


def make_blocks(
    column_blocks: Sequence[Block],
    n_samples: int,
    *,
    seed: int,
    s_coords: Sequence[int],
    name: str,
    rotate: bool = True,
    gaussian_tail: int = 0,
    sc_coords: Sequence[int] | None = None,
) -> SyntheticData:
    """Stack independent 1-D blocks (one per coordinate) into a dataset.

    Args:
        column_blocks: d samplers ``block(y, g) -> (n,)``, one per coordinate of z.
        n_samples: number of points; labels are uniform on {-1, +1}.
        seed: seeds the labels, every coordinate and the rotation.
        s_coords: indices of the simple feature set S; Sc is every other coordinate.
        rotate: apply a random orthogonal rotation (Sec. 3.1). LSN is unrotated.
        gaussian_tail: number of extra N(0, 1) coordinates appended (LSN's noise).
        sc_coords: the complex set Sc; None: every coordinate not in S.
    """
    _check_n(n_samples)
    g = torch.Generator().manual_seed(_stream(seed, 0))
    y_pm = 2 * torch.randint(0, 2, (n_samples,), generator=g, dtype=torch.float64) - 1
    cols = [block(y_pm, g) for block in column_blocks]
    if gaussian_tail:
        cols += list(torch.randn(gaussian_tail, n_samples, generator=g, dtype=torch.float64))
    z = torch.stack(cols, dim=1).float()
    d = z.shape[1]
    rot = random_rotation(d, seed) if rotate else torch.eye(d)
    s = tuple(int(i) for i in s_coords)
    sc = (
        tuple(i for i in range(d) if i not in s)
        if sc_coords is None
        else tuple(int(i) for i in sc_coords)
    )
    return SyntheticData(
        x=z @ rot,
        y=((y_pm + 1) / 2).long(),
        z=z,
        rotation=rot,
        s_coords=s,
        sc_coords=sc,
        name=name,
        seed=seed,
    )


def _check_d(d: int, minimum: int = 2) -> None:
    if not isinstance(d, int) or d < minimum:
        raise ValueError(f"d (number of features) must be an integer >= {minimum}, got {d!r}")


def make_lms(
    n_samples: int,
    *,
    k: int = 5,
    d: int = 50,
    noise: float = 0.0,
    gamma: float = 0.1,
    B: float = 1.0,
    seed: int = 0,
    rotate: bool = True,
    n_slabs: int | None = None,
) -> SyntheticData:
    """LMS-k (noise = 0) or noisy LMS-k (noise = p > 0): coordinate 0 is (noisy) linear, the
    other d-1 are independent k-slabs. S = {0}. Paper: LMS-5 with n = 50,000, d = 50.

    ``n_slabs`` (App. C.5, Table 8): only coordinates 1..n_slabs are k-slabs (Sc); the remaining
    d-1-n_slabs hold non-predictive Uniform[0, B] noise drawn independently of the label (the
    authors' code; the paper does not say) and belong to neither S nor Sc."""
    _check_d(d)
    first = (
        partial(blocks.noisy_linear, p=noise, gamma=gamma, B=B)
        if noise > 0
        else partial(blocks.linear, gamma=gamma, B=B)
    )
    blocks.slab_layout(k, gamma=gamma, B=B)  # validates k before sampling
    n_slabs = d - 1 if n_slabs is None else n_slabs
    if not isinstance(n_slabs, int) or not 1 <= n_slabs <= d - 1:
        raise ValueError(f"n_slabs must be an integer in [1, d-1={d - 1}], got {n_slabs!r}")
    rest = [partial(blocks.slab, k=k, gamma=gamma, B=B)] * n_slabs
    rest += [partial(_label_free_uniform, B=B)] * (d - 1 - n_slabs)
    name = f"noisy LMS-{k} (p={noise:g})" if noise > 0 else f"LMS-{k}"
    name += f" (d={d}, |Sc|={n_slabs})" if n_slabs < d - 1 else ""
    return make_blocks(
        [first, *rest],
        n_samples,
        seed=seed,
        s_coords=(0,),
        name=name,
        rotate=rotate,
        sc_coords=tuple(range(1, n_slabs + 1)),
    )


def _label_free_uniform(y: Tensor, g: torch.Generator, *, B: float = 1.0) -> Tensor:
    """Uniform[0, B] noise, (n,) float64, drawn without looking at y."""
    return B * torch.rand(len(y), generator=g, dtype=torch.float64)


def make_ms(
    n_samples: int,
    *,
    k_simple: int = 5,
    k_complex: int = 7,
    d: int = 50,
    gamma: float = 0.1,
    B: float = 1.0,
    seed: int = 0,
    rotate: bool = True,
) -> SyntheticData:
    """MS-(k, k'): coordinate 0 is a k-slab (S), the other d-1 are k'-slabs (Sc)."""
    _check_d(d)
    first = partial(blocks.slab, k=k_simple, gamma=gamma, B=B)
    blocks.slab_layout(k_simple, gamma=gamma, B=B)
    blocks.slab_layout(k_complex, gamma=gamma, B=B)
    rest = [partial(blocks.slab, k=k_complex, gamma=gamma, B=B)] * (d - 1)
    return make_blocks(
        [first, *rest],
        n_samples,
        seed=seed,
        s_coords=(0,),
        name=f"MS-({k_simple},{k_complex})",
        rotate=rotate,
    )


def make_ms_k(
    n_samples: int,
    *,
    k: int = 5,
    d: int = 50,
    gamma: float = 0.1,
    B: float = 1.0,
    seed: int = 0,
    rotate: bool = True,
) -> SyntheticData:
    """MS-k: all d coordinates are independent k-slabs, equally simple. S is empty."""
    _check_d(d, minimum=1)
    blocks.slab_layout(k, gamma=gamma, B=B)
    cols = [partial(blocks.slab, k=k, gamma=gamma, B=B)] * d
    return make_blocks(cols, n_samples, seed=seed, s_coords=(), name=f"MS-{k}", rotate=rotate)


def make_lsn(n_samples: int, *, d: int = 50, seed: int = 0) -> SyntheticData:
    """LSN (Sec. 4.1, the theorem's data; unrotated): x1 = y, x2 = ((y+1)/2) eps with a random
    sign eps, x_{3:d} ~ N(0, I). S = {0} (linear); coordinate 1 is the 3-slab."""
    _check_d(d, minimum=3)

    def lin(y: Tensor, g: torch.Generator) -> Tensor:
        return y.clone()

    def three_slab(y: Tensor, g: torch.Generator) -> Tensor:
        eps = 2 * torch.randint(0, 2, (len(y),), generator=g, dtype=torch.float64) - 1
        return (y + 1) / 2 * eps

    return make_blocks(
        [lin, three_slab],
        n_samples,
        seed=seed,
        s_coords=(0,),
        name="LSN",
        rotate=False,
        gaussian_tail=d - 2,
    )


def make_adv_ms(
    n_samples: int,
    *,
    n_simple: int = 10,
    n_complex: int = 10,
    gamma_simple: float = 0.05,
    gamma_complex: float = 0.15,
    B: float = 1.0,
    seed: int = 0,
    rotate: bool = True,
) -> SyntheticData:
    """AdvMS-(5,7) (App. E.2.1): d = 20, ten 5-slabs with gamma 0.05 (S) and ten 7-slabs with
    gamma 0.15 (Sc). Paper: 6,000 training points."""
    if n_simple < 1 or n_complex < 0:
        raise ValueError(f"n_simple must be >= 1 and n_complex >= 0, got {n_simple}, {n_complex}")
    cols = [partial(blocks.slab, k=5, gamma=gamma_simple, B=B)] * n_simple + [
        partial(blocks.slab, k=7, gamma=gamma_complex, B=B)
    ] * n_complex
    blocks.slab_layout(5, gamma=gamma_simple, B=B)
    blocks.slab_layout(7, gamma=gamma_complex, B=B)
    return make_blocks(
        cols,
        n_samples,
        seed=seed,
        s_coords=tuple(range(n_simple)),
        name="AdvMS-(5,7)",
        rotate=rotate,
    )


def randomize(
    data: SyntheticData, coords: Sequence[int] | str, *, seed: int = 0, jointly: bool = True
) -> SyntheticData:
    """S- or Sc-randomized copy of ``data`` (paper Sec. 3, Definitions 1 and 2).

    The coordinates ``coords`` (or ``"S"`` / ``"Sc"``) of the unrotated data are permuted across
    the points with one seeded permutation (``jointly=True``, the authors' choice: the block keeps
    its joint marginal) or one permutation per coordinate; labels and the other coordinates stay.
    This draws the block from its marginal, independently of the label. The result is rotated back.
    """
    if isinstance(coords, str):
        if coords not in ("S", "Sc"):
            raise ValueError(f"coords must be 'S', 'Sc' or a list of indices, got {coords!r}")
        coords = data.s_coords if coords == "S" else data.sc_coords
    coords = list(coords)
    bad = [c for c in coords if not 0 <= c < data.n_features]
    if bad:
        raise ValueError(f"coords must be in [0, {data.n_features}), got {bad}")
    g = torch.Generator().manual_seed(_stream(seed, 2))
    z = data.z.clone()
    if jointly:
        perm = torch.randperm(data.n_samples, generator=g)
        z[:, coords] = data.z[perm][:, coords]
    else:
        for c in coords:
            z[:, c] = data.z[torch.randperm(data.n_samples, generator=g), c]
    return data.with_z(z)


def with_linear_at(
    data: SyntheticData, coord: int, *, seed: int = 0, gamma: float = 0.1, B: float = 1.0
) -> SyntheticData:
    """``data`` with unrotated coordinate ``coord`` redrawn as the Linear(gamma, B) block of each
    point's label, which becomes S (App. C.7: LMS-7 from MS-7 by putting the linear coordinate in
    place of a 7-slab); the rotation is kept, Sc is every other coordinate."""
    if not 0 <= coord < data.n_features:
        raise ValueError(f"coord must be in [0, {data.n_features}), got {coord}")
    g = torch.Generator().manual_seed(_stream(seed, 4))
    z = data.z.clone()
    z[:, coord] = blocks.linear(2.0 * data.y.double() - 1, g, gamma=gamma, B=B).float()
    sc = tuple(i for i in range(data.n_features) if i != coord)
    name = data.name.replace("MS-", "LMS-") if data.name.startswith("MS-") else data.name
    return replace(data.with_z(z), s_coords=(coord,), sc_coords=sc, name=name)


def contradict(data: SyntheticData, *, seed: int = 0) -> SyntheticData:
    """Every point keeps S and takes all of Sc from a random point of the *other* class: each Sc
    coordinate then predicts the wrong label (claim #22); the label y and S are unchanged."""
    g = torch.Generator().manual_seed(_stream(seed, 3))
    z = data.z.clone()
    sc = torch.tensor(data.sc_coords)
    for c in (0, 1):
        mine, other = (data.y == c).nonzero().flatten(), (data.y != c).nonzero().flatten()
        donors = other[torch.randint(len(other), (len(mine),), generator=g)]
        z[mine.unsqueeze(1), sc] = data.z[donors][:, sc]
    return data.with_z(z)


_NAME = re.compile(r"^(?:(noisy )?LMS-(\d)|MS-\((\d),(\d)\)|MS-(\d)|LSN|AdvMS-\(5,7\))$")


def from_name(
    name: str, n_samples: int, *, seed: int = 0, d: int = 50, noise: float = 0.1, **kwargs
) -> SyntheticData:
    """Build a dataset from its name in the paper: ``"LMS-5"``, ``"noisy LMS-7"`` (noise p),
    ``"MS-(5,7)"``, ``"MS-5"``, ``"LSN"`` or ``"AdvMS-(5,7)"``."""
    m = _NAME.match(name.strip())
    if not m:
        raise ValueError(
            "dataset must be one of 'LMS-k', 'noisy LMS-k', 'MS-(k,k')', 'MS-k', "
            f"'LSN', 'AdvMS-(5,7)' with k in {blocks.SLAB_KS}, got {name!r}"
        )
    noisy, k_lms, k_s, k_c, k_ms = m.groups()
    if k_lms:
        return make_lms(
            n_samples, k=int(k_lms), d=d, noise=noise if noisy else 0.0, seed=seed, **kwargs
        )
    if k_s:
        return make_ms(n_samples, k_simple=int(k_s), k_complex=int(k_c), d=d, seed=seed, **kwargs)
    if k_ms:
        return make_ms_k(n_samples, k=int(k_ms), d=d, seed=seed, **kwargs)
    if name.strip() == "LSN":
        return make_lsn(n_samples, d=d, seed=seed)
    return make_adv_ms(n_samples, seed=seed, **kwargs)
