"""Reader for IDX files, the format of MNIST and Fashion-MNIST (gzipped or raw).

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the data in row-major order. MNIST and Fashion-MNIST only use dtype 0x08
(unsigned byte), so that is the only dtype accepted here: anything else is a wrong file.
Reference: the format description on the MNIST page (LeCun, Cortes and Burges).

Nothing is trusted: a file that is truncated, carries trailing bytes, has a bad magic number or a
broken gzip stream raises ``ValueError`` naming the path.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["read_idx", "read_idx_pair"]

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08
_DTYPE_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}
# Far above any real IDX file; guards against a corrupt header asking for terabytes.
_MAX_ELEMENTS = 1 << 33


def _read_bytes(path: Path) -> bytearray:
    """The file's (decompressed) bytes; gzip is detected by its magic bytes, not the suffix."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        opener = gzip.open if head == _GZIP_MAGIC else open
        with opener(path, "rb") as f:
            # bytearray so that torch.frombuffer gets a writable buffer (no copy, no warning).
            return bytearray(f.read())
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({e})") from e


def read_idx(path: str | Path, *, ndim: int | None = None) -> Tensor:
    """Read one IDX file of unsigned bytes.

    Args:
        path: an IDX file, gzipped (``*.gz``, detected by content) or raw.
        ndim: if given, the number of dimensions the file must have (3 for images, 1 for labels).

    Returns:
        a uint8 tensor with the file's dimensions, e.g. (60000, 28, 28) for MNIST training images
        or (60000,) for its labels; values in [0, 255].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad magic number, unsupported dtype, wrong ``ndim``, or a data length that does
            not match the header (truncated or trailing bytes); the message names the path.
    """
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(buf)} bytes)")
    zero1, zero2, dtype, n_dims = buf[0], buf[1], buf[2], buf[3]
    if zero1 != 0 or zero2 != 0 or dtype not in _DTYPE_NAMES or n_dims == 0:
        raise ValueError(f"{path}: not an IDX file (magic bytes {bytes(buf[:4]).hex()})")
    if dtype != _UBYTE:
        raise ValueError(
            f"{path}: IDX dtype {_DTYPE_NAMES[dtype]} is not supported; only ubyte (0x08) is")
    if ndim is not None and n_dims != ndim:
        raise ValueError(f"{path}: expected an IDX file with {ndim} dimensions, found {n_dims}")
    header = 4 + 4 * n_dims
    if len(buf) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(buf)} of {header} bytes)")
    dims = struct.unpack(f">{n_dims}I", bytes(buf[4:header]))
    n_elements = math.prod(dims)
    if n_elements > _MAX_ELEMENTS:
        raise ValueError(f"{path}: IDX header claims {n_elements} elements; corrupt header")
    n_data = len(buf) - header
    if n_data != n_elements:
        what = "truncated" if n_data < n_elements else "trailing bytes after the data"
        raise ValueError(
            f"{path}: {what}: header dims {dims} need {n_elements} bytes, found {n_data}")
    if n_elements == 0:
        return torch.zeros(dims, dtype=torch.uint8)
    return torch.frombuffer(buf, dtype=torch.uint8, offset=header).reshape(dims)


def read_idx_pair(images: str | Path, labels: str | Path) -> tuple[Tensor, Tensor]:
    """Read an images file and its labels file (MNIST / Fashion-MNIST layout).

    Returns:
        ``x``: (n, rows, cols) uint8 in [0, 255]; ``y``: (n,) int64 class labels in [0, 9].

    Raises:
        ValueError: either file is malformed, the counts differ, or a label is not in [0, 9].
    """
    x = read_idx(images, ndim=3)
    y = read_idx(labels, ndim=1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{images} has {x.shape[0]} images but {labels} has {y.shape[0]} labels")
    if y.numel() and int(y.max()) > 9:
        raise ValueError(f"{labels}: label {int(y.max())} outside [0, 9]")
    return x, y.long()
