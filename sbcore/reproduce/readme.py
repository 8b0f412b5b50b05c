"""The README's results table, generated from a recorded scoreboard (never typed by hand).

``python -m sbcore.reproduce.readme --records _build/records --save
docs/results/book-scoreboard.json`` pools the records of a book build into a recorded scoreboard;
``python -m sbcore.reproduce.readme --update`` rewrites the table between the README's markers from
that file, and ``--check`` fails when the README and the recorded scoreboard disagree (the tests
run it).

Only a complete book-scale build of one commit with the presets' settings is recorded or
rendered: every chapter with checks present, each at book scale with no overridden knob, and every
record's criterion equal to its check's in the registry (:func:`sbcore.claims.against_registry`).
Anything else is refused with one line that says what is missing or overridden.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import claims
from ..claims.checks import CHAPTER_CHECKS
from ..runtime import atomic_write_text, project_root

START, END = "<!-- results:start -->", "<!-- results:end -->"
# what the recorded scoreboard keeps of each chapter's run
RUN_KEYS = ("scale", "seeds", "commit", "time", "seconds", "overrides", "n_records", "n_not_run")
RECORDED = Path("docs") / "results" / "book-scoreboard.json"


def complete_build(runs: dict[str, dict], *, where: str) -> None:
    """Raise ValueError naming ``where`` unless ``runs`` (chapter -> run metadata) is a complete
    book-scale build of one commit with no knob overridden."""
    missing = sorted(set(CHAPTER_CHECKS) - set(runs))
    if missing:
        raise ValueError(
            f"{where}: no records of chapter(s) {', '.join(missing)}; the results "
            "table needs a complete book build (make book)"
        )
    for chapter, m in sorted(runs.items()):
        if m.get("scale") != "book":
            raise ValueError(f"{where}: chapter {chapter} ran at {m.get('scale')} scale, not book")
        if "overrides" not in m:
            raise ValueError(
                f"{where}: chapter {chapter}'s records do not say which knobs were "
                "set (written by an older sbcore); rebuild with make book"
            )
        if m["overrides"]:
            raise ValueError(
                f"{where}: chapter {chapter} ran with overridden settings "
                f"{m['overrides']}; the results table takes the presets only"
            )
    commits = sorted({str(m.get("commit")) for m in runs.values()})
    dirty = [c for c in commits if "+dirty" in c or c in ("unknown", "None")]
    if dirty:
        raise ValueError(
            f"{where}: built from uncommitted changes or outside git "
            f"({', '.join(dirty)}); the results table takes a build of a commit"
        )
    if len(commits) != 1:
        raise ValueError(
            f"{where}: the chapters ran at {len(commits)} commits ({', '.join(commits)});"
            " the results table takes one build of one commit"
        )


def record(records_dir: Path, out: Path) -> Path:
    """Pool the records of one complete book build into a recorded scoreboard (JSON); refuses
    anything else (see the module docstring), leaving ``out`` as it was."""
    files = sorted(Path(records_dir).glob("*.json"))
    if not files:
        raise ValueError(f"no record files in {records_dir}: build the book first (make book)")
    recs = claims.load_records(files)
    claims.check_unique(recs, where=str(records_dir))  # two files of one chapter: refused
    runs: dict[str, dict] = {}
    for r in recs:
        m = r.meta["run"]
        runs[m.get("chapter", r.chapter)] = {k: m[k] for k in RUN_KEYS if k in m}
    complete_build(runs, where=str(records_dir))
    recs = claims.against_registry(recs, where=str(records_dir))  # one build: nothing to pool
    payload = {"runs": runs, "records": [r.to_json() for r in recs]}
    for r in payload["records"]:
        r["meta"].pop("run", None)
    return atomic_write_text(out, json.dumps(payload, indent=1, default=str) + "\n")


def load(path: Path) -> tuple[dict[str, dict], list[claims.ClaimRecord]]:
    """The runs and records of a recorded scoreboard, checked as :func:`record` checks them
    (ValueError naming the file otherwise)."""
    try:
        payload = json.loads(Path(path).read_text())
        runs, items = payload["runs"], payload["records"]
        if not isinstance(runs, dict) or not all(isinstance(m, dict) for m in runs.values()):
            raise TypeError("'runs' must map each chapter to its run")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a recorded scoreboard: {e}") from None
    complete_build(runs, where=str(path))
    recs = claims.against_registry(claims.parse_records(items, where=str(path)), where=str(path))
    for chapter, m in runs.items():
        if "n_records" not in m:
            raise ValueError(
                f"{path}: chapter {chapter}'s run does not say how many records it "
                "made (written by an older sbcore); rebuild with make book"
            )
        claims.check_counts(
            [r for r in recs if r.chapter == chapter], m, where=f"{path}, chapter {chapter}"
        )
    return runs, recs


def render(path: Path) -> str:
    """The README's results section from a recorded scoreboard."""
    runs, recs = load(path)
    rows = claims.claim_rows(recs)
    heads = claims.headline_rows(rows)
    scales = sorted({m["scale"] for m in runs.values()})
    commits = sorted({m["commit"] for m in runs.values()})
    seeds = sorted({len(m["seeds"]) for m in runs.values()})
    lines = [
        f"Generated by `python -m sbcore.reproduce.readme --update` from `{RECORDED.as_posix()}` "
        f"({', '.join(scales)} scale, commit {', '.join(commits)}, "
        f"{'/'.join(map(str, seeds))} seeds per chapter). Verdicts are recomputed from the "
        "recorded values under the registry's criteria.",
        "",
        claims.markdown_table(heads, ["claim", "statement", "verdict", "reason"]),
        "",
        claims.markdown_table(
            [{**r, "claim": f"#{r['claim']}"} for r in rows],
            ["claim", "title", "paper", "ours", "verdict", "why"],
        ),
    ]
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    if START not in text or END not in text:
        raise ValueError(f"the README has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    body, tail = rest.split(END, 1)
    return head, body, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbcore.reproduce.readme", description=__doc__)
    parser.add_argument("--records", type=Path, help="record folder of a build to pool and save")
    parser.add_argument("--save", type=Path, default=None, help=f"default: {RECORDED}")
    parser.add_argument("--update", action="store_true", help="rewrite the README's table")
    parser.add_argument("--check", action="store_true", help="fail if the README disagrees")
    args = parser.parse_args(argv)
    root = project_root()
    recorded = root / (args.save or RECORDED)
    readme = root / "README.md"
    try:
        if args.records:
            print(f"recorded: {record(args.records, recorded)}")
        head, body, tail = _split(readme.read_text())
        table = render(recorded)
    except ValueError as e:
        print(f"python -m sbcore.reproduce.readme: {e}", file=sys.stderr)
        return 2
    if args.update:
        atomic_write_text(readme, f"{head}{START}\n{table}\n{END}{tail}")
        print(f"updated: {readme}")
    if args.check and body.strip() != table.strip():
        print(
            f"README.md's results table disagrees with {recorded}; run "
            "`python -m sbcore.reproduce.readme --update`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
