"""What every benchmark records beside its ratios: the machine, its load, and its measured
matrix-multiply throughput (the ceiling any training step is bounded by)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from typing import Callable

import torch


def sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device: torch.device | str = "cpu", size: int = 1024, reps: int = 20) -> float:
    """float32 ``torch.mm`` of two (size, size) matrices, in GFLOP/s (2 size^3 per product)."""
    if torch.device(device).type == "cuda":
        size, reps = 8192, 50
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    sync(device)
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe(device: torch.device | str = "cpu") -> dict:
    """Machine, load average and matmul throughput of ``device``, measured now."""
    threads = torch.get_num_threads()
    out = {
        "cpu": f"{platform.machine()}, {os.cpu_count()} cores, {threads} torch threads",
        "torch": torch.__version__,
        "commit": git_commit(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "cpu_matmul_gflops": round(matmul_gflops("cpu"), 1),
    }
    if torch.device(device).type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
        out["gpu_matmul_gflops"] = round(matmul_gflops(device), 1)
    return out


def alternate(contenders: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each contender ``repeats`` times, alternating them; each returns its own seconds."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            times[name].append(run())
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
