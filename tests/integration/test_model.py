"""The model against independent expectations: the plan's 2020 figures, stock
conservation, no negative stocks, integration error, and documentation of every number."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from conftest import BASE_YEAR_TOLERANCE, MODEL_FILE, SCENARIOS, TIME_STEP_TOLERANCE
from sim.engine.run import run_spec, simulate, simulate_pysd
from sim.specs.scenario import load_scenario

# The plan's 2020 figures (docs/plan.md §1), typed here from the plan, not from the model.
PLAN_2020 = {
    "GDP": 142.78,
    "Tertiary Value Added": 119.1,
    "Primary Value Added": 142.78 * 0.048,
    "Secondary Value Added": 142.78 * 0.118,
    "Fixed Asset Investment": 43.6,
    "General Public Budget Revenue": 6.3,
    "Retail Sales": 76.7,
    "Above Scale Industrial Output": 55.0,
    "Urban Disposable Income per Capita": 31500.0,
    "Population": 463543.0,  # 7th census
}

PUBLIC_NAMES = [
    "GDP", "Primary Value Added", "Secondary Value Added", "Tertiary Value Added",
    "Above Scale Industrial Output", "Above Scale Industrial Value Added", "Fixed Asset Investment",
    "General Public Budget Revenue", "Retail Sales", "Urban Disposable Income per Capita", "Population",
    "Employment", "Unemployment Rate", "Energy Consumption", "CO2 Emissions", "RD Share of GDP",
]


def _blocks(text: str) -> list[str]:
    body = text.split("\\\\\\---///")[0]
    return [b for b in body.split("|") if b.strip()]


def _integ_equations() -> dict[str, str]:
    """Stock name -> its net-flow expression, read from the .mdl text."""
    out = {}
    for block in _blocks(MODEL_FILE.read_text(encoding="utf-8")):
        eq = block.split("~")[0]
        m = re.match(r"\s*(?:\*+\s*\.[^\n]*\n\*+~[^|]*)?\s*([^=\n]+?)\s*=\s*INTEG\s*\((.*)\)\s*$", eq, re.S)
        if m:
            inner = m.group(2)
            depth, cut = 0, None
            for i, ch in enumerate(inner):
                depth += ch == "("
                depth -= ch == ")"
                if ch == "," and depth == 0:
                    cut = i
            out[m.group(1).strip()] = " ".join(inner[:cut].split())
    return out


def _evaluate(expr: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a Vensim arithmetic expression (names, numbers, + - * / ^ and brackets) on ``frame``."""
    slots, code = {}, []
    for token in re.split(r"([-+*/^(),])", expr):
        word = token.strip()
        if word in frame.columns:
            slots[f"_v{len(slots)}"] = frame[word].to_numpy(dtype=float)
            code.append(f"_v{len(slots) - 1}")
        elif word == "^":
            code.append("**")
        elif word == "" or re.fullmatch(r"[-+*/(),]|[0-9.eE]+", word):
            code.append(word)
        else:
            raise AssertionError(f"cannot evaluate {word!r} in {expr!r}")
    return eval("".join(code), {"__builtins__": {}}, slots)  # noqa: S307 - test-only, our own .mdl


@pytest.mark.parametrize("variable", list(PLAN_2020))
def test_base_year_equals_plan(baseline, variable):
    value = baseline.loc[2020, variable]
    assert value == pytest.approx(PLAN_2020[variable], rel=BASE_YEAR_TOLERANCE)


def test_base_year_structure(baseline):
    row = baseline.loc[2020]
    shares = [row["Primary Share of GDP"], row["Secondary Share of GDP"], row["Tertiary Share of GDP"]]
    assert shares == pytest.approx([0.048, 0.118, 0.834], abs=0.0005)
    assert row["Primary Value Added"] + row["Secondary Value Added"] + row["Tertiary Value Added"] == pytest.approx(row["GDP"])


def test_public_names_exist(model):
    missing = [n for n in PUBLIC_NAMES if n not in model.outputs]
    assert not missing


@pytest.mark.parametrize("scenario", ["baseline", "plan"])
def test_stocks_change_by_exactly_their_net_flow(model, scenario):
    sc = load_scenario(SCENARIOS / f"{scenario}.toml", model)
    spec = run_spec(model, sc, final_time=2030)
    spec = dataclasses.replace(spec, saveper=spec.time_step)
    frame = simulate_pysd(model, spec)  # every Euler step saved: PySD, the reference
    equations = _integ_equations()
    assert len(equations) >= 30
    dt = spec.time_step
    for stock, expr in equations.items():
        flow = _evaluate(expr, frame)
        level = frame[stock].to_numpy(dtype=float)
        predicted = level[:-1] + dt * np.broadcast_to(flow, level.shape)[:-1]
        scale = np.maximum(np.abs(level[1:]), 1e-9)
        err = np.abs(predicted - level[1:]) / scale
        assert err.max() < 1e-9, f"{stock}: stock does not follow its net flow ({expr}); worst relative error {err.max():.2e}"


@pytest.mark.parametrize("scenario", ["baseline", "plan"])
def test_no_negative_stock_no_nan(model, scenario, baseline, plan):
    frame = {"baseline": baseline, "plan": plan}[scenario]
    assert np.isfinite(frame.to_numpy(dtype=float)).all()
    negative = [s for s in _integ_equations() if (frame[s] < 0).any()]
    assert not negative
    assert list(frame.index) == [float(y) for y in range(2020, 2036)]


@pytest.mark.parametrize("scenario", ["baseline", "plan"])
def test_halving_time_step_barely_moves_2025(model, scenario):
    sc = load_scenario(SCENARIOS / f"{scenario}.toml", model)
    spec = run_spec(model, sc, final_time=2026)
    fine_steps = np.arange(2 * (len(spec.steps) - 1) + 1) * spec.time_step / 2 + spec.initial_time
    fine = dataclasses.replace(
        spec,
        time_step=spec.time_step / 2,
        params={k: (np.interp(fine_steps, spec.steps, v) if isinstance(v, np.ndarray) else v) for k, v in spec.params.items()},
    )
    a = simulate(model, spec).loc[2025, PUBLIC_NAMES]
    b = simulate(model, fine).loc[2025, PUBLIC_NAMES]
    rel = ((b - a).abs() / a.abs()).sort_values()
    assert rel.max() < TIME_STEP_TOLERANCE, rel.tail(3).to_dict()


def test_every_variable_documented(model):
    doc = model.doc
    skip = {"Time"}
    undocumented = [r["Real Name"] for r in doc.to_dict("records")
                    if r["Real Name"] not in skip and not (isinstance(r["Comment"], str) and r["Comment"].strip())]
    no_units = [r["Real Name"] for r in doc.to_dict("records")
                if r["Real Name"] not in skip and not (isinstance(r["Units"], str) and r["Units"].strip())]
    assert not undocumented
    assert not no_units


def test_every_number_has_a_source(model):
    """A constant typed into the model says where it comes from (or is a documented lever/uncertainty)."""
    missing = []
    for r in model.doc.to_dict("records"):
        if r["Type"] != "Constant" or r["Real Name"] in {"FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP"}:
            continue
        if not re.search(r"Source:", r["Comment"] or ""):
            missing.append(r["Real Name"])
    assert not missing


def test_catalogue_ranges_hold_defaults(model):
    assert len(model.levers) >= 10
    assert len(model.uncertainties) >= 30
    for lever in model.catalogue.values():
        assert lever.lower < lever.upper, lever.name
        assert lever.lower <= lever.default <= lever.upper, lever.name
        assert lever.source, lever.name


def test_plan_levers_raise_investment_and_output(baseline, plan):
    """The plan's levers work through the mechanisms: more investment, more capital, more output."""
    for name in ["Fixed Asset Investment", "Industrial Capital", "Above Scale Industrial Output", "GDP"]:
        assert plan.loc[2025, name] > baseline.loc[2025, name], name


def test_realisation_lever_is_monotone(model):
    """Raising project realisation raises investment and GDP in 2025 (no perverse response)."""
    sc = load_scenario(SCENARIOS / "plan.toml", model)
    base = run_spec(model, sc, final_time=2026)
    values = []
    for r in (0.5, 1.0, 1.5):
        spec = dataclasses.replace(base, params={**base.params, "Realisation Improvement": r})
        out = simulate(model, spec).loc[2025]
        values.append((out["Fixed Asset Investment"], out["GDP"]))
    assert values[0][0] < values[1][0] < values[2][0]
    assert values[0][1] < values[1][1] < values[2][1]


def test_levers_act_from_the_plan_period(model, baseline):
    """No lever, at its minimum or its maximum, moves the 2020 base year away from the plan's figures."""
    spec = run_spec(model, load_scenario(SCENARIOS / "baseline.toml", model))
    names = list(model.levers)
    members = [(name, bound) for name in names for bound in ("lower", "upper")]
    params = dict(spec.params)
    for name in names:
        default = model.levers[name].default
        params[name] = np.array([getattr(model.levers[n], b) if n == name else default for n, b in members])
    result = model.compiled.run(params=params, n=len(members), return_columns=list(PLAN_2020))
    first = list(result.times).index(2020.0)
    for variable, expected in PLAN_2020.items():
        values = result.values[variable][:, first]
        worst = int(np.argmax(np.abs(values - expected)))
        assert values[worst] == pytest.approx(expected, rel=BASE_YEAR_TOLERANCE), members[worst]


def _initial_state_constants(model) -> set[str]:
    """Constants the model derives its 2020 state from, read from the compiled dependency graph:
    those a non-stock ``Initial ...`` variable or a stock's initial value depends on (through any chain)."""
    ir = model.compiled.ir
    nodes = {n["var"]: n for n in ir["nodes"]}
    roots = [n["var"] for n in ir["nodes"] if str(n.get("name") or "").startswith("Initial ") and n.get("state") is None]
    roots += [d for st in ir["statefuls"] for d in st.get("init_deps", [])]
    seen: set[str] = set()
    while roots:
        v = roots.pop()
        if v not in seen:
            seen.add(v)
            roots.extend(nodes.get(v, {}).get("deps", []))
    return {c["name"] for c in ir["constants"] if c["var"] in seen}


def test_no_lever_sets_the_initial_state(model):
    """Every lever acts through the plan period (Policy Switch), so none feeds the 2020 state:
    a lever may be set as a constant over the whole run (what `reach` and `consistency` search)."""
    initial = _initial_state_constants(model)
    assert "Initial Industrial Capital Output Ratio" in initial  # the walk finds what it should: K0 = VA0 x K/VA
    assert initial & set(model.levers) == set()


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_scenario_starts_from_the_plan_base_year(model, path):
    frame = simulate(model, run_spec(model, load_scenario(path, model), final_time=2021))
    for variable, expected in PLAN_2020.items():
        assert frame.loc[2020, variable] == pytest.approx(expected, rel=BASE_YEAR_TOLERANCE), variable
