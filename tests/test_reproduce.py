"""Rerunning chapters: bad parameters stop before training; reproduce writes a pooled scoreboard."""

import json
import os
from pathlib import Path

import papermill as pm
import pytest

from sbcore import reproduce
from sbcore.__main__ import main
from sbcore.reproduce import schedule

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


@pytest.mark.slow
@pytest.mark.parametrize(
    "params,message",
    [
        ({"scale": "huge"}, "scale must be one of"),
        ({"scale": "smoke", "n_train": -5}, "n_train must be an integer >= 1"),
        ({"scale": "smoke", "n_seeds": 1}, "n_seeds must be an integer >= 2"),
    ],
)
def test_bad_parameters_stop_chapter_02_before_training(tmp_path, params, message):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(BOOK / "02_extreme_sb_slabs.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters=params,
            cwd=str(BOOK),
            progress_bar=False,
        )
    assert message in str(err.value)
    out = json.loads((tmp_path / "out.ipynb").read_text())
    # it stopped in the settings cell: the training cell never ran
    executed = [c for c in out["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(executed) <= 3


@pytest.mark.slow
def test_reproduce_runs_two_smoke_jobs_on_two_workers_and_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv("SBCORE_RECORDS_DIR", raising=False)
    env_before = dict(os.environ)
    assert (
        main(
            [
                "reproduce",
                "--scale",
                "smoke",
                "--seeds",
                "0",
                "1",
                "--chapters",
                "01",
                "--workers",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert dict(os.environ) == env_before  # each job's settings went to its kernel, not to us
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    rec = next(
        r
        for r in board["records"]
        if r["quantity"].startswith("accuracy of the sign rule, Noisy linear p=0.1")
    )
    assert len(rec["values"]) == 2  # one value per seed, pooled
    assert {c["claim"] for c in board["claims"]} == set(range(1, 32))
    assert [(r["chapter"], r["seed"]) for r in board["runs"]] == [
        ("01_datasets_and_metrics", 0),
        ("01_datasets_and_metrics", 1),
    ]
    assert "| #2 |" in (tmp_path / "scoreboard.md").read_text()
    job = tmp_path / "01_datasets_and_metrics" / "seed1"
    assert (job / "01_datasets_and_metrics.ipynb").exists()
    manifest = json.loads((job / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["error"] is None
    assert manifest["config"] == {
        "chapter": "01_datasets_and_metrics",
        "seed": 1,
        "scale": "smoke",
        "strict": False,
        "device": "auto",
        "params": [],
    }
    assert manifest["commit"] == reproduce.source_commit(ROOT)
    assert manifest["versions"]["distributed"] and manifest["device"]["threads"] >= 1
    assert manifest["device"]["worker"].startswith("tcp://127.0.0.1:")
    assert manifest["started"] <= manifest["ended"]
    # the same call again skips both jobs (no cluster is even started)
    monkeypatch.setattr(schedule, "dask_client", None)
    out = reproduce.run("smoke", [0, 1], ["01"], out_dir=tmp_path, log=lambda m: None)
    assert out.ran == [] and len(out.skipped) == 2
    assert json.loads((job / "manifest.json").read_text())["started"] == manifest["started"]


def test_chapter_prefixes_are_checked():
    with pytest.raises(ValueError, match="chapters must be prefixes"):
        reproduce.chapter_paths(["99"], BOOK)
    assert reproduce.chapter_paths(["01"], BOOK)[0].name == "01_datasets_and_metrics.ipynb"


def test_preset_table_lists_differences_between_scales():
    rows = reproduce.preset_rows()
    assert any(r["parameter"] == "n_train" for r in rows)
    assert all(len({r["smoke"], r["book"], r["paper"]}) > 1 for r in rows)
