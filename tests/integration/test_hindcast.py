"""The hindcast (issue #12) against hand-computed values: the comparison arithmetic, growth rates, target
progress, and a toy model run end to end whose figures are known in closed form."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.analysis.hindcast import compare, format_hindcast, hindcast, model_figures, target_progress, write_hindcast
from sim.plan.targets import load_targets

DATA = Path(__file__).resolve().parent.parent / "data" / "calibration"
TOY = DATA / "growth_toy.mdl"
ACTUAL = DATA / "growth_toy_actual.toml"
HEAD = "variable,year,first_year,value,unit,kind,scope,price_basis,measure,source,note\n"


def _rows(*rows):
    return pd.DataFrame([dict(zip(["variable", "year", "first_year", "value", "measure"], r),
                              unit="Yi/Year", price_basis="current", source="test") for r in rows])


def test_compare_by_hand():
    """Figure 100, model 90, members 80..100: error -10, -10 %, band [5 %, 95 %] quantiles, inside.
    Growth figure 0.06, model 0.04: error -2 points, no relative error; the central run counts as a member."""
    rows = _rows(("GDP", 2021, 2021, 100.0, "level"), ("GDP", 2021, 2021, 0.06, "growth"))
    members = np.array([[80.0, 0.05], [100.0, 0.07]])
    table = compare(rows, np.array([90.0, 0.04]), members, band=(0.0, 1.0))
    assert table["error"].tolist() == pytest.approx([-10.0, -0.02])
    assert table.loc[0, "rel_error"] == pytest.approx(-0.1) and np.isnan(table.loc[1, "rel_error"])
    assert table[["band_low", "band_high"]].to_numpy().ravel().tolist() == pytest.approx([80.0, 100.0, 0.04, 0.07])
    assert table["inside"].tolist() == [True, True]   # 0.06 lies in [0.04 (the central run), 0.07]
    narrow = compare(rows, np.array([90.0, 0.04]), members, band=(0.5, 1.0))
    assert narrow.loc[0, "band_low"] == pytest.approx(90.0) and narrow.loc[0, "inside"]   # median of 80, 100, 90


def test_model_figures_levels_sums_and_growth():
    """x = 10, 11, 12.1 at 2020-2022: level 2022 = 12.1; sum 2021-2022 = 23.1; growth 2022 = 10 %."""
    result = SimpleNamespace(n=1, times=np.array([2020.0, 2021.0, 2022.0]),
                             values={"X": np.array([[10.0, 11.0, 12.1]])})
    rows = _rows(("X", 2022, 2022, 1.0, "level"), ("X", 2022, 2021, 1.0, "level"), ("X", 2022, 2022, 1.0, "growth"))
    assert model_figures(result, rows)[0].tolist() == pytest.approx([12.1, 23.1, 0.1])


def test_target_progress_by_hand():
    """T3 (GDP doubles, 142.78 -> 285.56 by 2025) needs 2^(1/5) - 1 = 14.87 %/yr; 151 in 2021 is
    151 / 142.78 - 1 = 5.76 %; a stated +6 % growth likewise falls short: behind, not yet met or missed."""
    t3 = next(t for t in load_targets() if t.id == "T3")
    history = pd.DataFrame([
        {"variable": "GDP", "year": 2020, "first_year": 2020, "value": 142.78, "kind": "reported", "scope": "district", "measure": "level"},
        {"variable": "GDP", "year": 2021, "first_year": 2021, "value": 151.0, "kind": "out_of_sample", "scope": "district", "measure": "level"},
        {"variable": "GDP", "year": 2021, "first_year": 2021, "value": 0.06, "kind": "out_of_sample", "scope": "district", "measure": "growth"},
        {"variable": "GDP", "year": 2025, "first_year": 2025, "value": 300.0, "kind": "out_of_sample", "scope": "city", "measure": "level"},
    ])
    got = target_progress([t3], history)
    assert len(got) == 2   # the city row is not the district's
    assert got["needed_rate"].tolist() == pytest.approx([2 ** 0.2 - 1] * 2)
    assert got["observed_rate"].tolist() == pytest.approx([151 / 142.78 - 1, 0.06])
    assert not got["on_track"].any() and got["met"].isna().all()
    final = target_progress([dataclasses.replace(t3, year=2021, threshold=150.0)], history)
    assert final.loc[final["measure"] == "level", "met"].tolist() == [True]   # a figure for the target year decides


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Toy history: Output 2022 far off (1000), Investment 2022 at the model's exact value, Output growth 2023
    at the model's exact value, a count with no model variable, a province row that must be ignored."""
    folder = tmp_path_factory.mktemp("hindcast_toy")
    g = 0.35 * 0.4 - 0.08                         # investment rate x productivity - depreciation
    step = 1 + 0.125 * g                          # one Euler step of 0.125 years
    capital = {y: 100 * step ** (8 * (y - 2010)) for y in (2022, 2023)}
    truth = {"output_2022": 0.4 * capital[2022], "investment_2022": 0.35 * 0.4 * capital[2022],
             "growth_2023": step ** 8 - 1}
    text = HEAD + "\n".join([
        "Output,2020,2020,40,Yi/Year,reported,district,current,level,test,",
        "Output,2022,2022,1000,Yi/Year,out_of_sample,district,current,level,test,",
        f"Investment,2022,2022,{truth['investment_2022']!r},Yi/Year,out_of_sample,district,current,level,test,",
        f"Output,2023,2023,{truth['growth_2023']!r},1/Year,out_of_sample,district,current,growth,test,",
        "Projects Landed,2022,2022,16,Project,out_of_sample,district,none,level,test,",
        "Output,2023,2023,5,Yi/Year,out_of_sample,province,current,level,test,",
    ]) + "\n"
    (folder / "history.csv").write_text(text, encoding="utf-8")
    result = hindcast(ACTUAL, TOY, folder / "history.csv", members=32, seed=5, targets=[])
    return folder, result, truth


def test_toy_hindcast_matches_hand_computed_errors(toy):
    _, result, truth = toy
    t = result.table.set_index(["variable", "year", "measure"])
    out = t.loc[("Output", 2022, "level")]
    assert out["model"] == pytest.approx(truth["output_2022"], rel=1e-9)
    assert out["error"] == pytest.approx(truth["output_2022"] - 1000, rel=1e-9)
    assert out["rel_error"] == pytest.approx((truth["output_2022"] - 1000) / 1000, rel=1e-9)
    assert not out["inside"]
    inv = t.loc[("Investment", 2022, "level")]
    assert inv["error"] == pytest.approx(0, abs=1e-9) and inv["inside"]
    growth = t.loc[("Output", 2023, "growth")]
    assert growth["model"] == pytest.approx(truth["growth_2023"], rel=1e-9) and growth["inside"]
    assert len(t) == 3 and result.unmatched["variable"].tolist() == ["Projects Landed"]
    # the band varies the uncertain parameters without a calibrated default, not the lever
    assert sorted(result.band_parameters["name"]) == ["Depreciation Rate", "Productivity", "Unused Elasticity"]
    assert format_hindcast(result).startswith("hindcast of growth_toy_actual: 3 out-of-sample figures, 2 inside")


def test_hindcast_folder_and_report_section(toy, tmp_path):
    from click.testing import CliRunner

    from sim.cli import cli
    from sim.present.report import build_report, folder_kind

    folder, _, _ = toy
    out = CliRunner().invoke(cli, ["hindcast", str(ACTUAL), "--model", str(TOY), "--history",
                                   str(folder / "history.csv"), "--members", "8", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    res = tmp_path / "hindcast_growth_toy_actual"
    manifest = json.loads((res / "manifest.json").read_text())
    assert manifest["extra"]["kind"] == "hindcast" and manifest["extra"]["figures"] == 3
    assert {p.name for p in (res / "plots").iterdir()} == {"investment.png", "output.png"}
    assert folder_kind(res) == "hindcast"
    page = build_report([res]).html
    assert "What happened, what the model said" in page and page.count("<img") == 2
