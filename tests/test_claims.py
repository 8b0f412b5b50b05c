"""The claims layer: the check registry, records re-evaluated from values, pooling, the scoreboard
with the four headline claims, and a chapter's Run (parameters validated before anything trains)."""

import dataclasses
import json

import pytest

import sbcore
from sbcore import claims
from sbcore.chapters import ch02_extreme_sb_slabs as ch02
from sbcore.claims import CHECKS, CLAIMS
from sbcore.claims.checks import CHAPTER_CHECKS
from sbcore.claims.checks.base import KINDS, Bar, PerField, passes
from sbcore.claims.run import Run
from sbcore.runtime import project_root
from sbcore.scales import resolve_scale

ROOT_DIR = project_root()


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    r = sbcore.start("02_extreme_sb_slabs", scale="smoke", strict=False, progress=False)
    return r


def test_registry_has_all_31_claims_and_every_check_is_sourced_and_reasoned():
    assert sorted(CLAIMS) == list(range(1, 32))
    assert len(CHECKS) > 40
    for key, c in CHECKS.items():
        assert c.key == key and c.claim in CLAIMS and c.kind in KINDS
        assert c.source.strip() and c.paper.strip(), (
            key
        )  # the paper's value and where it is printed
        assert len(c.rationale.split()) >= 5, key  # one line: how the bar follows from the paper


def test_criteria_hand_computed():
    assert passes("mean_within", [0.49, 0.51, 0.50], 0.5, 0.02)
    assert passes("mean_within", [0.40, 0.60], 0.5, 0.02)  # the mean only: one bad seed can pass
    assert not passes("all_within", [0.40, 0.60], 0.5, 0.02)  # every seed
    assert passes("at_least", [0.995, 1.0], 0.995) and not passes("at_least", [0.99, 1.0], 0.995)
    assert passes("at_most", [0.01], 0.05) and not passes("at_most", [0.01, 0.06], 0.05)
    assert passes("between", [0.94, 0.95], 0.934, upper=0.955)
    assert not passes("between", [0.96], 0.934, upper=0.955)
    assert not passes("mean_within", [float("nan")], 0.5, 0.02) and not passes("at_most", [], 1.0)


def test_check_records_mean_std_and_strict(run):
    r = run.check("slabs.lms5.s_auc", [0.4, 0.6], learned=[1.0], data="LMS-5", model="(100,1)-FCN")
    assert r.quantity == "S-randomized AUC, (100,1)-FCN" and r.source == "Table 4"
    assert r.mean == pytest.approx(0.5) and r.std == pytest.approx(0.141421, abs=1e-6)
    assert r.ours == "0.500 ± 0.141 (n=2)" and r.verdict == "reproduced"
    assert "mean over seeds" in r.criterion
    run.strict = True
    with pytest.raises(claims.ClaimNotReproduced, match="#5"):
        run.check("slabs.lms5.s_auc", [0.7], learned=[1.0], data="LMS-5", model="x")
    with pytest.raises(KeyError, match="no check"):
        run.check("slabs.nope", [1.0], data="LMS-5")
    with pytest.raises(ValueError, match="target"):  # the registry fixes this bar, not the chapter
        run.check("slabs.lms5.s_auc", [0.5], learned=[1.0], data="LMS-5", model="x", target=0.6)
    with pytest.raises(ValueError, match="no known deviation"):
        run.check("slabs.lms5.s_auc", [0.7], learned=[1.0], data="LMS-5", model="x", known=True)


def test_known_deviation_does_not_raise_but_stays_not_reproduced(run):
    run.strict = True
    r = run.check(
        "slabs.wide.sc_auc",
        [0.5],
        learned=[1.0],
        data="MS-(5,7), |Sc| = 249",
        known=True,
        model="(2000,1)-FCN",
        n_sc=249,
    )
    assert not r.passed and r.verdict.startswith("not reproduced (known")
    assert claims.claim_rows([r])[8]["verdict"].startswith("not reproduced")


def test_facts_are_shown_but_never_count_as_reproduced(run):
    r = run.check("fragility.margin.slope_avg", [0.5], data="LMS-5")
    assert r.passed and r.verdict == "fact of the construction"
    assert claims.claim_rows([r])[18]["verdict"] == "fact of the construction"
    net = run.check("fragility.margin.slope_net", [0.05], learned=[1.0], data="LMS-5", model="m")
    assert claims.claim_rows([r, net])[18]["verdict"] == "reproduced"


def test_not_run_records_make_a_claim_partly_checked(run):
    skipped = run.not_run("slabs.ms57.s_auc", "too slow", data="MS-(5,7)", model="(32,7,1)-CNN")
    ok = run.check("slabs.ms57.s_auc", [0.5], learned=[1.0], data="MS-(5,7)", model="(100,1)-FCN")
    assert skipped.verdict.startswith("not run") and skipped.ours == "—" and not skipped.passed
    assert claims.claim_rows([ok, skipped])[5]["verdict"].startswith("partly checked")
    assert claims.claim_rows([skipped])[5]["verdict"] == "not run at this scale"


def test_save_load_merge_reevaluates_and_refuses_bad_files(run, tmp_path):
    a = run.check("slabs.lms5.s_auc", [0.50, 0.51], learned=[1.0], data="LMS-5", model="m")
    p1 = claims.save_records([a], tmp_path / "a.json", metadata={"seed": 0})
    b = run.check("slabs.lms5.s_auc", [0.52], learned=[1.0], data="LMS-5", model="m")
    p2 = claims.save_records([b], tmp_path / "b.json", metadata={"seed": 1})
    merged = claims.merge(claims.load_records([p1, p2]))
    assert len(merged) == 1 and merged[0].values == [0.50, 0.51, 0.52] and merged[0].passed
    # a stored verdict is never trusted: flip "passed" and the values in the file
    payload = json.loads(p1.read_text())
    payload["records"][0]["values"], payload["records"][0]["passed"] = [0.7], True
    p1.write_text(json.dumps(payload))
    assert not claims.load_records([p1])[0].passed
    with pytest.raises(ValueError, match="duplicate"):
        claims.save_records([a, b], tmp_path / "dup.json", metadata={})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        claims.load_records([tmp_path / "bad.json"])


def test_scoreboard_rows_and_headlines(run):
    recs = [
        run.check(
            "generalization.test_acc", [0.945, 0.947], data="noisy LMS-7", model="(100,1)-FCN"
        )
    ]
    rows = claims.claim_rows(recs)
    assert len(rows) == 31 and rows[22]["verdict"] == "reproduced"
    assert rows[0]["verdict"] == "not covered yet" and "0.946" in rows[22]["ours"]
    heads = claims.headline_rows(rows)
    assert [h["claim"] for h in heads] == ["(i)", "(ii)", "(iii)", "(iv)"]
    assert heads[2]["verdict"] == "partly checked" and "#24" in heads[2]["reason"]
    assert rows[30]["verdict"] == "partly checked"  # #31 is the four claims rolled up
    failing = run.check("generalization.test_acc", [0.80], data="noisy LMS-7", model="(200,1)-FCN")
    rows = claims.claim_rows(recs + [failing])
    assert claims.headline_rows(rows)[2]["verdict"] == "not reproduced in part"
    assert rows[30]["verdict"] == "not reproduced in part"
    table = claims.markdown_table(rows, ["claim", "verdict"])
    assert table.count("\n") == 32


def test_start_validates_parameters_before_anything_trains(monkeypatch):
    monkeypatch.delenv("SBCORE_SCALE", raising=False)
    assert resolve_scale(None) == "book"
    r = sbcore.start("02", scale="smoke", n_train=123, strict="false", lr=0.05, progress=False)
    assert r.cfg.n_train == 123 and r.strict is False and r.cfg.train.lr == 0.05
    assert r.cfg.n_test == ch02.PRESETS["smoke"].n_test and len(r.seeds) == r.cfg.n_seeds
    assert sbcore.start("02", scale="paper", progress=False).cfg.n_train == 50_000  # App. B
    for params, message in [
        ({"n_trian": 4000}, "unknown parameter.*n_trian.*allowed"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"seed": "abc"}, "seed must be an integer"),
        ({"seed": -1}, "seed must be an integer"),
        ({"n_test": 10}, "n_test must be an integer >= 100"),
        ({"n_train": -5}, "n_train must be an integer >= 1"),
        ({"strict": "maybe"}, "strict must be a boolean"),
        ({"scale": "huge"}, "scale must be one of"),
        ({"models": ("(100,1)-MLP",)}, "model must look like"),
        ({"device": "tpu"}, "device must be one of"),
        ({"lr": float("inf")}, "lr must be a finite number, got inf"),
        ({"weight_decay": float("nan")}, "weight_decay must be a finite"),
        ({"n_seeds": 100_000}, r"n_seeds must be .* at most 32\), got 100000"),
        ({"n_train": 10**9}, r"n_train must be .* at most 10,000,000"),
        ({"ms_recipes": ["Adam lr 1e-3"]}, "ms_recipes must be a mapping"),
        ({"ms_recipes": {"(100,10,1)-GRU": 3}}, "ms_recipes must be a string"),
    ]:
        with pytest.raises(ValueError, match=message):
            sbcore.start("02", **{"scale": "smoke", **params})


def test_start_rejects_names_papermill_injected_into_the_notebook():
    namespace = {"__name__": "__main__", "scale": "smoke", "n_trian": 4000, "In": [], "_i1": ""}
    with pytest.raises(ValueError, match="n_trian"):
        Run.create(
            "02_extreme_sb_slabs",
            ch02.PRESETS,
            knobs=ch02.KNOBS,
            namespace=namespace,
            scale="smoke",
        )
    namespace = {"__name__": "__main__", "scale": "smoke", "n_test": 500}  # injected, not passed
    r = Run.create(
        "02_extreme_sb_slabs",
        ch02.PRESETS,
        knobs=ch02.KNOBS,
        namespace=namespace,
        scale="smoke",
        progress=False,
    )
    assert r.cfg.n_test == 500


def test_papermill_injected_names_come_from_its_cell_not_from_other_globals():
    from sbcore.chapters import injected_parameters

    history = [
        "",
        "scale = None\nseed = 0",
        '# Parameters\nscale = "smoke"\nn_test = 500\n',
        'run = sbcore.start("02", scale=scale)',
        "rows = [i for i in range(3)]\nkey = 1",
    ]
    namespace = {
        "__name__": "__main__",
        "In": history,
        "scale": "smoke",
        "seed": 0,
        "n_test": 500,
        "rows": [0, 1, 2],
        "key": 1,
        "run": object(),
    }
    assert injected_parameters(namespace) == {"scale": "smoke", "n_test": 500}
    assert injected_parameters({**namespace, "In": history[:2] + history[3:]}) == {}
    assert injected_parameters({"__name__": "__main__", "n_points": 5}) == {}  # a script


def test_start_from_a_script_with_other_globals(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "explore.py"
    script.write_text(
        "import sbcore\nn_points = 5\nresults = []\n"
        "run = sbcore.start('01', scale='smoke', progress=False)\n"
        "print('started', run.scale)\n"
    )
    env = {**os.environ, "SBCORE_RECORDS_DIR": str(tmp_path / "records")}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "started smoke" in out.stdout


@pytest.mark.slow
def test_setup_cell_rerun_in_a_live_kernel_and_papermill_names(tmp_path, monkeypatch):
    """In a real kernel: re-running the setup cell after other cells made globals works, while a
    name papermill injects that the chapter lacks still stops the notebook, naming it."""
    import nbformat
    import papermill as pm
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('scale = "smoke"')
    params.metadata["tags"] = ["parameters"]
    start = "import sbcore\nrun = sbcore.start('01', scale=scale, progress=False)"
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(start),
        nbformat.v4.new_code_cell("rows = [i for i in range(3)]\nkey, n_points = 1, 5"),
        nbformat.v4.new_code_cell(start + "\nprint('rerun', run.scale)"),
    ]
    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert "rerun smoke" in "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(pm.PapermillExecutionError, match="n_trian"):
        pm.execute_notebook(
            str(path),
            str(tmp_path / "out.ipynb"),
            progress_bar=False,
            parameters={"n_trian": 4000},
            cwd=str(tmp_path),
        )


def test_the_scoreboard_page_refuses_records_the_registry_contradicts(run, tmp_path):
    """What the scoreboard, intro and reproduce pages load (``load_folder``): a widened
    tolerance, a record removed, a record marked "not run", or a check the chapter left out."""
    run.check("slabs.lms5.s_auc", [0.60], learned=[1.0], data="LMS-5", model="(100,1)-FCN")
    from string import Formatter

    for key in CHAPTER_CHECKS["02_extreme_sb_slabs"]:
        if key != "slabs.lms5.s_auc":
            fields = {f: "x" for _, f, _, _ in Formatter().parse(CHECKS[key].quantity) if f}
            run.not_run(key, "not in this test", data="LMS-5", **fields)
    path = run.finish()
    assert not claims.load_folder(path.parent)[0].passed
    good = path.read_text()

    def tampered(edit) -> None:
        payload = json.loads(good)
        edit(payload)
        path.write_text(json.dumps(payload))

    tampered(lambda p: p["records"][0].update(tol=0.2))  # 0.60 would pass 0.5 ± 0.2
    with pytest.raises(ValueError, match="stored tol 0.2 disagrees with the registry"):
        claims.load_folder(path.parent)
    tampered(lambda p: p["records"].pop(0))
    with pytest.raises(ValueError, match="records were removed or edited"):
        claims.load_folder(path.parent)
    tampered(lambda p: p["records"][0].update(values=[], meta={"not_run": "x"}))
    with pytest.raises(ValueError, match="records were removed or edited"):
        claims.load_folder(path.parent)
    tampered(
        lambda p: [
            p["records"].pop(),
            p["metadata"].update(
                n_records=len(p["records"]), n_not_run=p["metadata"]["n_not_run"] - 1
            ),
        ]
    )
    with pytest.raises(ValueError, match="has no record of check"):
        claims.load_folder(path.parent)


@pytest.mark.slow
def test_chapter_02_at_smoke_scale_passes_for_seed_1(tmp_path, monkeypatch):
    """The README's papermill example at smoke scale and seed 1 failed #6 (S-randomized AUC
    0.469 / 0.473 against 0.5 ± 0.02): with 4,000 test points one permutation's null AUC has a
    standard error near 0.008, and that seed's draws sat near -3.5 of them, while the same models
    averaged 0.500 / 0.499 over 40 permutations. The smoke preset now tests on the paper's 10,000
    points (standard error 0.005); seeds 0-7 all pass strictly."""
    import papermill as pm

    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    book = ROOT_DIR / "book"
    pm.execute_notebook(
        str(book / "02_extreme_sb_slabs.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={"scale": "smoke", "seed": 1},
        cwd=str(book),
        progress_bar=False,
    )


def test_a_check_key_starts_with_the_name_of_the_module_that_declares_it():
    """slabs.* in checks/slabs.py, ensembles.* in checks/ensembles.py, ...: a reader finds a
    record's check from its key alone."""
    from sbcore.claims.checks import TOPIC

    assert set(TOPIC) == set(CHECKS)
    wrong = {k: m for k, m in TOPIC.items() if k.split(".")[0] != m}
    assert not wrong, f"check keys whose first word is not their module: {wrong}"


def test_why_column_stand_in_verdict_and_erratum(monkeypatch, tmp_path):
    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    img = sbcore.start("03_extreme_sb_images", scale="smoke", strict=False, progress=False)
    # claim #11 fails only through a declared stand-in deviation: not testable offline
    img.check(
        "images.a.s_auc",
        [0.6],
        data="Fashion-MNIST dominoes:A",
        model="m",
        known=True,
        learned=[1.0],
        learned_metric="test AUC",
    )
    img.check(
        "images.a.sc_auc",
        [1.0],
        data="Fashion-MNIST dominoes:A",
        model="m",
        learned=[1.0],
        learned_metric="test AUC",
    )
    rows = {r["claim"]: r for r in claims.claim_rows(img.records)}
    assert rows[11]["verdict"].startswith("not testable offline (stand-in)")
    assert rows[11]["why"] == "stand-in data: images.a.s_auc"
    heads = {h["claim"]: h for h in claims.headline_rows(list(rows.values()))}
    assert heads["(i)"]["verdict"] == "partly checked"
    assert "not testable offline (stand-in): #11" in heads["(i)"]["reason"]
    assert "fails:" not in heads["(i)"]["reason"]
    # the same failure on the real data (no deviation marked) is a failure whose cause is unknown
    img.check("images.a.s_auc", [0.6], data="MNIST-CIFAR:A", model="m", learned=[1.0])
    rows = {r["claim"]: r for r in claims.claim_rows(img.records)}
    assert rows[11]["verdict"].startswith("not reproduced")
    assert "not yet known: images.a.s_auc" in rows[11]["why"]
    # a record whose models did not train says so in the why
    img.check("images.a.sc_auc", [1.0], data="MNIST-CIFAR:B", model="m", learned=[0.5])
    assert (
        "not yet known (did not train): images.a.sc_auc"
        in claims.claim_rows(img.records)[10]["why"]
    )
    # an erratum (#28's margins) is shown, never counted for or against its claim
    at = sbcore.start("08_adversarial_training", scale="smoke", strict=True, progress=False)
    rec = at.check("adversarial.gamma_s", [0.158], data="AdvMS-(5,7)", method="support")
    assert rec.erratum and not rec.passed and rec.verdict.startswith("erratum")
    assert claims.verdict_of([rec]) == "fact of the construction"


def test_a_bar_is_taken_at_the_runs_sample_and_retaken_by_the_registry(monkeypatch, tmp_path):
    """#25's bar from its declaration alone: 0.005 + 4 sqrt(0.75 · 0.25 / n) at n = 2,000 by hand
    is 0.043730; a null AUC's standard error on 2,500 + 2,500 points is sqrt(5001 / 75e6)."""
    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    run = sbcore.start("07_ensembles", scale="smoke", strict=False, progress=False)
    bar = CHECKS["ensembles.noisy.acc"].tol
    assert isinstance(bar, Bar) and bar(2000) == pytest.approx(0.0437298, abs=1e-7)
    assert "0.005 + 4 sqrt(0.75 · 0.25 / n_test)" in CHECKS["ensembles.noisy.acc"].rationale
    assert Bar(None, k=3, auc=True)((2500, 2500), 3, printed=0.001) == pytest.approx(
        0.001 + 3 * (5001 / 75e6) ** 0.5 / 3**0.5
    )
    with pytest.raises(ValueError, match="printed="):
        Bar(None, k=3, auc=True)((2500, 2500))
    with pytest.raises(ValueError, match="pass n="):
        run.check("ensembles.noisy.acc", [0.75], data="d", k=3)
    with pytest.raises(ValueError, match="pass n="):
        run.check("slabs.lms5.s_auc", [0.5], n=100, learned=[1.0], data="d", model="m")
    rec = run.check("ensembles.noisy.acc", [0.75], n=2000, data="d", k=3)
    assert rec.tol == pytest.approx(bar(2000)) and rec.meta["bar_sample"]["n"] == 2000
    claims.against_registry([rec], where="test", complete=False)
    wider = dataclasses.replace(rec, tol=rec.tol + 0.01)
    with pytest.raises(ValueError, match="stored tol .* disagrees with the registry"):
        claims.against_registry([wider], where="test", complete=False)


def test_a_per_field_target_is_read_by_the_field_the_chapter_passes(monkeypatch, tmp_path):
    """App. E.1's gains (≈ +15 points for 5 members, ≈ +20 for 10) live in the check: the chapter
    passes k and the record's target is the printed gain of that size."""
    monkeypatch.setenv("SBCORE_RECORDS_DIR", str(tmp_path / "records"))
    run = sbcore.start("07_ensembles", scale="smoke", strict=False, progress=False)
    c = CHECKS["ensembles.ms5.gain"]
    assert isinstance(c.target, PerField) and "0.15 at k = 5, 0.2 at k = 10" in c.rationale
    kw = dict(data="MS-5", known=True, learned=[0.75])
    assert run.check("ensembles.ms5.gain", [0.18], k=10, **kw).target == 0.20
    assert run.check("ensembles.ms5.gain", [0.18], k=5, **kw).target == 0.15
    with pytest.raises(ValueError, match="prints no value for k = 3"):
        run.check("ensembles.ms5.gain", [0.18], k=3, **kw)
    with pytest.raises(ValueError, match="pass target="):
        run.check("ensembles.ms5.gain", [0.18], k=5, target=0.2, **kw)
    rec = run.check("ensembles.ms5.gain", [0.18], k=5, **kw)
    claims.against_registry([rec], where="test", complete=False)
    moved = dataclasses.replace(rec, target=0.20)
    with pytest.raises(ValueError, match="stored target 0.2 disagrees"):
        claims.against_registry([moved], where="test", complete=False)
