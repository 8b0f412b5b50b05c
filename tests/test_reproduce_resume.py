"""A reproduce job whose kernel dies mid-training resumes from its checkpoints when the same call
runs again, and ends with the records of an uninterrupted run; the driver prints progress lines;
run_job keeps an unfinished job's checkpoints only for the same config and commit."""

import json
from pathlib import Path

import nbformat
import pytest

from sbcore import reproduce
from sbcore.reproduce import Job, schedule
from sbcore.reproduce.jobs import CHECKPOINTS, OWNER, clear_job_folder


def _notebook(path: Path, source: str) -> Path:  # as in test_reproduce_jobs
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('scale = None\nseed = 0\nstrict = True\ndevice = "auto"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


# Two fits; the second is killed (os._exit in its callback) at epoch 8 on the first try only. Fit 1
# has dropout (torch's global RNG): the second fit's result depends on the RNG fit 1 left behind.
_TRAIN = """
import hashlib, json, os
from pathlib import Path
import torch
from sbcore import checkpoints, claims
from sbcore.data import make_lms
from sbcore.models.stacked import StackedFCN
from sbcore.train import TrainConfig, fit

checkpoints.PROGRESS_SECONDS = 0.0  # every epoch, for the driver to see
marker = Path(os.environ["SBCORE_RECORDS_DIR"]).parents[2] / "killed-once"
data = make_lms(600, seed=seed)
torch.manual_seed(seed)
a = StackedFCN(50, width=16, depth=2, n_models=2, seeds=[0, 1], dropout=0.2)
steps = []
a.register_forward_pre_hook(lambda m, args: steps.append(1) if m.training else None)
h1 = fit(a, data.x, data.y, TrainConfig(batch_size=64, max_epochs=5, stop_loss=None, momentum=0.9),
         progress=False, desc="warm-up")
calls = []

def kill_once(model, epoch):
    calls.append(epoch)
    if epoch == 8 and not marker.exists():
        marker.write_text("killed")
        os._exit(1)
    return {"w": float(next(model.parameters()).detach().sum())}

b = StackedFCN(50, width=16, depth=2, n_models=3, seeds=[2, 3, 4], dropout=0.1)
cfg = TrainConfig(batch_size=64, max_epochs=40, lr=(0.1, 0.05, 0.2), momentum=0.9, stop_loss=0.02,
                  schedule="step", step_every=5, step_gamma=0.7)
h2 = fit(b, data.x, data.y, cfg, callback=kill_once, eval_every=2, progress=False, desc="long fit")
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for m in (a, b)
                                 for p in m.parameters())).hexdigest()
result = {"loss1": h1.loss, "loss2": h2.loss, "evals": h2.evals, "n_updates": h2.n_updates,
          "stopped": h2.stopped_epoch, "weights": digest, "rng_after": torch.rand(3).tolist()}
records = os.environ["SBCORE_RECORDS_DIR"]
Path(records, "result.json").write_text(json.dumps(result))
Path(records, "calls.json").write_text(json.dumps({"warm_up_steps": len(steps), "evals": calls}))
rec = claims.ClaimRecord(claim=5, check="toy", quantity="toy", values=[h2.final_loss[0]], paper="0",
                         source="toy", kind="mean_within", target=0.0, tol=1.0, upper=None,
                         rationale="a toy bar", data="toy", scale=scale, chapter="94_resume")
claims.save_records([rec], os.path.join(records, "94_resume.json"), metadata={"device": "cpu"})
"""


def _read(folder: Path, name: str) -> dict:
    return json.loads((folder / "records" / name).read_text())


@pytest.mark.slow
def test_killed_job_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(schedule, "PROGRESS_EVERY_S", 0.0)  # every change, not every 30 s
    nb = _notebook(tmp_path / "94_resume.ipynb", _TRAIN)
    job = Job("94_resume", 0, "smoke")
    out = tmp_path / "out"
    out.mkdir()
    call = dict(
        commit="c0",
        workers=1,
        scheduler=None,
        scheduler_file=None,
        device="cpu",
        checkpoint_every=0,
    )
    lines: list[str] = []
    assert schedule._run_jobs([(job, nb)], out, log=lines.append, **call) == [job.name]
    folder = job.folder(out)
    assert (out / "killed-once").exists()
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"]["ename"] == "DeadKernelError", m["error"]
    saved = sorted(p.name.split("-")[1] for p in (folder / CHECKPOINTS).glob("fit-*.pt"))
    assert saved == ["1", "2"]  # fit 1 done, fit 2 at its last epoch end before the kill
    # the driver polled the progress file the dying kernel left (fit 2, at its last epoch end)
    assert any(line.startswith(f"  {job.name}: fit 2 (long fit) epoch 7/40") for line in lines), (
        lines
    )

    lines.clear()
    assert schedule._run_jobs([(job, nb)], out, log=lines.append, **call) == []  # the same call
    assert json.loads((folder / "manifest.json").read_text())["status"] == "done"
    calls = _read(folder, "calls.json")
    assert calls["warm_up_steps"] == 0  # fit 1 fast-forwarded: not one training step
    assert calls["evals"][0] == 8  # fit 2 resumed at epoch 8 (its evals 2..6 were restored)
    assert not (folder / CHECKPOINTS).exists()  # a done job needs them no more

    plain_out = tmp_path / "plain"
    plain_out.mkdir()
    (plain_out / "killed-once").write_text("not this time")
    m = reproduce.run_job(job, str(plain_out), notebook=str(nb), commit="c0", checkpoint_every=0)
    assert m["status"] == "done", m["error"]
    plain = job.folder(plain_out)
    assert _read(plain, "calls.json")["evals"][0] == 2
    assert _read(folder, "result.json") == _read(plain, "result.json")
    assert _read(folder, "94_resume.json")["records"] == _read(plain, "94_resume.json")["records"]


def test_job_folder_keeps_checkpoints_of_the_same_job_and_commit_only(tmp_path):
    folder = tmp_path / "job"
    owner = {"config": {"chapter": "x", "seed": 0}, "commit": "c0"}
    ckpts = clear_job_folder(folder, owner)
    for name in ("manifest.json", "x.failed.ipynb", "kernel.log"):
        (folder / name).write_text("old")
    (folder / "records").mkdir()
    (ckpts / "fit-1-abc.pt").write_text("ckpt")
    (ckpts / "progress.json").write_text("{}")
    assert clear_job_folder(folder, owner) == ckpts
    assert sorted(p.name for p in folder.iterdir()) == [CHECKPOINTS]
    assert sorted(p.name for p in ckpts.iterdir()) == ["fit-1-abc.pt", OWNER]  # progress: stale
    clear_job_folder(folder, {**owner, "commit": "c1"})  # other code: its checkpoints are not ours
    assert sorted(p.name for p in ckpts.iterdir()) == [OWNER]
    assert json.loads((ckpts / OWNER).read_text())["commit"] == "c1"
    (ckpts / "fit-1-abc.pt").write_text("ckpt")
    clear_job_folder(folder, {**owner, "commit": "c1"}, fresh=True)  # --force
    assert sorted(p.name for p in ckpts.iterdir()) == [OWNER]


def test_progress_lines_of_running_jobs(tmp_path):
    from sbcore.checkpoints import PROGRESS_NAME, Watch

    jobs = [Job("94_resume", 0, "smoke"), Job("94_resume", 1, "smoke")]
    info = {
        "fit": 2,
        "desc": "long fit",
        "state": "training",
        "epoch": 8,
        "max_epochs": 40,
        "n_updates": 80,
        "members": 3,
        "stopped": 1,
        "resumed_at": 0,
        "eta_s": 12.0,
    }
    path = jobs[0].folder(tmp_path) / CHECKPOINTS / PROGRESS_NAME
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(info))
    watch = Watch(30.0)
    assert reproduce.progress_lines(watch, jobs, tmp_path) == [
        "  94_resume seed 0: fit 2 (long fit) epoch 8/40, 80 updates, 1/3 members stopped; "
        "at most 12s left"
    ]
    assert reproduce.progress_lines(watch, jobs, tmp_path) == []  # unchanged: nothing new


def test_force_starts_afresh_and_the_checkpoint_interval_reaches_the_jobs(
    monkeypatch, tmp_path, capsys
):
    from sbcore.__main__ import main

    seen = []
    monkeypatch.setattr(
        schedule,
        "_run_jobs",
        lambda todo, out, **k: seen.append((k["fresh"], k["checkpoint_every"])) or [],
    )
    reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, log=lambda m: None)
    reproduce.run(
        "smoke", [0], ["01"], out_dir=tmp_path, force=True, checkpoint_every=5, log=lambda m: None
    )
    assert seen == [(False, None), (True, 5)]
    with pytest.raises(ValueError, match="--checkpoint-every must be >= 0"):
        reproduce.run("smoke", [0], ["01"], out_dir=tmp_path, checkpoint_every=-1)
    assert (
        main(
            [
                "reproduce",
                "--scale",
                "smoke",
                "--chapters",
                "01",
                "--out",
                str(tmp_path),
                "--checkpoint-every",
                "0",
            ]
        )
        == 0
    )
    assert seen[-1] == (False, 0.0)
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--scale", "smoke", "--checkpoint-every", "soon"])
    assert e.value.code == 2 and "--checkpoint-every" in capsys.readouterr().err


def test_run_job_points_the_kernel_at_the_job_checkpoints(tmp_path, monkeypatch):
    """The kernel's environment (read from the kernel manager run_job builds), without a kernel."""
    import papermill as pm

    from sbcore.reproduce import jobs

    def fake_execute(notebook, output, **kw):
        raise RuntimeError("no kernel here")

    captured = {}
    real = jobs._kernel_manager
    monkeypatch.setattr(
        jobs,
        "_kernel_manager",
        lambda env, cwd, stderr: captured.update(env) or real(env, cwd, stderr),
    )
    monkeypatch.setattr(pm, "execute_notebook", fake_execute)
    job = Job("95_env", 0, "smoke")
    m = reproduce.run_job(
        job,
        str(tmp_path),
        notebook=str(tmp_path / "95_env.ipynb"),
        commit="c0",
        checkpoint_every=12.5,
    )
    assert m["status"] == "failed"
    ckpts = job.folder(tmp_path) / CHECKPOINTS
    assert captured["SBCORE_CHECKPOINT_DIR"] == str(ckpts)
    assert captured["SBCORE_CHECKPOINT_SECONDS"] == "12.5"
    assert json.loads((ckpts / OWNER).read_text()) == {
        "config": {
            "chapter": "95_env",
            "seed": 0,
            "scale": "smoke",
            "strict": False,
            "device": "auto",
            "params": [],
        },
        "commit": "c0",
    }
