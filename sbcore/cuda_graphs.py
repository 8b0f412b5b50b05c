"""The training step captured in CUDA graphs and replayed (``TrainConfig(cuda_graph=True)``, off by
default until ``make gpu-check`` has verified it on a GPU): the GPU no longer waits on Python and
kernel launches. :func:`sbcore.train.fit` wraps its step in :class:`CapturedStep` on a CUDA device.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


class CapturedStep:
    """``step(idx)`` replayed from CUDA graphs, one per batch width (the last batch may be short).

    The first ``warmup`` calls of a width run eagerly on a side stream (torch.cuda.graph's
    recipe: lazy initialisation, e.g. of cuBLAS handles and workspaces, must not happen during
    capture; capturing on the warm-up stream keeps those per-stream resources valid); the next
    call captures the step reading a static index buffer, and every later call copies its
    indices there and replays.
    All graphs share one memory pool (they never run at the same time).
    """

    def __init__(self, step: Callable[[Tensor], None], device: torch.device, warmup: int = 3):
        self.step, self.warmup = step, warmup
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, Tensor]] = {}
        self.calls: dict[int, int] = {}
        self.pool = None
        self.side = torch.cuda.Stream(device=device)

    def __call__(self, idx: Tensor) -> None:
        width = idx.shape[1]
        if width in self.graphs:
            graph, static = self.graphs[width]
            static.copy_(idx)
            graph.replay()
            return
        main = torch.cuda.current_stream()
        if self.calls.get(width, 0) < self.warmup:
            self.calls[width] = self.calls.get(width, 0) + 1
            self.side.wait_stream(main)
            with torch.cuda.stream(self.side):
                self.step(idx)
            main.wait_stream(self.side)
            return
        static = idx.clone()
        try:
            graph = self.capture(static)
        except RuntimeError as err:
            raise RuntimeError(
                "capturing the training step in a CUDA graph failed (a host sync "
                "in the model?); train with TrainConfig(cuda_graph=False)"
            ) from err
        self.graphs[width] = (graph, static)
        graph.replay()  # capture records the step without running it

    def capture(self, static: Tensor) -> torch.cuda.CUDAGraph:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool, stream=self.side):
            self.step(static)
        self.pool = graph.pool()
        return graph
