"""Scenario discovery (`shuangta discover`): PRIM boxes on a sweep folder.

Expectations from outside the code under test: a synthetic data set whose
cases lie in a known box (a > 0.6 and b < 0.5); every box's counts
recomputed by hand from its limits and the sweep's experiments; the decile
cut recomputed with numpy from target_values.parquet; the written scenario
loaded and run independently (`sim.engine.run.run_scenario`). The sweep is small
(300 Latin-hypercube runs, written by the test) so the tests stay fast.

EMA Workbench (the optional extra `discovery`) provides PRIM; without it the
PRIM tests are skipped and only the "how to install" error is checked.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import REPO
from sim.cli import cli
from sim.errors import InputError

try:
    from sim.analysis.prim import load_prim

    load_prim()
    PRIM = True
    WHY = ""
except InputError as exc:  # pragma: no cover - depends on the environment
    PRIM = False
    WHY = f"EMA Workbench is not installed ({exc})"

needs_prim = pytest.mark.skipif(not PRIM, reason=WHY or "EMA Workbench is not installed")

PNG = b"\x89PNG\r\n\x1a\n"
RUNS = 300
#: The sweep the tests run: the plan with three levers and three uncertain parameters varied.
SPEC = f"""
schema_version = 1
name = "discovery_small"
description = "Small LHS sweep for the discovery tests"
base = "plan"
seed = 7
method = "lhs"
n = {RUNS}

[[factor]]
name = "Realisation Improvement"
bounds = [0.5, 2.5]

[[factor]]
name = "Outside Capital Target"
bounds = [10.0, 60.0]

[[factor]]
name = "Park Investment Realisation"
bounds = [0.3, 1.2]

[[factor]]
name = "Project Realisation Rate 2016 to 2020"
bounds = [0.15, 0.45]

[[factor]]
name = "Capital Elasticity"
bounds = [0.3, 0.5]

[[factor]]
name = "Autonomous TFP Growth"
bounds = [0.0, 0.025]

[outputs]
variables = ["Above Scale Industrial Output", "Urban Disposable Income per Capita", "Fixed Asset Investment", "Fixed Asset Investment Current Prices", "GDP"]
years = [2020, 2021, 2022, 2023, 2024, 2025]
"""


def write_spec(folder, text: str = SPEC):
    path = folder / "discovery_small.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    from sim.engine.sweep import run_sweep

    root = tmp_path_factory.mktemp("discovery")
    result = run_sweep(write_spec(root), root / "sweep", workers=1)
    assert result.runs == RUNS and result.failed == 0
    return result.folder


def counts_in_box(x: pd.DataFrame, cases: np.ndarray, limits: pd.DataFrame) -> tuple[int, int]:
    """Runs and cases inside ``limits`` (inclusive), recomputed from the data."""
    inside = np.ones(len(x), dtype=bool)
    for name in limits.columns:
        v = x[name].to_numpy(dtype=float)
        inside &= (v >= limits.at["lower", name]) & (v <= limits.at["upper", name])
    return int(inside.sum()), int((inside & cases).sum())


# --------------------------------------------------------------------------- PRIM on a known box


@needs_prim
def test_prim_recovers_a_known_box():
    from sim.analysis.prim import prim_trajectory

    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.random(4000), "b": rng.random(4000), "c": rng.random(4000)})
    cases = ((x["a"] > 0.6) & (x["b"] < 0.5)).to_numpy()
    found = prim_trajectory(x, cases)
    traj = found.trajectory
    last = len(traj) - 1
    assert set(found.restricted(last)) >= {"a", "b"}
    lim = found.limits[last]
    assert lim.at["lower", "a"] == pytest.approx(0.6, abs=0.03)
    assert lim.at["upper", "b"] == pytest.approx(0.5, abs=0.03)
    assert traj["density"].iloc[last] >= 0.95 and traj["coverage"].iloc[last] >= 0.9
    # c does not matter: unrestricted, or restricted with an insignificant quasi-p-value
    if "c" in found.restricted(last):
        assert min(q for q in found.qp[last]["c"] if q == q) > 0.05
    # every box on the trajectory: counts recomputed from its limits
    total = int(cases.sum())
    for i, row in traj.iterrows():
        n, k = counts_in_box(x, cases, found.limits[i])
        assert (row["n"], row["k"]) == (n, k)
        assert row["coverage"] == pytest.approx(k / total) and row["density"] == pytest.approx(k / n)


def test_select_box_rules():
    from sim.analysis.prim import select_box

    traj = pd.DataFrame({"density": [0.1, 0.5, 0.85, 0.9, 0.7]})
    assert select_box(traj, 0.8)[0] == 3          # the last box with density >= 0.8
    assert select_box(traj, 0.8, box=1)[0] == 1
    assert select_box(traj, 0.8, box=-1)[0] == 4
    i, reason = select_box(traj, 0.95)
    assert i == 3 and "no box reaches density 0.95" in reason
    with pytest.raises(InputError, match="boxes 0 to 4"):
        select_box(traj, 0.8, box=5)


def test_case_definition():
    from sim.analysis.prim import case_definition

    met = np.array([True, False, False, True])
    worst = np.array([0.1, -0.2, -0.5, 0.3])
    cases, how = case_definition(met, worst)
    assert how["rule"] == "met" and cases.tolist() == met.tolist()
    worst = np.linspace(-1, -0.01, 100)
    cases, how = case_definition(np.zeros(100, dtype=bool), worst)
    assert how["rule"] == "top" and how["top"] == 0.1 and how["met"] == 0
    assert how["cut"] == pytest.approx(np.quantile(worst, 0.9))
    assert cases.sum() == 10 and cases[-10:].all()
    cases, how = case_definition(np.ones(100, dtype=bool), worst, top=0.25)
    assert how["rule"] == "top" and cases.sum() == 25
    with pytest.raises(InputError, match="between 0 and 1"):
        case_definition(met, worst[:4], top=1.5)


def test_missing_prim_says_how_to_install(monkeypatch, tmp_path):
    from sim.analysis.prim import load_prim

    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis.prim", None)
    with pytest.raises(InputError, match=r"pip install -e '\.\[discovery\]'"):
        load_prim()
    (tmp_path / "s").mkdir()
    result = CliRunner().invoke(cli, ["discover", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "ema-workbench" in result.output and "not installed" in result.output


# --------------------------------------------------------------------------- on a sweep folder


@needs_prim
def test_targets_met_in_some_runs(small_sweep, model, tmp_path):
    from sim.analysis.discovery import discover
    from sim.analysis.discovery_output import write_discovery, write_discovery_scenario
    from sim.engine.run import run_scenario
    from sim.specs.scenario import load_scenario, validate_files
    from sim.engine.sweep_folder import read_sweep

    sweep = read_sweep(small_sweep)
    share = float(sweep.summary.set_index("id").at["T5", "share_met"])
    assert 0.2 < share < 0.9, "T5 should be met in some runs of this sweep, not all"
    result = discover(small_sweep, ["T5"], model=model)
    assert result.cases["rule"] == "met"
    assert result.cases["count"] == int(sweep.summary.set_index("id").at["T5", "met"])
    # the chosen box is the last with density >= 0.8
    density = result.trajectory["density"].to_numpy()
    assert result.chosen == int(np.flatnonzero(density >= 0.8)[-1])
    # its counts, recomputed from the experiments
    x = sweep.experiments[sweep.factors]
    met = (sweep.target_values.set_index("run_id").reindex(sweep.experiments["run_id"])["T5"].to_numpy() >= 87.2)
    s = result.stats()
    assert counts_in_box(x, met, result.prim.limits[result.chosen]) == (s["n"], s["k"])
    box = result.box()
    assert len(box) == s["res_dim"] >= 1
    kinds = dict(zip(box["factor"], box["kind"]))
    assert {kinds[f] for f in kinds} <= {"lever", "uncertain"}
    assert kinds.get("Realisation Improvement", "lever") == "lever"
    assert kinds.get("Capital Elasticity", "uncertain") == "uncertain"
    assert (box["lower"] <= box["midpoint"]).all() and (box["midpoint"] <= box["upper"]).all()

    folder = write_discovery(result, tmp_path / "disc", ["shuangta", "discover", "test"])
    for name in ("trajectory.csv", "boxes.csv", "box.csv", "discovery.json", "manifest.json"):
        assert (folder / name).is_file(), name
    for name in ("tradeoff.png", "box.png"):
        assert (folder / name).read_bytes()[:8] == PNG
    data = json.loads((folder / "discovery.json").read_text(encoding="utf-8"))
    assert data["chosen_box"] == result.chosen and data["cases"]["rule"] == "met" and data["rule"] == "last_reaching"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["extra"]["kind"] == "discovery"
    traj = pd.read_csv(folder / "trajectory.csv")
    assert list(traj.columns) == ["box", "coverage", "density", "mass", "n", "k", "res_dim"]
    assert len(traj) == len(result.trajectory)

    path = write_discovery_scenario(result, tmp_path / "box.toml", model, ["shuangta", "discover", "test"])
    ok, problems = validate_files([str(path)], model)
    assert problems == [] and ok == [str(path)]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Generated by `shuangta discover`")
    scenario = load_scenario(path, model)
    levers = box[box["kind"] == "lever"]
    for r in levers.to_dict("records"):
        assert scenario.levers[r["factor"]].value == pytest.approx(r["midpoint"])
    for r in box[box["kind"] != "lever"].to_dict("records"):
        assert r["factor"] not in scenario.levers and r["factor"] in text  # a condition, in a comment
    # the midpoint check equals an independent run of the written scenario
    ts = run_scenario(model, scenario)
    assert ts.loc[2025.0, "Fixed Asset Investment Current Prices"] == pytest.approx(result.check["runs"]["scenario"]["values"]["T5"],
                                                                     rel=1e-9)


@needs_prim
def test_top_decile_when_no_run_meets(small_sweep, model):
    from sim.analysis.discovery import discover
    from sim.analysis.discovery_output import format_discovery
    from sim.engine.sweep_folder import read_sweep

    sweep = read_sweep(small_sweep)
    values = sweep.target_values.set_index("run_id").reindex(sweep.experiments["run_id"])
    assert (values["T1"] < 165).all() and (values["T7"] < 63000).all()
    result = discover(small_sweep, ["T1", "T7"], model=model)
    c = result.cases
    assert c["rule"] == "top" and c["met"] == 0 and c["top"] == 0.1
    worst = np.minimum((values["T1"] - 165) / 165, (values["T7"] - 63000) / 63000).to_numpy()
    assert c["cut"] == pytest.approx(np.quantile(worst, 0.9))
    assert c["count"] == int((worst >= np.quantile(worst, 0.9)).sum())
    text = format_discovery(result)
    assert "NO RUN MEETS T1 AND T7" in text and "top 10 %" in text


@needs_prim
def test_cli(small_sweep, tmp_path):
    runner = CliRunner()
    out, scenario = tmp_path / "disc", tmp_path / "box.toml"
    result = runner.invoke(cli, ["discover", str(small_sweep), "--targets", "T1", "T7", "--out", str(out),
                                 "--write-scenario", str(scenario)])
    assert result.exit_code == 0, result.output
    assert "NO RUN MEETS" in result.output and str(out) in result.output
    assert (out / "discovery.json").is_file()
    assert runner.invoke(cli, ["validate", str(scenario)]).exit_code == 0
    # options before the folder; --box; --targets as a comma list
    result = runner.invoke(cli, ["discover", "--targets", "T5,T1", "--top", "0.2", "--box", "3",
                                 str(small_sweep), "--out", str(tmp_path / "d2")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "d2" / "discovery.json").read_text(encoding="utf-8"))
    assert data["chosen_box"] == 3 and data["rule"] == "asked" and data["cases"]["top"] == 0.2


@needs_prim
@pytest.mark.parametrize("args, message", [
    (["--targets", "T9x"], "did you mean T9?"),
    (["--targets", "T16"], "did not keep its variable"),
    (["--targets", "T17"], "cannot evaluate"),
    (["--box", "9999"], "--box 9999"),
    (["--threshold", "0"], "--threshold"),
])
def test_bad_input_exits_2(small_sweep, tmp_path, args, message):
    out = tmp_path / "disc"
    result = CliRunner().invoke(cli, ["discover", str(small_sweep), *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_not_a_sweep_folder(tmp_path):
    result = CliRunner().invoke(cli, ["discover", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "exactly one sweep folder" in result.output
    if PRIM:
        result = CliRunner().invoke(cli, ["discover", str(REPO / "scenarios")])
        assert result.exit_code == 2 and "not a complete sweep folder" in result.output
