"""make gpu-check runs on the CPU up to its first device step: the environment is recorded, every
GPU step says it was skipped and why, and the file is one JSON object per step."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["environment", "cuda_tests", "graph_records", "bench_cuda", "chapters", "paper_ms57"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU, make gpu-check itself runs")
def test_gpu_check_on_the_cpu_records_the_environment_and_skips_the_device_steps(tmp_path):
    out = tmp_path / "gpu-check.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu_check.py"),
            "--out",
            str(out),
            "--budget",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    steps = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["step"] for s in steps] == STEPS
    env = steps[0]
    assert env["status"] == "ok" and env["device"] == "cpu" and env["torch"] == torch.__version__
    assert all(s["status"] == "skipped" and s["why"] == "no CUDA device" for s in steps[1:])
    assert "[gpu-check] paper_ms57: skipped (no CUDA device)" in run.stdout


def test_the_device_steps_run_their_measurements_on_the_cpu_at_a_small_size():
    """The steps' own code (everything but the device), at a size the CPU runs in seconds."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gpu_check

    graph = gpu_check.graph_records(device="cpu", n_train=1000)
    assert graph["agree_within_1e-3"] is True  # on the CPU both runs are eager: equal
    assert {"eager", "captured", "max_abs_difference"} <= set(graph["(100,1)-FCN"])

    class Clock:  # a budget of 4 s: one epoch each, then as many as fit
        def left(self):
            return 4.0

    rows = gpu_check.paper_ms57(Clock(), device="cpu", n_train=600, n_test=200)
    assert set(rows) == set(gpu_check.PAPER_MODELS)
    for row in rows.values():
        assert len(row["test_acc"]) == 5 and 1 <= row["epochs_run"] <= row["epochs_cap"]
        assert all(0 <= v <= 1 for v in row["s_auc"] + row["sc_auc"] + row["test_acc"])
