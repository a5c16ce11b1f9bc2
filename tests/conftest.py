"""Shared fixtures. Translations go to a cache outside the repository."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest

# Set before anything loads a model: PySD translations are cached here, never in the repo.
os.environ.setdefault("SHUANGTA_CACHE", str(Path(tempfile.gettempdir()) / f"shuangta-sd-test-cache-{os.getuid()}"))

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
MODEL_FILE = REPO / "model" / "shuangta.mdl"

#: Relative tolerance for the plan's 2020 figures (issue #2: "each within 0.5 %").
BASE_YEAR_TOLERANCE = 0.005
#: Largest relative change of a 2025 output when TIME STEP is halved.
TIME_STEP_TOLERANCE = 0.005


@pytest.fixture(scope="session")
def model():
    from sim.model.loader import load_model

    return load_model(MODEL_FILE)


@pytest.fixture(scope="session")
def baseline(model):
    from sim.engine.run import run_scenario
    from sim.specs.scenario import load_scenario

    return run_scenario(model, load_scenario(SCENARIOS / "baseline.toml", model))


@pytest.fixture(scope="session")
def plan(model):
    from sim.engine.run import run_scenario
    from sim.specs.scenario import load_scenario

    return run_scenario(model, load_scenario(SCENARIOS / "plan.toml", model))


@pytest.fixture
def invoke():
    """``invoke(args, cwd=None)``: run ``shuangta ARGS`` in process (click's ``CliRunner``), in the folder
    ``cwd`` when given (the current folder is restored afterwards); returns click's ``Result``."""
    from click.testing import CliRunner

    from sim.cli import cli

    def run(args, cwd=None):
        with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
            return CliRunner().invoke(cli, [str(a) for a in args])

    return run


_MDL_CONTROL = """
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

FINAL TIME  = 2030
	~	Year
	~	The final time for the simulation.
	|

INITIAL TIME  = 2020
	~	Year
	~	The initial time for the simulation.
	|

SAVEPER  = 1
	~	Year [0,?]
	~	The frequency with which output is stored.
	|

TIME STEP  = {time_step}
	~	Year [0,?]
	~	The time step for the simulation.
	|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0
///---\\\\\\
"""


def mdl_control(time_step: float = 0.25) -> str:
    """The end of a toy ``.mdl`` written by a test: the control section (2020-2030, SAVEPER 1) and an empty sketch."""
    return _MDL_CONTROL.format(time_step=time_step)


def assert_problems_match(problems, path, expected) -> None:
    """Every problem names the file ``path``; each ``(key, fragment)`` of ``expected`` is raised, and nothing else."""
    assert all(f == str(path) for f, _, _ in problems), problems
    for key, fragment in expected:  # every expected problem is raised ...
        assert any(k == key and fragment in m for _, k, m in problems), (key, fragment, problems)
    for _, k, m in problems:  # ... and nothing else
        assert any(k == key and fragment in m for key, fragment in expected), (k, m)


def assert_refused_without_writing(result, path, expected, out, work) -> None:
    """A command refused the file ``path``: exit status 2, the first of ``expected`` in the message, and neither
    ``out`` nor anything in the working folder ``work`` written."""
    assert result.exit_code == 2, result.output
    key, fragment = expected[0]
    assert f"error: {path}: {key + ': ' if key else ''}" in result.output
    assert fragment in result.output
    assert not out.exists()
    assert list(work.iterdir()) == []
