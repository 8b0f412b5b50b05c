"""Shared test settings: one torch thread (the tests are small; oversubscribing 2 cores with
several processes makes them slower, not faster), and one smoke-scale book build per session,
shared by the book-build test and the real-browser test."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
# The flags `make book` passes to jupyter-book (a test checks the Makefile uses the same ones).
# --all: a fresh Sphinx environment, so every page that reads records is re-read and re-executed.
BUILD_FLAGS = ("--all", "-W", "-n", "--keep-going")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@dataclass
class BookBuild:
    """One `jupyter-book build` of this checkout: where it went and how it ended."""

    out: Path  # the --path-output folder (holds _build/)
    records: Path  # SBCORE_RECORDS_DIR of the build
    returncode: int
    log: str
    started: float  # time.time() before and after the build
    finished: float

    @property
    def html(self) -> Path:
        return self.out / "_build" / "html"


def build_book(out: Path, records: Path, *, flags=BUILD_FLAGS, scale: str = "smoke") -> BookBuild:
    """Build the book at ``scale`` into ``out`` the way `make book` does."""
    env = {
        **os.environ,
        "SBCORE_SCALE": scale,
        "SBCORE_RECORDS_DIR": str(records),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    jb = Path(sys.executable).parent / "jupyter-book"
    started = time.time()
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return BookBuild(
        out,
        records,
        proc.returncode,
        proc.stdout[-6000:] + proc.stderr[-6000:],
        started,
        time.time(),
    )


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> BookBuild:
    """The smoke-scale book, built once per session. ``SBCORE_BOOK_HTML=<_build/html>`` reuses a
    book built elsewhere (any scale) instead, for the browser test alone."""
    prebuilt = os.environ.get("SBCORE_BOOK_HTML")
    if prebuilt:
        html = Path(prebuilt).resolve()
        assert (html / "index.html").exists(), f"SBCORE_BOOK_HTML={prebuilt} holds no built book"
        return BookBuild(html.parents[1], Path(), 0, "(prebuilt)", 0.0, 0.0)
    out = tmp_path_factory.mktemp("book")
    return build_book(out, out / "records")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The data tests' environment: SBCORE_DATA and the cache in tmp_path, offline, no system
    Fashion-MNIST, a short download timeout."""
    from sbcore.data import download

    monkeypatch.setenv("SBCORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SBCORE_OFFLINE", "1")
    monkeypatch.setattr(download, "FASHION_SYSTEM_DIR", tmp_path / "no-system-dir")
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)
    return tmp_path
