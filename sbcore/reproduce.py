"""Rerun chapters through papermill at a scale and seeds, and aggregate their claim records.

``python -m sbcore reproduce --scale paper --seeds 0 1 2 --chapters 02`` writes, under
``_build/reproduce/<scale>/``, one executed notebook and one records file per (chapter, seed),
then ``scoreboard.md`` and ``scoreboard.json``: every record pooled over seeds (mean ± std over
all members of all runs) and the verdict per claim.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from . import claims
from .runtime import project_root
from .scales import resolve_scale


def chapter_paths(chapters: Sequence[str] | None, book_dir: Path) -> list[Path]:
    """Notebooks of the book whose name starts with one of ``chapters`` (None: all)."""
    nbs = sorted(p for p in book_dir.glob("[0-9][0-9]_*.ipynb"))
    if not chapters:
        return nbs
    out = []
    for c in chapters:
        hits = [p for p in nbs if p.stem.startswith(c)]
        if not hits:
            raise ValueError(f"chapters must be prefixes of {[p.stem for p in nbs]}, got {c!r}")
        out += hits
    return out


def run(scale: str | None, seeds: Sequence[int], chapters: Sequence[str] | None = None, *,
        out_dir: Path | None = None, strict: bool = False, device: str = "auto") -> Path:
    """Execute every (chapter, seed) with papermill, then write the pooled scoreboard.

    ``strict=False`` (the default here) lets a run finish and report "not reproduced"."""
    import papermill as pm

    scale = resolve_scale(scale)
    if not seeds or any(int(s) < 0 for s in seeds):
        raise ValueError(f"seeds must be one or more integers >= 0, got {list(seeds)}")
    root = project_root()
    book = root / "book"
    out = Path(out_dir) if out_dir else root / "_build" / "reproduce" / scale
    out.mkdir(parents=True, exist_ok=True)
    timings = []
    for nb in chapter_paths(chapters, book):
        for seed in seeds:
            run_dir = out / f"seed{seed}"
            run_dir.mkdir(exist_ok=True)
            os.environ["SBCORE_RECORDS_DIR"] = str(run_dir / "records")
            start = time.perf_counter()
            pm.execute_notebook(str(nb), str(run_dir / nb.name), cwd=str(book), progress_bar=False,
                                parameters={"scale": scale, "seed": int(seed), "strict": strict,
                                            "device": device})
            timings.append({"chapter": nb.stem, "seed": int(seed),
                            "seconds": round(time.perf_counter() - start, 1)})
    write_scoreboard(sorted(out.glob("seed*/records/*.json")), out, timings=timings)
    return out


def write_scoreboard(paths: Sequence[Path], out: Path, *, timings: list | None = None) -> None:
    """Pool the records in ``paths`` and write ``scoreboard.md`` and ``scoreboard.json``."""
    recs = claims.merge(claims.load_records(paths))
    board = claims.claim_rows(recs)
    (out / "scoreboard.json").write_text(json.dumps(
        {"claims": board, "headlines": claims.headline_rows(board),
         "records": [{**r.to_json(), "mean": r.mean, "std": r.std} for r in recs],
         "timings": timings or []}, indent=1, default=str))
    md = ["# Scoreboard", "", claims.markdown_table(board, ["claim", "title", "paper", "ours", "verdict", "chapter"]),
          "", "## Records (pooled over seeds)", "",
          claims.markdown_table([r.row() for r in recs], ["claim", "quantity", "data", "paper", "ours", "criterion", "verdict"])]
    if timings:
        md += ["", "## Run times", "", claims.markdown_table(timings, ["chapter", "seed", "seconds"])]
    (out / "scoreboard.md").write_text("\n".join(md) + "\n")


def preset_rows() -> list[dict]:
    """Every chapter's knobs side by side at the three scales (differences only; nested recipes
    flattened as ``train.lr``)."""
    from .chapters import chapter_names, module
    from .claims.run import _flatten

    rows = []
    for chapter in chapter_names():
        presets = {s: _flatten(asdict(c)) for s, c in module(chapter).PRESETS.items()}
        for key in presets["paper"]:
            vals = {s: presets[s].get(key) for s in ("smoke", "book", "paper")}
            if len({repr(v) for v in vals.values()}) > 1:
                rows.append({"chapter": f"{{doc}}`{chapter}`", "parameter": key,
                             **{s: _fmt(v) for s, v in vals.items()}})
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return ", ".join(map(str, v))
    return str(v)
