"""Dimensional consistency with pint (sim.model.units): toy models whose errors are known by construction."""

from __future__ import annotations

import pytest

from conftest import mdl_control
from sim.model.units import UnitIssue, check_units, registry

#: A small consistent model: stocks, flows, conversions, functions the checker must accept.
GOOD = {
    "Capital": ("INTEG (Investment - Depreciation, Initial Capital)", "Yi"),
    "Initial Capital": ("Investment Base / (Depreciation Rate + 0.02)", "Yi"),
    "Investment Base": ("10", "Yi/Year"),
    "Investment": ("MAX(0, Investment Base * Demand Lookup(Time / Year Unit - 2020)) * PULSE(2021, 5)", "Yi/Year"),
    "Year Unit": ("1", "Year"),
    "Demand Lookup": ("[(0,0)-(10,2)],(0,1),(10,2)", "Dmnl"),
    "Depreciation": ("Capital * Depreciation Rate", "Yi/Year"),
    "Depreciation Rate": ("0.1", "1/Year"),
    "Output": ("Initial Output * (Capital / Initial Capital) ^ Elasticity * Labour Index ^ (1 - Elasticity)", "Yi/Year"),
    "Initial Output": ("50", "Yi/Year"),
    "Labour Index": ("1", "Dmnl"),
    "Elasticity": ("0.4", "Dmnl"),
    "Smoothed Output": ("SMOOTHI(Output, Averaging Time, Initial Output)", "Yi/Year"),
    "Averaging Time": ("2", "Year"),
    "Income": ("Residents * Income per Head * Yi per Yuan", "Yi/Year"),
    "Residents": ("1000", "Person"),
    "Income per Head": ("30000", "Yuan/(Person*Year)"),
    "Yi per Yuan": ("1e-08", "Yi/Yuan"),
    "Emissions": ("Energy * CO2 Factor", "ktCO2/Year"),
    "Energy": ("Output * Intensity", "ktce/Year"),
    "Intensity": ("10", "ktce/Yi"),
    "CO2 Factor": ("2.7", "tCO2/tce"),
    "Growth Index": ("EXP(Depreciation Rate * (Time - INITIAL TIME)) + LN(Labour Index)", "Dmnl"),
    "Share": ("XIDZ(Depreciation, Output, 0)", "Dmnl"),
    "Bounded": ("IF THEN ELSE(Output > Initial Output, Output, MIN(Initial Output, Output))", "Yi/Year"),
}


def write_model(tmp_path, equations: dict, name: str = "toy.mdl"):
    body = ["{UTF-8}"]
    for var, (eq, units) in equations.items():
        if eq.startswith("["):
            body.append(f"{var}(\n\t{eq})\n\t~\t{units}\n\t~\tx\n\t|\n")
        else:
            body.append(f"{var}=\n\t{eq}\n\t~\t{units}\n\t~\tx\n\t|\n")
    path = tmp_path / name
    path.write_text("\n".join(body) + mdl_control(), encoding="utf-8")
    return path


def issues_of(tmp_path, changes: dict) -> list[UnitIssue]:
    return check_units(write_model(tmp_path, {**GOOD, **changes})).issues


def test_consistent_model_has_no_issue(tmp_path):
    report = check_units(write_model(tmp_path, GOOD))
    assert report.ok, [str(i) for i in report.issues]
    assert report.checked == len(GOOD) + 4  # the control variables too


def test_sum_of_different_units_is_caught_with_both_units(tmp_path):
    (issue,) = issues_of(tmp_path, {"Depreciation": ("Capital * Depreciation Rate + Residents", "Yi/Year")})
    assert issue.variable == "Depreciation"
    assert "Residents" in issue.expression
    assert issue.expected == "Yi / Year" and issue.found == "Person"


def test_declared_units_that_do_not_match_the_equation(tmp_path):
    """Declaring a flow in Yi breaks its own equation and those using it: all are listed."""
    issues = {i.variable: i for i in issues_of(tmp_path, {"Depreciation": ("Capital * Depreciation Rate", "Yi")})}
    assert set(issues) == {"Depreciation", "Capital", "Share"}  # Share = XIDZ(Depreciation, Output, 0)
    assert (issues["Depreciation"].expected, issues["Depreciation"].found) == ("Yi", "Yi / Year")
    assert "Investment - Depreciation" in issues["Capital"].expression


def test_scale_mismatch_yi_and_yuan_is_caught(tmp_path):
    """Same dimension (money), factor 1e8: adding them is an error."""
    (issue,) = issues_of(tmp_path, {"Income": ("Residents * Income per Head * Yi per Yuan + Residents * Income per Head",
                                               "Yi/Year")})
    assert issue.variable == "Income"
    assert "Yuan" in issue.found


def test_stock_flow_units_are_checked(tmp_path):
    (issue,) = issues_of(tmp_path, {"Capital": ("INTEG (Investment - Depreciation, Investment Base)", "Yi")})
    assert issue.variable == "Capital"
    assert issue.expression.startswith("INTEG initial value")
    assert (issue.expected, issue.found) == ("Yi", "Yi / Year")
    (issue,) = issues_of(tmp_path, {"Capital": ("INTEG (Capital - Depreciation, Initial Capital)", "Yi")})
    assert issue.expression == "Capital - Depreciation"
    assert (issue.expected, issue.found) == ("Yi", "Yi / Year")


def test_unnormalised_cobb_douglas_is_caught(tmp_path):
    """K^a L^(1-a) with K in Yi and L in Person: the exponents' values carry into the units."""
    issues = issues_of(tmp_path, {
        "Workers": ("100", "Person"),
        "Output": ("Scale * Capital ^ Elasticity * Workers ^ (1 - Elasticity)", "Yi/Year"),
        "Scale": ("1", "Dmnl"),
    })
    (issue,) = [i for i in issues if i.variable == "Output"]
    assert "Yi ** 0.4" in issue.found and "Person ** 0.6" in issue.found


def test_exponent_with_units_and_log_of_a_quantity_are_caught(tmp_path):
    issues = issues_of(tmp_path, {"Growth Index": ("EXP(Depreciation Rate) + LN(Residents)", "Dmnl")})
    assert [i.variable for i in issues] == ["Growth Index"]
    issues = issues_of(tmp_path, {"Labour Index": ("2 ^ Averaging Time", "Dmnl")})
    assert [i.variable for i in issues] == ["Labour Index"]


def test_smooth_time_must_be_in_years(tmp_path):
    (issue,) = issues_of(tmp_path, {"Smoothed Output": ("SMOOTHI(Output, Elasticity, Initial Output)", "Yi/Year")})
    assert issue.variable == "Smoothed Output"
    assert (issue.expected, issue.found) == ("Year", "Dmnl")


def test_if_branches_must_agree(tmp_path):
    (issue,) = issues_of(tmp_path, {"Bounded": ("IF THEN ELSE(Output > Initial Output, Output, Capital)", "Yi/Year")})
    assert issue.variable == "Bounded"


def test_unknown_unit_is_reported(tmp_path):
    issues = {i.variable: i for i in issues_of(tmp_path, {"Elasticity": ("0.4", "Widgets")})}
    assert "cannot parse" in issues["Elasticity"].found
    assert "cannot parse" in issues["Output"].found  # every equation using it says why


def test_registry_defines_the_project_units():
    u = registry()
    assert (1 * u.Yi).to(u.Yuan).magnitude == pytest.approx(1e8)
    assert (1 * u.ktce).to(u.tce).magnitude == 1000
    assert (1 * u.ktCO2).to(u.tCO2).magnitude == 1000
    assert (u.ktce * u.tCO2 / u.tce).dimensionality == (1 * u.ktCO2).dimensionality
