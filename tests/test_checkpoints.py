"""Checkpoints of a fit: a run stopped and resumed equals an uninterrupted one bit for bit on the
CPU (weights, History, the random state it leaves); a finished checkpoint fast-forwards; a file of
another fit, or a corrupt one, raises naming it; automatic checkpoints and progress lines."""

import json
from dataclasses import replace

import pytest
import torch

from sbcore import checkpoints
from sbcore.checkpoints import Checkpoint, CheckpointError, Watch, progress_line
from sbcore.data import make_lms
from sbcore.models import ModelSpec
from sbcore.models.stacked import StackedFCN
from sbcore.train import TrainConfig, fit


class Stop(Exception):
    """Stands in for a kill (KeyboardInterrupt, SIGTERM) in the middle of training."""


@pytest.fixture(autouse=True)
def _no_automatic_checkpoints(monkeypatch):
    monkeypatch.delenv(checkpoints.ENV_DIR, raising=False)
    monkeypatch.setattr(checkpoints, "_calls", 0)


@pytest.fixture(scope="module")
def lms():
    return make_lms(600, seed=0)


def _fcn(**kw):
    return StackedFCN(50, width=16, depth=2, n_models=3, seeds=[0, 1, 2], **kw)


def _bn_mlp():  # an ordinary module with buffers (BatchNorm running statistics)
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(50, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    )


BASE = TrainConfig(batch_size=64, max_epochs=8, stop_loss=None)
CASES = {
    "sgd_momentum_step": (
        _fcn,
        replace(BASE, momentum=0.9, schedule="step", step_every=2, step_gamma=0.5),
        1,
    ),
    "sgd_per_member": (
        _fcn,
        replace(
            BASE, lr=(0.1, 0.05, 0.2), momentum=(0.9, 0.5, 0.0), weight_decay=(0.0, 1e-3, 1e-4)
        ),
        1,
    ),
    "adam": (_fcn, replace(BASE, optimizer="adam", lr=1e-3), 1),
    "adam_per_member": (_fcn, replace(BASE, optimizer="adam", lr=(1e-3, 3e-3, 1e-2)), 1),
    "rmsprop_momentum": (_fcn, replace(BASE, optimizer="rmsprop", lr=1e-3, momentum=0.5), 1),
    "dropout": (lambda: _fcn(dropout=0.3), replace(BASE, momentum=0.9), 1),
    "early_stops": (
        lambda: StackedFCN(50, width=32, depth=1, n_models=3, seeds=[0, 1, 2]),
        replace(BASE, lr=(0.5, 0.2, 0.05), momentum=0.9, stop_loss=0.05, max_epochs=30),
        1,
    ),
    "eval_every": (_fcn, replace(BASE, momentum=0.9), 3),
    "ordinary_batchnorm": (_bn_mlp, replace(BASE, momentum=0.9, max_updates=70), 1),
}


def _callback(stop_at, calls):
    def cb(model, epoch):
        calls.append(epoch)
        if epoch == stop_at:
            raise Stop(epoch)
        w = next(model.parameters()).detach()
        return {"w_sum": float(w.sum()), "w0": w.reshape(-1)[:2].tolist()}

    return cb


def _fit(case, data, path=None, stop_at=None, every=1, calls=None):
    build, cfg, eval_every = CASES[case]
    model = build()
    ckpt = None if path is None else Checkpoint(path, every=every)
    hist = fit(
        model,
        data.x,
        data.y,
        cfg,
        seed=7,
        progress=False,
        checkpoint=ckpt,
        callback=_callback(stop_at, [] if calls is None else calls),
        eval_every=eval_every,
    )
    return model, hist


def _same(a, b):
    (ma, ha), (mb, hb) = a, b
    sa, sb = ma.state_dict(), mb.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert ha.loss == hb.loss and ha.evals == hb.evals
    assert ha.n_updates == hb.n_updates and ha.stopped_epoch == hb.stopped_epoch
    assert ha.config == hb.config


@pytest.mark.parametrize("case", list(CASES))
def test_stopped_and_resumed_equals_uninterrupted(case, lms, tmp_path):
    torch.manual_seed(123)
    plain = _fit(case, lms)
    rng_after = torch.get_rng_state()
    stop_at = 6 if case == "eval_every" else 5  # eval_every=3: evals at 3 (saved) and 6 (stops)
    torch.manual_seed(123)
    path = tmp_path / "fit.pt"
    with pytest.raises(Stop):
        _fit(case, lms, path, stop_at=stop_at, every=2)
    assert torch.load(path, weights_only=True)["epoch"] == 4  # the epoch-4 save survived
    torch.manual_seed(999)  # whatever the global RNG is now, the checkpoint's state is restored
    resumed = _fit(case, lms, path)
    _same(resumed, plain)
    assert torch.equal(torch.get_rng_state(), rng_after)  # code after the fit sees the same RNG
    if case == "early_stops":
        stopped = resumed[1].stopped_epoch
        assert len(set(stopped)) == 3 and min(stopped) < 4 < max(stopped), stopped
    # a rerun of the finished fit fast-forwards to the same weights, History and RNG
    torch.manual_seed(5)
    again = _fit(case, lms, path)
    _same(again, plain)
    assert torch.equal(torch.get_rng_state(), rng_after)


def test_finished_checkpoint_fast_forwards_without_a_step(lms, tmp_path, monkeypatch):
    path = tmp_path / "fit.pt"
    first = _fit("sgd_momentum_step", lms, path)
    from sbcore import train

    steps, calls = [], []
    real = train.train_step
    monkeypatch.setattr(
        train, "train_step", lambda *a, **k: lambda idx, s=real(*a, **k): (steps.append(1), s(idx))
    )
    again = _fit("sgd_momentum_step", lms, path, calls=calls)
    assert steps == [] and calls == []  # no training step, no callback
    _same(again, first)
    assert again[0].training is False and again[1].seconds == first[1].seconds


def test_checkpoint_of_another_fit_raises_naming_the_file(lms, tmp_path):
    path = tmp_path / "other.pt"
    _, cfg, _ = CASES["sgd_momentum_step"]
    fit(_fcn(), lms.x, lms.y, replace(cfg, max_epochs=2), progress=False, checkpoint=path)
    with pytest.raises(ValueError, match=r"other\.pt belongs to another fit .*config\.max_epochs"):
        fit(_fcn(), lms.x, lms.y, cfg, progress=False, checkpoint=path)
    wide = StackedFCN(50, width=17, depth=2, n_models=3, seeds=[0, 1, 2])
    with pytest.raises(ValueError, match=r"other\.pt belongs to another fit .*tensors"):
        fit(wide, lms.x, lms.y, replace(cfg, max_epochs=2), progress=False, checkpoint=path)
    with pytest.raises(ValueError, match=r"other\.pt .*(seed)"):
        fit(
            _fcn(),
            lms.x,
            lms.y,
            replace(cfg, max_epochs=2),
            seed=1,
            progress=False,
            checkpoint=path,
        )
    with pytest.raises(ValueError, match=r"other\.pt .*x\.digest"):
        fit(_fcn(), lms.x + 1, lms.y, replace(cfg, max_epochs=2), progress=False, checkpoint=path)
    reseeded = StackedFCN(50, width=16, depth=2, n_models=3, seeds=[0, 1, 5])
    with pytest.raises(ValueError, match=r"other\.pt .*init"):  # another initialization
        fit(reseeded, lms.x, lms.y, replace(cfg, max_epochs=2), progress=False, checkpoint=path)


def test_checkpoint_loads_weights_only_and_a_corrupt_one_raises(lms, tmp_path):
    path = tmp_path / "fit.pt"
    with pytest.raises(Stop):
        _fit("adam", lms, path, stop_at=3)
    payload = torch.load(path, weights_only=True)
    assert not payload["done"] and payload["epoch"] == 2
    assert set(payload) >= {"model", "optimizer", "history", "rng", "fingerprint", "stop_saved"}
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file went by os.replace
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint .*fit\.pt cannot be read"):
        _fit("adam", lms, path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"fit\.pt cannot be read"):
        _fit("adam", lms, path)
    torch.save({"a": 1}, path)
    with pytest.raises(CheckpointError, match=r"fit\.pt holds no sbcore checkpoint"):
        _fit("adam", lms, path)


def test_callback_results_are_kept_as_weights_only_loads_them(lms, tmp_path):
    import numpy as np

    with pytest.raises(TypeError, match=r"callback's result.*ndarray"):
        fit(
            _fcn(),
            lms.x,
            lms.y,
            replace(BASE, max_epochs=2),
            progress=False,
            checkpoint=tmp_path / "f.pt",
            callback=lambda m, e: {"a": np.zeros(2)},
            eval_every=1,
        )

    def numpy_scalars(m, epoch):  # np.float64 is a float, but pickles as numpy: kept as a float
        return {"mean": np.float64(epoch / 2), "n": np.int64(epoch), "t": torch.ones(2) * epoch}

    path, cfg = tmp_path / "g.pt", replace(BASE, max_epochs=3)
    plain = fit(_fcn(), lms.x, lms.y, cfg, progress=False, callback=numpy_scalars, eval_every=1)
    again = fit(
        _fcn(),
        lms.x,
        lms.y,
        cfg,
        progress=False,
        callback=numpy_scalars,
        eval_every=1,
        checkpoint=path,
    )
    saved = torch.load(path, weights_only=True)["history"]["evals"]
    assert [type(e["mean"]) for e in saved] == [float] * 3 and saved[2]["n"] == 3
    restored = fit(
        _fcn(),
        lms.x,
        lms.y,
        cfg,
        progress=False,
        callback=numpy_scalars,
        eval_every=1,
        checkpoint=path,
    ).evals
    for a, b in zip(plain.evals, restored):
        assert a["mean"] == b["mean"] and a["n"] == b["n"] and torch.equal(a["t"], b["t"])
    assert again.evals[0]["mean"] == 0.5


def test_saves_follow_the_interval_and_the_share_of_time(lms, tmp_path, monkeypatch):
    import time

    saves = []
    write = checkpoints._write

    def slow_write(path, payload):
        time.sleep(0.05)
        saves.append(payload["done"])
        write(path, payload)

    monkeypatch.setattr(checkpoints, "_write", slow_write)
    cfg = replace(BASE, max_epochs=6)
    for ckpt, want in [
        (Checkpoint(tmp_path / "a.pt", every=2), 2),  # epochs 2, 4 (6 is the end)
        (Checkpoint(tmp_path / "b.pt", every=None, seconds=0.0), 5),
        (Checkpoint(tmp_path / "c.pt", every=None), 0),
        # a 50 ms save with share 1e-3 waits 50 s before the next
        (Checkpoint(tmp_path / "d.pt", every=None, seconds=0.0, share=1e-3), 1),
    ]:
        saves.clear()
        fit(_fcn(), lms.x, lms.y, cfg, progress=False, checkpoint=ckpt)
        assert saves == [False] * want + [True], ckpt


def test_checkpoint_arguments_are_checked():
    with pytest.raises(ValueError, match="every"):
        Checkpoint("x.pt", every=0)
    with pytest.raises(ValueError, match="seconds"):
        Checkpoint("x.pt", seconds=-1)
    with pytest.raises(ValueError, match="share"):
        Checkpoint("x.pt", share=0)


def test_automatic_checkpoints_per_fit_call(lms, tmp_path, monkeypatch):
    monkeypatch.setenv(checkpoints.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(checkpoints.ENV_SECONDS, "0")
    monkeypatch.setattr(checkpoints, "PROGRESS_SECONDS", 0.0)

    def two_fits():
        out = []
        for width in (8, 12):
            model = ModelSpec.parse(f"({width},1)-FCN").build(50, seeds=[0, 1])
            out.append(
                (
                    model,
                    fit(
                        model,
                        lms.x,
                        lms.y,
                        replace(BASE, max_epochs=3),
                        progress=False,
                        desc=f"w{width}",
                    ),
                )
            )
        return out

    first = two_fits()
    names = sorted(p.name for p in tmp_path.glob("fit-*.pt"))
    assert [n.split("-")[1] for n in names] == ["1", "2"] and len(names) == 2
    info = json.loads((tmp_path / "progress.json").read_text())
    assert info["fit"] == 2 and info["desc"] == "w12" and info["state"] == "done"
    monkeypatch.setattr(checkpoints, "_calls", 0)  # a rerun of the notebook: the same calls
    for a, b in zip(first, two_fits()):
        _same(a, b)
    assert sorted(p.name for p in tmp_path.glob("fit-*.pt")) == names
    assert (
        fit(
            _fcn(), lms.x, lms.y, replace(BASE, max_epochs=1), progress=False, checkpoint=False
        ).n_epochs
        == 1
    )  # False: no checkpoint even with the variable set
    assert len(list(tmp_path.glob("fit-*.pt"))) == 2
    monkeypatch.setenv(checkpoints.ENV_SECONDS, "soon")
    with pytest.raises(ValueError, match="SBCORE_CHECKPOINT_SECONDS must be a number"):
        fit(_fcn(), lms.x, lms.y, replace(BASE, max_epochs=1), progress=False)


def test_progress_lines():
    info = {
        "fit": 3,
        "desc": "MS-(5,7) FCN",
        "state": "training",
        "epoch": 120,
        "max_epochs": 500,
        "n_updates": 960,
        "max_updates": None,
        "members": 5,
        "stopped": 2,
        "resumed_at": 0,
        "eta_s": 130.4,
    }
    assert progress_line("02 seed 0", info) == (
        "  02 seed 0: fit 3 (MS-(5,7) FCN) epoch 120/500, 960 updates, 2/5 members stopped; "
        "at most 2m10s left"
    )
    assert progress_line("j", {**info, "state": "done", "members": 1, "max_updates": 1000}) == (
        "  j: fit 3 (MS-(5,7) FCN) epoch 120/500, 960/1000 updates; ended"
    )
    assert progress_line("j", {**info, "eta_s": None, "resumed_at": 40}).endswith(
        "resumed at epoch 40"
    )
    assert "1h05m left" in progress_line("j", {**info, "eta_s": 3900})


def test_watch_prints_changes_at_most_every_30_s(tmp_path):
    import os
    import time

    now = [0.0]
    watch = Watch(every=30.0, since=time.time() - 60, clock=lambda: now[0])
    path, missing, old = tmp_path / "a.json", tmp_path / "none.json", tmp_path / "old.json"
    info = {
        "fit": 1,
        "desc": "d",
        "state": "training",
        "epoch": 1,
        "max_epochs": 9,
        "n_updates": 4,
        "members": 1,
        "eta_s": 10,
    }
    path.write_text(json.dumps(info))
    old.write_text(json.dumps(info))
    os.utime(old, (time.time() - 3600,) * 2)  # an earlier run's file
    files = {"job a": path, "job b": missing, "job c": old}
    assert watch.lines(files) == [progress_line("job a", info)]
    now[0] = 10.0
    assert watch.lines(files) == []  # nothing changed
    path.write_text(json.dumps({**info, "epoch": 2}))
    now[0] = 20.0
    assert watch.lines(files) == []  # changed, but 20 s after the last line
    now[0] = 31.0
    assert watch.lines(files) == [progress_line("job a", {**info, "epoch": 2})]
    path.write_text("{half")
    now[0] = 200.0
    assert watch.lines(files) == []  # a torn read is skipped, not fatal


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("graph", [False, True])
def test_resume_on_cuda(graph, lms, tmp_path):
    """The CUDA generator's state too (dropout); eager: bit for bit; captured: as eager vs graph."""
    x, y = lms.x.cuda(), lms.y.cuda()
    cfg = replace(BASE, momentum=0.9, lr=(0.1, 0.05, 0.2), cuda_graph=graph)

    def run(path=None, stop_at=None):
        model = _fcn(dropout=0.2).cuda()
        hist = fit(
            model,
            x,
            y,
            cfg,
            seed=7,
            progress=False,
            eval_every=1,
            checkpoint=None if path is None else Checkpoint(path, every=2),
            callback=_callback(stop_at, []),
        )
        return model, hist

    torch.cuda.manual_seed(1)
    plain = run()
    torch.cuda.manual_seed(1)
    with pytest.raises(Stop):
        run(tmp_path / "c.pt", stop_at=5)
    torch.cuda.manual_seed(2)
    (m, h), (mp, hp) = run(tmp_path / "c.pt"), plain
    assert h.n_updates == hp.n_updates and h.stopped_epoch == hp.stopped_epoch
    for p, q in zip(m.parameters(), mp.parameters()):
        if graph:
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
        else:
            assert torch.equal(p, q)
    if not graph:
        assert h.loss == hp.loss and h.evals == hp.evals
