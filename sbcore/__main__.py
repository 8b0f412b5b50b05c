"""Command line: ``python -m sbcore reproduce --scale S --seeds 0 1 2 --chapters 02``."""

from __future__ import annotations

import argparse
import sys

from . import reproduce
from .scales import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run chapters with papermill and write a scoreboard")
    rep.add_argument("--scale", choices=SCALES, default=None,
                     help="preset scale (default: $SBCORE_SCALE, else book)")
    rep.add_argument("--seeds", type=int, nargs="+", default=[0], help="base seeds, one run each")
    rep.add_argument("--chapters", nargs="*", default=None,
                     help="chapter prefixes such as 02 (default: every chapter)")
    rep.add_argument("--out", default=None, help="output folder (default: _build/reproduce/<scale>)")
    rep.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    rep.add_argument("--strict", action="store_true", help="stop at the first claim that fails")
    args = parser.parse_args(argv)
    try:
        out = reproduce.run(args.scale, args.seeds, args.chapters, out_dir=args.out,
                            strict=args.strict, device=args.device)
    except ValueError as e:
        parser.error(str(e))
    print(f"scoreboard: {out / 'scoreboard.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
