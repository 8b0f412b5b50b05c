"""Rerun chapters as resumable jobs on Dask, and pool their claim records into one scoreboard.

``python -m sbcore reproduce --scale paper --seeds 0 1 2 --chapters 02`` makes one job per
(chapter, seed, scale). A job's folder, ``<out>/<chapter>/seed<seed>/``, holds its executed
notebook, its ``records/`` and ``manifest.json`` (config, commit, versions, device, times, status
``running``/``done``/``failed`` and the failing cell). Jobs run on ``dask.distributed``: a
``LocalCluster`` on 127.0.0.1 sized to the machine, or an existing cluster by address. A job whose
manifest says ``done`` for the same config and commit is skipped, so an interrupted call is resumed
by running it again. ``scoreboard.md``/``.json`` pool only the done jobs of this call's config and
commit (``pool_mixed`` pools every done job and says so); verdicts are recomputed from the values.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .jobs import (Job, _mark_failed, describe_failure, pool_config, preset_rows,  # noqa: F401 (re-exported)
                   read_jobs, run_job, write_scoreboard)
from .runtime import project_root, source_commit
from .scales import resolve_scale

SEED_LIMIT = 2**31  # seeds live in [0, 2^31): what every generator the chapters seed accepts
def chapter_paths(chapters: Sequence[str] | None, book_dir: Path) -> list[Path]:
    """Notebooks of the book whose name starts with one of ``chapters`` (None: all). Empty,
    unknown or repeated prefixes (two naming the same notebook) raise ValueError."""
    nbs = sorted(p for p in book_dir.glob("[0-9][0-9]_*.ipynb"))
    if chapters is None:
        return nbs
    if not chapters or any(not str(c).strip() for c in chapters):
        raise ValueError(f"--chapters needs non-empty prefixes such as 02, got {list(chapters)}")
    out: list[Path] = []
    for c in chapters:
        hits = [p for p in nbs if p.stem.startswith(c)]
        if not hits:
            raise ValueError(f"chapters must be prefixes of {[p.stem for p in nbs]}, got {c!r}")
        twice = [p.stem for p in hits if p in out]
        if twice:
            raise ValueError(f"--chapters names {twice[0]} twice (prefix {c!r})")
        out += hits
    return out


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` as ints, each in [0, 2^31) and given once; else ValueError."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("--seeds needs at least one seed")
    for s in seeds:
        if not 0 <= s < SEED_LIMIT:
            raise ValueError(f"seed {s} is outside [0, 2^31)")
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"--seeds repeats a seed: {seeds}")
    return seeds


def check_params(params: Sequence[str]) -> list[str]:
    """``"name=value"`` strings with an identifier before the first ``=``, each name once."""
    out, names = [], set()
    for p in params:
        name, eq, _ = str(p).partition("=")
        if not eq or not name.isidentifier():
            raise ValueError(f"--param must look like NAME=VALUE, got {p!r}")
        if name in names or name in ("scale", "seed", "strict", "device"):
            raise ValueError(f"--param {name} is given twice or set by its own option")
        names.add(name)
        out.append(str(p))
    return out


def check_out(out: Path) -> Path:
    """Create ``out`` if needed and prove it writable; a file or an unwritable folder raises."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test."):
            pass
    except OSError as e:
        raise ValueError(f"--out {out} is not writable ({e.strerror or e})") from None
    return out


def local_layout(n_jobs: int, workers: int | None, device: str) -> tuple[int, int, list[str]]:
    """(workers, torch threads per job, GPU ids) for a LocalCluster on this machine: one worker
    per GPU when there are GPUs (and ``device`` allows), else one per core; the cores are shared
    out so that the jobs together never use more threads than there are cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    gpus: list[str] = []
    if device != "cpu":
        import torch
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = [g for g in visible.split(",") if g.strip()] if visible else None
        n_gpus = torch.cuda.device_count()
        gpus = (ids or [str(i) for i in range(n_gpus)])[:n_gpus]
    n = workers or len(gpus) or cores
    n = max(1, min(n, n_jobs))
    return n, max(1, cores // n), gpus


@contextmanager
def dask_client(n_jobs: int, *, workers: int | None = None, scheduler: str | None = None,
                scheduler_file: str | None = None, device: str = "auto") -> Iterator[tuple]:
    """(client, job options) for an existing cluster (``scheduler`` address or ``scheduler_file``)
    or a fresh LocalCluster on 127.0.0.1 (worker processes of one thread each), closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler or scheduler_file:
        client = Client(scheduler, timeout="30s") if scheduler else \
            Client(scheduler_file=scheduler_file, timeout="30s")
        try:
            yield client, {"threads": None, "gpus": ()}  # the cluster's own setup pins its workers
        finally:
            client.close()
        return
    n, threads, gpus = local_layout(n_jobs, workers, device)
    import logging
    environ = dict(os.environ)  # distributed's nannies set variables here for their children
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client, {"threads": threads, "gpus": tuple(gpus)}
    finally:
        client.close()
        cluster.close()
        os.environ.clear()
        os.environ.update(environ)


@dataclass
class Outcome:
    """What a ``run`` did: the output folder, the jobs run, skipped (done before) and failed."""

    out: Path
    ran: list[str]
    skipped: list[str]
    failed: list[str]


def run(scale: str | None, seeds: Sequence[int], chapters: Sequence[str] | None = None, *,
        out_dir: Path | str | None = None, strict: bool = False, device: str = "auto",
        workers: int | None = None, scheduler: str | None = None, scheduler_file: str | None = None,
        force: bool = False, pool_mixed: bool = False, params: Sequence[str] = (),
        log: Callable[[str], None] = print) -> Outcome:
    """Run every (chapter, seed) job not already done, on Dask, then write the scoreboard.

    ``params``: extra notebook parameters as ``"name=value"`` strings, passed to every job (e.g.
    ``method=mypackage.mymodule:my_method`` for the testbed chapter); the chapter's ``start``
    rejects a name it does not have before anything trains.

    Every input is checked and every existing manifest and records file under the output folder
    is parsed before any job starts (ValueError naming what is wrong). A job done at this commit
    and settings is skipped; one done at another commit is rerun; one done with other settings
    (scale, device, strict) raises instead of being overwritten. ``force`` reruns them all.
    ``strict=False`` (the default here) lets a job finish and record "not reproduced". A failed
    job is reported with its failing cell and does not stop the others."""
    scale = resolve_scale(scale)
    seeds = check_seeds(seeds)
    params = check_params(params)
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if workers is not None and (scheduler or scheduler_file):
        raise ValueError("--workers sizes a local cluster; an existing cluster (--scheduler) has its own")
    root = project_root(Path(__file__).parent)
    notebooks = chapter_paths(chapters, root / "book")
    out = check_out(Path(out_dir) if out_dir else root / "_build" / "reproduce" / scale)
    commit = source_commit(root)
    done_before = {(m["config"].get("chapter"), m["config"].get("seed"),
                    tuple(m["config"].get("params") or ())): m
                   for m in read_jobs(out) if m["status"] == "done"}
    todo, skipped, clash = [], [], []
    for nb in notebooks:
        for seed in seeds:
            job = Job(nb.stem, seed, scale, strict, device, tuple(params))
            old = done_before.get((job.chapter, seed, job.params))
            if force or not old:
                todo.append((job, nb))
            elif {"params": [], **old["config"]} != json.loads(json.dumps(asdict(job))):
                # never overwrite finished work of other settings
                clash.append(f"{job.name} ({', '.join(f'{k} {v}' for k, v in pool_config(old['config']).items())})")
            elif old["commit"] == commit:
                skipped.append(job.name)
            else:
                todo.append((job, nb))
    if clash:
        raise ValueError(f"{out} holds finished jobs of other settings: {'; '.join(clash)}; "
                         "use another --out, or --force to replace them")
    if skipped:
        log(f"skipping {len(skipped)} job(s) already done at commit {commit}: {', '.join(skipped)}")
    failed: list[str] = []
    if todo:
        failed = _run_jobs(todo, out, commit=commit, workers=workers, scheduler=scheduler,
                           scheduler_file=scheduler_file, device=device, log=log)
    write_scoreboard(out, commit=commit, config={"scale": scale, "strict": strict, "device": device,
                                                 "params": list(params)},
                     pool_mixed=pool_mixed, log=log)
    return Outcome(out, [j.name for j, _ in todo], skipped, failed)


def _run_jobs(todo: list, out: Path, *, commit: str, log: Callable[[str], None], **cluster) -> list[str]:
    """Submit the jobs, print progress as they end; returns the names of the failed ones. On an
    interrupt, the cluster is closed and every job of this call left "running" is marked failed."""
    from distributed import as_completed

    failed: list[str] = []
    n_done = 0
    try:
        with dask_client(len(todo), **cluster) as (client, opts):
            futures = {client.submit(run_job, job, str(out), notebook=str(nb), commit=commit,
                                     pure=False, key=f"sbcore-{job.chapter}-seed{job.seed}-{os.getpid()}-{time.time_ns()}",
                                     **opts): job for job, nb in todo}
            log(f"running {len(todo)} job(s) on {len(client.scheduler_info()['workers'])} Dask worker(s)")
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    m = fut.result()
                except Exception as e:  # the worker died (out of memory, killed): the job failed
                    m = {"status": "failed", "error": {"ename": type(e).__name__, "evalue": str(e)}}
                    _mark_failed(job.folder(out), m["error"])
                if m["status"] == "done":
                    n_done += 1
                    note = f"done in {m.get('seconds')} s"
                else:
                    failed.append(job.name)
                    note = f"FAILED at {describe_failure(m)} (see {job.folder(out)})"
                busy = client.processing().values()  # assigned tasks; a worker runs one at a time
                running = sum(min(len(v), 1) for v in busy)
                log(f"[{n_done} done, {running} running, {len(failed)} failed of {len(todo)}] "
                    f"{job.name}: {note}")
    finally:
        for job, _ in todo:  # interrupted: nothing of this call may stay "running" (never "done")
            _mark_failed(job.folder(out), {"ename": "Interrupted", "evalue": "the run was stopped"},
                         only_running=True)
    return failed


