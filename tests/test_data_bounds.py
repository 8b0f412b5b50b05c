"""Readers and downloads bound what they read: gzip bombs and oversized headers are refused
cheaply, Fashion-MNIST is checked and paired from one folder, a download stops at its expected
size and its deadline, stale ``.part`` files go, and a tampered file never passes a cached digest.
Every file is a small crafted one; downloads go to a local HTTP server on 127.0.0.1 only."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import re
import struct
import tarfile
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from sbcore.data import cifar, download, idx
from sbcore.data.download import ChecksumError, DataUnavailable, fashion_files, locate


@pytest.fixture(scope="module")
def zeros_1gb() -> bytes:
    """Gzip members inflating to 1 GiB of zeros in about 1 MB: one member of 64 MiB repeated
    (gzip readers inflate concatenated members as one stream), made in chunks."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    chunk = bytes(1 << 20)
    member = b"".join([comp.compress(chunk) for _ in range(64)] + [comp.flush()])
    return member * 16


def _bomb(path: Path, dims: tuple[int, ...], zeros: bytes) -> Path:
    """A gzip file: an IDX header declaring ``dims``, then (a second gzip member, which readers
    inflate as one stream) ``zeros``."""
    header = bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(gzip.compress(header) + zeros)
    return path


def _peak_bytes(fn, *args, match: str) -> int:
    """Peak Python-heap bytes while ``fn(*args)`` raises ValueError matching ``match``."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "dims, limit",
    [
        ((100_000, 100, 100), 1e6),  # header above the cap: refused before reading any data
        ((10, 28, 28), 2e6),  # small header, a gigabyte behind it: one byte past the data is read
        ((60_000, 28, 28), 60e6),  # the largest real file's header: at most that much is allocated
    ],
)
def test_idx_gzip_bomb_is_rejected_cheaply(tmp_path, zeros_1gb, dims, limit):
    """About 1 MB of gzip inflating to 1 GB (the old reader inflated it whole: 2.3 GB)."""
    bomb = _bomb(tmp_path / "bomb.gz", dims, zeros_1gb)
    assert bomb.stat().st_size < 1_200_000
    start = time.perf_counter()
    peak = _peak_bytes(
        idx.read_idx, bomb, match=f"{bomb}: (trailing bytes|IDX header declares .* above the cap)"
    )
    assert peak < limit
    assert time.perf_counter() - start < 10


def test_idx_header_cap_is_checked_before_allocating(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(1000))
    assert idx.read_idx(path).shape == (1000,)
    with pytest.raises(ValueError, match="above the cap of 999"):
        idx.read_idx(path, max_elements=999)
    huge = tmp_path / "huge.idx"  # declares 2^32 - 1 elements, holds 4 bytes
    huge.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 2**32 - 1) + bytes(4))
    assert _peak_bytes(idx.read_idx, huge, match="above the cap") < 1e6


def _tar(path: Path, members: dict[str, int]) -> Path:
    """A tar.gz whose members (name: size) are all zeros, streamed (sizes may be large)."""

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = size
            tar.addfile(info, io.BufferedReader(Zeros(size)))
    return path


def test_cifar_sizes_are_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 10 * 3073)
    monkeypatch.setattr(cifar, "MAX_ARCHIVE_BYTES", 100 * 3073)
    big = _tar(tmp_path / "big.tar.gz", {"test_batch.bin": 11 * 3073})
    with pytest.raises(ValueError, match="above the 30730-byte size of a CIFAR-10 batch"):
        cifar.read_cifar10(big, "test")
    # a member declaring 10 GB before the batches is refused from its header, not inflated
    junk = tarfile.TarInfo("cifar-10-batches-bin/junk.bin")
    junk.size = 10**10
    filler = tmp_path / "filler.tar.gz"
    filler.write_bytes(gzip.compress(junk.tobuf(format=tarfile.GNU_FORMAT) + bytes(1 << 20)))
    start = time.perf_counter()
    assert _peak_bytes(cifar.read_cifar10, filler, "test", match="ends past 307300 bytes") < 4e6
    assert time.perf_counter() - start < 2
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(bytes(11 * 3073))
    with pytest.raises(ValueError, match="above the 30730-byte size"):
        cifar.read_cifar10(folder, "test")


# ---------------------------------------------------------------- Fashion-MNIST


def _idx(path: Path, a: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = a.astype(np.uint8)
    path.write_bytes(
        gzip.compress(
            bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
        )
    )
    return path


@pytest.fixture
def fashion(tmp_path, monkeypatch):
    """Tiny test-split Fashion-MNIST pair in $SBCORE_DATA, registered as the published files."""
    monkeypatch.setenv("SBCORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(download, "FASHION_SYSTEM_DIR", tmp_path / "system")
    labels = np.repeat(np.arange(10), 2)
    folder = tmp_path / "data" / "fashion-mnist"
    images = _idx(
        folder / "t10k-images-idx3-ubyte.gz", np.arange(20 * 28 * 28).reshape(20, 28, 28) % 251
    )
    labs = _idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    md5 = lambda p: hashlib.md5(p.read_bytes()).hexdigest()  # noqa: E731
    monkeypatch.setattr(
        download,
        "FASHION_MD5",
        {
            **download.FASHION_MD5,
            "t10k-images-idx3-ubyte": (md5(images),),
            "t10k-labels-idx1-ubyte": (md5(labs),),
        },
    )
    return tmp_path, images, labs, labels


def test_fashion_permuted_labels_are_refused(fashion):
    tmp_path, images, labs, labels = fashion
    assert fashion_files("test") == (images, labs)
    _idx(labs, np.random.default_rng(0).permutation(labels))  # same size, shuffled labels
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz has md5"):
        fashion_files("test")


def test_fashion_images_and_labels_come_from_one_folder(fashion):
    tmp_path, images, labs, labels = fashion
    labs.unlink()  # the labels only in the system folder: that pair must not be mixed in
    other = tmp_path / "system"
    _idx(other / "t10k-images-idx3-ubyte.gz", np.zeros((20, 28, 28)))
    with pytest.raises(DataUnavailable, match="not found together"):
        fashion_files("test")
    _idx(other / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(
        ChecksumError, match=str(other)
    ):  # the system pair is used whole, and checked
        fashion_files("test")


def test_real_fashion_matches_published_checksums():
    if not (download.FASHION_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    for split in ("train", "test"):
        images, labels = fashion_files(split)
        assert images.parent == labels.parent


# ---------------------------------------------------------------- downloads


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        if self.path == "/endless":  # no Content-Length, bytes forever
            self.end_headers()
            try:
                while True:
                    self.wfile.write(bytes(1 << 16))
            except OSError:
                return
        if self.path == "/drip":  # announces 1000 bytes, sends one every 20 ms
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                return
        if self.path == "/liar":  # announces more than expected
            self.send_header("Content-Length", str(10**9))
            self.end_headers()


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("SBCORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SBCORE_OFFLINE", raising=False)
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("route", ["endless", "liar"])
def test_download_stops_at_expected_size(server, route):
    tmp_path, base = server
    start = time.perf_counter()
    with pytest.raises(
        DataUnavailable, match="server announces 1000000000 bytes|more than the expected 1000"
    ):
        locate("f.bin", sha256="0" * 64, n_bytes=1000, urls=[f"{base}/{route}"])
    assert time.perf_counter() - start < 5
    assert not [p for p in (tmp_path / "xdg").rglob("*") if p.is_file()]


def test_download_unknown_size_stops_at_the_cap(server, monkeypatch):
    tmp_path, base = server
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 100_000)
    with pytest.raises(DataUnavailable, match="more than the expected 100000 bytes"):
        locate("f.bin", sha256="0" * 64, urls=[f"{base}/endless"])


def test_download_stops_at_its_deadline(server, monkeypatch):
    tmp_path, base = server
    monkeypatch.setattr(download, "DEADLINE_S", 0.5)
    start = time.perf_counter()
    with pytest.raises(DataUnavailable, match="longer than 0.5 s"):
        locate("f.bin", sha256="0" * 64, n_bytes=1000, urls=[f"{base}/drip"])
    assert time.perf_counter() - start < 3  # the whole drip would take 20 s


def test_stale_part_files_are_cleaned(server, monkeypatch):
    tmp_path, base = server
    cache = tmp_path / "xdg" / "sbcore"
    cache.mkdir(parents=True)
    stale, fresh = cache / ".f.bin.abc123.part", cache / ".f.bin.def456.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in flight")
    old = time.time() - download.DEADLINE_S - 3600
    os.utime(stale, (old, old))
    with pytest.raises(DataUnavailable):
        locate("f.bin", sha256="0" * 64, n_bytes=1000, urls=[f"{base}/liar"])
    assert not stale.exists() and fresh.exists()  # a live download's part file is kept
    stale.write_bytes(b"half")
    os.utime(stale, (old, old))
    with pytest.raises(DataUnavailable):  # offline: looking a file up cleans too
        locate("f.bin", sha256="0" * 64, n_bytes=1000, urls=[], download=False)
    assert not stale.exists() and fresh.exists()


def test_tampered_file_with_same_size_and_mtime_is_caught(tmp_path, monkeypatch):
    monkeypatch.setenv("SBCORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "data" / "f.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"published bytes")
    sha = hashlib.sha256(b"published bytes").hexdigest()
    assert locate("f.bin", sha256=sha, urls=[], download=False) == path
    st = path.stat()
    path.write_bytes(b"tampered! bytes")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same modification time
    with pytest.raises(ChecksumError, match="has sha256"):
        locate("f.bin", sha256=sha, urls=[], download=False)


@pytest.mark.parametrize(
    "relpath",
    ["../escape.bin", "mnist/../../escape.bin", "a/../..", "/tmp/abs.bin", "", ".", "mnist/.."],
)
def test_locate_refuses_a_path_outside_its_folders(server, relpath):
    tmp_path, base = server
    with pytest.raises(ValueError, match=re.escape(f"got {relpath!r}")):  # before any download
        locate(relpath, sha256="0" * 64, n_bytes=1000, urls=[f"{base}/liar"])
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written, in or out
    assert not (tmp_path / "xdg").exists()
