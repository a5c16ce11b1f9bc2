"""Global sensitivity analysis: Sobol', Morris and FAST indices of the plan's targets, with SALib.

The study is a sensitivity file (:mod:`sim.specs.study`); its design and indices are
:mod:`sim.analysis.indices`'. The design is evaluated by the sweep machinery (:func:`sim.engine.ensemble.execute_sweep`):
chunks of runs with the compiled ensemble runner, in local processes or on a
dask cluster, committed one file per chunk and resumable; the folder is a
sweep folder (``experiments.parquet``, ``outcomes.parquet``,
``target_values.parquet``, ``summary.csv``, ``manifest.json``) plus::

    indices.csv            metric, factor and the method's indices with confidence half-widths
    indices_by_year.csv    (time-resolved) variable, year, factor and the indices at each saved year
    convergence.csv        per metric and factor: the confidence measure, whether it is above 0.1, the N needed
    oat.csv                one-at-a-time runs: the base, and each factor at its low and high bound
    metric_values.parquet  run_id and each metric's value in each run

and ``extra.sensitivity`` in the manifest (the effective settings, the SALib
problem, warnings). Plots (:func:`sim.present.plots_sensitivity.plot_sensitivity`) read the
folder only.

This module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError, ScenarioError
from sim.engine.results import MANIFEST, atomic_write_bytes, atomic_write_text, finish_manifest
from sim.engine.chunks import ChunkJob, base_params, evaluate_chunk, parquet_bytes
from sim.engine.ensemble import SweepResult, execute_sweep
from sim.engine.executors import check_options, sigterm_as_interrupt
from sim.engine.sweep_folder import (EXPERIMENTS, LOCK, OUTCOMES, TARGET_VALUES, claim_folder, folder_lock,
                                     read_manifest, write_manifest)
# The sweep files' own validators, messages and [[factor]] tables, so that both kinds of file read alike.
from sim.plan.targets import Target, load_targets
from sim.specs.study import Study, load_study, read_sensitivity_file
from sim.analysis.indices import (CONF_THRESHOLD, NEGLIGIBLE, SECOND_ORDER_COLUMNS, compute_indices, convergence,
                                  indices_by_year, metric_values, salib_problem, study_design)

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_OUT",
    "SensitivityResult",
    "SensitivityFolder",
    "run_oat",
    "run_sensitivity",
    "is_sensitivity_folder",
    "read_sensitivity",
    "format_indices",
    "format_warnings",
]

#: Default parent of study folders: ``results/sensitivity/<name>``.
DEFAULT_OUT = Path("results") / "sensitivity"

INDICES = "indices.csv"
INDICES_BY_YEAR = "indices_by_year.csv"
CONVERGENCE = "convergence.csv"
OAT = "oat.csv"
METRIC_VALUES = "metric_values.parquet"


Problem = tuple[str, str, str]


# --------------------------------------------------------------------------
# One-at-a-time runs (for tornado charts)
# --------------------------------------------------------------------------


def _base_values(study: Study, model) -> dict[str, float | None]:
    """Each factor's value in the base: the base scenario's constant, the model default, or None (a series)."""
    out = {}
    for f in study.factors:
        lever = study.base.levers.get(f.name)
        if lever is None:
            out[f.name] = float(model.catalogue[f.name].default)
        else:
            out[f.name] = None if lever.is_series else float(lever.value)
    return out


def run_oat(study: Study, model, targets: Sequence[Target]) -> pd.DataFrame:
    """The base run and each factor at its low and high bound, the others as in the base scenario.

    Rows of ``oat.csv``: ``factor`` (empty for the base run), ``setting``
    (``base``, ``low``, ``high``), ``value`` (the factor's value in the run),
    ``base_value`` (its value in the base; NaN for a time-series lever),
    ``error``, then one column per metric. Runs go through
    :func:`sim.engine.chunks.evaluate_chunk` in this process.
    """
    cm = model.compiled
    steps = cm.step_times(study.final_time, study.time_step)
    base_values = _base_values(study, model)
    variables, years = study.variables, study.years
    model_file = str(Path(model.path).resolve())

    def job(index: int, varied: Sequence[str], factors: dict) -> ChunkJob:
        m = len(next(iter(factors.values()))) if factors else 1
        base = base_params(study.base, varied, steps)
        return ChunkJob(index=index, start=0, stop=m, model_path=model_file, model_sha256=model.sha256, base=base,
                        factors=factors, variables=tuple(variables), years=tuple(years), targets=tuple(targets),
                        final_time=study.final_time, time_step=study.time_step)

    # One job for the base and every factor with a constant base value; one per time-series lever.
    plain = [f for f in study.factors if base_values[f.name] is not None]
    series = [f for f in study.factors if base_values[f.name] is None]
    settings = [("", "base", math.nan)]
    arrays = {f.name: [base_values[f.name]] for f in plain}
    for f in plain:
        for setting, value in (("low", f.lower), ("high", f.upper)):
            settings.append((f.name, setting, value))
            for g in plain:
                arrays[g.name].append(value if g is f else base_values[g.name])
    jobs = [(settings, job(0, [f.name for f in plain], {k: np.asarray(v, dtype=float) for k, v in arrays.items()}))]
    for i, f in enumerate(series, start=1):
        jobs.append(([(f.name, "low", f.lower), (f.name, "high", f.upper)],
                     job(i, [f.name], {f.name: np.array([f.lower, f.upper], dtype=float)})))
    rows = []
    for labels, j in jobs:
        result = evaluate_chunk(j)
        outcomes = {v: result.outcomes[:, k, :] for k, v in enumerate(variables)}
        tvalues = {t.id: result.target_values[:, k] for k, t in enumerate(targets)}
        values = metric_values(study.metrics, years, outcomes, tvalues)
        for r, (factor, setting, value) in enumerate(labels):
            row = {"factor": factor, "setting": setting, "value": value,
                   "base_value": base_values.get(factor, math.nan) if factor else math.nan,
                   "error": result.errors[r]}
            row.update({m.name: float(values[m.name][r]) for m in study.metrics})
            rows.append(row)
    order = {f.name: i for i, f in enumerate(study.factors)}
    rank = {"base": 0, "low": 1, "high": 2}
    rows.sort(key=lambda r: (order.get(r["factor"], -1), rank[r["setting"]]))  # the base, then factors in spec order
    frame = pd.DataFrame(rows, columns=["factor", "setting", "value", "base_value", "error",
                                        *[m.name for m in study.metrics]])
    frame["base_value"] = frame["base_value"].astype(float)
    return frame


# --------------------------------------------------------------------------
# Running a study
# --------------------------------------------------------------------------


@dataclass
class SensitivityResult:
    """What :func:`run_sensitivity` did: the folder, its tables, timings and warnings."""

    name: str
    folder: Path
    method: str
    n: int
    runs: int
    failed: int
    factors: list[str]
    metrics: list[dict]
    indices: pd.DataFrame
    convergence: pd.DataFrame
    oat: pd.DataFrame
    indices_by_year: pd.DataFrame | None
    warnings: list[str]
    seconds: float
    run_seconds: float
    analysis_seconds: float
    evaluated: int = 0
    sweep: SweepResult | None = field(default=None, repr=False)


def _salib_version() -> str | None:
    try:
        return metadata.version("SALib")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return None


def _check_folder(folder: Path, resume: bool) -> None:
    """Refuse, before anything is drawn or written, a folder that holds something else."""
    claim_folder(folder, resume, "sensitivity", "sensitivity study", "study",
                  lambda m: (((m.get("extra") or {}).get("sweep") or {}).get("content") or {}).get("kind")
                  == "sensitivity")


def _read_back(folder: Path, study: Study) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Design, kept outcomes ``(runs, years)`` per variable, target values, and failed runs, from the folder."""
    import pyarrow.parquet as pq

    experiments = pq.read_table(folder / EXPERIMENTS).to_pandas().sort_values("run_id")
    x = experiments[study.factor_names].to_numpy(dtype=float)
    failed = int(experiments["error"].notna().sum())
    runs, years = len(experiments), study.years
    long = pq.read_table(folder / OUTCOMES, columns=["run_id", "year", *study.variables]).to_pandas()
    long = long.sort_values(["run_id", "year"], kind="stable")
    if len(long) != runs * len(years) or list(long["year"].iloc[: len(years)]) != years:
        raise InputError(f"{folder / OUTCOMES}: does not hold every run and year of the study")
    outcomes = {v: long[v].to_numpy(dtype=float).reshape(runs, len(years)) for v in study.variables}
    tv = pq.read_table(folder / TARGET_VALUES).to_pandas().sort_values("run_id")
    targets = {c: tv[c].to_numpy(dtype=float) for c in tv.columns if c != "run_id"}
    return x, outcomes, targets, failed


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def _analyse_folder(folder: Path, study: Study, model, design_notes: list[str]) -> dict:
    """Indices, convergence, time-resolved indices and OAT runs of a folder whose runs are complete; written."""
    import pyarrow as pa

    x, outcomes, targets_q, failed = _read_back(folder, study)
    values = metric_values(study.metrics, study.years, outcomes, targets_q)
    indices, notes = compute_indices(study, x, values)
    conv = convergence(study, indices)
    by_year = None
    if study.time_resolved:
        by_year, more = indices_by_year(study, x, outcomes)
        notes += more
    selected = [t for t in load_targets() if t.id in targets_q]
    oat = run_oat(study, model, selected)
    if study.method == "fast":
        notes.append("FAST: SALib estimates S1_conf/ST_conf by bootstrap, which it calls indicative only")
    table = pa.table({"run_id": np.arange(len(x), dtype=np.int64), **{k: pa.array(v) for k, v in values.items()}})
    atomic_write_bytes(folder / METRIC_VALUES, parquet_bytes(table))
    _write_csv(folder / INDICES, indices)
    _write_csv(folder / CONVERGENCE, conv)
    _write_csv(folder / OAT, oat)
    if by_year is not None:
        _write_csv(folder / INDICES_BY_YEAR, by_year)
    return {"indices": indices, "convergence": conv, "oat": oat, "indices_by_year": by_year,
            "warnings": list(dict.fromkeys(design_notes + notes)), "failed": failed}


def run_sensitivity(
    spec: str | Path,
    out: str | Path | None = None,
    *,
    model_path: str | Path | None = None,
    method: str | None = None,
    n: int | None = None,
    second_order: bool | None = None,
    time_resolved: bool | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] | None = None,
) -> SensitivityResult:
    """Check the sensitivity file ``spec``, draw its design with SALib, run it, analyse it, write the folder.

    ``method``, ``n``, ``second_order`` and ``time_resolved`` override the
    file's values. ``out`` defaults to ``results/sensitivity/<name>``. Runs go
    through :func:`sim.engine.ensemble.execute_sweep` (``workers`` local processes, or a
    dask ``scheduler``; ``resume`` continues an interrupted study, refused if
    the spec, the options that shape the design, the base scenario, the
    model or the program changed). Then SALib's estimators, the convergence
    table and the one-at-a-time runs. Everything is checked before anything
    is written.
    """
    with sigterm_as_interrupt():  # SIGTERM stops the runs and the analysis as Ctrl-C does
        return _run_sensitivity(spec, out, model_path=model_path, method=method, n=n, second_order=second_order,
                                time_resolved=time_resolved, workers=workers, scheduler=scheduler, resume=resume,
                                chunk_size=chunk_size, progress=progress, command=command)


def _run_sensitivity(spec, out, *, model_path, method, n, second_order, time_resolved, workers, scheduler, resume,
                     chunk_size, progress, command) -> SensitivityResult:
    """:func:`run_sensitivity`'s work, with SIGTERM turned into :class:`sim.errors.Interrupted`."""
    from sim.model.loader import DEFAULT_MODEL, load_model

    started = time.perf_counter()
    check_options(workers, scheduler, chunk_size)
    overrides = {"method": method, "n": n, "second_order": second_order, "time_resolved": time_resolved}
    _, problems = read_sensitivity_file(spec, overrides)  # structure first: a malformed file needs no model
    if problems:
        raise ScenarioError(problems)
    model = load_model(model_path or DEFAULT_MODEL)
    study = load_study(spec, model, **overrides)
    folder = Path(out) if out is not None else DEFAULT_OUT / study.name
    _check_folder(folder, resume)
    design, design_notes = study_design(study)
    log.info("%s: %s design, N = %d, %d factors: %d runs", study.name, study.method, study.n, len(study.factors),
             study.runs)
    ran = execute_sweep(study.sweep(design), model, folder, workers=workers, scheduler=scheduler, resume=resume,
                        chunk_size=chunk_size, progress=progress, command=command, started=started)
    run_seconds = time.perf_counter() - started
    phase = time.perf_counter()
    with folder_lock(folder):
        manifest = read_manifest(folder) or {}
        done = (manifest.get("extra") or {}).get("sensitivity") or {}
        files = [INDICES, CONVERGENCE, OAT, METRIC_VALUES] + ([INDICES_BY_YEAR] if study.time_resolved else [])
        if done.get("status") == "complete" and all((folder / f).is_file() for f in files):
            stored = read_sensitivity(folder)
            analysis = {"indices": stored.indices, "convergence": stored.convergence, "oat": stored.oat,
                        "indices_by_year": stored.indices_by_year, "warnings": list(done.get("warnings", [])),
                        "failed": ran.failed}
        else:
            analysis = _analyse_folder(folder, study, model, design_notes)
            problem, unit = salib_problem(study.factors)
            manifest.setdefault("extra", {})["sensitivity"] = {
                "status": "complete",
                "file": str(study.path),
                "method": study.method,
                "n": study.n,
                "runs": study.runs,
                "seed": study.seed,
                "second_order": study.second_order,
                "num_resamples": study.num_resamples,
                "conf_level": study.conf_level,
                "num_levels": study.num_levels,
                "harmonics": study.harmonics,
                "time_resolved": study.time_resolved,
                "time_resolved_variables": study.time_resolved_variables if study.time_resolved else [],
                "factors": [{"name": f.name, "design": f.describe(), "lower": f.lower, "upper": f.upper}
                            for f in study.factors],
                "metrics": [m.to_dict() for m in study.metrics],
                "salib_problem": problem,
                "inverse_cdf_columns": [study.factors[j].name for j in unit],
                "salib_version": _salib_version(),
                "conf_threshold": CONF_THRESHOLD,
                "warnings": analysis["warnings"],
                "files": files,
                "run_seconds": run_seconds,
                "analysis_seconds": time.perf_counter() - phase,
            }
            finish_manifest(manifest, "complete")
            write_manifest(folder, manifest)
    with contextlib.suppress(OSError):
        (folder / LOCK).unlink()
    analysis_seconds = time.perf_counter() - phase
    return SensitivityResult(
        name=study.name, folder=folder, method=study.method, n=study.n, runs=study.runs, failed=analysis["failed"],
        factors=study.factor_names, metrics=[m.to_dict() for m in study.metrics], indices=analysis["indices"],
        convergence=analysis["convergence"], oat=analysis["oat"], indices_by_year=analysis["indices_by_year"],
        warnings=analysis["warnings"], seconds=time.perf_counter() - started, run_seconds=run_seconds,
        analysis_seconds=analysis_seconds, evaluated=ran.evaluated, sweep=ran)


# --------------------------------------------------------------------------
# Reading a study folder
# --------------------------------------------------------------------------


@dataclass
class SensitivityFolder:
    """A complete study folder read back (the runs stay on disk: use :func:`sim.engine.sweep_folder.read_sweep` for them)."""

    path: Path
    name: str
    manifest: dict
    method: str
    n: int
    factors: list[str]
    metrics: list[dict]
    indices: pd.DataFrame
    convergence: pd.DataFrame
    oat: pd.DataFrame
    indices_by_year: pd.DataFrame | None

    @property
    def settings(self) -> dict:
        return self.manifest["extra"]["sensitivity"]

    def main_indices(self) -> pd.DataFrame:
        """One row per metric and factor (second-order rows left out)."""
        if "other_factor" in self.indices.columns:
            return self.indices[self.indices["other_factor"].isna()].drop(columns=list(SECOND_ORDER_COLUMNS))
        return self.indices


def is_sensitivity_folder(folder: str | Path) -> bool:
    """True for a complete study folder written by :func:`run_sensitivity`."""
    folder = Path(folder)
    if not (folder / INDICES).is_file():
        return False
    manifest = read_manifest(folder) or {}
    return isinstance((manifest.get("extra") or {}).get("sensitivity"), dict)


def read_sensitivity(folder: str | Path) -> SensitivityFolder:
    """Read a complete study folder; raise :class:`InputError` naming what is missing."""
    folder = Path(folder)
    missing = [f for f in (MANIFEST, INDICES, CONVERGENCE, OAT) if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{folder}: not a complete sensitivity study folder (missing {', '.join(missing)})")
    manifest = read_manifest(folder)
    settings = ((manifest or {}).get("extra") or {}).get("sensitivity")
    if not isinstance(settings, dict):
        raise InputError(f"{folder / MANIFEST}: not a sensitivity study manifest")
    try:
        indices = pd.read_csv(folder / INDICES)
        conv = pd.read_csv(folder / CONVERGENCE)
        oat = pd.read_csv(folder / OAT, keep_default_na=False, na_values=[""])
        oat["factor"] = oat["factor"].fillna("")
        by_year = pd.read_csv(folder / INDICES_BY_YEAR) if (folder / INDICES_BY_YEAR).is_file() else None
    except Exception as exc:
        raise InputError(f"{folder}: unreadable sensitivity files: {exc}") from None
    content = manifest["extra"].get("sweep", {}).get("content", {})
    return SensitivityFolder(folder, content.get("name", folder.name), manifest, settings["method"], int(settings["n"]),
                             [f["name"] for f in settings["factors"]], list(settings["metrics"]), indices, conv, oat,
                             by_year)


# --------------------------------------------------------------------------
# Text for the command line
# --------------------------------------------------------------------------


def _pm(value: float, conf: float) -> str:
    if not np.isfinite(value):
        return "n.a."
    return f"{value:.3f} ± {conf:.3f}" if np.isfinite(conf) else f"{value:.3f}"


def format_indices(result: SensitivityResult | SensitivityFolder, top: int = 6, negligible: float = NEGLIGIBLE) -> str:
    """Plain text: per metric the ``top`` factors (by ST, or Morris mu*) and those that hardly matter."""
    method = result.method
    indices = result.indices
    if "other_factor" in indices.columns:
        indices = indices[indices["other_factor"].isna()]
    width = min(40, max((len(f) for f in result.factors), default=6))
    blocks = []
    for m in result.metrics:
        rows = indices[indices["metric"] == m["name"]]
        key = "mu_star" if method == "morris" else "ST"
        rows = rows.sort_values(key, ascending=False, na_position="last")
        title = m["description"] if m["description"].startswith(f"{m['name']} ") else f"{m['name']}: {m['description']}"
        if rows[key].isna().all():
            blocks.append(f"{title}\n  no indices (see the warnings)")
            continue
        lines = [title]
        if method == "morris":
            scale = float(rows["mu_star"].max())
            lines.append(f"  {'factor':<{width}}  {'mu*':>20}  {'sigma':>10}  {'mu':>10}")
            for r in rows[rows["mu_star"] > 0].head(top).to_dict("records"):
                lines.append(f"  {r['factor'][:width]:<{width}}  {_g(r['mu_star']) + ' ± ' + _g(r['mu_star_conf']):>20}"
                             f"  {_g(r['sigma']):>10}  {_g(r['mu']):>10}")
            small = rows[rows["mu_star"] < negligible * scale]["factor"].tolist() if scale > 0 else []
            what = f"mu* below {negligible:.0%} of the largest"
        else:
            lines.append(f"  {'factor':<{width}}  {'ST':>15}  {'S1':>15}")
            for r in rows.head(top).to_dict("records"):
                lines.append(f"  {r['factor'][:width]:<{width}}  {_pm(r['ST'], r['ST_conf']):>15}  "
                             f"{_pm(r['S1'], r['S1_conf']):>15}")
            small = rows[rows["ST"] < negligible]["factor"].tolist()
            what = f"ST < {negligible:g}"
        if small:
            lines.append(f"  hardly matter ({what}): " + ", ".join(small))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _g(x: float) -> str:
    if not np.isfinite(x):
        return "n.a."
    size = abs(x)
    return f"{x:,.0f}" if size >= 1000 else f"{x:.3g}" if size >= 1e-3 or size == 0 else f"{x:.2e}"


def format_warnings(result: SensitivityResult | SensitivityFolder, limit: int = 8) -> str:
    """The design and analysis warnings, and the confidence intervals too wide to rely on, with the N needed.

    Intervals above :data:`CONF_THRESHOLD` are listed widest first among the
    factors that matter for the metric (``convergence.csv``'s ``matters``);
    those on factors that hardly matter are counted.
    """
    notes = result.warnings if isinstance(result, SensitivityResult) else result.settings.get("warnings", [])
    lines = [f"  {w}" for w in notes]
    conv = result.convergence
    flagged = conv[conv["flagged"].astype(bool)]
    relevant = flagged[flagged["matters"].astype(bool)].sort_values("measure", ascending=False)
    what = "mu_star_conf / mu_star" if result.method == "morris" else "ST_conf"
    if len(flagged):
        lines.append(f"  {len(flagged)} of {len(conv)} intervals too wide ({what} above {CONF_THRESHOLD:g}): "
                     f"{len(relevant)} on factors that matter, {len(flagged) - len(relevant)} on factors that "
                     "hardly matter (convergence.csv has all)")
    for r in relevant.head(limit).to_dict("records"):
        lines.append(f"    {r['metric']} / {r['factor']}: {r['statistic']} = {r['measure']:.3f} -> N ≈ "
                     f"{int(r['n_needed']):,} ({int(r['runs_needed']):,} runs)")
    if len(relevant) > limit:
        lines.append(f"    ... and {len(relevant) - limit} more")
    if len(relevant):
        worst = relevant.loc[relevant["n_needed"].idxmax()]
        lines.append(f"  N = {int(worst['n_needed']):,} ({int(worst['runs_needed']):,} runs) would bring every interval "
                     f"of a factor that matters below {CONF_THRESHOLD:g}")
    return "\n".join(lines)
