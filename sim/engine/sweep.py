"""Scenario sweeps: many runs of the model over sampled or gridded levers and uncertain parameters.

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
and are raised together as one :class:`sim.errors.ScenarioError`.

:func:`run_sweep` evaluates the design in chunks with the compiled ensemble
runner (:mod:`sim.model.compiler`), in local worker processes or on a running
``dask.distributed`` cluster. Each worker compiles (or loads from the cache)
the model itself; only lever arrays go out and result arrays come back. The
sweep folder::

    DIR/manifest.json           status running -> complete; spec, its SHA-256, seed, method, n
    DIR/chunks/design.parquet   while running: the design (run_id, one column per factor)
    DIR/chunks/chunk-00012.parquet   while running: one committed chunk (atomic)
    DIR/chunks/index.jsonl      while running: per committed chunk, its run range and content hash
    DIR/experiments.parquet     run_id, one column per factor, error (null when the run is fine)
    DIR/outcomes.parquet        long: run_id, year, one column per kept variable
    DIR/target_values.parquet   run_id, one column per target id: the target's quantity
    DIR/summary.csv             per target: share of runs meeting it, quantiles, failed runs; targets not evaluated, and why

Each chunk file is written to a temporary name and renamed when the chunk is
done, so after a crash or SIGKILL :func:`run_sweep` with ``resume=True``
skips the finished chunks; the chunk partition, the design, the spec's
SHA-256 and the identity of the numbers (:mod:`sim.engine.identity`: model,
calibration applied, targets, runner code, base scenario) are fixed in the
folder, and a resume with any of them changed is refused, naming what
changed, so a resumed sweep ends with the same rows and values as an
uninterrupted one. Committed chunks and the design are checked against their
recorded hashes (:mod:`sim.engine.chunkstore`) before they are trusted. A run that raises or yields a NaN/inf is
recorded with its error in ``experiments.error`` and the sweep goes on.

This module never prints and never exits.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import difflib
import io
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from sim.engine.chunkstore import bytes_sha256, check_design, design_sha256, read_index, record_chunk, verify_chunks
from sim.errors import InputError, Interrupted, ModelError, RunError, ScenarioError, SimError
from sim.engine.identity import (WORKER_COMPONENTS, IdentityError, calibration_sha256, changed_components, code_version,
                          describe_changes, numbers_identity, worker_components)
from sim.engine.results import MANIFEST, atomic_write_bytes, atomic_write_text, build_manifest, content_sha256, finish_manifest, to_json
from sim.engine.sampling import DISTRIBUTION_PARAMETERS, DISTRIBUTIONS, METHODS, SAMPLED_METHODS, Factor, design
from sim.specs.scenario import SCENARIO_DIR, LeverValue, Scenario, lever_problems, load_scenario, read_toml_file
from sim.specs.scenario import _num, _show  # message helpers shared with scenario files
from sim.plan.targets import TIME_TOLERANCE, Target, ensemble_gaps, ensemble_quantities, load_targets

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "SWEEP_DIR",
    "DEFAULT_OUT",
    "DEFAULT_CHUNK_SIZE",
    "MAX_RUNS",
    "SweepFile",
    "Sweep",
    "ChunkJob",
    "ChunkResult",
    "SweepResult",
    "SweepFolder",
    "read_sweep_file",
    "load_sweep",
    "sweep_design",
    "evaluate_chunk",
    "run_sweep",
    "execute_sweep",
    "check_options",
    "code_version",
    "summarise",
    "format_summary",
    "is_sweep_folder",
    "sigterm_as_interrupt",
    "read_sweep",
    "read_outcomes",
    "iter_chunks",
    "target_quantities",
    "target_met",
]

SCHEMA_VERSION = 1
#: Where the project's sweep files live.
SWEEP_DIR = SCENARIO_DIR / "sweeps"
#: Default parent of sweep folders: ``results/sweeps/<name>`` (relative to the working directory).
DEFAULT_OUT = Path("results") / "sweeps"
#: Runs per chunk unless told otherwise: the compiled model runs ~15,000 runs/s per core at this
#: size (fewer runs per call pay more per-step overhead), a chunk's results are ~8 MB for 12
#: variables x 16 years, and a kill loses at most one chunk per worker (a third of a second).
DEFAULT_CHUNK_SIZE = 5000
#: Largest design accepted (runs); a bigger grid is almost certainly a mistake.
MAX_RUNS = 20_000_000
#: Quantiles in ``summary.csv`` (and their column names).
QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.50, "q75": 0.75, "q95": 0.95}

EXPERIMENTS = "experiments.parquet"
OUTCOMES = "outcomes.parquet"
TARGET_VALUES = "target_values.parquet"
SUMMARY = "summary.csv"
CHUNKS = "chunks"
DESIGN = "design.parquet"
LOCK = ".lock"

Problem = tuple[str, str, str]

# Column prefixes inside chunk files (one row per run).
_F, _T, _O = "f:", "t:", "o:"


# --------------------------------------------------------------------------
# Small helpers for messages
# --------------------------------------------------------------------------


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """``; did you mean 'X'?`` (case-insensitive difflib match), or an empty string."""
    lowered = {c.lower(): c for c in candidates}
    if str(word).lower() in lowered and str(word) not in candidates:
        return f"; did you mean '{lowered[str(word).lower()]}'? (names are case-sensitive)"
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=3, cutoff=0.6)
    close += [c for c in lowered if len(str(word)) >= 3 and c.startswith(str(word).lower()) and c not in close]
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{lowered[c]}'" for c in close) + "?"


def _custom(message: str, **context) -> PydanticCustomError:
    return PydanticCustomError("sweep", message, context)


# --------------------------------------------------------------------------
# Stage 1: structure (pydantic, extra keys forbidden)
# --------------------------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _custom("must be a number; got {got}", got=_show(value))
    if not math.isfinite(value):
        raise _custom("must be a finite number; got {got}", got=_show(value))
    return float(value)


def _schema_version_of(fmt: str, version: int) -> Callable[[Any], int]:
    """A validator accepting only ``version``, the one version of the ``fmt`` format ("sweep") this program reads."""

    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value == version:
            return value
        raise _custom("must be {v} (the only version of the {fmt} format this program reads); got {got}",
                      v=version, fmt=fmt, got=_show(value))

    return check


_schema_version = _schema_version_of("sweep", SCHEMA_VERSION)


def _identifier(value: Any) -> str:
    if isinstance(value, str) and value and all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        return value
    raise _custom("must be an identifier (ASCII letters, digits, '-' and '_'; it names the result folder); got {got}",
                  got=_show(value))


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _custom("must be a non-empty string; got {got}", got=_show(value))


def _base(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _custom("must be the name of a scenario (e.g. \"plan\") or a path to its file; got {got}", got=_show(value))


def _seed(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _custom("must be a whole number >= 0 (the random seed); got {got}", got=_show(value))


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RUNS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RUNS:
        raise _custom("must be at most {m} runs; got {got}", m=MAX_RUNS, got=_show(value))
    raise _custom("must be a whole number of runs >= 1; got {got}", got=_show(value))


def _one_of(what: str, choices: Sequence[str]) -> Callable[[Any], str]:
    """A validator accepting one of ``choices`` (``what`` names it in the message, e.g. "method")."""

    def check(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        if not isinstance(value, str):
            raise _custom("must be one of {allowed}; got {got}", allowed=", ".join(choices), got=_show(value))
        raise _custom("unknown {what} {got}; allowed: {allowed}{hint}", what=what, got=repr(value),
                      allowed=", ".join(choices), hint=_suggest(value, choices))

    return check


_method = _one_of("method", METHODS)
_distribution = _one_of("distribution", DISTRIBUTIONS)


def _year(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _custom("must be a whole year such as 2025; got {got}", got=_show(value))


def _variable(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _custom("must be a model variable's name (a string); got {got}", got=_show(value))


Number = Annotated[float, PlainValidator(_number)]


class FactorTable(BaseModel):
    """One ``[[factor]]`` table: a model constant to vary, by ``values`` (grid) or ``bounds`` (sampled)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, PlainValidator(_text)]
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

    variables: list[Annotated[str, PlainValidator(_variable)]]
    years: list[Annotated[int, PlainValidator(_year)]]


class SweepFile(BaseModel):
    """The structure of a sweep file (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Annotated[int, PlainValidator(_schema_version)]
    name: Annotated[str, PlainValidator(_identifier)]
    description: Annotated[str, PlainValidator(_text)]
    base: Annotated[str, PlainValidator(_base)]
    seed: Annotated[int | None, PlainValidator(_seed)] = None
    method: Annotated[str, PlainValidator(_method)]
    n: Annotated[int | None, PlainValidator(_count)] = None
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


def _translate(error: dict, label: str, doc: dict) -> Problem:
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
    parts, item = _key_parts(parts, rest)
    key = ".".join(parts)
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        what = _MISSING.get(key) or _MISSING.get(parts[-1] if parts else "", "")
        if key.endswith(".name") and key.startswith("factor["):
            what = _MISSING["name_of_factor"]
        return (label, key, "required key is missing" + (f" ({what})" if what else ""))
    if kind == "list_type" and key == "factor":
        return (label, key, f"must be an array of tables, written [[factor]]; got {_show(value)}")
    if kind in ("model_type", "model_attributes_type", "dict_type") and key == "outputs":
        return (label, key, f"must be a table [outputs] with variables and years; got {_show(value)}")
    return _type_problem(error, label, key, item, rest, section, allowed)


def _key_parts(parts: list[str], rest: Sequence) -> tuple[list[str], int | None]:
    """The parts of an error location's key (``parts``, then the names in ``rest``), and its 1-based list item."""
    parts, item = list(parts), None
    for p in rest:
        if isinstance(p, int):
            item = p + 1
        else:
            parts.append(str(p))
    return parts, item


def _type_problem(error: dict, label: str, key: str, item: int | None, rest: Sequence, section: str,
                  allowed: Sequence[str]) -> Problem:
    """The messages shared by sweep and sensitivity files: unknown keys, wrong types, our validators' words.

    ``section`` says where an unknown key stands ("at the top level", "in [[factor]]"); ``allowed`` the keys there.
    """
    kind, value = error["type"], error.get("input")
    prefix = f"item {item}: " if item is not None else ""
    if kind == "extra_forbidden":
        bad = str(rest[-1]) if rest else key
        return (label, key, f"unknown key {bad!r} {section}; allowed: {', '.join(allowed)}{_suggest(bad, allowed)}")
    if kind == "list_type":
        return (label, key, f"must be an array [...]; got {_show(value)}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (label, key, f"{prefix}must be a table; got {_show(value)}")
    if kind == "sweep":  # our validators' messages (PydanticCustomError of _custom)
        return (label, key, prefix + " ".join(str(error["msg"]).split()))
    return (label, key, prefix + " ".join(f"{error['msg']}; got {_show(value)}".split()))


def _validation_problems(exc: ValidationError, label: str, doc: dict,
                         translate: Callable[[dict, str, dict], Problem]) -> list[Problem]:
    """Each of pydantic's errors as ``(file, key, message)`` by ``translate``, each problem once, in order."""
    seen: set[Problem] = set()
    return [p for p in (translate(e, label, doc) for e in exc.errors()) if not (p in seen or seen.add(p))]


def _read_toml(path: Path, label: str) -> tuple[dict | None, list[Problem]]:
    """A sweep file's TOML document, or its one problem (:func:`sim.specs.scenario.read_toml_file`)."""
    return read_toml_file(path, label, "sweep file",
                          "a sweep needs schema_version, name, description, base, method, [[factor]] and [outputs]")


def _factor_rules(f: FactorTable, key: str, label: str, method: str) -> list[Problem]:
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
            problems.append((label, f"{key}.values", f"{', '.join(_num(v) for v in dupes)} listed more than once"))
    if f.bounds is None:
        if f.distribution is not None and method != "grid":
            problems.append((label, f"{key}.distribution", "a distribution needs bounds = [lower, upper]"))
        return problems
    if len(f.bounds) != 2:
        problems.append((label, f"{key}.bounds", f"must be [lower, upper], two numbers; got {len(f.bounds)}"))
        return problems
    lo, hi = f.bounds
    if lo > hi:
        problems.append((label, f"{key}.bounds", f"lower {_num(lo)} is greater than upper {_num(hi)}; write [lower, upper]"))
        return problems
    if lo == hi:
        problems.append((label, f"{key}.bounds", f"lower equals upper ({_num(lo)}): nothing to vary; "
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
            problems.append((label, f"{key}.{p}", f"{p} {_num(x)} lies outside the bounds [{_num(lo)}, {_num(hi)}]"))

    if dist == "normal":
        if f.sd <= 0:
            problems.append((label, f"{key}.sd", f"must be > 0; got {_num(f.sd)}"))
        inside("mean")
    elif dist == "triangular":
        inside("mode")
    elif dist == "lognormal":
        if f.sigma <= 0:
            problems.append((label, f"{key}.sigma", f"must be > 0 (the standard deviation of ln x); got {_num(f.sigma)}"))
        if lo < 0:
            problems.append((label, f"{key}.bounds", f"a lognormal factor cannot be negative; lower is {_num(lo)}"))
        if f.median <= 0:
            problems.append((label, f"{key}.median", f"must be > 0; got {_num(f.median)}"))
        else:
            inside("median")
    return problems


def _each_factor(factors: Sequence[FactorTable], label: str, problems: list[Problem]
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
    for key, f in _each_factor(parsed.factor, label, problems):
        problems += _factor_rules(f, key, label, method)
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
        return None, problems + _validation_problems(exc, label, doc, _translate)
    problems += _rules(parsed, label)
    return (None if problems else parsed), problems


# --------------------------------------------------------------------------
# Stage 2: meaning, against the model; the resolved sweep
# --------------------------------------------------------------------------


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


def _variable_problem(name: str, model) -> str | None:
    """Why ``name`` is not a variable with a value each year of ``model``'s run (None when it is one)."""
    outputs = _compiled_variables(model)
    if name in outputs:
        return None
    if name in (getattr(model, "variables", []) or []):
        return f"{name!r} is a lookup table, not a variable with a value each year"
    return f"unknown model variable {name!r}" + _suggest(name, outputs)


def _meaning(parsed: SweepFile, path: Path, model, search_dirs: Sequence[Path]) -> tuple[Scenario | None, list[Problem]]:
    label = str(path)
    problems: list[Problem] = []
    base = None
    found, candidates = _find_base(parsed.base, path, search_dirs)
    if found is None:
        looked = " and ".join(str(c) for c in candidates)
        hint = _suggest(parsed.base, _known_scenarios(path, search_dirs)) if not parsed.base.endswith(".toml") else ""
        problems.append((label, "base", f"base scenario {parsed.base!r} not found (looked for {looked}){hint}"))
    else:
        try:
            base = load_scenario(found, model)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    start = float(model.settings["initial_time"])
    final = float(base.run.final_time) if base is not None and base.run.final_time else float(model.settings["final_time"])
    window = (start, final)

    kinds = ("lever", "uncertain")
    names = {f.name: None for f in parsed.factor}
    problems += lever_problems(names, model, file=label, allowed_kinds=kinds, window=window, prefix="factor")
    bad_names = {p[1][len("factor."):] for p in problems if p[0] == label and p[1].startswith("factor.")}
    for f in parsed.factor:
        if f.name in bad_names:
            continue
        for what, xs in (("values", f.values), ("bounds", f.bounds)):
            for x in xs or ():
                for lab, _, msg in lever_problems({f.name: LeverValue.constant(x)}, model, file=label,
                                                  allowed_kinds=kinds, window=window, prefix="factor"):
                    problems.append((lab, f"factor.{f.name}.{what}", msg))

    for v in parsed.outputs.variables:
        if (problem := _variable_problem(v, model)) is not None:
            problems.append((label, "outputs.variables", problem))
    saveper = float(model.settings.get("saveper") or 1.0)
    for y in parsed.outputs.years:
        if not start <= y <= final:
            problems.append((label, "outputs.years", f"year {y} lies outside the run {_num(start)}-{_num(final)}"
                             + (" (the base scenario's final_time)" if base is not None and base.run.final_time else "")))
        elif abs((y - start) / saveper - round((y - start) / saveper)) > 1e-9:
            problems.append((label, "outputs.years", f"year {y} is not a saved time (results are saved every "
                             f"{_num(saveper)} years from {_num(start)})"))
    return base, problems


def _factor(f: FactorTable) -> Factor:
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
        seen: set[Problem] = set()
        raise ScenarioError([p for p in problems if not (p in seen or seen.add(p))])
    final = float(base.run.final_time) if base.run.final_time else float(model.settings["final_time"])
    return Sweep(
        name=parsed.name,
        description=parsed.description,
        path=path,
        base=base,
        method=parsed.method,
        seed=parsed.seed,
        n=parsed.n,
        factors=[_factor(f) for f in parsed.factor],
        variables=list(parsed.outputs.variables),
        years=[int(y) for y in parsed.outputs.years],
        content=parsed.model_dump(mode="json", exclude_none=True),
        final_time=final,
        time_step=float(base.run.time_step) if base.run.time_step else None,
    )


def sweep_design(sweep: Sweep) -> pd.DataFrame:
    """The design of ``sweep``: one row per run (``run_id`` from 0), one column per factor."""
    return _design_table(sweep).to_pandas()


def _design_table(sweep: Sweep):
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


def _unevaluated_targets(variables: Sequence[str], targets: Sequence[Target]) -> list[dict]:
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
        out.append({**_target_dict(t), "reason": why})
    return out


def _selected_targets(variables: Sequence[str], targets: Sequence[Target] | None = None) -> list[Target]:
    """Evaluable targets whose variables are all kept."""
    kept = set(variables)
    targets = load_targets() if targets is None else targets
    return [t for t in targets if t.evaluable and t.variable and all(v in kept for v in t.variables())]


# --------------------------------------------------------------------------
# Evaluating one chunk (runs in a worker)
# --------------------------------------------------------------------------


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


def _compiled(model_path: str, sha: str) -> tuple[Any, dict]:
    """The compiled model with SHA-256 ``sha`` in this process, and the calibrated defaults it applies.

    A worker on another machine may not have the file at ``model_path``; it
    then uses its own installed project's model if that has the same SHA-256.
    The calibration file is read at each call (a small CSV) and is part of the
    cache key, so that a worker always reports the constants it computes with.
    """
    from sim.model.loader import DEFAULT_MODEL, file_sha256, load_model, read_calibration

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


def _error_text(exc: BaseException) -> str:
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
    cm, calibration = _compiled(job.model_path, job.model_sha256)
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
                errors[int(rows[0])] = _error_text(exc)
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


# --------------------------------------------------------------------------
# Chunk files
# --------------------------------------------------------------------------


def _chunk_path(folder: Path, index: int) -> Path:
    return folder / CHUNKS / f"chunk-{index:05d}.parquet"


def _outcome_column(variable: str, year: int) -> str:
    return f"{_O}{variable}|{year}"


def _parquet_bytes(table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _chunk_table(result: ChunkResult, factors: dict, sweep: Sweep, targets: Sequence[Target]):
    """A chunk file's table: run ids, errors, the factors' values (``{name: array}``), target values, outcomes."""
    import pyarrow as pa

    columns = {"run_id": pa.array(np.arange(result.start, result.stop, dtype=np.int64)),
               "error": pa.array(result.errors, type=pa.string())}
    for name in sweep.factor_names:
        columns[_F + name] = pa.array(np.asarray(factors[name], dtype=float))
    for k, t in enumerate(targets):
        columns[_T + t.id] = pa.array(result.target_values[:, k])
    for j, v in enumerate(sweep.variables):
        for i, y in enumerate(sweep.years):
            columns[_outcome_column(v, y)] = pa.array(result.outcomes[:, j, i])
    return pa.table(columns)


def _failed_result(job: ChunkJob, exc: BaseException, n_vars: int, n_years: int, n_targets: int) -> ChunkResult:
    m = job.stop - job.start
    return ChunkResult(job.index, job.start, job.stop, np.full((m, n_vars, n_years), np.nan),
                       np.full((m, n_targets), np.nan), [f"chunk failed: {_error_text(exc)}"] * m)


# --------------------------------------------------------------------------
# Executors: in process, local processes, dask
# --------------------------------------------------------------------------


def _watch_parent(ppid: int) -> None:
    """End this worker when the sweep process that started it is gone (e.g. killed with SIGKILL)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(1)


def _init_worker(model_path: str, sha: str, ppid: int) -> None:
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    _compiled(model_path, sha)


class _Inline:
    """Evaluates chunks in this process, one at a time (``workers=1``)."""

    window = 1

    def submit(self, job):
        future: cf.Future = cf.Future()
        try:
            future.set_result(evaluate_chunk(job))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            future.set_exception(exc)
        return future

    @staticmethod
    def wait(futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False):
        pass


class _Processes:
    """Local worker processes (spawned; each compiles or loads the model itself)."""

    def __init__(self, workers: int, model_path: str, sha: str):
        self.window = 2 * workers
        self.pool = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(model_path, sha, os.getpid()))

    def submit(self, job):
        return self.pool.submit(evaluate_chunk, job)

    @staticmethod
    def wait(futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED)

    def close(self, cancel: bool = False):
        if cancel:  # stop the workers now, then wait for them: no process or semaphore outlives the sweep
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=cancel)


class _Dask:
    """A running ``dask.distributed`` cluster: one task per chunk; workers load the model themselves."""

    def __init__(self, address: str, sha: str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - the extra is not installed
            raise InputError("--scheduler needs dask.distributed: pip install 'shuangta-sd[distributed]'") from exc
        self.address = address
        # distributed logs a lost scheduler as tracebacks on stderr; the sweep reports it as one error instead.
        self._levels = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        for name in _DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            self.client = Client(address, set_as_default=False)  # timeout: distributed.comm.timeouts.connect
        except (OSError, TimeoutError, ValueError) as exc:
            self._restore_logs()
            raise InputError(f"cannot reach the dask scheduler at {address}: {exc}") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.window = max(4, 2 * threads)
        self.sha = sha

    def _restore_logs(self):
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def submit(self, job):
        return self.client.submit(evaluate_chunk, job, pure=False, key=f"sweep-{self.sha[:10]}-chunk-{job.index:05d}")

    def wait(self, futures):
        from distributed import wait

        with self.client.as_current():
            return wait(list(futures), return_when="FIRST_COMPLETED")

    def close(self, cancel: bool = False):
        with contextlib.suppress(Exception):
            self.client.close()
        self._restore_logs()


#: Loggers of dask.distributed silenced while a sweep uses a cluster (their errors reach the sweep as exceptions).
_DASK_LOGGERS = ("distributed", "distributed.client", "distributed.batched", "distributed.comm", "distributed.core",
                 "distributed.utils", "tornado", "tornado.application")
#: Exceptions by which dask.distributed says the scheduler is gone.
_LOST_SCHEDULER = {"CommClosedError", "StreamClosedError", "FutureCancelledError", "FuturesCancelledError",
                   "CancelledError"}


def _is_fatal(exc: BaseException) -> bool:
    """Errors of the machinery or the set-up (stop the sweep) rather than of the runs (record them)."""
    if isinstance(exc, (InputError, ModelError, cf.BrokenExecutor, cf.CancelledError, OSError, MemoryError)):
        return True
    return type(exc).__name__ in {"KilledWorker", "CommClosedError", "FutureCancelledError", "FuturesCancelledError",
                                  "CancelledError"}


# --------------------------------------------------------------------------
# Running a sweep
# --------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the folder, run counts, chunks evaluated now and skipped, summary."""

    name: str
    folder: Path
    runs: int
    failed: int
    chunks: int
    chunks_run: int
    chunks_skipped: int
    seconds: float
    summary: pd.DataFrame
    evaluated: int = 0  # runs evaluated by this call (the others were done before a resume)


def _read_manifest(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_sweep_folder(folder: str | Path) -> bool:
    """True for a folder written by :func:`run_sweep` (complete: it has ``experiments.parquet``)."""
    return (Path(folder) / EXPERIMENTS).is_file()


@contextlib.contextmanager
def _lock(folder: Path):
    """An exclusive lock on the sweep folder (released by the OS even after SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    handle = open(folder / LOCK, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"{folder}: another sweep process is writing into this folder") from None
        yield
    finally:
        handle.close()


def _write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write_text(folder / MANIFEST, to_json(manifest) + "\n")


def _claim_folder(folder: Path, resume: bool, kind: str, what: str, noun: str,
                  is_kind: Callable[[dict], bool]) -> dict | None:
    """Refuse, before anything is written, an output folder that holds something else; return its manifest.

    None for a folder that is missing or empty (the lock file aside). A folder with files is refused
    unless ``resume`` is given and its manifest ``is_kind``; ``kind`` ("sweep"), ``what`` ("sweep",
    "sensitivity study") and ``noun`` ("sweep", "study") word the messages.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    entries = [p for p in folder.iterdir() if p.name != LOCK] if folder.is_dir() else []
    if not entries:
        return None
    manifest = _read_manifest(folder)
    ok = manifest is not None and is_kind(manifest)
    if not resume:
        held = f"a {what}" if ok else "files"
        raise InputError(f"{folder}: already holds {held}; pass --resume to continue that {noun}, "
                         "or choose another --out")
    if not ok:
        raise InputError(f"{folder}: not a {what} folder (no {kind} manifest.json); cannot resume into it")
    return manifest


def _prepare_folder(folder: Path, sweep: Sweep, sha: str, identity: dict, resume: bool, chunk_size: int | None):
    """Check what is in ``folder``; return ``(manifest or None, chunk size)``. Raises before writing anything.

    ``resume`` into a folder that does not exist is refused; so is a resume whose
    :mod:`sim.engine.identity` components or spec differ from the folder's, naming what changed.
    """
    if resume and not folder.exists():
        raise InputError(f"{folder}: no such folder to resume; leave out --resume to start a new sweep there")
    manifest = _claim_folder(folder, resume, "sweep", "sweep", "sweep",
                             lambda m: (m.get("extra") or {}).get("kind") == "sweep")
    if manifest is None:
        return None, chunk_size or min(DEFAULT_CHUNK_SIZE, sweep.runs)
    stored = manifest["extra"]["sweep"]
    changed = changed_components(manifest.get("identity"), identity)
    if changed:
        raise IdentityError(f"{folder}: cannot resume: {describe_changes(changed, manifest.get('identity'), identity)} "
                            "changed since this sweep started; resuming would mix numbers computed from different "
                            "inputs: restore them, or start a new --out")
    if stored.get("sha256") != sha:
        raise IdentityError(f"{folder}: the sweep spec {sweep.path} changed since this sweep "
                            f"started (spec SHA-256 {str(stored.get('sha256'))[:12]}... then, {sha[:12]}... now); "
                            "resuming would mix two designs: start a new --out, or restore the spec")
    stored_size = int(stored["chunk_size"])
    if chunk_size is not None and chunk_size != stored_size:
        raise InputError(f"{folder}: this sweep was started with --chunk-size {stored_size}; resume it with "
                         f"the same chunk size (or leave the option out), not {chunk_size}")
    return manifest, stored_size


def _ranges(runs: int, n_chunks: int, chunk_size: int) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of each chunk."""
    return [(i * chunk_size, min(runs, (i + 1) * chunk_size)) for i in range(n_chunks)]


def _pending(folder: Path, n_chunks: int, runs: int, chunk_size: int) -> list[int]:
    """Chunks to evaluate: no committed file, or a file that fails the index's checks (removed, with a warning).

    Temporary files of a killed process are removed first.
    """
    chunk_dir = folder / CHUNKS
    for stale in chunk_dir.glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)
    verdict = verify_chunks(chunk_dir, _ranges(runs, n_chunks, chunk_size), lambda i: _chunk_path(folder, i))
    for i, why in verdict.rejected.items():
        log.warning("%s: %s; evaluating the chunk again", _chunk_path(folder, i), why)
    return verdict.todo


def _base_params(sweep: Sweep, step_times: np.ndarray) -> dict:
    """The base scenario's levers as the compiled model takes them (series as ``(1, S)`` arrays)."""
    params = {}
    factors = set(sweep.factor_names)
    for name, value in sweep.base.levers.items():
        if name in factors:  # the factor's value replaces the base's, series or not
            continue
        params[name] = value.at(step_times)[None, :] if value.is_series else float(value.value)
    return params


def run_sweep(
    spec: str | Path,
    out: str | Path | None = None,
    *,
    model_path: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] | None = None,
) -> SweepResult:
    """Check the sweep file ``spec``, evaluate its design chunk by chunk, and write the sweep folder.

    ``out`` defaults to ``results/sweeps/<name>``. Chunks run in ``workers``
    local processes (default: the number of CPUs; ``1`` runs in this
    process), or, with ``scheduler = "tcp://host:port"``, as tasks on that
    running dask cluster. ``resume`` continues an interrupted sweep in
    ``out``, skipping committed chunks; it is refused if the spec, its base
    scenario or the model changed. ``progress(total, done)`` is called once
    and must return an object with ``update(runs)`` and ``close()`` (e.g. a
    tqdm bar). Everything is checked before anything is written.
    """
    from sim.model.loader import DEFAULT_MODEL, load_model

    started = time.perf_counter()
    check_options(workers, scheduler, chunk_size)
    _, problems = read_sweep_file(spec)  # structure first: a malformed file needs no model
    if problems:
        raise ScenarioError(problems)
    model = load_model(model_path or DEFAULT_MODEL)
    sweep = load_sweep(spec, model)
    folder = Path(out) if out is not None else DEFAULT_OUT / sweep.name
    return execute_sweep(sweep, model, folder, workers=workers, scheduler=scheduler, resume=resume,
                         chunk_size=chunk_size, progress=progress, command=command, started=started)


def check_options(workers: int | None, scheduler: str | None, chunk_size: int | None) -> None:
    """Refuse impossible execution options (before anything is loaded or written)."""
    if workers is not None and scheduler is not None:
        raise InputError("give either workers (local processes) or a scheduler address, not both")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise InputError(f"workers must be at least 1, not {workers}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise InputError(f"chunk size must be at least 1, not {chunk_size}")
    if scheduler is not None and "://" not in scheduler:
        raise InputError(f"scheduler address {scheduler!r} must look like tcp://HOST:8786")


def execute_sweep(
    sweep: Sweep,
    model,
    folder: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] | None = None,
    started: float | None = None,
) -> SweepResult:
    """Evaluate a checked :class:`Sweep` of ``model`` (from :func:`sim.model.loader.load_model`) into ``folder``.

    What :func:`run_sweep` does once the sweep file is loaded, for callers that
    build the :class:`Sweep` themselves (e.g. :mod:`sim.analysis.sensitivity`, with a
    ``design`` drawn by SALib). Options as for :func:`run_sweep`.
    """
    started = time.perf_counter() if started is None else started
    check_options(workers, scheduler, chunk_size)
    code = code_version()
    cm = model.compiled
    missing = [v for v in sweep.variables if v not in set(cm.variables)]
    if missing:  # the ensemble runner and PySD disagree on the model's variables
        raise ModelError(f"the compiled model has no variable {missing[0]!r}")
    sha = sweep.sha256(model.sha256)
    folder = Path(folder)
    every = load_targets()
    identity = numbers_identity(model, sweep.base.resolved_dict(), every)
    manifest, size = _prepare_folder(folder, sweep, sha, identity, resume, chunk_size)
    setup = _Setup(folder, sweep, model, cm, manifest, size, sha, code, _selected_targets(sweep.variables, every),
                   identity, _unevaluated_targets(sweep.variables, every))
    with sigterm_as_interrupt():
        cluster = _Dask(scheduler, sha) if scheduler is not None else None  # unreachable: refused before writing
        try:
            return _run(setup, cluster, workers, progress, command, started)
        finally:
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While a sweep runs, SIGTERM stops it as Ctrl-C does (:class:`sim.errors.Interrupted`, exit status 143)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def handler(signum, frame):
        raise Interrupted("terminated", signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _Setup:
    """Everything checked before a sweep writes: where, what, with which model, chunk size and hashes."""

    folder: Path
    sweep: Sweep
    model: Any
    cm: Any
    manifest: dict | None
    size: int
    sha: str
    code: str
    targets: list
    identity: dict
    unevaluated: list


def _run(setup: _Setup, cluster, workers, progress, command, started) -> SweepResult:
    """The part of :func:`run_sweep` that writes: folder, manifest, chunks, consolidation, summary."""
    folder, sweep, manifest = setup.folder, setup.sweep, setup.manifest
    runs = sweep.runs
    n_chunks = max(1, math.ceil(runs / setup.size))
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        if manifest is not None and manifest.get("status") == "complete" and is_sweep_folder(folder):
            # Nothing to do; a kill after the manifest was stamped may have left the chunk files.
            shutil.rmtree(folder / CHUNKS, ignore_errors=True)
            failed = int(manifest["extra"].get("runs", {}).get("failed", 0))
            result = SweepResult(sweep.name, folder, runs, failed, n_chunks, 0, n_chunks,
                                 time.perf_counter() - started, pd.read_csv(folder / SUMMARY))
        else:
            result = _evaluate_and_write(setup, cluster, workers, progress, command, started, n_chunks)
    with contextlib.suppress(OSError):
        (folder / LOCK).unlink()
    return result


def _evaluate_and_write(setup: _Setup, cluster, workers, progress, command, started, n_chunks) -> SweepResult:
    """Start or resume: manifest, design, the pending chunks, then consolidation and summary."""
    folder, sweep, model, cm, manifest = setup.folder, setup.sweep, setup.model, setup.cm, setup.manifest
    size, sha, code, targets = setup.size, setup.sha, setup.code, setup.targets
    runs = sweep.runs
    for stale in folder.glob(".*.tmp-*"):  # left by a process killed while consolidating
        if stale.is_file():
            stale.unlink(missing_ok=True)
    if manifest is None:
        manifest = _new_manifest(command, model, sweep, sha, size, n_chunks, targets)
        manifest["extra"]["sweep"]["code"] = code
        manifest["identity"] = setup.identity
        manifest["extra"]["targets_not_evaluated"] = setup.unevaluated
    else:
        manifest["extra"].setdefault("resumes", []).append(
            {"at": pd.Timestamp.now(tz="UTC").isoformat(),
             "command": list(command) if command is not None else list(sys.argv)})
        manifest["status"], manifest["error"] = "running", None
    _write_manifest(folder, manifest)
    (folder / CHUNKS).mkdir(exist_ok=True)
    design_sha = _read_design(folder, sweep, manifest["extra"]["sweep"].get("design_sha256"), size)
    design_rows = DesignRows(folder / CHUNKS / DESIGN, sweep.factor_names)
    if manifest["extra"]["sweep"].get("design_sha256") != design_sha:
        manifest["extra"]["sweep"]["design_sha256"] = design_sha
        _write_manifest(folder, manifest)
    todo = _pending(folder, n_chunks, runs, size)
    done_runs = runs - sum(min(runs, (i + 1) * size) - i * size for i in todo)
    log.info("%s: %d runs in %d chunks of %d; %d chunks to evaluate", sweep.name, runs, n_chunks, size, len(todo))
    base = _base_params(sweep, cm.step_times(sweep.final_time, sweep.time_step))
    model_file = str(Path(model.path).resolve())

    def job(i: int) -> ChunkJob:
        start, stop = i * size, min(runs, (i + 1) * size)
        rows = design_rows.read(start, stop)
        return ChunkJob(
            index=i, start=start, stop=stop, model_path=model_file, model_sha256=model.sha256, base=base,
            factors=rows,
            variables=tuple(sweep.variables), years=tuple(sweep.years), targets=tuple(targets),
            final_time=sweep.final_time, time_step=sweep.time_step, code=code,
            identity={k: setup.identity["components"][k] for k in WORKER_COMPONENTS},
        )

    executor = None
    bar = progress(runs, done_runs) if progress is not None else None
    try:
        if todo:
            if cluster is not None:
                executor = cluster
            else:
                count = min(workers if workers is not None else (os.cpu_count() or 1), len(todo))
                executor = _Inline() if count <= 1 else _Processes(count, model_file, model.sha256)
            phase = time.perf_counter()
            _evaluate_all(executor, todo, job, sweep, targets, folder, bar)
            if executor is not cluster:  # the cluster's client is closed by run_sweep
                executor.close()
            executor = None
            log.info("%d chunks evaluated in %.1f s", len(todo), time.perf_counter() - phase)
        if bar is not None:  # the bar measures the runs; consolidation follows
            bar.close()
            bar = None
        phase = time.perf_counter()
        _consolidate(folder, sweep, targets, n_chunks)
        summary = summarise(folder)
        log.info("consolidated and summarised in %.1f s", time.perf_counter() - phase)
        failed = int(summary["failed"].iloc[0])
        manifest["extra"]["runs"] = {"total": runs, "ok": runs - failed, "failed": failed}
        finish_manifest(manifest, "complete")
        _write_manifest(folder, manifest)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        word = "terminated (SIGTERM)" if signum == getattr(signal, "SIGTERM", None) else "interrupted"
        hint = f"{word}; finished chunks are kept in {folder}: rerun with --resume to continue"
        _stop(executor, manifest, folder, "interrupted", hint)
        raise Interrupted(hint, signum) from None
    except SimError as exc:
        _stop(executor, manifest, folder, "failed", str(exc))
        raise
    except Exception as exc:
        _stop(executor, manifest, folder, "failed", _error_text(exc))
        if isinstance(executor, _Dask) and type(exc).__name__ in _LOST_SCHEDULER:
            raise RunError(f"lost the dask scheduler at {executor.address} ({type(exc).__name__}); finished chunks "
                           f"are kept in {folder / CHUNKS}: rerun with --resume when the cluster is back") from None
        raise RunError(f"sweep stopped: {_error_text(exc)}; finished chunks are kept in {folder / CHUNKS}: "
                       "rerun with --resume") from exc
    finally:
        if bar is not None:
            bar.close()
    shutil.rmtree(folder / CHUNKS, ignore_errors=True)
    return SweepResult(sweep.name, folder, runs, failed, n_chunks, len(todo), n_chunks - len(todo),
                       time.perf_counter() - started, summary, runs - done_runs)


def _new_manifest(command, model, sweep: Sweep, sha: str, size: int, n_chunks: int, targets) -> dict:
    """The manifest of a new sweep (status ``running``): spec content and hash, seed, method, n, chunking."""
    return build_manifest(
        list(command) if command is not None else sys.argv, model.path, sweep.base.resolved_dict(),
        seed=sweep.seed,
        extra={
            "kind": "sweep",
            "sweep": {
                "file": str(sweep.path),
                "content": sweep.content,
                "sha256": sha,
                "method": sweep.method,
                "n": sweep.runs,
                "seed": sweep.seed,
                "chunk_size": size,
                "chunks": n_chunks,
                "factors": [{"name": f.name, "design": f.describe()} for f in sweep.factors],
                "variables": sweep.variables,
                "years": sweep.years,
                "base_chain": [str(p) for p in sweep.base.chain],
            },
            "targets": [_target_dict(t) for t in targets],
            "outcomes_layout": "long: one row per run and kept year (run_id, year, one column per variable)",
            "resumes": [],
        },
    )


def _stop(executor, manifest: dict, folder: Path, status: str, error: str) -> None:
    if executor is not None and not isinstance(executor, _Dask):
        with contextlib.suppress(BaseException):
            executor.close(cancel=True)
    with contextlib.suppress(Exception):
        finish_manifest(manifest, status, error)
        _write_manifest(folder, manifest)


def _target_dict(t: Target) -> dict:
    return {k: getattr(t, k) for k in ("id", "description", "variable", "other_variable", "kind", "comparison",
                                       "threshold", "year", "base_year", "aggregate")}


def _read_design(folder: Path, sweep: Sweep, recorded: str | None, chunk_size: int) -> str:
    """Check (or draw and write) the design file; return its content hash (:func:`sim.engine.chunkstore.design_sha256`).

    A new sweep draws the design and writes it, one row group per chunk. On
    resume the file must hash to ``recorded``; a missing, unreadable or
    damaged file is drawn again from the seed, which must reproduce
    ``recorded`` (else the resume is refused). Either way no value outside
    its factor's bounds reaches a run. The design is not kept in memory:
    chunks read their rows from the file (:class:`DesignRows`).
    """
    import pyarrow.parquet as pq

    path = folder / CHUNKS / DESIGN
    table, why = None, "missing"
    if path.is_file():
        try:
            table = pq.read_table(path)
            why = None if recorded is None or design_sha256(table) == recorded else "its content hash differs"
        except Exception as exc:  # a damaged file: pyarrow raises several kinds
            table, why = None, f"unreadable ({type(exc).__name__})"
    if why is not None:
        table = _design_table(sweep)
        if recorded is not None:
            if design_sha256(table) != recorded:
                raise InputError(f"{path}: {why}, and drawing the design again from the spec does not reproduce "
                                 "the recorded design hash; start a new --out")
            log.warning("%s: %s; drawn again from the seed (same hash as recorded)", path, why)
    check_design(table, sweep.factors, sweep.runs, str(path))
    sha = design_sha256(table)
    if why is not None:
        _write_parquet(path, table, row_group_size=chunk_size)
    return sha


def _write_parquet(path: Path, table, **options) -> None:
    """Write a parquet file atomically, straight to disk (a temporary name, fsync, rename)."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, **options)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class DesignRows:
    """Rows ``start .. stop - 1`` of a design file's factor columns, read from the row groups that hold them."""

    def __init__(self, path: Path, names: Sequence[str]):
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        self.names = list(names)
        sizes = [self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def read(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """``{factor: values}`` of runs ``start .. stop - 1``."""
        import pyarrow as pa

        groups = [g for g in range(len(self.offsets) - 1) if self.offsets[g] < stop and self.offsets[g + 1] > start]
        table = pa.concat_tables([self.file.read_row_group(g, columns=self.names) for g in groups])
        table = table.slice(start - int(self.offsets[groups[0]]), stop - start)
        return {n: table.column(n).to_numpy().astype(float, copy=False) for n in self.names}


def _evaluate_all(executor, todo, job, sweep, targets, folder, bar) -> None:
    """Submit chunks (at most ``executor.window`` at a time), commit each as it finishes."""
    queue = iter(todo)
    pending: dict = {}

    def fill():
        while len(pending) < executor.window:
            i = next(queue, None)
            if i is None:
                return
            j = job(i)
            pending[executor.submit(j)] = j

    fill()
    while pending:
        done, _ = executor.wait(list(pending))
        for future in done:
            j = pending.pop(future)
            try:
                result = future.result()
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or _is_fatal(exc):
                    raise
                log.warning("chunk %d failed: %s", j.index, _error_text(exc))
                result = _failed_result(j, exc, len(sweep.variables), len(sweep.years), len(targets))
            table = _chunk_table(result, j.factors, sweep, targets)
            data = _parquet_bytes(table)
            # The index line first: a kill between the two leaves a line without a file (evaluated again), never
            # a file without its line.
            record_chunk(folder / CHUNKS, j.index, j.start, j.stop, bytes_sha256(data))
            atomic_write_bytes(_chunk_path(folder, j.index), data)
            if bar is not None:
                bar.update(j.stop - j.start)
            log.debug("chunk %d committed (runs %d-%d)", j.index, j.start, j.stop - 1)
        fill()


# --------------------------------------------------------------------------
# Consolidation and summary
# --------------------------------------------------------------------------


def _consolidate(folder: Path, sweep: Sweep, targets: Sequence[Target], n_chunks: int) -> None:
    """Stream the chunk files, in run order, into experiments, outcomes and target values (atomic each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = sweep.factor_names
    schemas = {
        EXPERIMENTS: pa.schema([("run_id", pa.int64()), *((n, pa.float64()) for n in names), ("error", pa.string())]),
        OUTCOMES: pa.schema([("run_id", pa.int64()), ("year", pa.int64()), *((v, pa.float64()) for v in sweep.variables)]),
        TARGET_VALUES: pa.schema([("run_id", pa.int64()), *((t.id, pa.float64()) for t in targets)]),
    }
    tmp = {name: folder / f".{name}.tmp-{os.getpid()}" for name in schemas}
    writers = {name: pq.ParquetWriter(tmp[name], schemas[name]) for name in schemas}
    years = np.asarray(sweep.years, dtype=np.int64)
    index = read_index(folder / CHUNKS)
    try:
        for i in range(n_chunks):
            data = _chunk_path(folder, i).read_bytes()
            if bytes_sha256(data) != (index.get(i) or {}).get("sha256"):
                raise RunError(f"{_chunk_path(folder, i)}: changed since it was committed (its content hash differs "
                               "from the index); rerun with --resume to evaluate it again")
            table = pq.read_table(pa.BufferReader(data))
            run_id = table.column("run_id").to_numpy()
            writers[EXPERIMENTS].write_table(pa.table(
                {"run_id": run_id, **{n: table.column(_F + n) for n in names}, "error": table.column("error")},
                schema=schemas[EXPERIMENTS]))
            writers[TARGET_VALUES].write_table(pa.table(
                {"run_id": run_id, **{t.id: table.column(_T + t.id) for t in targets}}, schema=schemas[TARGET_VALUES]))
            long = {"run_id": np.repeat(run_id, len(years)), "year": np.tile(years, len(run_id))}
            for v in sweep.variables:
                block = np.column_stack([table.column(_outcome_column(v, y)).to_numpy() for y in sweep.years])
                long[v] = block.reshape(-1)
            writers[OUTCOMES].write_table(pa.table(long, schema=schemas[OUTCOMES]))
            del table, long, data
        for w in writers.values():
            w.close()
        for name, path in tmp.items():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(path, folder / name)
    except BaseException:
        for w in writers.values():
            with contextlib.suppress(Exception):
                w.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)
        raise


def summarise(folder: str | Path) -> pd.DataFrame:
    """Compute and write ``summary.csv`` of a consolidated sweep folder; return it.

    One row per target whose variables were kept: its definition, ``runs``
    (all), ``failed`` (runs with an error), ``evaluated`` (runs without error
    whose target quantity is defined), ``met`` and ``share_met`` (=
    met / evaluated), and the quantiles ``q05 .. q95`` of the quantity over the
    evaluated runs (a level in the target year, a growth rate, or a rate
    difference, as in ``targets.csv`` of a single run). Then one row per
    target the sweep could not evaluate (``evaluated`` 0), with ``reason``
    saying why (its variables were not kept, or the model cannot evaluate it).

    Memory: the error column, then one target's column at a time (8 bytes a run).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = Path(folder)
    manifest = _read_manifest(folder) or {}
    extra = manifest.get("extra") or {}
    rows_def = extra.get("targets", [])
    ok = pc.is_null(pq.read_table(folder / EXPERIMENTS, columns=["error"]).column("error")).to_numpy(
        zero_copy_only=False)
    runs, failed = len(ok), int((~ok).sum())
    values = pq.ParquetFile(folder / TARGET_VALUES) if rows_def else None
    rows = []
    for d in rows_def:
        target = Target(id=d["id"], description=d["description"], description_zh="", section="", variable=d["variable"],
                        year=d["year"], kind=d["kind"], comparison=d["comparison"], threshold=d["threshold"],
                        arithmetic="", evaluable=True, base_year=d["base_year"], other_variable=d["other_variable"],
                        aggregate=d["aggregate"])
        q = values.read(columns=[d["id"]]).column(0).to_numpy(zero_copy_only=False).astype(float)[ok]
        q = q[np.isfinite(q)]
        met = int(target_met(target, q).sum())
        row = {**d, "runs": runs, "failed": failed, "evaluated": len(q), "met": met,
               "share_met": met / len(q) if len(q) else math.nan, "reason": ""}
        qs = np.quantile(q, list(QUANTILES.values())) if len(q) else [math.nan] * len(QUANTILES)
        row.update(dict(zip(QUANTILES, (float(x) for x in qs))))
        rows.append(row)
        del q
    for d in extra.get("targets_not_evaluated", []):
        rows.append({**d, "runs": runs, "failed": failed, "evaluated": 0, "met": 0, "share_met": math.nan})
    columns = ["id", "description", "variable", "other_variable", "kind", "comparison", "threshold", "year",
               "base_year", "aggregate", "runs", "failed", "evaluated", "met", "share_met", *QUANTILES, "reason"]
    if not rows:  # no target kept: the run counts still go into the file
        rows = [{"id": "", "runs": runs, "failed": failed, "evaluated": 0, "met": 0}]
    summary = pd.DataFrame(rows, columns=columns)
    atomic_write_text(folder / SUMMARY, summary.to_csv(index=False))
    return summary


def _not_evaluated(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """``(id, reason)`` of the summary's rows for targets the sweep could not evaluate."""
    if "reason" not in summary.columns:
        return []
    reasons = summary["reason"].fillna("").astype(str)
    return [(str(i), r) for i, r in zip(summary["id"], reasons) if r and isinstance(i, str) and i]


def format_summary(summary: pd.DataFrame, width: int = 46) -> str:
    """Plain-text table of a sweep summary: target, share of runs meeting it, median and 90 % range."""
    from sim.plan.targets import format_number

    body = []
    skipped = _not_evaluated(summary)
    for r in summary.to_dict("records"):
        if not r.get("id") or not isinstance(r.get("id"), str) or r["id"] in dict(skipped):
            continue
        kind = r.get("kind") or "level"
        desc = " ".join(str(r.get("description", "")).split())
        desc = desc if len(desc) <= width else desc[: width - 1] + "…"
        share = r.get("share_met")
        body.append([
            str(r["id"]), desc,
            "-" if share is None or (isinstance(share, float) and math.isnan(share)) else f"{share * 100:.1f} %",
            format_number(r.get("q50"), kind),
            f"{format_number(r.get('q05'), kind)} – {format_number(r.get('q95'), kind)}",
            f"{r.get('comparison', '')} {format_number(r.get('threshold'), kind)}",
        ])
    header = ["id", "target", "met in", "median", "5 %–95 %", "threshold"]
    tail = ["", "not evaluated:", *(f"  {i}: {why}" for i, why in skipped)] if skipped else []
    if not body:
        return "\n".join(["no target's variables were kept", *tail[1:]])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in (2, 3, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(b) for b in body), *tail])


# --------------------------------------------------------------------------
# Reading a sweep folder (for plots and notebooks)
# --------------------------------------------------------------------------


@dataclass
class SweepFolder:
    """A complete sweep folder read back (everything but the outcomes, which :func:`read_outcomes` streams)."""

    path: Path
    name: str
    manifest: dict
    experiments: pd.DataFrame
    target_values: pd.DataFrame
    summary: pd.DataFrame
    factors: list[str]
    variables: list[str]
    years: list[int]
    targets: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the runs without error, in ``experiments`` order."""
        return self.experiments["error"].isna().to_numpy()


def read_sweep(folder: str | Path) -> SweepFolder:
    """Read a complete sweep folder; raise :class:`InputError` naming what is missing."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    missing = [n for n in (MANIFEST, EXPERIMENTS, OUTCOMES, TARGET_VALUES, SUMMARY) if not (folder / n).is_file()]
    if missing:
        raise InputError(f"{folder}: not a complete sweep folder (missing {', '.join(missing)})")
    manifest = _read_manifest(folder)
    if manifest is None or (manifest.get("extra") or {}).get("kind") != "sweep":
        raise InputError(f"{folder / MANIFEST}: not a sweep manifest")
    spec = manifest["extra"]["sweep"]
    try:
        experiments = pq.read_table(folder / EXPERIMENTS).to_pandas()
        target_values = pq.read_table(folder / TARGET_VALUES).to_pandas()
        summary = pd.read_csv(folder / SUMMARY)
    except Exception as exc:
        raise InputError(f"{folder}: unreadable sweep files: {exc}") from None
    factors = [c for c in experiments.columns if c not in ("run_id", "error")]
    return SweepFolder(folder, spec.get("content", {}).get("name", folder.name), manifest, experiments, target_values,
                       summary, factors, list(spec["variables"]), [int(y) for y in spec["years"]],
                       list(manifest["extra"].get("targets", [])))


def read_outcomes(folder: str | Path, variables: Sequence[str]) -> pd.DataFrame:
    """``run_id``, ``year`` and the given kept variables from ``outcomes.parquet`` (other columns unread)."""
    import pyarrow.parquet as pq

    path = Path(folder) / OUTCOMES
    try:
        return pq.read_table(path, columns=["run_id", "year", *variables]).to_pandas()
    except Exception as exc:
        raise InputError(f"{path}: cannot read {', '.join(variables)}: {exc}") from None


def iter_chunks(folder: str | Path, variables: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
    """``outcomes.parquet`` one row group (one chunk of runs) at a time, for analyses bigger than memory."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(Path(folder) / OUTCOMES)
    columns = None if variables is None else ["run_id", "year", *variables]
    for i in range(handle.num_row_groups):
        yield handle.read_row_group(i, columns=columns).to_pandas()
