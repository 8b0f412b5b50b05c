"""Bad inputs to ``python -m sbcore reproduce`` stop it at once with one clear line, and records
cannot be mixed or corrupted: bad or duplicate record files are named before any job runs, runs of
another commit or config are left out of the scoreboard unless pooled on purpose, verdicts come
from the values, and concurrent writers never leave a broken file. No notebook runs here: job
folders are written by hand in the layout ``reproduce`` uses."""

import json
import os
import re
from multiprocessing.pool import ThreadPool
from pathlib import Path

import pytest

from sbcore import claims, reproduce
from sbcore.__main__ import main
from sbcore.reproduce import schedule

ROOT = Path(__file__).resolve().parents[1]
CH = "01_datasets_and_metrics"


def _rec(values, quantity="Bayes accuracy", claim=5):
    return claims.ClaimRecord(
        claim=claim,
        check="toy",
        quantity=quantity,
        values=list(values),
        paper="0.5",
        source="toy",
        kind="mean_within",
        target=0.5,
        tol=0.05,
        upper=None,
        rationale="a toy bar",
        data="toy",
        scale="smoke",
        chapter=CH,
    )


def _done_job(
    out: Path, seed: int, *, commit: str | None = None, records=None, scale="smoke"
) -> Path:
    """A finished job folder as ``run_job`` leaves it."""
    folder = out / CH / f"seed{seed}"
    config = {"chapter": CH, "seed": seed, "scale": scale, "strict": False, "device": "auto"}
    claims.save_records(
        records if records is not None else [_rec([0.5 + seed / 100])],
        folder / "records" / f"{CH}.json",
        metadata={"seed": seed},
    )
    manifest = {
        "job": f"{CH} seed {seed}",
        "config": config,
        "status": "done",
        "seconds": 1.0,
        "commit": commit or reproduce.source_commit(ROOT),
        "records": f"records/{CH}.json",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _no_jobs(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("no job may run")

    monkeypatch.setattr(schedule, "_run_jobs", refuse)


def _cli_error(capsys, *args) -> str:
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--scale", "smoke", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err  # one clear line
    return err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--chapters", ""], "non-empty prefixes"),
        (["--chapters"], "expected at least one argument"),
        (["--chapters", "01", "01"], "names 01_datasets_and_metrics twice"),
        (["--chapters", "0", "01"], "names 01_datasets_and_metrics twice"),
        (["--chapters", "99"], "chapters must be prefixes"),
        (["--seeds", "100000000000000000000"], "outside [0, 2^31)"),
        (["--seeds", "-1"], "outside [0, 2^31)"),
        (["--seeds", "2147483648"], "outside [0, 2^31)"),
        (["--seeds", "1", "1"], "repeats a seed"),
        (["--seeds", "x"], "seed must be an integer"),
        (["--workers", "0"], "must be an integer >= 1"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
    ],
)
def test_bad_inputs_fail_fast_with_one_line(capsys, monkeypatch, tmp_path, args, message):
    _no_jobs(monkeypatch)
    assert message in _cli_error(capsys, "--out", str(tmp_path), *args)


def test_out_that_is_a_file_or_not_writable(capsys, monkeypatch, tmp_path):
    _no_jobs(monkeypatch)
    f = tmp_path / "file"
    f.write_text("x")
    assert "is a file, not a folder" in _cli_error(capsys, "--chapters", "01", "--out", str(f))
    assert "is not writable" in _cli_error(capsys, "--chapters", "01", "--out", str(f / "sub"))
    assert "is not writable" in _cli_error(capsys, "--chapters", "01", "--out", "/proc/sbcore-out")
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert "is not writable" in _cli_error(capsys, "--chapters", "01", "--out", str(ro))


def test_corrupt_records_stop_before_any_job_naming_the_file(capsys, monkeypatch, tmp_path):
    _no_jobs(monkeypatch)
    _done_job(tmp_path, 0)
    bad = _done_job(tmp_path, 1) / "records" / f"{CH}.json"
    bad.write_text("")
    err = _cli_error(capsys, "--chapters", "01", "--seeds", "0", "1", "2", "--out", str(tmp_path))
    assert str(bad) in err and "not a valid records file" in err
    assert not (tmp_path / "scoreboard.md").exists()
    (tmp_path / CH / "seed1" / "manifest.json").write_text("{")
    err = _cli_error(capsys, "--chapters", "01", "--out", str(tmp_path))
    assert "seed1/manifest.json" in err and "not a valid job manifest" in err


def test_duplicate_records_are_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"dup\.json: duplicate record for claim #5"):
        claims.save_records([_rec([0.5]), _rec([0.6])], tmp_path / "dup.json", metadata={})
    p = tmp_path / "dup.json"  # written by hand, as a buggy or tampered writer would
    p.write_text(json.dumps({"records": [_rec([0.5]).to_json(), _rec([0.6]).to_json()]}))
    with pytest.raises(ValueError, match=r"dup\.json: duplicate record for claim #5"):
        claims.load_records([p])
    p.write_text(json.dumps({"records": [{"claim": 5}]}))
    with pytest.raises(ValueError, match=r"dup\.json is not a valid records file"):
        claims.load_records([p])


def test_verdicts_are_recomputed_from_values(tmp_path):
    p = claims.save_records([_rec([0.9])], tmp_path / "r.json", metadata={})
    payload = json.loads(p.read_text())
    payload["records"][0]["passed"] = True  # a tampered or stale verdict
    p.write_text(json.dumps(payload))
    assert not claims.load_records([p])[0].passed
    assert not claims.merge(claims.load_records([p]))[0].passed


def test_scoreboard_pools_one_commit_and_config_unless_asked(monkeypatch, tmp_path):
    _no_jobs(monkeypatch)
    _done_job(tmp_path, 5, commit="0123456789ab")  # an older commit
    _done_job(tmp_path, 0)
    lines: list[str] = []
    out = reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lines.append)
    assert out.skipped == [f"{CH} seed 0"] and out.ran == []
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert [r["seed"] for r in board["runs"]] == [0] and not board["mixed"]
    assert board["left_out"][0]["seed"] == 5 and board["left_out"][0]["commit"] == "0123456789ab"
    assert next(r for r in board["records"] if r["claim"] == 5)["values"] == [0.5]
    assert any("left out 1 done job(s)" in line and "--pool-mixed" in line for line in lines)
    assert "Runs left out" in (tmp_path / "scoreboard.md").read_text()
    reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, pool_mixed=True, log=lines.append)
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert sorted(r["seed"] for r in board["runs"]) == [0, 5] and board["mixed"]
    assert "Mixed runs" in (tmp_path / "scoreboard.md").read_text()


def test_seeds_run_one_after_another_are_pooled_with_every_run_listed(monkeypatch, tmp_path):
    """``--seeds 5`` then ``--seeds 0`` at one commit: both pooled, both in the runs table."""
    _no_jobs(monkeypatch)
    _done_job(tmp_path, 5)
    _done_job(tmp_path, 0)
    reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None)
    board = json.loads((tmp_path / "scoreboard.json").read_text())
    assert [(r["seed"], r["seconds"]) for r in board["runs"]] == [(0, 1.0), (5, 1.0)]
    assert next(r for r in board["records"] if r["claim"] == 5)["values"] == [0.5, 0.55]
    assert not board["left_out"] and not board["mixed"]


def test_done_job_of_another_commit_or_forced_is_rerun_other_settings_refused(
    monkeypatch, tmp_path
):
    ran = []
    monkeypatch.setattr(
        schedule,
        "_run_jobs",
        lambda todo, out, **k: ran.append(sorted(j.name for j, _ in todo)) or [],
    )
    _done_job(tmp_path, 0)
    _done_job(tmp_path, 1, commit="0123456789ab")
    reproduce.run("smoke", [0, 1, 2], ["01"], out_dir=tmp_path, log=lambda m: None)
    assert ran[-1] == [f"{CH} seed 1", f"{CH} seed 2"]
    with pytest.raises(
        ValueError, match="holds finished jobs of other settings: .*seed 0 .*strict False"
    ):
        reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, strict=True, log=lambda m: None)
    assert len(ran) == 1  # finished work of other settings is never overwritten silently
    reproduce.run(
        "smoke", [0], ["01"], out_dir=tmp_path, strict=True, force=True, log=lambda m: None
    )
    assert ran[-1] == [f"{CH} seed 0"]
    reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, force=True, log=lambda m: None)
    assert ran[-1] == [f"{CH} seed 0"]


def _write_many(args):
    path, i = args
    for _ in range(20):
        claims.save_records(
            [_rec([0.5 + i / 1000] * 50, quantity=f"q{k}") for k in range(20)],
            path,
            metadata={"writer": i},
        )


def test_concurrent_writers_never_leave_a_broken_or_mixed_file(tmp_path):
    path = tmp_path / "records.json"
    with ThreadPool(4) as pool:  # writers in one process share a folder, like jobs on one disk
        pool.map(_write_many, [(path, i) for i in range(4)])
    payload = json.loads(path.read_text())
    writer = payload["metadata"]["writer"]
    assert {r["values"][0] for r in payload["records"]} == {0.5 + writer / 1000}
    assert not list(tmp_path.glob("*.tmp"))


def test_extra_parameters_reach_the_notebook_and_keep_runs_apart(tmp_path):
    from sbcore.reproduce.jobs import Job

    assert reproduce.check_params(["method=pkg.mod:fn", "n_train=4000"]) == [
        "method=pkg.mod:fn",
        "n_train=4000",
    ]
    for bad in (["method"], ["1x=2"], ["seed=3"], ["a=1", "a=2"]):
        with pytest.raises(ValueError, match="--param"):
            reproduce.check_params(bad)
    job = Job(CH, 0, "smoke", params=("method=pkg.mod:fn", "n_train=4000"))
    assert job.parameters() == {
        "scale": "smoke",
        "seed": 0,
        "strict": False,
        "device": "auto",
        "method": "pkg.mod:fn",
        "n_train": 4000,
    }  # YAML, as papermill -p
    plain = Job(CH, 0, "smoke")
    assert job.folder(tmp_path) != plain.folder(tmp_path)  # two methods never share a folder
    assert reproduce.pool_config({"scale": "smoke"})["params"] == []


@pytest.mark.parametrize(
    "records",
    [
        "../../elsewhere/records.json",
        "records/../../seed0/records/x.json",
        "/etc/hostname",
        "link/r.json",
    ],
)
def test_done_manifest_with_records_outside_its_folder_is_refused(
    capsys, monkeypatch, tmp_path, records
):
    _no_jobs(monkeypatch)
    _done_job(tmp_path, 0)
    folder = _done_job(tmp_path, 1)
    outside = _done_job(tmp_path / "elsewhere", 0) / "records"  # valid records, in another folder
    (folder / "link").symlink_to(outside, target_is_directory=True)  # a link out resolves outside
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "records": records}))
    message = (
        f"{folder / 'manifest.json'}: its records path '{records}' points outside its job folder"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        reproduce.read_jobs(tmp_path)
    with pytest.raises(ValueError, match=re.escape(message)):  # the scoreboard pools none of it
        reproduce.write_scoreboard(tmp_path, commit="c0", config={}, log=lambda m: None)
    err = _cli_error(capsys, "--chapters", "01", "--seeds", "0", "--out", str(tmp_path))
    assert message in err
    assert not (tmp_path / "scoreboard.md").exists()
