"""One reproduce job: a (chapter, seed, scale) run of a notebook with papermill in its own folder,
with a manifest (config, commit, versions, device, times, status, failing cell), and the pooled
scoreboard of finished jobs. :mod:`sbcore.reproduce.schedule` plans the jobs and fans them out on
Dask.

One run at a time owns an output folder: :func:`folder_lock` holds ``<out>/.reproduce.lock``
(``fcntl.flock``, released by the OS when its process ends, however it ends) while a run plans,
runs and pools its jobs; a second run on that folder stops with :class:`ReproduceError` naming the
folder and the process holding it, before it reads or removes anything there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .. import claims
from ..checkpoints import ENV_DIR, ENV_SECONDS, PROGRESS_NAME
from ..runtime import atomic_write_text

_VERSIONED = ("torch", "numpy", "scikit-learn", "papermill", "nbclient", "dask", "distributed")
LOCK_NAME = (
    ".reproduce.lock"  # in the output folder; holds "pid N on HOST since TIME" of its owner
)
CHECKPOINTS, OWNER = (
    "checkpoints",
    "job.json",
)  # a job's checkpoints, and whose they are (config, commit)


class ReproduceError(RuntimeError):
    """A run that cannot start or go on (its folder is in use, no scheduler answers, the cluster
    has no worker), said in one line that names the folder, file or address."""


@contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Own the output folder ``out`` for the ``with`` block: an exclusive, non-blocking
    ``flock`` on ``<out>/.reproduce.lock``. If another process holds it, raise ReproduceError
    naming ``out`` and that process (pid and host). The lock goes with its process (also a killed
    one), so it is never stale; the file itself stays and is reused."""
    import fcntl

    fd = os.open(Path(out) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip() or "pid not yet written"
            raise ReproduceError(
                f"{out} is in use by another reproduce run ({holder}); wait for it "
                "to end, or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {_now()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass(frozen=True)
class Job:
    """One chapter notebook run at one scale and seed: the unit that is scheduled and resumed."""

    chapter: str  # notebook stem, e.g. "01_datasets_and_metrics"
    seed: int
    scale: str
    strict: bool = False
    device: str = "auto"
    params: tuple[str, ...] = ()  # extra notebook parameters, "name=value" (e.g. a testbed method)

    @property
    def name(self) -> str:
        extra = f" ({', '.join(self.params)})" if self.params else ""
        return f"{self.chapter} seed {self.seed}{extra}"

    def folder(self, out: Path) -> Path:
        """``<out>/<chapter>/seed<seed>``, with a digest of the extra parameters when there are
        any, so that runs of different parameters (methods) never share a folder."""
        tag = (
            "-" + hashlib.sha256("\n".join(self.params).encode()).hexdigest()[:8]
            if self.params
            else ""
        )
        return Path(out) / self.chapter / f"seed{self.seed}{tag}"

    def parameters(self) -> dict:
        """The papermill parameters of this job; extra values are read as YAML (``n_train=4000``
        gives an int, ``method=pkg.mod:fn`` a string), as ``papermill -p`` reads them."""
        import yaml

        extra = {k: yaml.safe_load(v) for k, v in (p.split("=", 1) for p in self.params)}
        return {
            "scale": self.scale,
            "seed": self.seed,
            "strict": self.strict,
            "device": self.device,
            **extra,
        }


def pool_config(config: dict) -> dict:
    """What runs pooled into one scoreboard must share: everything but the chapter and seed."""
    return {
        k: (list(config.get(k) or []) if k == "params" else config.get(k))
        for k in ("scale", "strict", "device", "params")
    }  # a config without params had none


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _kernel_manager(env: dict, cwd: str, stderr):
    """A kernel manager class whose kernels start in ``cwd`` with ``env`` added to the worker's
    environment (so no process's own ``os.environ`` is ever changed), writing their own log
    (not the notebook's output) to the file object ``stderr``."""
    from jupyter_client import AsyncKernelManager

    class JobKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**kw.get("env", os.environ), **env}
            kw.setdefault("cwd", cwd)
            kw.setdefault("stderr", stderr)
            return await super()._async_pre_start_kernel(**kw)

    return JobKernelManager


def _worker_gpu(gpus: Sequence[str]) -> str | None:
    """The GPU of this Dask worker: LocalCluster names its workers 0..n-1, one per GPU."""
    if not gpus:
        return None
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        name = 0
    return gpus[int(name) % len(gpus)] if str(name).isdigit() else gpus[0]


def _error(e: BaseException) -> dict:
    """What failed: papermill's failing cell (index, execution count, exception) or the exception."""
    import papermill as pm

    if isinstance(e, pm.PapermillExecutionError):
        return {
            "cell_index": e.cell_index,
            "execution_count": e.exec_count,
            "ename": e.ename,
            "evalue": str(e.evalue)[:2000],
        }
    if isinstance(e, KeyboardInterrupt):
        return {"ename": "KeyboardInterrupt", "evalue": "interrupted"}
    return {"ename": type(e).__name__, "evalue": str(e)[:2000]}


def describe_failure(manifest: dict) -> str:
    """``cell 4 (In [3]): ValueError: ...`` for a failed job's manifest."""
    err = manifest.get("error") or {}
    where = (
        f"cell {err['cell_index']} (In [{err.get('execution_count')}]): "
        if err.get("cell_index") is not None
        else ""
    )
    lines = str(err.get("evalue") or "").splitlines()
    return f"{where}{err.get('ename', '?')}: {lines[0][:300] if lines else ''}"


def clear_job_folder(folder: Path, owner: dict, *, fresh: bool = False) -> Path:
    """Empty a job's folder for a (re)run, but for an earlier try's checkpoints of the same job
    config and commit (``owner``, kept in ``checkpoints/job.json``) unless ``fresh``: a rerun never
    mixes with anything else an earlier try left. Returns the checkpoints folder."""
    ckpts = folder / CHECKPOINTS
    try:
        keep = not fresh and json.loads((ckpts / OWNER).read_text()) == owner
    except (OSError, ValueError):
        keep = False
    for p in [p for p in folder.iterdir() if p != ckpts] if keep else [folder]:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    (ckpts / PROGRESS_NAME).unlink(missing_ok=True)  # an earlier try's: stale
    atomic_write_text(ckpts / OWNER, json.dumps(owner))
    return ckpts


def run_job(
    job: Job,
    out: str,
    *,
    notebook: str,
    commit: str,
    threads: int | None = None,
    gpus: Sequence[str] = (),
    fresh: bool = False,
    checkpoint_every: float | None = None,
) -> dict:
    """Run one job (on a Dask worker) and return its final manifest.

    The notebook runs through papermill into ``<chapter>.running.ipynb`` and is renamed to
    ``<chapter>.ipynb`` only once it finished and its records parse; otherwise it becomes
    ``<chapter>.failed.ipynb`` and the manifest says ``failed`` with the failing cell. So a half-run
    notebook never looks completed. ``threads``: torch/OpenMP threads for the kernel; ``gpus``: the
    GPU ids of a local cluster, one per worker (pinned with ``CUDA_VISIBLE_DEVICES``).

    Its fits checkpoint to ``checkpoints/`` (every ``checkpoint_every`` s of training; None: the
    default), so a rerun of an unfinished job (same config and commit) fast-forwards through the
    finished fits and resumes the stopped one; ``fresh`` removes them first, a done job's go."""
    import papermill as pm

    folder = job.folder(Path(out))
    ckpts = clear_job_folder(
        folder, {"config": json.loads(json.dumps(asdict(job))), "commit": commit}, fresh=fresh
    )
    (folder / "records").mkdir(parents=True)
    env = {
        "SBCORE_RECORDS_DIR": str(folder / "records"),
        "SBCORE_SCALE": job.scale,
        ENV_DIR: str(ckpts),
    }
    if checkpoint_every is not None:
        env[ENV_SECONDS] = f"{checkpoint_every:g}"
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    gpu = _worker_gpu(gpus)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    manifest = {
        "job": job.name,
        "config": asdict(job),
        "commit": commit,
        "status": "running",
        "started": _now(),
        "ended": None,
        "seconds": None,
        "versions": _versions(),
        "device": {
            "requested": job.device,
            "cuda_visible_devices": env.get(
                "CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES")
            ),
            "threads": threads,
            "host": socket.gethostname(),
            "worker": worker,
        },
        "notebook": None,
        "records": None,
        "error": None,
    }
    manifest_path = folder / "manifest.json"
    atomic_write_text(manifest_path, json.dumps(manifest, indent=1))
    running = folder / f"{job.chapter}.running.ipynb"
    start = time.perf_counter()
    kernel_log = open(folder / "kernel.log", "ab")
    try:
        pm.execute_notebook(
            notebook,
            str(running),
            progress_bar=False,
            parameters=job.parameters(),
            kernel_manager_class=_kernel_manager(env, str(Path(notebook).parent), kernel_log),
        )
        records = folder / "records" / f"{job.chapter}.json"
        if not records.is_file():
            raise RuntimeError(f"the notebook finished without writing {records}")
        recs = claims.load_records([records])
        os.replace(running, folder / f"{job.chapter}.ipynb")
        shutil.rmtree(ckpts, ignore_errors=True)
        manifest.update(
            status="done", notebook=f"{job.chapter}.ipynb", records=f"records/{job.chapter}.json"
        )
        manifest["device"]["used"] = recs[0].meta["run"].get("device") if recs else None
    except BaseException as e:
        manifest.update(status="failed", error=_error(e))
        if running.exists():
            os.replace(running, folder / f"{job.chapter}.failed.ipynb")
            manifest["notebook"] = f"{job.chapter}.failed.ipynb"
        if not isinstance(e, Exception):
            _finish(manifest, manifest_path, start)
            raise
    finally:
        kernel_log.close()
    return _finish(manifest, manifest_path, start)


def _finish(manifest: dict, path: Path, start: float) -> dict:
    manifest.update(ended=_now(), seconds=round(time.perf_counter() - start, 1))
    atomic_write_text(path, json.dumps(manifest, indent=1))
    return manifest


def read_jobs(out: Path) -> list[dict]:
    """Every job manifest under ``out``, each checked, with ``_folder`` and, for done jobs, their
    parsed ``_records``. A manifest or records file that does not parse, or a manifest whose records
    path resolves outside its job folder, raises ValueError naming it."""
    jobs = []
    for path in sorted(Path(out).glob("*/seed*/manifest.json")):
        try:
            m = json.loads(path.read_text())
            if m["status"] not in ("running", "done", "failed") or not isinstance(
                m["config"], dict
            ):
                raise ValueError(f"unknown status {m['status']!r}")
            m["commit"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"{path}: not a valid job manifest ({e}); delete its folder to rerun that job"
            ) from e
        m["_folder"] = path.parent
        if m["status"] == "done":
            records = path.parent / str(m.get("records"))
            if not records.resolve().is_relative_to(path.parent.resolve()):
                raise ValueError(
                    f"{path}: its records path {m.get('records')!r} points outside its "
                    "job folder; delete its folder to rerun that job"
                )
            m["_records"] = claims.load_records([records])
        jobs.append(m)
    return jobs


def _mark_failed(folder: Path, error: dict, *, only_running: bool = False) -> None:
    path = folder / "manifest.json"
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if only_running and m.get("status") != "running":
        return
    m.update(status="failed", error=m.get("error") or error, ended=m.get("ended") or _now())
    for nb in folder.glob("*.running.ipynb"):  # a half-run notebook must not pass for a result
        failed_nb = nb.with_name(nb.name.replace(".running.ipynb", ".failed.ipynb"))
        os.replace(nb, failed_nb)
        m["notebook"] = failed_nb.name
    atomic_write_text(path, json.dumps(m, indent=1))


def write_scoreboard(
    out: Path,
    *,
    commit: str,
    config: dict,
    pool_mixed: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Pool the done jobs under ``out`` of this ``commit`` and ``config`` (every done job if
    ``pool_mixed``) into ``scoreboard.md`` and ``scoreboard.json``; list the jobs left out."""
    done = [m for m in read_jobs(out) if m["status"] == "done"]
    mine = [m for m in done if m["commit"] == commit and pool_config(m["config"]) == config]
    pooled = done if pool_mixed else mine
    left_out = [] if pool_mixed else [m for m in done if m not in mine]
    recs = claims.merge([r for m in pooled for r in m["_records"]])
    board = claims.claim_rows(recs)
    runs = [
        {
            "chapter": m["config"]["chapter"],
            "seed": m["config"]["seed"],
            "commit": m["commit"],
            **{k: v for k, v in pool_config(m["config"]).items()},
            "seconds": m.get("seconds"),
        }
        for m in sorted(pooled, key=lambda m: (m["config"]["chapter"], m["config"]["seed"]))
    ]
    other = [
        {
            "chapter": m["config"].get("chapter"),
            "seed": m["config"].get("seed"),
            "commit": m["commit"],
            **pool_config(m["config"]),
        }
        for m in left_out
    ]
    mixed = len({(r["commit"], r["scale"], r["strict"], r["device"]) for r in runs}) > 1
    if left_out:
        log(
            f"left out {len(left_out)} done job(s) of another commit or config (pass --pool-mixed to "
            f"pool them): "
            + "; ".join(
                f"{o['chapter']} seed {o['seed']} ({o['commit']}, {o['scale']})" for o in other
            )
        )
    atomic_write_text(
        out / "scoreboard.json",
        json.dumps(
            {
                "commit": commit,
                "config": config,
                "mixed": mixed,
                "claims": board,
                "headlines": claims.headline_rows(board),
                "records": [{**r.to_json(), "mean": r.mean, "std": r.std} for r in recs],
                "runs": runs,
                "left_out": other,
            },
            indent=1,
            default=str,
        ),
    )
    cols = ["chapter", "seed", "commit", "scale", "device", "seconds"]
    head = (
        f"Pooled {len(runs)} run(s) of commit {commit} at scale {config['scale']} "
        f"(device {config['device']}, strict {config['strict']})."
    )
    if mixed:
        head = f"**Mixed runs** (pooled with --pool-mixed): {len(runs)} runs of several commits or configs; see the runs table."
    md = [
        "# Scoreboard",
        "",
        head,
        "",
        claims.markdown_table(board, ["claim", "title", "paper", "ours", "verdict", "chapter"]),
        "",
        "## Records (pooled over seeds)",
        "",
        claims.markdown_table(
            [r.row() for r in recs],
            ["claim", "quantity", "data", "paper", "ours", "criterion", "verdict"],
        ),
        "",
        "## Runs pooled",
        "",
        claims.markdown_table(runs, cols),
    ]
    if other:
        md += [
            "",
            "## Runs left out (another commit or config)",
            "",
            claims.markdown_table(other, cols[:-1]),
        ]
    return atomic_write_text(out / "scoreboard.md", "\n".join(md) + "\n")


def preset_rows() -> list[dict]:
    """Every chapter's knobs side by side at the three scales (differences only; nested recipes
    flattened as ``train.lr``)."""
    from ..chapters import chapter_names, module
    from ..claims.run import _flatten

    rows = []
    for chapter in chapter_names():
        presets = {s: _flatten(asdict(c)) for s, c in module(chapter).PRESETS.items()}
        for key in dict.fromkeys(k for p in presets.values() for k in p):  # set at any scale
            vals = {s: presets[s].get(key, "—") for s in ("smoke", "book", "paper")}  # — : unset
            if len({repr(v) for v in vals.values()}) > 1:
                rows.append(
                    {
                        "chapter": f"{{doc}}`{chapter}`",
                        "parameter": key,
                        **{s: _fmt(v) for s, v in vals.items()},
                    }
                )
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return ", ".join(map(str, v))
    return str(v)
