"""Rerunning chapters: bad parameters stop before training; reproduce writes a pooled scoreboard."""

import json
import os
from pathlib import Path

import papermill as pm
import pytest

from sbcore import reproduce
from sbcore.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


@pytest.mark.slow
@pytest.mark.parametrize("params,message", [
    ({"scale": "huge"}, "scale must be one of"),
    ({"scale": "smoke", "n_train": -5}, "n_train must be an integer >= 1"),
    ({"scale": "smoke", "n_seeds": 1}, "n_seeds must be an integer >= 2"),
])
def test_bad_parameters_stop_chapter_02_before_training(tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(BOOK / "02_extreme_sb_slabs.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters=params, cwd=str(BOOK), progress_bar=False)
    assert message in str(err.value)
    out = json.loads((tmp_path / "out.ipynb").read_text())
    # it stopped in the settings cell: the training cell never ran
    executed = [c for c in out["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(executed) <= 3


@pytest.mark.slow
def test_reproduce_pools_seeds_into_a_scoreboard(tmp_path, monkeypatch):
    monkeypatch.delenv("SBCORE_RECORDS_DIR", raising=False)
    assert main(["reproduce", "--scale", "smoke", "--seeds", "0", "1", "--chapters", "01",
                 "--out", str(tmp_path)]) == 0
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    rec = next(r for r in board["records"] if r["quantity"].startswith("Bayes accuracy, Noisy linear p=0.1"))
    assert len(rec["values"]) == 2  # one value per seed, pooled
    assert {c["claim"] for c in board["claims"]} == set(range(1, 32))
    assert "| #2 |" in (tmp_path / "scoreboard.md").read_text()
    assert (tmp_path / "seed1" / "01_datasets_and_metrics.ipynb").exists()


def test_chapter_prefixes_are_checked():
    with pytest.raises(ValueError, match="chapters must be prefixes"):
        reproduce.chapter_paths(["99"], BOOK)
    assert reproduce.chapter_paths(["01"], BOOK)[0].name == "01_datasets_and_metrics.ipynb"


def test_preset_table_lists_differences_between_scales():
    rows = reproduce.preset_rows()
    assert any(r["parameter"] == "n_train" for r in rows)
    assert all(len({r["smoke"], r["book"], r["paper"]}) > 1 for r in rows)
