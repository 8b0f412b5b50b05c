"""Seeding, device choice, run metadata and where records go."""

from __future__ import annotations

import hashlib
import os
import platform
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

DEVICES = ("auto", "cpu", "cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch's global generators (the library itself uses local ones)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def member_seeds(seed: int, n: int) -> list[int]:
    """``n`` seeds for the members of one run with base ``seed``; runs with different base seeds
    never share a member seed (so ``reproduce --seeds 0 1 2`` pools independent runs)."""
    if n < 1:
        raise ValueError(f"n (number of seeds) must be >= 1, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return [int(seed) * 1000 + i for i in range(n)]


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU. ``"cuda"`` without a GPU raises."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was asked for but no CUDA device is available; use 'auto' or 'cpu'"
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def project_root(start: Path | None = None) -> Path:
    """The checkout's root: the first parent of ``start`` (default: cwd) holding ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "_toc.yml").exists() and (p / "sbcore").is_dir():
            return p
    return here


BOOK_RECORDS = Path("_build") / "records"  # what `make book` writes and `make results` reads
RERUN_RECORDS = Path("_build") / "reruns" / "records"


def records_dir() -> Path:
    """Where chapters write their claim records: ``$SBCORE_RECORDS_DIR`` if set (``make book``
    sets it to :data:`BOOK_RECORDS`, each ``reproduce`` job to its own folder), else
    :data:`RERUN_RECORDS`, so that a papermill or Jupyter rerun never writes into the folder the
    book build and ``make results`` read."""
    env = os.environ.get("SBCORE_RECORDS_DIR")
    return Path(env) if env else project_root() / RERUN_RECORDS


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=project_root(),
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata(
    *, scale: str, seed: int, seeds: Sequence[int], config: dict, device: torch.device | str
) -> dict:
    """What every saved result carries: config, seeds, scale, versions, commit, machine, time."""
    import sklearn

    return {
        "scale": scale,
        "seed": seed,
        "seeds": list(seeds),
        "config": config,
        "device": str(device),
        "commit": source_commit(project_root()),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
    }


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: through a uniquely named temporary file in the same
    folder, then ``os.replace``. Concurrent writers never interleave; a reader sees the old file or
    the new one, never a mix; a crash leaves no half-written target."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def source_commit(root: Path) -> str:
    """The git commit of ``root``; uncommitted changes under sbcore/ or book/ add ``+dirty.<hash>``
    so that a resumed run never takes results of other code for its own."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=20
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short=12", "HEAD").strip() or "unknown"
    status = git("status", "--porcelain", "--", "sbcore", "book")
    if not status:
        return head
    digest = hashlib.sha256(
        (status + git("diff", "HEAD", "--", "sbcore", "book")).encode()
    ).hexdigest()
    return f"{head}+dirty.{digest[:8]}"
