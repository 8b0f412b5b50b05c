"""``reproduce`` on an existing Dask cluster never waits silently for ever: a scheduler file that does
not appear, a scheduler address where nothing listens and a cluster without any worker each stop
the run after a deadline with one line naming the file or address (exit status 3 on the command
line), and a job left running by the last worker is marked failed so that a rerun redoes it. Each
runs against an in-process scheduler (``LocalCluster(processes=False)``) with deadlines of a second."""

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from sbcore import reproduce
from sbcore.__main__ import main
from sbcore.reproduce import Job, schedule

CH = "01_datasets_and_metrics"
_RELEASE = threading.Event()  # lets the stand-in job below end once its test is over


def _hanging_job(job: Job, out: str, **kw) -> dict:
    """Stands in for ``run_job`` on an in-process worker: a job folder as a running job leaves
    it, then a job that never ends (until the test releases it)."""
    folder = job.folder(Path(out))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job.chapter}.running.ipynb").write_text("{}")
    manifest = {
        "job": job.name,
        "config": {"chapter": job.chapter, "seed": job.seed},
        "commit": "c0",
        "status": "running",
        "error": None,
        "ended": None,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _RELEASE.wait(30)
    return {**manifest, "status": "done"}


def _cluster(n_workers: int, **kw):
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        **kw,
    )


def _cli(capfd, tmp_path, *args) -> tuple[int, str, str]:
    """Exit status, the one line on stderr, and stdout of ``reproduce`` for chapter 01, seed 0."""
    with pytest.raises(SystemExit) as e:
        main(
            [
                "reproduce",
                "--scale",
                "smoke",
                "--chapters",
                "01",
                "--out",
                str(tmp_path / "out"),
                *args,
            ]
        )
    out, err = capfd.readouterr()
    err = err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err  # one line, no traceback
    return e.value.code, err, out


def test_missing_scheduler_file_stops_at_its_deadline_naming_it(capfd, tmp_path):
    missing = tmp_path / "nowhere" / "scheduler.json"
    start = time.monotonic()
    code, err, out = _cli(
        capfd, tmp_path, "--scheduler-file", str(missing), "--connect-timeout", "1"
    )
    assert code == 3 and time.monotonic() - start < 10
    assert f"--scheduler-file {missing} does not exist after 1 s of waiting" in err
    assert f"waiting up to 1 s for the scheduler file {missing}" in out  # said before it waits


def test_scheduler_file_written_late_is_waited_for(tmp_path):
    path = tmp_path / "scheduler.json"
    with _cluster(0) as cluster:
        threading.Timer(
            0.5, lambda: path.write_text(json.dumps({"address": cluster.scheduler_address}))
        ).start()
        lines: list[str] = []
        with reproduce.dask_client(
            1, scheduler_file=str(path), connect_timeout=10, log=lines.append
        ) as (client, opts):
            assert client.scheduler.address == cluster.scheduler_address
        assert lines == [f"waiting up to 10 s for the scheduler file {path}"]


def test_address_where_nothing_listens_is_one_line_naming_it(capfd, tmp_path):
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
        start = time.monotonic()
        code, err, _ = _cli(capfd, tmp_path, "--scheduler", address, "--connect-timeout", "1")
        assert code == 3 and time.monotonic() - start < 30
        # the reason in brackets is distributed's: "refused" on an idle machine, a timeout when
        # the deadline passes first on a busy one; either way one line naming the address
        assert f"no Dask scheduler answered at {address} within 1 s" in err
        assert len(err.strip().splitlines()) == 1, err
        stale = tmp_path / "stale.json"  # the file of a scheduler that has gone
        stale.write_text(json.dumps({"address": address}))
        code, err, _ = _cli(
            capfd, tmp_path, "--scheduler-file", str(stale), "--connect-timeout", "1"
        )
        assert code == 3 and f"at {address} (from {stale}) within 1 s" in err
    with pytest.raises(ValueError, match="--scheduler nonsense::"):
        reproduce.connect("nonsense::", None, timeout=1)


def test_cluster_without_workers_stops_in_one_line(capfd, tmp_path):
    with _cluster(0) as cluster:
        start = time.monotonic()
        code, err, out = _cli(
            capfd, tmp_path, "--scheduler", cluster.scheduler_address, "--no-worker-timeout", "1"
        )
        assert code == 3 and time.monotonic() - start < 15
    assert f"the Dask cluster at {cluster.scheduler_address} has had no worker for 1 s" in err
    assert "run the same command again to resume" in err
    assert "the Dask cluster has no worker: stopping in 1 s unless one joins" in out
    assert reproduce.read_jobs(tmp_path / "out") == []  # no job started, so none is "done"


def test_last_worker_dying_midjob_stops_and_marks_the_job_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(schedule, "run_job", _hanging_job)
    out, job = tmp_path / "out", Job(CH, 0, "smoke")
    lines: list[str] = []
    try:
        with _cluster(1) as cluster:

            def kill_the_worker():
                deadline = time.monotonic() + 20
                while (
                    not (job.folder(out) / "manifest.json").exists()
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.05)
                worker = next(iter(cluster.workers.values()))
                cluster.sync(worker.close, executor_wait=False)  # the job's thread is left hanging

            threading.Thread(target=kill_the_worker, daemon=True).start()
            start = time.monotonic()
            with pytest.raises(
                reproduce.ReproduceError, match="has had no worker for 1 s; stopped with 1 job"
            ):
                schedule._run_jobs(
                    [(job, Path("unused.ipynb"))],
                    out,
                    commit="c0",
                    log=lines.append,
                    workers=None,
                    scheduler=cluster.scheduler_address,
                    scheduler_file=None,
                    device="cpu",
                    no_worker_timeout=1,
                )
            assert time.monotonic() - start < 15
    finally:
        _RELEASE.set()
    assert lines[0] == "running 1 job(s) on 1 Dask worker(s)"
    (m,) = reproduce.read_jobs(out)
    assert m["status"] == "failed" and m["error"]["ename"] == "NoWorkers"  # a rerun redoes it
    assert (job.folder(out) / f"{CH}.failed.ipynb").exists()
    assert not (job.folder(out) / f"{CH}.running.ipynb").exists()
