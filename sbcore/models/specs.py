"""The paper's model notation, parsed into configs, and the builder of stacked models.

App. B writes models as ``(w,d)-FCN`` (width, depth), ``(f,k,d)-CNN`` (filters, kernel size,
depth) and ``(h,l,d)-GRU`` (hidden size, input length per step, depth).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .stacked import ACTIVATIONS, Stacked, StackedCNN1d, StackedFCN, StackedGRU

ARCHS = ("FCN", "CNN", "GRU")
_PATTERN = re.compile(r"^\((\d+(?:,\d+)*)\)-(FCN|CNN|GRU)$")


@dataclass(frozen=True)
class ModelSpec:
    """A synthetic-data model in the paper's notation, e.g. ``ModelSpec.parse("(100,2)-FCN")``.

    ``sizes``: (width, depth) for FCN, (filters, kernel, depth) for CNN, (hidden, input_len,
    depth) for GRU. ``activation`` applies to FCN and CNN (the GRU has its own gates).
    """

    arch: str
    sizes: tuple[int, ...]
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        want = 2 if self.arch == "FCN" else 3
        if len(self.sizes) != want or any(s < 1 for s in self.sizes):
            raise ValueError(
                f"sizes of a {self.arch} must be {want} positive integers, got {self.sizes}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")

    @classmethod
    def parse(cls, text: str, activation: str = "relu") -> "ModelSpec":
        """``"(100,2)-FCN"`` -> ModelSpec("FCN", (100, 2))."""
        m = _PATTERN.match(text.replace(" ", ""))
        if not m:
            raise ValueError(
                f"model must look like '(w,d)-FCN', '(f,k,d)-CNN' or '(h,l,d)-GRU', got {text!r}"
            )
        return cls(m.group(2), tuple(int(s) for s in m.group(1).split(",")), activation)

    @property
    def label(self) -> str:
        return f"({','.join(map(str, self.sizes))})-{self.arch}"

    @property
    def depth(self) -> int:
        return self.sizes[-1]

    def build(self, d_in: int, *, seeds: Sequence[int], n_classes: int = 2) -> Stacked:
        """A stack of ``len(seeds)`` members for d_in-dimensional inputs, member m seeded by seeds[m]."""
        n = len(seeds)
        if self.arch == "FCN":
            w, d = self.sizes
            return StackedFCN(
                d_in,
                width=w,
                depth=d,
                n_models=n,
                activation=self.activation,
                n_classes=n_classes,
                seeds=seeds,
            )
        if self.arch == "CNN":
            f, k, d = self.sizes
            return StackedCNN1d(
                d_in,
                filters=f,
                kernel=k,
                depth=d,
                n_models=n,
                activation=self.activation,
                n_classes=n_classes,
                seeds=seeds,
            )
        h, l, d = self.sizes
        return StackedGRU(
            d_in, hidden=h, input_len=l, depth=d, n_models=n, n_classes=n_classes, seeds=seeds
        )


# The six architectures of Table 4 (synthetic rows).
TABLE4_MODELS = (
    "(100,1)-FCN",
    "(100,2)-FCN",
    "(32,7,1)-CNN",
    "(32,7,2)-CNN",
    "(100,10,1)-GRU",
    "(100,10,2)-GRU",
)
