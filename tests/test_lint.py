"""The rails hold in CI too: ruff's lint (pyproject.toml's [tool.ruff]) passes on the whole
repository, notebooks included, as `make check` and the pre-commit hook run it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_lint_passes():
    ruff = str(RUFF) if RUFF.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.fail(
            "ruff is not installed: it is pinned in requirements.txt (make test installs it)"
        )
    out = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
