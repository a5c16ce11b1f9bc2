"""Sensitivity files: malformed ones are refused before anything runs or is written; the examples are valid."""

from __future__ import annotations

import pytest

from conftest import REPO, assert_problems_match, assert_refused_without_writing
from sim.errors import ScenarioError
from sim.specs.study import design_runs, load_study, read_sensitivity_file

DATA = REPO / "tests" / "data" / "sensitivity"
BAD = DATA / "bad"
ISHIGAMI_MODEL = DATA / "ishigami.mdl"
EXAMPLES = REPO / "scenarios" / "sensitivity"

#: file -> [(key, part of the message)], every problem the file must raise.
EXPECTED = {
    "unknown_method": [("method", "unknown method 'sobel'; allowed: sobol, morris, fast; did you mean 'sobol'?")],
    "unknown_target": [("metric.T99.target", "unknown target 'T99'")],
    "target_variable_missing": [("metric.T1.target",
                                 "target T1 reads a variable the model lacks: unknown model variable "
                                 "'Above Scale Industrial Output'")],
    "target_not_evaluable": [("metric.T17.target", "target T17 cannot be evaluated by the model")],
    "misspelt_variable": [("metric.Levle 2025.variable", "unknown model variable 'Levle'; did you mean 'Level'?")],
    "target_and_variable": [("metric.T3", "give either target = \"T1\" (a target of the plan) or variable = \"GDP\" "
                                         "(a model variable), not both")],
    "variable_without_year": [("metric.Y", "a variable metric needs year = 2025 (its value in that year) or "
                                           "growth = [2020, 2025]")],
    "growth_reversed": [("metric.Level growth 2025-2020.growth", "start 2025 must come before end 2020")],
    "year_outside_run": [("metric.Y 2030.year", "year 2030 lies outside the run 2020-2025")],
    "quantity_on_variable": [("metric.Y 2025.quantity", "'quantity' belongs to target metrics")],
    "unknown_quantity": [("metric.T3 share.quantity", "must be one of value, gap")],
    "unknown_metric_key": [("metric.Y.years", "unknown key 'years' in [[metric]]; allowed: name, target, quantity, "
                                              "variable, year, growth; did you mean 'year'?")],
    "duplicate_metric": [("metric.Y 2025", "metric given twice (entries 1 and 2)")],
    "fast_n_too_small": [("n", "50 is too small for method 'fast': FAST needs N > 4 M^2 = 64")],
    "grid_values": [("factor.x1.values", "values make a grid, which a sensitivity study cannot analyse"),
                    ("factor.x1", "method 'sobol' needs bounds = [lower, upper]")],
    "bounds_outside_range": [("factor.x1.bounds", "-4 is outside the allowed range [-3.1416, 3.1416]")],
    "unknown_factor": [("factor.x5", "unknown lever or uncertain parameter 'x5'")],
    "normal_without_sd": [("factor.x1.sd", "distribution 'normal' needs mean and sd; sd is missing")],
    "no_metric": [("metric", "required key is missing (at least one [[metric]] table)")],
    "unknown_top_key": [("samples", "unknown key 'samples' at the top level")],
    "conf_level_above_one": [("conf_level", "must be a number between 0 and 1")],
    "missing_n": [("n", "required key is missing")],
    "missing_seed": [("seed", "required key is missing")],
    "second_order_not_boolean": [("second_order", "must be true or false; got string 'yes'")],
    "unknown_time_resolved_variable": [("time_resolved_variables", "unknown model variable 'GPD'")],
    "malformed_toml": [("", "not valid TOML")],
    "empty": [("", "a sensitivity study needs schema_version, name, description, base, seed, n")],
}


@pytest.fixture(scope="module")
def ishigami():
    from sim.model.loader import load_model

    return load_model(ISHIGAMI_MODEL)


def test_every_bad_file_has_an_expectation():
    assert sorted(p.stem for p in BAD.glob("*.toml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_rejected_with_its_problems(name, ishigami):
    path = BAD / f"{name}.toml"
    with pytest.raises(ScenarioError) as info:
        load_study(path, ishigami)
    assert_problems_match(info.value.problems, path, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exits_2_and_writes_nothing(name, invoke, tmp_path):
    path = BAD / f"{name}.toml"
    work = tmp_path / "work"
    work.mkdir()
    result = invoke(["-q", "sensitivity", path, "--model", ISHIGAMI_MODEL, "--out", tmp_path / "out"], work)
    assert_refused_without_writing(result, path, EXPECTED[name], tmp_path / "out", work)


def test_command_line_overrides_are_checked_like_the_file(invoke, tmp_path):
    spec = DATA / "ishigami.toml"
    result = invoke(["sensitivity", spec, "--model", ISHIGAMI_MODEL, "--out", tmp_path / "o",
                     "--method", "fast", "--n", "10"])
    assert result.exit_code == 2, result.output
    assert f"error: {spec}: n: 10 is too small for method 'fast'" in result.output
    assert "(given on the command line)" in result.output
    result = invoke(["sensitivity", spec, "--model", ISHIGAMI_MODEL, "--out", tmp_path / "o",
                     "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2 and "either workers" in result.output
    assert not (tmp_path / "o").exists()


def test_structure_problems_need_no_model():
    parsed, problems = read_sensitivity_file(BAD / "growth_reversed.toml")
    assert parsed is None and [k for _, k, _ in problems] == ["metric.Level growth 2025-2020.growth"]
    parsed, problems = read_sensitivity_file(DATA / "ishigami.toml", {"method": "morris", "n": 10})
    assert problems == [] and (parsed.method, parsed.n) == ("morris", 10)


def test_plan_targets_is_a_sobol_study_of_t1_t3_t7(model):
    study = load_study(EXAMPLES / "plan_targets.toml", model)
    assert (study.method, study.n, study.base.name) == ("sobol", 1024, "plan")
    assert len(study.factors) >= 10
    kinds = {model.catalogue[f.name].kind for f in study.factors}
    assert kinds == {"lever", "uncertain"}
    for f in study.factors:  # bounds within the model's own range
        lever = model.catalogue[f.name]
        assert lever.lower <= f.lower < f.upper <= lever.upper
    pairs = {(m.target.id, m.quantity) for m in study.metrics}
    assert pairs == {(t, q) for t in ("T1", "T3", "T7") for q in ("value", "gap")}
    assert study.runs == design_runs("sobol", 1024, len(study.factors)) == 1024 * (len(study.factors) + 2)
    assert study.final_time == 2025  # runs stop at the last year a metric needs


def test_plan_screening_is_morris_over_every_constant(model):
    study = load_study(EXAMPLES / "plan_screening.toml", model)
    assert study.method == "morris"
    assert sorted(study.factor_names) == sorted(model.catalogue)
    for f in study.factors:
        lever = model.catalogue[f.name]
        assert (f.lower, f.upper) == (lever.lower, lever.upper)
    assert {"T1", "T3", "T7"} <= {m.name for m in study.metrics}
