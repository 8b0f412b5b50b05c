"""Command line: ``python -m sbcore reproduce --scale S --seeds 0 1 2 --chapters 02``, and
``python -m sbcore recipes --out study.json ...`` (chapter 02's recipe study, the same options as
``python -m sbcore.experiments.recipes``; ``python -m sbcore recipes --help`` lists them).

Every (chapter, seed) is a job run on Dask (a local cluster sized to this machine, or an existing
cluster with --scheduler/--scheduler-file); rerunning the same command resumes: jobs already done
at this commit and config are skipped, and a job that did not finish continues from its last
checkpoint (--force starts every job afresh). While jobs run, a line per running job says at most
every 30 s which fit it trains, how far it got, and the time left. Results land in --out
(default _build/reproduce/<scale>).
One run at a time per --out folder: a second one stops at once, naming the run that holds it.

Exit status: 0 every job done, 1 some job failed, 2 a bad input, 3 the run could not start or go
on (--out in use by another run, no scheduler answered, the cluster had no worker), 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys

from . import reproduce
from .scales import SCALES


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad input in one line (no usage block) and exits with 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    if not 0 <= seed < reproduce.SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"seed {text} is outside [0, 2^31)")
    return seed


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return n


def _seconds(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        s = -1.0
    if not s >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return s


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m sbcore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rep = sub.add_parser(
        "reproduce", help="run chapters as resumable Dask jobs and write a scoreboard"
    )
    rep.add_argument(
        "--scale",
        choices=SCALES,
        default=None,
        help="preset scale (default: $SBCORE_SCALE, else book)",
    )
    rep.add_argument(
        "--seeds",
        type=_seed,
        nargs="+",
        default=[0],
        help="base seeds in [0, 2^31), one job per chapter and seed",
    )
    rep.add_argument(
        "--chapters",
        nargs="+",
        default=None,
        help="chapter prefixes such as 02 (default: every chapter)",
    )
    rep.add_argument(
        "--out",
        default=None,
        help="output folder (default: _build/reproduce/<scale>); "
        "one run at a time: a second run on it stops at once, naming the first",
    )
    rep.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    rep.add_argument("--strict", action="store_true", help="a claim that fails fails its job")
    where = rep.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="local cluster size (default: one per GPU, else one per core)",
    )
    where.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    where.add_argument(
        "--scheduler-file",
        default=None,
        help="scheduler file of an existing Dask cluster; one that does not exist yet "
        "is waited for up to --connect-timeout (a batch script may start the "
        "scheduler beside this run), then the run stops naming it",
    )
    rep.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=reproduce.CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help="how long an existing scheduler gets to answer, and its "
        "--scheduler-file to appear (default %(default)g)",
    )
    rep.add_argument(
        "--no-worker-timeout",
        type=_seconds,
        default=reproduce.NO_WORKER_TIMEOUT_S,
        metavar="SECONDS",
        help="stop when the cluster has had no worker this long; "
        "jobs it left running are marked failed and rerun next time (default "
        "%(default)g; 0 waits for ever, e.g. for workers queued on a batch system)",
    )
    rep.add_argument(
        "--force",
        action="store_true",
        help="rerun jobs that are already done, and every job from scratch (its "
        "checkpoints removed)",
    )
    rep.add_argument(
        "--checkpoint-every",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds of training between a fit's checkpoints, from which a job that "
        "did not finish resumes (default 30, stretched so that saving takes at "
        "most 2%% of the training time; 0: every epoch)",
    )
    rep.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra notebook parameter for every job, read as YAML; repeatable "
        "(e.g. --param method=mypackage.mymodule:my_method for chapter 10)",
    )
    rep.add_argument(
        "--pool-mixed",
        action="store_true",
        help="pool done jobs of other commits or configs into the scoreboard too",
    )
    sub.add_parser(
        "recipes",
        add_help=False,
        help="which training recipe trains which Table-4 model (chapter 02's study); "
        "its arguments go to python -m sbcore.experiments.recipes",
    )
    sub.add_parser(
        "longrun",
        add_help=False,
        help="a recorded long run outside the book (e.g. wide-app-b: claim #9 with App. "
        "B's recipe); its arguments go to python -m sbcore.experiments.longruns",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["longrun"]:
        from .experiments import longruns

        longruns.main(argv[1:], prog=f"{parser.prog} longrun")
        return 0
    if argv[:1] == ["recipes"]:  # every argument after it is the study's, handed on unparsed
        from .experiments import recipes  # here: the experiments load only for the study

        recipes.main(argv[1:], prog=f"{parser.prog} recipes")
        return 0
    args = parser.parse_args(argv)
    # SIGINT and SIGTERM stop as cleanly as Ctrl-C, also where a shell started us with SIGINT
    # ignored (a background job of a script); only the main thread may set handlers.
    try:
        old = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        old = {}
    try:
        outcome = reproduce.run(
            args.scale,
            args.seeds,
            args.chapters,
            out_dir=args.out,
            strict=args.strict,
            device=args.device,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_file=args.scheduler_file,
            force=args.force,
            pool_mixed=args.pool_mixed,
            params=args.param,
            connect_timeout=args.connect_timeout,
            no_worker_timeout=args.no_worker_timeout,
            checkpoint_every=args.checkpoint_every,
        )
    except ValueError as e:
        parser.exit(2, f"{parser.prog} reproduce: error: {e}\n")
    except reproduce.ReproduceError as e:  # one line, no traceback: what stopped it and where
        parser.exit(3, f"{parser.prog} reproduce: error: {e}\n")
    except KeyboardInterrupt:
        print(
            "interrupted: finished jobs are kept; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    print(
        f"scoreboard: {outcome.out / 'scoreboard.md'} ({len(outcome.ran)} run, "
        f"{len(outcome.skipped)} skipped, {len(outcome.failed)} failed)"
    )
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
