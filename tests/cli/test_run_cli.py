"""`shuangta run` end to end, in process and as the installed command."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pandas as pd

from conftest import MODEL_FILE, REPO, SCENARIOS


def test_run_writes_results_and_verdicts(invoke, tmp_path):
    out = tmp_path / "res"
    result = invoke(["run", str(SCENARIOS / "baseline.toml"), str(SCENARIOS / "plan.toml"), "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    for name in ("baseline", "plan"):
        folder = out / name
        ts = pd.read_csv(folder / "timeseries.csv")
        assert ts.columns[0] == "time"
        assert list(ts["time"]) == list(range(2020, 2036))
        assert "GDP" in ts.columns and "Above Scale Industrial Output" in ts.columns
        targets = pd.read_csv(folder / "targets.csv")
        assert {"id", "description", "year", "target", "value", "met", "gap"} <= set(targets.columns)
        assert "T1" in set(targets["id"])
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == "complete"
        assert manifest["model"]["sha256"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
        assert manifest["scenario"]["sha256"]
        assert manifest["versions"]["pysd"]
        assert manifest["started"] and manifest["finished"]
    assert "T1" in result.output and "MISSED" in result.output or "MET" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "plan"]


def test_final_time_option(invoke, tmp_path):
    result = invoke(["run", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "r"), "--final-time", "2026"], tmp_path)
    assert result.exit_code == 0, result.output
    ts = pd.read_csv(tmp_path / "r" / "baseline" / "timeseries.csv")
    assert list(ts["time"]) == list(range(2020, 2027))


def test_same_inputs_same_numbers(invoke, tmp_path):
    for k in ("a", "b"):
        assert invoke(["run", str(SCENARIOS / "plan.toml"), "--out", str(tmp_path / k)], tmp_path).exit_code == 0
    a = (tmp_path / "a" / "plan" / "timeseries.csv").read_bytes()
    b = (tmp_path / "b" / "plan" / "timeseries.csv").read_bytes()
    assert a == b


def test_bad_scenario_writes_nothing(invoke, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\nname = "bad"\ndescription = "x"\n[levers]\n"Plan Projekt List" = 1108\n')
    out = tmp_path / "res"
    result = invoke(["run", str(SCENARIOS / "baseline.toml"), str(bad), "--out", str(out)], tmp_path)
    assert result.exit_code == 2
    assert "bad.toml" in result.output and "Plan Projekt List" in result.output
    assert "Plan Project List" in result.output  # did-you-mean
    assert not out.exists()


def test_missing_file_is_one_clear_line(invoke, tmp_path):
    result = invoke(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "res")], tmp_path)
    assert result.exit_code == 2
    assert "nope.toml" in result.output
    assert not (tmp_path / "res").exists()


def test_malformed_toml(invoke, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('schema_version = 1\nname = "broken\n')
    result = invoke(["run", str(bad), "--out", str(tmp_path / "res")], tmp_path)
    assert result.exit_code == 2
    assert "broken.toml" in result.output
    assert not (tmp_path / "res").exists()


def test_installed_command(tmp_path):
    exe = shutil.which("shuangta", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "sim"]
    done = subprocess.run(cmd + ["run", str(SCENARIOS / "baseline.toml"), "--out", str(tmp_path / "r"), "--final-time", "2025"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "baseline" / "manifest.json").exists()
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(tmp_path / "missing.toml")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "missing.toml" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (REPO / "model" / "shuangta.py").exists()
