"""Benchmark: plain PySD runs, EMA Workbench's PySD connector and the ensemble runner, in one process.

Speed is measured here and printed by ``shuangta bench``; tests never assert it.
Members vary every lever and uncertain parameter uniformly inside its range
around a base scenario (as a sweep would), and keep the headline outputs.
"""

from __future__ import annotations

import contextlib
import re
import resource
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.model.loader import Model
from sim.engine.run import RunSpec, simulate_pysd

#: Outputs kept per member, as a sweep keeps them.
KEPT = [
    "GDP", "Above Scale Industrial Output", "Urban Disposable Income per Capita", "Fixed Asset Investment",
    "General Public Budget Revenue", "Retail Sales", "Tertiary Value Added", "Unemployment Rate",
    "Energy Consumption", "CO2 Emissions",
]


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (``ru_maxrss`` is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Line:
    runner: str
    n: int
    runs_per_s: float
    peak_mb: float


@dataclass
class Report:
    model: str
    variables: int
    steps: int
    lines: list[Line] = field(default_factory=list)

    def rate(self, runner: str, n: int | None = None) -> float | None:
        for line in self.lines:
            if line.runner == runner and (n is None or line.n == n):
                return line.runs_per_s
        return None

    @property
    def speed_ratio(self) -> float | None:
        """Ensemble runs/s at N = 10,000 over plain PySD runs/s."""
        fast, slow = self.rate("ensemble", 10_000), self.rate("pysd")
        return fast / slow if fast and slow else None


def draws(model: Model, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Every lever and uncertain parameter drawn uniformly inside its range, ``n`` members."""
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(v.lower, v.upper, n) for k, v in model.catalogue.items()}


def _pysd_rate(model: Model, spec: RunSpec, runs: int) -> float:
    params = draws(model, runs, seed=1)
    model.translated  # PySD's translation, made on first use, is not part of a run's time
    start = time.perf_counter()
    for i in range(runs):
        simulate_pysd(model, RunSpec(spec.initial_time, spec.final_time, spec.time_step, spec.saveper,
                                     {**spec.params, **{k: float(v[i]) for k, v in params.items()}}))
    return runs / (time.perf_counter() - start)


#: What EMA Workbench announces at import about optional back-ends this benchmark does not use (the
#: connectors of Vensim, Excel, NetLogo, Simio; ipyparallel): (category, message pattern). Nothing else is hidden.
EMA_IMPORT_NOISE = (
    (ImportWarning, re.compile(r"connector not available$")),
    (UserWarning, re.compile(r"^ipyparallel not installed")),
)


@contextlib.contextmanager
def quiet_ema_import():
    """Import EMA Workbench without its :data:`EMA_IMPORT_NOISE`; other warnings are raised again.

    Recording is needed: ``ema_workbench.connectors`` puts its own ``simplefilter("once", ImportWarning)``
    in front of any filter set before the import.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if not any(issubclass(w.category, kind) and pattern.search(str(w.message)) for kind, pattern in EMA_IMPORT_NOISE):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _ema_rate(model: Model, runs: int) -> float | None:
    """Runs/s of EMA Workbench's PySD connector with its sequential evaluator, or None if not installed."""
    try:
        with quiet_ema_import():
            from ema_workbench import RealParameter, SequentialEvaluator, TimeSeriesOutcome
            from ema_workbench.connectors.pysd_connector import PysdModel
    except ImportError:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-ema-") as tmp:
        mdl = Path(tmp) / model.path.name
        shutil.copy2(model.path, mdl)  # the connector translates next to the .mdl
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ema = PysdModel("shuangta", mdl_file=str(mdl))
            ema.uncertainties = [RealParameter(f"p{i}", v.lower, v.upper, variable_name=k)
                                 for i, (k, v) in enumerate(model.catalogue.items())]
            ema.outcomes = [TimeSeriesOutcome(f"o{i}", variable_name=[k]) for i, k in enumerate(KEPT[:3])]
            start = time.perf_counter()
            with SequentialEvaluator(ema) as evaluator:
                evaluator.perform_experiments(scenarios=runs)
            return runs / (time.perf_counter() - start)


def _ensemble_rate(model: Model, spec: RunSpec, n: int, repeats: int) -> float:
    cm = model.compiled
    params = {**spec.params, **draws(model, n, seed=2)}
    if n == 1:
        single = {k: (v[0] if isinstance(v, np.ndarray) and v.shape == (1,) else v) for k, v in params.items()}
        cm.run(single, n=1, return_columns=KEPT)  # assemble the generated code once
        loops = 50
        best = min(_timed(lambda: [cm.run(single, n=1, return_columns=KEPT) for _ in range(loops)]) for _ in range(repeats))
        return loops / best

    def sweep():
        for _, chunk in cm.run_chunks(params, n, return_columns=KEPT):
            del chunk

    cm.run({k: (v[:2] if isinstance(v, np.ndarray) and v.shape == (n,) else v) for k, v in params.items()},
           n=2, return_columns=KEPT)
    return n / min(_timed(sweep) for _ in range(repeats))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(model: Model, spec: RunSpec, sizes=(1, 100, 10_000, 100_000), pysd_runs: int = 20,
          ema_runs: int = 10, repeats: int = 2) -> Report:
    """Measure every runner on ``model`` around the run ``spec``; returns the figures."""
    report = Report(str(model.path), len(model.outputs), len(spec.steps))
    report.lines.append(Line("pysd", 1, _pysd_rate(model, spec, pysd_runs), peak_mb()))
    ema = _ema_rate(model, ema_runs) if ema_runs else None
    if ema is not None:
        report.lines.append(Line("ema-workbench", 1, ema, peak_mb()))
    for n in sizes:
        report.lines.append(Line("ensemble", n, _ensemble_rate(model, spec, n, repeats), peak_mb()))
    return report


def format_report(report: Report) -> str:
    rows = [f"model: {report.model} ({report.variables} variables, {report.steps} Euler steps per run)",
            f"{'runner':<16}{'N':>9}{'runs/s':>14}{'ms/run':>11}{'peak MB':>10}"]
    for line in report.lines:
        rows.append(f"{line.runner:<16}{line.n:>9,}{line.runs_per_s:>14,.1f}{1000 / line.runs_per_s:>11.3f}{line.peak_mb:>10.0f}")
    if report.rate("ema-workbench") is None:
        rows.append("ema-workbench: not installed (pip install ema-workbench to include its PySD connector)")
    ratio = report.speed_ratio
    rows.append(f"speed ratio at N=10000: {ratio:,.0f}" if ratio else "speed ratio at N=10000: not measured")
    return "\n".join(rows)
