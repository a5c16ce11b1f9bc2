"""Scenario files checked against a model: names, ranges, years, [run], diffs, the lever listing.

The models are the toy models in tests/data, copied to a temporary folder and
translated into a temporary cache (the repository is never written).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.model.loader import load_model
from sim.specs import scenario_text
from sim.specs.scenario import check_scenario, lever_problems, load_scenario
from sim.specs.levers import LeverValue
from sim.specs.scenario_text import diff_scenarios

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD = DATA / "scenarios" / "good"
HEAD = 'schema_version = 1\nname = "t"\ndescription = "test"\n'


def _load(tmp_path_factory, name: str):
    folder = tmp_path_factory.mktemp("model")
    shutil.copy2(DATA / name, folder / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHUANGTA_CACHE", str(tmp_path_factory.mktemp("cache")))
        return load_model(folder / name)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """tests/data/scenario_toy.mdl: four levers of different units and ranges, two uncertain parameters."""
    return _load(tmp_path_factory, "scenario_toy.mdl")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """tests/data/toy.mdl: one lever, one uncertain parameter."""
    return _load(tmp_path_factory, "toy.mdl")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path, model, **kwargs):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, model, **kwargs)
    return info.value.problems


def test_the_toy_model_has_the_levers_the_tests_rely_on(model):
    levers = {n: (lv.kind, lv.units, lv.lower, lv.upper) for n, lv in model.catalogue.items()}
    assert levers == {
        "Depreciation Rate": ("uncertain", "1/Year", 0.05, 0.1),
        "Investment Rate": ("lever", "Dmnl", 0.0, 1.0),
        "Key Project Investment": ("lever", "Yi/Year", 0.0, 2000.0),
        "Net Migration": ("lever", "Person/Year", -20000.0, 20000.0),
        "Output Elasticity": ("uncertain", "1/Year", 0.3, 0.5),
        "Project Realisation Rate": ("lever", "Dmnl", 0.0, 1.0),
    }
    assert model.settings["initial_time"] == 2020 and model.settings["final_time"] == 2035


@pytest.mark.parametrize("name", sorted(p.name for p in GOOD.glob("*.toml")))
def test_good_scenarios_fit_the_model(model, name):
    s = load_scenario(GOOD / name, model)
    check_scenario(s, model)  # idempotent: a loaded scenario passes again


def test_edges_of_the_ranges_are_accepted(model):
    s = load_scenario(GOOD / "edges.toml", model)
    assert s.levers["Investment Rate"].value == 1.0
    assert s.levers["Net Migration"].value == -20000.0
    np.testing.assert_allclose(
        s.levers["Project Realisation Rate"].at(np.array([2020.0, 2027.5, 2035.0])), [0.0, 0.5, 1.0], rtol=0, atol=1e-12
    )


def test_original_toy_model(toy, tmp_path):
    ok = write(tmp_path, "ok.toml", HEAD + '[levers]\n"Investment Rate" = 0.4\n')
    assert load_scenario(ok, toy).levers["Investment Rate"].value == 0.4
    bad = write(tmp_path, "bad.toml", HEAD + '[levers]\n"Depreciation Rate" = 0.07\n"Boost Lookup" = 3\n')
    problems = problems_of(bad, toy)
    assert [k for _, k, _ in problems] == ["levers.Depreciation Rate", "levers.Boost Lookup"]
    assert "is an uncertain parameter (range [0.05, 0.1] 1/Year), not a lever" in problems[0][2]
    assert "'Boost Lookup' is a model variable (Lookup) but not a lever" in problems[1][2]


def test_a_file_with_three_problems_reports_all_three(model):
    problems = problems_of(DATA / "scenarios" / "bad" / "three_problems.toml", model)
    assert {k for _, k, _ in problems} == {
        "levers.Investment Rate", "levers.Project Realisation Rte", "levers.Key Project Investment"
    }
    assert len(problems) == 3


def test_checks_without_a_model_are_structural_only():
    s = load_scenario(DATA / "scenarios" / "bad" / "out_of_range.toml")
    assert s.levers["Investment Rate"].value == 1.5


def test_year_window_follows_the_final_time_of_the_chain(model, tmp_path):
    write(tmp_path, "base.toml", HEAD + '[levers]\n"Project Realisation Rate" = { 2021 = 0.5, 2033 = 0.9 }\n')
    child = write(tmp_path, "child.toml", HEAD + 'base = "base"\n[run]\nfinal_time = 2030\n')
    [(file, key, msg)] = problems_of(child, model, search_dirs=[])
    # the year is in the base, the shorter run in the child: blamed where the year is written
    assert (Path(file).name, key) == ("base.toml", "levers.Project Realisation Rate.2033")
    assert "year 2033 lies outside the run 2020-2030" in msg


def test_meaning_and_structure_problems_across_a_chain(model, tmp_path):
    write(tmp_path, "base.toml", HEAD + '[levers]\n"Key Project Investment" = 2001\n')
    child = write(tmp_path, "child.toml", HEAD + 'base = "base"\n[levers]\n"Investment Rat" = 0.2\n"Net Migration" = "many"\n')
    problems = problems_of(child, model, search_dirs=[])
    assert [(Path(f).name, k) for f, k, _ in problems] == [
        ("child.toml", "levers.Net Migration"),
        ("child.toml", "levers.Investment Rat"),
        ("base.toml", "levers.Key Project Investment"),
    ]


def test_check_scenario_on_a_scenario_built_in_python(model, tmp_path):
    s = load_scenario(GOOD / "minimal.toml", model)
    s.levers["Net Migration"] = LeverValue.series({2021: 0, 2024: 25000}, step=True)
    with pytest.raises(ScenarioError) as info:
        check_scenario(s, model)
    [(file, key, msg)] = info.value.problems
    assert (file, key) == (str(GOOD / "minimal.toml"), "levers.Net Migration.2024")
    assert msg.startswith("25000 is outside the allowed range [-20000, 20000] Person/Year")


def test_run_time_step_must_fit_saveper(model, tmp_path, monkeypatch):
    path = write(tmp_path, "s.toml", HEAD + "[run]\ntime_step = 1\n")
    assert load_scenario(path, model).run.time_step == 1
    monkeypatch.setitem(model.settings, "saveper", 0.5)
    [(_, key, msg)] = problems_of(path, model)
    assert key == "run.time_step" and "does not divide the model's SAVEPER 0.5" in msg


# --- the value checks reused with another set of allowed names (sweeps) ----


def test_lever_problems_with_uncertain_parameters_allowed(model):
    values = {
        "Depreciation Rate": LeverValue.constant(0.07),
        "Output Elasticity": LeverValue.constant(0.6),
        "Investment Rate": LeverValue.constant(0.5),
        "Depreciation Rat": LeverValue.constant(0.07),
    }
    problems = lever_problems(
        values, model, file="sweep.toml", allowed_kinds=("lever", "uncertain"), prefix="parameters"
    )
    assert [(f, k) for f, k, _ in problems] == [
        ("sweep.toml", "parameters.Output Elasticity"),
        ("sweep.toml", "parameters.Depreciation Rat"),
    ]
    assert "0.6 is outside the allowed range [0.3, 0.5] 1/Year of uncertain parameter 'Output Elasticity'" in problems[0][2]
    assert "did you mean 'Depreciation Rate'" in problems[1][2]
    assert "`shuangta levers --all` lists them" not in problems[1][2]


def test_lever_problems_with_uncertain_parameters_only(model):
    problems = lever_problems(
        {"Investment Rate": LeverValue.constant(0.5)}, model, file="s.toml", allowed_kinds=["uncertain"]
    )
    [(_, key, msg)] = problems
    assert key == "levers.Investment Rate"
    assert msg == (
        "'Investment Rate' is a policy lever (range [0, 1] Dmnl), not an uncertain parameter: "
        "only an uncertain parameter may be set here"
    )


def test_lever_problems_checks_names_of_malformed_values(model):
    problems = lever_problems({"Nope": None, "Investment Rate": None}, model, file="f")
    assert [k for _, k, _ in problems] == ["levers.Nope"]


def test_lever_problems_window(model):
    v = {"Investment Rate": LeverValue.series({2019: 0.2, 2036: 0.3})}
    assert lever_problems(v, model, file="f", window=(2019, 2036)) == []
    assert [k for _, k, _ in lever_problems(v, model, file="f")] == ["levers.Investment Rate.2019", "levers.Investment Rate.2036"]


# --- diff ------------------------------------------------------------------


def test_diff_with_model_defaults(model):
    rows = diff_scenarios(GOOD / "minimal.toml", GOOD / "middle.toml", model)
    assert rows == [
        ("Investment Rate", 0.3, 0.4),
        ("Key Project Investment", 400.0, 500.0),
        ("Net Migration", -3000.0, -2000.0),
        ("Project Realisation Rate", 0.7, {"2021": 0.6, "2025": 0.8}),
    ]


def test_diff_without_a_model_shows_unset():
    rows = diff_scenarios(GOOD / "root.toml", GOOD / "leaf.toml")
    assert rows == [
        ("Investment Rate", 0.35, 0.4),
        ("Key Project Investment", 500.0, {"2021": 400.0, "2023": 800.0, "2026": 1200.0, "step": True}),
        ("Net Migration", -2000.0, {"2022": -3000.0, "2030": 1000.0}),
        ("Project Realisation Rate", "unset", {"2021": 0.6, "2025": 0.8}),
    ]


def test_setting_a_lever_to_its_default_is_no_difference(model, tmp_path):
    a = write(tmp_path, "a.toml", HEAD + '[levers]\n"Investment Rate" = 0.3\n')
    assert diff_scenarios(a, GOOD / "minimal.toml", model) == []
    assert diff_scenarios(a, GOOD / "minimal.toml") == [("Investment Rate", 0.3, "unset")]
    assert scenario_text.diff_report(a, GOOD / "minimal.toml", model) == "no differences between t and minimal"


def test_diff_table_marks_defaults(model):
    text = scenario_text.diff_report(GOOD / "minimal.toml", GOOD / "middle.toml", model)
    lines = text.splitlines()
    assert lines[0].split() == ["lever", "minimal", "middle"]
    assert lines[2].split() == ["Investment", "Rate", "0.3", "(default)", "0.4"]
    assert "2021: 0.6, 2025: 0.8" in lines[-1]


# --- lever listing ---------------------------------------------------------


def test_lever_rows_and_formats(model):
    rows = scenario_text.lever_rows(model)
    assert [r["name"] for r in rows] == ["Investment Rate", "Key Project Investment", "Net Migration", "Project Realisation Rate"]
    assert "kind" not in rows[0]
    assert rows[1] == {
        "name": "Key Project Investment", "units": "Yi/Year", "lower": 0.0, "upper": 2000.0, "default": 400.0,
        "description": "Planned investment in key projects (重点项目投资).", "chinese": "重点项目投资", "source": "Plan ch. 6.",
    }
    assert json.loads(scenario_text.format_levers(rows, "json")) == rows
    parsed = list(csv.DictReader(io.StringIO(scenario_text.format_levers(rows, "csv"))))
    assert parsed[2]["lower"] == "-20000.0" and parsed[2]["chinese"] == "净迁移人口"
    everything = scenario_text.lever_rows(model, include_uncertain=True)
    assert {r["kind"] for r in everything} == {"lever", "uncertain"} and len(everything) == 6
    table = scenario_text.format_levers(everything, "table").splitlines()
    assert table[0].split()[:5] == ["name", "kind", "units", "range", "default"]
    with pytest.raises(ValueError):
        scenario_text.format_levers(rows, "xml")
