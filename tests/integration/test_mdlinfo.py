"""The one parse (sim.model.mdlinfo) gives what PySD's translation gives: names, units, ranges, types, comments
and time settings, with no PySD translation on the way to a run."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MODEL_FILE
from sim.model.loader import load_model

DATA = Path(__file__).resolve().parent.parent / "data"
MODELS = [MODEL_FILE, DATA / "toy.mdl", DATA / "compiler_functions.mdl", DATA / "compiler_dynamics.mdl",
          DATA / "compiler_initial_types.mdl", DATA / "ltm_goal.mdl", DATA / "reach_toy.mdl"]
CONTROL = {"FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP", "Time"}


def _row(r: dict) -> tuple:
    """A doc row with PySD's empty values (None, NaN) read as the parse's ("" and NaN)."""
    limits = tuple("open" if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                   for v in (r["Limits"] if isinstance(r["Limits"], tuple) else (None, None)))
    def text(v):
        return v if isinstance(v, str) else ""

    return (r["Real Name"], text(r["Units"]), limits, r["Type"], text(r["Comment"]))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_doc_equals_pysd_translation(path):
    model = load_model(path, calibrated=False)
    ours = [_row(r) for r in model.doc.to_dict("records") if r["Real Name"] not in CONTROL]
    pysd = [_row(r) for r in model.pysd_model.doc.to_dict("records") if r["Real Name"] not in CONTROL]
    assert ours == pysd


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_settings_and_defaults_equal_pysd(path):
    model = load_model(path)
    control = model.pysd_model.components._control_vars
    assert model.settings == {k: float(v()) for k, v in control.items()}
    for name, lever in model.catalogue.items():
        assert lever.default == float(model.pysd_model[name]), name


def test_calibrated_defaults_reach_the_catalogue(tmp_path):
    """A calibration row replaces the .mdl's value in the catalogue, as it does in PySD's model."""
    mdl = tmp_path / "toy.mdl"
    mdl.write_bytes((DATA / "toy.mdl").read_bytes())
    prior = load_model(mdl)
    name, lever = next(iter(prior.catalogue.items()))
    value = (lever.lower + lever.upper) / 2 if lever.default != (lever.lower + lever.upper) / 2 else lever.lower
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "calibration.csv").write_text(f"model,scope,name,value\ntoy.mdl,default,{name},{value!r}\n",
                                                       encoding="utf-8")
    model = load_model(mdl)
    assert model.catalogue[name].default == value
    assert float(model.pysd_model[name]) == value


def test_loading_a_model_translates_nothing_with_pysd(tmp_path):
    """Names, units, ranges, the catalogue and a run need no PySD translation: a fresh cache gets the
    compiled model only, and a second process (warm cache) does not even import PySD."""
    code = (
        "import sys\n"
        "from sim.model.loader import load_model\n"
        "from sim.engine.run import run_scenario\n"
        f"m = load_model({str(DATA / 'toy.mdl')!r})\n"
        "m.catalogue, m.settings, m.outputs\n"
        "run_scenario(m)\n"
        "print('pysd' in sys.modules)\n"
    )
    env = {"SHUANGTA_CACHE": str(tmp_path / "cache"), "PATH": "", "HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                           check=True).stdout.strip() for _ in range(2)]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["compiled"]
    assert runs == ["True", "False"]  # the first parses the .mdl with PySD's parser; the second reads the cache


def test_the_parse_loads_pysd_parser_only_and_pysd_stays_whole(tmp_path):
    """A first parse loads PySD's parser without its simulation back end (no xarray); afterwards `import pysd`
    is the whole package, and the parse's classes are the ones PySD's own modules define."""
    code = (
        "import sys\n"
        "from sim.model.mdlinfo import abstract_model\n"
        f"a = abstract_model({str(DATA / 'toy.mdl')!r})\n"
        "print('xarray' in sys.modules)\n"
        "import pysd\n"
        "from pysd.translators.structures.abstract_model import AbstractModel\n"
        "print(callable(pysd.read_vensim), 'xarray' in sys.modules, type(a) is AbstractModel)\n"
    )
    env = {"SHUANGTA_CACHE": str(tmp_path / "cache"), "PATH": "", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         check=True).stdout.split("\n")
    assert out[:2] == ["False", "True True True"]
