"""One identity for "the numbers": what a result's values depend on, as one hash and its components.

A run, a sweep or a sensitivity study gives the same numbers when, and only
when, these are the same:

``model``
    the ``.mdl`` file (its SHA-256);
``calibration``
    the calibrated defaults actually applied when the model loads (the
    ``scope = default`` rows of ``model/data/calibration.csv`` for this model,
    as values: :func:`sim.model.loader.read_calibration`), not the file's bytes;
``targets``
    the targets' definitions (the parsed content of the targets file,
    :func:`sim.plan.targets.load_targets`; comments do not count);
``code``
    the runner's code: the compiler, the ensemble evaluation and the target
    arithmetic (their source), numpy's and PySD's versions
    (:func:`code_version`);
``base``
    the resolved base scenario (its levers as data).

:func:`numbers_identity` gives ``{"sha256": ..., "components": {...}}``; every
manifest written by ``run``, ``sweep`` and ``sensitivity`` records it under
``identity``. ``--resume`` compares it with the folder's (:func:`changed_components`),
and a worker compares the components it can compute itself (model,
calibration, code: :func:`worker_components`) with the client's before it
evaluates a chunk.

This module never prints and never exits.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from dataclasses import asdict
from pathlib import Path

from sim.errors import InputError
from sim.engine.results import content_sha256

__all__ = ["COMPONENTS", "WORKER_COMPONENTS", "IdentityError", "code_version", "calibration_sha256",
           "targets_sha256", "numbers_identity", "worker_components", "changed_components", "describe_changes"]

#: The components of the identity, in the order messages name them.
COMPONENTS = ("model", "calibration", "targets", "code", "base")
#: The components a worker computes itself (targets and base travel with each chunk).
WORKER_COMPONENTS = ("model", "calibration", "code")

#: What each component is, for messages.
_WORDS = {
    "model": "the model file (.mdl)",
    "calibration": "the calibrated defaults applied (model/data/calibration.csv rows for this model)",
    "targets": "the targets' definitions (the targets file)",
    "code": "the program (the compiler in sim.model, sim.engine.chunks, sim.plan.targets, numpy or PySD)",
    "base": "the base scenario's resolved levers",
}

#: Modules whose source decides the numbers of a run (the compiled runner, chunk evaluation, target arithmetic).
_CODE_MODULES = ("sim.model.mdlinfo", "sim.model.functions", "sim.model.translator", "sim.model.codegen",
                 "sim.model.compiler", "sim.engine.chunks", "sim.plan.targets")


class IdentityError(InputError):
    """The inputs that decide the numbers differ from those a folder or a client recorded."""


@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """What the numbers depend on besides the inputs: the runner's source, numpy's and PySD's versions.

    Computed once per process: ``<16 hex digits of the sources' SHA-256>-numpy<v>-pysd<v>``.
    """
    import importlib
    from importlib.metadata import version

    import numpy as np

    digest = hashlib.sha256()
    for name in _CODE_MODULES:
        module = sys.modules.get(name) or importlib.import_module(name)
        digest.update(Path(module.__file__).read_bytes())
    return f"{digest.hexdigest()[:16]}-numpy{np.__version__}-pysd{version('pysd')}"


def calibration_sha256(calibration: dict) -> str:
    """SHA-256 of the calibrated defaults applied (``{name: value}``; none applied hashes ``{}``)."""
    return content_sha256({str(k): float(v) for k, v in sorted(calibration.items())})


def targets_sha256(targets=None) -> str:
    """SHA-256 of the targets' definitions (default: :func:`sim.plan.targets.load_targets` of the default file)."""
    from sim.plan.targets import load_targets

    targets = load_targets() if targets is None else targets
    return content_sha256([asdict(t) for t in targets])


def numbers_identity(model, base: dict | None, targets=None) -> dict:
    """The identity of the numbers of ``model`` (a :class:`sim.model.loader.Model`) run from the resolved ``base``.

    ``base`` is the resolved scenario content (``Scenario.resolved_dict()``),
    ``None`` when there is none. Returns ``{"sha256": ..., "components": {...}}``.
    """
    components = {
        "model": model.sha256,
        "calibration": calibration_sha256(getattr(model, "calibration", {}) or {}),
        "targets": targets_sha256(targets),
        "code": code_version(),
        "base": content_sha256(base),
    }
    return {"sha256": content_sha256(components), "components": components}


def worker_components(model_sha256: str, calibration: dict) -> dict:
    """The components a worker computes itself: the model it loaded, its calibration, its code."""
    return {"model": model_sha256, "calibration": calibration_sha256(calibration), "code": code_version()}


def changed_components(recorded: dict | None, current: dict, names=COMPONENTS) -> list[str]:
    """Which of ``names`` differ between a recorded identity and the current one (both as from
    :func:`numbers_identity`, or their ``components``). A missing record counts as changed everywhere."""
    rec = (recorded or {}).get("components", recorded) or {}
    cur = current.get("components", current)
    return [n for n in names if n in cur and rec.get(n) != cur[n]]


def describe_changes(changed, recorded: dict | None, current: dict, then: str = "then", now: str = "now") -> str:
    """``the calibrated defaults applied (...) (a1b2c3d4e5f6... then, 0f1e2d3c4b5a... now)``, joined by ``; ``.

    ``then`` and ``now`` name the recorded and the current side (e.g. "sweep" and "worker").
    """
    rec = (recorded or {}).get("components", recorded) or {}
    cur = current.get("components", current)
    return "; ".join(f"{_WORDS[n]} ({str(rec.get(n))[:12]}... {then}, {str(cur.get(n))[:12]}... {now})"
                     for n in changed)
