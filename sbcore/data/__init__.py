"""Data: the synthetic slab datasets (generated, never downloaded) and image dominoes."""

from .synthetic import (
    SyntheticData,
    from_name,
    make_adv_ms,
    make_lms,
    make_lsn,
    make_ms,
    make_ms_k,
    random_rotation,
    randomize,
)

__all__ = [
    "SyntheticData",
    "from_name",
    "make_lms",
    "make_ms",
    "make_ms_k",
    "make_lsn",
    "make_adv_ms",
    "randomize",
    "random_rotation",
]
