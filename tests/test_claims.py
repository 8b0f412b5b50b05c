"""Claim records, verdicts, pooling over seeds, the scoreboard and scale presets."""

import json

import pytest

from sbcore import claims, extreme
from sbcore.registry import CLAIMS
from sbcore.scales import choose, resolve_scale


def _rec(values, **kw):
    base = dict(paper="0.50", kind="within", target=0.5, tol=0.03, data="LMS-5", scale="smoke",
                chapter="02_extreme_sb_slabs")
    return claims.check(5, "S-randomized AUC", values, **{**base, **kw})


def test_registry_has_all_31_claims():
    assert sorted(CLAIMS) == list(range(1, 32))


def test_verdicts():
    assert _rec([0.49, 0.51, 0.50]).passed
    assert not _rec([0.56, 0.55]).passed
    assert _rec([0.995, 1.0], kind="at_least", target=0.99).passed
    assert not _rec([0.98, 1.0], kind="at_least", target=0.99).passed  # every seed must pass
    assert _rec([0.01], kind="at_most", target=0.05).passed
    assert _rec([0.94, 0.95], kind="between", target=0.93, tol=0.96).passed
    assert not _rec([float("nan")]).passed


def test_mean_std_and_text():
    r = _rec([0.4, 0.6])
    assert r.mean == pytest.approx(0.5) and r.std == pytest.approx(0.141421, abs=1e-6)
    assert r.ours == "0.500 ± 0.141 (n=2)" and r.verdict == "reproduced"


def test_strict_raises_and_bad_arguments():
    with pytest.raises(claims.ClaimNotReproduced, match="#5"):
        _rec([0.7], strict=True)
    with pytest.raises(ValueError, match="claim"):
        claims.check(99, "x", [1], paper="", kind="within", target=0, data="", scale="", chapter="")
    with pytest.raises(ValueError, match="kind"):
        _rec([0.5], kind="roughly")


def test_save_load_merge_and_scoreboard(tmp_path):
    p1 = claims.save_records([_rec([0.50, 0.51])], tmp_path / "a.json", metadata={"seed": 0})
    p2 = claims.save_records([_rec([0.52])], tmp_path / "b.json", metadata={"seed": 1})
    assert json.loads(p1.read_text())["metadata"] == {"seed": 0}
    merged = claims.merge(claims.load_records([p1, p2]))
    assert len(merged) == 1 and merged[0].values == [0.50, 0.51, 0.52]
    assert merged[0].mean == pytest.approx(0.51) and merged[0].passed  # pooled mean
    p3 = claims.save_records([_rec([0.60, 0.62])], tmp_path / "c.json", metadata={"seed": 2})
    assert not claims.merge(claims.load_records([p1, p3]))[0].passed  # mean 0.5575
    board = claims.scoreboard(merged)
    assert len(board) == 31
    assert board[4]["verdict"] == "reproduced"
    assert board[0]["verdict"] == "not covered yet"
    table = claims.markdown_table(board, ["claim", "verdict"])
    assert table.count("\n") == 32


def test_scales_and_presets(monkeypatch):
    monkeypatch.delenv("SBCORE_SCALE", raising=False)
    assert resolve_scale(None) == "book"
    monkeypatch.setenv("SBCORE_SCALE", "smoke")
    assert resolve_scale(None) == "smoke"
    with pytest.raises(ValueError, match="scale must be one of"):
        resolve_scale("huge")
    cfg = extreme.config("book", n_train=123)
    assert cfg.n_train == 123 and cfg.n_test == extreme.PRESETS["book"].n_test
    assert extreme.config("paper").n_train == 50_000  # the paper LMS-5 sample size
    assert extreme.config("paper").n_seeds >= 5
    with pytest.raises(ValueError, match="n_train"):
        extreme.config("book", n_train=-5)
    with pytest.raises(ValueError, match="unknown parameter"):
        choose(extreme.PRESETS, "book", n_trian=5)
    with pytest.raises(ValueError, match="model"):
        extreme.config("book", models=("(100,1)-MLP",))


def test_known_deviation_does_not_raise_but_stays_not_reproduced():
    r = _rec([0.7], strict=True, known_deviation="stated before the run")
    assert not r.passed and r.verdict.startswith("not reproduced (known")
    board = claims.scoreboard([r])
    assert board[4]["verdict"].startswith("not reproduced")


def test_not_run_records_keep_a_claim_from_counting_as_reproduced():
    skipped = claims.not_run(6, "S-randomized AUC, (32,7,1)-CNN", paper="0.50", reason="too slow",
                             data="MS-(5,7)", scale="book", chapter="02_extreme_sb_slabs")
    ok = claims.check(6, "S-randomized AUC, (100,1)-FCN", [0.5], paper="0.50", kind="within",
                      target=0.5, tol=0.03, data="MS-(5,7)", scale="book", chapter="02_extreme_sb_slabs")
    assert skipped.verdict.startswith("not run") and skipped.ours == "—"
    board = claims.scoreboard([ok, skipped])
    assert board[5]["verdict"].startswith("partly checked")
    assert claims.scoreboard([skipped])[5]["verdict"] == "not run at this scale"
    loaded = claims.merge([skipped, skipped])
    assert loaded[0].not_run and not loaded[0].passed
