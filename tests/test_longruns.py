"""The recorded long runs (claim #9 with App. B's recipe): one seed's record, skipping finished
seeds, resuming from a checkpoint, loading the committed run."""

import json
from dataclasses import replace

import pytest

from sbcore.experiments import longruns


def test_one_seed_record_holds_the_trajectory_and_the_final_diagnostics():
    cfg = replace(longruns.APP_B, max_epochs=4, stop_loss=None)
    rec = longruns.wide_app_b_seed(3, n_train=200, n_test=100, eval_every=2, cfg=cfg,
                                   progress=False)
    assert rec["epochs"] == 4 and not rec["stopped_early"] and len(rec["loss"]) == 4
    assert [p["epoch"] for p in rec["trajectory"]] == [2, 4]
    assert {"train", "test", "s_rand"} <= set(rec["trajectory"][0])
    assert set(rec["final"]) == {"acc", "auc", "s_acc", "s_auc", "sc_acc", "sc_auc"}
    assert rec["train"]["momentum"] == 0.0 and rec["d"] == 250  # App. B's plain SGD, Fig. 3b's d


def test_finished_seeds_are_skipped_and_records_load_sorted(tmp_path, monkeypatch):
    calls = []

    def fake(seed, **kw):
        calls.append(seed)
        return {"seed": seed, "trajectory": [], "final": {"acc": 0.5}, "train_acc": 1.0,
                "epochs": 1, "n_train": 10, "commit": "x", "machine": "m", "seconds": 0.1}
    monkeypatch.setattr(longruns, "wide_app_b_seed", fake)
    (tmp_path / "seed-1.json").write_text(json.dumps(fake(1)))
    calls.clear()
    longruns.run_wide_app_b([2, 1, 0], tmp_path, n_train=10, n_test=10, eval_every=1,
                            checkpoint_seconds=1, progress=False)
    assert calls == [2, 0]  # seed 1 was done
    assert [r["seed"] for r in longruns.load_wide_app_b(tmp_path)] == [0, 1, 2]
    (tmp_path / "seed-9.json").write_text("{}")
    with pytest.raises(ValueError, match="seed-9.json"):
        longruns.load_wide_app_b(tmp_path)


def test_the_committed_run_is_app_b_on_the_books_data_and_memorizes():
    recs = longruns.load_wide_app_b()
    assert [r["seed"] for r in recs] == [0, 1, 2]
    for r in recs:
        assert r["n_train"] == 50_000 and r["train"]["momentum"] == 0.0 and r["train"]["lr"] == 0.1
        assert r["commit"] and r["machine"]
        assert r["train_acc"] > 0.99 and abs(r["final"]["acc"] - 0.5) < 0.03  # memorized
