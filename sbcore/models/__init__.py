"""Models: stacked synthetic-data models (FCN, 1-D CNN, GRU) and the CIFAR-style image zoo."""

from .specs import TABLE4_MODELS, ModelSpec
from .stacked import Member, Single, Stacked, StackedCNN1d, StackedFCN, StackedGRU, as_stack

__all__ = [
    "ModelSpec",
    "TABLE4_MODELS",
    "Member",
    "Single",
    "as_stack",
    "Stacked",
    "StackedFCN",
    "StackedCNN1d",
    "StackedGRU",
]
