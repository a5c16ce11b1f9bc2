"""Output locations: every command that writes checks them before any work, refuses with exit status 2 and
one line ``error: <path>: <reason>``, writes nothing, and replaces an existing file only when it wrote it
(or with --force). Library scenarios are never replaced by default.

Read-only folders: a read-only tmpfs mounted over a folder under tmp_path when the tests run as root (root
writes through permission bits), else a folder without write permission.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, SCENARIOS

SWEEP = SCENARIOS / "sweeps" / "realisation_grid.toml"
STUDY = SCENARIOS / "sensitivity" / "plan_screening.toml"
CALIBRATION = SCENARIOS / "calibration" / "history_2015_2020.toml"


def assert_refused(result, path, *fragments) -> None:
    """Exit status 2, no traceback, and one error line ``error: <path>: ...`` with ``fragments`` (progress notes,
    such as the first translation of a new model file on a cold cache, may come before it)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.strip().splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    first = errors[0]
    assert first.startswith(f"error: {path}: "), result.output
    for fragment in fragments:
        assert fragment in first, result.output


@contextlib.contextmanager
def _read_only(folder: Path):
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs as root: {done.stderr.decode().strip()}")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@pytest.fixture
def read_only(tmp_path):
    """A folder nothing can be written into."""
    with _read_only(tmp_path / "ro") as folder:
        yield folder


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file.txt"
    path.write_text("not a folder\n")
    return path


#: Every command that writes into a folder: its arguments before --out.
FOLDER_COMMANDS = {
    "run": ["run", SCENARIOS / "plan.toml"],
    "plot": ["plot", "RUNS"],
    "sweep": ["sweep", SWEEP],
    "sensitivity": ["sensitivity", STUDY],
    "reach": ["reach", "T3"],
    "consistency": ["consistency"],
    "calibrate": ["calibrate", CALIBRATION],
    "discover": ["discover", "SWEEP_DIR"],
}


def _args(name: str, tmp_path: Path) -> list:
    args = list(FOLDER_COMMANDS[name])
    if "RUNS" in args or "SWEEP_DIR" in args:
        placeholder = tmp_path / "inputs"
        placeholder.mkdir(exist_ok=True)
        args = [placeholder if a in ("RUNS", "SWEEP_DIR") else a for a in args]
    return args


@pytest.mark.parametrize("name", sorted(FOLDER_COMMANDS))
def test_out_under_a_file_is_refused_before_any_work(name, invoke, tmp_path, a_file):
    out = a_file / "results"
    started = time.perf_counter()
    result = invoke([*_args(name, tmp_path), "--out", out], tmp_path)
    assert_refused(result, out, "a file, not a folder", "--out")
    assert time.perf_counter() - started < 20  # refused at once, not after the work
    assert a_file.read_text() == "not a folder\n"


@pytest.mark.parametrize("name", sorted(FOLDER_COMMANDS))
def test_out_that_is_a_file_is_refused(name, invoke, tmp_path, a_file):
    result = invoke([*_args(name, tmp_path), "--out", a_file], tmp_path)
    assert_refused(result, a_file, "a file", "--out")
    assert a_file.read_text() == "not a folder\n"


@pytest.mark.parametrize("name", sorted(FOLDER_COMMANDS))
def test_read_only_out_is_refused(name, invoke, tmp_path, read_only):
    out = read_only / "results"
    result = invoke([*_args(name, tmp_path), "--out", out], tmp_path)
    assert_refused(result, out, "cannot write here", "--out")
    assert list(read_only.iterdir()) == []


def test_report_and_schema_files_in_read_only_folders(invoke, tmp_path, read_only):
    for args, path in ((["report", tmp_path, "--out"], read_only / "r.html"), (["schema", "--out"], read_only / "s.json")):
        result = invoke([*args, path], tmp_path)
        assert_refused(result, path, "cannot write here")
    assert list(read_only.iterdir()) == []


def test_report_and_schema_under_a_file(invoke, tmp_path, a_file):
    for args in (["report", tmp_path, "--out"], ["schema", "--out"]):
        result = invoke([*args, a_file / "x"], tmp_path)
        assert_refused(result, a_file / "x", "a file, not a folder")


def test_report_out_that_is_a_folder(invoke, tmp_path):
    (tmp_path / "page").mkdir()
    assert_refused(invoke(["report", tmp_path, "--out", tmp_path / "page"], tmp_path), tmp_path / "page",
                   "is a folder")


def test_unwritable_cache_is_refused(invoke, tmp_path, a_file, monkeypatch):
    cache = a_file / "cache"
    monkeypatch.setenv("SHUANGTA_CACHE", str(cache))
    for args in (["run", SCENARIOS / "plan.toml", "--out", tmp_path / "res"], ["check", "--only", "dimensions"],
                 ["levers"]):
        result = invoke(args, tmp_path)
        assert_refused(result, cache, "$SHUANGTA_CACHE")
    assert not (tmp_path / "res").exists()


def test_read_only_cache_is_refused(invoke, tmp_path, read_only, monkeypatch):
    monkeypatch.setenv("SHUANGTA_CACHE", str(read_only / "cache"))
    result = invoke(["run", SCENARIOS / "plan.toml", "--out", tmp_path / "res"], tmp_path)
    assert_refused(result, read_only / "cache", "cannot write here", "$SHUANGTA_CACHE")
    assert not (tmp_path / "res").exists()


def test_reach_write_scenario_in_read_only_folder_fails_before_the_search(invoke, tmp_path, read_only):
    out = tmp_path / "reach"
    started = time.perf_counter()
    result = invoke(["reach", "T3", "--out", out, "--write-scenario", read_only / "x.toml"], tmp_path)
    assert_refused(result, read_only / "x.toml", "cannot write here", "--write-scenario")
    assert time.perf_counter() - started < 20
    assert not out.exists()


def test_check_with_a_missing_model_is_a_clean_error(invoke, tmp_path):
    result = invoke(["check", "--model", "nope.mdl"], tmp_path)
    assert_refused(result, "nope.mdl", "model file not found")


@pytest.mark.parametrize("args, path", [
    (["run", SCENARIOS / "plan.toml", "--model", "nope.mdl", "--out", "res"], "nope.mdl"),
    (["reach", "T1", "--model", "nope.mdl", "--out", "res"], "nope.mdl"),
    (["consistency", "--model", "nope.mdl", "--out", "res"], "nope.mdl"),
    (["calibrate", "bad.toml", "--out", "res"], "bad.toml"),
    (["discover", "sweep", "--out", "res"], "sweep"),
    (["run", SCENARIOS / "plan.toml", "--model", "notes.mdl", "--out", "res"], "notes.mdl"),
])
def test_input_errors_exit_2(args, path, invoke, tmp_path):
    (tmp_path / "bad.toml").write_text("schema_version = 1\nname = [\n")
    (tmp_path / "notes.mdl").write_text("not a Vensim model\n")
    (tmp_path / "sweep").mkdir()
    result = invoke(args, tmp_path)
    assert_refused(result, path)
    assert not (tmp_path / "res").exists()


def test_input_errors_of_reach_and_consistency_exit_2(invoke, tmp_path):
    result = invoke(["reach", "T99", "--out", "res"], tmp_path)
    assert result.exit_code == 2 and "unknown target 'T99'" in result.output and "Traceback" not in result.output
    result = invoke(["consistency", "--levers", "No Such Lever", "--out", "res"], tmp_path)
    assert result.exit_code == 2 and "unknown lever" in result.output
    assert not (tmp_path / "res").exists()


# --------------------------------------------------------------------------- overwrites


def test_library_scenarios_are_protected():
    from sim.engine.outputs import is_protected

    assert is_protected(SCENARIOS / "green_transition.toml")
    assert is_protected(REPO / "model" / "data" / "calibration.csv")
    assert is_protected(REPO / "sim" / "data" / "targets.toml")
    assert not is_protected(REPO / "results" / "x.toml")


@pytest.mark.parametrize("command", ["reach", "discover"])
def test_write_scenario_does_not_replace_a_library_scenario(command, invoke, tmp_path, monkeypatch):
    library = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, library)
    monkeypatch.setattr("sim.engine.outputs.PROTECTED", (library,))  # a copy stands for the package's scenarios/
    target = library / "green_transition.toml"
    before = target.read_bytes()
    (tmp_path / "sweep").mkdir()
    args = ["reach", "T3"] if command == "reach" else ["discover", tmp_path / "sweep"]
    result = invoke([*args, "--out", tmp_path / "r", "--write-scenario", target], tmp_path)
    assert_refused(result, target, "library", "--force")
    assert target.read_bytes() == before and not (tmp_path / "r").exists()


def test_write_scenario_over_another_file_needs_force(invoke, tmp_path):
    other = tmp_path / "mine.toml"
    other.write_text("# my notes\n")
    result = invoke(["reach", "T3", "--out", tmp_path / "r", "--write-scenario", other], tmp_path)
    assert_refused(result, other, "--force")
    assert other.read_text() == "# my notes\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``results/`` with two scenario runs and the README a checkout has."""
    from click.testing import CliRunner

    from sim.cli import cli

    root = tmp_path_factory.mktemp("outputs") / "results"
    result = CliRunner().invoke(cli, ["run", str(SCENARIOS / "baseline.toml"), str(SCENARIOS / "plan.toml"),
                                      "--out", str(root), "--final-time", "2026"])
    assert result.exit_code == 0, result.output
    shutil.copy(REPO / "results" / "README.md", root / "README.md")
    return root


def test_report_does_not_turn_data_into_html(invoke, tmp_path, runs):
    data = tmp_path / "timeseries.csv"
    shutil.copy(runs / "plan" / "timeseries.csv", data)
    before = data.read_bytes()
    result = invoke(["report", runs / "plan", "--out", data], tmp_path)
    assert_refused(result, data, "exists and is not a report", "--force")
    assert data.read_bytes() == before
    # a report may replace a report; --force replaces anything
    page = tmp_path / "report.html"
    assert invoke(["report", runs / "plan", "--out", page], tmp_path).exit_code == 0
    first = page.read_text(encoding="utf-8")
    assert invoke(["report", runs / "baseline", "--out", page], tmp_path).exit_code == 0
    assert page.read_text(encoding="utf-8") != first
    result = invoke(["report", runs / "plan", "--out", data, "--force"], tmp_path)
    assert result.exit_code == 0 and data.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_schema_does_not_overwrite_anything(invoke, tmp_path):
    other = tmp_path / "notes.json"
    other.write_text('{"mine": true}\n')
    assert_refused(invoke(["schema", "--out", other], tmp_path), other, "--force")
    assert other.read_text() == '{"mine": true}\n'
    schema = tmp_path / "scenario.schema.json"
    assert invoke(["schema", "--out", schema], tmp_path).exit_code == 0
    schema.write_text(schema.read_text().replace('"description"', '"description"', 1) + "\n")
    assert invoke(["schema", "--out", schema], tmp_path).exit_code == 0  # a schema may replace a schema
    assert json.loads(schema.read_text())["title"] == "Shuangta scenario"
    assert invoke(["schema", "--out", other, "--force"], tmp_path).exit_code == 0
    assert json.loads(other.read_text())["title"] == "Shuangta scenario"


# --------------------------------------------------------------------------- the CLI's own promises


def test_plot_and_report_take_a_folder_of_result_folders(invoke, tmp_path, runs):
    members = sorted(runs.iterdir())  # what the shell makes of results/*
    assert runs / "README.md" in members
    result = invoke(["plot", *members, "--out", tmp_path / "plots"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"note: skipped {runs / 'README.md'}: not a folder" in result.output
    assert (tmp_path / "plots" / "verdicts.png").is_file()
    result = invoke(["report", runs, "--out", tmp_path / "r.html"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 result folders" in result.output
    result = invoke(["report", *members, "--out", tmp_path / "r2.html"], tmp_path)
    assert result.exit_code == 0 and "skipped" in result.output and "README.md" in result.output


def test_quiet_and_verbose_before_and_after_the_command(invoke, tmp_path):
    outputs = {}
    for args in (["-q", "run", SCENARIOS / "plan.toml"], ["run", SCENARIOS / "plan.toml", "-q"],
                 ["run", SCENARIOS / "plan.toml"], ["run", SCENARIOS / "plan.toml", "-v"]):
        result = invoke([*args, "--out", tmp_path / "res", "--final-time", "2026"], tmp_path)
        assert result.exit_code == 0, result.output
        outputs[" ".join(str(a) for a in args)] = result.output
    quiet_before, quiet_after, plain, verbose = outputs.values()
    assert quiet_before == quiet_after
    assert "T1" in quiet_after and "MISSED" in quiet_after  # the verdicts are the result: kept
    assert " ms)" not in quiet_after and " ms)" in plain  # timings and paths are chatter: hidden
    assert "T1" in verbose


def test_quiet_keeps_the_result_of_a_reporting_command(invoke, tmp_path, runs):
    result = invoke(["report", runs, "--out", tmp_path / "r.html", "-q"], tmp_path)
    assert result.exit_code == 0 and "note:" not in result.output and "r.html" in result.output


def test_help_says_what_quiet_hides(invoke):
    for args in (["--help"], ["run", "--help"], ["report", "--help"]):
        text = " ".join(invoke(args).output.split())
        assert "no progress bars, notes or timings" in text and "still printed" in text


def test_targets_json_is_strict_json(invoke):
    result = invoke(["targets", "--format", "json"])
    assert result.exit_code == 0

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    records = json.loads(result.output, parse_constant=refuse)
    from sim.plan.targets import load_targets

    assert [r["id"] for r in records] == [t.id for t in load_targets()]
    assert any(value is None for r in records for value in r.values())  # missing values are null


def test_fractional_final_time_is_refused(invoke, tmp_path):
    result = invoke(["run", SCENARIOS / "plan.toml", "--out", tmp_path / "res", "--final-time", "2030.5"], tmp_path)
    assert result.exit_code == 2 and "not a whole year" in result.output
    assert not (tmp_path / "res").exists()
