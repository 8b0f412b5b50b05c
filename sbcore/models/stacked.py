"""Stacks of small models that train together in one vectorized pass.

A stacked model holds ``n_models`` independent members; every parameter has the member as its
leading dimension, so one batched matrix multiply updates all members at once. Members never
interact: the loss is a sum of per-member losses and every optimizer we use is element-wise, so
member i trained in a stack follows the same trajectory as member i trained alone (up to
floating-point summation order). Each member is initialized from its own seed.

Input: ``x`` of shape (B, *shape) (one batch shown to every member) or (M, B, *shape) (each
member its own batch). Output: logits (M, B, C).
"""

from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
from torch import Tensor, nn

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh")
INITS = ("default", "kaiming", "xavier")


class Stacked(nn.Module):
    """Base class: ``n_models`` members whose parameters all lead with the member dimension."""

    n_models: int

    @staticmethod
    def lead(t: Tensor) -> Tensor:
        """A parameter (or its gradient) as (M, *shape): already so in a stack."""
        return t

    def expand_input(self, x: Tensor, n_dims: int) -> Tensor:
        """(B, *shape) -> (M, B, *shape); ``n_dims`` is the length of one example's shape + 1."""
        if x.dim() == n_dims:
            return x.unsqueeze(0).expand(self.n_models, *x.shape)
        if x.dim() == n_dims + 1 and x.shape[0] == self.n_models:
            return x
        raise ValueError(
            f"x must have shape (B, ...) or ({self.n_models}, B, ...), got {tuple(x.shape)}"
        )

    def select(self, members: Sequence[int] | int) -> "Stacked":
        """A new stack holding copies of the given members (an int gives a stack of one)."""
        idx = [members] if isinstance(members, int) else list(members)
        new = copy.deepcopy(self)
        with torch.no_grad():
            for p in new.parameters():
                p.data = p.data[idx].clone()
        new.n_models = len(idx)
        return new

    def init_members(self, seeds: Sequence[int]) -> None:
        """Initialize member m from ``seeds[m]`` (uniform +-1/sqrt(fan_in), like nn.Linear/GRU)."""
        if len(seeds) != self.n_models:
            raise ValueError(f"seeds must have {self.n_models} entries, got {len(seeds)}")
        with torch.no_grad():
            for m, seed in enumerate(seeds):
                g = torch.Generator().manual_seed(int(seed))
                for p in self.parameters():
                    fill = getattr(p, "_init", None)
                    if fill is not None:
                        p[m].copy_(fill(p[m].shape, g))


def _uniform_init(bound: float):
    return lambda shape, g: (2 * torch.rand(shape, generator=g) - 1) * bound


def _const_init(value: float):
    return lambda shape, g: torch.full(shape, value)


def _param(shape: tuple[int, ...], init) -> nn.Parameter:
    p = nn.Parameter(torch.zeros(shape))
    p._init = init  # read by Stacked.init_members
    return p


class StackedLinear(nn.Module):
    """M independent affine maps: (M, B, d_in) -> (M, B, d_out)."""

    def __init__(self, n_models: int, d_in: int, d_out: int):
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = _param((n_models, d_in, d_out), _uniform_init(bound))
        self.bias = _param((n_models, 1, d_out), _uniform_init(bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class StackedActivation(nn.Module):
    """ReLU, LeakyReLU (slope 0.01), PReLU (one learned slope per member, init 0.25) or Tanh."""

    def __init__(self, name: str, n_models: int):
        super().__init__()
        if name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")
        self.name = name
        if name == "prelu":
            self.slope = _param((n_models, 1, 1), _const_init(0.25))

    def forward(self, x: Tensor) -> Tensor:
        if self.name == "relu":
            return torch.relu(x)
        if self.name == "leaky_relu":
            return nn.functional.leaky_relu(x, 0.01)
        if self.name == "tanh":
            return torch.tanh(x)
        slope = self.slope.view(self.slope.shape[0], *([1] * (x.dim() - 1)))
        return torch.where(x >= 0, x, slope * x)


def _check_pos(**kw: int) -> None:
    for k, v in kw.items():
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{k} must be a positive integer, got {v!r}")


class StackedFCN(Stacked):
    """(w, d)-FCN of App. B: ``depth`` hidden layers of ``width`` units, then a linear output.

    Input (B, d_in) or (M, B, d_in); output logits (M, B, n_classes).

    Optional, per member (a value, or one per member): ``dropout`` rate p in [0, 1) after every
    hidden activation (in train mode each member draws its own mask and scales survivors by
    1/(1-p), as ``nn.Dropout``; identity in eval mode); ``init`` scheme and ``init_scale`` (see
    :meth:`init_scheme`). The defaults leave the model as before.
    """

    def __init__(
        self,
        d_in: int,
        *,
        width: int,
        depth: int,
        n_models: int = 1,
        activation: str = "relu",
        n_classes: int = 2,
        seeds: Sequence[int] | None = None,
        dropout: float | Sequence[float] = 0.0,
        init: str | Sequence[str] = "default",
        init_scale: float | Sequence[float] = 1.0,
    ):
        super().__init__()
        _check_pos(d_in=d_in, width=width, depth=depth, n_models=n_models, n_classes=n_classes)
        self.n_models = n_models
        self.dropout = _per_member("dropout", dropout, n_models)
        if not all(0 <= p < 1 for p in self.dropout):
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        dims = [d_in] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [StackedLinear(n_models, a, b), StackedActivation(activation, n_models)]
        layers.append(StackedLinear(n_models, width, n_classes))
        self.net = nn.Sequential(*layers)
        seeds = list(seeds if seeds is not None else range(n_models))
        self.init_members(seeds)
        self.init_scheme(seeds, init, init_scale)

    def init_scheme(
        self,
        seeds: Sequence[int],
        init: str | Sequence[str] = "default",
        scale: float | Sequence[float] = 1.0,
    ) -> None:
        """Re-draw member m's weights with scheme ``init[m]`` from ``seeds[m]``, times ``scale[m]``.

        ``"kaiming"``: W ~ N(0, 2 / fan_in) (He et al. 2015, ReLU gain); ``"xavier"``:
        W ~ N(0, 2 / (fan_in + fan_out)) (Glorot and Bengio 2010); both with zero biases (paper
        App. C.6 scales them by 0.1-10). ``"default"`` keeps the uniform +-1/sqrt(fan_in) draw and
        only scales its weights. Biases are never scaled."""
        schemes = _per_member("init", init, self.n_models)
        scales = _per_member("init_scale", scale, self.n_models)
        bad = [s for s in schemes if s not in INITS]
        if bad or not all(s > 0 for s in scales):
            raise ValueError(
                f"init must be in {INITS} and init_scale > 0, got {init!r}, {scale!r}"
            )
        linears = [m for m in self.net if isinstance(m, StackedLinear)]
        with torch.no_grad():
            for m, (seed, scheme, k) in enumerate(zip(seeds, schemes, scales)):
                g = torch.Generator().manual_seed(int(seed) + 7_777_777)
                for lin in linears:
                    fan_in, fan_out = lin.weight.shape[1:]
                    if scheme != "default":
                        std = math.sqrt(2 / (fan_in if scheme == "kaiming" else fan_in + fan_out))
                        lin.weight[m].copy_(torch.randn(fan_in, fan_out, generator=g) * std)
                        lin.bias[m].zero_()
                    lin.weight[m].mul_(k)

    def forward(self, x: Tensor) -> Tensor:
        h = self.expand_input(x, 2)
        if not self.training or not any(self.dropout):
            return self.net(h)
        keep = 1 - torch.tensor(self.dropout, dtype=h.dtype, device=h.device).view(-1, 1, 1)
        for layer in self.net:
            h = layer(h)
            if isinstance(layer, StackedActivation):  # after each hidden activation
                h = h * (torch.rand_like(h) < keep) / keep
        return h

    def select(self, members: Sequence[int] | int) -> "StackedFCN":
        new = super().select(members)
        idx = [members] if isinstance(members, int) else list(members)
        new.dropout = tuple(self.dropout[i] for i in idx)
        return new


def _per_member(name: str, value, n_models: int) -> tuple:
    """A value shared by all members, or one per member, as an ``n_models``-tuple."""
    if isinstance(value, (str, int, float)):
        return (value,) * n_models
    out = tuple(value)
    if len(out) != n_models:
        raise ValueError(
            f"{name} must be one value or {n_models} (one per member), got {len(out)}"
        )
    return out


class StackedCNN1d(Stacked):
    """(f, k, d) 1-D CNN of App. B: ``depth`` conv layers with ``filters`` filters of size
    ``kernel`` ('same' padding), a hidden FC layer of width d_in, and a linear output (as in the
    authors' code). Members run as groups of one grouped convolution.

    Input (B, d_in) or (M, B, d_in); output logits (M, B, n_classes).
    """

    def __init__(
        self,
        d_in: int,
        *,
        filters: int,
        kernel: int,
        depth: int,
        n_models: int = 1,
        activation: str = "relu",
        n_classes: int = 2,
        seeds: Sequence[int] | None = None,
    ):
        super().__init__()
        _check_pos(d_in=d_in, filters=filters, kernel=kernel, depth=depth, n_models=n_models)
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (for 'same' padding), got {kernel}")
        self.n_models, self.filters, self.kernel = n_models, filters, kernel
        self.conv_w = nn.ParameterList()
        self.conv_b = nn.ParameterList()
        for i in range(depth):
            c_in = 1 if i == 0 else filters
            bound = 1 / math.sqrt(c_in * kernel)
            self.conv_w.append(_param((n_models, filters, c_in, kernel), _uniform_init(bound)))
            self.conv_b.append(_param((n_models, filters), _uniform_init(bound)))
        self.act = StackedActivation(activation, n_models)
        self.fc = StackedLinear(n_models, filters * d_in, d_in)
        self.out = StackedLinear(n_models, d_in, n_classes)
        self.init_members(seeds if seeds is not None else range(n_models))

    def forward(self, x: Tensor) -> Tensor:
        x = self.expand_input(x, 2)  # (M, B, d)
        M, B, d = x.shape
        h = x.unsqueeze(-1)  # (M, B, d, C): channels last, so each conv is one batched matmul
        pad = self.kernel // 2
        for w, b in zip(self.conv_w, self.conv_b):
            c_in = w.shape[2]
            patches = nn.functional.pad(h, (0, 0, pad, pad)).unfold(2, self.kernel, 1)
            patches = patches.reshape(M, B * d, c_in * self.kernel)  # (M, B*d, C*k)
            h = torch.baddbmm(
                b.unsqueeze(1), patches, w.reshape(M, self.filters, -1).transpose(1, 2)
            )
            h = self.act(h.view(M, B, d, self.filters))
        return self.out(self.act(self.fc(h.reshape(M, B, d * self.filters))))


class StackedGRU(Stacked):
    """(h, l, d)-GRU of App. B: a ``depth``-layer GRU with hidden size ``hidden`` reading the
    d_in-dimensional input as d_in/l steps of ``input_len`` values; the last hidden state goes
    through a linear output. PyTorch's GRU equations, batched over members.

    Input (B, d_in) or (M, B, d_in); output logits (M, B, n_classes).
    """

    def __init__(
        self,
        d_in: int,
        *,
        hidden: int,
        input_len: int,
        depth: int,
        n_models: int = 1,
        n_classes: int = 2,
        seeds: Sequence[int] | None = None,
    ):
        super().__init__()
        _check_pos(d_in=d_in, hidden=hidden, input_len=input_len, depth=depth, n_models=n_models)
        if d_in % input_len:
            raise ValueError(f"input_len must divide d_in={d_in}, got {input_len}")
        self.n_models, self.hidden, self.input_len = n_models, hidden, input_len
        bound = 1 / math.sqrt(hidden)
        self.w_ih, self.w_hh = nn.ParameterList(), nn.ParameterList()
        self.b_ih, self.b_hh = nn.ParameterList(), nn.ParameterList()
        for i in range(depth):
            c_in = input_len if i == 0 else hidden
            self.w_ih.append(_param((n_models, c_in, 3 * hidden), _uniform_init(bound)))
            self.w_hh.append(_param((n_models, hidden, 3 * hidden), _uniform_init(bound)))
            self.b_ih.append(_param((n_models, 1, 1, 3 * hidden), _uniform_init(bound)))
            self.b_hh.append(_param((n_models, 1, 3 * hidden), _uniform_init(bound)))
        self.out = StackedLinear(n_models, hidden, n_classes)
        self.init_members(seeds if seeds is not None else range(n_models))

    def forward(self, x: Tensor) -> Tensor:
        x = self.expand_input(x, 2)
        M, B, d = x.shape
        seq = x.reshape(M, B, d // self.input_len, self.input_len)  # (M, B, T, l)
        for w_ih, w_hh, b_ih, b_hh in zip(self.w_ih, self.w_hh, self.b_ih, self.b_hh):
            T = seq.shape[2]  # input projections of all steps in one batched matmul
            gi = torch.bmm(seq.reshape(M, B * T, -1), w_ih).view(M, B, T, -1) + b_ih
            h = x.new_zeros(M, B, self.hidden)
            outs = []
            for t in range(gi.shape[2]):
                gh = torch.baddbmm(b_hh, h, w_hh)
                i_r, i_z, i_n = gi[:, :, t].chunk(3, dim=-1)
                h_r, h_z, h_n = gh.chunk(3, dim=-1)
                r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
                h = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
                outs.append(h)
            seq = torch.stack(outs, dim=2)
        return self.out(h)


class Single(nn.Module):
    """An ordinary model seen as a stack of one member, so that one trainer serves both.

    ``forward``: (1, B, *shape) -> logits (1, B, C) (the member axis is always present). The
    parameters keep their own shapes; ``lead(p)`` is the (1, *shape) member view of one.
    """

    n_models = 1

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    @staticmethod
    def lead(t: Tensor) -> Tensor:
        return t.unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        return self.module(x[0]).unsqueeze(0)


def is_stack(model: nn.Module) -> bool:
    """Whether ``model`` is a stack: it declares ``n_models`` members (a :class:`Stacked` model
    or a :class:`Single` wrapper), its parameters lead with the member axis, and it maps
    (M, B, ...) inputs to (M, B, C) logits."""
    return hasattr(model, "n_models")


def as_stack(model: nn.Module) -> nn.Module:
    """``model`` itself if it is a stack (:func:`is_stack`), else ``Single(model)``."""
    return model if is_stack(model) else Single(model)


class Member(nn.Module):
    """Member ``i`` of a stack as an ordinary model: (B, *shape) -> logits (B, C)."""

    def __init__(self, stack: Stacked, i: int):
        super().__init__()
        if not 0 <= i < stack.n_models:
            raise ValueError(f"i must be in [0, {stack.n_models}), got {i}")
        self.stack = stack.select(i)

    def forward(self, x: Tensor) -> Tensor:
        return self.stack(x)[0]
