"""Running scenarios: scenario files in, result folders with time series, verdicts and manifest out."""

from __future__ import annotations

import logging
import sys
import time as _time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, RunError, ScenarioError
from sim.engine.identity import numbers_identity
from sim.model.loader import Model, load_model
from sim.engine.results import build_manifest, finish_manifest, run_files, write_run
from sim.specs.scenario import load_scenario
from sim.specs.levers import Scenario
from sim.plan.targets import evaluate, load_targets

log = logging.getLogger(__name__)


def step_times(initial_time: float, final_time: float, time_step: float) -> np.ndarray:
    """Euler step times ``initial, initial + dt, ...`` up to and including ``final_time``."""
    n = int(round((final_time - initial_time) / time_step))
    return initial_time + time_step * np.arange(n + 1)


@dataclass(frozen=True)
class RunSpec:
    """What one simulation needs: settings and lever values resolved on the step grid."""

    initial_time: float
    final_time: float
    time_step: float
    saveper: float
    params: dict  # Vensim name -> float, or np.ndarray on the step grid

    @property
    def steps(self) -> np.ndarray:
        return step_times(self.initial_time, self.final_time, self.time_step)


def run_spec(model: Model, scenario: Scenario | None, final_time: float | None = None) -> RunSpec:
    """Resolve a scenario's settings and levers against the model.

    ``final_time`` (from the command line) overrides the scenario's, which
    overrides the model's. Time-series levers are evaluated on the Euler grid.
    """
    s = model.settings
    run = scenario.run if scenario is not None else None
    t0 = s["initial_time"]
    t1 = final_time or (run.final_time if run and run.final_time else None) or s["final_time"]
    dt = (run.time_step if run and run.time_step else None) or s["time_step"]
    if t1 <= t0:
        raise InputError(f"final time {t1:g} is not after the initial time {t0:g}")
    steps = step_times(t0, t1, dt)
    params = {}
    for name, value in (scenario.levers.items() if scenario is not None else ()):
        params[name] = value.at(steps) if value.is_series else float(value.value)
    return RunSpec(t0, float(t1), float(dt), s["saveper"], params)


def _frame(result, i: int = 0) -> pd.DataFrame:
    df = result.member(i)
    df.index = pd.Index(np.round(df.index.to_numpy(dtype=float), 9), name="time")
    return df


def _check_finite(df: pd.DataFrame) -> pd.DataFrame:
    bad = [c for c in df.columns if not np.all(np.isfinite(df[c].to_numpy(dtype=float)))]
    if bad:
        raise RunError(f"non-finite values in {', '.join(bad[:5])}")
    return df


def simulate(model: Model, spec: RunSpec) -> pd.DataFrame:
    """One run with the compiled ensemble runner (the same code path as sweeps).

    Returns a frame indexed by ``time`` (one row per SAVEPER) with one column
    per model variable by its Vensim name. Raises :class:`RunError` when the
    run yields a non-finite value. Equal to :func:`simulate_pysd` to 1e-9.
    """
    cm = model.compiled
    if spec.saveper != cm.saveper:
        raise InputError(f"SAVEPER {spec.saveper:g} differs from the model's {cm.saveper:g}; use simulate_pysd")
    result = cm.run(params=spec.params, n=1, return_columns=model.outputs,
                    final_time=spec.final_time, time_step=spec.time_step)
    return _check_finite(_frame(result))


def simulate_pysd(model: Model, spec: RunSpec) -> pd.DataFrame:
    """One run with PySD on a freshly reloaded model (nothing leaks between runs): the reference."""
    pm = model.fresh()
    steps = spec.steps
    params = {k: (pd.Series(v, index=steps) if isinstance(v, np.ndarray) else v) for k, v in spec.params.items()}
    try:
        with warnings.catch_warnings():
            # Time-series levers replace constants on purpose; PySD warns each time.
            warnings.filterwarnings("ignore", message="Replacing a constant value with a time-dependent value")
            df = pm.run(
                params=params,
                final_time=spec.final_time,
                time_step=spec.time_step,
                saveper=spec.saveper,
                return_columns=model.outputs,
            )
    except Exception as exc:  # PySD raises many kinds; ours is one
        raise RunError(f"simulation failed: {exc}") from exc
    df.index = pd.Index(np.round(df.index.to_numpy(dtype=float), 9), name="time")
    return _check_finite(df)


def run_scenario(model: Model, scenario: Scenario | None = None, final_time: float | None = None) -> pd.DataFrame:
    """Simulate one scenario (``None``: the model's defaults)."""
    return simulate(model, run_spec(model, scenario, final_time))


@dataclass
class ScenarioResult:
    name: str
    folder: Path
    verdicts: pd.DataFrame
    seconds: float


def run_scenarios(
    paths: list[str | Path],
    out: str | Path = "results",
    final_time: float | None = None,
    model_path: str | Path | None = None,
    command: list[str] | None = None,
) -> list[ScenarioResult]:
    """Check every scenario file, then run each and write ``out/<name>/``.

    All files are loaded and checked against the model before the first run,
    so a bad file anywhere means nothing is written at all.
    """
    model = load_model(model_path) if model_path else load_model()
    problems = []
    scenarios: list[Scenario] = []
    for p in paths:
        try:
            scenarios.append(load_scenario(p, model))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"two scenario files share the name {', '.join(dupes)}: results would overwrite each other")
    targets = load_targets()
    model.compiled  # compile (or load from the cache) before timing any run
    out = Path(out)
    results = []
    for sc in scenarios:
        manifest = build_manifest(command or sys.argv, model.path, sc.resolved_dict(),
                                  extra={"scenario_file": str(sc.path), "scenario_chain": [str(p) for p in sc.chain]})
        manifest["identity"] = numbers_identity(model, sc.resolved_dict(), targets)
        started = _time.perf_counter()
        ts = run_scenario(model, sc, final_time)
        seconds = _time.perf_counter() - started
        verdicts = evaluate(targets, ts)
        finish_manifest(manifest, "complete")
        manifest["extra"]["simulation_seconds"] = seconds
        folder = write_run(out / sc.name, run_files(ts, verdicts), manifest)
        log.info("%s: %.3f s, written to %s", sc.name, seconds, folder)
        results.append(ScenarioResult(sc.name, folder, verdicts, seconds))
    return results
