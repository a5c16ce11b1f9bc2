"""The validation suite (sim.analysis.checks, `shuangta check`): toy models whose verdicts are known by
construction, then the project's model."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import MODEL_FILE, mdl_control
from sim.analysis.checks import (
    check_behaviour,
    check_conservation,
    check_dimensions,
    check_extremes,
    check_integration,
    check_reality,
    load_checks,
)
from sim.analysis.suite import format_checks, run_checks
from sim.cli import cli
from sim.errors import InputError

#: A toy capital model: investment (a lever) builds capital, which wears out.
TOY = {
    "Capital": ("INTEG (Investment - Depreciation, 100)", "Yi", "Capital stock. Source: toy."),
    "Investment": ("Investment Lever * Normal Investment", "Yi/Year", "Investment. Source: toy."),
    "Normal Investment": ("10", "Yi/Year", "Investment at the lever's normal value. Source: toy."),
    "Investment Lever": ("1", "Dmnl [0,2]", "LEVER: Investment relative to normal. Source: toy."),
    "Depreciation": ("Capital * Depreciation Rate", "Yi/Year", "Capital worn out. Source: toy."),
    "Depreciation Rate": ("0.1", "1/Year [0.05,0.15]", "UNCERTAIN: Depreciation rate. Source: toy."),
    "Output": ("Capital * Output Ratio", "Yi/Year", "Output. Source: toy."),
    "Output Ratio": ("0.3", "1/Year", "Output per unit of capital. Source: toy."),
}

CHECKS = """
schema_version = 1
[settings]
final_time = 2030
integration_year = 2025
integration_tolerance = 0.005
integration_scenarios = []
main_outputs = ["Capital", "Output"]
conservation_scenarios = []

[[bounds]]
variable = "Capital"
min = 0
[[bounds]]
variable = "Output"
max_growth = 0.5

[[checks]]
name = "no investment -> capital declines"
[checks.set]
"Investment Lever" = 0
[[checks.expect]]
variable = "Capital"
change = "decrease"
strict = true
from = 2020
to = 2030
[[checks.expect]]
variable = "Output"
versus_baseline = "lower"
from = 2021
to = 2030

[[checks]]
name = "more investment -> more capital"
[checks.set]
"Investment Lever" = {2020 = 1, 2022 = 2}
[[checks.expect]]
variable = "Capital"
versus_baseline = "higher"
from = 2021
to = 2030
"""


def toy(tmp_path, changes: dict | None = None, dt: float = 0.25, name: str = "toy.mdl"):
    eqs = {**TOY, **(changes or {})}
    body = ["{UTF-8}"] + [f"{v}=\n\t{eq}\n\t~\t{u}\n\t~\t{c}\n\t|\n" for v, (eq, u, c) in eqs.items()]
    path = tmp_path / name
    path.write_text("\n".join(body) + mdl_control(dt), encoding="utf-8")
    return path


@pytest.fixture
def checks(tmp_path):
    path = tmp_path / "checks.toml"
    path.write_text(CHECKS, encoding="utf-8")
    return load_checks(path)


# --------------------------------------------------------------------------- toy models


def test_reality_checks_pass_on_a_sound_model(tmp_path, checks):
    result = check_reality(toy(tmp_path), checks)
    assert result.passed, result.details
    assert result.figures == {"checks": 2, "passed": 2}


def test_reality_check_fails_on_a_deliberately_wrong_model(tmp_path, checks):
    """Depreciation proportional to investment, not capital: with no investment capital never declines."""
    wrong = toy(tmp_path, {"Depreciation": ("Investment * 0.5", "Yi/Year", "Wrong on purpose. Source: toy.")})
    result = check_reality(wrong, checks)
    assert not result.passed
    assert any("FAIL no investment -> capital declines: Capital does not decrease" in d for d in result.details)
    assert "pass more investment -> more capital" in result.details


def test_extreme_conditions_find_a_negative_stock(tmp_path, checks):
    """Outflow 8 x lever against an inflow of 10: at the lever's maximum (2) the stock goes negative."""
    model = toy(tmp_path, {
        "Capital": ("INTEG (10 - Investment Lever * 8, 50)", "Yi", "A stock drained by the lever. Source: toy."),
    })
    result = check_extremes(model, checks)
    assert not result.passed
    assert result.figures["runs"] == 5   # defaults, lever at min, lever at max, all at min, all at max
    assert any(d.startswith("Investment Lever = 2 (max): stock Capital is negative") for d in result.details)
    assert any(d.startswith("all levers at max: stock Capital is negative") for d in result.details)
    assert not any(d.startswith("Investment Lever = 0 (min)") for d in result.details)
    assert check_extremes(toy(tmp_path, name="sound.mdl"), checks).passed


def test_extreme_conditions_find_growth_beyond_a_bound(tmp_path, checks):
    model = toy(tmp_path, {"Output": ("Capital * Output Ratio * (1 + STEP(Investment Lever, 2025))", "Yi/Year",
                                      "Output that jumps in 2025. Source: toy.")})
    result = check_extremes(model, checks)
    # STEP switches on at 2025 (PySD: t + dt/2 > 2025), so the jump is between the 2024 and 2025 values
    assert "defaults: Output grows +100.0% in 2024-2025, beyond +50%/yr" in result.details, result.details


def test_integration_error_is_caught_with_a_coarse_step(tmp_path, checks):
    """Capital growing 50 %/yr with TIME STEP 1: Euler gives 1.5^5, halving the step 1.25^10 (+23 %)."""
    model = toy(tmp_path, {"Capital": ("INTEG (Capital * 0.5, 1)", "Yi", "Explosive growth. Source: toy.")}, dt=1)
    result = check_integration(model, checks)
    assert not result.passed
    assert any("Capital in 2025 moves 22.6" in d for d in result.details), result.details
    assert check_integration(toy(tmp_path, name="fine.mdl", dt=0.0625), checks).passed


def test_stock_conservation_on_a_toy(tmp_path, checks):
    model = toy(tmp_path, {"Depreciation": ("MAX(0, MIN(Capital * Depreciation Rate, 8))", "Yi/Year",
                                            "Capped depreciation. Source: toy.")})
    result = check_conservation(model, checks)
    assert result.passed, result.details
    assert result.figures["checked"] == result.figures["stocks"] == 1


def test_dimensional_check_lists_the_mismatch(tmp_path):
    assert check_dimensions(toy(tmp_path, name="sound.mdl")).passed
    model = toy(tmp_path, {"Output": ("Capital * Output Ratio + Depreciation Rate", "Yi/Year", "Bad. Source: toy.")})
    result = check_dimensions(model)
    assert not result.passed and result.figures["inconsistent"] == 1
    assert result.details[0].startswith("Output: ")
    assert "expected Yi / Year, found 1 / Year" in result.details[0]


def test_bad_validation_data_is_rejected(tmp_path):
    path = tmp_path / "checks.toml"
    path.write_text(CHECKS.replace('change = "decrease"', 'change = "shrink"'), encoding="utf-8")
    with pytest.raises(InputError, match="checks.0.expect.0.change"):
        load_checks(path)
    path.write_text(CHECKS.replace('variable = "Output"\nmax_growth', 'variable = "Outptu"\nmax_growth'), encoding="utf-8")
    with pytest.raises(InputError, match="not variables of the model: Outptu"):
        check_extremes(toy(tmp_path), load_checks(path))


def test_cli_check_exit_status(tmp_path):
    bad = toy(tmp_path, {"Output": ("Capital + Output Ratio", "Yi/Year", "Bad units. Source: toy.")})
    path = tmp_path / "checks.toml"
    path.write_text(CHECKS, encoding="utf-8")
    out = CliRunner().invoke(cli, ["check", "--model", str(bad), "--data", str(path), "--only", "dimensions",
                                   "--only", "reality"])
    assert out.exit_code == 1, out.output
    assert "FAIL  dimensional consistency" in out.output and "PASS  reality checks" in out.output
    good = CliRunner().invoke(cli, ["check", "--model", str(toy(tmp_path, name="good.mdl")), "--data", str(path),
                                    "--only", "conservation", "--only", "reality"])
    assert good.exit_code == 0, good.output
    assert "2 of 2 tests pass" in good.output


# --------------------------------------------------------------------------- the project's model


@pytest.fixture(scope="module")
def suite():
    return {r.name: r for r in run_checks(MODEL_FILE)}


def test_suite_runs_every_test(suite):
    assert list(suite) == ["dimensional consistency", "extreme conditions (levers)",
                           "extreme conditions (uncertain parameters)", "integration error", "stock conservation",
                           "behaviour reproduction", "reality checks", "structure", "lever box"]
    text = format_checks(list(suite.values()))
    assert text.count("PASS  ") + text.count("FAIL  ") == 9


@pytest.mark.parametrize("name", ["extreme conditions (levers)", "integration error", "stock conservation",
                                  "behaviour reproduction", "structure", "lever box"])
def test_model_passes(suite, name):
    assert suite[name].passed, format_checks([suite[name]])


def test_model_figures(suite):
    assert suite["extreme conditions (levers)"].figures["runs"] == 31
    assert suite["integration error"].figures["largest_change"] < 0.005
    assert suite["stock conservation"].figures["largest_error"] < 1e-9
    assert suite["stock conservation"].figures["checked"] == suite["stock conservation"].figures["stocks"] >= 30


def test_model_backcast_within_5_percent(suite):
    assert suite["behaviour reproduction"].figures["backcast_mape"] < 0.05


# The model passes every check of the suite (the fixes of docs/validation.md are applied).
def test_model_dimensions(suite):
    assert suite["dimensional consistency"].passed, suite["dimensional consistency"].details


def test_model_extremes_of_uncertain_parameters(suite):
    assert suite["extreme conditions (uncertain parameters)"].passed, suite["extreme conditions (uncertain parameters)"].details


def test_model_reality_checks(suite):
    assert suite["reality checks"].passed, suite["reality checks"].details



def test_behaviour_without_calibration_fails_with_advice(tmp_path):
    result = check_behaviour(MODEL_FILE, tmp_path / "missing.csv")
    assert not result.passed and "shuangta calibrate" in result.summary
