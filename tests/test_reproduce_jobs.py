"""Reproduce jobs on a real LocalCluster (127.0.0.1): a failing job is reported with its cell and
does not stop the others; each kernel gets its own environment; an interrupted call (a real
SIGINT) leaves no job "done" that did not finish, and the next call reruns only those."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from sbcore import reproduce
from sbcore.reproduce import Job, schedule

ROOT = Path(__file__).resolve().parents[1]

_WRITE_RECORDS = """
import os
from sbcore import claims
assert os.environ["SBCORE_SCALE"] == scale == "smoke"
assert os.environ["OMP_NUM_THREADS"] == "1"
rec = claims.ClaimRecord(claim=5, check="toy", quantity="toy", values=[0.5], paper="0.5",
                        source="toy", kind="mean_within", target=0.5, tol=0.1, upper=None,
                        rationale="a toy bar", data="toy", scale=scale, chapter="90_ok")
claims.save_records([rec], os.path.join(os.environ["SBCORE_RECORDS_DIR"], "90_ok.json"),
                    metadata={"device": "cpu"})
"""


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('scale = None\nseed = 0\nstrict = True\ndevice = "auto"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_failed_job_names_its_cell_and_does_not_stop_the_other(tmp_path):
    ok = _notebook(tmp_path / "90_ok.ipynb", _WRITE_RECORDS)
    bad = _notebook(tmp_path / "91_bad.ipynb", "x = 1", "raise ValueError('broken on purpose')")
    out = tmp_path / "out"
    lines: list[str] = []
    environ = dict(os.environ)
    failed = schedule._run_jobs(
        [(Job("90_ok", 0, "smoke"), ok), (Job("91_bad", 3, "smoke"), bad)],
        out,
        commit="c0",
        log=lines.append,
        workers=2,
        scheduler=None,
        scheduler_file=None,
        device="cpu",
    )
    assert dict(os.environ) == environ
    assert failed == ["91_bad seed 3"]
    report = next(line for line in lines if "91_bad seed 3" in line)
    assert (
        "FAILED at cell 3 (In [4])" in report
    )  # papermill adds a cell of parameters and "ValueError: broken on purpose" in report
    bad_job = json.loads((out / "91_bad" / "seed3" / "manifest.json").read_text())
    assert bad_job["status"] == "failed" and bad_job["error"]["cell_index"] == 3
    assert (out / "91_bad" / "seed3" / "91_bad.failed.ipynb").exists()
    assert not (out / "91_bad" / "seed3" / "91_bad.ipynb").exists()
    ok_job = json.loads((out / "90_ok" / "seed0" / "manifest.json").read_text())
    assert ok_job["status"] == "done" and ok_job["device"]["used"] == "cpu"
    assert ok_job["device"]["worker"].startswith("tcp://127.0.0.1:")
    assert (out / "90_ok" / "seed0" / "90_ok.ipynb").exists()


def test_job_without_records_is_not_done(tmp_path):
    quiet = _notebook(tmp_path / "92_quiet.ipynb", "x = 1")
    m = reproduce.run_job(
        Job("92_quiet", 0, "smoke"), str(tmp_path / "out"), notebook=str(quiet), commit="c0"
    )
    assert m["status"] == "failed" and "without writing" in m["error"]["evalue"]


def _statuses(out: Path) -> dict:
    return {
        (p.parent.parent.name[:2], p.parent.name): json.loads(p.read_text())
        for p in out.glob("*/seed*/manifest.json")
    }


@pytest.mark.slow
def test_sigint_midway_then_rerun_redoes_only_unfinished_jobs(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "sbcore",
        "reproduce",
        "--scale",
        "smoke",
        "--chapters",
        "01",
        "02",
        "--seeds",
        "0",
        "1",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    # started with SIGINT ignored, as a shell script starts a background job: it must still stop
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # wait for two jobs done and a later one running
        jobs = _statuses(tmp_path)
        states = [m["status"] for m in jobs.values()]
        if states.count("done") >= 2 and "running" in states:
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the jobs did not start in time")
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    log = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, log
    assert "run the same command again to resume" in log
    first = _statuses(tmp_path)
    finished = {k for k, m in first.items() if m["status"] == "done"}
    assert 2 <= len(finished) < 4
    for key, m in first.items():
        if key not in finished:
            assert m["status"] == "failed", m  # never "done", never left "running"
            folder = tmp_path / m["config"]["chapter"] / key[1]
            assert not (folder / f"{m['config']['chapter']}.ipynb").exists()
            assert not list(folder.glob("*.running.ipynb"))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    second = _statuses(tmp_path)
    assert all(m["status"] == "done" for m in second.values()) and len(second) == 4
    for key in finished:  # the finished jobs were not run again
        assert second[key]["started"] == first[key]["started"]
    for key in set(second) - finished:
        assert second[key]["started"] >= first[key]["started"]
        assert second[key]["ended"] > first[key]["ended"]
    assert f"skipping {len(finished)} job(s)" in done.stdout
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert len(board["runs"]) == 4 and not board["left_out"]


def test_existing_cluster_by_address_and_by_scheduler_file(tmp_path):
    from distributed import LocalCluster

    ok = _notebook(
        tmp_path / "90_ok.ipynb",
        _WRITE_RECORDS.replace('assert os.environ["OMP_NUM_THREADS"] == "1"\n', ""),
    )
    sched_file = tmp_path / "scheduler.json"
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"scheduler_file": str(sched_file)},
    ) as cluster:
        for i, where in enumerate(
            [
                {"scheduler": cluster.scheduler_address, "scheduler_file": None},
                {"scheduler": None, "scheduler_file": str(sched_file)},
            ]
        ):
            lines: list[str] = []
            failed = schedule._run_jobs(
                [(Job("90_ok", i, "smoke"), ok)],
                tmp_path / "out",
                commit="c0",
                log=lines.append,
                workers=None,
                device="cpu",
                **where,
            )
            assert failed == [] and "on 1 Dask worker(s)" in lines[0]
            m = json.loads((tmp_path / "out" / "90_ok" / f"seed{i}" / "manifest.json").read_text())
            assert (
                m["status"] == "done" and m["device"]["threads"] is None
            )  # the cluster's own setup


def test_local_layout_shares_cores_and_pins_one_job_per_gpu(monkeypatch):
    import torch

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert reproduce.local_layout(8, None, "auto") == (min(cores, 8), cores // min(cores, 8), [])
    assert reproduce.local_layout(8, 1, "auto") == (1, cores, [])
    assert reproduce.local_layout(1, 4, "auto")[0] == 1  # never more workers than jobs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert reproduce.local_layout(8, None, "auto") == (2, max(1, cores // 2), ["0", "1"])
    assert reproduce.local_layout(8, None, "cpu")[2] == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert reproduce.local_layout(8, None, "auto")[2] == ["3", "5"]


def test_job_kernel_is_pinned_to_its_gpu(tmp_path):
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    nb = _notebook(
        tmp_path / "93_gpu.ipynb",
        'import os\nassert os.environ["CUDA_VISIBLE_DEVICES"] == "7"\n'
        'assert os.environ["OMP_NUM_THREADS"] == "3"\n'
        + _WRITE_RECORDS.replace('assert os.environ["OMP_NUM_THREADS"] == "1"\n', "").replace(
            "90_ok", "93_gpu"
        ),
    )
    m = reproduce.run_job(
        Job("93_gpu", 0, "smoke"),
        str(tmp_path / "out"),
        notebook=str(nb),
        commit="c0",
        threads=3,
        gpus=("7",),
    )
    assert m["status"] == "done", m["error"]
    assert m["device"]["cuda_visible_devices"] == "7"
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == before  # only the job's kernel saw it
