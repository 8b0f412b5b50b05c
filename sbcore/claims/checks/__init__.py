"""Every check a chapter can make, declared once with the paper's printed value, its source, the
criterion and why that tolerance (one module per chapter's claims, naming its ``CHAPTER``).
``CHECKS``: key -> Check; ``CHAPTER_CHECKS``: chapter -> the keys it must record (run or not run);
``TOPIC``: key -> the module that declares it (a key's first word is its module's name)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import KINDS, Check, criterion_text, passes

CHECKS: dict[str, Check] = {}
CHAPTER_CHECKS: dict[str, tuple[str, ...]] = {}
TOPIC: dict[str, str] = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name == "base":
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _check in _module.CHECKS:
        if _check.key in CHECKS:
            raise ValueError(f"check {_check.key!r} is declared twice")
        CHECKS[_check.key] = _check
        TOPIC[_check.key] = _info.name
    CHAPTER_CHECKS[_module.CHAPTER] = CHAPTER_CHECKS.get(_module.CHAPTER, ()) + tuple(
        c.key for c in _module.CHECKS
    )

__all__ = ["CHECKS", "CHAPTER_CHECKS", "TOPIC", "Check", "KINDS", "criterion_text", "passes"]
