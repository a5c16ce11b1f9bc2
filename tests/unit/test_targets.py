"""The plan's targets: the data file, the evaluator and the ``targets`` command.

Expected values are hand arithmetic from the plan's figures
(docs/plan.md), not output of the code under test.
"""

from __future__ import annotations

import os

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import InputError
from sim.plan.targets import (
    COLUMNS,
    COMPARISONS,
    DEFAULT_TARGETS,
    KINDS,
    Target,
    evaluate,
    format_targets,
    format_verdicts,
    headline_ids,
    load_targets,
)

#: The plan's full Chinese text, when a copy is at hand: its path in $SHUANGTA_PLAN_TEXT (the test is skipped without it).
PLAN_TEXT = Path(os.environ.get("SHUANGTA_PLAN_TEXT", "")) if os.environ.get("SHUANGTA_PLAN_TEXT") else None
YEARS = np.arange(2020, 2036, dtype=float)
ABS = 1e-9  # the tolerance of hand-computed values below


def series(**columns) -> pd.DataFrame:
    """A yearly timeseries 2020-2035 indexed by float ``time``."""
    return pd.DataFrame(columns, index=pd.Index(YEARS, name="time"))


def compound(start: float, rate: float) -> np.ndarray:
    return start * (1 + rate) ** (YEARS - 2020)


def target(**fields) -> Target:
    base = dict(
        id="X1",
        description="test",
        description_zh="测试",
        section="Ch.0",
        variable="V",
        year=2025,
        kind="level",
        comparison=">=",
        threshold=1.0,
        arithmetic="by hand",
        evaluable=True,
    )
    base.update(fields)
    return Target(**base)


def row(result: pd.DataFrame, tid: str) -> dict:
    return result.set_index("id").loc[tid].to_dict()


@pytest.fixture(scope="module")
def targets() -> list[Target]:
    return load_targets()


@pytest.fixture(scope="module")
def by_id(targets) -> dict[str, Target]:
    return {t.id: t for t in targets}


# --------------------------------------------------------------------------- the data file


def test_every_plan_target_id_appears(targets):
    ids = {t.id for t in targets}
    for n in range(1, 22):
        assert any(re.fullmatch(rf"T{n}[A-Z]?", i) for i in ids), f"T{n} missing"


def test_every_target_has_the_fields(targets):
    for t in targets:
        assert t.id and t.description and t.description_zh and t.section and t.arithmetic, t.id
        assert t.year == 2025 and t.base_year == 2020, t.id
        assert t.kind in KINDS and t.comparison in COMPARISONS, t.id
        assert isinstance(t.threshold, float) and math.isfinite(t.threshold), t.id
        assert isinstance(t.evaluable, bool), t.id
        if t.evaluable:
            assert t.variable, t.id
        else:
            assert t.reason, t.id
        assert re.search(r"[\u4e00-\u9fff]", t.description_zh), t.id


@pytest.mark.parametrize(
    "tid, variable, kind, comparison, threshold",
    [
        ("T1", "Above Scale Industrial Output", "level", ">=", 165.0),
        ("T2", "Above Scale Industrial Value Added", "growth", ">=", 0.15),
        ("T3", "GDP", "level", ">=", 142.78 * 2),
        ("T4", "General Public Budget Revenue Current Prices", "level", ">=", 6.3 * 2),
        ("T5", "Fixed Asset Investment Current Prices", "level", ">=", 43.6 * 2),
        ("T6", "Urban Disposable Income per Capita", "growth", ">=", 0.15),
        ("T7", "Urban Disposable Income per Capita", "level", ">=", 31500 * 2),
        ("T7R", "Rural Disposable Income per Capita", "growth", ">=", 2 ** (1 / 5) - 1),
        ("T8", "Real Urban Disposable Income per Capita", "growth_vs", ">=", -0.005),
        ("T9", "Secondary Share of GDP", "level", ">=", 0.20),
        ("T9B", "Tertiary Share of GDP", "level", "<=", 0.75),
        ("T10", "Tertiary Value Added", "growth", ">=", 0.18),
        ("T11", "Retail Sales Current Prices", "level", ">=", 157.0),
        ("T12", "Retail Sales Current Prices", "growth", ">=", 0.05),
        ("T13", "Unemployment Rate", "level", "<=", 0.045),
        ("T14", "New Jobs in Plan Period", "level", ">=", 15000.0),
        ("T15", "RD Share of GDP", "level", ">=", 0.025),
        ("T16", "High Tech Share of Industrial Value Added", "level", ">", 0.80),
        ("T19", "Energy Intensity Index", "level", "<=", 1 - 0.135),
        ("T19B", "Carbon Intensity Index", "level", "<=", 1 - 0.18),
        ("T21", "Above Scale Industrial Output", "growth", ">=", 0.20),
    ],
)
def test_evaluable_targets_match_the_plan(by_id, tid, variable, kind, comparison, threshold):
    t = by_id[tid]
    assert (t.variable, t.kind, t.comparison, t.evaluable) == (variable, kind, comparison, True)
    assert t.threshold == pytest.approx(threshold, rel=1e-12)


def test_special_targets(by_id):
    assert by_id["T8"].other_variable == "GDP"
    assert by_id["T13"].aggregate == "max"
    assert "2^(1/5)" in by_id["T7R"].arithmetic
    for tid in ("T19", "T19B"):
        assert "national" in by_id[tid].arithmetic and "no number" in by_id[tid].arithmetic
    assert "164.5" in by_id["T1"].arithmetic and "165" in by_id["T1"].arithmetic
    assert "60" in by_id["T21"].description or "T21B" in by_id


@pytest.mark.parametrize("tid", ["T17", "T18", "T20", "T20B", "T21B"])
def test_targets_the_model_cannot_evaluate_are_listed_with_a_reason(by_id, tid):
    assert not by_id[tid].evaluable and by_id[tid].reason


@pytest.mark.skipif(PLAN_TEXT is None or not PLAN_TEXT.is_file(), reason="set SHUANGTA_PLAN_TEXT to the plan's text")
def test_chinese_wording_is_copied_from_the_plan(targets):
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731 - the text breaks lines mid-phrase
    plan = squash(PLAN_TEXT.read_text(encoding="utf-8"))
    for t in targets:
        assert squash(t.description_zh) in plan, t.id


# --------------------------------------------------------------------------- validation


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(body, encoding="utf-8")
    return path


ENTRY = """
[[target]]
id = "Z9"
description = "d"
description_zh = "中"
section = "s"
variable = "GDP"
year = 2025
kind = "level"
comparison = ">="
threshold = 1.0
arithmetic = "a"
evaluable = true
"""


def test_a_valid_minimal_file_loads(tmp_path):
    (t,) = load_targets(write(tmp_path, ENTRY))
    assert t.id == "Z9" and t.base_year == 2020 and t.reason == ""


@pytest.mark.parametrize(
    "change, message",
    [
        (('kind = "level"', 'kind = "levle"'), "did you mean 'level'"),
        (('comparison = ">="', 'comparison = "=>"'), "unknown comparison"),
        (('threshold = 1.0\n', ""), "missing field 'threshold'"),
        (("evaluable = true", "evaluable = false"), "needs a 'reason'"),
        (("evaluable = true", "evaluable = true\ncolour = 1"), "unknown field 'colour'"),
        (('kind = "level"', 'kind = "growth_vs"'), "needs 'other_variable'"),
        (('kind = "level"', 'kind = "growth"\naggregate = "max"'), "aggregate applies to level"),
        (("evaluable = true", 'evaluable = true\nheadline = "yes"'), "'headline' must be true or false"),
    ],
)
def test_bad_entries_name_the_file_and_the_target(tmp_path, change, message):
    path = write(tmp_path, ENTRY.replace(*change))
    with pytest.raises(InputError) as err:
        load_targets(path)
    assert str(path) in str(err.value) and "Z9" in str(err.value) and message in str(err.value)


def test_headline_targets_are_flagged_in_the_file(tmp_path, targets):
    # the report's two headline questions (docs/report.md): industrial output (T1) and income doubling (T7)
    assert headline_ids(targets) == ("T1", "T7")
    second = ENTRY.replace('id = "Z9"', 'id = "Z8"')
    flagged = load_targets(write(tmp_path, ENTRY + second.replace("evaluable = true", "evaluable = true\nheadline = true")))
    assert headline_ids(flagged) == ("Z8",) and [t.headline for t in flagged] == [False, True]


def test_duplicate_ids_and_missing_file_are_refused(tmp_path):
    with pytest.raises(InputError, match="duplicate id"):
        load_targets(write(tmp_path, ENTRY + ENTRY))
    with pytest.raises(InputError, match="not found"):
        load_targets(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="not valid TOML"):
        load_targets(write(tmp_path, "[[target]\n"))


def test_shipped_file_is_the_default():
    assert load_targets() == load_targets(DEFAULT_TARGETS)


# --------------------------------------------------------------------------- evaluation


def test_gdp_doubling_exactly_is_met_with_zero_gap(by_id):
    gdp = np.where(YEARS < 2025, 142.78 * 2 ** ((YEARS - 2020) / 5), 285.56)
    r = row(evaluate([by_id["T3"]], series(GDP=gdp)), "T3")
    assert r["met"] is True and r["value"] == 285.56 and r["gap"] == 0.0 and r["gap_pct"] == 0.0


def test_output_growing_24_5_percent_from_55_misses_165(by_id):
    # 55 × 1.245^5 = 164.5165 (hand: 1.245^2 = 1.550025, ^4 = 2.402578, ^5 = 2.991210)
    ts = series(**{"Above Scale Industrial Output": compound(55, 0.245)})
    result = evaluate([by_id["T1"], by_id["T21"]], ts)
    t1, t21 = row(result, "T1"), row(result, "T21")
    assert t1["value"] == pytest.approx(164.5165, abs=1e-4)
    assert t1["met"] is False
    assert t1["gap"] == pytest.approx(-0.4835, abs=1e-4)
    assert t1["gap_pct"] == pytest.approx(-0.4835 / 165, abs=1e-6)
    assert t21["value"] == pytest.approx(0.245, abs=ABS) and t21["met"] is True
    assert t21["gap"] == pytest.approx(0.045, abs=ABS)


def test_growth_at_exactly_the_rate_is_met(by_id):
    ts = series(**{"Urban Disposable Income per Capita": compound(31500, 0.15)})
    result = evaluate([by_id["T6"], by_id["T7"]], ts)
    assert row(result, "T6")["met"] is True and row(result, "T6")["value"] == pytest.approx(0.15, abs=ABS)
    # 31,500 × 1.15^5 = 63,357.75 against 63,000
    assert row(result, "T7")["value"] == pytest.approx(63357.75, abs=0.01)
    assert row(result, "T7")["gap"] == pytest.approx(357.75, abs=0.01)


def test_exact_doubling_meets_the_rural_growth_target(by_id):
    ts = series(**{"Rural Disposable Income per Capita": 15000 * 2 ** ((YEARS - 2020) / 5)})
    assert row(evaluate([by_id["T7R"]], ts), "T7R")["met"] is True


def test_a_less_or_equal_target_signs_the_gap_as_better_is_positive(by_id):
    ts = series(**{"Energy Intensity Index": np.linspace(1.0, 0.85, len(YEARS))})
    # value in 2025: 1 − 0.15 × 5/15 = 0.95 → missed by 0.085
    r = row(evaluate([by_id["T19"]], ts), "T19")
    assert r["value"] == pytest.approx(0.95, abs=ABS) and r["met"] is False
    assert r["gap"] == pytest.approx(0.865 - 0.95, abs=ABS)
    ts = series(**{"Energy Intensity Index": 1.0 - 0.03 * (YEARS - 2020)})  # 0.85 in 2025
    r = row(evaluate([by_id["T19"]], ts), "T19")
    assert r["met"] is True and r["gap"] == pytest.approx(0.015, abs=ABS)
    assert r["gap_pct"] == pytest.approx(0.015 / 0.865, abs=ABS)


def test_max_aggregate_catches_one_bad_year(by_id):
    rate = np.full(len(YEARS), 0.04)
    ts_good = series(**{"Unemployment Rate": rate})
    r = row(evaluate([by_id["T13"]], ts_good), "T13")
    assert r["met"] is True and r["value"] == pytest.approx(0.04) and r["gap"] == pytest.approx(0.005)
    bad = rate.copy()
    bad[YEARS == 2023] = 0.047
    r = row(evaluate([by_id["T13"]], series(**{"Unemployment Rate": bad})), "T13")
    assert r["met"] is False and r["value"] == pytest.approx(0.047) and r["gap"] == pytest.approx(-0.002)
    # the base year 2020 and years after 2025 are outside the window
    outside = rate.copy()
    outside[(YEARS == 2020) | (YEARS == 2030)] = 0.09
    assert row(evaluate([by_id["T13"]], series(**{"Unemployment Rate": outside})), "T13")["met"] is True


def test_min_aggregate():
    t = target(aggregate="min", comparison=">=", threshold=0.5)
    values = np.full(len(YEARS), 0.6)
    values[YEARS == 2022] = 0.4
    r = row(evaluate([t], series(V=values)), "X1")
    assert r["value"] == pytest.approx(0.4) and r["met"] is False


def test_growth_vs(by_id):
    # GDP doubles (CAGR 14.87 %); income +14 %/yr → difference −0.87 pt < −0.5 pt: missed
    ts = series(GDP=142.78 * 2 ** ((YEARS - 2020) / 5), **{"Real Urban Disposable Income per Capita": compound(31500, 0.14)})
    r = row(evaluate([by_id["T8"]], ts), "T8")
    assert r["value"] == pytest.approx(0.14 - (2 ** 0.2 - 1), abs=ABS)
    assert r["met"] is False and r["gap"] == pytest.approx(0.14 - (2 ** 0.2 - 1) + 0.005, abs=ABS)
    ts["Real Urban Disposable Income per Capita"] = compound(31500, 0.145)  # −0.37 pt: met
    assert row(evaluate([by_id["T8"]], ts), "T8")["met"] is True


def test_strict_comparison_is_not_met_at_the_threshold(by_id):
    at = series(**{"High Tech Share of Industrial Value Added": np.full(len(YEARS), 0.80)})
    above = series(**{"High Tech Share of Industrial Value Added": np.full(len(YEARS), 0.81)})
    assert row(evaluate([by_id["T16"]], at), "T16")["met"] is False
    assert row(evaluate([by_id["T16"]], above), "T16")["met"] is True


def test_missing_variable_is_not_evaluable(by_id):
    result = evaluate([by_id["T3"], by_id["T4"]], series(GDP=np.full(len(YEARS), 300.0)))
    r = row(result, "T4")
    assert r["met"] is None and math.isnan(r["value"]) and math.isnan(r["gap"]) and not r["evaluable"]
    assert "General Public Budget Revenue" in r["reason"]
    assert row(result, "T3")["met"] is True


def test_non_evaluable_target_keeps_its_reason(by_id):
    r = row(evaluate([by_id["T17"]], series(GDP=np.ones(len(YEARS)))), "T17")
    assert r["met"] is None and math.isnan(r["value"]) and r["reason"] == by_id["T17"].reason


def test_series_too_short_is_not_evaluable(by_id):
    ts = series(GDP=np.ones(len(YEARS))).loc[:2023]
    r = row(evaluate([by_id["T3"]], ts), "T3")
    assert r["met"] is None and "outside" in r["reason"]


def test_sub_annual_time_steps_and_int_index(by_id):
    times = np.arange(2020, 2026.0001, 0.25)
    ts = pd.DataFrame({"GDP": 142.78 * 2 ** ((times - 2020) / 5)}, index=pd.Index(times, name="time"))
    assert row(evaluate([by_id["T3"]], ts), "T3")["value"] == pytest.approx(285.56, abs=1e-9)
    ts_int = pd.DataFrame({"GDP": [142.78, 285.56]}, index=pd.Index([2020, 2025], name="time"))
    assert row(evaluate([by_id["T3"]], ts_int), "T3")["met"] is True


def test_result_columns_and_whole_file_runs(targets):
    ts = series(GDP=compound(142.78, 0.10))
    result = evaluate(targets, ts)
    assert tuple(result.columns) == COLUMNS
    assert list(result["id"]) == [t.id for t in targets]
    assert set(result["met"].dropna()) <= {True, False}


def test_format_verdicts(by_id):
    ts = series(GDP=compound(142.78, 0.10), **{"Above Scale Industrial Output": compound(55, 0.245)})
    text = format_verdicts(evaluate([by_id["T1"], by_id["T3"], by_id["T17"]], ts))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["id", "target", "value"]
    t1 = next(line for line in lines if line.startswith("T1 "))
    assert "164.52" in t1 and "165" in t1 and "MISSED" in t1
    assert "n.a." in next(line for line in lines if line.startswith("T17 "))
    assert "land-use" in text


# --------------------------------------------------------------------------- the command


def test_targets_command_table(targets):
    result = CliRunner().invoke(cli, ["targets"])
    assert result.exit_code == 0, result.output
    assert "T1" in result.output and "165" in result.output and "T21" in result.output
    assert "no land-use sector" in result.output
    assert format_targets(targets) in result.output


def test_targets_command_csv_and_json():
    runner = CliRunner()
    csv = runner.invoke(cli, ["targets", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines()[0].startswith("id,")
    data = json.loads(runner.invoke(cli, ["targets", "--format", "json"]).output)
    t1 = next(d for d in data if d["id"] == "T1")
    assert t1["threshold"] == 165.0 and t1["evaluable"] is True and "规模以上" in t1["description_zh"]
    bad = runner.invoke(cli, ["targets", "--format", "xml"])
    assert bad.exit_code != 0


MODEL = Path(__file__).resolve().parents[2] / "model" / "shuangta.mdl"


@pytest.mark.skipif(not MODEL.exists(), reason="model not written yet")
def test_every_target_variable_is_a_model_variable(targets):
    text = MODEL.read_text(encoding="utf-8")
    names = {n.strip() for n in re.findall(r"^([A-Za-z][A-Za-z0-9 _]*?)\s*(?:=|\()", text, re.M)}
    for t in targets:
        for variable in t.variables():
            if variable:
                assert variable in names, f"{t.id}: {variable!r} is not in {MODEL.name}"


def test_ensemble_evaluation_equals_one_run_at_a_time():
    """The vectorised verdicts used by sweeps and searches agree with evaluate() run by run."""
    from sim.plan.targets import ensemble_gaps, ensemble_quantities

    rng = np.random.default_rng(7)
    targets = [t for t in load_targets() if t.evaluable]
    names = sorted({v for t in targets for v in t.variables()})
    times = np.arange(2020, 2031, dtype=float)
    n = 25
    base = {name: rng.uniform(0.5, 2.0, size=(n, 1)) * np.exp(rng.normal(0.08, 0.08, size=(n, 1)) * (times - 2020))
            for name in names}
    quantities = ensemble_quantities(targets, times, base)
    assert set(quantities) == {t.id for t in targets}
    for i in range(n):
        frame = pd.DataFrame({name: base[name][i] for name in names}, index=pd.Index(times, name="time"))
        table = evaluate(targets, frame).set_index("id")
        for t in targets:
            met, gap = ensemble_gaps(t, quantities[t.id])
            assert quantities[t.id][i] == pytest.approx(table.loc[t.id, "value"], rel=1e-12)
            assert bool(met[i]) is bool(table.loc[t.id, "met"])
            assert gap[i] == pytest.approx(table.loc[t.id, "gap"], rel=1e-12, abs=1e-15)
