"""Reruns of the book's chapters as resumable jobs (``python -m sbcore reproduce``), in three
modules:

- :mod:`.schedule`: plans the jobs (chapters, seeds, parameters, output folder), starts or connects
  the Dask client and runs the loop, with progress lines and the pooled scoreboard at the end;
- :mod:`.jobs`: one job (a notebook run in its own folder with a manifest and checkpoints), the
  output folder's lock, reading the jobs back and the scoreboard of the finished ones;
- :mod:`.readme`: the README's results table from a recorded scoreboard
  (``python -m sbcore.reproduce.readme``; imported on its own, not here).

The names below are handed on, so ``from sbcore import reproduce; reproduce.run(...)`` works. To
replace one (a test's monkeypatch), replace it where the code looks it up: in :mod:`.schedule` or
:mod:`.jobs`, not here.
"""

from .jobs import (
    CHECKPOINTS,
    Job,
    ReproduceError,
    clear_job_folder,
    describe_failure,
    folder_lock,
    pool_config,
    preset_rows,
    read_jobs,
    run_job,
    write_scoreboard,
)
from .schedule import (
    CONNECT_TIMEOUT_S,
    NO_WORKER_TIMEOUT_S,
    SEED_LIMIT,
    Outcome,
    chapter_paths,
    check_out,
    check_params,
    check_seeds,
    connect,
    dask_client,
    local_layout,
    progress_lines,
    run,
    source_commit,
    workers_alive,
)

__all__ = [
    "CHECKPOINTS",
    "CONNECT_TIMEOUT_S",
    "NO_WORKER_TIMEOUT_S",
    "SEED_LIMIT",
    "Job",
    "Outcome",
    "ReproduceError",
    "chapter_paths",
    "check_out",
    "check_params",
    "check_seeds",
    "clear_job_folder",
    "connect",
    "dask_client",
    "describe_failure",
    "folder_lock",
    "local_layout",
    "pool_config",
    "preset_rows",
    "progress_lines",
    "read_jobs",
    "run",
    "run_job",
    "source_commit",
    "workers_alive",
    "write_scoreboard",
]
