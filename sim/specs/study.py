"""Sensitivity files: the study a global sensitivity analysis runs.

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

The ``[[factor]]`` tables, validators and messages are the sweep files' (:mod:`sim.specs.sweep`, :mod:`sim.specs.validation`). A checked file is a :class:`Study`;
:mod:`sim.analysis.sensitivity` runs it. This module never prints and never exits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from sim.errors import InputError, ScenarioError
from sim.engine.sampling import Factor
from sim.specs.scenario import SCENARIO_DIR, read_toml_file
from sim.specs.levers import Scenario
# The sweep files' own validators, messages and [[factor]] tables, so that both kinds of file read alike.
from sim.specs.sweep import FactorTable, Sweep, each_factor, factor_problems, factor_rules, to_factor, variable_problem
from sim.specs.sweep import translate_error as sweep_translate
from sim.specs.validation import (MAX_RUNS, Problem, did_you_mean, each_problem_once, identifier, key_parts,
                                  nonempty_text, one_of, random_seed, run_count, scenario_reference, schema_version_of,
                                  show_number, show_value, spec_error, type_problem, validation_problems, variable_name,
                                  whole_year)
from sim.plan.targets import Target, load_targets


SCHEMA_VERSION = 1


#: Where the project's sensitivity files live.
SENSITIVITY_DIR = SCENARIO_DIR / "sensitivity"


#: Analysis methods, each SALib's sampler and estimator of that name.
METHODS = ("sobol", "morris", "fast")


#: What a target metric measures: the target's quantity, or its gap to the threshold.
QUANTITIES = ("value", "gap")


#: Defaults of the analysis settings (SALib's, except that second-order indices are off).
DEFAULTS = {"method": "sobol", "second_order": False, "num_resamples": 100, "conf_level": 0.95, "num_levels": 4,
            "harmonics": 4, "time_resolved": False}


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


def min_sample_size(method: str, harmonics: int) -> int:
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
    least = min_sample_size(method, parsed.harmonics)
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
