"""A non-editable install works anywhere: the wheel carries the model, its data and the scenario library,
and an installed `shuangta` runs from an empty folder without writing into the installed package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from sim.resources import BUNDLE, SHIPPED

#: What a build needs from the repository (copied, so that the build writes nothing into the repository).
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "sim", *SHIPPED)
#: Files ignored in the repository that never ship (caches, byte code, PySD translations).
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.egg-info")


def _tracked(folder: str) -> set[str]:
    """The repository's files under ``folder`` that git tracks, relative to it."""
    out = subprocess.run(["git", "ls-files", folder], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return {str(Path(line).relative_to(folder)) for line in out.splitlines()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=IGNORED)
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(out), str(src)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("*.whl")
    return found


def test_wheel_carries_model_data_and_scenario_library(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in SHIPPED:
        expected = {f"sim/{BUNDLE}/{folder}/{rel}" for rel in _tracked(folder)}
        assert expected, folder
        assert expected <= names, sorted(expected - names)[:5]
    assert f"sim/{BUNDLE}/model/shuangta.mdl" in names
    assert f"sim/{BUNDLE}/scenarios/plan.toml" in names
    assert "sim/data/targets.toml" in names


def _installed(wheel: Path, root: Path) -> Path:
    """A venv in ``root`` with the wheel installed (no dependencies: this environment's are made visible to it
    by a .pth file, so the install needs no network); returns its ``bin`` folder."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    return venv / "bin"


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_installed_package_runs_from_an_empty_folder(wheel, tmp_path):
    bin_dir = _installed(wheel, tmp_path)
    package = Path(subprocess.run([bin_dir / "python", "-c", "import sim, os; print(os.path.dirname(sim.__file__))"],
                                  cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip())
    assert package.is_relative_to(tmp_path / "venv")
    before = _files(package)
    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "SHUANGTA_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)

    def shuangta(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([bin_dir / "shuangta", *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)

    levers = shuangta("levers", "--format", "csv")
    assert levers.returncode == 0, levers.stderr
    assert "Business Environment" in levers.stdout
    run = shuangta("run", "plan", "--out", "x")
    assert run.returncode == 0, run.stderr
    assert (work / "x" / "plan" / "manifest.json").is_file()
    report = shuangta("report", "x", "--out", "r.html")
    assert report.returncode == 0, report.stderr
    assert (work / "r.html").stat().st_size > 0
    check = shuangta("check")  # the behaviour check finds the calibration spec in the installed library
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(r"\b(\d+) of \1 tests pass", check.stdout), check.stdout
    apply = shuangta("calibrate", "history_2015_2020", "--apply", "--out", "cal")
    assert apply.returncode == 2 and "--to PATH" in apply.stderr, apply.stderr
    assert _files(package) == before  # nothing written into the installed package
    assert sorted(p.name for p in work.iterdir()) == ["r.html", "x"]
