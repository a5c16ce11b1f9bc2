"""What the data can tell (issue #12): Fisher intervals by hand, and a fit that recovers known parameters from
noisy synthetic data made by a toy model, flags the one parameter no data can see and reports its count of
data points against fitted quantities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate import calibrate, format_result, write_calibration
from sim.plan.history import HistoryRunner, load_spec, model_values
from sim.analysis.identification import fisher, strong_correlations

TOY = Path(__file__).resolve().parent.parent / "data" / "calibration" / "growth_toy.mdl"
SPEC = """schema_version = 1
name = "growth_toy"
description = "toy growth economy fitted to its own noisy output"
start = 2010
end = 2020
history = "history.csv"
[parameters."Productivity"]
[parameters."Depreciation Rate"]
[parameters."Investment Rate"]
[parameters."Unused Elasticity"]
[series]
"Output" = 1
"Investment" = 1
[fit]
starts = 2
seed = 3
data_error = 0.01
profile_points = 5
"""
TRUTH = {"Productivity": 0.45, "Depreciation Rate": 0.06, "Investment Rate": 0.25}


def test_fisher_intervals_by_hand():
    """J = [[1, 0], [0, 2], [1, 0]], sigma 0.1: var_a = 0.01 / 2, var_b = 0.01 / 4 in unit coordinates;
    a spans [0, 10] (se 10 x 0.0707 = 0.707), b spans [0, 1] (se 0.05); no correlation."""
    table, corr = fisher(np.array([[1.0, 0], [0, 2], [1, 0]]), 0.1, [0, 0], [10, 1], [5, 0.5], ["a", "b"])
    t = table.set_index("name")
    assert t.loc["a", "se"] == pytest.approx(10 * math.sqrt(0.005))
    assert t.loc["b", "se"] == pytest.approx(0.05)
    assert t.loc["b", "fisher_low"] == pytest.approx(0.5 - 1.959964 * 0.05)
    assert t.loc["a", "fisher_high"] == pytest.approx(5 + 1.959964 * 10 * math.sqrt(0.005))
    assert corr.loc["a", "b"] == pytest.approx(0) and corr.loc["a", "a"] == pytest.approx(1)


def test_fisher_correlated_and_blind_directions():
    """Two quantities that act alike with a third that also matters: strongly correlated; a column of zeros:
    not identified (infinite se, its whole range, no correlation)."""
    J = np.array([[1.0, 1.0, 0.0], [1.0, 1.1, 0.0], [0.0, 1.0, 0.0], [2.0, 2.0, 0.0]])
    table, corr = fisher(J, 0.01, [0, 0, 0], [1, 1, 2], [0.5, 0.5, 1.0], ["a", "b", "c"])
    t = table.set_index("name")
    assert math.isinf(t.loc["c", "se"]) and (t.loc["c", "fisher_low"], t.loc["c", "fisher_high"]) == (0, 2)
    assert math.isnan(corr.loc["a", "c"])
    # (J^T J) for a, b = [[6, 6.1], [6.1, 7.21]]: correlation -6.1 / sqrt(6 x 7.21)
    assert corr.loc["a", "b"] == pytest.approx(-6.1 / math.sqrt(6 * 7.21))
    assert strong_correlations(corr, 0.8) == [("a", "b", pytest.approx(-6.1 / math.sqrt(6 * 7.21)))]


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """History = the toy model's run at TRUTH, times (1 + 1 % Gaussian noise), seeded."""
    folder = tmp_path_factory.mktemp("growth_toy")
    (folder / "spec.toml").write_text(SPEC, encoding="utf-8")
    frame = pd.DataFrame([{"variable": v, "year": y, "first_year": y, "unit": "Yi/Year", "kind": "reported",
                           "source": "the toy model with noise", "note": ""}
                          for v in ("Output", "Investment") for y in range(2011, 2021)])
    frame.insert(3, "value", 1.0)
    frame.to_csv(folder / "history.csv", index=False)
    runner = HistoryRunner(load_spec(folder / "spec.toml", TOY))
    run = runner.run(runner.vector(TRUTH)[None, :], columns=["Investment", "Output"])
    clean = model_values(run, frame)[0]
    frame["value"] = clean * (1 + 0.01 * np.random.default_rng(12).standard_normal(len(clean)))
    frame.to_csv(folder / "history.csv", index=False)
    return folder, calibrate(folder / "spec.toml", TOY)


def test_calibration_recovers_known_parameters_from_noisy_data(noisy):
    _, result = noisy
    p = result.parameters.set_index("name")
    for name, value in TRUTH.items():
        assert p.loc[name, "status"] == "identified", name
        assert p.loc[name, "value"] == pytest.approx(value, rel=0.05), name
        # the truth lies within three standard errors (the noise is 1 %, the spec's data_error)
        assert abs(p.loc[name, "value"] - value) < 3 * p.loc[name, "se"], name
        assert p.loc[name, "fisher_low"] < p.loc[name, "value"] < p.loc[name, "fisher_high"], name
    assert result.n_points == 20 and len(p) == 4


def test_unidentified_parameter_keeps_its_prior_and_goes_to_sensitivity(noisy):
    _, result = noisy
    p = result.parameters.set_index("name")
    assert p.loc["Unused Elasticity", "status"] == "not identified"
    assert p.loc["Unused Elasticity", "fixed_at_prior"] and p.loc["Unused Elasticity", "value"] == 0.5
    assert math.isinf(p.loc["Unused Elasticity", "se"])
    assert result.unidentified["name"].tolist() == ["Unused Elasticity"]
    assert (result.unidentified.iloc[0][["lower", "upper"]] == [0.0, 1.0]).all()
    corr = result.correlation
    assert list(corr.index) == list(result.parameters["name"])
    assert np.allclose(corr.loc[list(TRUTH), list(TRUTH)].to_numpy(), corr.loc[list(TRUTH), list(TRUTH)].to_numpy().T)
    text = format_result(result)
    assert "20 data points, 4 fitted quantities" in text
    assert "not identified, kept at the prior" in text and "Unused Elasticity [0, 1]" in text


def test_result_folder_holds_correlation_and_unidentified(noisy, tmp_path):
    _, result = noisy
    folder = write_calibration(result, tmp_path, command=["test"])
    corr = pd.read_csv(folder / "correlation.csv")
    assert corr["name"].tolist() == result.parameters["name"].tolist()
    assert pd.read_csv(folder / "unidentified.csv")["name"].tolist() == ["Unused Elasticity"]
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["extra"]["data_points"] == 20 and manifest["extra"]["fitted_quantities"] == 4
    assert manifest["extra"]["not_identified"] == ["Unused Elasticity"]


def test_report_renders_the_calibration_section(noisy, tmp_path):
    """The report's calibration section: data points against fitted quantities, statuses, Theil statistics."""
    from sim.present.report import build_report, folder_kind

    _, result = noisy
    folder = write_calibration(result, tmp_path, command=["test"])
    assert folder_kind(folder) == "calibration"
    page = build_report([folder]).html
    assert "Calibration: what the data can and cannot tell" in page
    assert "20 history figures against 4 fitted quantities; 3 identified, 1 not" in page
    assert "<th>U_M</th><th>U_S</th><th>U_C</th>" in page
