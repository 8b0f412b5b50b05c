"""A chapter's Run: its validated settings, seeds and device, and the records it makes.

``sbcore.start("02_extreme_sb_slabs", scale=scale, seed=seed, ...)`` (see
:func:`sbcore.chapters.start`) resolves the chapter's preset, coerces and validates every knob
(with the parameter named and the allowed values), rejects names the chapter does not have
(papermill only warns about them), seeds everything, picks the device and shows the settings. The
Run then owns ``check``, ``not_run``, ``glue``, ``table`` and ``finish``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import time
import types
import typing
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from ..runtime import (
    DEVICES,
    member_seeds,
    pick_device,
    records_dir,
    run_metadata,
    seed_everything,
)
from ..scales import resolve_scale
from . import display
from .checks import CHECKS
from .checks.base import Bar, PerField
from .records import ClaimNotReproduced, ClaimRecord, record_counts, save_records

STANDARD = ("scale", "seed", "device", "strict", "progress")
MAX_SEED = 2**31
# Names IPython and papermill put in a kernel's namespace that are not parameters.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open", "sbcore"}


# ---------------------------------------------------------------- parameters


def _parse_bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be a boolean (True/False, or 'true'/'false'), got {value!r}")


def _coerce(name: str, value, tp) -> Any:
    """``value`` as the annotated type ``tp`` (papermill passes ints, floats, strings, lists)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(name, value, arg)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0])
    if tp is bool:
        return _parse_bool(name, value)
    if tp is int:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        ):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    if origin is tuple:
        items = [value] if isinstance(value, (str, int, float)) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"{name} must be a list of values, got {value!r}")
        args = typing.get_args(tp)
        inner = args[0] if args else str
        return tuple(_coerce(name, v, inner) for v in items)
    if origin in (Mapping, collections.abc.Mapping, dict):
        if not isinstance(value, Mapping):
            raise ValueError(
                f"{name} must be a mapping (e.g. {{'(100,10,1)-GRU': 'Adam lr 1e-3'}}), "
                f"got {value!r}"
            )
        key_tp, value_tp = typing.get_args(tp) or (str, str)
        return {_coerce(name, k, key_tp): _coerce(name, v, value_tp) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and not isinstance(value, tp):
        raise ValueError(f"{name} must be a {tp.__name__}, got {value!r}")
    return value


def knob_types(config_cls: type, knobs: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """Every knob a chapter accepts: name -> (dotted path in the config, annotated type)."""
    hints = typing.get_type_hints(config_cls)
    out = {f.name: (f.name, hints[f.name]) for f in dataclasses.fields(config_cls)}
    for name, path in knobs.items():
        owner, attr = path.split(".")
        out[name] = (path, typing.get_type_hints(hints[owner])[attr])
    return out


def apply_overrides(preset, overrides: Mapping[str, Any], knobs: Mapping[str, str]):
    """The preset with every override applied (coerced to its type; None means "keep")."""
    types_ = knob_types(type(preset), knobs)
    top, nested = {}, {}
    for name, value in overrides.items():
        if value is None:
            continue
        path, tp = types_[name]
        value = _coerce(name, value, tp)
        if "." in path:
            owner, attr = path.split(".")
            nested.setdefault(owner, {})[attr] = value
        else:
            top[name] = value
    for owner, changes in nested.items():
        knobs_of = [n for n in overrides if n in knobs and knobs[n].startswith(owner + ".")]
        try:
            top[owner] = dataclasses.replace(top.get(owner, getattr(preset, owner)), **changes)
        except ValueError as e:  # name the knob the reader set, not the nested field
            raise ValueError(f"{', '.join(knobs_of)} ({owner}): {e}") from None
    return dataclasses.replace(preset, **top)


def injected_names(namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The user variables of a notebook's namespace: parameters and whatever papermill injected
    (``-p``, ``-f params.yaml`` or ``reproduce``), without IPython's own names and modules."""
    if not namespace:
        return {}
    return {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_")
        and k not in _KERNEL_NAMES
        and not isinstance(v, (types.ModuleType, types.FunctionType, type))
    }


# ---------------------------------------------------------------- the Run


class Run:
    """One execution of a chapter (see the module docstring). Build it with ``sbcore.start``."""

    def __init__(
        self,
        chapter: str,
        cfg,
        *,
        scale: str,
        seed: int,
        device: torch.device,
        strict: bool,
        progress: bool,
        summary: Sequence[str] = (),
        overrides: Mapping[str, Any] | None = None,
    ):
        self.chapter, self.cfg, self.scale, self.seed = chapter, cfg, scale, seed
        # the settings that differ from the scale's preset (seed included), saved with the records
        self.overrides = dict(overrides or {})
        self.device, self.strict, self.progress = device, strict, progress
        n = getattr(cfg, "n_seeds", 1)
        self.seeds = member_seeds(seed, n)
        self.records: list[ClaimRecord] = []
        self.started = time.time()
        self._summary = summary

    @classmethod
    def create(
        cls,
        chapter: str,
        presets: Mapping[str, Any],
        *,
        knobs: Mapping[str, str] = {},
        summary: Sequence[str] = (),
        namespace: Mapping[str, Any] | None = None,
        **params,
    ) -> "Run":
        """Resolve, validate and seed; ``namespace``: the notebook's globals, to catch names
        papermill injected that the chapter does not have."""
        config_cls = type(next(iter(presets.values())))
        allowed = sorted(set(STANDARD) | set(knob_types(config_cls, knobs)))
        extra = {k: v for k, v in injected_names(namespace).items() if k not in params}
        unknown = sorted(set(params) - set(allowed)) + sorted(k for k in extra if k not in allowed)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for chapter {chapter}; allowed: {allowed}"
            )
        params = {**extra, **params}
        scale = resolve_scale(params.pop("scale", None))
        seed = params.pop("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
            raise ValueError(f"seed must be an integer in [0, 2**31), got {seed!r}")
        device = params.pop("device", "auto")
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        strict = _parse_bool("strict", params.pop("strict", True))
        progress = _parse_bool("progress", params.pop("progress", True))
        cfg = apply_overrides(presets[scale], params, knobs)
        preset = _flatten(dataclasses.asdict(presets[scale]))
        changed = {
            k: v for k, v in _flatten(dataclasses.asdict(cfg)).items() if preset.get(k) != v
        }
        if seed != 0:
            changed["seed"] = seed
        seed_everything(seed)
        run = cls(
            chapter,
            cfg,
            scale=scale,
            seed=seed,
            device=pick_device(device),
            strict=strict,
            progress=progress,
            summary=summary,
            overrides=changed,
        )
        run.show_settings()
        return run

    # ------------------------------------------------------------ display

    def settings(self) -> list[dict]:
        rows = [
            {"setting": "scale", "value": self.scale},
            {"setting": "seed", "value": self.seed},
            {"setting": "member seeds", "value": self.seeds},
            {"setting": "device", "value": str(self.device)},
            {"setting": "strict", "value": self.strict},
        ]
        for k, v in _flatten(dataclasses.asdict(self.cfg)).items():
            rows.append({"setting": k, "value": f"{v:g}" if isinstance(v, float) else v})
        return rows

    def show_settings(self) -> str:
        flat = _flatten(dataclasses.asdict(self.cfg))
        knobs = [
            f"{k} {flat[k]:,}" if isinstance(flat[k], int) else f"{k} {flat[k]}"
            for k in self._summary
            if k in flat
        ]
        head = [
            f"{self.scale} scale",
            f"{len(self.seeds)} seed{'s' * (len(self.seeds) > 1)}",
            str(self.device),
        ]
        return display.show_settings(", ".join(head + knobs), self.settings())

    def table(
        self, rows: Sequence[dict], columns: Sequence[str] | None = None, *, digits: int = 3
    ) -> None:
        """Show ``rows`` as a table (:func:`sbcore.claims.display.show_table`); returns None."""
        display.show_table(rows, columns, digits=digits)

    def glue(self, name: str, value: Any) -> None:
        """Glue ``value`` for the prose; returns None, so a figure glued by a cell's last line is
        never shown a second time as the cell's output."""
        display.glue(name, value)

    # ------------------------------------------------------------ records

    def check(
        self,
        key: str,
        values,
        *,
        data: str,
        known: bool = False,
        target: float | None = None,
        tol: float | None = None,
        n=None,
        n_seeds: int = 1,
        printed: float | None = None,
        learned=None,
        learned_metric: str = "test accuracy",
        **fmt,
    ) -> ClaimRecord:
        """Record check ``key`` (declared in the registry) on ``values`` (one per seed).

        ``learned``: the measured models' standard ``learned_metric`` (one per seed or member),
        required exactly when the check declares a learned precondition (the record then fails
        as *did not train* if any is below it); ``data``: what it was measured on; ``known``: the
        check's declared known deviation
        applies to this measurement (e.g. only on the image stand-in); ``fmt`` fills the
        quantity's template and is kept in the record's meta. With ``strict`` a failing record
        that is not a known deviation raises :class:`ClaimNotReproduced`. A check whose target or
        tol is a :class:`~sbcore.claims.checks.base.Bar` takes the sample size ``n`` (and
        ``n_seeds``, ``printed`` where its bar says so) instead."""
        c = self._check(key)
        bar = next((b for b in (c.target, c.tol) if isinstance(b, Bar)), None)
        if (n is None) != (bar is None):
            raise ValueError(
                f"check {key}: pass n= (the sample size of its bar) exactly when the registry "
                f"declares a bar"
            )
        if bar is not None:
            which = "target" if bar is c.target else "tol"
            c = dataclasses.replace(c, **{which: bar(n, n_seeds, printed)})
        elif printed is not None or n_seeds != 1:
            raise ValueError(f"check {key}: n_seeds= and printed= go with a bar's n=")
        if isinstance(c.target, PerField):
            if c.target.field not in fmt:
                raise ValueError(f"check {key}: pass {c.target.field}= (its target is per value)")
            c = dataclasses.replace(c, target=c.target(fmt[c.target.field]))
        for name, given, declared in (("target", target, c.target), ("tol", tol, c.tol)):
            if (given is None) != (declared is not None):
                raise ValueError(
                    f"check {key}: pass {name}= exactly when the registry leaves it "
                    f"to the run (declared {name} = {declared!r})"
                )
        c = dataclasses.replace(
            c,
            target=c.target if target is None else float(target),
            tol=c.tol if tol is None else float(tol),
        )
        if known and not c.known_deviation:
            raise ValueError(f"check {key} declares no known deviation")
        if (learned is None) != (c.learned is None):
            raise ValueError(
                f"check {key}: pass learned= (the models' standard accuracy or AUC) "
                f"exactly when the registry declares a learned precondition "
                f"(declared learned = {c.learned!r})"
            )
        meta = {k: v for k, v in fmt.items()}
        if bar is not None:  # the sample the bar was taken at, for against_registry to retake it
            meta["bar_sample"] = {
                "n": list(n) if isinstance(n, tuple) else n,
                "n_seeds": n_seeds,
                "printed": printed,
            }
        if learned is not None:
            meta["learned"] = {
                "metric": learned_metric,
                "min": c.learned,
                "values": [
                    float(v)
                    for v in torch.as_tensor(learned, dtype=torch.float64).reshape(-1).tolist()
                ],
            }
        if c.fact:
            meta["fact"] = True
        if c.erratum:
            meta["erratum"] = True
        if known:
            meta["known_deviation"] = c.known_deviation
        vals = [
            float(v) for v in torch.as_tensor(values, dtype=torch.float64).reshape(-1).tolist()
        ]
        rec = self._record(c, vals, data, meta, fmt)
        if self.strict and not rec.passed and not known and not c.erratum:
            raise ClaimNotReproduced(
                f"claim #{c.claim} not reproduced: {rec.quantity} on {data} = {rec.ours}, "
                f"criterion {rec.criterion} (paper: {c.paper}, {c.source}). "
                "Rerun with strict=False to explore."
            )
        return rec

    def checks(
        self,
        values: Mapping[str, Any],
        *,
        data: str,
        learned=None,
        learned_metric: str = "test accuracy",
        **fmt,
    ) -> list[ClaimRecord]:
        """:meth:`check` every ``key -> values`` of ``values`` with the same ``data`` and ``fmt``;
        ``learned`` (an array, or a mapping key -> array) goes to the checks that declare a
        learned precondition, and to no other."""
        out = []
        for key, v in values.items():
            pre = None
            if self._check(key).learned is not None:
                pre = learned.get(key) if isinstance(learned, Mapping) else learned
            out.append(
                self.check(key, v, data=data, learned=pre, learned_metric=learned_metric, **fmt)
            )
        return out

    def not_run(self, key: str, reason: str, *, data: str, **fmt) -> ClaimRecord:
        """Record that this scale does not run check ``key`` (the claim then reads "partly
        checked", never "reproduced" on the strength of the checks that did run)."""
        c = self._check(key)
        c = dataclasses.replace(
            c,
            target=c.target if isinstance(c.target, (int, float)) else float("nan"),
            tol=c.tol if isinstance(c.tol, (int, float)) else 0.0,
        )
        return self._record(c, [], data, {**fmt, "not_run": reason}, fmt)

    def _check(self, key: str):
        if key not in CHECKS:
            raise KeyError(f"no check {key!r} in the registry (sbcore/claims/checks/)")
        return CHECKS[key]

    def _record(self, c, values, data, meta, fmt) -> ClaimRecord:
        rec = ClaimRecord(
            claim=c.claim,
            check=c.key,
            quantity=c.quantity.format(**fmt),
            values=values,
            paper=c.paper,
            source=c.source,
            kind=c.kind,
            target=c.target,
            tol=c.tol,
            upper=c.upper,
            rationale=c.rationale,
            data=data,
            scale=self.scale,
            chapter=self.chapter,
            meta=meta,
        )
        self.records.append(rec)
        return rec

    def finish(self) -> Path:
        """Show the records, glue their counts and save them (with run metadata) as JSON."""
        display.show_table(
            [r.row() for r in self.records],
            ["claim", "quantity", "data", "paper", "ours", "criterion", "verdict"],
        )
        prefix = self.chapter[:2]
        self.glue(f"{prefix}_n_records", len(self.records))
        self.glue(
            f"{prefix}_n_reproduced",
            sum(r.passed and not (r.fact or r.erratum) for r in self.records),
        )
        meta = run_metadata(
            scale=self.scale,
            seed=self.seed,
            seeds=self.seeds,
            device=self.device,
            config=dataclasses.asdict(self.cfg),
        )
        meta.update(
            chapter=self.chapter,
            seconds=round(time.time() - self.started, 1),
            overrides=self.overrides,
            strict=self.strict,
            **record_counts(self.records),
        )
        return save_records(self.records, records_dir() / f"{self.chapter}.json", metadata=meta)


def auc_precondition(ev) -> dict:
    """The learned precondition of a reliance check as :meth:`Run.check`'s keywords: the
    measured models' standard test AUC (``ev.auc``, e.g. a RandomizedEval), one per seed."""
    return {"learned": ev.auc, "learned_metric": "test AUC"}


def _flatten(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
