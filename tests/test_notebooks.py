"""The book's notebooks: committed clean, thin, parameterized; and the book builds at smoke scale."""

import json
import re
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import BUILD_FLAGS, build_book

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
RUN_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def _toc_files() -> list[str]:
    return [
        line.split("file:")[1].strip()
        for line in (ROOT / "_toc.yml").read_text().splitlines()
        if "file:" in line
    ]


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
    sizes = [
        len([l for l in "".join(c["source"]).splitlines() if l.strip()])
        for c in nb["cells"]
        if c["cell_type"] == "code"
    ]
    assert max(sizes) <= 25, f"a code cell has {max(sizes)} lines: move logic into sbcore"


@pytest.mark.slow
def test_book_builds_at_smoke_scale_with_warnings_as_errors(smoke_book):
    if smoke_book.log == "(prebuilt)":
        pytest.skip("SBCORE_BOOK_HTML set: the browser test reuses a prebuilt book")
    assert smoke_book.returncode == 0, smoke_book.log
    for f in _toc_files():
        assert (smoke_book.html / f"{f}.html").exists(), f
    board = (smoke_book.html / "book" / "scoreboard.html").read_text()
    assert "reproduced" in board and all(f"#{i}" in board for i in range(1, 32))


def _run_times(page: Path) -> list[datetime]:
    """The run timestamps a page lists (ISO 8601 in UTC, as the records store them)."""
    return [datetime.fromisoformat(t) for t in RUN_TIME.findall(page.read_text())]


def test_make_book_builds_with_a_fresh_environment():
    """`make book` passes the flags the tests build with; --all makes Sphinx re-read (and so
    re-execute) every page, also the unchanged scoreboard and reproduce pages."""
    recipe = subprocess.run(
        ["make", "-n", "book"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    build = [line for line in recipe.splitlines() if "jupyter-book build" in line]
    assert build, recipe
    assert all(f" {flag}" in build[0] for flag in BUILD_FLAGS), build[0]


@pytest.mark.slow
def test_the_scoreboard_lists_this_builds_runs(smoke_book):
    if smoke_book.log == "(prebuilt)":
        pytest.skip("SBCORE_BOOK_HTML set: no build of this session to compare with")
    times = _run_times(smoke_book.html / "book" / "scoreboard.html")
    assert times, "the scoreboard lists no run times"
    started = datetime.fromtimestamp(smoke_book.started, timezone.utc).replace(microsecond=0)
    assert min(times) >= started, (min(times), started)


@pytest.mark.slow
def test_a_second_build_rereads_the_records(smoke_book):
    """Build again into the same folder (a kept .doctrees, as after `make book` twice): the
    scoreboard must list the second build's runs, not the first's."""
    if smoke_book.log == "(prebuilt)" or smoke_book.returncode:
        pytest.skip("needs this session's successful smoke build")
    first = _run_times(smoke_book.html / "book" / "scoreboard.html")
    time.sleep(max(0.0, 1.5 - (time.time() - smoke_book.finished)))  # timestamps are in seconds
    again = build_book(smoke_book.out, smoke_book.records)
    assert again.returncode == 0, again.log
    second = _run_times(again.html / "book" / "scoreboard.html")
    assert second and min(second) >= datetime.fromtimestamp(again.started, timezone.utc).replace(
        microsecond=0
    )
    assert max(first) < min(second), (first, second)
