"""The recorded long runs (claim #9 with App. B's recipe): one seed's record, skipping finished
seeds, resuming from a checkpoint, loading the committed run."""

import json
from dataclasses import replace

import pytest

from sbcore.experiments import longruns


def test_one_seed_record_holds_the_trajectory_and_the_final_diagnostics():
    cfg = replace(longruns.APP_B, max_epochs=4, stop_loss=None)
    rec = longruns.wide_app_b_seed(
        3, n_train=200, n_test=100, eval_every=2, cfg=cfg, progress=False
    )
    assert rec["epochs"] == 4 and not rec["stopped_early"] and len(rec["loss"]) == 4
    assert [p["epoch"] for p in rec["trajectory"]] == [2, 4]
    assert {"train", "test", "s_rand"} <= set(rec["trajectory"][0])
    assert set(rec["final"]) == {"acc", "auc", "s_acc", "s_auc", "sc_acc", "sc_auc"}
    assert rec["train"]["momentum"] == 0.0 and rec["d"] == 250  # App. B's plain SGD, Fig. 3b's d


def test_finished_seeds_are_skipped_and_records_load_sorted(tmp_path, monkeypatch):
    calls = []

    def fake(seed, **kw):
        calls.append(seed)
        return {
            "seed": seed,
            "trajectory": [],
            "final": {"acc": 0.5},
            "train_acc": 1.0,
            "epochs": 1,
            "n_train": 10,
            "commit": "x",
            "machine": "m",
            "seconds": 0.1,
        }

    monkeypatch.setattr(longruns, "wide_app_b_seed", fake)
    (tmp_path / "seed-1.json").write_text(json.dumps(fake(1)))
    calls.clear()
    longruns.run_wide_app_b(
        [2, 1, 0],
        tmp_path,
        n_train=10,
        n_test=10,
        eval_every=1,
        checkpoint_seconds=1,
        progress=False,
    )
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


def test_log_epochs_are_log_spaced_and_end_at_the_last():
    assert longruns.log_epochs(100, per_decade=2) == (1, 3, 10, 32, 100)
    assert longruns.log_epochs(150, per_decade=1) == (1, 10, 100, 150)
    assert longruns.log_epochs(1) == (1,)
    with pytest.raises(ValueError, match="last"):
        longruns.log_epochs(0)


def test_long_wd_stack_pairs_every_decay_with_every_seed_and_logs_at_log_spaced_epochs():
    rec = longruns.long_wd_stack(
        "(100,2)-FCN",
        seeds=[0, 1],
        decays=(0.0, 1e-2),
        n_train=128,
        n_test=64,
        updates=20,
        per_decade=2,
        progress=False,
    )
    assert rec["members"] == [
        {"seed": 0, "weight_decay": 0.0},
        {"seed": 1, "weight_decay": 0.0},
        {"seed": 0, "weight_decay": 1e-2},
        {"seed": 1, "weight_decay": 1e-2},
    ]
    assert list(rec["train"]["weight_decay"]) == [0.0, 0.0, 1e-2, 1e-2] and rec["n_updates"] == 20
    assert rec["train"]["stop_loss"] is None and rec["train"]["batch_size"] == 64  # Table 10
    assert [p["epoch"] for p in rec["trajectory"]] == [1, 3, 10]  # 2 updates an epoch
    last = rec["trajectory"][-1]
    assert all(len(last[k]) == 4 for k in ("train", "test", "s_rand", "sc_rand", "w_norm"))
    # weight decay shrinks the weights of the same seed's same initialisation
    assert last["w_norm"][2] < last["w_norm"][0] and last["w_norm"][3] < last["w_norm"][1]


def test_weight_norms_are_per_member():
    import torch

    from sbcore.models.specs import ModelSpec

    stack = ModelSpec.parse("(100,1)-FCN").build(5, seeds=[0, 1])
    with torch.no_grad():
        for p in stack.parameters():
            p.fill_(1.0)
            p[1].fill_(2.0)
    n = sum(p[0].numel() for p in stack.parameters())
    assert longruns.weight_norms(stack) == pytest.approx([n**0.5, 2 * n**0.5])


def test_long_wd_stopped_mid_training_resumes_from_its_checkpoint_to_the_same_record(
    tmp_path, monkeypatch
):
    from sbcore.checkpoints import Checkpoint

    kw = dict(
        seeds=[0],
        decays=(0.0, 1e-3),
        n_train=128,
        n_test=64,
        updates=24,
        per_decade=3,
        progress=False,
    )
    whole = longruns.long_wd_stack("(100,1)-FCN", **kw)
    norms, calls = longruns.weight_norms, []

    def killed(stack):  # the machine stops at the third log point
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return norms(stack)

    monkeypatch.setattr(longruns, "weight_norms", killed)
    with pytest.raises(KeyboardInterrupt):
        longruns.long_wd_stack("(100,1)-FCN", **kw, checkpoint=Checkpoint(tmp_path / "c.pt"))
    monkeypatch.setattr(longruns, "weight_norms", norms)
    again = longruns.long_wd_stack("(100,1)-FCN", **kw, checkpoint=Checkpoint(tmp_path / "c.pt"))
    assert again["trajectory"] == whole["trajectory"] and again["n_updates"] == 24


def _long_wd_record(test, s_rand, *, n_test=10_000, decays=(0.0, 0.01)):
    members = [{"seed": s, "weight_decay": wd} for wd in decays for s in (0, 1)]
    last = {
        "n_updates": 100,
        "train": test,
        "test": test,
        "s_rand": s_rand,
        "sc_rand": test,
        "w_norm": [1.0] * len(test),
    }
    return {
        "model": "(100,1)-FCN",
        "members": members,
        "trajectory": [last],
        "n_updates": 100,
        "n_test": n_test,
        "commit": "abc",
    }


def test_a_switch_needs_test_accuracy_above_the_linear_feature_and_s_randomized_above_chance():
    # chance + 4 se at 10,000 points: 0.52. Members: linear only; switched; above 0.95 by
    # memorizing nothing of the slabs (S-rand at chance); S-rand up but test below 0.95
    rec = _long_wd_record([0.94, 0.99, 0.96, 0.90], [0.50, 0.97, 0.51, 0.60])
    assert longruns.switched(rec) == [False, True, False, False]
    assert longruns.long_wd_groups(rec) == {0.0: [0, 1], 0.01: [2, 3]}
    rows = longruns.long_wd_rows([rec])
    assert [(r["weight decay"], r["switched"]) for r in rows] == [
        ("0", "1 of 2"),
        ("0.01", "0 of 2"),
    ]
    assert rows[0]["test"] == "0.965 ± 0.035" and rows[1]["S-rand"] == "0.555 ± 0.064"
    text = longruns.long_wd_text([rec])
    assert text.startswith("1 of the 4 members ((100,1)-FCN; 100 updates) switched")
    assert "0.500-0.970" in text and "(100,2)-FCN: not recorded yet" in text
    assert longruns.long_wd_text([]).startswith("No long run is recorded yet")


def test_the_committed_long_wd_runs_load_with_their_trajectories():
    recs = longruns.load_long_wd()
    assert recs, "docs/results/long-wd holds at least the (100,1)-FCN's record"
    for rec in recs:
        assert rec["n_updates"] == 2_500_000 and len(rec["members"]) == 12
        last = rec["trajectory"][-1]
        assert len(last["test"]) == 12 and rec["commit"]
