"""Image data: IDX and CIFAR-10 binary readers, checked downloads, domino images, probes.

Every file is a tiny one written here in the exact published format; downloads go to a local
HTTP server on 127.0.0.1. The real network is never touched (SBCORE_OFFLINE is set except in the
download tests, which only ever get 127.0.0.1 URLs).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from sbcore.data import download
from sbcore.data.cifar import CLASS_NAMES, read_cifar10
from sbcore.data.dominoes import (
    FASHION_PAIRS,
    ImageDominoes,
    block_mask,
    load_dominoes,
    pad_to_32,
    pair_blocks,
    randomize,
)
from sbcore.data.download import (
    ChecksumError,
    DataUnavailable,
    KnownFile,
    fashion_files,
    fetch,
    locate,
)
from sbcore.data.idx import read_idx, read_idx_pair
from sbcore.probes import linear_probe_accuracy

# ---------------------------------------------------------------- writers of the real formats


def idx_bytes(a: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 00 00 08 ndim, big-endian dims, data."""
    return bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def write_idx(path: Path, a: np.ndarray, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = idx_bytes(a.astype(np.uint8))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def cifar_records(labels: list[int], seed: int) -> tuple[bytes, np.ndarray]:
    """CIFAR-10 binary records (label byte + 3072 pixels) and the (n, 3, 32, 32) images."""
    x = np.random.default_rng(seed).integers(0, 256, (len(labels), 3, 32, 32), dtype=np.uint8)
    recs = b"".join(bytes([lab]) + img.tobytes() for lab, img in zip(labels, x))
    return recs, x


def write_cifar_tar(path: Path, batches: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    a = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    x = read_idx(write_idx(tmp_path / "img", a, gz=gz), ndim=3)
    assert x.dtype == torch.uint8 and x.shape == (5, 28, 28)
    assert np.array_equal(x.numpy(), a)
    y = read_idx(write_idx(tmp_path / "lab", np.array([3, 1, 4]), gz=gz))
    assert y.tolist() == [3, 1, 4]


@pytest.mark.parametrize("damage", ["truncated", "trailing", "magic", "dtype", "header", "gzip"])
def test_idx_malformed_raises_with_path(tmp_path, damage):
    good = idx_bytes(np.ones((4, 28, 28), np.uint8))
    bad = {
        "truncated": good[:-7],
        "trailing": good + b"\0",
        "magic": b"\1" + good[1:],
        "dtype": good[:2] + b"\x0d" + good[3:],
        "header": good[:9],
        "gzip": gzip.compress(good)[:-20],
    }[damage]
    path = tmp_path / f"{damage}.idx"
    path.write_bytes(bad)
    with pytest.raises(ValueError, match=str(path)):
        read_idx(path)


def test_idx_pair_checks(tmp_path):
    x = write_idx(tmp_path / "x", np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        read_idx_pair(x, write_idx(tmp_path / "y", np.array([0, 1])))
    with pytest.raises(ValueError, match="expected an IDX file with 1 dimensions"):
        read_idx_pair(x, x)


# ---------------------------------------------------------------- CIFAR-10 binary


@pytest.fixture
def cifar_tar(tmp_path):
    """Five train batches of 3 records and a test batch of 4; returns (path, {split: (x, y)})."""
    batches, parts = {}, []
    for i in range(1, 6):
        labels = [(3 * i + j) % 10 for j in range(3)]
        recs, x = cifar_records(labels, seed=i)
        batches[f"data_batch_{i}.bin"] = recs
        parts.append((x, labels))
    test_recs, test_x = cifar_records([9, 1, 8, 0], seed=9)
    batches["test_batch.bin"] = test_recs
    batches["batches.meta.txt"] = b"airplane\n"  # the real archive has it too: ignored
    path = write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", batches)
    train = (np.concatenate([p[0] for p in parts]), sum((p[1] for p in parts), []))
    return path, batches, {"train": train, "test": (test_x, [9, 1, 8, 0])}


def test_cifar_reads_tar_and_folder(cifar_tar, tmp_path):
    path, batches, expected = cifar_tar
    folder = tmp_path / "extracted" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name, data in batches.items():
        (folder / name).write_bytes(data)
    for source in (path, folder, folder.parent):
        for split in ("train", "test"):
            x, y = read_cifar10(source, split)
            assert x.dtype == torch.uint8 and x.shape == (len(expected[split][1]), 3, 32, 32)
            assert (
                np.array_equal(x.numpy(), expected[split][0]) and y.tolist() == expected[split][1]
            )
    x, y = read_cifar10(path, "train", classes=[1, 9])
    keep = [i for i, lab in enumerate(expected["train"][1]) if lab in (1, 9)]
    assert y.tolist() == [expected["train"][1][i] for i in keep]
    assert np.array_equal(x.numpy(), expected["train"][0][keep])
    assert CLASS_NAMES[1] == "automobile" and CLASS_NAMES[9] == "truck"


def test_cifar_malformed(cifar_tar, tmp_path):
    path, batches, _ = cifar_tar
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="cut.tar.gz"):
        read_cifar10(cut, "test")
    odd = write_cifar_tar(tmp_path / "odd.tar.gz", {**batches, "test_batch.bin": b"\0" * 3000})
    with pytest.raises(ValueError, match="odd.tar.gz.*3073-byte"):
        read_cifar10(odd, "test")
    partial = write_cifar_tar(
        tmp_path / "partial.tar.gz", {"test_batch.bin": batches["test_batch.bin"]}
    )
    with pytest.raises(ValueError, match="lacks"):
        read_cifar10(partial, "train")
    with pytest.raises(ValueError, match="split must be one of"):
        read_cifar10(path, "valid")


# ---------------------------------------------------------------- download


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/cut/"):  # announce 1000 bytes, send 10, hang up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """(root folder served, base URL, list of requested paths)."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    httpd.requests = []
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_locate_finds_local_files_first(env, server):
    root, base, requests = server
    good = b"hello data"
    sha = hashlib.sha256(good).hexdigest()
    (env / "data" / "sub").mkdir(parents=True)
    (env / "data" / "sub" / "f.bin").write_bytes(good)
    assert (
        locate("sub/f.bin", sha256=sha, urls=[f"{base}/f.bin"]) == env / "data" / "sub" / "f.bin"
    )
    (env / "xdg" / "sbcore").mkdir(parents=True)
    (env / "xdg" / "sbcore" / "g.bin").write_bytes(good)
    assert locate("g.bin", sha256=sha.upper(), urls=[]) == env / "xdg" / "sbcore" / "g.bin"
    (env / "data" / "sub" / "f.bin").write_bytes(b"hello dat!")  # user's file, wrong bytes
    with pytest.raises(ChecksumError, match=f"f.bin.*expected {sha}"):
        locate("sub/f.bin", sha256=sha, urls=[f"{base}/f.bin"])
    assert requests == []


def test_download_falls_back_to_mirror(env, server, monkeypatch):
    monkeypatch.delenv("SBCORE_OFFLINE")
    root, base, requests = server
    (root / "mirror").mkdir()
    (root / "mirror" / "f.gz").write_bytes(b"payload" * 100)
    sha = sha256_of(root / "mirror" / "f.gz")
    path = locate("mnist/f.gz", sha256=sha, urls=[f"{base}/missing/f.gz", f"{base}/mirror/f.gz"])
    assert path == env / "xdg" / "sbcore" / "mnist" / "f.gz"
    assert path.read_bytes() == b"payload" * 100
    assert _leftovers(env / "xdg") == ["f.gz"]  # no temporary file left behind
    assert requests == ["/missing/f.gz", "/mirror/f.gz"]
    # A corrupt cache entry is replaced by a fresh, verified download.
    path.write_bytes(b"garbage")
    assert (
        locate("mnist/f.gz", sha256=sha, urls=[f"{base}/mirror/f.gz"]).read_bytes()
        == b"payload" * 100
    )


@pytest.mark.parametrize("what", ["wrong checksum", "interrupted"])
def test_bad_download_leaves_nothing(env, server, monkeypatch, what):
    monkeypatch.delenv("SBCORE_OFFLINE")
    root, base, _ = server
    (root / "f.bin").write_bytes(b"not the published bytes")
    url = f"{base}/f.bin" if what == "wrong checksum" else f"{base}/cut/f.bin"
    with pytest.raises(DataUnavailable, match="f.bin"):
        locate("f.bin", sha256="0" * 64, urls=[url])
    assert _leftovers(env / "xdg") == [] and _leftovers(env / "data") == []


def test_offline_message_says_what_and_where(env, server):
    root, base, requests = server
    (root / "f.bin").write_bytes(b"x")
    with pytest.raises(FileNotFoundError) as info:  # DataUnavailable is a FileNotFoundError
        locate("mnist/f.bin", sha256="ab" * 32, urls=[f"{base}/f.bin"])  # SBCORE_OFFLINE=1
    msg = str(info.value)
    for part in (
        "f.bin",
        str(env / "data" / "mnist" / "f.bin"),
        str(env / "xdg" / "sbcore"),
        f"{base}/f.bin",
        "ab" * 32,
    ):
        assert part in msg
    assert requests == []
    with pytest.raises(ValueError, match="relpath must be one of"):
        fetch("mnist/nonsense.gz")
    assert set(download.KNOWN_FILES) == {
        "cifar-10-binary.tar.gz",
        *(
            f"mnist/{s}-{k}-ubyte.gz"
            for s in ("train", "t10k")
            for k in ("images-idx3", "labels-idx1")
        ),
    }
    assert all(
        len(k.sha256) == 64 and k.urls[0].startswith("https://")
        for k in download.KNOWN_FILES.values()
    )


# ---------------------------------------------------------------- domino images


def _digits(labels: list[int], seed: int) -> np.ndarray:
    """Fake 28 x 28 digits without zero pixels, so the padding is recognizable."""
    return np.random.default_rng(seed).integers(1, 256, (len(labels), 28, 28), dtype=np.uint8)


@pytest.fixture
def mnist_cifar(env, monkeypatch):
    """Tiny MNIST (idx .gz) and CIFAR-10 (binary tar.gz) in $SBCORE_DATA, registered with their
    checksums. The MNIST test split has fewer zeros (2) than CIFAR has automobiles (3)."""
    labels = {"train": [0] * 6 + [1] * 7 + [4] * 5 + [7] * 2, "t10k": [0] * 2 + [1] * 4 + [4] * 3}
    digits = {}
    for i, (split, labs) in enumerate(labels.items()):
        digits[split] = _digits(labs, seed=i)
        for kind, arr in (("images-idx3", digits[split]), ("labels-idx1", np.array(labs))):
            rel = f"mnist/{split}-{kind}-ubyte.gz"
            path = write_idx(env / "data" / rel, arr)
            monkeypatch.setitem(
                download.KNOWN_FILES, rel, KnownFile(rel, sha256_of(path), None, ())
            )
    train_labels = [[1, 9, 1, 3], [9, 9, 1, 0], [8, 1, 9, 9], [1, 0, 8, 2], [9, 1, 5, 5]]
    batches, cifar = {}, {"train": [], "test": []}
    for i, labs in enumerate(train_labels, 1):
        batches[f"data_batch_{i}.bin"], x = cifar_records(labs, seed=10 + i)
        cifar["train"] += list(zip(labs, x))
    batches["test_batch.bin"], x = cifar_records([1, 9, 1, 9, 1, 9, 0, 8], seed=20)
    cifar["test"] = list(zip([1, 9, 1, 9, 1, 9, 0, 8], x))
    path = write_cifar_tar(env / "data" / "cifar-10-binary.tar.gz", batches)
    rel = "cifar-10-binary.tar.gz"
    monkeypatch.setitem(download.KNOWN_FILES, rel, KnownFile(rel, sha256_of(path), None, ()))
    return {"labels": labels, "digits": digits, "cifar": cifar}


def _as_key(t: torch.Tensor) -> bytes:
    return (t * 255).round().to(torch.uint8).numpy().tobytes()


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_cifar_geometry_and_pairing(mnist_cifar, split):
    data = load_dominoes("mnist-cifar", pair="A", split=split, download=False)
    n_per_class = {"train": 6, "test": 3}[split]  # automobiles = trucks = 6 (train), 3 (test)
    assert data.x.shape == (2 * n_per_class, 3, 64, 32) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and data.y.bincount().tolist() == [n_per_class] * 2
    assert data.source.startswith("MNIST-CIFAR:A") and data.bottom_classes == (
        "automobile",
        "truck",
    )
    assert 0 <= data.x.min() and data.x.max() <= 1
    top = data.block("S")
    assert torch.equal(top[:, 0], top[:, 1]) and torch.equal(top[:, 0], top[:, 2])
    # Top = a padded digit of the matching class; zero border of 2 pixels.
    prefix = "train" if split == "train" else "t10k"
    padded = pad_to_32(torch.from_numpy(mnist_cifar["digits"][prefix]))[:, 0]
    digit_keys = {
        c: [
            padded[i].numpy().tobytes()
            for i, lab in enumerate(mnist_cifar["labels"][prefix])
            if lab == c
        ]
        for c in (0, 1)
    }
    used_digits = []
    for img, label in zip(top[:, 0], data.y.tolist()):
        key = _as_key(img)
        assert key in digit_keys[(0, 1)[label]]
        used_digits.append(key)
    # Bottom = each CIFAR image of the two classes exactly once, with its class.
    expected = sorted(
        (int(lab == 9), x.tobytes()) for lab, x in mnist_cifar["cifar"][split] if lab in (1, 9)
    )
    got = sorted((int(lab), _as_key(img)) for img, lab in zip(data.block("Sc"), data.y))
    assert got == expected
    if split == "test":  # 3 automobiles but only 2 zeros: the zeros are reused evenly
        counts = sorted(used_digits.count(k) for k in set(used_digits) if k in digit_keys[0])
        assert counts == [1, 2]


def test_mnist_cifar_options(mnist_cifar):
    a = load_dominoes("mnist-cifar", split="train", download=False, seed=3)
    assert torch.equal(a.x, load_dominoes("mnist-cifar", split="train", download=False, seed=3).x)
    assert not torch.equal(
        a.x, load_dominoes("mnist-cifar", split="train", download=False, seed=4).x
    )
    gray = load_dominoes("mnist-cifar", split="train", download=False, channels=1)
    assert gray.x.shape == (12, 1, 64, 32) and "grayscale" in gray.source
    b = load_dominoes("mnist-cifar", pair="B", split="train", download=False)
    assert b.top_classes == ("digit 1", "digit 4") and b.x.shape[0] == 12
    c = load_dominoes("mnist-cifar", pair="C", split="train", download=False)
    assert c.bottom_classes == ("airplane", "ship") and c.x.shape[0] == 4  # 2 airplanes, 2 ships
    sub = load_dominoes("auto", split="train", n_samples=5)
    assert sub.source.startswith("MNIST-CIFAR") and sub.y.bincount().tolist() == [3, 2]
    with pytest.raises(ValueError, match="n_samples must be at most 12"):
        load_dominoes("mnist-cifar", split="train", n_samples=13, download=False)


def _write_fashion(env: Path, monkeypatch, n: int = 4) -> None:
    """Tiny Fashion-MNIST files, registered with their md5s as the published ones."""
    labels = np.repeat(np.arange(10), n)
    table = dict(download.FASHION_MD5)
    for split in ("train", "t10k"):
        for kind, path in (
            (
                "images-idx3",
                write_idx(
                    env / "data" / "fashion-mnist" / f"{split}-images-idx3-ubyte.gz",
                    _digits(list(labels), 5),
                ),
            ),
            (
                "labels-idx1",
                write_idx(
                    env / "data" / "fashion-mnist" / f"{split}-labels-idx1-ubyte", labels, gz=False
                ),
            ),
        ):
            table[f"{split}-{kind}-ubyte"] = (hashlib.md5(path.read_bytes()).hexdigest(),)
    monkeypatch.setattr(download, "FASHION_MD5", table)


def test_auto_falls_back_to_fashion_then_fails_clearly(env, monkeypatch):
    with pytest.raises(DataUnavailable, match="neither MNIST-CIFAR nor the Fashion-MNIST"):
        load_dominoes("auto")
    with pytest.raises(DataUnavailable, match="train-images-idx3-ubyte.gz"):
        load_dominoes("mnist-cifar")  # download=True by default, but SBCORE_OFFLINE is set
    _write_fashion(env, monkeypatch)
    data = load_dominoes("auto", pair="A", split="test")
    assert data.source.startswith("Fashion-MNIST dominoes:A")
    assert data.top_classes == ("Trouser", "Sneaker") and data.bottom_classes == (
        "Pullover",
        "Coat",
    )
    assert data.x.shape == (8, 1, 64, 32) and data.y.bincount().tolist() == [4, 4]
    assert load_dominoes("fashion", channels=3).x.shape == (8, 3, 64, 32)
    for pair, (top, bottom) in FASHION_PAIRS.items():
        assert not set(top) & set(bottom), pair


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(source="mnist"), "source"),
        (dict(pair="D"), "pair"),
        (dict(split="val"), "split"),
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=2.5), "n_samples"),
        (dict(n_samples=True), "n_samples"),
        (dict(channels=2), "channels"),
        (dict(seed="0"), "seed"),
    ],
)
def test_bad_parameters_raise_before_loading(env, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        load_dominoes(**kwargs)  # nothing is on disk: a DataUnavailable would mean it tried


def _toy(n: int = 2000) -> ImageDominoes:
    """Top block = the label everywhere, bottom block = noise (a distinct image per example)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.cat(
        [y.float().view(n, 1, 1, 1).expand(n, 1, 32, 32), torch.rand(n, 1, 32, 32, generator=g)],
        dim=2,
    )
    return ImageDominoes(x=x, y=y, source="toy", top_classes=("0", "1"), bottom_classes=("a", "b"))


def _sorted_blocks(x: torch.Tensor) -> torch.Tensor:
    flat = x.flatten(1)
    return flat[np.lexsort(flat.numpy().T[::-1])]


def test_randomize_keeps_marginal_and_breaks_label_tie():
    data = _toy()
    s_rand = randomize(data, "S", seed=1)
    assert torch.equal(s_rand.y, data.y) and torch.equal(s_rand.block("Sc"), data.block("Sc"))
    assert torch.equal(_sorted_blocks(s_rand.block("S")), _sorted_blocks(data.block("S")))
    top = s_rand.block("S")[:, 0, 0, 0]
    assert abs(np.corrcoef(top.numpy(), data.y.numpy())[0, 1]) < 0.1  # was exactly 1
    assert s_rand.source == "toy, S-randomized"
    sc_rand = randomize(data, "Sc", seed=1)
    assert torch.equal(sc_rand.block("S"), data.block("S")) and torch.equal(sc_rand.y, data.y)
    assert torch.equal(_sorted_blocks(sc_rand.block("Sc")), _sorted_blocks(data.block("Sc")))
    assert not torch.equal(sc_rand.block("Sc"), data.block("Sc"))
    assert torch.equal(randomize(data, "S", seed=1).x, s_rand.x)
    with pytest.raises(ValueError, match="block must be one of"):
        randomize(data, "top")


def test_block_mask_and_pairing_rule():
    mask = block_mask((2, 3, 64, 32), "S")
    assert mask.shape == (2, 3, 64, 32) and mask[..., :32, :].all() and not mask[..., 32:, :].any()
    assert torch.equal(block_mask((64, 32), "Sc"), ~block_mask((64, 32), "S"))
    with pytest.raises(ValueError, match="shape must end in"):
        block_mask((3, 32, 32))
    top_x = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 1, 32, 32)
    bottom_x = torch.arange(100, 109, dtype=torch.uint8).view(9, 1, 1, 1).expand(9, 1, 32, 32)
    x, y = pair_blocks(
        top_x,
        torch.tensor([0, 0, 1, 1, 1]),
        bottom_x,
        torch.tensor([5, 5, 5, 5, 6, 6, 6, 7, 7]),
        top=(0, 1),
        bottom=(5, 6),
        seed=0,
    )
    assert x.shape == (6, 1, 64, 32) and y.tolist().count(1) == 3
    for img, label in zip(x, y.tolist()):
        assert int(img[0, 0, 0]) in ((0, 1), (2, 3, 4))[label]
        assert int(img[0, 40, 0]) in ((100, 101, 102, 103), (104, 105, 106))[label]
    assert sorted(int(v) for v in x[y == 1, 0, 40, 0]) == [104, 105, 106]  # each once
    assert sorted(int(v) for v in x[y == 1, 0, 0, 0]) == [2, 3, 4]  # enough tops: no reuse


def test_linear_probe():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (400,), generator=g)
    x = torch.rand(400, 1, 8, 8, generator=g)
    x[:, 0, 0, 0] = y.float()  # one pixel gives the label away
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0
    assert (
        linear_probe_accuracy(
            torch.rand(300, 64, generator=g), y[:300], torch.rand(100, 64, generator=g), y[300:]
        )
        < 0.75
    )
    with pytest.raises(ValueError, match="C must be > 0"):
        linear_probe_accuracy(x, y, x, y, C=0)


def _real_fashion_or_skip():
    try:
        return fashion_files("test")
    except DataUnavailable:
        pytest.skip("real Fashion-MNIST not installed (Debian dataset-fashion-mnist)")


def test_real_fashion_stand_in():
    _real_fashion_or_skip()
    test = load_dominoes("fashion", pair="A", split="test")
    assert test.x.shape == (2000, 1, 64, 32) and test.y.bincount().tolist() == [1000, 1000]
    train = load_dominoes("fashion", pair="A", split="train", n_samples=2000)
    # The top block is the simple one: a linear probe separates it (almost) perfectly.
    assert linear_probe_accuracy(train.block("S"), train.y, test.block("S"), test.y) > 0.99
