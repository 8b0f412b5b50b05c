"""CUDA graphs: the captured step trains exactly like the eager one (skipped without a GPU)."""

from dataclasses import replace

import pytest
import torch

from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.train import TrainConfig, fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("kind", ["sgd", "adam", "rmsprop"])
def test_captured_equals_eager(kind):
    data = make_lms(1000, seed=0)  # 1000 = 3 x 300 + 100: two batch widths, two graphs
    x, y = data.x.cuda(), data.y.cuda()
    lr = (0.1, 0.05, 0.01) if kind == "sgd" else (1e-2, 3e-3, 1e-3)
    cfg = TrainConfig(
        optimizer=kind,
        lr=lr,
        momentum=(0.0, 0.5, 0.9),
        weight_decay=(0.0, 1e-4, 1e-3),
        batch_size=300,
        max_epochs=6,
        stop_loss=None,
        schedule="step",
        step_every=2,
    )
    runs = []
    for graph in (False, True):
        stack = ModelSpec.parse("(32,2)-FCN").build(50, seeds=[0, 1, 2]).cuda()
        hist = fit(stack, x, y, replace(cfg, cuda_graph=graph), progress=False)
        runs.append((stack, hist))
    (eager, h_eager), (graph, h_graph) = runs
    assert h_graph.n_updates == h_eager.n_updates == 24
    for p, q in zip(eager.parameters(), graph.parameters()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        torch.tensor(h_eager.loss), torch.tensor(h_graph.loss), atol=1e-5, rtol=1e-4
    )


def test_plain_module_with_batchnorm_is_captured():
    data = make_lms(1000, seed=0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(50, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(), torch.nn.Linear(32, 2)
    ).cuda()
    hist = fit(
        model,
        data.x.cuda(),
        data.y.cuda(),
        TrainConfig(max_epochs=8, stop_loss=None, cuda_graph=True),
        progress=False,
    )
    assert hist.loss[-1][0] < hist.loss[0][0]
