"""Reader for IDX files, the format of MNIST and Fashion-MNIST (gzipped or raw).

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the data in row-major order. MNIST and Fashion-MNIST only use dtype 0x08
(unsigned byte), so that is the only dtype accepted here: anything else is a wrong file.
Reference: the format description on the MNIST page (LeCun, Cortes and Burges).

Nothing is trusted: a file that is truncated, carries trailing bytes, has a bad magic number, a
header above ``MAX_ELEMENTS`` or a broken gzip stream raises ``ValueError`` naming the path. The file
is read as a stream: the header is checked before the data is allocated, and at most one byte past
the declared data is decompressed, so a gzip bomb is rejected at the cost of its header.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["MAX_ELEMENTS", "read_idx", "read_idx_pair"]

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08
_DTYPE_NAMES = {
    0x08: "ubyte",
    0x09: "byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
#: Most elements (bytes) a file may declare: MNIST's and Fashion-MNIST's largest file holds
#: 60,000 x 28 x 28 = 47,040,000. The header is checked against it before anything is allocated
#: or decompressed, so a crafted header or a gzip bomb costs at most this much memory.
MAX_ELEMENTS = 64_000_000
_CHUNK = 1 << 20


def _read_exactly(f, buf: bytearray, path: Path) -> None:
    """Fill ``buf`` from the stream ``f`` in chunks (no second copy of the data)."""
    view, pos = memoryview(buf), 0
    while pos < len(buf):
        n = f.readinto(view[pos : pos + _CHUNK])
        if not n:
            raise ValueError(f"{path}: truncated: header needs {len(buf)} data bytes, found {pos}")
        pos += n


def read_idx(
    path: str | Path, *, ndim: int | None = None, max_elements: int = MAX_ELEMENTS
) -> Tensor:
    """Read one IDX file of unsigned bytes, streaming it (gzip is never inflated whole).

    Args:
        path: an IDX file, gzipped (``*.gz``, detected by content) or raw.
        ndim: if given, the number of dimensions the file must have (3 for images, 1 for labels).
        max_elements: most elements the header may declare (checked before any allocation).

    Returns:
        a uint8 tensor with the file's dimensions, e.g. (60000, 28, 28) for MNIST training images
        or (60000,) for its labels; values in [0, 255].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bad magic number, unsupported dtype, wrong ``ndim``, a header above
            ``max_elements``, or a data length that does not match the header (truncated or
            trailing bytes: at most one byte past the data is ever read); the message names the path.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw as f:
                return _read_stream(f, path, ndim, max_elements)
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({e})") from e


def _read_stream(f, path: Path, ndim: int | None, max_elements: int) -> Tensor:
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(magic)} bytes)")
    zero1, zero2, dtype, n_dims = magic
    if zero1 != 0 or zero2 != 0 or dtype not in _DTYPE_NAMES or n_dims == 0:
        raise ValueError(f"{path}: not an IDX file (magic bytes {magic.hex()})")
    if dtype != _UBYTE:
        raise ValueError(
            f"{path}: IDX dtype {_DTYPE_NAMES[dtype]} is not supported; only ubyte (0x08) is"
        )
    if ndim is not None and n_dims != ndim:
        raise ValueError(f"{path}: expected an IDX file with {ndim} dimensions, found {n_dims}")
    head = f.read(4 * n_dims)
    if len(head) < 4 * n_dims:
        raise ValueError(
            f"{path}: truncated IDX header ({4 + len(head)} of {4 + 4 * n_dims} bytes)"
        )
    dims = struct.unpack(f">{n_dims}I", head)
    n_elements = math.prod(dims)
    if n_elements > max_elements:
        raise ValueError(
            f"{path}: IDX header declares {n_elements} elements {dims}, above the cap "
            f"of {max_elements}; corrupt or not an MNIST-like file"
        )
    # bytearray so that torch.frombuffer gets a writable buffer (no copy, no warning).
    buf = bytearray(n_elements)
    _read_exactly(f, buf, path)
    if f.read(1):
        raise ValueError(
            f"{path}: trailing bytes after the data: header dims {dims} need "
            f"{n_elements} bytes, the file holds more"
        )
    if n_elements == 0:
        return torch.zeros(dims, dtype=torch.uint8)
    return torch.frombuffer(buf, dtype=torch.uint8).reshape(dims)


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
