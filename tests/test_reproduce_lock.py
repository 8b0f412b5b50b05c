"""One ``reproduce`` run at a time per output folder: a second run on a folder that a live run holds
stops at once with one line naming the folder and the holder's pid, and leaves every job of the
first run intact; the lock dies with its process, so a killed run leaves none behind. No notebook
runs here: the jobs of the first run are written by a stand-in for ``_run_jobs``."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sbcore import claims, reproduce
from sbcore.__main__ import main
from sbcore.reproduce import schedule

ROOT = Path(__file__).resolve().parents[1]
CH = "01_datasets_and_metrics"


def _write_job(out: Path, seed: int, status: str) -> Path:
    """A job folder as ``run_job`` leaves it while running (``status="running"``) or once done."""
    folder = out / CH / f"seed{seed}"
    config = {
        "chapter": CH,
        "seed": seed,
        "scale": "smoke",
        "strict": False,
        "device": "auto",
        "params": [],
    }
    manifest = {
        "job": f"{CH} seed {seed}",
        "config": config,
        "status": status,
        "seconds": 1.0,
        "commit": reproduce.source_commit(ROOT),
        "records": None,
    }
    if status == "done":
        rec = claims.ClaimRecord(
            claim=5,
            check="toy",
            quantity="Bayes accuracy",
            values=[0.5],
            paper="0.5",
            source="toy",
            kind="mean_within",
            target=0.5,
            tol=0.05,
            upper=None,
            rationale="a toy bar",
            data="toy",
            scale="smoke",
            chapter=CH,
        )
        claims.save_records([rec], folder / "records" / f"{CH}.json", metadata={"seed": seed})
        manifest["records"] = f"records/{CH}.json"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _cli(capsys, out: Path) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--scale", "smoke", "--chapters", "01", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err  # one line
    return e.value.code, err


def test_second_run_on_a_busy_folder_refuses_and_leaves_the_first_intact(
    tmp_path, monkeypatch, capsys
):
    started, go, calls = threading.Event(), threading.Event(), []

    def slow_jobs(todo, out, **kw):  # the first run's jobs: running for a while, then done
        calls.append([j.name for j, _ in todo])
        _write_job(out, 0, "running")
        started.set()
        assert go.wait(20)
        _write_job(out, 0, "done")
        return []

    monkeypatch.setattr(schedule, "_run_jobs", slow_jobs)
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(
            outcome=reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None)
        )
    )
    thread.start()
    try:
        assert started.wait(20)
        with pytest.raises(
            reproduce.ReproduceError,
            match=f"{tmp_path} is in use by another reproduce run \\(pid {os.getpid()} on ",
        ):
            reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, force=True, log=lambda m: None)
        code, err = _cli(capsys, tmp_path)
        assert code == 3 and str(tmp_path) in err and f"pid {os.getpid()}" in err
    finally:
        go.set()
        thread.join(20)
    assert first["outcome"].ran == [f"{CH} seed 0"] and calls == [
        [f"{CH} seed 0"]
    ]  # only the first ran
    manifest = json.loads((tmp_path / CH / "seed0" / "manifest.json").read_text())
    assert (
        manifest["status"] == "done"
    )  # the first run's job is whole: never removed, never marked failed
    assert claims.load_records([tmp_path / CH / "seed0" / "records" / f"{CH}.json"])[0].values == [
        0.5
    ]
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert [(r["chapter"], r["seed"]) for r in board["runs"]] == [(CH, 0)]
    # the first run ended: the folder is free again (its job is done, so it is skipped)
    assert reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None).skipped == [
        f"{CH} seed 0"
    ]


def test_a_killed_run_leaves_no_stale_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(schedule, "_run_jobs", lambda todo, out, **kw: [])
    _write_job(tmp_path, 0, "done")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom sbcore.reproduce.jobs import folder_lock\n"
            "with folder_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(120)\n",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(
            reproduce.ReproduceError, match=f"in use by another reproduce run \\(pid {holder.pid} "
        ):
            reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None)
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait(20)
    assert (
        tmp_path / ".reproduce.lock"
    ).exists()  # the file stays, its lock went with the process
    assert reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None).skipped == [
        f"{CH} seed 0"
    ]
