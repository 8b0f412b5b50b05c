"""Inference helpers: logits of stacked and ordinary models in eval mode, in batches."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .stacked import is_stack


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: Tensor, *, per_member: bool = False, batch_size: int = 8192
) -> Tensor:
    """Logits of every member in eval mode -> (M, n, C).

    ``x``: (n, *shape) shown to every member, or (M, n, *shape) with ``per_member=True``.
    """
    was_training = model.training
    model.eval()
    stacked = is_stack(model)
    pm = per_member
    n = x.shape[1] if pm else x.shape[0]
    outs = []
    for s in range(0, n, batch_size):
        xb = x[:, s : s + batch_size] if pm else x[s : s + batch_size]
        out = model(xb)
        outs.append(out if stacked else out.unsqueeze(0))
    model.train(was_training)
    return torch.cat(outs, dim=1)
