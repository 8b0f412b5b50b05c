"""Every check a chapter can make, declared once with the paper's printed value, its source, the
criterion and why that tolerance (one module per chapter's claims). ``CHECKS``: key -> Check."""

from __future__ import annotations

import importlib
import pkgutil

from .base import KINDS, Check, criterion_text, passes

CHECKS: dict[str, Check] = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name == "base":
        continue
    for _check in importlib.import_module(f"{__name__}.{_info.name}").CHECKS:
        if _check.key in CHECKS:
            raise ValueError(f"check {_check.key!r} is declared twice")
        CHECKS[_check.key] = _check

__all__ = ["CHECKS", "Check", "KINDS", "criterion_text", "passes"]
