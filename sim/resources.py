"""Where the model and the scenario library are: the checkout, or the copy inside the installed package.

The repository keeps ``model/`` (the ``.mdl``, ``model/data/*``, its README)
and ``scenarios/`` (the scenario library with ``sweeps/``, ``sensitivity/``
and ``calibration/``) at its top level. Every module finds them here, in one
place:

* **a checkout** (an editable install, or ``python -m sim`` in the
  repository): the repository's own folders, next to the ``sim`` package;
* **an installed package** (``pip install .``): the copies that ``setup.py``
  puts into the built package at ``sim/_bundled/model`` and
  ``sim/_bundled/scenarios``, found with :mod:`importlib.resources`.

Library inputs are named by their stem anywhere a command takes a file
(:func:`library_file`): ``shuangta run plan`` runs ``scenarios/plan.toml``
of whichever copy is in use, unless a file ``plan`` exists where the user is.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

#: The folder inside the built package that holds the copies of ``model/`` and ``scenarios/``.
BUNDLE = "_bundled"
#: The top-level folders of the repository that ship with the package.
SHIPPED = ("model", "scenarios")


def _package_dir() -> Path:
    return Path(str(files("sim"))).resolve()


@functools.lru_cache(maxsize=1)
def checkout() -> Path | None:
    """The repository the running ``sim`` package belongs to, or None for an installed copy.

    A checkout is the folder above the package when it holds ``pyproject.toml``,
    ``model/`` and ``scenarios/``.
    """
    root = _package_dir().parent
    if (root / "pyproject.toml").is_file() and all((root / name).is_dir() for name in SHIPPED):
        return root
    return None


def root() -> Path:
    """The folder that holds ``model/`` and ``scenarios/``: the checkout, else the installed copy."""
    found = checkout()
    return found if found is not None else _package_dir() / BUNDLE


def model_dir() -> Path:
    """The folder of the shipped model (``model/``)."""
    return root() / "model"


def scenario_dir() -> Path:
    """The scenario library (``scenarios/``)."""
    return root() / "scenarios"


def library_file(text: str | Path, subfolder: str = "") -> Path:
    """A file the user named: the path itself when it exists, else the library's ``<text>.toml``.

    A bare name (no folder, no ``.toml``) that is not a file here is looked up
    as ``scenarios/<subfolder>/<text>.toml``; anything else is returned as
    given, so a missing file is reported by the reader as before.
    """
    path = Path(text).expanduser()
    name = str(text)
    if path.exists() or "/" in name or "\\" in name or name.endswith(".toml"):
        return path
    named = scenario_dir() / subfolder / f"{name}.toml"
    return named if named.is_file() else path


def calibration_target(to: str | Path | None, model_path: str | Path | None) -> Path:
    """The file ``calibrate --apply`` writes: ``to`` when given; for another model, its own
    ``data/calibration.csv``; for the shipped model, the checkout's ``model/data/calibration.csv``.

    An installed package's copy of the model is not the user's to change:
    without a checkout, :class:`~sim.errors.InputError` asks for ``--to``.
    """
    from sim.errors import InputError
    from sim.model.files import calibration_file

    if to is not None:
        return Path(to)
    if model_path is not None:
        return calibration_file(model_path)
    found = checkout()
    if found is None:
        raise InputError("--apply: name the calibration file to write with --to PATH (the installed package's "
                         "model/data/calibration.csv is part of the package, not a file to change)")
    return found / "model" / "data" / "calibration.csv"
