"""(d) On a CUDA GPU: sbcore's eager step against its captured step (CUDA graphs) and against a
hand-captured graph of the same step, for stacks of 1 to 1,000 members. Skipped on the CPU.

Configuration: LMS-5 (20,000 points, shared by every member), a stacked (100,2)-FCN, SGD lr 0.1,
batch 256, a fixed number of epochs. The time per update is the steady state: the median epoch
(after the first two, which hold the warm-up and the capture) divided by its updates, measured by
an epoch callback that synchronises the device. The hand-captured baseline is the textbook
recipe (static index buffer, ``torch.optim.SGD``, ``torch.cuda.graph``, replay), on the full-size
batches only.
"""

from __future__ import annotations

import statistics
import time

import torch

from sbcore.data import from_name
from sbcore.models import ModelSpec
from sbcore.train import TrainConfig, fit

MEMBERS = (1, 10, 100, 1000)
SPEC = ModelSpec.parse("(100,2)-FCN")


def fit_ms_per_update(x, y, M: int, *, graph: bool, epochs: int) -> float:
    model = SPEC.build(x.shape[1], seeds=list(range(M))).to(x.device)
    stamps: list[float] = []

    def stamp(_model, _epoch) -> dict:
        torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        return {}

    cfg = TrainConfig(max_epochs=epochs, stop_loss=None, cuda_graph=graph)
    hist = fit(model, x, y, cfg, callback=stamp, eval_every=1, progress=False)
    per_epoch = hist.n_updates / epochs
    return 1e3 * statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:])) / per_epoch


def hand_ms_per_update(x, y, M: int, *, epochs: int, bs: int = 256) -> float:
    model = SPEC.build(x.shape[1], seeds=list(range(M))).to(x.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-7)
    n = x.shape[0] // bs * bs
    idx = torch.zeros(M, bs, dtype=torch.long, device=x.device)

    def step() -> None:
        logits = model(x[idx])
        loss = (
            torch.nn.functional.cross_entropy(
                logits.reshape(-1, 2), y[idx].reshape(-1), reduction="none"
            )
            .view(M, -1)
            .mean(1)
            .sum()
        )
        loss.backward()
        opt.step()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        step()
    times = []
    for _ in range(epochs):
        order = torch.argsort(torch.rand(M, x.shape[0], device=x.device), dim=1)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for s in range(0, n, bs):
            idx.copy_(order[:, s : s + bs])
            graph.replay()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / (n // bs))
    return 1e3 * statistics.median(times[1:])


def main(members=MEMBERS, epochs: int = 8) -> dict:
    if not torch.cuda.is_available():
        msg = "skipped: no CUDA device (eager vs captured steps need one)"
        print(msg)
        return {"skipped": msg}
    data = from_name("LMS-5", 20_000, seed=0)
    x, y = data.x.cuda(), data.y.cuda()
    rows = []
    for M in members:
        row: dict = {"members": M}
        try:
            row["eager_ms"] = round(fit_ms_per_update(x, y, M, graph=False, epochs=epochs), 4)
            row["captured_ms"] = round(fit_ms_per_update(x, y, M, graph=True, epochs=epochs), 4)
            row["hand_captured_ms"] = round(hand_ms_per_update(x, y, M, epochs=epochs), 4)
            row["eager_over_captured"] = round(row["eager_ms"] / row["captured_ms"], 2)
            row["captured_over_hand"] = round(row["captured_ms"] / row["hand_captured_ms"], 2)
            row["us_per_member_update"] = round(1e3 * row["captured_ms"] / M, 3)
        except RuntimeError as err:  # e.g. out of memory at 1,000 members: record, go on
            row["error"] = str(err).splitlines()[0][:200]
        print(row)
        rows.append(row)
        torch.cuda.empty_cache()
    return {
        "config": f"LMS-5, n=20,000, stacked (100,2)-FCN, SGD lr 0.1, batch 256, {epochs} epochs; "
        "steady-state ms per update",
        "rows": rows,
        "target": "captured_over_hand <= 1.5 for 1 to 100 members",
    }


if __name__ == "__main__":
    main()
