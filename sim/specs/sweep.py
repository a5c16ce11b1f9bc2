"""Sweep files: many runs of the model over sampled or gridded levers and uncertain parameters.

A sweep file (``scenarios/sweeps/*.toml``) names a base scenario, the
factors it varies and what to keep::

    schema_version = 1
    name = "plan_uncertainty"
    description = "The plan's levers and the uncertain parameters around them"
    base = "plan"                  # a scenario name or path, resolved as scenario bases
    seed = 20210101
    method = "lhs"                 # grid | lhs | sobol-sequence | monte-carlo
    n = 100000                     # runs (not for grid)

    [[factor]]
    name = "Realisation Improvement"          # a LEVER or UNCERTAIN constant of the model
    bounds = [0.8, 1.6]
    distribution = "triangular"               # uniform (default) | normal | triangular | lognormal
    mode = 1.1

    [[factor]]
    name = "Capital Elasticity"
    bounds = [0.3, 0.5]
    distribution = "normal"
    mean = 0.4
    sd = 0.05                                 # truncated to the bounds

    [outputs]
    variables = ["GDP", "Above Scale Industrial Output"]
    years = [2020, 2025, 2030]

A grid sweep gives ``values = [...]`` for every factor instead of bounds and
runs every combination. Distribution parameters: ``normal`` needs ``mean``
and ``sd``; ``triangular`` needs ``mode``; ``lognormal`` needs ``median``
and ``sigma`` (the standard deviation of ``ln x``); all are truncated to
the bounds (see :mod:`sim.engine.sampling`).

The file is checked in two stages before anything runs, like a scenario:
structure (pydantic, unknown keys forbidden, then rules between keys), then
meaning against the model (the base scenario loads, each factor is a lever or
uncertain parameter, bounds and values lie in its ``[min,max]`` range, output
variables exist, years lie in the run). Problems are ``(file, key, message)``
and are raised together as one :class:`sim.errors.ScenarioError`. The
validators and messages are :mod:`sim.specs.validation`'s, shared with
scenario and sensitivity files; the ``[[factor]]`` tables are shared with
sensitivity files (:func:`factor_rules`, :func:`factor_problems`).

A checked file is a :class:`Sweep`; :mod:`sim.engine.ensemble` runs it. This
module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterator, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from sim.engine.results import content_sha256
from sim.engine.sampling import DISTRIBUTION_PARAMETERS, DISTRIBUTIONS, METHODS, SAMPLED_METHODS, Factor, design
from sim.errors import ScenarioError
from sim.specs.scenario import SCENARIO_DIR, lever_problems, load_scenario, read_toml_file
from sim.specs.levers import LeverValue, Scenario
from sim.specs.validation import (MAX_RUNS, Number, Problem, did_you_mean, each_problem_once, identifier, key_parts,
                                  nonempty_text, one_of, random_seed, run_count, scenario_reference, schema_version_of,
                                  show_number, show_value, type_problem, validation_problems, variable_name, whole_year)

SCHEMA_VERSION = 1


#: Where the project's sweep files live.
SWEEP_DIR = SCENARIO_DIR / "sweeps"


_schema_version = schema_version_of("sweep", SCHEMA_VERSION)


_method = one_of("method", METHODS)


_distribution = one_of("distribution", DISTRIBUTIONS)


class FactorTable(BaseModel):
    """One ``[[factor]]`` table: a model constant to vary, by ``values`` (grid) or ``bounds`` (sampled)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, PlainValidator(nonempty_text)]
    values: list[Number] | None = None
    bounds: list[Number] | None = None
    distribution: Annotated[str | None, PlainValidator(_distribution)] = None
    mean: Number | None = None
    sd: Number | None = None
    mode: Number | None = None
    median: Number | None = None
    sigma: Number | None = None


class OutputsTable(BaseModel):
    """``[outputs]``: the model variables and the years kept in ``outcomes.parquet``."""

    model_config = ConfigDict(extra="forbid")

    variables: list[Annotated[str, PlainValidator(variable_name)]]
    years: list[Annotated[int, PlainValidator(whole_year)]]


class SweepFile(BaseModel):
    """The structure of a sweep file (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Annotated[int, PlainValidator(_schema_version)]
    name: Annotated[str, PlainValidator(identifier)]
    description: Annotated[str, PlainValidator(nonempty_text)]
    base: Annotated[str, PlainValidator(scenario_reference)]
    seed: Annotated[int | None, PlainValidator(random_seed)] = None
    method: Annotated[str, PlainValidator(_method)]
    n: Annotated[int | None, PlainValidator(run_count)] = None
    factor: list[FactorTable]
    outputs: OutputsTable


_TOP_KEYS = list(SweepFile.model_fields)


_FACTOR_KEYS = list(FactorTable.model_fields)


_OUTPUT_KEYS = list(OutputsTable.model_fields)


_PARAMS = ("mean", "sd", "mode", "median", "sigma")


_MISSING = {
    "schema_version": f"the sweep format version, {SCHEMA_VERSION}",
    "name": "an identifier naming the sweep and its result folder",
    "description": "a sentence saying what the sweep explores",
    "base": "the scenario whose levers every run starts from, e.g. \"plan\"",
    "method": "one of " + ", ".join(METHODS),
    "factor": "at least one [[factor]] table",
    "outputs": "an [outputs] table with variables and years",
    "outputs.variables": "the model variables to keep",
    "outputs.years": "the years to keep",
    "name_of_factor": "the model constant to vary",
}


def _factor_label(doc: Any, index: int) -> str:
    """``factor.<name>`` when the entry has a string name, else ``factor[<1-based index>]``."""
    entries = doc.get("factor") if isinstance(doc, dict) else None
    entry = entries[index] if isinstance(entries, list) and 0 <= index < len(entries) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"factor.{name}" if isinstance(name, str) and name.strip() else f"factor[{index + 1}]"


def translate_error(error: dict, label: str, doc: dict) -> Problem:
    """One pydantic error as ``(file, key, message)``."""
    loc = list(error["loc"])
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "factor" and isinstance(loc[1], int):
        parts.append(_factor_label(doc, loc[1]))
        rest = loc[2:]
        section = "in [[factor]]"
        allowed = _FACTOR_KEYS
    else:
        rest = loc
        section = "in [outputs]" if loc[:1] == ["outputs"] else "at the top level"
        allowed = _OUTPUT_KEYS if loc[:1] == ["outputs"] else _TOP_KEYS
    parts, item = key_parts(parts, rest)
    key = ".".join(parts)
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        what = _MISSING.get(key) or _MISSING.get(parts[-1] if parts else "", "")
        if key.endswith(".name") and key.startswith("factor["):
            what = _MISSING["name_of_factor"]
        return (label, key, "required key is missing" + (f" ({what})" if what else ""))
    if kind == "list_type" and key == "factor":
        return (label, key, f"must be an array of tables, written [[factor]]; got {show_value(value)}")
    if kind in ("model_type", "model_attributes_type", "dict_type") and key == "outputs":
        return (label, key, f"must be a table [outputs] with variables and years; got {show_value(value)}")
    return type_problem(error, label, key, item, rest, section, allowed)


def _read_toml(path: Path, label: str) -> tuple[dict | None, list[Problem]]:
    """A sweep file's TOML document, or its one problem (:func:`sim.specs.scenario.read_toml_file`)."""
    return read_toml_file(path, label, "sweep file",
                          "a sweep needs schema_version, name, description, base, method, [[factor]] and [outputs]")


def factor_rules(f: FactorTable, key: str, label: str, method: str) -> list[Problem]:
    """Rules between the keys of one factor."""
    problems: list[Problem] = []
    given = [p for p in _PARAMS if getattr(f, p) is not None]
    if method == "grid":
        if f.values is None:
            problems.append((label, key, "method 'grid' needs values = [...] for every factor"))
        for k in ("bounds", "distribution", *given):
            if getattr(f, k) is not None:
                problems.append((label, f"{key}.{k}", f"{k!r} belongs to sampled methods ({', '.join(SAMPLED_METHODS)}); "
                                 "a grid factor has values only"))
    else:
        if f.values is not None:
            problems.append((label, f"{key}.values", f"values make a grid; method {method!r} samples "
                             "bounds = [lower, upper] with a distribution (or use method = \"grid\")"))
        if f.bounds is None:
            problems.append((label, key, f"method {method!r} needs bounds = [lower, upper] for every factor"))
    if f.values is not None:
        if not f.values:
            problems.append((label, f"{key}.values", "is empty; give at least one value"))
        dupes = sorted({v for v in f.values if f.values.count(v) > 1})
        if dupes:
            problems.append((label, f"{key}.values", f"{', '.join(show_number(v) for v in dupes)} listed more than once"))
    if f.bounds is None:
        if f.distribution is not None and method != "grid":
            problems.append((label, f"{key}.distribution", "a distribution needs bounds = [lower, upper]"))
        return problems
    if len(f.bounds) != 2:
        problems.append((label, f"{key}.bounds", f"must be [lower, upper], two numbers; got {len(f.bounds)}"))
        return problems
    lo, hi = f.bounds
    if lo > hi:
        problems.append((label, f"{key}.bounds", f"lower {show_number(lo)} is greater than upper {show_number(hi)}; write [lower, upper]"))
        return problems
    if lo == hi:
        problems.append((label, f"{key}.bounds", f"lower equals upper ({show_number(lo)}): nothing to vary; "
                         "set the value in the base scenario instead"))
        return problems
    dist = f.distribution or "uniform"
    needed = DISTRIBUTION_PARAMETERS[dist]
    for p in needed:
        if getattr(f, p) is None:
            problems.append((label, f"{key}.{p}", f"distribution {dist!r} needs {' and '.join(needed)}; {p} is missing"))
    for p in given:
        if p not in needed:
            owner = next(d for d, ps in DISTRIBUTION_PARAMETERS.items() if p in ps)
            takes = f"takes {' and '.join(needed)}" if needed else "takes no parameters"
            default = " (the default)" if f.distribution is None else ""
            problems.append((label, f"{key}.{p}", f"{p!r} belongs to distribution {owner!r}; {dist!r}{default} {takes}"))
    if problems:
        return problems

    def inside(p: str) -> None:
        x = getattr(f, p)
        if not lo <= x <= hi:
            problems.append((label, f"{key}.{p}", f"{p} {show_number(x)} lies outside the bounds [{show_number(lo)}, {show_number(hi)}]"))

    if dist == "normal":
        if f.sd <= 0:
            problems.append((label, f"{key}.sd", f"must be > 0; got {show_number(f.sd)}"))
        inside("mean")
    elif dist == "triangular":
        inside("mode")
    elif dist == "lognormal":
        if f.sigma <= 0:
            problems.append((label, f"{key}.sigma", f"must be > 0 (the standard deviation of ln x); got {show_number(f.sigma)}"))
        if lo < 0:
            problems.append((label, f"{key}.bounds", f"a lognormal factor cannot be negative; lower is {show_number(lo)}"))
        if f.median <= 0:
            problems.append((label, f"{key}.median", f"must be > 0; got {show_number(f.median)}"))
        else:
            inside("median")
    return problems


def each_factor(factors: Sequence[FactorTable], label: str, problems: list[Problem]
                 ) -> Iterator[tuple[str, FactorTable]]:
    """``(factor.<name>, table)`` for each factor named for the first time; no factors, or a name given
    twice, is appended to ``problems`` (in file order, between the problems the caller adds)."""
    if not factors:
        problems.append((label, "factor", "no factors; give at least one [[factor]] table"))
    seen: dict[str, int] = {}
    for i, f in enumerate(factors):
        key = f"factor.{f.name}"
        if f.name in seen:
            problems.append((label, key, f"factor given twice (entries {seen[f.name] + 1} and {i + 1})"))
            continue
        seen[f.name] = i
        yield key, f


def _rules(parsed: SweepFile, label: str) -> list[Problem]:
    """Rules between keys (stage 1, after the types are right)."""
    problems: list[Problem] = []
    method = parsed.method
    if method == "grid":
        if parsed.n is not None:
            problems.append((label, "n", "not used by method 'grid': the design is every combination of the "
                             "factors' values; remove n"))
    else:
        if parsed.n is None:
            problems.append((label, "n", f"required key is missing (method {method!r} needs n, the number of runs)"))
        if parsed.seed is None:
            problems.append((label, "seed", f"required key is missing (method {method!r} needs a seed so that the "
                             "design can be drawn again)"))
        if method == "sobol-sequence" and parsed.n is not None and parsed.n & (parsed.n - 1):
            m = parsed.n.bit_length()
            problems.append((label, "n", f"sobol-sequence needs n a power of 2 for its balance properties; "
                             f"{parsed.n} is not (nearest: {2 ** (m - 1)} or {2 ** m})"))
    for key, f in each_factor(parsed.factor, label, problems):
        problems += factor_rules(f, key, label, method)
    if method == "grid" and parsed.factor and all(f.values for f in parsed.factor):
        size = math.prod(len(f.values) for f in parsed.factor)
        if size > MAX_RUNS:
            problems.append((label, "factor", f"the grid has {size} runs, more than {MAX_RUNS}; "
                             "use fewer values or a sampled method"))
    out = parsed.outputs
    if not out.variables:
        problems.append((label, "outputs.variables", "is empty; keep at least one variable"))
    if not out.years:
        problems.append((label, "outputs.years", "is empty; keep at least one year"))
    for what, items in (("variables", out.variables), ("years", out.years)):
        dupes = sorted({str(v) for v in items if items.count(v) > 1})
        if dupes:
            problems.append((label, f"outputs.{what}", f"{', '.join(dupes)} listed more than once"))
    return problems


def read_sweep_file(path: str | Path) -> tuple[SweepFile | None, list[Problem]]:
    """Read one sweep file and check its structure; never raises for a bad file."""
    path = Path(path)
    label = str(path)
    doc, problems = _read_toml(path, label)
    if doc is None:
        return None, problems
    try:
        parsed = SweepFile.model_validate(doc)
    except ValidationError as exc:
        return None, problems + validation_problems(exc, label, doc, translate_error)
    problems += _rules(parsed, label)
    return (None if problems else parsed), problems


@dataclass
class Sweep:
    """A checked sweep: its base scenario resolved, its factors, what it keeps.

    ``content`` is the file's content as data (for the manifest and the spec
    hash); ``runs`` the number of runs of the design. ``design``, when given,
    is a design drawn elsewhere (e.g. by SALib for :mod:`sim.analysis.sensitivity`):
    shape ``(runs, len(factors))``, used instead of ``method``'s draw.
    """

    name: str
    description: str
    path: Path
    base: Scenario
    method: str
    seed: int | None
    n: int | None
    factors: list[Factor]
    variables: list[str]
    years: list[int]
    content: dict
    final_time: float
    time_step: float | None = None
    design: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def runs(self) -> int:
        if self.design is not None:
            return len(self.design)
        if self.method == "grid":
            return math.prod(len(f.values) for f in self.factors)
        return int(self.n)

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    def resolved(self) -> dict:
        """What determines the results: the file's content and the base scenario's resolved levers."""
        return {"sweep": self.content, "base": self.base.resolved_dict()}

    def sha256(self, model_sha256: str) -> str:
        """SHA-256 of the resolved spec and the model: equal inputs, equal hash (``--resume`` compares it)."""
        return content_sha256({**self.resolved(), "model_sha256": model_sha256})


def _find_base(ref: str, sweep_path: Path, search_dirs: Sequence[Path]) -> tuple[Path | None, list[Path]]:
    if "/" in ref or "\\" in ref or ref.endswith(".toml"):
        p = Path(ref).expanduser()
        candidates = [p if p.is_absolute() else sweep_path.parent / p]
    else:
        candidates = [sweep_path.parent / f"{ref}.toml", *(Path(d) / f"{ref}.toml" for d in search_dirs)]
    return next((c for c in candidates if c.is_file()), None), candidates


def _known_scenarios(sweep_path: Path, search_dirs: Sequence[Path]) -> list[str]:
    names: set[str] = set()
    for folder in (sweep_path.parent, *search_dirs):
        with contextlib.suppress(OSError):
            names.update(p.stem for p in Path(folder).glob("*.toml"))
    return sorted(names)


def _compiled_variables(model) -> list[str]:
    """Variables with values over time (the ensemble runner's columns, PySD's outputs)."""
    return list(getattr(model, "outputs", None) or [])


def variable_problem(name: str, model) -> str | None:
    """Why ``name`` is not a variable with a value each year of ``model``'s run (None when it is one)."""
    outputs = _compiled_variables(model)
    if name in outputs:
        return None
    if name in (getattr(model, "variables", []) or []):
        return f"{name!r} is a lookup table, not a variable with a value each year"
    return f"unknown model variable {name!r}" + did_you_mean(name, outputs)


def factor_problems(base_ref: str, factors: Sequence[FactorTable], path: Path, model, search_dirs: Sequence[Path]
                    ) -> tuple[Scenario | None, tuple[float, float], list[Problem]]:
    """Stage 2 for the parts sweep and sensitivity files share: the base scenario and the ``[[factor]]`` tables.

    Returns the base scenario (None when it does not load), the run's time window ``(start, final)`` and the
    problems: a base that is not found or does not load, factors that are not levers or uncertain parameters,
    bounds and values outside their ``[min,max]`` ranges.
    """
    label = str(path)
    problems: list[Problem] = []
    base = None
    found, candidates = _find_base(base_ref, path, search_dirs)
    if found is None:
        looked = " and ".join(str(c) for c in candidates)
        hint = did_you_mean(base_ref, _known_scenarios(path, search_dirs)) if not base_ref.endswith(".toml") else ""
        problems.append((label, "base", f"base scenario {base_ref!r} not found (looked for {looked}){hint}"))
    else:
        try:
            base = load_scenario(found, model)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    start = float(model.settings["initial_time"])
    final = float(base.run.final_time) if base is not None and base.run.final_time else float(model.settings["final_time"])
    window = (start, final)

    kinds = ("lever", "uncertain")
    names = {f.name: None for f in factors}
    problems += lever_problems(names, model, file=label, allowed_kinds=kinds, window=window, prefix="factor")
    bad_names = {p[1][len("factor."):] for p in problems if p[0] == label and p[1].startswith("factor.")}
    for f in factors:
        if f.name in bad_names:
            continue
        for what, xs in (("values", f.values), ("bounds", f.bounds)):
            for x in xs or ():
                for lab, _, msg in lever_problems({f.name: LeverValue.constant(x)}, model, file=label,
                                                  allowed_kinds=kinds, window=window, prefix="factor"):
                    problems.append((lab, f"factor.{f.name}.{what}", msg))
    return base, window, problems


def _meaning(parsed: SweepFile, path: Path, model, search_dirs: Sequence[Path]) -> tuple[Scenario | None, list[Problem]]:
    """Stage 2: the base and the factors (:func:`factor_problems`), then the outputs, against ``model``."""
    label = str(path)
    base, (start, final), problems = factor_problems(parsed.base, parsed.factor, path, model, search_dirs)
    for v in parsed.outputs.variables:
        if (problem := variable_problem(v, model)) is not None:
            problems.append((label, "outputs.variables", problem))
    saveper = float(model.settings.get("saveper") or 1.0)
    for y in parsed.outputs.years:
        if not start <= y <= final:
            problems.append((label, "outputs.years", f"year {y} lies outside the run {show_number(start)}-{show_number(final)}"
                             + (" (the base scenario's final_time)" if base is not None and base.run.final_time else "")))
        elif abs((y - start) / saveper - round((y - start) / saveper)) > 1e-9:
            problems.append((label, "outputs.years", f"year {y} is not a saved time (results are saved every "
                             f"{show_number(saveper)} years from {show_number(start)})"))
    return base, problems


def to_factor(f: FactorTable) -> Factor:
    if f.values is not None:
        return Factor(name=f.name, values=tuple(float(v) for v in f.values))
    dist = f.distribution or "uniform"
    params = {p: float(getattr(f, p)) for p in DISTRIBUTION_PARAMETERS[dist]}
    return Factor(name=f.name, lower=float(f.bounds[0]), upper=float(f.bounds[1]), distribution=dist, params=params)


def load_sweep(path: str | Path, model, *, search_dirs: Sequence[str | Path] | None = None) -> Sweep:
    """Read a sweep file, check its structure and its meaning against ``model``; return the :class:`Sweep`.

    ``base`` is looked up as ``<base>.toml`` next to the sweep file, then in
    ``search_dirs`` (default: the project's ``scenarios/``); a base with ``/``
    or ending in ``.toml`` is a path relative to the sweep file. Raises
    :class:`ScenarioError` listing every problem (of the sweep file and of
    its base chain).
    """
    path = Path(path)
    dirs = [Path(d) for d in (search_dirs if search_dirs is not None else [SCENARIO_DIR])]
    parsed, problems = read_sweep_file(path)
    if parsed is None:
        raise ScenarioError(problems)
    base, problems = _meaning(parsed, path, model, dirs)
    if problems:
        raise ScenarioError(each_problem_once(problems))
    final = float(base.run.final_time) if base.run.final_time else float(model.settings["final_time"])
    return Sweep(
        name=parsed.name,
        description=parsed.description,
        path=path,
        base=base,
        method=parsed.method,
        seed=parsed.seed,
        n=parsed.n,
        factors=[to_factor(f) for f in parsed.factor],
        variables=list(parsed.outputs.variables),
        years=[int(y) for y in parsed.outputs.years],
        content=parsed.model_dump(mode="json", exclude_none=True),
        final_time=final,
        time_step=float(base.run.time_step) if base.run.time_step else None,
    )


def sweep_design(sweep: Sweep) -> pd.DataFrame:
    """The design of ``sweep``: one row per run (``run_id`` from 0), one column per factor."""
    return design_table(sweep).to_pandas()


def design_table(sweep: Sweep):
    """The design of ``sweep`` as a pyarrow table (``run_id``, one column per factor), with no pandas copy."""
    import pyarrow as pa

    if sweep.design is not None:
        matrix = np.asarray(sweep.design, dtype=float)
    else:
        matrix = design(sweep.factors, sweep.method, sweep.n, sweep.seed)
    columns = {"run_id": np.arange(len(matrix), dtype=np.int64)}
    columns.update({name: np.ascontiguousarray(matrix[:, j]) for j, name in enumerate(sweep.factor_names)})
    del matrix
    return pa.table(columns)
