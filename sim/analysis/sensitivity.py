"""Global sensitivity analysis: Sobol', Morris and FAST indices of the plan's targets, with SALib.

A sensitivity file (``scenarios/sensitivity/*.toml``) names a base scenario,
the factors it varies (exactly as a sweep file: ``[[factor]]`` tables with
``bounds`` and a distribution) and the metrics whose variance it apportions::

    schema_version = 1
    name = "plan_targets"
    description = "What decides T1, T3 and T7 under the plan"
    base = "plan"                  # a scenario name or path, resolved as sweep bases
    seed = 20210314
    method = "sobol"               # sobol (default) | morris | fast; `--method` overrides
    n = 1024                       # Sobol' base sample N, Morris trajectories, FAST points per factor; `--n` overrides
    second_order = false           # Sobol' S2 indices (`--second-order`)
    num_resamples = 100            # bootstrap resamples of the confidence intervals
    conf_level = 0.95              # level of the confidence intervals
    num_levels = 4                 # Morris grid levels
    harmonics = 4                  # FAST interference parameter M
    time_resolved = false          # ST of time_resolved_variables at every saved year (`--time-resolved`)
    time_resolved_variables = ["GDP"]   # default: the metrics' variables

    [[factor]]
    name = "Realisation Improvement"
    bounds = [0.5, 2.5]
    distribution = "triangular"
    mode = 1.0

    [[metric]]
    target = "T1"                  # a target's quantity (its 2025 level, or its growth rate) ...
    quantity = "gap"               # ... or its gap to the threshold (positive = better); default "value"

    [[metric]]
    variable = "GDP"               # any model variable at a saved year
    year = 2030

    [[metric]]
    variable = "Retail Sales"      # or its compound annual growth rate over [start, end]
    growth = [2020, 2025]
    name = "retail growth"         # optional label (default e.g. "Retail Sales growth 2020-2025")

The file is checked like a sweep file, in two stages before anything runs or
is written (structure, then meaning against the model), and every problem is
reported as ``(file, key, message)`` in one :class:`sim.errors.ScenarioError`.

Sampling and analysis are SALib's (:mod:`SALib.sample.sobol`,
:mod:`SALib.sample.morris`, :mod:`SALib.sample.fast_sampler`;
:mod:`SALib.analyze.sobol`, ``.morris``, ``.fast``); nothing here estimates
an index by hand. The SALib problem carries ``dists`` where SALib has the
factor's distribution exactly (``unif``; ``triang``; ``truncnorm`` for a
sweep's ``normal``, which is truncated to its bounds). A sweep's
``lognormal`` is truncated to its bounds and SALib's ``lognorm`` is not: that
column is drawn by SALib on ``[0, 1]`` and mapped through the factor's
inverse CDF (:meth:`sim.engine.sampling.Factor.ppf`, as sweeps do), so every factor
means what it means in a sweep file.

The design is evaluated by the sweep machinery (:func:`sim.engine.ensemble.execute_sweep`):
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
problem, warnings). Plots (:func:`sim.present.plots.plot_sensitivity`) read the
folder only.

This module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Callable, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from sim.errors import InputError, ScenarioError
from sim.engine.results import MANIFEST, atomic_write_bytes, atomic_write_text, finish_manifest
from sim.engine.sampling import Factor
from sim.specs.scenario import SCENARIO_DIR, Scenario, read_toml_file
from sim.engine.chunks import ChunkJob, base_params, evaluate_chunk, parquet_bytes
from sim.engine.ensemble import SweepResult, execute_sweep
from sim.engine.executors import check_options, sigterm_as_interrupt
from sim.engine.sweep_folder import (EXPERIMENTS, LOCK, OUTCOMES, TARGET_VALUES, claim_folder, folder_lock, read_manifest,
                                     write_manifest)
# The sweep files' own validators, messages and [[factor]] tables, so that both kinds of file read alike.
from sim.specs.sweep import FactorTable, Sweep, each_factor, factor_problems, factor_rules, to_factor, variable_problem
from sim.specs.sweep import translate_error as sweep_translate
from sim.specs.validation import (MAX_RUNS, did_you_mean, each_problem_once, identifier, key_parts, nonempty_text, one_of, random_seed,
                                  run_count, scenario_reference, schema_version_of, show_number, show_value, spec_error,
                                  type_problem, validation_problems, variable_name, whole_year)
from sim.plan.targets import Target, ensemble_gaps, ensemble_quantities, load_targets

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "SENSITIVITY_DIR",
    "DEFAULT_OUT",
    "METHODS",
    "QUANTITIES",
    "CONF_THRESHOLD",
    "Metric",
    "Study",
    "SensitivityResult",
    "SensitivityFolder",
    "read_sensitivity_file",
    "load_study",
    "salib_problem",
    "study_design",
    "design_runs",
    "metric_values",
    "compute_indices",
    "convergence",
    "run_oat",
    "run_sensitivity",
    "is_sensitivity_folder",
    "read_sensitivity",
    "format_indices",
    "format_warnings",
]

SCHEMA_VERSION = 1
#: Where the project's sensitivity files live.
SENSITIVITY_DIR = SCENARIO_DIR / "sensitivity"
#: Default parent of study folders: ``results/sensitivity/<name>``.
DEFAULT_OUT = Path("results") / "sensitivity"
#: Analysis methods, each SALib's sampler and estimator of that name.
METHODS = ("sobol", "morris", "fast")
#: What a target metric measures: the target's quantity, or its gap to the threshold.
QUANTITIES = ("value", "gap")
#: A confidence half-width (ST_conf; for Morris mu_star_conf / mu_star) above this is flagged.
CONF_THRESHOLD = 0.1
#: Defaults of the analysis settings (SALib's, except that second-order indices are off).
DEFAULTS = {"method": "sobol", "second_order": False, "num_resamples": 100, "conf_level": 0.95, "num_levels": 4,
            "harmonics": 4, "time_resolved": False}
#: A factor "hardly matters" for a metric below this ST (Morris: below this share of the largest mu*).
NEGLIGIBLE = 0.01
#: An output whose range over the design is below this (relative to its size) is constant: no index is defined.
CONSTANT_TOLERANCE = 1e-12

INDICES = "indices.csv"
INDICES_BY_YEAR = "indices_by_year.csv"
CONVERGENCE = "convergence.csv"
OAT = "oat.csv"
METRIC_VALUES = "metric_values.parquet"

#: Index columns of indices.csv by method (after ``metric, factor``).
INDEX_COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "fast": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
}
SECOND_ORDER_COLUMNS = ("other_factor", "S2", "S2_conf")

Problem = tuple[str, str, str]


# --------------------------------------------------------------------------
# Stage 1: structure
# --------------------------------------------------------------------------


_schema_version = schema_version_of("sensitivity", SCHEMA_VERSION)
_method = one_of("method", METHODS)


def _quantity(value: Any) -> str:
    if isinstance(value, str) and value in QUANTITIES:
        return value
    hint = did_you_mean(value, QUANTITIES) if isinstance(value, str) else ""
    raise spec_error("must be one of {allowed} (the target's quantity, or its gap to the threshold); got {got}{hint}",
                  allowed=", ".join(QUANTITIES), got=show_value(value), hint=hint)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise spec_error("must be true or false; got {got}", got=show_value(value))


def _whole(minimum: int, what: str):
    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        raise spec_error("must be a whole number >= {m} ({what}); got {got}", m=minimum, what=what, got=show_value(value))

    return check


def _conf_level(value: Any) -> float:
    if not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value < 1:
        return float(value)
    raise spec_error("must be a number between 0 and 1 (e.g. 0.95 for 95 % intervals); got {got}", got=show_value(value))


def _metric_name(value: Any) -> str:
    if isinstance(value, str) and value.strip() and value == value.strip():
        return value
    raise spec_error("must be a non-empty label without leading or trailing spaces; got {got}", got=show_value(value))


class MetricTable(BaseModel):
    """One ``[[metric]]`` table: a target's quantity or gap, a variable at a year, or a variable's growth."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, PlainValidator(_metric_name)] = None
    target: Annotated[str | None, PlainValidator(nonempty_text)] = None
    quantity: Annotated[str | None, PlainValidator(_quantity)] = None
    variable: Annotated[str | None, PlainValidator(variable_name)] = None
    year: Annotated[int | None, PlainValidator(whole_year)] = None
    growth: list[Annotated[int, PlainValidator(whole_year)]] | None = None


class SensitivityFile(BaseModel):
    """The structure of a sensitivity file (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Annotated[int, PlainValidator(_schema_version)]
    name: Annotated[str, PlainValidator(identifier)]
    description: Annotated[str, PlainValidator(nonempty_text)]
    base: Annotated[str, PlainValidator(scenario_reference)]
    seed: Annotated[int, PlainValidator(random_seed)]
    method: Annotated[str, PlainValidator(_method)] = DEFAULTS["method"]
    n: Annotated[int, PlainValidator(run_count)]
    second_order: Annotated[bool, PlainValidator(_flag)] = DEFAULTS["second_order"]
    num_resamples: Annotated[int, PlainValidator(_whole(2, "bootstrap resamples"))] = DEFAULTS["num_resamples"]
    conf_level: Annotated[float, PlainValidator(_conf_level)] = DEFAULTS["conf_level"]
    num_levels: Annotated[int, PlainValidator(_whole(2, "Morris grid levels"))] = DEFAULTS["num_levels"]
    harmonics: Annotated[int, PlainValidator(_whole(1, "the FAST interference parameter M"))] = DEFAULTS["harmonics"]
    time_resolved: Annotated[bool, PlainValidator(_flag)] = DEFAULTS["time_resolved"]
    time_resolved_variables: list[Annotated[str, PlainValidator(variable_name)]] | None = None
    factor: list[FactorTable]
    metric: list[MetricTable]


_TOP_KEYS = list(SensitivityFile.model_fields)
_METRIC_KEYS = list(MetricTable.model_fields)
_MISSING = {
    "schema_version": f"the sensitivity format version, {SCHEMA_VERSION}",
    "name": "an identifier naming the study and its result folder",
    "description": "a sentence saying what the study asks",
    "base": "the scenario whose levers every run starts from, e.g. \"plan\"",
    "seed": "a whole number, so that the design can be drawn again",
    "n": "the sample size: Sobol' base sample N, Morris trajectories or FAST points per factor",
    "factor": "at least one [[factor]] table",
    "metric": "at least one [[metric]] table",
}


def _metric_label(entry: Any, index: int) -> str:
    """``metric.<name>``: the label given, else one made from the entry (``T1``, ``T1 gap``, ``GDP 2025``)."""
    if isinstance(entry, dict):
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            return f"metric.{name}"
        made = _default_name(entry.get("target"), entry.get("quantity"), entry.get("variable"), entry.get("year"),
                             entry.get("growth"))
        if made:
            return f"metric.{made}"
    return f"metric[{index + 1}]"


def _default_name(target, quantity, variable, year, growth) -> str | None:
    if isinstance(target, str) and target.strip():
        return target if quantity in (None, "value") or not isinstance(quantity, str) else f"{target} {quantity}"
    if isinstance(variable, str) and variable.strip():
        if isinstance(growth, list) and len(growth) == 2 and all(isinstance(g, int) for g in growth):
            return f"{variable} growth {growth[0]}-{growth[1]}"
        if isinstance(year, int) and not isinstance(year, bool):
            return f"{variable} {year}"
        return variable
    return None


def _translate(error: dict, label: str, doc: dict) -> Problem:
    """One pydantic error as ``(file, key, message)``."""
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "factor" and isinstance(loc[1], int):
        return sweep_translate(error, label, doc)  # the same [[factor]] tables as sweep files
    if len(loc) >= 2 and loc[0] == "metric" and isinstance(loc[1], int):
        entries = doc.get("metric") if isinstance(doc, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        parts, rest, section, allowed = [_metric_label(entry, loc[1])], loc[2:], "in [[metric]]", _METRIC_KEYS
    else:
        parts, rest, section, allowed = [], loc, "at the top level", _TOP_KEYS
    parts, item = key_parts(parts, rest)
    key = ".".join(parts)
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        what = _MISSING.get(key, "")
        return (label, key, "required key is missing" + (f" ({what})" if what else ""))
    if kind == "list_type" and key in ("factor", "metric"):
        return (label, key, f"must be an array of tables, written [[{key}]]; got {show_value(value)}")
    return type_problem(error, label, key, item, rest, section, allowed)


def _min_n(method: str, harmonics: int) -> int:
    """Smallest sample size SALib accepts for ``method`` (FAST: N > 4 M^2; bootstraps need 2)."""
    return 4 * harmonics * harmonics + 1 if method == "fast" else 2


def design_runs(method: str, n: int, d: int, second_order: bool = False) -> int:
    """Runs of a design: Sobol' ``N(D+2)`` (``N(2D+2)`` with S2), Morris ``N(D+1)``, FAST ``N D``."""
    if method == "sobol":
        return n * (2 * d + 2 if second_order else d + 2)
    if method == "morris":
        return n * (d + 1)
    if method == "fast":
        return n * d
    raise ValueError(f"unknown method {method!r}")


def _rules(parsed: SensitivityFile, label: str, overridden: set[str]) -> list[Problem]:
    """Rules between keys (stage 1, after the types are right)."""
    problems: list[Problem] = []

    def given(key: str) -> str:
        return " (given on the command line)" if key in overridden else ""

    method, n = parsed.method, parsed.n
    least = _min_n(method, parsed.harmonics)
    if n < least:
        why = (f"FAST needs N > 4 M^2 = {least - 1} with harmonics M = {parsed.harmonics}" if method == "fast"
               else "the bootstrap confidence intervals need at least 2")
        problems.append((label, "n", f"{n} is too small for method {method!r}: {why}{given('n')}"))
    for key, f in each_factor(parsed.factor, label, problems):
        if f.values is not None:
            problems.append((label, f"{key}.values", "values make a grid, which a sensitivity study cannot analyse; "
                             "give bounds = [lower, upper] with a distribution"))
            f = f.model_copy(update={"values": None})
        problems += factor_rules(f, key, label, method)
    if parsed.factor and not problems:
        runs = design_runs(method, n, len(parsed.factor), parsed.second_order)
        if runs > MAX_RUNS:
            problems.append((label, "n", f"the design has {runs:,} runs, more than {MAX_RUNS:,}; use a smaller n"
                             + given("n")))
    if not parsed.metric:
        problems.append((label, "metric", "no metrics; give at least one [[metric]] table"))
    names: dict[str, int] = {}
    for i, m in enumerate(parsed.metric):
        key = _metric_label(m.model_dump(exclude_none=True), i)
        if (m.target is None) == (m.variable is None):
            problems.append((label, key, "give either target = \"T1\" (a target of the plan) or variable = \"GDP\" "
                             "(a model variable), " + ("not both" if m.target is not None else "one of them")))
            continue
        if m.target is not None:
            for k in ("year", "growth"):
                if getattr(m, k) is not None:
                    problems.append((label, f"{key}.{k}", f"{k!r} belongs to variable metrics; a target is evaluated "
                                     "in its own year (use quantity = \"value\" or \"gap\")"))
        else:
            if m.quantity is not None:
                problems.append((label, f"{key}.quantity", "'quantity' belongs to target metrics; a variable metric "
                                 "gives year = 2025 or growth = [2020, 2025]"))
            if (m.year is None) == (m.growth is None):
                problems.append((label, key, "a variable metric needs year = 2025 (its value in that year) or "
                                 "growth = [2020, 2025] (its compound annual growth rate), "
                                 + ("not both" if m.year is not None else "one of them")))
            if m.growth is not None:
                if len(m.growth) != 2:
                    problems.append((label, f"{key}.growth", f"must be [start, end], two years; got {len(m.growth)}"))
                elif m.growth[0] >= m.growth[1]:
                    problems.append((label, f"{key}.growth", f"start {m.growth[0]} must come before end {m.growth[1]}"))
        if key in names:
            problems.append((label, key, f"metric given twice (entries {names[key] + 1} and {i + 1}); give each a "
                             "different name = \"...\""))
        names.setdefault(key, i)
    tv = parsed.time_resolved_variables
    if tv is not None:
        if not tv:
            problems.append((label, "time_resolved_variables", "is empty; leave it out to use the metrics' variables"))
        dupes = sorted({v for v in tv if tv.count(v) > 1})
        if dupes:
            problems.append((label, "time_resolved_variables", f"{', '.join(dupes)} listed more than once"))
    return problems


def read_sensitivity_file(path: str | Path, overrides: dict | None = None
                          ) -> tuple[SensitivityFile | None, list[Problem]]:
    """Read one sensitivity file and check its structure; never raises for a bad file.

    ``overrides`` (``method``, ``n``, ``second_order``, ``time_resolved``; None
    entries ignored) replace the file's values, as the command-line options
    do, before the rules between keys are checked.
    """
    path = Path(path)
    label = str(path)
    doc, problems = read_toml_file(path, label, "sensitivity file", "a sensitivity study needs schema_version, "
                                   "name, description, base, seed, n, [[factor]] and [[metric]]")
    if doc is None:
        return None, problems
    try:
        parsed = SensitivityFile.model_validate(doc)
    except ValidationError as exc:
        return None, problems + validation_problems(exc, label, doc, _translate)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - {"method", "n", "second_order", "time_resolved"})
    if unknown:
        raise InputError(f"cannot override {', '.join(unknown)} of a sensitivity file")
    if "method" in given and given["method"] not in METHODS:
        problems.append((label, "method", f"unknown method {given['method']!r} (given on the command line); "
                         f"allowed: {', '.join(METHODS)}"))
        return None, problems
    if "n" in given and (isinstance(given["n"], bool) or not isinstance(given["n"], int) or given["n"] < 1):
        problems.append((label, "n", f"must be a whole number >= 1; got {given['n']!r} (given on the command line)"))
        return None, problems
    parsed = parsed.model_copy(update=given)
    problems += _rules(parsed, label, set(given))
    return (None if problems else parsed), problems


# --------------------------------------------------------------------------
# Stage 2: meaning; the resolved study
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One quantity whose variance a study apportions.

    ``kind`` is ``target`` (a target's quantity, or with ``quantity = "gap"`` its
    gap, positive when better than the threshold), ``variable`` (a variable
    at ``year``) or ``growth`` (a variable's compound annual growth rate over
    ``growth = (start, end)``, defined as for growth targets).
    """

    name: str
    kind: str
    target: Target | None = None
    quantity: str = "value"
    variable: str | None = None
    year: int | None = None
    growth: tuple[int, int] | None = None

    def variables(self) -> tuple[str, ...]:
        return self.target.variables() if self.target is not None else (self.variable,)

    def years(self) -> tuple[int, ...]:
        if self.target is not None:
            t = self.target
            return (t.base_year, t.year) if t.kind != "level" or t.aggregate else (t.year,)
        return (self.year,) if self.kind == "variable" else tuple(self.growth)

    def describe(self) -> str:
        """``T1 (Above Scale Industrial Output in 2025, >= 165): value`` and similar."""
        if self.target is not None:
            t = self.target
            if t.kind == "level":
                what = f"{t.variable} in {t.year}" if not t.aggregate else f"{t.aggregate} of {t.variable}"
            else:
                what = f"growth of {t.variable} {t.base_year}-{t.year}"
                if t.kind == "growth_vs":
                    what += f" minus that of {t.other_variable}"
            return f"{t.id} ({what}, {t.comparison} {show_number(t.threshold)}): {self.quantity}"
        if self.kind == "variable":
            return f"{self.variable} in {self.year}"
        return f"growth of {self.variable} {self.growth[0]}-{self.growth[1]} (per year)"

    def to_dict(self) -> dict:
        """What plots and readers need: definition, and for targets the threshold and comparison."""
        out = {"name": self.name, "kind": self.kind, "quantity": self.quantity, "variable": self.variable,
               "year": self.year, "growth": list(self.growth) if self.growth else None, "description": self.describe()}
        if self.target is not None:
            t = self.target
            out.update(target=t.id, variable=t.variable, year=t.year, target_kind=t.kind, comparison=t.comparison,
                       threshold=t.threshold, target_description=t.description)
        return out


@dataclass
class Study:
    """A checked sensitivity study: base scenario, factors, metrics and the effective analysis settings."""

    name: str
    description: str
    path: Path
    base: Scenario
    method: str
    seed: int
    n: int
    factors: list[Factor]
    metrics: list[Metric]
    second_order: bool
    num_resamples: int
    conf_level: float
    num_levels: int
    harmonics: int
    time_resolved: bool
    time_resolved_variables: list[str]
    content: dict
    final_time: float  # the last year a metric needs; the base scenario's final time when time-resolved
    time_step: float | None
    saved_years: list[int]  # every saved year of the base scenario's run

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def runs(self) -> int:
        return design_runs(self.method, self.n, len(self.factors), self.second_order)

    @property
    def variables(self) -> list[str]:
        """Variables kept in ``outcomes.parquet``: the metrics', then the time-resolved ones."""
        names = [v for m in self.metrics for v in m.variables()]
        if self.time_resolved:
            names += self.time_resolved_variables
        return list(dict.fromkeys(names))

    @property
    def years(self) -> list[int]:
        """Years kept: the metrics' years (every saved year when time-resolved)."""
        years = {y for m in self.metrics for y in m.years()}
        if self.time_resolved:
            years |= set(self.saved_years)
        return sorted(years)

    def problem(self) -> dict:
        """The SALib problem of the factors (see :func:`salib_problem`)."""
        return salib_problem(self.factors)[0]

    def sweep(self, design: np.ndarray) -> Sweep:
        """The sweep that evaluates ``design`` (rows of factor values) with the sweep machinery."""
        return Sweep(name=self.name, description=self.description, path=self.path, base=self.base, method=self.method,
                     seed=self.seed, n=self.n, factors=list(self.factors), variables=self.variables,
                     years=self.years, content=self.content, final_time=self.final_time, time_step=self.time_step,
                     design=np.asarray(design, dtype=float))


def _saved_years(model, start: float, final: float) -> list[int]:
    saveper = float(model.settings.get("saveper") or 1.0)
    count = int(math.floor((final - start) / saveper + 1e-9)) + 1
    times = [start + k * saveper for k in range(count)]
    return [int(round(t)) for t in times if abs(t - round(t)) < 1e-9]


def _metric_problems(parsed: SensitivityFile, label: str, model, base: Scenario | None, targets: dict[str, Target]
                     ) -> tuple[list[Metric], list[Problem]]:
    problems: list[Problem] = []
    metrics: list[Metric] = []
    start = float(model.settings["initial_time"])
    final = float(base.run.final_time) if base is not None and base.run.final_time else float(model.settings["final_time"])
    saved = set(_saved_years(model, start, final))
    why = " (the base scenario's final_time)" if base is not None and base.run.final_time else ""

    def year_problem(y: int) -> str | None:
        if not start <= y <= final:
            return f"year {y} lies outside the run {show_number(start)}-{show_number(final)}{why}"
        if y not in saved:
            return f"year {y} is not a saved year of the run"
        return None

    for i, m in enumerate(parsed.metric):
        key = _metric_label(m.model_dump(exclude_none=True), i)
        name = m.name or _default_name(m.target, m.quantity, m.variable, m.year, m.growth)
        if m.target is not None:
            t = targets.get(m.target)
            if t is None:
                problems.append((label, f"{key}.target", f"unknown target {m.target!r}" + did_you_mean(m.target, list(targets))
                                 + " (`shuangta targets` lists them)"))
                continue
            if not t.evaluable or not t.variable:
                problems.append((label, f"{key}.target", f"target {t.id} cannot be evaluated by the model: {t.reason}"))
                continue
            bad = [p for v in t.variables() if (p := variable_problem(v, model))]
            if bad:
                problems.append((label, f"{key}.target", f"target {t.id} reads a variable the model lacks: {bad[0]}"))
                continue
            if t.year > final:
                problems.append((label, f"{key}.target", f"target {t.id} is judged in {t.year}, after the run ends "
                                 f"({show_number(final)}{why})"))
                continue
            metrics.append(Metric(name=name, kind="target", target=t, quantity=m.quantity or "value"))
            continue
        problem = variable_problem(m.variable, model)
        if problem:
            problems.append((label, f"{key}.variable", problem))
        years = [m.year] if m.year is not None else list(m.growth)
        what = "year" if m.year is not None else "growth"
        for y in years:
            if (p := year_problem(y)) is not None:
                problems.append((label, f"{key}.{what}", p))
        if not problem and not any(year_problem(y) for y in years):
            if m.year is not None:
                metrics.append(Metric(name=name, kind="variable", variable=m.variable, year=m.year))
            else:
                metrics.append(Metric(name=name, kind="growth", variable=m.variable, growth=(m.growth[0], m.growth[1])))
    for v in parsed.time_resolved_variables or ():
        if (problem := variable_problem(v, model)) is not None:
            problems.append((label, "time_resolved_variables", problem))
    return metrics, problems


def load_study(path: str | Path, model, *, method: str | None = None, n: int | None = None,
               second_order: bool | None = None, time_resolved: bool | None = None,
               search_dirs: Sequence[str | Path] | None = None) -> Study:
    """Read a sensitivity file, check it against ``model``, apply the overrides; return the :class:`Study`.

    ``base`` is looked up as for sweep files: ``<base>.toml`` next to the file,
    then in ``search_dirs`` (default: the project's ``scenarios/``). Raises
    :class:`ScenarioError` listing every problem.
    """
    path = Path(path)
    dirs = [Path(d) for d in (search_dirs if search_dirs is not None else [SCENARIO_DIR])]
    overrides = {"method": method, "n": n, "second_order": second_order, "time_resolved": time_resolved}
    parsed, problems = read_sensitivity_file(path, overrides)
    if parsed is None:
        raise ScenarioError(problems)
    label = str(path)
    base, _, problems = factor_problems(parsed.base, parsed.factor, path, model, dirs)  # exactly as for sweeps
    metrics, more = _metric_problems(parsed, label, model, base, {t.id: t for t in load_targets()})
    problems += more
    if problems:
        raise ScenarioError(each_problem_once(problems))
    start = float(model.settings["initial_time"])
    final = float(base.run.final_time) if base.run.final_time else float(model.settings["final_time"])
    saved = _saved_years(model, start, final)
    if not parsed.time_resolved:  # runs stop at the last year a metric needs (as sim.analysis.reach does)
        final = float(max(y for m in metrics for y in m.years()))
    content = {"kind": "sensitivity", **parsed.model_dump(mode="json", exclude_none=True)}
    tv = list(parsed.time_resolved_variables or [])
    if not tv:
        tv = list(dict.fromkeys(v for m in metrics for v in m.variables()))
    return Study(
        name=parsed.name, description=parsed.description, path=path, base=base, method=parsed.method,
        seed=parsed.seed, n=parsed.n, factors=[to_factor(f) for f in parsed.factor], metrics=metrics,
        second_order=parsed.second_order, num_resamples=parsed.num_resamples, conf_level=parsed.conf_level,
        num_levels=parsed.num_levels, harmonics=parsed.harmonics, time_resolved=parsed.time_resolved,
        time_resolved_variables=tv, content=content, final_time=final,
        time_step=float(base.run.time_step) if base.run.time_step else None,
        saved_years=saved,
    )


# --------------------------------------------------------------------------
# Design (SALib samplers)
# --------------------------------------------------------------------------


def salib_problem(factors: Sequence[Factor]) -> tuple[dict, list[int]]:
    """The SALib problem dict of ``factors`` (``names``, ``num_vars``, ``bounds``, ``dists``) and the unit columns.

    ``uniform`` -> ``unif [lower, upper]``; ``triangular`` -> ``triang [lower,
    upper, (mode - lower) / (upper - lower)]``; ``normal`` (truncated to the
    bounds) -> ``truncnorm [lower, upper, mean, sd]``. SALib has no truncated
    lognormal (and its ``triang`` needs the peak below the upper bound):
    such a column is ``unif [0, 1]`` in the problem and is listed in the second
    value, to be mapped through :meth:`Factor.ppf` after sampling.
    """
    bounds, dists, unit = [], [], []
    for j, f in enumerate(factors):
        lo, hi, p = float(f.lower), float(f.upper), f.params
        if f.distribution == "uniform":
            dists.append("unif")
            bounds.append([lo, hi])
        elif f.distribution == "normal":
            dists.append("truncnorm")
            bounds.append([lo, hi, float(p["mean"]), float(p["sd"])])
        elif f.distribution == "triangular" and float(p["mode"]) < hi:
            dists.append("triang")
            bounds.append([lo, hi, (float(p["mode"]) - lo) / (hi - lo)])
        else:
            dists.append("unif")
            bounds.append([0.0, 1.0])
            unit.append(j)
    problem = {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": bounds, "dists": dists}
    return problem, unit


@contextlib.contextmanager
def _collect_warnings(notes: list[str], where: str):
    """Turn warnings raised inside (by SALib, scipy, numpy) into ``notes``; deprecations only go to the log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = " ".join(str(w.message).split())
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            log.debug("%s: %s: %s", where, w.category.__name__, text)
            continue
        note = f"{where}: {text}"
        if note not in notes:
            notes.append(note)


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def study_design(study: Study) -> tuple[np.ndarray, list[str]]:
    """The design of ``study`` drawn by SALib's sampler: ``(rows x factors, notes)``.

    Columns SALib cannot draw in the factor's distribution are mapped through
    :meth:`Factor.ppf`; every column is kept inside the factor's bounds. Notes
    hold SALib's (and scipy's) warnings, and for Sobol' a warning when N is
    not a power of 2 (the sequence then loses its balance properties); no
    sample size is refused.
    """
    from SALib.sample import fast_sampler
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem, unit = salib_problem(study.factors)
    notes: list[str] = []
    where = {"sobol": "SALib.sample.sobol (scipy.stats.qmc.Sobol)", "morris": "SALib.sample.morris",
             "fast": "SALib.sample.fast_sampler"}
    with _collect_warnings(notes, where[study.method]):
        if study.method == "sobol":
            x = sobol_sample.sample(problem, study.n, calc_second_order=study.second_order, scramble=True,
                                    seed=study.seed)
        elif study.method == "morris":
            x = morris_sample.sample(problem, study.n, num_levels=study.num_levels, seed=study.seed)
        else:
            x = fast_sampler.sample(problem, study.n, M=study.harmonics, seed=study.seed)
    x = np.array(x, dtype=float)
    for j in unit:
        x[:, j] = study.factors[j].ppf(x[:, j])
    for j, f in enumerate(study.factors):
        x[:, j] = np.clip(x[:, j], f.lower, f.upper)
    if study.method == "sobol" and not _is_power_of_two(study.n):
        balance = [n for n in notes if "power of 2" in n or "balance" in n]
        if not balance:  # SALib 1.6 itself does not check; scipy's qmc usually warns through it
            m = study.n.bit_length()
            notes.append(f"N = {study.n} is not a power of 2: the Sobol' sequence loses its balance properties "
                         f"(nearest: {2 ** (m - 1)} or {2 ** m})")
        else:
            m = study.n.bit_length()
            notes.append(f"N = {study.n} is not a power of 2 (nearest: {2 ** (m - 1)} or {2 ** m}); the indices are "
                         "computed all the same")
    if study.second_order and study.method != "sobol":
        notes.append(f"second_order applies to method 'sobol' only; ignored by {study.method!r}")
    if len(x) != study.runs:
        raise InputError(f"SALib drew {len(x)} rows, expected {study.runs}")
    return x, notes


# --------------------------------------------------------------------------
# Metric values and indices (SALib estimators)
# --------------------------------------------------------------------------


def metric_values(metrics: Sequence[Metric], years: Sequence[int], outcomes: dict[str, np.ndarray],
                  target_values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each metric's value per run, NaN where undefined.

    ``outcomes`` maps a kept variable to ``(runs, len(years))``;
    ``target_values`` a target id to ``(runs,)`` (``target_values.parquet``).
    Gaps and growth rates are those of :mod:`sim.plan.targets`.
    """
    years_f = np.asarray(years, dtype=float)
    out: dict[str, np.ndarray] = {}
    for m in metrics:
        if m.kind == "target":
            q = np.asarray(target_values[m.target.id], dtype=float)
            out[m.name] = ensemble_gaps(m.target, q)[1] if m.quantity == "gap" else q
        elif m.kind == "variable":
            out[m.name] = np.asarray(outcomes[m.variable][:, list(years).index(m.year)], dtype=float)
        else:
            start, end = m.growth
            rate = Target(id=m.name, description="", description_zh="", section="", variable=m.variable, year=end,
                          kind="growth", comparison=">=", threshold=0.0, arithmetic="", evaluable=True,
                          base_year=start)
            out[m.name] = ensemble_quantities([rate], years_f, {m.variable: outcomes[m.variable]})[m.name]
    return out


def _defined(y: np.ndarray) -> str | None:
    """Why no index can be computed from ``y``, or None."""
    bad = ~np.isfinite(y)
    if bad.any():
        return (f"{int(bad.sum())} of {len(y)} runs have no value (failed runs or undefined growth); "
                "SALib's estimators need every run of the design")
    if len(y) and np.ptp(y) <= CONSTANT_TOLERANCE * max(1.0, float(np.max(np.abs(y)))):
        return "the output is the same in every run: no factor moves it, and its variance cannot be apportioned"
    return None


def _analyse(study: Study, problem: dict, x: np.ndarray, y: np.ndarray, notes: list[str], where: str,
             second_order: bool) -> dict[str, np.ndarray] | None:
    """SALib's analysis of one output; None (with a note) when undefined."""
    from SALib.analyze import fast as fast_analyze
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    reason = _defined(y)
    if reason is not None and not (study.method == "morris" and reason.startswith("the output is the same")):
        notes.append(f"{where}: {reason}")
        return None
    with _collect_warnings(notes, f"{where}: SALib.analyze.{study.method}"):
        if study.method == "sobol":
            si = sobol_analyze.analyze(problem, y, calc_second_order=study.second_order,
                                       num_resamples=study.num_resamples, conf_level=study.conf_level,
                                       seed=np.random.default_rng(study.seed))
        elif study.method == "morris":
            si = morris_analyze.analyze(problem, x, y, num_resamples=study.num_resamples,
                                        conf_level=study.conf_level, num_levels=study.num_levels,
                                        seed=np.random.default_rng(study.seed))
        else:
            # SALib's FAST reseeds numpy's global generator: seed it here and restore it afterwards.
            state = np.random.get_state()
            try:
                np.random.seed(study.seed % 2**32)
                si = fast_analyze.analyze(problem, y, M=study.harmonics, num_resamples=study.num_resamples,
                                          conf_level=study.conf_level, seed=None)
            finally:
                np.random.set_state(state)
    out = {k: np.asarray(si[k], dtype=float) for k in INDEX_COLUMNS[study.method]}
    if second_order and study.method == "sobol" and study.second_order:
        out["S2"], out["S2_conf"] = np.asarray(si["S2"], dtype=float), np.asarray(si["S2_conf"], dtype=float)
    return out


def compute_indices(study: Study, x: np.ndarray, values: dict[str, np.ndarray]) -> tuple[pd.DataFrame, list[str]]:
    """The indices of every metric (rows of ``indices.csv``) and notes.

    Columns: ``metric, factor`` and for Sobol'/FAST ``S1, S1_conf, ST,
    ST_conf`` (``*_conf``: half-width of the ``conf_level`` bootstrap
    interval), for Morris ``mu, mu_star, mu_star_conf, sigma``. With Sobol'
    second order, rows for each pair follow with ``other_factor, S2, S2_conf``.
    A metric whose indices are undefined (a run without value, or the same
    value in every run) gets NaN rows and a note.
    """
    problem = study.problem()
    names = study.factor_names
    columns = ["metric", "factor", *INDEX_COLUMNS[study.method]]
    if study.method == "sobol" and study.second_order:
        columns += list(SECOND_ORDER_COLUMNS)
    rows, notes = [], []
    for m in study.metrics:
        si = _analyse(study, problem, x, values[m.name], notes, m.name, second_order=True)
        for j, f in enumerate(names):
            row = {"metric": m.name, "factor": f}
            row.update({k: (float(si[k][j]) if si is not None else math.nan) for k in INDEX_COLUMNS[study.method]})
            rows.append(row)
        if study.method == "sobol" and study.second_order:
            for j in range(len(names)):
                for k in range(j + 1, len(names)):
                    rows.append({"metric": m.name, "factor": names[j], "other_factor": names[k],
                                 "S2": float(si["S2"][j, k]) if si is not None else math.nan,
                                 "S2_conf": float(si["S2_conf"][j, k]) if si is not None else math.nan})
    return pd.DataFrame(rows, columns=columns), notes


def _indices_by_year(study: Study, x: np.ndarray, outcomes: dict[str, np.ndarray]) -> tuple[pd.DataFrame, list[str]]:
    """Indices of each time-resolved variable at each saved year (no S2)."""
    problem = study.problem()
    rows, notes = [], []
    years = study.years
    for v in study.time_resolved_variables:
        for i, year in enumerate(years):
            if year not in study.saved_years:
                continue
            si = _analyse(study, problem, x, outcomes[v][:, i], notes, f"{v} {year}", second_order=False)
            for j, f in enumerate(study.factor_names):
                row = {"variable": v, "year": year, "factor": f}
                row.update({k: (float(si[k][j]) if si is not None else math.nan) for k in INDEX_COLUMNS[study.method]})
                rows.append(row)
    return pd.DataFrame(rows, columns=["variable", "year", "factor", *INDEX_COLUMNS[study.method]]), notes


def convergence(study: Study, indices: pd.DataFrame, threshold: float = CONF_THRESHOLD) -> pd.DataFrame:
    """Per metric and factor: is the confidence interval narrow enough, and what N would make it so.

    The measure is ``ST_conf`` (Sobol', FAST) or ``mu_star_conf / mu_star``
    (Morris; undefined when ``mu_star`` is 0). A half-width scales as
    ``1/sqrt(N)``, so ``n_needed = ceil(n * (measure / threshold)^2)`` (for
    Sobol' the next power of 2), ``runs_needed`` the design's runs at that N.
    ``matters`` tells whether the factor matters for the metric at all (ST at
    least :data:`NEGLIGIBLE`; Morris: mu* at least that share of the metric's
    largest mu*): a wide interval on a factor that hardly matters changes no
    conclusion.
    """
    main = indices[indices["other_factor"].isna()] if "other_factor" in indices.columns else indices
    d = len(study.factors)
    rows = []
    for r in main.to_dict("records"):
        if study.method == "morris":
            statistic, value, conf = "mu_star_conf/mu_star", r["mu_star"], r["mu_star_conf"]
            measure = conf / value if np.isfinite(value) and value > 0 else math.nan
        else:
            statistic, value, conf = "ST_conf", r["ST"], r["ST_conf"]
            measure = conf
        flagged = bool(np.isfinite(measure) and measure > threshold)
        if study.method == "morris":
            largest = float(np.nanmax(main.loc[main["metric"] == r["metric"], "mu_star"].to_numpy(dtype=float),
                                      initial=0.0))
            matters = bool(np.isfinite(value) and largest > 0 and value >= NEGLIGIBLE * largest)
        else:
            matters = bool(np.isfinite(value) and value >= NEGLIGIBLE)
        needed = study.n
        if flagged:
            needed = math.ceil(study.n * (measure / threshold) ** 2)
            if study.method == "sobol":
                needed = 1 << (needed - 1).bit_length()
            elif study.method == "fast":
                needed = max(needed, _min_n("fast", study.harmonics))
        rows.append({"metric": r["metric"], "factor": r["factor"], "statistic": statistic,
                     "index": value, "conf": conf, "measure": measure, "threshold": threshold, "flagged": flagged,
                     "matters": matters, "n": study.n, "n_needed": needed,
                     "runs_needed": design_runs(study.method, needed, d, study.second_order)})
    return pd.DataFrame(rows, columns=["metric", "factor", "statistic", "index", "conf", "measure", "threshold",
                                       "flagged", "matters", "n", "n_needed", "runs_needed"])


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
        by_year, more = _indices_by_year(study, x, outcomes)
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
