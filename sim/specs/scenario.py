"""Scenario files: schema, inheritance, and checks against the model.

A scenario is a TOML file that sets policy levers::

    schema_version = 1
    name = "plan"
    description = "Levers at the values the plan states"
    base = "baseline"                      # optional: inherit from another scenario

    [levers]
    "Investment Rate" = 0.35               # a constant over the run
    "Project Realisation Rate" = { "2021" = 0.6, "2025" = 0.8 }   # a time series

    [levers."Key Project Investment"]      # a time series held in steps
    2021 = 400
    2023 = 800
    step = true

    [run]                                  # optional
    final_time = 2030
    time_step = 0.125

Lever keys are the model's Vensim names exactly. A file is checked in two stages
before anything runs:

1. *structure* (:func:`read_scenario_file`): TOML syntax, then the pydantic
   schema (:class:`ScenarioFile`, unknown keys forbidden), then the chain of
   ``base`` files (missing files and cycles are errors);
2. *meaning* (:func:`check_scenario`): each lever exists in the model and is a
   lever, every value lies in the lever's ``[min,max]`` range, every year lies
   inside the run.

Every problem is reported as ``(file, key, message)``; the key is a dotted path
such as ``levers.Project Realisation Rate.2030``. All problems of all files in
a chain are collected and raised together as one
:class:`sim.errors.ScenarioError`. The value checks are reusable with another
set of allowed kinds (:func:`lever_problems`), so that sweeps may set
uncertain parameters as well.

This module never prints and never exits.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from sim.errors import ScenarioError
from sim.resources import scenario_dir
from sim.specs.scenario_schema import (RUN_KEYS, SCHEMA_VERSION, TOP_KEYS, ScenarioFile, check_base, check_final_time, check_identifier, check_text, check_time_step)
from sim.specs.levers import LeverValue, RunSettings, Scenario, to_lever_value
from sim.specs.validation import did_you_mean, show_number, show_value

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.loader import Model

__all__ = [
    "SCHEMA_VERSION",
    "SCENARIO_DIR",
    "ScenarioFile",
    "load_scenario",
    "read_scenario_file",
    "read_toml_file",
    "ParsedFile",
    "check_scenario",
    "lever_problems",
    "validate_files",
]


#: The project's scenario folder: the second place a ``base`` name is looked up.
SCENARIO_DIR = scenario_dir()  # the checkout's or the installed copy (sim.resources)

#: Model variables that belong to ``[run]``, not to ``[levers]``.
CONTROL = {
    "INITIAL TIME": "fixed by the model",
    "FINAL TIME": "set it as [run] final_time",
    "TIME STEP": "set it as [run] time_step",
    "SAVEPER": "fixed by the model",
    "Time": "the simulation clock",
}

Problem = tuple[str, str, str]

KIND_TEXT = {"lever": "lever", "uncertain": "uncertain parameter"}


# --------------------------------------------------------------------------
# Small helpers for messages
# --------------------------------------------------------------------------


def range_text(lever) -> str:
    units = f" {lever.units}" if lever.units and lever.units.lower() not in ("", "nan") else ""
    return f"[{show_number(lever.lower)}, {show_number(lever.upper)}]{units}"


def key_of(*parts: Any) -> str:
    return ".".join(str(p) for p in parts if p != "")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------
# Runtime values
# --------------------------------------------------------------------------
# Stage 1: structure of one file
# --------------------------------------------------------------------------


@dataclass
class ParsedFile:
    """What one file contributes before its base is resolved (:func:`read_scenario_file`).

    ``problems`` lists its structural problems; the well-formed parts are kept
    even when there are problems, so that their meaning can still be checked.
    """

    path: Path
    label: str
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    description: str | None = None
    base: str | None = None
    lever_names: list[str] = field(default_factory=list)  # every key under [levers]
    levers: dict[str, LeverValue] = field(default_factory=dict)  # only the well-formed ones
    run: dict[str, float] = field(default_factory=dict)


def read_toml_file(path: str | Path, label: str, what: str = "scenario file",
                   needs: str = "a scenario needs at least schema_version, name and description",
                   ) -> tuple[dict | None, list[Problem]]:
    """Read a TOML input file; never raises for a bad file.

    Returns ``(document, [])``, or ``(None, [problem])`` with one
    ``(label, "", message)`` problem when the file is missing, a folder,
    unreadable, not UTF-8, empty, not valid TOML or without keys. ``what``
    names the kind of file ("is a folder, not a scenario file"); ``needs`` ends
    the message for a file without keys ("file is empty; a scenario needs ...").
    Scenario, sweep and sensitivity files are read with it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [(label, "", "file not found")]
    except IsADirectoryError:
        return None, [(label, "", f"is a folder, not a {what}")]
    except OSError as exc:
        return None, [(label, "", f"cannot read the file: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [(label, "", f"not UTF-8 text (bad byte at line {line})")]
    if not text.strip():
        return None, [(label, "", f"file is empty; {needs}")]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [(label, "", f"not valid TOML: {one_line(str(exc))}")]
    if not doc:
        return None, [(label, "", f"file has no keys (only comments); {needs}")]
    return doc, []


def _translate(error: dict, label: str) -> Problem:
    """One pydantic error as ``(file, dotted key, message)``."""
    loc = list(error["loc"])
    if loc and loc[-1] == "[key]":  # the problem is the key itself (e.g. a bad year): report at the key
        loc.pop()
    # Drop the internal parts of the location: union tags and the `points` field of a time series.
    if len(loc) >= 3 and loc[0] == "levers" and loc[2] in ("number", "series"):
        del loc[2]
        if len(loc) >= 3 and loc[2] == "points":
            del loc[2]
    key = key_of(*loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        what = {
            "schema_version": f"the file format version, {SCHEMA_VERSION}",
            "name": "an identifier: ASCII letters, digits, '-' and '_'",
            "description": "a sentence saying what the scenario assumes",
        }.get(key, "")
        return (label, key, "required key is missing" + (f" ({what})" if what else ""))
    if kind == "extra_forbidden":
        parent, bad = loc[:-1], str(loc[-1])
        allowed = RUN_KEYS if parent == ["run"] else TOP_KEYS
        where = "in [run]" if parent == ["run"] else "at the top level"
        hint = did_you_mean(bad, allowed)
        if not hint and parent == []:
            hint = " (levers go under [levers])"
        msg = f"unknown key {bad!r} {where}; allowed: {', '.join(allowed)}" + hint
        return (label, key, msg)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if key == "levers":
            return (label, key, f"must be a table of lever = value; got {show_value(value)}")
        if key == "run":
            return (label, key, f"must be a table with final_time and/or time_step; got {show_value(value)}")
        return (label, key, f"must be a table; got {show_value(value)}")
    if kind == "scenario":  # our own messages
        return (label, key, one_line(error["msg"]))
    return (label, key, one_line(f"{error['msg']}; got {show_value(value)}"))


def read_scenario_file(path: str | Path) -> ParsedFile:
    """Read one file and check its structure; never raises for a bad file.

    Returns the file's contribution with every structural problem in
    ``.problems`` and the well-formed parts kept, so that the meaning of the
    rest can still be checked and all of a file's errors reported together.
    """
    path = Path(path)
    data = ParsedFile(path=path, label=str(path))
    doc, data.problems = read_toml_file(path, data.label)
    if doc is None:
        return data
    try:
        parsed = ScenarioFile.model_validate(doc)
    except ValidationError as exc:
        data.problems.extend(_translate(e, data.label) for e in exc.errors())
        _salvage(doc, data)
        return data
    data.name, data.description, data.base = parsed.name, parsed.description, parsed.base
    data.lever_names = list(parsed.levers)
    data.levers = {k: to_lever_value(v) for k, v in parsed.levers.items()}
    data.run = {k: v for k, v in parsed.run.model_dump().items() if v is not None}
    return data


def _salvage(doc: dict, data: ParsedFile) -> None:
    """Keep the well-formed parts of a file that failed validation (for the meaning checks)."""
    for key, fn in (("name", check_identifier), ("description", check_text), ("base", check_base)):
        try:
            setattr(data, key, fn(doc.get(key)))
        except PydanticCustomError:
            pass
    levers = doc.get("levers")
    if isinstance(levers, dict):
        data.lever_names = list(levers)
        for name, raw in levers.items():
            try:
                data.levers[name] = LeverValue.parse(raw)
            except ValidationError:
                pass
    run = doc.get("run")
    if isinstance(run, dict):
        for key, fn in (("final_time", check_final_time), ("time_step", check_time_step)):
            if key in run:
                try:
                    data.run[key] = fn(run[key])
                except PydanticCustomError:
                    pass


# --------------------------------------------------------------------------
# Base chains
# --------------------------------------------------------------------------


def _is_path(ref: str) -> bool:
    """``base`` is a path (relative to the file, or absolute) rather than a scenario name."""
    return "/" in ref or "\\" in ref or ref.endswith(".toml")


def _base_candidates(ref: str, child: Path, search_dirs: Sequence[Path]) -> list[Path]:
    if _is_path(ref):
        p = Path(ref).expanduser()
        return [p if p.is_absolute() else child.parent / p]
    return [child.parent / f"{ref}.toml", *(Path(d) / f"{ref}.toml" for d in search_dirs)]


def _known_names(child: Path, search_dirs: Sequence[Path]) -> list[str]:
    names: set[str] = set()
    for folder in (child.parent, *search_dirs):
        try:
            names.update(p.stem for p in Path(folder).glob("*.toml"))
        except OSError:
            pass
    return sorted(names)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a.absolute() == b.absolute()


def _read_chain(path: Path, search_dirs: Sequence[Path]) -> tuple[list[ParsedFile], list[Problem]]:
    """Read ``path`` and its bases; return the files root-first and every structural problem, leaf first."""
    files: list[ParsedFile] = []
    problems: list[Problem] = []
    current = read_scenario_file(path)
    while True:
        files.append(current)
        problems.extend(current.problems)
        if not current.base:
            break
        candidates = _base_candidates(current.base, current.path, search_dirs)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            looked = " and ".join(str(c) for c in candidates)
            hint = "" if _is_path(current.base) else did_you_mean(current.base, _known_names(current.path, search_dirs))
            problems.append((current.label, "base", f"base scenario {current.base!r} not found (looked for {looked}){hint}"))
            break
        start = next((f for f in files if _same(found, f.path)), None)
        if start is not None:
            # Reported at the first file of the loop: the one whose base chain comes back to it.
            loop = " -> ".join([*(f.label for f in files), start.label])
            problems.append((start.label, "base", f"cycle of base scenarios: {loop}"))
            break
        current = read_scenario_file(found)
    files.reverse()
    return files, problems


def _merge(files: list[ParsedFile]) -> dict[str, Any]:
    """Merge a chain (root first): levers lever by lever, [run] field by field, the child winning."""
    levers: dict[str, LeverValue] = {}
    sources: dict[str, Path] = {}
    names: dict[str, Path] = {}
    run: dict[str, float] = {}
    run_sources: dict[str, Path] = {}
    for f in files:
        for name in f.lever_names:
            names[name] = f.path
            levers.pop(name, None)  # a malformed override does not fall back to the base's value
        for name, value in f.levers.items():
            levers[name] = value
            sources[name] = f.path
        for key, value in f.run.items():
            run[key] = value
            run_sources[key] = f.path
    return {"levers": levers, "sources": sources, "names": names, "run": run, "run_sources": run_sources}


# --------------------------------------------------------------------------
# Stage 2: meaning, against the model
# --------------------------------------------------------------------------


def _run_window(model: "Model", final_time: float | None) -> tuple[float, float]:
    start = model.settings["initial_time"]
    end = model.settings["final_time"] if final_time is None else final_time
    return start, end


def _variable_types(model: "Model") -> dict[str, str]:
    try:
        return {str(r["Real Name"]): str(r["Type"]) for r in model.doc.to_dict("records")}
    except Exception:  # a model without a PySD doc table: names only
        return {n: "variable" for n in getattr(model, "variables", [])}


def lever_problems(
    values: Mapping[str, LeverValue | None],
    model: "Model",
    *,
    file: str | Mapping[str, str],
    allowed_kinds: Sequence[str] = ("lever",),
    window: tuple[float, float] | None = None,
    prefix: str = "levers",
) -> list[Problem]:
    """Check names and values against the model's catalogue; return the problems (never raises).

    ``values`` maps a Vensim name to its value (``None``: the value was
    malformed and is already reported; only the name is checked).
    ``allowed_kinds`` is ``("lever",)`` for scenarios; sweeps and sensitivity
    studies pass ``("lever", "uncertain")``. ``window`` is ``(initial, final)``
    of the run (default: the model's); every year of a time series must lie in
    it. ``file`` is the file label, or a mapping from name to label when the
    values come from several files. Keys are reported as ``prefix.name[.year]``.
    """
    catalogue = model.catalogue
    allowed = [n for n, lev in catalogue.items() if lev.kind in allowed_kinds]
    kinds_text = " or ".join(KIND_TEXT.get(k, k) for k in allowed_kinds)
    a_kinds = ("an " if kinds_text[:1] in "aeiou" else "a ") + kinds_text
    types = None
    start, end = window if window is not None else _run_window(model, None)
    problems: list[Problem] = []
    for name, value in values.items():
        label = file if isinstance(file, str) else str(file.get(name, ""))
        key = key_of(prefix, name)
        lever = catalogue.get(name)
        if lever is None:
            if types is None:
                types = _variable_types(model)
            if name in CONTROL:
                problems.append((label, key, f"{name!r} is a simulation setting, not {a_kinds}: {CONTROL[name]}"))
            elif name in types:
                problems.append(
                    (label, key, f"{name!r} is a model variable ({types[name]}) but not {a_kinds}: only constants "
                     f"tagged {' or '.join(k.upper() + ':' for k in allowed_kinds)} in the model may be set"
                     + did_you_mean(name, allowed))
                )
            else:
                problems.append(
                    (label, key, f"unknown {kinds_text} {name!r}: not in the model {Path(model.path).name}"
                     + (did_you_mean(name, allowed) or f"; `shuangta levers{'' if set(allowed_kinds) == {'lever'} else ' --all'}` lists them"))
                )
            continue
        if lever.kind not in allowed_kinds:
            what = {"uncertain": "an uncertain parameter", "lever": "a policy lever"}.get(lever.kind, lever.kind)
            where = (
                "scenarios may set levers only; vary it in a sweep or sensitivity study"
                if lever.kind == "uncertain"
                else f"only {a_kinds} may be set here"
            )
            problems.append((label, key, f"{name!r} is {what} (range {range_text(lever)}), not {a_kinds}: {where}"))
            continue
        if value is None:
            continue
        for year, x in value.items():
            k = key if year is None else key_of(key, year)
            if not lever.lower <= x <= lever.upper:
                extra = " (this lever cannot be negative)" if x < 0 <= lever.lower else ""
                problems.append(
                    (label, k, f"{show_number(x)} is outside the allowed range {range_text(lever)} of {KIND_TEXT.get(lever.kind, lever.kind)} {name!r}{extra}")
                )
            if year is not None and not start <= year <= end:
                problems.append(
                    (label, k, f"year {year} lies outside the run {show_number(start)}-{show_number(end)} "
                     f"(INITIAL TIME to final_time); time-series years must be within it")
                )
    return problems


def _run_problems(run: Mapping[str, float], run_sources: Mapping[str, Path], model: "Model") -> list[Problem]:
    problems: list[Problem] = []
    start = model.settings["initial_time"]
    final = run.get("final_time")
    if final is not None and final <= start:
        problems.append(
            (str(run_sources["final_time"]), "run.final_time",
             f"{show_number(final)} is not after the model's INITIAL TIME {show_number(start)}; final_time must be a later year")
        )
    step = run.get("time_step")
    saveper = model.settings.get("saveper")
    if step is not None and saveper:
        ratio = saveper / step
        if ratio < 1 or not float(ratio).is_integer():
            problems.append(
                (str(run_sources["time_step"]), "run.time_step",
                 f"{show_number(step)} does not divide the model's SAVEPER {show_number(saveper)}; results are saved every SAVEPER years")
            )
    return problems


def _meaning_problems(merged: Mapping[str, Any], model: "Model") -> list[Problem]:
    run = merged["run"]
    problems = _run_problems(run, merged["run_sources"], model)
    final = run.get("final_time")
    if final is not None and final <= model.settings["initial_time"]:
        final = None  # already reported; check years against the model's own run
    values = {name: merged["levers"].get(name) for name in merged["names"]}
    labels = {name: str(path) for name, path in merged["names"].items()}
    problems += lever_problems(values, model, file=labels, window=_run_window(model, final))
    return problems


def _ordered(problems: list[Problem], labels: Sequence[str]) -> list[Problem]:
    """Problems grouped by file (leaf first), order within a file kept, duplicates dropped."""
    rank = {label: i for i, label in enumerate(labels)}
    seen: set[Problem] = set()
    unique = [p for p in problems if not (p in seen or seen.add(p))]
    return sorted(unique, key=lambda p: rank.get(p[0], len(rank)))


def check_scenario(scenario: Scenario, model: "Model") -> None:
    """Check a resolved scenario against the model; raise :class:`ScenarioError` with every problem.

    Each lever must exist in ``model.catalogue`` with kind ``"lever"``, each
    value (every point of a series) must lie in its range, each year inside
    the run; ``[run]`` must fit the model's INITIAL TIME and SAVEPER.
    """
    merged = {
        "levers": scenario.levers,
        "names": {n: scenario.sources.get(n, scenario.path) for n in scenario.levers},
        "run": scenario.run.to_jsonable(),
        "run_sources": {k: scenario.run_sources.get(k, scenario.path) for k in scenario.run.to_jsonable()},
    }
    problems = _meaning_problems(merged, model)
    if problems:
        labels = [str(p) for p in reversed(scenario.chain)]
        raise ScenarioError(_ordered(problems, labels))


def load_scenario(
    path: str | Path,
    model: "Model | None" = None,
    *,
    search_dirs: Sequence[str | Path] | None = None,
) -> Scenario:
    """Read a scenario file, resolve its chain of bases and (given a model) check its meaning.

    ``base = "name"`` is looked up as ``name.toml`` next to the file, then in
    each of ``search_dirs`` (default: the project's ``scenarios/`` folder); a
    base containing ``/`` or ending in ``.toml`` is a path (relative to the
    file). The child's levers replace the base's lever by lever; ``[run]``
    merges field by field; ``name`` and ``description`` are the child's.

    Raises :class:`ScenarioError` listing every problem of every file in the
    chain (structure always; meaning when ``model`` is given).
    """
    path = Path(path)
    dirs = [Path(d) for d in (search_dirs if search_dirs is not None else [SCENARIO_DIR])]
    files, problems = _read_chain(path, dirs)
    merged = _merge(files)
    if model is not None:
        problems += _meaning_problems(merged, model)
    if problems:
        raise ScenarioError(_ordered(problems, [f.label for f in reversed(files)]))
    leaf = files[-1]
    return Scenario(
        name=leaf.name,
        description=leaf.description,
        path=path,
        chain=[f.path for f in files],
        levers=merged["levers"],
        run=RunSettings(**merged["run"]),
        sources=merged["sources"],
        run_sources=merged["run_sources"],
    )


def validate_files(
    paths: Iterable[str | Path], model: "Model | None" = None, **kwargs
) -> tuple[list[str | Path], list[Problem]]:
    """Load each file; return ``(valid files as given, every problem of the others)``.

    Does not raise :class:`ScenarioError` (the caller decides); a base shared
    by several files reports its problems once. ``kwargs`` go to
    :func:`load_scenario`.
    """
    ok: list[str | Path] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            load_scenario(p, model, **kwargs)
        except ScenarioError as exc:
            problems.extend(q for q in exc.problems if q not in problems)
        else:
            ok.append(p)
    return ok, problems
