"""Progress reports: a bar in a terminal, one updated line per notebook cell, few lines in logs."""

import io

import pytest
import torch

from sbcore import progress as P
from sbcore.train import TrainConfig, fit


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _run(n, step, every=30.0):
    clock, out = Clock(), io.StringIO()
    shown = P.progress(range(n), desc="fit", total=n, every=every, file=out, clock=clock)
    for _ in shown:
        clock.t += step
        shown.set_postfix(loss="0.5")
    shown.close()
    return out.getvalue().splitlines()


def test_report_text_by_hand():
    clock = Clock()
    r = P.Report(range(40), desc="FCN", total=40, initial=10, show=lambda t, f: None, clock=clock)
    it = iter(r)
    next(it)
    clock.t = 12.0
    next(it)  # 11 of 40 done, 1 of them in this run, 12 s: 29 left at 12 s each
    r.set_postfix(loss="0.1234")
    assert r.text() == "FCN: 11/40 epochs (28%), 0:12 elapsed, ~5:48 left, loss=0.1234"


def test_lines_are_silent_for_short_loops_and_few_for_long_ones(monkeypatch):
    monkeypatch.setenv("SBCORE_PROGRESS", "lines")
    assert _run(8, 1.0) == []  # 8 s: nothing at all
    lines = _run(100, 1.0)  # 100 s at 30 s per line: lines at 30, 60, 90 s, then the last
    assert len(lines) == 4 and lines[0].startswith("fit: 30/100 epochs (30%), 0:30 elapsed")
    assert lines[-1] == "fit: 100/100 epochs (100%), 1:40 elapsed, loss=0.5 (done)"


def test_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("SBCORE_PROGRESS", "off")
    assert P.mode() == "off" and _run(100, 1.0) == []
    monkeypatch.setenv("SBCORE_PROGRESS", "widget")
    with pytest.raises(ValueError, match=r"^\$SBCORE_PROGRESS must be one of"):
        P.mode()
    monkeypatch.delenv("SBCORE_PROGRESS")
    assert P.mode() == "lines"  # pytest's stderr is no terminal and there is no kernel


def test_fit_reports_through_progress_and_disable_silences_it(monkeypatch, capsys):
    monkeypatch.setenv("SBCORE_PROGRESS", "lines")
    monkeypatch.setattr(P, "EVERY", 0.0)  # a line after every epoch
    x, y = torch.randn(64, 5), torch.randint(0, 2, (64,))
    net = torch.nn.Linear(5, 2)
    fit(net, x, y, TrainConfig(max_epochs=3, stop_loss=None), seed=0, progress=True, desc="lin")
    err = capsys.readouterr().err.splitlines()
    assert [e.split(" (")[0] for e in err[:3]] == [
        "lin: 1/3 epochs",
        "lin: 2/3 epochs",
        "lin: 3/3 epochs",
    ]
    assert "loss=" in err[0] and err[-1].endswith("(done)")
    fit(net, x, y, TrainConfig(max_epochs=3, stop_loss=None), seed=0, progress=False)
    assert capsys.readouterr().err == ""
