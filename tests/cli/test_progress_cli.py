"""Progress and noise: a slow first translation is announced (and hidden by -q); EMA Workbench's import
notes about connectors this project does not use are filtered, and nothing else is."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
import warnings

from conftest import REPO

DATA = REPO / "tests" / "data"


def test_a_slow_step_is_announced_and_a_fast_one_is_not(caplog):
    from sim.model.files import announce_if_slow

    with caplog.at_level(logging.INFO, logger="sim.progress"):
        with announce_if_slow("slow step ...", after=0.05) as shown:
            time.sleep(0.3)
        assert shown and "slow step ..." in caplog.text
        caplog.clear()
        with announce_if_slow("fast step ...", after=5) as shown:
            pass
        time.sleep(0.05)
        assert not shown and "fast step" not in caplog.text


def test_first_compilation_is_announced_unless_quiet(invoke, tmp_path, monkeypatch):
    """A model's first use on a fresh cache (its one parse and compilation; no PySD translation) is announced."""
    model = tmp_path / "toy.mdl"
    shutil.copy2(DATA / "scenario_toy.mdl", model)
    monkeypatch.setattr("sim.model.files.SLOW_STEP_SECONDS", 0.0)
    for quiet, cache in ((True, "c1"), (False, "c2")):
        monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / cache))
        result = invoke(["levers", "--model", model, *(["-q"] if quiet else [])], tmp_path)
        assert result.exit_code == 0, result.output
        announced = "compiling toy.mdl into the ensemble runner" in result.output
        assert "translat" not in result.output
        assert announced is not quiet


def test_ema_connector_notes_are_hidden_and_other_warnings_kept():
    from sim.engine.bench import quiet_ema_import

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_ema_import():
            warnings.warn("vensim connector not available", ImportWarning)
            warnings.warn("ipyparallel not installed - IpyparalleEvaluator not available", UserWarning)
            warnings.warn("a real problem", UserWarning)
            warnings.warn("some other module not available", ImportWarning)
    assert [str(w.message) for w in caught] == ["a real problem", "some other module not available"]


def test_importing_ema_workbench_for_bench_prints_no_import_warning():
    code = ("import warnings; warnings.simplefilter('default')\n"
            "from sim.engine.bench import quiet_ema_import\n"
            "with quiet_ema_import():\n"
            "    from ema_workbench.connectors.pysd_connector import PysdModel\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "ImportWarning" not in done.stderr and "connector not available" not in done.stderr
