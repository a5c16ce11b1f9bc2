"""Evaluating a chunk of runs: what a worker receives, runs with the compiled model, and sends back.

A :class:`ChunkJob` carries lever arrays and what to keep, never a model
object; :func:`evaluate_chunk` compiles (or loads from the cache) the model
itself, runs the chunk in one ensemble call, and records a run that raises or
yields NaN/inf against that run. The chunk's table (:func:`chunk_table`) is
what :mod:`sim.engine.ensemble` commits to a chunk file. This module never
prints and never exits.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sim.engine.identity import (WORKER_COMPONENTS, IdentityError, calibration_sha256, changed_components, code_version,
                                 describe_changes, worker_components)
from sim.errors import InputError, ModelError
from sim.plan.targets import TIME_TOLERANCE, Target, ensemble_gaps, ensemble_quantities, load_targets
from sim.specs.levers import Scenario
from sim.specs.sweep import Sweep

# Column prefixes inside chunk files (one row per run).
FACTOR_PREFIX, TARGET_PREFIX, OUTCOME_PREFIX = "f:", "t:", "o:"


@dataclass(frozen=True)
class ChunkJob:
    """What a worker needs for one chunk: lever arrays, kept columns, targets. No model object.

    ``base`` maps a constant to a number or a ``(1, S)`` array on the Euler
    step grid (a time-series lever of the base scenario); ``factors`` maps a
    factor to its ``(m,)`` values for the runs ``start .. stop - 1``.
    """

    index: int
    start: int
    stop: int
    model_path: str
    model_sha256: str
    base: dict
    factors: dict
    variables: tuple
    years: tuple
    targets: tuple
    final_time: float | None = None
    time_step: float | None = None
    code: str = ""
    #: The client's worker components (:func:`sim.engine.identity.worker_components`); a worker whose own differ refuses.
    identity: dict | None = None


@dataclass
class ChunkResult:
    """A chunk's results: kept values ``(m, variables, years)``, target quantities ``(m, targets)``, errors."""

    index: int
    start: int
    stop: int
    outcomes: np.ndarray
    target_values: np.ndarray
    errors: list


_MODELS: dict[tuple, Any] = {}


_MODELS_LOCK = threading.Lock()


def load_compiled(model_path: str, sha: str) -> tuple[Any, dict]:
    """The compiled model with SHA-256 ``sha`` in this process, and the calibrated defaults it applies.

    A worker on another machine may not have the file at ``model_path``; it
    then uses its own installed project's model if that has the same SHA-256.
    The calibration file is read at each call (a small CSV) and is part of the
    cache key, so that a worker always reports the constants it computes with.
    """
    from sim.model.loader import DEFAULT_MODEL, load_model, read_calibration
    from sim.model.files import file_sha256

    candidates = list(dict.fromkeys([Path(model_path), DEFAULT_MODEL]))
    found = next((c for c in candidates if c.is_file() and file_sha256(c) == sha), None)
    if found is None:
        raise ModelError(
            f"no model file with SHA-256 {sha[:12]}... on this worker (looked at "
            f"{' and '.join(map(str, candidates))}; was the model edited during the sweep?); "
            "install the same version of the project on every machine")
    calibration = read_calibration(found)
    key = (str(found), sha, calibration_sha256(calibration))
    with _MODELS_LOCK:
        if key not in _MODELS:
            model = load_model(found)
            _MODELS[key] = (model.compiled, dict(model.calibration))  # with the calibrated defaults
        return _MODELS[key]


def _check_worker(job: "ChunkJob", calibration: dict) -> None:
    """Refuse a chunk this worker would compute with other inputs than the client's (:mod:`sim.engine.identity`)."""
    mine = worker_components(job.model_sha256, calibration)
    changed = changed_components(job.identity, mine, WORKER_COMPONENTS)
    if changed:
        raise IdentityError(
            f"a worker ({socket.gethostname()}, process {os.getpid()}) refused chunk {job.index}: it would compute "
            f"with other inputs than the sweep's: {describe_changes(changed, job.identity, mine, 'sweep', 'worker')}; "
            "install the same project, model and calibration on every machine")


def _simulate(cm, job: ChunkJob, rows: np.ndarray):
    """Run members ``rows`` (indices into the chunk) of ``job`` with the compiled model."""
    params = dict(job.base)
    for name, values in job.factors.items():
        params[name] = values[rows]
    return cm.run(params, n=len(rows), return_columns=list(job.variables),
                  final_time=job.final_time, time_step=job.time_step)


def target_quantities(targets: Sequence[Target], times: np.ndarray, values: dict) -> np.ndarray:
    """The quantity of each target in each run, shape ``(m, len(targets))``, NaN where undefined.

    Columns follow ``targets``; the definitions are :func:`sim.plan.targets.ensemble_quantities`.
    """
    m = next(iter(values.values())).shape[0] if values else 0
    found = ensemble_quantities(targets, times, values)
    return np.column_stack([found.get(t.id, np.full(m, np.nan)) for t in targets]) if targets else np.empty((m, 0))


def target_met(target: Target, quantity: np.ndarray) -> np.ndarray:
    """Whether each quantity meets ``target`` (as :func:`sim.plan.targets.evaluate`'s verdict); NaN is not met."""
    return ensemble_gaps(target, quantity)[0]


def error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


def _non_finite(variables, times, values, rows) -> dict[int, str]:
    """``{row: message}`` for rows with a NaN or infinite value in a kept variable at any saved time."""
    found: dict[int, str] = {}
    for name in variables:
        v = values[name]
        bad = ~np.isfinite(v)
        if not bad.any():
            continue
        for r in np.flatnonzero(bad.any(axis=1)):
            if int(rows[r]) not in found:
                t = int(np.argmax(bad[r]))
                found[int(rows[r])] = f"non-finite value: {name} is {v[r, t]} in {times[t]:g}"
    return found


def evaluate_chunk(job: ChunkJob) -> ChunkResult:
    """Run one chunk with the compiled model; a run that raises or yields NaN/inf is recorded, not fatal.

    When the ensemble call raises, the chunk is split in halves until the
    failing runs are single; each gets the error text. Problems of the set-up
    (:class:`InputError`, :class:`ModelError`) are raised: they would fail
    every chunk alike.
    """
    if job.code and job.code != code_version():
        raise IdentityError(f"this worker runs other code ({code_version()}) than the process that started the sweep "
                            f"({job.code}): install the same version of the project, numpy and PySD on every machine")
    cm, calibration = load_compiled(job.model_path, job.model_sha256)
    if job.identity:
        _check_worker(job, calibration)
    m = job.stop - job.start
    variables, years, targets = list(job.variables), np.asarray(job.years, dtype=float), list(job.targets)
    outcomes = np.full((m, len(variables), len(years)), np.nan)
    quantities = np.full((m, len(targets)), np.nan)
    errors: list[str | None] = [None] * m

    def attempt(rows: np.ndarray) -> None:
        try:
            result = _simulate(cm, job, rows)
        except (InputError, ModelError):
            raise
        except Exception as exc:  # any failure of these runs is recorded against them
            if len(rows) == 1:
                errors[int(rows[0])] = error_text(exc)
                return
            half = len(rows) // 2
            attempt(rows[:half])
            attempt(rows[half:])
            return
        times = np.asarray(result.times, dtype=float)
        cols = [int(np.flatnonzero(np.abs(times - y) <= TIME_TOLERANCE)[-1]) for y in years]
        for j, name in enumerate(variables):
            outcomes[rows, j, :] = result.values[name][:, cols]
        quantities[rows, :] = target_quantities(targets, times, result.values)
        for r, msg in _non_finite(variables, times, result.values, rows).items():
            errors[r] = msg

    if m:
        attempt(np.arange(m))
    return ChunkResult(job.index, job.start, job.stop, outcomes, quantities, errors)


def outcome_column(variable: str, year: int) -> str:
    return f"{OUTCOME_PREFIX}{variable}|{year}"


def parquet_bytes(table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def chunk_table(result: ChunkResult, factors: dict, sweep: Sweep, targets: Sequence[Target]):
    """A chunk file's table: run ids, errors, the factors' values (``{name: array}``), target values, outcomes."""
    import pyarrow as pa

    columns = {"run_id": pa.array(np.arange(result.start, result.stop, dtype=np.int64)),
               "error": pa.array(result.errors, type=pa.string())}
    for name in sweep.factor_names:
        columns[FACTOR_PREFIX + name] = pa.array(np.asarray(factors[name], dtype=float))
    for k, t in enumerate(targets):
        columns[TARGET_PREFIX + t.id] = pa.array(result.target_values[:, k])
    for j, v in enumerate(sweep.variables):
        for i, y in enumerate(sweep.years):
            columns[outcome_column(v, y)] = pa.array(result.outcomes[:, j, i])
    return pa.table(columns)


def failed_result(job: ChunkJob, exc: BaseException, n_vars: int, n_years: int, n_targets: int) -> ChunkResult:
    m = job.stop - job.start
    return ChunkResult(job.index, job.start, job.stop, np.full((m, n_vars, n_years), np.nan),
                       np.full((m, n_targets), np.nan), [f"chunk failed: {error_text(exc)}"] * m)


def base_params(base: Scenario, factor_names: Sequence[str], step_times: np.ndarray) -> dict:
    """The levers of the ``base`` scenario that the factors leave alone, as the compiled model takes them
    (series as ``(1, S)`` arrays on ``step_times``)."""
    params = {}
    factors = set(factor_names)
    for name, value in base.levers.items():
        if name in factors:  # the factor's value replaces the base's, series or not
            continue
        params[name] = value.at(step_times)[None, :] if value.is_series else float(value.value)
    return params


def target_dict(t: Target) -> dict:
    """A target's definition as recorded in a sweep manifest."""
    return {k: getattr(t, k) for k in ("id", "description", "variable", "other_variable", "kind", "comparison",
                                       "threshold", "year", "base_year", "aggregate")}


def unevaluated_targets(variables: Sequence[str], targets: Sequence[Target]) -> list[dict]:
    """The definition and ``reason`` of each target a sweep keeping ``variables`` cannot evaluate (why not)."""
    kept, out = set(variables), []
    for t in targets:
        if not t.evaluable or not t.variable:
            why = t.reason or "the model cannot evaluate it (targets file: evaluable = false)"
        else:
            missing = [v for v in t.variables() if v not in kept]
            if not missing:
                continue
            why = "not kept in [outputs] variables: " + ", ".join(missing)
        out.append({**target_dict(t), "reason": why})
    return out


def selected_targets(variables: Sequence[str], targets: Sequence[Target] | None = None) -> list[Target]:
    """Evaluable targets whose variables are all kept."""
    kept = set(variables)
    targets = load_targets() if targets is None else targets
    return [t for t in targets if t.evaluable and t.variable and all(v in kept for v in t.variables())]
