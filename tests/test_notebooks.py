"""The book's notebooks: committed clean, thin, parameterized; and the book builds at smoke scale."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _toc_files() -> list[str]:
    return [line.split("file:")[1].strip() for line in (ROOT / "_toc.yml").read_text().splitlines()
            if "file:" in line]


def test_there_are_notebooks_and_the_toc_lists_existing_files():
    assert NOTEBOOKS
    for f in _toc_files():
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_with_python3_kernel_and_parameters_cell(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])
    # the parameters cell holds plain literals only (papermill overrides them)
    for line in "".join(code[0]["source"]).splitlines():
        stmt = line.split("#")[0].strip()
        if stmt:
            name, value = (s.strip() for s in stmt.split("=", 1))
            assert name.isidentifier()
            eval(value, {"__builtins__": {}})  # a literal: no names, no calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_thin(path):
    nb = json.loads(path.read_text())
    sizes = [len([l for l in "".join(c["source"]).splitlines() if l.strip()])
             for c in nb["cells"] if c["cell_type"] == "code"]
    assert max(sizes) <= 25, f"a code cell has {max(sizes)} lines: move logic into sbcore"


@pytest.mark.slow
def test_book_builds_at_smoke_scale_with_warnings_as_errors(tmp_path):
    env = {**os.environ, "SBCORE_SCALE": "smoke", "SBCORE_RECORDS_DIR": str(tmp_path / "records")}
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n",
                           "--keep-going"], env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    for f in _toc_files():
        assert (html / f"{f}.html").exists(), f
    board = (html / "book" / "scoreboard.html").read_text()
    assert "not covered yet" in board and "reproduced" in board
