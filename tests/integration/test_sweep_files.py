"""Sweep files: malformed ones are refused before anything runs; the project's examples are valid."""

from __future__ import annotations

import pytest

from conftest import REPO, assert_problems_match, assert_refused_without_writing
from sim.errors import ScenarioError
from sim.specs.sweep import load_sweep, read_sweep_file

BAD = REPO / "tests" / "data" / "sweeps" / "bad"
GOOD = REPO / "tests" / "data" / "sweeps" / "good"
EXAMPLES = REPO / "scenarios" / "sweeps"

#: file -> [(key, part of the message)], every problem the file must raise (in order).
EXPECTED = {
    "unknown_factor": [("factor.Tourism Subsidy", "unknown lever or uncertain parameter 'Tourism Subsidy'")],
    "misspelt_factor": [("factor.Realisation Improvment", "did you mean 'Realisation Improvement'")],
    "not_a_lever": [("factor.GDP", "'GDP' is a model variable (Auxiliary) but not a lever or uncertain parameter")],
    "bounds_outside_range": [("factor.Realisation Improvement.bounds",
                              "0.2 is outside the allowed range [0.5, 2.5] Dmnl of lever 'Realisation Improvement'")],
    "lower_above_upper": [("factor.Realisation Improvement.bounds", "lower 2 is greater than upper 1")],
    "bounds_three_numbers": [("factor.Realisation Improvement.bounds", "must be [lower, upper], two numbers; got 3")],
    "unknown_method": [("method", "unknown method 'latin'; allowed: grid, lhs, sobol-sequence, monte-carlo")],
    "sobol_misspelt": [("method", "did you mean 'sobol-sequence'?")],
    "sobol_not_power_of_two": [("n", "needs n a power of 2 for its balance properties; 100 is not (nearest: 64 or 128)")],
    "grid_without_values": [("factor.Realisation Improvement", "method 'grid' needs values = [...] for every factor"),
                            ("factor.Realisation Improvement.bounds", "'bounds' belongs to sampled methods")],
    "grid_with_n": [("n", "not used by method 'grid'")],
    "grid_value_outside_range": [("factor.Realisation Improvement.values", "3 is outside the allowed range [0.5, 2.5]")],
    "values_in_lhs": [("factor.Realisation Improvement.values", "values make a grid; method 'lhs' samples bounds"),
                      ("factor.Realisation Improvement", "method 'lhs' needs bounds = [lower, upper]")],
    "missing_n": [("n", "required key is missing (method 'lhs' needs n, the number of runs)")],
    "missing_seed": [("seed", "required key is missing (method 'monte-carlo' needs a seed")],
    "n_not_integer": [("n", "must be a whole number of runs >= 1; got 10.5")],
    "unknown_distribution": [("factor.Realisation Improvement.distribution",
                              "unknown distribution 'gaussian'; allowed: uniform, normal, triangular, lognormal")],
    "normal_without_sd": [("factor.Realisation Improvement.sd", "distribution 'normal' needs mean and sd; sd is missing")],
    "mode_outside_bounds": [("factor.Realisation Improvement.mode", "mode 3 lies outside the bounds [0.5, 2.5]")],
    "lognormal_negative": [("factor.Wage Curve Elasticity.bounds", "a lognormal factor cannot be negative"),
                           ("factor.Wage Curve Elasticity.median", "median 0.1 lies outside the bounds")],
    "parameter_of_other_distribution": [("factor.Realisation Improvement.mode",
                                         "'mode' belongs to distribution 'triangular'; 'uniform' (the default)")],
    "duplicate_factor": [("factor.Realisation Improvement", "factor given twice (entries 1 and 2)")],
    "factor_not_array": [("factor", "must be an array of tables, written [[factor]]")],
    "unknown_factor_key": [("factor.Realisation Improvement.bound", "unknown key 'bound' in [[factor]]; allowed: name, "
                            "values, bounds, distribution, mean, sd, mode, median, sigma; did you mean 'bounds'?")],
    "unknown_top_key": [("samples", "unknown key 'samples' at the top level")],
    "missing_base": [("base", "base scenario 'plann' not found"), ("base", "did you mean 'plan'?")],
    "year_outside_run": [("outputs.years", "year 2040 lies outside the run 2020-2035")],
    "unknown_output": [("outputs.variables", "unknown model variable 'GPD'; did you mean 'GDP'?")],
    "lookup_output": [("outputs.variables", "'Vacancy Fill Lookup' is a lookup table")],
    "malformed_toml": [("", "not valid TOML")],
    "empty": [("", "file has no keys")],
}


def test_every_bad_file_has_an_expectation():
    assert sorted(p.stem for p in BAD.glob("*.toml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_rejected_with_its_problems(name, model):
    path = BAD / f"{name}.toml"
    with pytest.raises(ScenarioError) as info:
        load_sweep(path, model)
    assert_problems_match(info.value.problems, path, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exits_2_and_writes_nothing(invoke, name, tmp_path):
    path = BAD / f"{name}.toml"
    work = tmp_path / "work"
    work.mkdir()
    result = invoke(["-q", "sweep", str(path), "--out", str(tmp_path / "out")], work)
    assert_refused_without_writing(result, path, EXPECTED[name], tmp_path / "out", work)


def test_structure_problems_need_no_model():
    parsed, problems = read_sweep_file(BAD / "lower_above_upper.toml")
    assert parsed is None and [k for _, k, _ in problems] == ["factor.Realisation Improvement.bounds"]


def test_workers_and_scheduler_together_are_refused(invoke, tmp_path):
    result = invoke(["sweep", str(GOOD / "lhs_small.toml"), "--out", str(tmp_path / "o"),
                     "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2
    assert "either workers" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.toml")) + sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_good_and_example_files_load(path, model):
    sweep = load_sweep(path, model)
    assert sweep.runs >= 1 and sweep.factors and sweep.variables and sweep.years


def test_plan_uncertainty_is_a_large_lhs_over_ten_factors(model):
    sweep = load_sweep(EXAMPLES / "plan_uncertainty.toml", model)
    assert sweep.method == "lhs" and sweep.runs == 100_000
    assert len(sweep.factors) >= 10
    assert sweep.base.name == "plan"
    assert sweep.years == list(range(2020, 2036))
    assert {"GDP", "Above Scale Industrial Output", "Urban Disposable Income per Capita"} <= set(sweep.variables)
    for f in sweep.factors:  # bounds within the model's own range
        lever = model.catalogue[f.name]
        assert lever.lower <= f.lower < f.upper <= lever.upper


def test_realisation_grid_is_a_grid_of_the_two_delivery_levers(model):
    sweep = load_sweep(EXAMPLES / "realisation_grid.toml", model)
    assert sweep.method == "grid"
    assert sweep.factor_names == ["Realisation Improvement", "Park Investment Realisation"]
    assert sweep.runs == len(sweep.factors[0].values) * len(sweep.factors[1].values)
