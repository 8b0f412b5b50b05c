"""The recipe study behind chapter 02's paper preset (issue 13, item 4): what it records, how a
record is checked, and that the preset follows the recorded evidence."""

import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest

from sbcore.chapters import ch02_extreme_sb_slabs as ch02
from sbcore.experiments import recipes
from sbcore.experiments.recipe_records import (
    PLAIN,
    STUDY,
    TRAINED,
    check_study,
    chosen,
    findings,
    load_study,
    merge_studies,
    setting,
    summary_rows,
    trained_summary,
)
from sbcore.experiments.recipes import APP_B, CANDIDATES, describe, recipe_study
from sbcore.figures.randomized import plot_recipe_study
from sbcore.models.specs import TABLE4_MODELS
from sbcore.runtime import project_root
from sbcore.train import TrainConfig


def test_describe_names_what_sets_a_recipe_apart():
    assert describe(TrainConfig()) == "SGD lr 0.1"
    assert describe(TrainConfig(momentum=0.9)) == "SGD lr 0.1, momentum 0.9"
    assert describe(TrainConfig(optimizer="adam", lr=1e-3)) == "Adam lr 1e-3"
    assert describe(TrainConfig(lr=5e-4)) == "SGD lr 5e-4"
    assert describe(TrainConfig(lr=(0.1, 0.03))) == "SGD lr 0.1/0.03"
    # History.config is the asdict of the recipe: the same text
    assert describe({"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.0}) == "RMSprop lr 0.01"


def test_the_plain_recipe_is_app_b_and_every_model_is_tried_with_it_first():
    assert CANDIDATES[PLAIN] == APP_B == TrainConfig()
    assert APP_B.lr == 0.1 and APP_B.momentum == 0 and APP_B.batch_size == 256
    assert set(STUDY) == set(TABLE4_MODELS) - {"(100,1)-FCN", "(100,2)-FCN"}
    assert all(names[0] == PLAIN for names in STUDY.values())


@pytest.fixture(scope="module")
def tiny_study():
    """LMS-5, whose linear coordinate a (100,1)-FCN learns in a few epochs: the plain recipe
    trains it; SGD at a hundredth of the rate does not get there in the same 4 epochs."""
    recipes = {PLAIN: APP_B, "slow": replace(APP_B, lr=1e-3)}
    return recipe_study(
        "LMS-5",
        {"(100,1)-FCN": (PLAIN, "slow")},
        n_train=20_000,
        n_test=2000,
        seeds=[0, 1],
        max_epochs=4,
        recipes=recipes,
        progress=False,
    )


def test_the_study_records_curves_and_flags_per_seed(tiny_study):
    plain, slow = tiny_study
    assert (plain["recipe"], slow["recipe"]) == (PLAIN, "slow")
    for row in tiny_study:
        assert len(row["curves"]["test"]) == row["epochs"] == len(row["loss"])
        assert all(len(v) == 2 for v in (row["test_acc"], row["s_auc"], row["trained"]))
        assert row["trained"] == [a >= TRAINED for a in row["test_acc"]]
        assert row["config"]["max_epochs"] == 4
        assert row["curves"]["test"][-1] == pytest.approx(row["test_acc"], abs=0.02)
    assert plain["trained"] == [True, True]
    assert max(plain["s_auc"]) < 0.6 and min(plain["sc_auc"]) > 0.99  # extreme SB on LMS-5
    assert slow["trained"] == [False, False] and slow["epochs"] == 4


def test_the_study_refuses_unknown_recipes_and_models_before_training():
    with pytest.raises(ValueError, match="unknown recipes"):
        recipe_study(
            "LMS-5", {"(100,1)-FCN": ("Adam",)}, n_train=10, n_test=10, seeds=[0], max_epochs=1
        )
    with pytest.raises(ValueError, match="model must look like"):
        recipe_study(
            "LMS-5", {"(100)-MLP": (PLAIN,)}, n_train=10, n_test=10, seeds=[0], max_epochs=1
        )


def _record(rows, seeds=2, **kw):
    return {
        "dataset": "MS-(5,7)",
        "n_train": 100,
        "n_test": 10,
        "seeds": seeds,
        "max_epochs": 3,
        "trained_if": TRAINED,
        "device": "cpu",
        "machine": "x86_64, 1 torch threads",
        "torch": "2.13.0+cpu",
        "commit": "abc",
        "started": "2026-11-27 10:00 UTC",
        "rows": rows,
        **kw,
    }


def _row(model, recipe, accs, epochs=3):
    n = len(accs)
    return {
        "dataset": "MS-(5,7)",
        "model": model,
        "recipe": recipe,
        "test_acc": accs,
        "auc": accs,
        "s_auc": [0.5] * n,
        "sc_auc": [1.0] * n,
        "train_acc": accs,
        "trained": [a >= TRAINED for a in accs],
        "stopped_epoch": [0] * n,
        "epochs": epochs,
        "seconds": 60.0,
        "config": {"max_epochs": epochs},
        "curves": {"test": [accs] * epochs, "s_rand": [[0.5] * n] * epochs},
        "loss": [[0.6] * n] * epochs,
    }


def test_a_record_is_checked_when_read(tmp_path):
    path = tmp_path / "study.json"
    good = _record([_row("(32,7,1)-CNN", PLAIN, [1.0, 0.5])])
    path.write_text(json.dumps(good))
    assert load_study(path)["rows"][0]["trained"] == [True, False]
    row = _row("(32,7,1)-CNN", PLAIN, [1.0, 0.5])
    bad = {
        "recorded twice": _record([row, row]),
        "one value per seed": _record([_row("(32,7,1)-CNN", PLAIN, [1.0])]),
        "disagree": _record([{**row, "trained": [True, True]}]),
        "curves": _record([{**row, "epochs": 2, "config": {"max_epochs": 3}}]),
        "past its cap": _record([{**row, "config": {"max_epochs": 2}}]),
        "is on LMS-5": _record([{**row, "dataset": "LMS-5"}]),
        "no run": _record([]),
        "missing": {k: v for k, v in _record([row]).items() if k != "machine"},
        "lacks": _record([{k: v for k, v in row.items() if k != "auc"}]),
        "JSON object": [row],
    }
    for match, record in bad.items():
        path.write_text(json.dumps(record))
        with pytest.raises(ValueError, match=match):
            load_study(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not a readable"):
        load_study(path)


def test_merging_studies_and_choosing_a_recipe():
    a = _record(
        [_row("(32,7,2)-CNN", "SGD lr 0.03", [1.0, 1.0]), _row("(32,7,2)-CNN", PLAIN, [1.0, 0.5])]
    )
    b = _record(
        [
            _row("(100,10,1)-GRU", PLAIN, [0.5, 0.5]),
            _row("(100,10,1)-GRU", "Adam lr 1e-3", [1.0, 0.5]),
        ],
        commit="def",
    )
    merged = merge_studies([b, a])
    assert len(merged["rows"]) == 4 and merged["commit"] == ["abc", "def"]
    assert [(r["model"], r["recipe"]) for r in merged["rows"]] == [  # the order of STUDY
        ("(32,7,2)-CNN", PLAIN),
        ("(32,7,2)-CNN", "SGD lr 0.03"),
        ("(100,10,1)-GRU", PLAIN),
        ("(100,10,1)-GRU", "Adam lr 1e-3"),
    ]
    assert merge_studies([a, {**b, "max_epochs": 9}])["max_epochs"] == 9  # caps may differ
    with pytest.raises(ValueError, match="differ in"):
        merge_studies([a, {**b, "device": "cuda"}])
    assert chosen(merged, "(32,7,2)-CNN") == "SGD lr 0.03"
    assert chosen(merged, "(100,10,1)-GRU") == "Adam lr 1e-3"
    for rows in (
        [_row("(32,7,1)-CNN", PLAIN, [1.0, 0.5]), _row("(32,7,1)-CNN", "SGD lr 0.03", [0.5, 1.0])],
        [_row("(32,7,1)-CNN", "SGD lr 0.03", [0.5, 1.0]), _row("(32,7,1)-CNN", PLAIN, [1.0, 0.5])],
    ):  # either order
        assert chosen(_record(rows), "(32,7,1)-CNN") == PLAIN  # a departure needs more seeds
    # more seeds trained, but a lower mean test accuracy (the others learned less): App. B
    fits = _record(
        [
            _row("(32,7,2)-CNN", PLAIN, [0.98, 0.9, 0.9]),
            _row("(32,7,2)-CNN", "Adam lr 1e-3", [1.0, 0.5, 0.5]),
        ],
        seeds=3,
    )
    assert chosen(fits, "(32,7,2)-CNN") == PLAIN
    # better on both counts: the best departure
    both = _record(
        [
            _row("(32,7,2)-CNN", PLAIN, [0.5, 0.5, 0.5]),
            _row("(32,7,2)-CNN", "SGD lr 0.03", [1.0, 0.5, 0.5]),
            _row("(32,7,2)-CNN", "Adam lr 1e-3", [1.0, 1.0, 0.6]),
        ],
        seeds=3,
    )
    assert chosen(both, "(32,7,2)-CNN") == "Adam lr 1e-3"
    uneven = _record(
        [
            _row("(32,7,1)-CNN", PLAIN, [0.5, 0.5]),
            _row("(32,7,1)-CNN", "SGD lr 0.03", [1.0, 1.0], epochs=9),
        ]
    )
    with pytest.raises(ValueError, match="different epoch caps"):
        chosen(uneven, "(32,7,1)-CNN")
    with pytest.raises(ValueError, match="no run"):
        chosen(fits, "(100,10,2)-GRU")
    with pytest.raises(ValueError, match="differ in"):
        merge_studies([a, _record([], n_train=200)])
    with pytest.raises(ValueError, match="more than one"):
        merge_studies([a, a])
    longer = _record([_row("(32,7,2)-CNN", PLAIN, [1.0, 1.0], epochs=9)], max_epochs=9)
    kept = merge_studies([a, longer], longest=True)["rows"]
    assert [(r["recipe"], r["epochs"]) for r in kept] == [(PLAIN, 9), ("SGD lr 0.03", 3)]
    assert trained_summary(merged) == (
        "S-randomized AUC 0.500-0.500 and Sc-randomized AUC "
        "1.000-1.000 over the 4 seeds that trained"
    )
    assert trained_summary(_record([_row("(32,7,1)-CNN", PLAIN, [0.5, 0.5])])).startswith(
        "no seed"
    )
    rows = summary_rows(merged)
    assert rows[1]["trained"] == "2/2" and rows[0]["test acc"] == "0.500-1.000"
    assert rows[0]["epochs"] == "3 of 3"
    assert rows[0]["met the stopping rule"] == "0/2"
    assert findings(merged) == (
        "(32,7,2)-CNN: App. B (SGD lr 0.1) 1/2, SGD lr 0.03 2/2; "
        "(100,10,1)-GRU: App. B (SGD lr 0.1) 0/2, Adam lr 1e-3 1/2"
    )
    text = setting(merged)
    assert "100 training and 10 test points per seed, 2 seeds" in text
    assert "4 minutes of training in all on cpu" in text and "commit abc, def" in text
    dirty = {**merged, "commit": ["42821c6e18df+dirty.8f18877f", "42821c6", "42821c6e18df"]}
    assert "commit 42821c6, 42821c6+dirty, started" in setting(dirty)
    fig = plot_recipe_study(merged)  # one row per model, one panel per recipe (one left empty)
    assert len(fig.axes) == 2 * 2 + 0 and sum(ax.axison for ax in fig.axes) == 4


def test_the_paper_preset_follows_the_recorded_study():
    """Each MS-(5,7) model of the paper preset trains with the recipe that trained the most seeds
    in the recorded study (App. B where nothing did better)."""
    study = load_study()  # docs/results/ms57-recipes.json of this checkout
    paper = ch02.PRESETS["paper"]
    assert study["dataset"] == "MS-(5,7)" and study["n_train"] >= 50_000
    assert set(paper.ms_recipes) <= set(STUDY)  # no departure without evidence
    for model in STUDY:
        assert paper.ms_recipes.get(model, PLAIN) == chosen(study, model), model
    assert {(r["model"], r["recipe"]) for r in study["rows"]} == {
        (m, r) for m, names in STUDY.items() for r in names
    }  # the whole study, nothing else


def test_recipe_for_keeps_the_scales_cap_batch_and_stopping_rule():
    train = TrainConfig(
        momentum=0.9, weight_decay=5e-5, max_epochs=7, batch_size=128, stop_loss=0.02
    )
    cfg = replace(
        ch02.PRESETS["smoke"],
        ms_recipes={"(100, 10, 1)-GRU": "Adam lr 1e-3", "(32,7,2)-CNN": "SGD lr 0.03"},
        train=train,
    )
    assert set(cfg.ms_recipes) == {"(100,10,1)-GRU", "(32,7,2)-CNN"}  # keys normalized
    gru = cfg.recipe_for("MS-(5,7)", "(100,10,1)-GRU")
    assert (gru.optimizer, gru.lr, gru.momentum) == ("adam", 1e-3, 0.0)
    assert (gru.weight_decay, gru.max_epochs, gru.batch_size, gru.stop_loss) == (
        5e-5,
        7,
        128,
        0.02,
    )
    cnn = cfg.recipe_for("MS-(5,7)", "(32, 7, 2)-CNN")  # the recipe's momentum (none), not 0.9
    assert (cnn.optimizer, cnn.lr, cnn.momentum) == ("sgd", 0.03, 0.0)
    assert cfg.recipe_for("LMS-5", "(100,10,1)-GRU") is cfg.train
    assert cfg.recipe_for("MS-(5,7)", "(32,7,1)-CNN") is cfg.train
    with pytest.raises(ValueError, match="ms_recipes"):
        replace(cfg, ms_recipes={"(100,10,1)-GRU": "Adam"})
    rows = {r["model"]: r for r in ch02.recipe_rows(cfg)}
    assert rows["(32,7,1)-CNN"]["MS-(5,7), this scale"] == "not trained"
    assert rows["(100,1)-FCN"]["MS-(5,7), paper scale"] == "SGD lr 0.1"  # App. B


def test_the_command_line_refuses_to_overwrite_and_runs_what_it_is_asked(tmp_path, capsys):
    out = tmp_path / "s.json"
    out.write_text("{}")
    with pytest.raises(SystemExit):
        recipes.main(["--out", str(out)])
    assert "exists" in capsys.readouterr().err and out.read_text() == "{}"
    with pytest.raises(SystemExit):
        recipes.main(["--out", str(tmp_path / "t.json"), "--models", "(100,1)-FCN"])
    with pytest.raises(SystemExit):
        recipes.main(
            [
                "--out",
                str(tmp_path / "t.json"),
                "--models",
                "(32,7,1)-CNN",
                "--recipes",
                "Adam lr 1e-3",
            ]
        )  # not a recipe of that model's
    recipes.main(
        [
            "--out",
            str(out),
            "--force",
            "--models",
            "(32,7,1)-CNN",
            "--recipes",
            "SGD lr 0.03",
            "--n-train",
            "300",
            "--n-test",
            "100",
            "--seeds",
            "2",
            "--max-epochs",
            "1",
            "--device",
            "cpu",
        ]
    )
    study = load_study(out)
    assert [(r["model"], r["recipe"], r["epochs"]) for r in study["rows"]] == [
        ("(32,7,1)-CNN", "SGD lr 0.03", 1)
    ]
    assert study["commit"] and check_study(study)["n_train"] == 300


def test_the_study_is_a_subcommand_of_the_one_command_line():
    """``python -m sbcore recipes ...`` hands its arguments to the study's command line."""

    def sbcore(*args):
        return subprocess.run(
            [sys.executable, "-m", "sbcore", *args],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = sbcore("recipes", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sbcore recipes")
    for option in (
        "--dataset",
        "--n-train",
        "--n-test",
        "--seeds",
        "--max-epochs",
        "--models",
        "--recipes",
        "--device",
        "--out",
        "--force",
        "--merge",
        "--longest",
    ):
        assert option in done.stdout, option
    assert "recipes" in sbcore("--help").stdout
    refused = sbcore("recipes", "--n-train", "10")  # the study's own check: --out is required
    assert refused.returncode == 2 and "--out" in refused.stderr


def test_the_lms5_record_backs_keeping_app_b_there():
    """Chapter 02 says App. B's recipe trains both GRUs on LMS-5: its recorded run must show it."""
    lms = load_study(project_root() / "docs" / "results" / "lms5-gru-recipes.json")
    assert lms["dataset"] == "LMS-5"
    assert {r["model"] for r in lms["rows"]} == {"(100,10,1)-GRU", "(100,10,2)-GRU"}
    assert all(r["recipe"] == PLAIN and all(r["trained"]) for r in lms["rows"])
    assert not ch02.PRESETS["paper"].recipe_name("LMS-5", "(100,10,1)-GRU")


def test_a_record_s_values_and_names_are_checked(tmp_path):
    path = tmp_path / "study.json"
    row = _row("(32,7,1)-CNN", PLAIN, [1.0, 0.5])
    bad = {
        r"test_acc must hold numbers in \[0, 1\], got nan": {
            **row,
            "test_acc": [1.0, math.nan],
            "trained": [True, False],
        },
        r"auc must hold numbers in \[0, 1\], got 1.5": {**row, "auc": [1.5, 0.5]},
        r"s_auc must hold numbers in \[0, 1\], got inf": {**row, "s_auc": [math.inf, 0.5]},
        r"curves.s_rand must hold numbers": {
            **row,
            "curves": {**row["curves"], "s_rand": [[0.5, -0.1]] * 3},
        },
        r"loss must hold finite numbers": {**row, "loss": [[0.6, math.nan]] * 3},
        r"not a \(model, recipe\) of the study": {**row, "model": "(100)-MLP"},
        r"\('\(32,7,1\)-CNN', 'Adam lr 1e-3'\) is not a \(model, recipe\)": {
            **row,
            "recipe": "Adam lr 1e-3",
        },
        r"trained must be true/false": {**row, "stopped_epoch": [0, 7]},
    }
    for match, r in bad.items():
        path.write_text(json.dumps(_record([r])))  # json writes NaN and Infinity as Python does
        with pytest.raises(ValueError, match=match):
            load_study(path)
    for match, record in {
        "seeds must be an integer >= 1": _record([row], seeds=0),
        r"trained_if must be a number in \(0, 1\]": _record([row], trained_if=2),
        "rows must be a list": _record({"a": row}),
        "must be text": _record([row], commit=[3]),
    }.items():
        path.write_text(json.dumps(record))
        with pytest.raises(ValueError, match=match):
            load_study(path)


def test_merge_on_the_command_line_answers_a_bad_study_in_one_line(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_record([_row("(32,7,1)-CNN", PLAIN, [1.0, 0.5])])))
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_record([_row("(32,7,2)-CNN", PLAIN, [1.0, 0.5])])))
    cases = {
        "missing.json": (None, "missing.json: not a readable recipe study"),
        "broken.json": ("{", "broken.json: not a readable recipe study"),
        "nan.json": (
            json.dumps(
                _record([{**_row("(32,7,1)-CNN", PLAIN, [1.0, 0.5]), "auc": [math.nan, 0.5]}])
            ),
            "nan.json: ",
        ),
        "model.json": (
            json.dumps(_record([_row("(1,1)-GRU", PLAIN, [1.0, 0.5])])),
            "model.json: ('(1,1)-GRU', 'App. B (SGD lr 0.1)') is not",
        ),
        "rows.json": (json.dumps(_record(5)), "rows.json: rows must be a list"),
        "device.json": (
            json.dumps(_record([_row("(32,7,2)-CNN", PLAIN, [1.0, 0.5])], device="cuda")),
            "studies differ in ['device'] (",
        ),
        "again.json": (good.read_text(), "('(32,7,1)-CNN', 'App. B (SGD lr 0.1)') in "),
    }
    for name, (text, want) in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        out = tmp_path / "merged.json"
        with pytest.raises(SystemExit) as info:
            recipes.main(["--merge", str(good), str(path), "--out", str(out)])
        err = capsys.readouterr().err
        assert info.value.code == 2 and not out.exists(), name
        assert err.count("\n") == 1 and want in err and name in err, (name, err)
    recipes.main(["--merge", str(good), str(other), "--out", str(tmp_path / "m.json")])
    assert len(load_study(tmp_path / "m.json")["rows"]) == 2
