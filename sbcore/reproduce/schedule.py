"""Rerun chapters as resumable jobs on Dask, and pool their claim records into one scoreboard.

``python -m sbcore reproduce --scale paper --seeds 0 1 2 --chapters 02`` makes one job per
(chapter, seed, scale). A job's folder, ``<out>/<chapter>/seed<seed>/``, holds its executed
notebook, its ``records/`` and ``manifest.json`` (config, commit, versions, device, times, status
``running``/``done``/``failed`` and the failing cell). Jobs run on ``dask.distributed``: a
``LocalCluster`` on 127.0.0.1 sized to the machine, or an existing cluster by address. A job whose
manifest says ``done`` for the same config and commit is skipped, so an interrupted call is resumed
by running it again; an unfinished job continues from its fits' checkpoints (:mod:`sbcore.checkpoints`).
Each running job gets a line, at most every 30 s: which fit, how far, the time left.
``scoreboard.md``/``.json`` pool only the done jobs of this call's config and commit
(``pool_mixed`` pools every done job and says so); verdicts are recomputed from the values.

One run at a time per output folder: a second run on a folder that a live run holds stops at once
with :class:`ReproduceError` naming the folder and that run's pid, and never touches its jobs (the
lock, ``<out>/.reproduce.lock``, dies with its process, so a crashed run leaves none behind). An
existing cluster must answer within ``connect_timeout`` seconds (a ``scheduler_file`` that does not
exist yet is waited for as long, since a batch script may start the scheduler beside this run), and
a cluster left without any worker for ``no_worker_timeout`` seconds stops the run; both raise
ReproduceError in one line, and jobs left ``running`` are marked failed, so a rerun resumes them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ..checkpoints import PROGRESS_NAME, Watch
from ..runtime import project_root, source_commit
from ..scales import resolve_scale
from .jobs import (
    CHECKPOINTS,
    Job,
    ReproduceError,
    _mark_failed,
    describe_failure,
    folder_lock,
    pool_config,
    read_jobs,
    run_job,
    write_scoreboard,
)

if TYPE_CHECKING:  # for annotations only: distributed is imported where it is used
    import distributed

SEED_LIMIT = 2**31  # seeds live in [0, 2^31): what every generator the chapters seed accepts
CONNECT_TIMEOUT_S = 30.0  # for an existing scheduler to answer (and its scheduler file to appear)
NO_WORKER_TIMEOUT_S = 60.0  # a cluster with no worker this long stops the run (0: wait for ever)
POLL_S = 1.0  # how often the worker count (and the jobs' progress files) are checked
PROGRESS_EVERY_S = 30.0  # a running job's progress line at most this often


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
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
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


def connect(
    scheduler: str | None,
    scheduler_file: str | None,
    *,
    timeout: float = CONNECT_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> "distributed.Client":
    """A ``distributed.Client`` of the scheduler at ``scheduler`` or the one ``scheduler_file``
    names. A scheduler file that does not exist (or is half written) is waited for up to
    ``timeout`` seconds, then the scheduler gets ``timeout`` seconds to answer. Past either
    deadline, ReproduceError in one line names the file or address; a malformed address raises
    ValueError."""
    from distributed import Client

    where = scheduler
    if scheduler_file:
        path, deadline = Path(scheduler_file).expanduser(), time.monotonic() + timeout
        if not path.is_file():
            log(f"waiting up to {timeout:g} s for the scheduler file {path}")
        while True:
            try:
                scheduler = str(json.loads(path.read_text())["address"])
                break
            except (OSError, ValueError, KeyError, TypeError) as e:
                if time.monotonic() > deadline:
                    why = (
                        "does not exist"
                        if not path.exists()
                        else f"names no scheduler address ({e})"
                    )
                    raise ReproduceError(
                        f"--scheduler-file {path} {why} after {timeout:g} s of waiting "
                        "(see --connect-timeout)"
                    ) from None
                time.sleep(0.2)
        where = f"{scheduler} (from {path})"
    try:
        return Client(scheduler, timeout=timeout)
    except ValueError as e:
        raise ValueError(f"--scheduler {where}: {e}") from None
    except OSError as e:  # distributed's "Timed out trying to connect", caused by the real reason
        why = (str(e.__cause__ or e).split(">: ", 1)[-1].splitlines() or [type(e).__name__])[0]
        raise ReproduceError(
            f"no Dask scheduler answered at {where} within {timeout:g} s ({why}; "
            "see --connect-timeout)"
        ) from None


def workers_alive(client: "distributed.Client") -> int:
    """How many workers the scheduler knows now (0 when it cannot be asked)."""
    try:
        return len(client.nthreads())
    except Exception:  # the scheduler went away: no worker can run a job either
        return 0


@contextmanager
def dask_client(
    n_jobs: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    device: str = "auto",
    connect_timeout: float = CONNECT_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> Iterator[tuple]:
    """(client, job options) for an existing cluster (``scheduler`` address or ``scheduler_file``,
    see :func:`connect`) or a fresh LocalCluster on 127.0.0.1 (worker processes of one thread
    each), closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler or scheduler_file:
        client = connect(scheduler, scheduler_file, timeout=connect_timeout, log=log)
        try:
            yield client, {"threads": None, "gpus": ()}  # the cluster's own setup pins its workers
        finally:
            client.close()
        return
    n, threads, gpus = local_layout(n_jobs, workers, device)
    import logging

    environ = dict(os.environ)  # distributed's nannies set variables here for their children
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=0,
        silence_logs=logging.ERROR,
    )
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


def run(
    scale: str | None,
    seeds: Sequence[int],
    chapters: Sequence[str] | None = None,
    *,
    out_dir: Path | str | None = None,
    strict: bool = False,
    device: str = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    force: bool = False,
    pool_mixed: bool = False,
    params: Sequence[str] = (),
    connect_timeout: float = CONNECT_TIMEOUT_S,
    no_worker_timeout: float = NO_WORKER_TIMEOUT_S,
    checkpoint_every: float | None = None,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Run every (chapter, seed) job not already done, on Dask, then write the scoreboard.

    ``params``: extra notebook parameters as ``"name=value"`` strings, passed to every job (e.g.
    ``method=mypackage.mymodule:my_method`` for the testbed chapter); the chapter's ``start``
    rejects a name it does not have before anything trains.

    Every input is checked and every existing manifest and records file under the output folder
    is parsed before any job starts (ValueError naming what is wrong). A job done at this commit
    and settings is skipped; one done at another commit is rerun; one done with other settings
    (scale, device, strict) raises instead of being overwritten. ``force`` reruns them all from
    scratch; else an unfinished job resumes from its checkpoints, taken every ``checkpoint_every``
    s of training (None: the default of :mod:`sbcore.checkpoints`; 0: every epoch).
    ``strict=False`` (the default here) lets a job finish and record "not reproduced". A failed
    job is reported with its failing cell and does not stop the others.

    The output folder is locked for the whole call (:func:`folder_lock`): while another live run
    holds it, ReproduceError. ``connect_timeout``: seconds an existing cluster gets to answer (and
    its scheduler file to appear); ``no_worker_timeout``: seconds without any worker before the run
    stops with ReproduceError (0: wait for ever); jobs left running are then marked failed."""
    scale = resolve_scale(scale)
    seeds = check_seeds(seeds)
    params = check_params(params)
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if workers is not None and (scheduler or scheduler_file):
        raise ValueError(
            "--workers sizes a local cluster; an existing cluster (--scheduler) has its own"
        )
    if checkpoint_every is not None and not checkpoint_every >= 0:
        raise ValueError(f"--checkpoint-every must be >= 0 seconds, got {checkpoint_every:g}")
    if not connect_timeout > 0 or not no_worker_timeout >= 0:
        raise ValueError(
            f"--connect-timeout must be > 0 and --no-worker-timeout >= 0, got "
            f"{connect_timeout:g} and {no_worker_timeout:g}"
        )
    root = project_root(Path(__file__).parent)
    notebooks = chapter_paths(chapters, root / "book")
    out = check_out(Path(out_dir) if out_dir else root / "_build" / "reproduce" / scale)
    with folder_lock(out):  # before reading anything there: another run may be writing it
        commit = source_commit(root)
        done_before = {
            (
                m["config"].get("chapter"),
                m["config"].get("seed"),
                tuple(m["config"].get("params") or ()),
            ): m
            for m in read_jobs(out)
            if m["status"] == "done"
        }
        todo, skipped, clash = [], [], []
        for nb in notebooks:
            for seed in seeds:
                job = Job(nb.stem, seed, scale, strict, device, tuple(params))
                old = done_before.get((job.chapter, seed, job.params))
                if force or not old:
                    todo.append((job, nb))
                elif {"params": [], **old["config"]} != json.loads(json.dumps(asdict(job))):
                    # never overwrite finished work of other settings
                    clash.append(
                        f"{job.name} ({', '.join(f'{k} {v}' for k, v in pool_config(old['config']).items())})"
                    )
                elif old["commit"] == commit:
                    skipped.append(job.name)
                else:
                    todo.append((job, nb))
        if clash:
            raise ValueError(
                f"{out} holds finished jobs of other settings: {'; '.join(clash)}; "
                "use another --out, or --force to replace them"
            )
        if skipped:
            log(
                f"skipping {len(skipped)} job(s) already done at commit {commit}: {', '.join(skipped)}"
            )
        failed: list[str] = []
        if todo:
            failed = _run_jobs(
                todo,
                out,
                commit=commit,
                workers=workers,
                scheduler=scheduler,
                scheduler_file=scheduler_file,
                device=device,
                log=log,
                connect_timeout=connect_timeout,
                no_worker_timeout=no_worker_timeout,
                fresh=force,
                checkpoint_every=checkpoint_every,
            )
        write_scoreboard(
            out,
            commit=commit,
            config={"scale": scale, "strict": strict, "device": device, "params": list(params)},
            pool_mixed=pool_mixed,
            log=log,
        )
        return Outcome(out, [j.name for j, _ in todo], skipped, failed)


def _run_jobs(
    todo: list,
    out: Path,
    *,
    commit: str,
    log: Callable[[str], None],
    no_worker_timeout: float = NO_WORKER_TIMEOUT_S,
    fresh: bool = False,
    checkpoint_every: float | None = None,
    **cluster,
) -> list[str]:
    """Submit the jobs, print progress as they end (and :func:`progress_lines` while they run);
    returns the names of the failed ones. ``fresh``: their checkpoints removed first. On an
    interrupt, or when the cluster has had no worker for ``no_worker_timeout`` seconds (0: never
    stop; ReproduceError), the cluster is closed and every job of this call left "running" is
    marked failed."""
    from distributed import wait

    failed: list[str] = []
    n_done = 0
    watch = Watch(PROGRESS_EVERY_S, since=time.time() - 1)  # files of earlier runs are not news
    stop = {"ename": "Interrupted", "evalue": "the run was stopped"}
    try:
        with dask_client(len(todo), log=log, **cluster) as (client, opts):
            futures = {
                client.submit(
                    run_job,
                    job,
                    str(out),
                    notebook=str(nb),
                    commit=commit,
                    fresh=fresh,
                    checkpoint_every=checkpoint_every,
                    pure=False,
                    key=f"sbcore-{job.chapter}-seed{job.seed}-{os.getpid()}-{time.time_ns()}",
                    **opts,
                ): job
                for job, nb in todo
            }
            log(
                f"running {len(todo)} job(s) on {len(client.scheduler_info()['workers'])} Dask worker(s)"
            )
            pending, idle_since = list(futures), None
            while pending:
                try:
                    wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                if workers_alive(client):
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                    if no_worker_timeout:
                        log(
                            f"the Dask cluster has no worker: stopping in {no_worker_timeout:g} s "
                            "unless one joins"
                        )
                elif no_worker_timeout and time.monotonic() - idle_since > no_worker_timeout:
                    stop = {
                        "ename": "NoWorkers",
                        "evalue": f"the Dask cluster had no worker for {no_worker_timeout:g} s",
                    }
                    raise ReproduceError(
                        f"the Dask cluster at {client.scheduler.address} has had no worker for "
                        f"{no_worker_timeout:g} s; stopped with {len(pending)} job(s) unfinished (any "
                        "that had started are marked failed): start workers and run the same "
                        "command again to resume (see --no-worker-timeout)"
                    )
                for line in progress_lines(watch, [futures[f] for f in pending], out):
                    log(line)
                for fut in [f for f in pending if f.done()]:
                    pending.remove(fut)
                    job = futures[fut]
                    try:
                        m = fut.result()
                    except (
                        Exception
                    ) as e:  # the worker died (out of memory, killed): the job failed
                        m = {
                            "status": "failed",
                            "error": {"ename": type(e).__name__, "evalue": str(e)},
                        }
                        _mark_failed(job.folder(out), m["error"])
                    if m["status"] == "done":
                        n_done += 1
                        note = f"done in {m.get('seconds')} s"
                    else:
                        failed.append(job.name)
                        note = f"FAILED at {describe_failure(m)} (see {job.folder(out)})"
                    busy = (
                        client.processing().values()
                    )  # assigned tasks; a worker runs one at a time
                    running = sum(min(len(v), 1) for v in busy)
                    log(
                        f"[{n_done} done, {running} running, {len(failed)} failed of {len(todo)}] "
                        f"{job.name}: {note}"
                    )
    finally:
        for job, _ in todo:  # stopped: nothing of this call may stay "running" (never "done")
            _mark_failed(job.folder(out), stop, only_running=True)
    return failed


def progress_lines(watch: Watch, jobs: Sequence[Job], out: Path) -> list[str]:
    """The progress lines due for ``jobs`` (those that changed, at most one per job every
    ``watch.every`` s), read from the progress files their fits write in ``checkpoints/``."""
    return watch.lines({job.name: job.folder(out) / CHECKPOINTS / PROGRESS_NAME for job in jobs})
