"""The README's results table is generated from a recorded scoreboard: a test fails when they
disagree, and when the README carries numbers typed by hand in that section."""

import json
from pathlib import Path

import pytest

from sbcore.reproduce import readme
from sbcore.runtime import project_root

ROOT = project_root()


def test_readme_results_table_matches_the_recorded_scoreboard():
    recorded = ROOT / readme.RECORDED
    if not recorded.exists():
        pytest.fail(f"{readme.RECORDED} is missing: run `make results` after `make book`")
    _, body, _ = readme._split((ROOT / "README.md").read_text())
    assert body.strip() == readme.render(recorded).strip(), (
        "README.md's results table disagrees with the recorded scoreboard; run "
        "`python -m sbcore.reproduce.readme --update`"
    )


def test_render_recomputes_verdicts_from_values(tmp_path):
    recorded = json.loads((ROOT / readme.RECORDED).read_text())
    rec = next(r for r in recorded["records"] if r["kind"] == "at_least" and r["values"])
    rec["values"] = [rec["target"] - 1.0] * len(
        rec["values"]
    )  # now failing, whatever "passed" says
    path = tmp_path / "board.json"
    path.write_text(json.dumps(recorded))
    assert readme.render(path) != readme.render(ROOT / readme.RECORDED)
    assert "not reproduced" in readme.render(path)


def test_split_needs_the_markers():
    with pytest.raises(ValueError, match="results:start"):
        readme._split("# README without a results section\n")


# ---------------------------------------------------------------- tampering is refused


def _board(tmp_path, edit=None) -> Path:
    """A copy of the recorded scoreboard, marked as a build with the presets' settings (as
    ``make results`` writes it), after ``edit(payload)``."""
    payload = json.loads((ROOT / readme.RECORDED).read_text())
    for chapter, run in payload["runs"].items():
        mine = [r for r in payload["records"] if r["chapter"] == chapter]
        run.setdefault("overrides", {})
        run.setdefault("n_records", len(mine))
        run.setdefault("n_not_run", sum("not_run" in r["meta"] for r in mine))
    if edit:
        edit(payload)
    path = tmp_path / "board.json"
    path.write_text(json.dumps(payload))
    return path


def _failing(payload, claim):
    from sbcore.claims import parse_records

    recs = parse_records(payload["records"], where="board")
    return [i for i, r in enumerate(recs) if r.claim == claim and not r.not_run and not r.passed]


def test_a_recorded_criterion_that_disagrees_with_the_registry_is_refused(tmp_path):
    def widen(payload):  # #9's failing Sc-randomized AUC, its bar lowered to what it measured
        for i in _failing(payload, 9):
            payload["records"][i]["target"] = 0.5

    assert _failing(json.loads(_board(tmp_path).read_text()), 9), "#9 fails in the recorded build"
    with pytest.raises(ValueError, match="disagrees with the registry"):
        readme.render(_board(tmp_path, widen))
    assert readme.main(["--save", str(_board(tmp_path, widen)), "--check"]) == 2

    def tolerance(payload):
        r = next(r for r in payload["records"] if r["kind"] == "mean_within" and r["tol"])
        r["tol"] *= 10

    with pytest.raises(ValueError, match="stored tol"):
        readme.render(_board(tmp_path, tolerance))


def test_deleting_failing_records_or_marking_one_not_run_is_refused(tmp_path):
    def delete(payload):
        drop = set(_failing(payload, 9))
        payload["records"] = [r for i, r in enumerate(payload["records"]) if i not in drop]

    with pytest.raises(ValueError, match="records were removed or edited"):
        readme.render(_board(tmp_path, delete))

    def delete_check(payload):  # every record of one check, the counts edited to match
        payload["records"] = [r for r in payload["records"] if r["check"] != "slabs.wide.sc_auc"]
        payload["runs"]["02_extreme_sb_slabs"]["n_records"] = sum(
            r["chapter"] == "02_extreme_sb_slabs" for r in payload["records"]
        )

    with pytest.raises(ValueError, match="has no record of check"):
        readme.render(_board(tmp_path, delete_check))

    def skip(payload):
        payload["records"][_failing(payload, 9)[0]]["meta"]["not_run"] = "left out"

    with pytest.raises(ValueError, match="did not run holds values"):
        readme.render(_board(tmp_path, skip))

    def skip_and_empty(payload):
        i = _failing(payload, 9)[0]
        payload["records"][i]["meta"]["not_run"], payload["records"][i]["values"] = "left out", []

    with pytest.raises(ValueError, match="records were removed or edited"):
        readme.render(_board(tmp_path, skip_and_empty))


def test_unknown_claims_duplicates_and_malformed_files_are_named(tmp_path):
    def unknown(payload):
        payload["records"][0]["claim"] = 99

    with pytest.raises(ValueError, match="board.json.*#99"):
        readme.render(_board(tmp_path, unknown))

    def twice(payload):
        payload["records"].append(dict(payload["records"][0]))

    with pytest.raises(ValueError, match="board.json: duplicate"):
        readme.render(_board(tmp_path, twice))
    bad = tmp_path / "broken.json"
    bad.write_text('{"runs": {}, "records": [')
    with pytest.raises(ValueError, match="broken.json"):
        readme.render(bad)
    bad.write_text('{"runs": [], "records": []}')
    with pytest.raises(ValueError, match="broken.json"):
        readme.render(bad)


def test_only_a_complete_book_build_of_one_commit_with_the_presets_is_rendered(tmp_path):
    cases = [
        (lambda p: p["runs"].pop("05_fragility"), "no records of chapter.*05_fragility"),
        (lambda p: p["runs"]["02_extreme_sb_slabs"].update(scale="smoke"), "smoke scale"),
        (
            lambda p: p["runs"]["02_extreme_sb_slabs"].update(overrides={"train.momentum": 0}),
            "overridden settings.*momentum",
        ),
        (lambda p: p["runs"]["02_extreme_sb_slabs"].pop("overrides"), "which knobs"),
        (lambda p: p["runs"]["00_theory"].update(commit="0123abc"), "2 commits"),
        (
            lambda p: [m.update(commit="0123abc+dirty.1") for m in p["runs"].values()],
            "uncommitted",
        ),
    ]
    for edit, message in cases:
        with pytest.raises(ValueError, match=message):
            readme.render(_board(tmp_path, edit))
    readme.render(_board(tmp_path))  # the untouched copy renders


def test_make_results_refuses_a_rerun_folder_and_keeps_the_recorded_file(tmp_path, monkeypatch):
    """Records of a smoke-scale rerun of one chapter (with an overridden knob) are not a book
    build: `make results` says so and leaves the recorded scoreboard as it was."""
    import sbcore

    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    run = sbcore.start("01", scale="smoke", n_samples=2000, progress=False, strict=False)
    run.check("datasets.bayes_exact", [1.0], data="1-D blocks", block="linear")
    assert run.finish().parent == tmp_path / "records" and run.overrides == {"n_samples": 2000}
    out = tmp_path / "board.json"
    out.write_text("kept")
    with pytest.raises(ValueError, match="no records of chapter"):
        readme.record(tmp_path / "records", out)
    assert out.read_text() == "kept"
    assert readme.main(["--records", str(tmp_path / "records"), "--save", str(out)]) == 2


def test_reruns_never_write_where_the_book_build_and_make_results_read(monkeypatch):
    """Without $SBCORE_RECORDS_DIR (a papermill, Jupyter or script rerun) records go to
    _build/reruns/records; only `make book` points the chapters at _build/records, which `make
    results` reads."""
    from sbcore import runtime

    monkeypatch.delenv("SBCORE_RECORDS_DIR", raising=False)
    assert runtime.records_dir() == ROOT / runtime.RERUN_RECORDS != ROOT / runtime.BOOK_RECORDS
    make = (ROOT / "Makefile").read_text()
    book = make[make.index("\nbook:") : make.index("\ntest:")]
    assert "SBCORE_RECORDS_DIR=$(abspath _build/records)" in book
    assert "--records _build/records" in make[make.index("\nresults:") :]


def test_make_results_refuses_two_files_of_one_chapter(tmp_path, monkeypatch):
    """A copy of a chapter's records file would pool one run twice as extra seeds."""
    import shutil

    import sbcore

    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    run = sbcore.start("01", scale="smoke", progress=False, strict=False)
    run.check("datasets.bayes_exact", [1.0], data="1-D blocks", block="linear")
    path = run.finish()
    shutil.copy(path, path.with_name("copy.json"))
    with pytest.raises(ValueError, match="duplicate record"):
        readme.record(tmp_path / "records", tmp_path / "board.json")


def test_a_build_outside_git_is_not_a_commit(tmp_path):
    with pytest.raises(ValueError, match="outside git"):
        readme.render(
            _board(tmp_path, lambda p: [m.update(commit="unknown") for m in p["runs"].values()])
        )
