"""Checkpoints of one :func:`sbcore.train.fit`: a stopped training continues bit for bit.

A checkpoint holds what the next epoch reads: the model's parameters and buffers (live weights,
also of stopped members), the optimizer's buffers, step count and learning rates, the stopping
rule's epochs and saved weights, the random states (batch order, torch's global CPU generator,
which dropout uses, x's CUDA device's) and the History so far. It is written at an epoch's end,
atomically (a temporary file in the same folder, then ``os.replace``), and read with
``torch.load(weights_only=True)``: nothing in it runs. When the fit ends it is rewritten as *done*
(final weights, History, random states): a fit that finds a done file restores it, no training.
A file belongs to one fit by its :func:`fingerprint`; another fit's raises ValueError naming it.

With ``SBCORE_CHECKPOINT_DIR`` set (reproduce sets it per job) and no checkpoint passed, fit call k
of the process checkpoints to ``fit-<k>-<fingerprint hash>.pt`` there every :data:`AUTO_SECONDS`
s of training (longer where a save is slow: saving takes at most :data:`AUTO_SHARE` of the time;
``SBCORE_CHECKPOINT_SECONDS`` sets another interval, 0: every epoch) and keeps ``progress.json``
beside it (at most every :data:`PROGRESS_SECONDS` s), which :class:`Watch` reads for the driver.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from .runtime import atomic_write_text

FORMAT = 1
ENV_DIR, ENV_SECONDS = "SBCORE_CHECKPOINT_DIR", "SBCORE_CHECKPOINT_SECONDS"
AUTO_SECONDS = 30.0  # automatic checkpoints: at the first epoch end this long after the last save
AUTO_SHARE = 0.02  # ... or longer, so that saving takes at most 2 % of the training time
PROGRESS_SECONDS = 5.0  # progress.json is rewritten at most this often
PROGRESS_NAME = "progress.json"
_calls = 0  # fit calls of this process (automatic checkpoints are named by it)
_last_progress = float("-inf")  # when this process last wrote a progress file


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or does not hold a checkpoint (the message names it)."""


@dataclass(frozen=True)
class Checkpoint:
    """Where and how often :func:`sbcore.train.fit` checkpoints: at the end of an epoch once
    ``every`` epochs or ``seconds`` of training (None: never so) have passed since the last save,
    and at the end; ``share`` stretches ``seconds`` to the last save's duration / ``share`` (saving
    takes at most that share of the time). ``progress``: a JSON file of the fit's progress."""

    path: str | os.PathLike
    every: int | None = 1
    seconds: float | None = None
    share: float | None = None
    progress: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        if self.every is not None and (
            isinstance(self.every, bool) or int(self.every) != self.every or self.every < 1
        ):
            raise ValueError(f"every must be an integer >= 1 or None, got {self.every!r}")
        if self.seconds is not None and not self.seconds >= 0:
            raise ValueError(f"seconds must be >= 0 or None, got {self.seconds!r}")
        if self.share is not None and not 0 < self.share <= 1:
            raise ValueError(f"share must be in (0, 1] or None, got {self.share!r}")


def _digest(tensors) -> str:
    """A digest of tensor values that survives reruns: each sum (10 digits) and 64 sampled values."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach()
        flat = t.reshape(-1)
        idx = torch.linspace(
            0, max(flat.numel() - 1, 0), min(64, flat.numel()), device=t.device
        ).long()
        h.update(f"{float(t.sum(dtype=torch.float64)):.10g}|".encode())
        h.update(flat[idx].double().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def fingerprint(
    model: nn.Module, x: Tensor, y: Tensor, cfg: Any, *, seed: int, **extra: Any
) -> dict:
    """What makes a checkpoint this fit's own: model class, names, shapes and dtypes of its
    parameters and buffers, a digest of the initial weights; x's and y's shapes, dtypes and value
    digests; device type, ``cfg``, M, seed and ``extra`` (callables by name, e.g. the callback)."""

    def name(f: Any) -> str:
        return (
            f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', type(f).__qualname__)}"
        )

    shapes = [[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]
    data = {
        n: {"shape": list(t.shape), "dtype": str(t.dtype), "digest": _digest([t])}
        for n, t in (("x", x), ("y", y))
    }
    fp = {
        "format": FORMAT,
        "model": type(model).__qualname__,
        "M": int(getattr(model, "n_models", 1)),
        "tensors": shapes,
        "init": _digest(model.parameters()),
        **data,
        "device": x.device.type,
        "config": asdict(cfg),
        "seed": int(seed),
        **{
            k: v if isinstance(v, (int, float, str, type(None), tuple)) else name(v)
            for k, v in extra.items()
        },
    }
    return json.loads(json.dumps(fp))  # tuples as lists: what a reloaded fingerprint holds


def _differences(old: dict, new: dict, pre: str = "") -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        both = isinstance(a, dict) and isinstance(b, dict)
        out += _differences(a, b, f"{pre}{k}.") if both else [pre + k] * (a != b)
    return out


def _write(path: Path, payload: dict) -> None:
    """torch.save to a temporary file in ``path``'s folder, flushed to disk, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> dict:
    """The checkpoint at ``path`` (weights_only: nothing in it runs); CheckpointError names a file
    that does not load or holds no checkpoint."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        why = (str(e).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {why}); "
            "delete it to train this fit afresh"
        ) from e
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT
        or "fingerprint" not in payload
    ):
        raise CheckpointError(
            f"checkpoint {path} holds no sbcore checkpoint of format {FORMAT}; "
            "delete it to train this fit afresh"
        )
    return payload


def _plain(value: Any, where: str) -> Any:
    """``value`` as weights_only loads it (tensors, numbers, strings, lists, tuples, str-keyed
    dicts; numpy scalars become Python numbers); anything else raises TypeError naming it."""
    if isinstance(value, (list, tuple)):
        return (list if isinstance(value, list) else tuple)(
            _plain(v, f"{where}[{i}]") for i, v in enumerate(value)
        )
    if isinstance(value, dict):
        if any(type(k) is not str for k in value):
            raise TypeError(f"{where} has a key that is no str: a checkpoint keeps str keys only")
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Tensor) or type(value) in (int, float, bool, str, type(None)):
        return value
    raise TypeError(
        f"{where} is a {type(value).__name__}: a checkpointed fit keeps only tensors, "
        "numbers, strings, lists and dicts (return e.g. .tolist())"
    )


def _optimizer_state(opt) -> dict:
    bufs = {
        k: getattr(opt, k)
        for k in ("buf", "exp_avg", "exp_avg_sq", "square_avg")
        if getattr(opt, k, None) is not None
    }
    return {
        "buffers": bufs,
        "n_steps": opt.n_steps,
        "step_t": opt.step_t,
        "lr": list(opt.lr_values),
    }


@torch.no_grad()
def _load_optimizer_state(opt, state: dict) -> None:
    for k, saved in state["buffers"].items():
        for t, s in zip(getattr(opt, k), saved, strict=True):
            t.copy_(s)
    opt.n_steps = int(state["n_steps"])
    opt.step_t.copy_(state["step_t"])
    opt.set_lr(state["lr"])


def _rng_state(device: torch.device) -> dict:
    return {
        "cpu": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


class Session:
    """The checkpointing of one fit call: :meth:`resume` at its start, :meth:`after_epoch` at the
    end of each epoch, :meth:`finish` once it has ended (final weights restored)."""

    def __init__(
        self,
        ckpt: Checkpoint,
        fp: dict,
        model: nn.Module,
        device: torch.device,
        *,
        call: int,
        desc: str,
    ):
        self.ckpt, self.fp, self.model, self.device = ckpt, fp, model, device
        self.path, self.call, self.desc = Path(ckpt.path), call, desc
        self.done, self.wrote_progress, self.cost, self.evals = False, False, 0.0, []

    def resume(self, opt, stop, gen: torch.Generator, hist) -> int | None:
        """Restore the saved state, if any: the first epoch to train, or None when the saved fit
        had ended (its final weights, History and random states are then restored)."""
        self.opt, self.stop, self.gen, self.hist = opt, stop, gen, hist
        if self.path.exists():
            self._restore(load(self.path))
        self.t0 = self.last_save = time.perf_counter()
        self.first, self.u0 = len(hist.loss) + 1, hist.n_updates
        self.last_epoch = len(hist.loss)
        self.progress("done" if self.done else "training")
        return None if self.done else self.first

    def _restore(self, payload: dict) -> None:
        old = json.loads(payload["fingerprint"])
        if old != self.fp:
            raise ValueError(
                f"checkpoint {self.path} belongs to another fit (it differs in "
                f"{', '.join(_differences(old, self.fp))}); delete it or checkpoint "
                "this fit elsewhere"
            )
        try:
            self.model.load_state_dict(payload["model"])
            h = payload["history"]
            self.hist.loss[:] = h["loss"]
            self.hist.evals[:] = h["evals"]
            self.hist.n_updates, self.hist.seconds = int(h["n_updates"]), float(h["seconds"])
            self.stop.epochs[:] = h["stopped_epoch"]  # the History's list too
            self.done = bool(payload["done"])
            if not self.done:
                _load_optimizer_state(self.opt, payload["optimizer"])
                self.stop.saved = {
                    int(m): [t.to(self.device) for t in ts]
                    for m, ts in payload["stop_saved"].items()
                }
                self.gen.set_state(payload["rng"]["batches"])
            _set_rng_state(payload["rng"], self.device)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(
                f"checkpoint {self.path} is incomplete ({type(e).__name__}: "
                f"{e}); delete it to train this fit afresh"
            ) from e
        self.evals = list(self.hist.evals)

    def _payload(self, done: bool) -> dict:
        h = self.hist
        self.evals += [_plain(e, "the callback's result") for e in h.evals[len(self.evals) :]]
        history = {
            "loss": h.loss,
            "evals": self.evals,
            "n_updates": h.n_updates,
            "stopped_epoch": list(h.stopped_epoch),
            "seconds": h.seconds if done else h.seconds + time.perf_counter() - self.t0,
        }
        out = {
            "format": FORMAT,
            "fingerprint": json.dumps(self.fp, sort_keys=True),
            "done": done,
            "epoch": len(h.loss),
            "model": self.model.state_dict(),
            "history": history,
            "rng": _rng_state(self.device),
        }
        if not done:  # what only a continued training needs
            out["optimizer"] = _optimizer_state(self.opt)
            out["stop_saved"] = {str(m): ts for m, ts in self.stop.saved.items()}
            out["rng"]["batches"] = self.gen.get_state()
        return out

    def after_epoch(self, last: bool) -> None:
        """Save if due (not after the last epoch: :meth:`finish` saves then); maybe progress."""
        epoch, c, now = len(self.hist.loss), self.ckpt, time.perf_counter()
        wait = None if c.seconds is None else max(c.seconds, self.cost / c.share if c.share else 0)
        due = (c.every is not None and epoch - self.last_epoch >= c.every) or (
            wait is not None and now - self.last_save >= wait
        )
        if due and not last:
            _write(self.path, self._payload(done=False))
            self.last_save, self.last_epoch = time.perf_counter(), epoch
            self.cost = self.last_save - now
        self.progress("training")

    def finish(self) -> None:
        """Save the ended fit (final weights, History, random states) as done."""
        _write(self.path, self._payload(done=True))
        self.progress("done", force=self.wrote_progress)  # never leave a stale "training"

    def progress(self, state: str, force: bool = False) -> None:
        """Rewrite the progress file (at most every PROGRESS_SECONDS per process, unless ``force``)."""
        global _last_progress
        if self.ckpt.progress is None or (
            not force and time.monotonic() - _last_progress < PROGRESS_SECONDS
        ):
            return
        h, cfg = self.hist, self.fp["config"]
        epochs, secs = len(h.loss) - self.first + 1, time.perf_counter() - self.t0
        eta = None
        if state == "training" and epochs > 0:  # from this session's epoch rate
            left = cfg["max_epochs"] - len(h.loss)
            per_epoch = (h.n_updates - self.u0) / epochs
            if cfg.get("max_updates") and per_epoch > 0:
                left = min(left, -(-(cfg["max_updates"] - h.n_updates) // per_epoch))
            eta = max(left, 0) * secs / epochs
        info = {
            "fit": self.call,
            "desc": self.desc,
            "state": state,
            "epoch": len(h.loss),
            "max_epochs": cfg["max_epochs"],
            "n_updates": h.n_updates,
            "max_updates": cfg.get("max_updates"),
            "members": self.fp["M"],
            "stopped": sum(1 for e in h.stopped_epoch if e),
            "resumed_at": self.first - 1,
            "eta_s": eta,
            "time": time.time(),
        }
        atomic_write_text(Path(self.ckpt.progress), json.dumps(info))
        _last_progress, self.wrote_progress = time.monotonic(), True


def start(
    checkpoint: Checkpoint | str | os.PathLike | bool | None,
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: Any,
    *,
    seed: int,
    desc: str,
    **extra: Any,
) -> Session | None:
    """The checkpoint :func:`sbcore.train.fit` uses: ``checkpoint`` (a path: every epoch), else the
    automatic one under ``$SBCORE_CHECKPOINT_DIR`` (``False``: none). Counts this fit call."""
    global _calls
    _calls += 1
    if checkpoint is False or (checkpoint is None and not os.environ.get(ENV_DIR)):
        return None
    if checkpoint is True:
        raise ValueError("checkpoint must be a Checkpoint, a path, None (automatic) or False")
    fp = fingerprint(model, x, y, cfg, seed=seed, **extra)
    if checkpoint is None:
        folder = Path(os.environ[ENV_DIR])
        key = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]
        chosen = os.environ.get(ENV_SECONDS)  # an interval chosen is kept, however slow a save
        try:
            seconds = float(chosen) if chosen else AUTO_SECONDS
        except ValueError:
            raise ValueError(
                f"{ENV_SECONDS} must be a number of seconds, got {chosen!r}"
            ) from None
        checkpoint = Checkpoint(
            folder / f"fit-{_calls}-{key}.pt",
            every=None,
            seconds=seconds,
            share=None if chosen else AUTO_SHARE,
            progress=folder / PROGRESS_NAME,
        )
    elif not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint)
    return Session(checkpoint, fp, model, x.device, call=_calls, desc=desc)


def _duration(s: float) -> str:
    s = int(round(s))
    return (
        f"{s}s"
        if s < 60
        else f"{s // 60}m{s % 60:02d}s"
        if s < 3600
        else f"{s // 3600}h{s % 3600 // 60:02d}m"
    )


def progress_line(job: str, info: Mapping) -> str:
    """One line for the terminal: the job, which fit (its desc), how far, the time left."""
    where = f"epoch {info.get('epoch')}/{info.get('max_epochs')}, {info.get('n_updates')}"
    where += f"/{info['max_updates']} updates" if info.get("max_updates") else " updates"
    if info.get("members", 1) > 1:
        where += f", {info.get('stopped', 0)}/{info['members']} members stopped"
    if info.get("state") == "done":
        when = "ended"
    elif info.get("eta_s") is None:
        when = f"resumed at epoch {info['resumed_at']}" if info.get("resumed_at") else "starting"
    else:
        when = f"at most {_duration(info['eta_s'])} left"
    return f"  {job}: fit {info.get('fit')} ({info.get('desc')}) {where}; {when}"


class Watch:
    """Progress lines of running jobs, from their progress files: a job's line is given when its
    file changed, at most every ``every`` seconds per job; files older than ``since`` (a time.time()
    value: an earlier run's) are ignored."""

    def __init__(self, every: float = 30.0, since: float = 0.0, clock: Callable = time.monotonic):
        self.every, self.since, self.clock = every, since, clock
        self.shown: dict[str, tuple[float, str]] = {}

    def lines(self, files: Mapping[str, Path]) -> list[str]:
        out = []
        for job, path in files.items():
            try:
                if Path(path).stat().st_mtime < self.since:
                    continue
                info = json.loads(Path(path).read_text())
                line = progress_line(job, info)
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                continue  # not there yet, or not ours
            last = self.shown.get(job)
            if last is not None and (last[1] == line or self.clock() - last[0] < self.every):
                continue
            self.shown[job] = (self.clock(), line)
            out.append(line)
        return out
