"""Model v2's structure against independent expectations: the time convention, financed
investment, sector capital, the open labour market, parks counted net, prices, and
constants that never come from a target."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import MODEL_FILE
from sim.analysis.checks import load_checks
from sim.model.compiler import with_settings
from sim.analysis.plausibility import load_analogues
from sim.engine.run import run_spec, simulate
from sim.specs.levers import Scenario
from sim.analysis.structure import check_lever_box, check_ranges
from sim.plan.targets import load_targets

#: The plan's targets' thresholds and ids must not appear in the derivation of a model constant.
TARGET_ID = re.compile(r"\bT(?:[1-9]|1[0-9]|2[01])[A-Z]?\b")


def _constants(model) -> dict[str, str]:
    """``{name: comment}`` of every constant (a number) of the model that is not a lever."""
    doc = model.doc
    out = {}
    for _, r in doc.iterrows():
        if r["Type"] == "Constant" and not str(r["Comment"] or "").startswith("LEVER:"):
            out[r["Real Name"]] = str(r["Comment"] or "")
    return out


def test_no_constant_derives_from_a_target(model):
    """Issue #11 point 8: no constant's documentation cites one of the plan's targets (levers may: they are policy)."""
    offenders = {n: TARGET_ID.findall(c) for n, c in _constants(model).items() if TARGET_ID.search(c)}
    assert not offenders, offenders


def test_the_detector_catches_the_old_realisation_rate():
    """The v1 derivation of the realisation rate cited T5: the pattern above finds it."""
    assert TARGET_ID.search("the plan's own investment target (T5, 87.2 亿元 in 2025) implies 0.26-0.3")
    assert not TARGET_ID.search("81 development-zone projects with 83.49 亿元 in place (Ch.1 Sec.1)")


def test_realisation_rate_is_the_2016_2020_arithmetic(model):
    """83.49 亿元 in place for 81 projects at 1,108 / 256 亿元 planned each (plan Ch.1 Sec.1, Ch.4 Sec.3)."""
    expected = 83.49 / (81 * 1108 / 256)
    assert model.catalogue["Project Realisation Rate 2016 to 2020"].default == pytest.approx(expected, abs=0.005)


def _run(model, levers=None, final_time=2035):
    scenario = Scenario(name="t", description="", path=MODEL_FILE, chain=[], levers=levers or {})
    return simulate(model, run_spec(model, scenario, final_time=final_time))


def test_policy_acts_for_five_full_years_by_the_end_of_2025(model):
    """Time convention: model time t is mid-year t; the plan starts on 1 January 2021 = model 2020.5,
    so a lever moves nothing before 2020.5 and by model 2025.5 it has acted for five years."""
    from sim.specs.levers import LeverValue

    consts = model.compiled.constants
    start = consts["Plan Period Start"] - consts["Year Start Offset"]
    assert start == pytest.approx(2020.5)
    fine = with_settings(model.compiled, saveper=model.compiled.time_step)
    base = fine.run(params={}, return_columns=["Outside Capital Inflow"], final_time=2026)
    push = fine.run(params={"Outside Capital Target": LeverValue.constant(60).value},
                    return_columns=["Outside Capital Inflow"], final_time=2026)
    t = base.times
    moved = np.abs(push.values["Outside Capital Inflow"][0] - base.values["Outside Capital Inflow"][0]) > 1e-9
    assert not moved[t < start - 1e-9].any()
    assert moved[(t > start + 0.0625) & (t <= 2025.5)].all()


def test_mid_year_reading_is_the_annual_mean(model):
    """A value saved at year t stands for year t: the mid-year rate is within 1 % of the mean over
    [t - 0.5, t + 0.5) for the headline flows of the plan run (g^2/24 for smooth growth)."""
    from conftest import SCENARIOS
    from sim.specs.scenario import load_scenario

    spec = run_spec(model, load_scenario(SCENARIOS / "plan.toml", model), final_time=2026)
    cols = ["GDP", "Above Scale Industrial Output", "Fixed Asset Investment", "Retail Sales"]
    fine = with_settings(model.compiled, saveper=model.compiled.time_step).run(
        params=spec.params, return_columns=cols, final_time=2026)
    t = fine.times
    for year in (2022, 2025):
        window = (t >= year - 0.5 - 1e-9) & (t < year + 0.5 - 1e-9)
        point = np.flatnonzero(np.isclose(t, year))[0]
        for c in cols:
            v = fine.values[c][0]
            assert v[point] == pytest.approx(v[window].mean(), rel=0.01), (c, year)


def test_structure_ranges_hold(model):
    """Each sector's capital-output ratio and marginal product of capital stay in their sourced ranges."""
    result = check_ranges(MODEL_FILE, load_checks())
    assert result.passed, result.details


def test_initial_capital_is_value_added_times_the_ratio(baseline, model):
    """Sector capital in 2020 = 2020 value added x its capital-output ratio (not the steady state of the list's mix)."""
    c = model.catalogue
    va_ind = baseline.loc[2020, "Base Industry Value Added"]
    assert baseline.loc[2020, "Industrial Capital"] == pytest.approx(va_ind * c["Initial Industrial Capital Output Ratio"].default)
    mpk = baseline.loc[2020, "Industrial Marginal Product of Capital"]
    assert mpk == pytest.approx(c["Capital Elasticity"].default / c["Initial Industrial Capital Output Ratio"].default)


def test_lever_box_stays_within_the_analogues(model):
    """Issue #11 point 3: over every lever and uncertain parameter at its extremes and 1,000 random corners,
    investment/GDP in every year and 15-year GDP growth stay within the sourced analogues."""
    result = check_lever_box(MODEL_FILE, load_checks())
    q = {x.id: x for x in load_analogues()}
    assert result.figures["largest_investment_share"] <= q["fai_gdp"].analogue.value
    assert result.figures["fastest_growth"] <= q["gdp_growth_15y"].analogue.value
    assert result.passed, result.details[:5]


def test_investment_never_exceeds_its_sources(model):
    """The financing identity on 200 random lever sets: FAI <= all funds, FAI <= construction capacity,
    park investment <= industrial investment, in every step to 2035."""
    rng = np.random.default_rng(11)
    levers = model.levers
    n = 200
    params = {name: rng.uniform(lev.lower, lev.upper, n) for name, lev in levers.items()}
    cols = ["Fixed Asset Investment", "Total Investment Funds", "Construction Capacity", "Total Park Investment",
            "Industrial Investment"]
    r = with_settings(model.compiled, saveper=model.compiled.time_step).run(
        params=params, n=n, return_columns=cols, final_time=2035)
    v = r.values
    tol = 1 + 1e-12
    assert (v["Fixed Asset Investment"] <= v["Total Investment Funds"] * tol).all()
    assert (v["Fixed Asset Investment"] <= v["Construction Capacity"] * tol).all()
    assert (v["Total Park Investment"] <= v["Industrial Investment"] * tol).all()


def test_outside_capital_comes_from_a_finite_pool(model):
    """Promotion effort at its maximum cannot bring more than the regional pool; doubling the aim less than doubles the inflow."""
    from sim.specs.levers import LeverValue

    base = _run(model, {"Outside Capital Target": LeverValue.constant(30)}, final_time=2025)
    high = _run(model, {"Outside Capital Target": LeverValue.constant(60)}, final_time=2025)
    assert high.loc[2025, "Outside Capital Inflow"] < 2 * base.loc[2025, "Outside Capital Inflow"]
    assert (high["Outside Capital Inflow"] < high["Mobile Capital Pool"]).all()


def test_list_and_outside_capital_do_not_add_up(model):
    """Outside capital finances projects, it is not extra investment: with no projects asked for
    (realisation 0), more outside capital adds no investment once the reform has taken effect."""
    from sim.specs.levers import LeverValue

    none = {"Realisation Improvement": LeverValue.constant(0.5)}
    low = _run(model, {**none, "Outside Capital Target": LeverValue.constant(20.4)}, final_time=2030)
    high = _run(model, {**none, "Outside Capital Target": LeverValue.constant(60)}, final_time=2030)
    assert high.loc[2030, "Fixed Asset Investment"] == pytest.approx(low.loc[2030, "Fixed Asset Investment"], rel=1e-6)


def test_commuters_fill_jobs_when_the_plan_succeeds(model, baseline, plan):
    """An open labour market: under the plan more workers come from the rest of Chaoyang City,
    and every park job is filled (labour does not cap the parks' output in a slack market)."""
    assert plan.loc[2025, "Commuters"] > baseline.loc[2025, "Commuters"]
    assert (plan["Commuters"] <= plan["Regional Labour Pool"] * model.catalogue[
        "Maximum Commuter Share of Regional Pool"].default + 1e-6).all()


def test_gold_park_counts_only_net_output(model, baseline):
    """Ch.6 Sec.1: the gold park (50 亿元) relocates the Xindu smelter, whose output is in the 2020 base:
    full capacity adds 50 x (1 - existing share), from the investment still to spend after 2020."""
    c = model.compiled.constants
    row = baseline.loc[2020]
    new_capacity = row["Gold Park Output per Investment"] * row["Gold Park Planned Investment"]
    assert new_capacity == pytest.approx(50 * (1 - c["Gold Existing Output Share"]))
    assert row["Gold Park Planned Investment"] == pytest.approx(10.3 * (1 - c["Gold Project Share Spent Before 2021"]))


def test_park_capacity_is_renewed_not_lost(model):
    """Point 10: once built, park capacity is renewed by upkeep investment, so it does not decline after 2030."""
    from sim.specs.levers import LeverValue

    r = _run(model, {"Park Investment Realisation": LeverValue.constant(1)}, final_time=2035)
    cap = r["Total Park Output"] / r["Industrial Demand in Effect"]
    assert cap.loc[2035] >= cap.loc[2031] * (1 - 1e-6)


def test_current_price_targets_read_current_price_variables():
    """Point 7: each target is compared on the basis the plan states it."""
    by_id = {t.id: t for t in load_targets()}
    assert {by_id[i].basis for i in ("T4", "T5", "T6", "T7", "T11", "T12")} == {"current"}
    assert {by_id[i].basis for i in ("T1", "T2", "T3", "T10")} == {"comparable"}
    assert by_id["T5"].variable.endswith("Current Prices") and by_id["T11"].variable.endswith("Current Prices")


def test_observed_prices_enter_as_data(model, baseline):
    """CPI 2021-2024 is NBS data (0.9 %, 2.0 %, 0.2 %, 0.2 %): the index at mid-2024 lies between
    the products of the observed rates (linear interpolation between mid-years)."""
    cpi = baseline["Consumer Price Index"]
    low, high = np.prod([1.009, 1.02, 1.002, 1.002]) * 0.99, np.prod([1.025, 1.009, 1.02, 1.002, 1.002])
    assert low < cpi.loc[2024] < high


def test_wages_start_on_their_growth_path(model):
    """Point 6: with wages anchored to the region only (no local productivity, no wage curve), a first-order
    delay that starts on its growth path makes the paid wage grow at the regional rate g from the first
    year: Average Wage Index = exp(g (t - 2020)) within Euler's error, with no stall in 2021."""
    g = 0.06
    params = {"Local Wage Weight": 0.0, "Wage Curve Elasticity": 0.0, "Regional Real Wage Growth": g,
              "Wage Adjustment Time": 2.0}
    r = model.compiled.run(params=params, return_columns=["Average Wage Index"], final_time=2025)
    w = r.values["Average Wage Index"][0]
    expected = np.exp(g * (r.times - 2020))
    assert w == pytest.approx(expected, rel=0.005)
    # At rest (the v1 initialisation) the wage would have grown by g * (1 - exp(-1/T)) * T = 2.4 % in the first
    # year; on the growth path it grows by exp(g) - 1 = 6.2 %.
    assert w[1] / w[0] - 1 == pytest.approx(np.expm1(g), rel=0.02)


def test_pensions_return_the_income_ageing_takes(model, baseline):
    """Point 6: each point of the labour-force ratio lost to ageing is a point of pensioners per urban resident,
    so transfer recipients per resident rise by 5 x 0.004 / 0.19 = 10.5 % over 2020-2025 (hand-computed from
    the defaults: Ageing Effect on Labour Force, Initial Pensioner Share)."""
    c = model.compiled.constants
    years = 2025 - 2020
    expected = 1 + years * c["Ageing Effect on Labour Force"] / c["Initial Pensioner Share"]
    assert baseline.loc[2025, "Pension Recipient Index"] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(1 + 5 * 0.004 / 0.19, rel=1e-9)


def test_backcast_reproduces_income_growth_2016_2020():
    """Issue #11 'done when': from the stored 2015 state (model/data/calibration.csv) the history run's urban
    income grows at the recorded +5 %/yr over 2016-2020 (plan Ch.1 Sec.1: 31,500 yuan after +5 %/yr), within 1 point."""
    from sim.analysis.checks import stored_backcast

    run = stored_backcast(MODEL_FILE, columns=["Urban Disposable Income per Capita"]).run
    income = dict(zip(run.times, run.values["Urban Disposable Income per Capita"][0]))
    growth = (income[2020] / income[2015]) ** (1 / 5) - 1
    assert 0.04 <= growth <= 0.06, growth
