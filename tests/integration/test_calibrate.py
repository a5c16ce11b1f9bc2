"""History mode and calibration (issue #7) against independent expectations.

Theil statistics against hand arithmetic; the history run from 2015 against
PySD itself; the fit against a synthetic history made with known values; the
calibration file against a run that must use its value; the stored backcast
against the issue's 5 % bound.
"""

from __future__ import annotations

import math
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import MODEL_FILE, REPO
from sim.analysis.calibrate import apply_calibration, calibrate, fit_statistics, mape, read_calibration_rows, theil, write_calibration
from sim.errors import InputError
from sim.plan.history import HISTORY_FILE, HistoryRunner, load_history, load_spec, model_values
from sim.model.loader import load_model, read_calibration

SPEC = REPO / "scenarios" / "calibration" / "history_2015_2020.toml"


# --------------------------------------------------------------------------- statistics


def test_theil_statistics_by_hand():
    """S = [1, 2, 3] against A = [2, 2, 4]: MSE 2/3, means 2 and 8/3, sd sqrt(2/3) and sqrt(8/9), r = sqrt(3)/2."""
    got = theil([1, 2, 3], [2, 2, 4])
    mse = 2 / 3
    sd_s, sd_a, r = math.sqrt(2 / 3), math.sqrt(8 / 9), math.sqrt(3) / 2
    assert got["mse"] == pytest.approx(mse)
    assert got["r"] == pytest.approx(r)
    assert got["u_m"] == pytest.approx((2 - 8 / 3) ** 2 / mse)            # 2/3
    assert got["u_s"] == pytest.approx((sd_s - sd_a) ** 2 / mse)          # 0.0239
    assert got["u_c"] == pytest.approx(2 * (1 - r) * sd_s * sd_a / mse)   # 0.3094
    assert got["u_m"] + got["u_s"] + got["u_c"] == pytest.approx(1)


def test_theil_pure_bias_and_pure_scale():
    assert theil([2, 3, 4], [1, 2, 3])["u_m"] == pytest.approx(1)       # shifted: all bias
    t = theil([0, 2, 4], [1, 2, 3])                                       # same mean, twice the spread
    assert (t["u_m"], t["u_s"], t["u_c"]) == pytest.approx((0, 1, 0))
    one = theil([110], [100])                                             # one point: no spread
    assert (one["u_m"], one["u_s"], one["u_c"]) == (1, 0, 0)
    assert math.isnan(theil([1, 2], [1, 2])["u_m"])                       # perfect fit: undefined
    assert mape([110, 90], [100, 100]) == pytest.approx(0.1)


def test_fit_statistics_per_series():
    frame = pd.DataFrame({"variable": ["a", "a", "b"], "data": [100.0, 200.0, 10.0],
                          "model": [110.0, 180.0, 10.0], "weight": [1.0, 1.0, 0.5]})
    stats = fit_statistics(frame).set_index("series")
    assert stats.loc["a", "mape"] == pytest.approx((0.1 + 0.1) / 2)
    assert stats.loc["a", "n"] == 2 and stats.loc["b", "weight"] == 0.5


# --------------------------------------------------------------------------- the record


def test_history_file_is_complete_and_sourced():
    h = load_history()
    assert (h["source"].str.len() > 10).all()
    got = h[h["measure"] == "level"].set_index(["variable", "year"])["value"]
    # The plan's 2020 figures and the 2019 values its growth rates imply (docs/plan.md §1).
    assert got["GDP", 2020] == 142.78 and got["GDP", 2019] == pytest.approx(142.78 / 1.023, rel=1e-4)
    assert got["Fixed Asset Investment", 2019] == pytest.approx(43.6 / 1.263, rel=1e-3)
    assert got["Retail Sales", 2019] == pytest.approx(76.7 / 0.976, rel=1e-3)
    assert got["General Public Budget Revenue", 2019] == pytest.approx(6.3 / 1.022, rel=1e-3)
    assert got["Tertiary Value Added", 2019] == pytest.approx(119.1 / 1.019, rel=1e-4)
    assert got["Above Scale Industrial Output", 2019] == pytest.approx(52.5 / 1.05)
    assert got["Urban Disposable Income per Capita", 2015] == pytest.approx(31500 / 1.05**5, abs=1)
    assert got["Secondary Share of GDP", 2015] == 0.161 and got["Tertiary Share of GDP", 2020] == 0.834
    sums = h[h["first_year"] < h["year"]].set_index("variable")["value"]
    assert sums["New Jobs Created"] == 5440 and sums["Outside Capital Inflow"] == 102
    later = h[h["kind"] == "out_of_sample"]
    assert (later["year"] > 2020).all() and (h[h["year"] > 2020]["kind"] == "out_of_sample").all()
    district_2021 = later[(later["scope"] == "district") & (later["measure"] == "level") & (later["year"] == 2021)]
    assert {"GDP", "Fixed Asset Investment", "Retail Sales", "General Public Budget Revenue",
            "Urban Disposable Income per Capita"} <= set(district_2021["variable"])
    # The bar: at least 60 sourced figures up to 2020 across at least 8 variables, every scope named.
    early = h[h["year"] <= 2020]
    assert len(early) >= 60 and early["variable"].nunique() >= 8
    assert set(h["scope"]) == {"district", "city", "province"}
    # A growth row and the level rows it links agree: 2019 = 2020 / (1 + growth) for the plan's figures.
    growth = h[(h["measure"] == "growth") & (h["scope"] == "district") & (h["year"] == 2020)].set_index("variable")["value"]
    for var in ("GDP", "Fixed Asset Investment", "Retail Sales", "Tertiary Value Added"):
        assert got[var, 2019] == pytest.approx(got[var, 2020] / (1 + growth[var]), rel=1e-3), var


def test_history_file_problems_are_reported(tmp_path):
    bad = tmp_path / "history.csv"
    bad.write_text("variable,year,first_year,value,unit,kind,source,note\nGDP,2020,2021,0,Yi/Year,guess,,\n")
    with pytest.raises(InputError) as err:
        load_history(bad)
    text = str(err.value)
    assert "first_year 2021 is after year 2020" in text and "non-zero" in text
    assert "kind 'guess'" in text and "source is empty" in text


def test_history_file_keeps_later_figures_out_of_sample(tmp_path):
    """A figure after 2020 must be out_of_sample, an out_of_sample figure must come after 2020; scope and
    measure take known values; files without the newer columns still read as district levels."""
    head = "variable,year,first_year,value,unit,kind,scope,price_basis,measure,source,note\n"
    bad = tmp_path / "history.csv"
    bad.write_text(head + "GDP,2021,2021,151,Yi/Year,expected,district,current,level,a work report,\n"
                          "GDP,2019,2019,139,Yi/Year,out_of_sample,district,current,level,a work report,\n"
                          "GDP,2018,2018,130,Yi/Year,reported,county,current,rate,a bulletin,\n")
    with pytest.raises(InputError) as err:
        load_history(bad)
    text = str(err.value)
    assert "a 2021 figure comes after 2020, so its kind is out_of_sample" in text
    assert "out_of_sample figures come after 2020, not in 2019" in text
    assert "scope 'county'" in text and "measure 'rate'" in text
    old = tmp_path / "old.csv"
    old.write_text("variable,year,first_year,value,unit,kind,source,note\nGDP,2020,2020,142.78,Yi/Year,reported,plan,\n")
    row = load_history(old).iloc[0]
    assert (row["scope"], row["measure"]) == ("district", "level")


def test_no_out_of_sample_figure_enters_a_fit(tmp_path):
    """The shipped spec's objective holds district levels up to 2020 only; and wild out-of-sample, context and
    growth rows added to a history change nothing in what a spec fits."""
    spec = load_spec(SPEC, MODEL_FILE)
    obs = spec.observations()
    assert len(obs) and (obs["year"] <= 2020).all() and set(obs["kind"]) <= {"reported", "implied"}
    assert set(obs["scope"]) == {"district"} and set(obs["measure"]) == {"level"}
    spiked = tmp_path / "history.csv"
    extra = ("\nGDP,2022,2022,9999,Yi/Year,out_of_sample,district,current,level,test row,"
             "\nTertiary Value Added,2019,2019,0.5,1/Year,reported,district,comparable,growth,test row,"
             "\nGDP,2018,2018,7777,Yi/Year,reported,province,current,level,test row,")
    spiked.write_text(HISTORY_FILE.read_text(encoding="utf-8").rstrip("\n") + extra, encoding="utf-8")
    text = SPEC.read_text(encoding="utf-8").replace('end = 2020', f'end = 2020\nhistory = "{spiked.as_posix()}"')
    (tmp_path / "spec.toml").write_text(text, encoding="utf-8")
    other = load_spec(tmp_path / "spec.toml", MODEL_FILE).observations()
    pd.testing.assert_frame_equal(other, obs)
    assert not (other["value"].isin([9999, 0.5, 7777])).any()


# --------------------------------------------------------------------------- history mode


def test_history_run_from_2015_equals_pysd():
    """The compiled history run (INITIAL TIME 2015, the spec's state and events) equals PySD started in 2015."""
    spec = load_spec(SPEC, MODEL_FILE)
    runner = HistoryRunner(spec)
    x = runner.vector()
    columns = ["GDP", "Retail Sales", "Fixed Asset Investment", "Industrial Capital", "Population",
               "Urban Disposable Income per Capita", "Cumulative New Jobs"]
    ours = runner.run(x[None, :], columns=columns).member(0)
    params = {}
    for name, value in runner.params(x[None, :]).items():
        arr = np.asarray(value, dtype=float)
        params[name] = pd.Series(arr[0], index=runner.steps) if arr.ndim == 2 else float(arr.reshape(-1)[0])
    pm = load_model(MODEL_FILE, calibrated=False).fresh()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pm.run(params=params, initial_condition=(spec.start, {}), final_time=runner.final_time,
                     time_step=runner.compiled.time_step, saveper=1, return_columns=columns)
    assert list(ours.index) == list(ref.index) == [2015.0 + k for k in range(7)]
    for c in columns:
        np.testing.assert_allclose(ours[c].to_numpy(), ref[c].to_numpy(dtype=float), rtol=1e-9, err_msg=c)
    assert ours.loc[2015, "Urban Disposable Income per Capita"] == 24681  # the 2015 state is imposed


def test_spec_problems_are_reported(tmp_path):
    text = SPEC.read_text(encoding="utf-8").replace('"Capital Elasticity"]', '"Capital Elasticty"]')
    text = text.replace('source = "Prior 9.6 %', 'lower = 0.01\nsource = "Prior 9.6 %')
    (tmp_path / "bad.toml").write_text(text.replace('history = ', '# '), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_spec(tmp_path / "bad.toml", MODEL_FILE)
    msg = str(err.value)
    assert "'Capital Elasticty' is not a constant" in msg
    assert "bounds [0.01, 0.1] leave the model's range [0.05, 0.1]" in msg


# --------------------------------------------------------------------------- the fit


SYNTHETIC = """
schema_version = 1
name = "synthetic"
description = "Recover known values from a history the model made itself."
history = "history.csv"
start = 2015
end = 2020
[state]
"Initial Secondary Share" = 0.161
[parameters."Initial GDP"]
role = "state"
lower = 110
upper = 150
[parameters."Autonomous TFP Growth"]
[series]
GDP = 1
"Tertiary Value Added" = 1
[fit]
starts = 2
seed = 7
data_error = 0.001
profile_points = 5
[acceptance]
mape_max = 0.05
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A spec whose history is the model's own run with Initial GDP 128 and TFP growth 1.6 %/yr."""
    folder = tmp_path_factory.mktemp("synthetic")
    (folder / "spec.toml").write_text(SYNTHETIC, encoding="utf-8")
    rows = [("GDP", 2020, 1.0), ("Tertiary Value Added", 2020, 1.0)]
    pd.DataFrame([{"variable": v, "year": y, "first_year": y, "value": x, "unit": "Yi/Year", "kind": "reported",
                   "source": "placeholder row"} for v, y, x in rows]).assign(note="").to_csv(folder / "history.csv", index=False)
    spec = load_spec(folder / "spec.toml", MODEL_FILE)
    truth = {"Initial GDP": 128.0, "Autonomous TFP Growth": 0.016}
    runner = HistoryRunner(spec)
    run = runner.run(runner.vector(truth)[None, :], columns=["GDP", "Tertiary Value Added"])
    obs = pd.DataFrame([{"variable": v, "year": y, "first_year": y, "unit": "Yi/Year", "kind": "reported",
                         "source": "the model itself", "note": ""}
                        for v in ("GDP", "Tertiary Value Added") for y in range(2016, 2021)])
    obs.insert(3, "value", model_values(run, obs)[0])
    obs.to_csv(folder / "history.csv", index=False)
    return folder, truth


@pytest.fixture(scope="module")
def fitted(synthetic):
    folder, truth = synthetic
    return calibrate(folder / "spec.toml", MODEL_FILE), truth


def test_fit_recovers_known_values(fitted):
    result, truth = fitted
    p = result.parameters.set_index("name")
    for name, value in truth.items():
        assert p.loc[name, "value"] == pytest.approx(value, rel=1e-3), name
        assert p.loc[name, "status"] == "identified", name
        assert p.loc[name, "range_low"] <= value <= p.loc[name, "range_high"], name
    assert result.cost < 1e-8
    assert result.backcast_mape < 1e-4
    assert result.rank == 2
    assert len(result.starts) == 2 and result.profiles["parameter"].nunique() == 2


def test_a_value_kept_at_its_prior_lies_in_its_printed_range(synthetic, tmp_path):
    """The truth (TFP growth 1.6 %/yr) lies above a narrowed upper bound of 1.2 %/yr: the fit is pushed onto
    the bound, the parameter is kept at its prior 1 %/yr, and the range printed with it must hold 1 %/yr
    (the profile interval of the data alone, at the bound, does not)."""
    from sim.analysis.calibrate import format_result

    folder, _ = synthetic
    spec = tmp_path / "spec.toml"
    text = SYNTHETIC.replace('[parameters."Autonomous TFP Growth"]', '[parameters."Autonomous TFP Growth"]\nupper = 0.012')
    spec.write_text(text.replace('history = "history.csv"', f'history = "{(folder / "history.csv").as_posix()}"'),
                    encoding="utf-8")
    result = calibrate(spec, MODEL_FILE)
    p = result.parameters.set_index("name")
    tfp = p.loc["Autonomous TFP Growth"]
    assert tfp["status"] == "at bound" and tfp["fixed_at_prior"] and tfp["value"] == pytest.approx(0.01)
    assert tfp["data_low"] > 0.011 and tfp["data_high"] == pytest.approx(0.012)  # what the data alone say
    for name, r in p.iterrows():  # every value inside the range printed beside it
        assert r["range_low"] <= r["value"] <= r["range_high"], name
    line = next(x for x in format_result(result).splitlines() if x.startswith("Autonomous TFP Growth"))
    assert "[0, 0.012]" in line and "the data alone: [" in line


def test_result_folder_and_calibration_file(fitted, tmp_path):
    result, truth = fitted
    folder = write_calibration(result, tmp_path / "out", command=["shuangta", "calibrate", "spec.toml"])
    for name in ("manifest.json", "parameters.csv", "fit.csv", "comparison.csv", "profiles.csv", "timeseries.csv",
                 "calibration.csv", "history_vs_model.png"):
        assert (folder / name).is_file(), name
    assert (folder / "history_vs_model.png").read_bytes()[:4] == b"\x89PNG"
    target = tmp_path / "calibration.csv"
    apply_calibration(result, target)
    rows = read_calibration_rows(MODEL_FILE, target).set_index("name")
    assert rows.loc["Autonomous TFP Growth", "scope"] == "default"       # a model parameter: a default
    assert rows.loc["Initial GDP", "scope"] == "history"                  # the 2015 state: history only
    assert read_calibration(MODEL_FILE, target) == {"Autonomous TFP Growth": pytest.approx(truth["Autonomous TFP Growth"], rel=1e-3)}


def test_a_value_in_the_calibration_file_reaches_every_run(tmp_path):
    """A default row changes Lever.default, PySD runs and compiled runs; a history row changes nothing."""
    from sim.engine.run import run_scenario

    mdl = tmp_path / "shuangta.mdl"
    shutil.copy(MODEL_FILE, mdl)
    (tmp_path / "data").mkdir()
    pd.DataFrame([
        {"model": "shuangta.mdl", "name": "Depreciation Rate", "scope": "default", "value": 0.07},
        {"model": "shuangta.mdl", "name": "Initial GDP", "scope": "history", "value": 130},
        {"model": "other.mdl", "name": "Depreciation Rate", "scope": "default", "value": 0.05},
    ]).to_csv(tmp_path / "data" / "calibration.csv", index=False)
    calibrated, prior = load_model(mdl), load_model(mdl, calibrated=False)
    assert calibrated.catalogue["Depreciation Rate"].default == 0.07
    assert prior.catalogue["Depreciation Rate"].default == 0.096
    a = run_scenario(calibrated, final_time=2022)
    assert a.loc[2020, "GDP"] == pytest.approx(142.78)
    assert a.loc[2020, "Industrial Depreciation"] == pytest.approx(0.07 * a.loc[2020, "Industrial Capital"])
    run = calibrated.compiled.run(return_columns=["Industrial Depreciation", "Industrial Capital"], final_time=2022)
    np.testing.assert_allclose(run.values["Industrial Depreciation"][0], a["Industrial Depreciation"].to_numpy(), rtol=1e-9)


# --------------------------------------------------------------------------- the stored backcast


def test_stored_backcast_reproduces_the_plans_2020_figures_within_5_percent():
    """Issue #7: from the 2015 state the model reproduces the plan's 2020 figures within 5 % MAPE."""
    from sim.analysis.checks import check_behaviour

    rows = read_calibration_rows(MODEL_FILE)
    assert not rows.empty, "no calibration stored: run `shuangta calibrate scenarios/calibration/history_2015_2020.toml --apply`"
    result = check_behaviour(MODEL_FILE)
    assert result.figures["backcast_mape"] < 0.05, result.summary


def test_cli_calibrate_writes_a_result_folder(synthetic, tmp_path):
    from click.testing import CliRunner

    from sim.cli import cli

    folder, _ = synthetic
    out = CliRunner().invoke(cli, ["calibrate", str(folder / "spec.toml"), "--out", str(tmp_path / "res"),
                                   "--starts", "1", "--profile-points", "0"])
    assert out.exit_code == 0, out.output
    assert "Autonomous TFP Growth" in out.output and "backcast MAPE" in out.output
    assert (tmp_path / "res" / "synthetic" / "manifest.json").is_file()
    assert not (folder / "data").exists()   # without --apply nothing is written next to any model


def test_cli_calibrate_apply_writes_the_file_named_with_to(synthetic, tmp_path):
    from click.testing import CliRunner

    from sim.cli import cli

    folder, _ = synthetic
    target = tmp_path / "mine" / "calibration.csv"
    out = CliRunner().invoke(cli, ["calibrate", str(folder / "spec.toml"), "--out", str(tmp_path / "res"),
                                   "--starts", "1", "--profile-points", "0", "--apply", "--to", str(target)])
    assert out.exit_code == 0, out.output
    assert f"calibrated defaults written to {target}" in out.output
    rows = read_calibration_rows(MODEL_FILE, target)
    assert "Autonomous TFP Growth" in set(rows["name"])
    assert not (folder / "data").exists()
