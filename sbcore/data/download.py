"""Find the MNIST and CIFAR-10 files locally, or download them with sha256 checks.

Search order for a file with relative path ``relpath`` (e.g. ``"mnist/t10k-images-idx3-ubyte.gz"``):

1. ``$SBCORE_DATA/<relpath>`` when the environment variable is set;
2. the user cache, ``$XDG_CACHE_HOME/sbcore/<relpath>`` or ``~/.cache/sbcore/<relpath>``;
3. a download, tried URL by URL, into the user cache (never into ``$SBCORE_DATA``, which may be a
   read-only shared folder). Downloads are off when ``$SBCORE_OFFLINE`` is set to a non-empty value
   other than ``0``, or when the caller passes ``download=False``.

Every file is checked against its sha256 before it is used, also one already on disk. A download
goes to a temporary file in the destination folder and is moved into place with ``os.replace``
only after its checksum matched, so an interrupted or corrupted download never leaves a file that
could later pass as valid. The checksums in ``KNOWN_FILES`` are the sha256 of the files as
published (MNIST: identical bytes on yann.lecun.com and the ossci-datasets S3 mirror that
torchvision uses, md5s as listed by torchvision; CIFAR-10 binary: the archive whose md5
``c32a1d4ab5d03f1284b67883e8d87530`` is published on www.cs.toronto.edu/~kriz/cifar.html).
Tests point ``urls`` at a local server and patch ``TIMEOUT_S``.

Two more places are searched without checksums, because no published digest applies:
an extracted ``cifar-10-batches-bin/`` folder in a data folder (``cifar_path``), and Fashion-MNIST
for the offline stand-in (``fashion_files``): Debian's ``dataset-fashion-mnist`` re-compresses the
files, so their .gz bytes differ from the official release. The readers still check the structure
(IDX header and length, CIFAR record size) of whatever they are given.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = [
    "TIMEOUT_S", "KnownFile", "KNOWN_FILES", "DataUnavailable", "ChecksumError",
    "cache_dir", "data_dirs", "downloads_allowed", "sha256sum", "locate", "fetch", "cifar_path",
    "fashion_files", "FASHION_SYSTEM_DIR",
]

log = logging.getLogger(__name__)

#: Where Debian's dataset-fashion-mnist package installs Fashion-MNIST (the offline stand-in).
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: Seconds to wait for a server to connect or send the next chunk (not the whole transfer).
TIMEOUT_S: float = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownFile:
    """A published data file: where it goes, its checksum, its size and where to fetch it."""

    relpath: str  # path under $SBCORE_DATA or the cache, e.g. "mnist/train-labels-idx1-ubyte.gz"
    sha256: str  # hex digest of the file as published
    n_bytes: int | None  # published size, checked before hashing (None: unknown)
    urls: tuple[str, ...]  # tried in order


# yann.lecun.com has been unreliable (it often refuses or serves an error page), so the
# ossci-datasets S3 mirror that torchvision uses comes first; both serve identical bytes.
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_MNIST = {  # file name: (sha256, bytes); torchvision's md5s in the comments
    "train-images-idx3-ubyte.gz":  # md5 f68b3c2dcbeaaa9fbdd348bbdeb94873
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
    "train-labels-idx1-ubyte.gz":  # md5 d53e105ee54ea40749a09fcbcd1e9432
        ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
    "t10k-images-idx3-ubyte.gz":  # md5 9fb629c4189551a2d022fa330f9573f3
        ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
    "t10k-labels-idx1-ubyte.gz":  # md5 ec29112dd5afa0611ce80d1b7f02629c
        ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542),
}

#: The files this package knows how to fetch, keyed by ``relpath``. All checksums are sha256.
KNOWN_FILES: dict[str, KnownFile] = {
    **{f"mnist/{name}": KnownFile(f"mnist/{name}", sha, size, tuple(m + name for m in _MNIST_MIRRORS))
       for name, (sha, size) in _MNIST.items()},
    # md5 c32a1d4ab5d03f1284b67883e8d87530 (published on the CIFAR page)
    "cifar-10-binary.tar.gz": KnownFile(
        "cifar-10-binary.tar.gz",
        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        170_052_171,
        ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    ),
}


class DataUnavailable(FileNotFoundError):
    """A data file is neither on disk nor downloadable; the message says where to put it."""


class ChecksumError(ValueError):
    """A file on disk does not match its published checksum."""


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/sbcore``, else ``~/.cache/sbcore``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "sbcore" if xdg else Path.home() / ".cache" / "sbcore"


def data_dirs() -> list[Path]:
    """Folders searched for data, in order: ``$SBCORE_DATA`` (if set), then the cache."""
    env = os.environ.get("SBCORE_DATA")
    return ([Path(env)] if env else []) + [cache_dir()]


def downloads_allowed() -> bool:
    """False when ``$SBCORE_OFFLINE`` is set to anything but "" or "0"."""
    return os.environ.get("SBCORE_OFFLINE", "") in ("", "0")


# Hashing 170 MB takes about half a second; remember files already verified in this process,
# keyed by (path, size, mtime) so that a replaced or modified file is hashed again.
_verified: dict[tuple[str, int, int], str] = {}


def sha256sum(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        _verified[key] = h.hexdigest()
    return _verified[key]


def _check(path: Path, sha256: str, n_bytes: int | None) -> None:
    """Raise ChecksumError unless ``path`` has the expected size and sha256."""
    size = path.stat().st_size
    if n_bytes is not None and size != n_bytes:
        raise ChecksumError(
            f"{path} has {size} bytes, expected {n_bytes} (sha256 {sha256}); the file is "
            "truncated or not the published one: delete it and fetch it again")
    actual = sha256sum(path)
    if actual != sha256.lower():
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {sha256}; the file is corrupt or not the "
            "published one: delete it and fetch it again")


def _download(url: str, dest: Path, sha256: str, n_bytes: int | None) -> None:
    """Fetch ``url`` into ``dest`` atomically; raise on any network, size or checksum failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            announced = resp.headers.get("Content-Length")
            while chunk := resp.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        # http.client returns a short body without error when the connection drops early.
        if announced is not None and announced.isdigit() and size != int(announced):
            raise ConnectionError(f"transfer interrupted after {size} of {announced} bytes")
        if n_bytes is not None and size != n_bytes:
            raise ChecksumError(f"got {size} bytes, expected {n_bytes}")
        if h.hexdigest() != sha256.lower():
            raise ChecksumError(f"got sha256 {h.hexdigest()}, expected {sha256}")
        os.replace(tmp, dest)  # atomic on one file system: dest is either absent or complete
    finally:
        tmp.unlink(missing_ok=True)


def locate(
    relpath: str,
    *,
    sha256: str,
    urls: Sequence[str],
    n_bytes: int | None = None,
    download: bool = True,
) -> Path:
    """Path of a verified local copy of a data file, downloading it if needed and allowed.

    Args:
        relpath: path under the data folders, e.g. ``"mnist/t10k-labels-idx1-ubyte.gz"``.
        sha256: expected hex digest (lower or upper case).
        urls: download locations, tried in order (the official site, then mirrors).
        n_bytes: expected size in bytes, checked before hashing; None skips the size check.
        download: False never touches the network (also forced by ``$SBCORE_OFFLINE``).

    Returns:
        the path of a file whose sha256 matched.

    Raises:
        ChecksumError: a file in ``$SBCORE_DATA`` does not match (it is the user's file: we do not
            overwrite it), or a corrupt cached file could not be replaced by a good download.
        DataUnavailable: the file is nowhere on disk and could not be downloaded; the message
            names the file, the folders to put it in and the URLs to fetch it from.
    """
    bad: ChecksumError | None = None
    dirs = data_dirs()
    for d in dirs:
        path = d / relpath
        if path.is_file():
            try:
                _check(path, sha256, n_bytes)
                return path
            except ChecksumError as e:
                if d != cache_dir():
                    raise
                bad = e  # a corrupt cache entry is ours: try to replace it by a fresh download
    dest = cache_dir() / relpath
    failures: list[str] = []
    if download and downloads_allowed():
        for url in urls:
            try:
                log.info("downloading %s to %s", url, dest)
                _download(url, dest, sha256, n_bytes)
                return dest
            except (OSError, http.client.HTTPException, ChecksumError) as e:
                # URLError and timeouts are OSErrors; IncompleteRead is an HTTPException.
                failures.append(f"{url}: {e}")
    if bad is not None:
        raise ChecksumError(f"{bad}" + (f" (download failed: {'; '.join(failures)})" if failures else ""))
    where = " or ".join(str(d / relpath) for d in dirs)
    tried = "; download failed: " + "; ".join(failures) if failures else (
        "; downloads are off (download=False or $SBCORE_OFFLINE)" if urls else "")
    raise DataUnavailable(
        f"{Path(relpath).name} not found. Put it at {where} (set $SBCORE_DATA to a folder of your "
        f"choice, or use the cache {cache_dir()}). Download it from {' or '.join(urls) or '(no URL known)'} "
        f"(sha256 {sha256}){tried}.")


def fetch(relpath: str, *, download: bool = True, urls: Sequence[str] | None = None) -> Path:
    """``locate`` for a file of ``KNOWN_FILES`` (its checksum, size and URLs from the table).

    ``urls`` replaces the table's URLs (tests point it at a local server).
    """
    if relpath not in KNOWN_FILES:
        raise ValueError(f"relpath must be one of {sorted(KNOWN_FILES)}, got {relpath!r}")
    k = KNOWN_FILES[relpath]
    return locate(relpath, sha256=k.sha256, urls=k.urls if urls is None else urls,
                  n_bytes=k.n_bytes, download=download)


def cifar_path(*, download: bool = True) -> Path:
    """Path of CIFAR-10 for ``read_cifar10``: ``cifar-10-binary.tar.gz`` (verified) from the data
    folders, else an extracted ``cifar-10-batches-bin`` folder there, else a download of the archive
    if ``download`` (and ``$SBCORE_OFFLINE`` allows). Raises DataUnavailable or ChecksumError."""
    try:
        return fetch("cifar-10-binary.tar.gz", download=False)
    except DataUnavailable:
        for d in data_dirs():
            if (d / "cifar-10-batches-bin").is_dir():
                return d / "cifar-10-batches-bin"
        return fetch("cifar-10-binary.tar.gz", download=download)


def fashion_files(split: str) -> tuple[Path, Path]:
    """(images, labels) paths of a Fashion-MNIST split ("train" or "test"), gzipped or raw, from
    ``$SBCORE_DATA/fashion-mnist/``, the cache's ``fashion-mnist/``, or ``FASHION_SYSTEM_DIR``
    (Debian's package). Never downloads (the stand-in is the offline path). Raises
    DataUnavailable naming the folders searched and the official URL."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be one of ('train', 'test'), got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    dirs = [d / "fashion-mnist" for d in data_dirs()] + [FASHION_SYSTEM_DIR]
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{prefix}-{kind}-ubyte"
        hits = [d / f for d in dirs for f in (name + ".gz", name) if (d / f).is_file()]
        if not hits:
            raise DataUnavailable(
                f"Fashion-MNIST file {name}.gz not found in any of {[str(d) for d in dirs]}. Put it "
                f"in $SBCORE_DATA/fashion-mnist/, install Debian's dataset-fashion-mnist, or "
                f"download it from {_FASHION_URL}{name}.gz")
        found.append(hits[0])
    return found[0], found[1]
