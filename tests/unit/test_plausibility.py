"""Plausibility classes (sim/analysis/plausibility.py) and the analogue data file (sim/data/analogues.toml).

The classification tests build trajectories by hand from bounds chosen here,
so they do not depend on the shipped figures or on the district model: a
quantity growing at exactly its record is within it, a hair above is beyond
it, and so on. The variables are those of the shipped targets (T5 FAI, T3 GDP,
T1 above-scale industrial output), looked up, never typed.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.plan.history import load_history
from sim.analysis.plausibility import (
    ANALOGUES_FILE,
    CLASSES,
    Bound,
    Quantity,
    applicable,
    assess,
    assess_frame,
    describe_binding,
    load_analogues,
    unreachable,
)
from sim.plan.lever_references import LeverReference
from sim.plan.targets import load_targets

TARGETS = load_targets()
BY_ID = {t.id: t for t in TARGETS}
FAI, GDP, IND = (BY_ID[i].variable for i in ("T5", "T3", "T1"))
YEARS = np.arange(2020, 2026)


def _bound(value):
    return Bound(value, "u", "hand", "hand")


#: Hand bounds: growth record 10 %, analogue 20 %; FAI/GDP record 0.3, analogue 1.0; a 2035 quantity, no record.
GROWTH = Quantity("fai_growth", "FAI growth", "d", "cagr", "T5", 2020, 2025, "1/year", _bound(0.20), _bound(0.10))
RATIO = Quantity("fai_gdp", "FAI/GDP", "d", "max_ratio", "T5", 2021, 2025, "ratio", _bound(1.0), _bound(0.3),
                 denominator="T3")
INDUSTRY = Quantity("ind_growth", "industry growth", "d", "cagr", "T1", 2020, 2025, "1/year", _bound(0.20), _bound(0.10))
LONG = Quantity("gdp_15y", "GDP growth to 2035", "d", "cagr", "T3", 2020, 2035, "1/year", _bound(0.15))
HAND = [GROWTH, RATIO, INDUSTRY, LONG]


def trajectory(fai_rate=0.05, gdp_rate=0.05, ind_rate=0.05, fai0=20.0, gdp0=100.0, ind0=50.0) -> pd.DataFrame:
    """Yearly series 2020-2025 growing at constant rates, indexed by year."""
    n = YEARS - YEARS[0]
    return pd.DataFrame({FAI: fai0 * (1 + fai_rate) ** n, GDP: gdp0 * (1 + gdp_rate) ** n,
                         IND: ind0 * (1 + ind_rate) ** n}, index=pd.Index(YEARS, name="time"))


def classify(frame, **levers):
    return assess_frame(HAND, TARGETS, frame, **levers)


# --------------------------------------------------------------------------- classes on hand trajectories


def test_within_record_binding_is_the_quantity_closest_to_its_record():
    a = classify(trajectory(fai_rate=0.08, gdp_rate=0.05, ind_rate=0.02))
    assert a.cls == "within_record"
    # FAI/GDP peaks in 2025 at 0.2·(1.08/1.05)^5 = 0.2302: (0.2296 - 0.3)/0.3 = -0.23; FAI growth (0.08 - 0.1)/0.1 = -0.2
    assert a.binding["id"] == "fai_growth" and a.binding["bound_kind"] == "record"
    assert a.binding["value"] == pytest.approx(0.08)
    long = next(i for i in a.items if i["id"] == "gdp_15y")
    assert long["position"] == "not measured"  # the run ends in 2025


def test_beyond_record_within_analogues_names_the_largest_excess():
    a = classify(trajectory(fai_rate=0.15, ind_rate=0.18))
    assert a.cls == "beyond_record_within_analogues"
    # excess over the 10 % record: FAI 0.5, industry 0.8; FAI/GDP 0.2·(1.15/1.05)^5 = 0.3149 is 0.05 above 0.3
    assert a.binding["id"] == "ind_growth"
    assert a.binding["value"] == pytest.approx(0.18) and a.binding["bound"] == 0.10
    assert "industry growth 0.18 > record 0.1" == describe_binding(a.binding)


def test_beyond_analogues_binding_is_the_quantity_above_its_analogue():
    # FAI at 0.5 of GDP growing 30 %/yr against GDP 5 %: the ratio reaches 0.5·(1.3/1.05)^5 = 1.4516 in 2025
    a = classify(trajectory(fai_rate=0.30, fai0=50.0))
    assert a.cls == "beyond_analogues"
    ratio = 0.5 * (1.3 / 1.05) ** 5
    excess = {"fai_growth": (0.30 - 0.20) / 0.20, "fai_gdp": (ratio - 1.0) / 1.0}
    assert excess["fai_gdp"] < excess["fai_growth"]
    assert a.binding["id"] == "fai_growth" and a.binding["bound_kind"] == "analogue"
    item = next(i for i in a.items if i["id"] == "fai_gdp")
    assert item["value"] == pytest.approx(ratio) and item["position"] == "above analogue"


def test_max_ratio_takes_the_largest_year_not_the_last():
    frame = trajectory()
    frame.loc[2023, FAI] = 120.0  # one year of FAI above GDP (GDP 2023 = 100·1.05^3 = 115.76)
    a = classify(frame)
    item = next(i for i in a.items if i["id"] == "fai_gdp")
    assert item["value"] == pytest.approx(120.0 / (100 * 1.05 ** 3))
    assert a.cls == "beyond_analogues" and a.binding["id"] == "fai_gdp"


@pytest.mark.parametrize("rate, cls", [
    (0.10, "within_record"),                              # exactly at the record
    (0.10 + 1e-6, "beyond_record_within_analogues"),      # a hair above it
    (0.20, "beyond_record_within_analogues"),             # exactly at the analogue
    (0.20 + 1e-6, "beyond_analogues"),
])
def test_boundaries(rate, cls):
    # FAI and GDP grow alike, so FAI/GDP stays 0.2 (within its record) and only FAI growth decides
    a = classify(trajectory(fai_rate=rate, gdp_rate=rate, ind_rate=0.0))
    assert a.cls == cls
    assert a.binding["id"] == "fai_growth"


def test_a_quantity_without_a_record_moves_a_point_only_beyond_the_analogues():
    years = np.arange(2020, 2036)
    n = years - 2020
    frame = pd.DataFrame({FAI: 20 * 1.05 ** n, GDP: 100 * 1.05 ** n, IND: 50 * 1.0 ** n}, index=years)
    assert classify(frame).cls == "within_record"  # GDP 5 %/yr to 2035: within the 15 % analogue, no record
    frame[GDP] = 100 * 1.16 ** n
    frame[FAI] = 0.2 * frame[GDP]
    a = classify(frame)
    # FAI growth 16 % is above its record only; GDP 16 %/yr to 2035 is above the 15 % analogue
    assert a.cls == "beyond_analogues" and a.binding["id"] == "gdp_15y" and a.binding["bound_kind"] == "analogue"
    long = next(i for i in a.items if i["id"] == "gdp_15y")
    assert long["value"] == pytest.approx(0.16) and long["position"] == "above analogue"


LEVER_REFS = {"Lever A": {"record": LeverReference("r", "s", 1.0, 2.0)},
              "Lever B": {"record": LeverReference("no reference", "s")}}


def test_a_lever_outside_its_record_binds_when_the_outcomes_are_within_it():
    levers = dict(lever_names=["Lever A", "Lever B"], refs=LEVER_REFS, span=[10.0, 10.0])
    inside = classify(trajectory(), lever_values=[2.0, 99.0], **levers)  # B has no record: never counts
    assert inside.cls == "within_record" and inside.binding["kind"] == "quantity"
    outside = classify(trajectory(), lever_values=[3.0, 99.0], **levers)
    assert outside.cls == "beyond_record_within_analogues"
    assert outside.binding["kind"] == "lever" and outside.binding["id"] == "Lever A"
    assert outside.binding["value"] == 3.0
    # an outcome at the same level binds before a lever
    both = classify(trajectory(fai_rate=0.15, gdp_rate=0.15), lever_values=[3.0, 99.0], **levers)
    assert both.cls == "beyond_record_within_analogues" and both.binding["id"] == "fai_growth"


def test_unreachable_binds_the_target():
    a = unreachable(classify(trajectory()), BY_ID["T1"], 120.0)
    assert a.cls == "unreachable" and a.level == CLASSES.index("unreachable")
    assert a.binding["id"] == "T1" and a.binding["value"] == 120.0 and a.binding["bound"] == BY_ID["T1"].threshold
    d = a.to_dict()
    assert d["class"] == "unreachable" and len(d["quantities"]) == len(HAND)


def test_direct_assess_matches_the_frame():
    values = {"fai_growth": 0.15, "fai_gdp": 0.2, "ind_growth": 0.0, "gdp_15y": math.nan}
    a = assess(HAND, values)
    assert a.cls == "beyond_record_within_analogues" and a.binding["id"] == "fai_growth"


# --------------------------------------------------------------------------- the data file


def test_every_entry_has_value_unit_and_source():
    raw = tomllib.loads(ANALOGUES_FILE.read_text(encoding="utf-8"))
    assert raw["quantity"]
    for q in raw["quantity"]:
        entries = [q["analogue"]] + ([q["record"]] if "record" in q else []) + q.get("evidence", [])
        assert q.get("evidence"), q["id"]
        for e in entries:
            assert isinstance(e["value"], (int, float)) and math.isfinite(e["value"]), q["id"]
            assert e["unit"].strip() and e["source"].strip(), q["id"]
    quantities = load_analogues(targets=TARGETS)
    assert {q.id for q in quantities} == {q["id"] for q in raw["quantity"]}


def test_every_quantity_reads_a_target_with_a_model_variable(model):
    quantities, dropped = applicable(load_analogues(), TARGETS, model.compiled.variables)
    assert not dropped and quantities


def test_each_analogue_is_one_of_its_evidence_figures_and_above_the_record():
    for q in load_analogues():
        assert q.analogue.value in [e["value"] for e in q.evidence], q.id
        if q.record is not None:
            assert q.record.value < q.analogue.value


def test_records_are_the_district_history():
    """Each record recomputed from model/data/history.csv (2016-2020 rows): the fastest year-on-year
    growth for a CAGR quantity, the largest yearly ratio for a ratio quantity, to the stated digits."""
    h = load_history()
    h = h[(h["year"] >= 2016) & (h["year"] <= 2020) & (h["kind"] != "expected")]
    if "measure" in h:  # levels only: the record recomputes growth from them
        h = h[h["measure"] == "level"]
    if "scope" in h:
        h = h[h["scope"] == "district"]

    def series(variable):
        # the record is as reported, in current prices: a target's current-price variable is the history's series
        rows = h[h["variable"] == variable.removesuffix(" Current Prices")]
        return dict(zip(rows["year"].astype(int), rows["value"].astype(float)))

    for q in load_analogues():
        if q.record is None:
            continue
        var, den = q.variables(TARGETS)
        x = series(var)
        if q.measure == "cagr":
            computed = max(x[y] / x[y - 1] - 1 for y in x if y - 1 in x)
        else:
            d = series(den)
            computed = max(x[y] / d[y] for y in x if y in d)
        digits = len(repr(q.record.value).split(".")[1])
        assert round(computed, digits) == q.record.value, q.id


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('source = "Xinhua, 24 Jan 2018', 'sauce = "Xinhua, 24 Jan 2018'), "needs exactly"),
    (lambda t: t.replace('measure = "max_ratio"', 'measure = "ratio"'), "measure must be one of"),
    (lambda t: t.replace('value = 1.56\nunit = "ratio"\nsource = "Xinhua', 'value = 0.1\nunit = "ratio"\nsource = "Xinhua'),
     "is above the analogue"),
    (lambda t: t.replace('target = "T1"', 'target = "T99"'), "not a target with a model variable"),
])
def test_malformed_file_is_refused(tmp_path, edit, message):
    text = ANALOGUES_FILE.read_text(encoding="utf-8")
    changed = edit(text)
    assert changed != text
    path = tmp_path / "analogues.toml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_analogues(path, targets=TARGETS)
