"""The public API in ``sim``: light to import, every advertised name resolves to its module's object."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pysd", "pandas", "numpy", "scipy", "matplotlib", "pydantic")


def _python(code: str, tmp_path) -> str:
    """Run ``code`` in a fresh interpreter (so nothing is imported already) and return its standard output."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_sim_is_light(tmp_path):
    code = f"import sys, sim; print(sim.__version__); print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    version, loaded = _python(code, tmp_path).splitlines()
    assert version and loaded == "[]"


def test_every_public_name_resolves(tmp_path):
    code = """
import importlib, json, sys, sim
out = {}
for name in sim.__all__:
    value = getattr(sim, name)
    if name == "__version__":
        continue
    source = importlib.import_module(sim._MODULE_OF[name])
    out[name] = [value is getattr(source, name), type(value).__name__ == "module"]
print(json.dumps(out))
"""
    found = json.loads(_python(code, tmp_path))
    import sim

    assert set(found) == set(sim.__all__) - {"__version__"}
    assert {name for name, (same, _) in found.items() if not same} == set()
    assert {name for name, (_, module) in found.items() if module} == set()
    for name in ("load_model", "load_scenario", "run_scenario", "run_scenarios", "load_targets", "evaluate",
                 "run_sweep", "load_sweep", "reach", "check_consistency"):
        assert name in sim.__all__, name


def test_functions_named_like_their_module_stay_functions(tmp_path):
    # importing sim.analysis.consistency imports the module sim.analysis.reach first; sim.reach must still be the function
    code = """
import sim, sim.analysis.consistency, sim.analysis.calibrate
from sim.analysis.search import LeverSearch
print(callable(sim.reach), type(sim.reach).__name__, sim.reach.__module__, sim.calibrate.__module__)
"""
    assert _python(code, tmp_path).split() == ["True", "function", "sim.analysis.reach", "sim.analysis.calibrate"]


def test_unknown_name_is_an_attribute_error():
    import sim

    with pytest.raises(AttributeError, match="no attribute 'load_modle'"):
        sim.load_modle  # noqa: B018
    assert "load_model" in dir(sim)
