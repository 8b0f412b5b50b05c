"""The README's results table is generated from a recorded scoreboard: a test fails when they
disagree, and when the README carries numbers typed by hand in that section."""

import json

import pytest

from sbcore import readme
from sbcore.runtime import project_root

ROOT = project_root()


def test_readme_results_table_matches_the_recorded_scoreboard():
    recorded = ROOT / readme.RECORDED
    if not recorded.exists():
        pytest.fail(f"{readme.RECORDED} is missing: run `make results` after `make book`")
    _, body, _ = readme._split((ROOT / "README.md").read_text())
    assert body.strip() == readme.render(recorded).strip(), (
        "README.md's results table disagrees with the recorded scoreboard; run "
        "`python -m sbcore.readme --update`")


def test_render_recomputes_verdicts_from_values(tmp_path):
    recorded = json.loads((ROOT / readme.RECORDED).read_text())
    rec = next(r for r in recorded["records"] if r["kind"] == "at_least" and r["values"])
    rec["values"] = [rec["target"] - 1.0] * len(rec["values"])  # now failing, whatever "passed" says
    path = tmp_path / "board.json"
    path.write_text(json.dumps(recorded))
    assert readme.render(path) != readme.render(ROOT / readme.RECORDED)
    assert "not reproduced" in readme.render(path)


def test_split_needs_the_markers():
    with pytest.raises(ValueError, match="results:start"):
        readme._split("# README without a results section\n")
