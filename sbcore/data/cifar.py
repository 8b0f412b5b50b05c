"""Reader for the CIFAR-10 *binary* release (no pickle is ever loaded).

``cifar-10-binary.tar.gz`` (www.cs.toronto.edu/~kriz/cifar.html) holds ``cifar-10-batches-bin/``
with ``data_batch_1.bin`` ... ``data_batch_5.bin`` (training, 10,000 images each) and
``test_batch.bin`` (10,000 images). Each record is 3073 bytes: one label byte in [0, 9], then
3072 pixel bytes, the red, green and blue 32 x 32 planes in row-major order. So a record reshapes
directly to (3, 32, 32), channels first.

The archive is read as a stream (``tarfile`` mode ``r|gz``): one pass, no extraction to disk, and
only the six expected member names are read, so a crafted archive cannot write files anywhere.
Sizes are checked against caps before reading: a batch above ``MAX_BATCH_BYTES`` or an archive
whose members reach past ``MAX_ARCHIVE_BYTES`` (decompressed) is refused from its tar headers.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch import Tensor

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_ARCHIVE_BYTES",
    "CLASS_NAMES",
    "TRAIN_BATCHES",
    "TEST_BATCHES",
    "read_cifar10",
    "class_index",
]

#: CIFAR-10 class names; the label byte indexes this tuple.
CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCHES: tuple[str, ...] = ("test_batch.bin",)
_FOLDER = "cifar-10-batches-bin"
_RECORD = 1 + 3 * 32 * 32
#: Largest batch accepted: the release's batches hold 10,000 records (30,730,000 bytes) each.
MAX_BATCH_BYTES = 10_000 * _RECORD
#: Most decompressed bytes read from an archive: the release unpacks to about 185 MB. Sizes come
#: from the tar headers and are checked before a member is read or skipped (no gzip bomb).
MAX_ARCHIVE_BYTES = 256_000_000


def _check_size(n_bytes: int, origin: str) -> None:
    if n_bytes > MAX_BATCH_BYTES:
        raise ValueError(
            f"{origin}: {n_bytes} bytes is above the {MAX_BATCH_BYTES}-byte size of a "
            "CIFAR-10 batch (corrupt or not a CIFAR-10 binary batch)"
        )


def class_index(name: str) -> int:
    """Label of a CIFAR-10 class name, e.g. ``class_index("truck") == 9``."""
    if name not in CLASS_NAMES:
        raise ValueError(f"CIFAR-10 class must be one of {CLASS_NAMES}, got {name!r}")
    return CLASS_NAMES.index(name)


def _parse(buf: bytearray, origin: str, classes: Sequence[int] | None) -> tuple[Tensor, Tensor]:
    """Records -> (x (n, 3, 32, 32) uint8, y (n,) int64), keeping only ``classes`` if given."""
    if len(buf) == 0 or len(buf) % _RECORD:
        raise ValueError(
            f"{origin}: {len(buf)} bytes is not a whole number of {_RECORD}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 binary batch)"
        )
    records = torch.frombuffer(buf, dtype=torch.uint8).view(-1, _RECORD)
    y = records[:, 0].long()
    if int(y.max()) > 9:
        raise ValueError(f"{origin}: label {int(y.max())} outside [0, 9]")
    keep = torch.isin(y, torch.tensor(list(classes))) if classes is not None else slice(None)
    # The clone detaches the kept images from the 30 MB batch buffer, which can then be freed.
    return records[keep, 1:].reshape(-1, 3, 32, 32).clone(), y[keep].clone()


def _from_tar(path: Path, names: Sequence[str]) -> Iterator[tuple[str, bytearray]]:
    """Yield (batch name, bytes) for each wanted member, in archive order, in one streaming pass."""
    wanted = {f"{_FOLDER}/{n}": n for n in names}
    seen: set[str] = set()
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for member in tar:
                if member.offset_data + member.size > MAX_ARCHIVE_BYTES:
                    raise ValueError(
                        f"member {member.name} ends past {MAX_ARCHIVE_BYTES} bytes, "
                        "more than the CIFAR-10 release holds"
                    )
                if member.name in wanted and member.isfile():
                    _check_size(member.size, f"{path}:{member.name}")
                    f = tar.extractfile(member)
                    assert f is not None  # a regular file always has a file object
                    seen.add(wanted[member.name])
                    yield wanted[member.name], bytearray(f.read())
                    if len(seen) == len(wanted):
                        break  # the test batch is last: training reads stop before it
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as e:
        raise ValueError(f"{path}: corrupt, truncated or oversized CIFAR-10 archive ({e})") from e
    missing = sorted(set(wanted.values()) - seen)
    if missing:
        raise ValueError(
            f"{path}: archive lacks {_FOLDER}/{missing}; is it cifar-10-binary.tar.gz?"
        )


def _from_dir(folder: Path, names: Sequence[str]) -> Iterator[tuple[str, bytearray]]:
    if (folder / _FOLDER).is_dir():
        folder = folder / _FOLDER
    for n in names:
        if not (folder / n).is_file():
            raise FileNotFoundError(f"{folder / n} not found (expected the extracted {_FOLDER}/)")
        _check_size((folder / n).stat().st_size, str(folder / n))
        yield n, bytearray((folder / n).read_bytes())


def read_cifar10(
    path: str | Path, split: str = "train", *, classes: Sequence[int] | None = None
) -> tuple[Tensor, Tensor]:
    """Read one split of CIFAR-10 from the binary archive or its extracted folder.

    Args:
        path: ``cifar-10-binary.tar.gz``, or the extracted ``cifar-10-batches-bin`` folder, or the
            folder that contains it.
        split: "train" (data_batch_1..5, 50,000 images) or "test" (test_batch, 10,000 images).
        classes: labels to keep (e.g. ``[1, 9]`` for automobile and truck); None keeps all. Filtering
            per batch keeps the peak memory at one batch plus the result.

    Returns:
        ``x``: (n, 3, 32, 32) uint8 in [0, 255], RGB, in file order; ``y``: (n,) int64 in [0, 9].

    Raises:
        ValueError: bad ``split`` or ``classes``; a corrupt, truncated or foreign archive or batch
            (the message names the path).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be one of ('train', 'test'), got {split!r}")
    if classes is not None and any(not 0 <= int(c) <= 9 for c in classes):
        raise ValueError(f"classes must be CIFAR-10 labels in [0, 9], got {list(classes)}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    batches = _from_dir(path, names) if path.is_dir() else _from_tar(path, names)
    # Parse (and filter) each batch as it arrives, so only one raw batch is in memory at a time.
    parts = {name: _parse(buf, f"{path}:{name}", classes) for name, buf in batches}
    ordered = [parts[n] for n in names]  # batch order 1..5 whatever the archive order
    return torch.cat([p[0] for p in ordered]), torch.cat([p[1] for p in ordered])
