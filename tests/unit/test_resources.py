"""Where the model and the scenario library are found (sim.resources), and library names on the command line."""

from __future__ import annotations

import pytest

from conftest import REPO
from sim import resources
from sim.errors import InputError
from sim.model.loader import DEFAULT_MODEL
from sim.model.files import calibration_file


def test_a_checkout_uses_its_own_folders():
    assert resources.checkout() == REPO
    assert resources.model_dir() == REPO / "model"
    assert resources.scenario_dir() == REPO / "scenarios"
    assert DEFAULT_MODEL == REPO / "model" / "shuangta.mdl"


def test_without_a_checkout_the_installed_copy_is_used(monkeypatch):
    monkeypatch.setattr(resources, "checkout", lambda: None)
    assert resources.root() == REPO / "sim" / resources.BUNDLE
    assert resources.scenario_dir() == REPO / "sim" / resources.BUNDLE / "scenarios"


@pytest.mark.parametrize("text, subfolder, expected", [
    ("plan", "", REPO / "scenarios" / "plan.toml"),
    ("plan_uncertainty", "sweeps", REPO / "scenarios" / "sweeps" / "plan_uncertainty.toml"),
    ("plan_targets", "sensitivity", REPO / "scenarios" / "sensitivity" / "plan_targets.toml"),
])
def test_a_library_name_is_its_file(text, subfolder, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.library_file(text, subfolder) == expected


@pytest.mark.parametrize("text", ["nonesuch", "plan.toml", "sub/plan", "plan_uncertainty"])
def test_anything_else_is_returned_as_given(text, tmp_path, monkeypatch):
    """An unknown name, a .toml name, a path, a name in another library folder: the reader reports it."""
    monkeypatch.chdir(tmp_path)
    assert str(resources.library_file(text)) == text


def test_a_file_here_wins_over_the_library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan").write_text("x")
    assert resources.library_file("plan").resolve() == tmp_path / "plan"


def test_calibration_target(tmp_path, monkeypatch):
    assert resources.calibration_target(tmp_path / "a.csv", None) == tmp_path / "a.csv"
    assert resources.calibration_target(None, tmp_path / "m.mdl") == calibration_file(tmp_path / "m.mdl")
    assert resources.calibration_target(None, None) == REPO / "model" / "data" / "calibration.csv"
    monkeypatch.setattr(resources, "checkout", lambda: None)
    with pytest.raises(InputError, match="--to PATH"):
        resources.calibration_target(None, None)
    assert resources.calibration_target(tmp_path / "a.csv", None) == tmp_path / "a.csv"


def test_run_takes_a_library_name(invoke, tmp_path):
    result = invoke(["-q", "run", "plan", "--out", "res", "--final-time", "2022"], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "res" / "plan" / "manifest.json").is_file()


def test_validate_and_diff_take_library_names(invoke, tmp_path):
    validated = invoke(["validate", "plan", "baseline"], tmp_path)
    assert validated.exit_code == 0, validated.output
    assert f"ok  {REPO / 'scenarios' / 'plan.toml'}" in validated.output
    diff = invoke(["diff", "baseline", "plan", "--no-model"], tmp_path)
    assert diff.exit_code == 0, diff.output
    assert diff.output.splitlines()[0].split() == ["lever", "baseline", "plan"]  # both files read by name


def test_an_unknown_name_is_still_a_missing_file(invoke, tmp_path):
    result = invoke(["run", "nonesuch", "--out", "res"], tmp_path)
    assert result.exit_code == 2
    assert "nonesuch" in result.output
