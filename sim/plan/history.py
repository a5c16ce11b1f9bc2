"""History mode: the model run from an earlier year's state and compared with the record.

The model starts in 2020 from constants named ``Initial ...`` (the "Initial
State 2020" view of the ``.mdl``). A run from 2015 is the *same* model with
``INITIAL TIME`` = 2015 and those constants set to the 2015 state: no second
copy of any equation. What the 2015 state is, which parameters a fit may move
(within bounds) and which historical events shape the run are written in a
*calibration spec* (TOML under ``scenarios/calibration/``)::

    schema_version = 1
    name = "history_2015_2020"
    description = "..."
    start = 2015                 # INITIAL TIME of the history run
    end = 2020                   # last year fitted
    history = "../../model/data/history.csv"   # relative to this file (default: that file)

    [state]                      # constants fixed at the start year's state (sources in comments)
    "Initial Secondary Share" = 0.161

    [parameters."Initial GDP"]   # fitted: role "state" (history only) or "parameter" (a model default)
    role = "state"
    lower = 110
    upper = 145
    source = "..."

    [[events]]                   # a lever moved by a historical event, its size fitted
    name = "Retail shock 2020"
    lever = "Consumer Demand Index"
    from = 2019                  # value `before` up to here,
    peak = 2020                  # linear to the fitted value here,
    until = 2021                 # back to `after` here (optional)
    lower = 0.8
    upper = 1.1

    [series]                     # history series in the objective and their weights
    GDP = 1

    [fit]                        # optimiser settings
    [acceptance]                 # bounds on the fit statistics (behaviour reproduction)

The history itself is ``model/data/history.csv`` (tidy: ``variable, year,
first_year, value, unit, kind, scope, price_basis, measure, source, note``).
``kind`` is ``reported`` (the plan or a named statistic states it),
``implied`` (arithmetic on reported figures, shown in ``note``), ``expected``
(a work report's expected value, never fitted) or ``out_of_sample`` (every
figure after the calibration cut-off :data:`CUTOFF_YEAR`: never fitted, kept
for the hindcast, :mod:`sim.analysis.hindcast`). ``scope`` is ``district`` (Shuangta),
``city`` (Chaoyang) or ``province`` (Liaoning); only district rows are fitted,
the others are context and priors. ``price_basis`` is ``current``,
``comparable`` or ``none`` (counts, shares). ``measure`` is ``level`` (the
variable's value) or ``growth`` (its relative change on the year before, e.g.
0.023 for +2.3 %); fits use levels only. A row whose ``first_year`` is before
``year`` is a sum of the variable's annual values over ``first_year..year``.
Files without the ``scope``, ``price_basis`` or ``measure`` columns read as
district levels.

Runs use the compiled ensemble runner (:mod:`sim.model.compiler`); a saved value at
year *t* is the model's annual rate at the start of *t* and is compared with
the figure for year *t*, as in the 2020-start model.

This module never prints and never exits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.model.loader import DEFAULT_MODEL, MODEL_DIR
from sim.model.files import file_sha256
from sim.plan.targets import DEFAULT_BASE_YEAR
from sim.resources import scenario_dir

#: The project's record: Shuangta 2013-2021 with Chaoyang and Liaoning context up to 2023.
HISTORY_FILE = MODEL_DIR / "data" / "history.csv"
#: Calibration specs shipped with the project.
SPEC_DIR = scenario_dir() / "calibration"
HISTORY_COLUMNS = ["variable", "year", "first_year", "value", "unit", "kind", "scope", "price_basis", "measure",
                   "source", "note"]
#: Columns a history file may leave out, with the value their rows take.
OPTIONAL_COLUMNS = {"scope": "district", "price_basis": "", "measure": "level"}
KINDS = ("reported", "implied", "expected", "out_of_sample")
SCOPES = ("district", "city", "province")
PRICE_BASES = ("current", "comparable", "none", "")
MEASURES = ("level", "growth")
#: Kinds a fit uses; ``expected`` and ``out_of_sample`` figures are never fitted.
FIT_KINDS = ("reported", "implied")
#: The last year a fit may see: the plan's base year. A figure after it must be ``out_of_sample``
#: and an ``out_of_sample`` figure must come after it (the hindcast scores the model on them).
CUTOFF_YEAR = DEFAULT_BASE_YEAR


# --------------------------------------------------------------------------- the record


def load_history(path: str | Path = HISTORY_FILE) -> pd.DataFrame:
    """Read and check the history file; one row per figure, columns :data:`HISTORY_COLUMNS`.

    Every row needs a variable, whole years with ``first_year <= year``, a
    finite non-zero value (a growth rate may be zero), a unit, a known kind,
    scope, price basis and measure, and a source; a figure after
    :data:`CUTOFF_YEAR` is ``out_of_sample`` and an ``out_of_sample`` figure
    comes after it; a variable, year and measure appear once. Problems raise
    :class:`InputError` listing them all.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={c: str for c in ("variable", "unit", "kind", "scope", "price_basis",
                                                          "measure", "source", "note")},
                            keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read history file: {exc}") from None
    for col, default in OPTIONAL_COLUMNS.items():
        if col not in frame.columns:
            frame[col] = default
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing columns {', '.join(missing)} (need {', '.join(HISTORY_COLUMNS)})")
    problems = []
    for i, row in frame.iterrows():
        line = i + 2
        try:
            year, first, value = int(row["year"]), int(row["first_year"]), float(row["value"])
        except (TypeError, ValueError):
            problems.append(f"line {line}: year, first_year and value must be numbers")
            continue
        if first > year:
            problems.append(f"line {line}: first_year {first} is after year {year}")
        growth = row["measure"] == "growth"
        if not math.isfinite(value) or (value == 0 and not growth):
            problems.append(f"line {line}: value must be finite and non-zero (errors are relative)")
        for col in ("variable", "unit", "source"):
            if not str(row[col]).strip():
                problems.append(f"line {line}: {col} is empty")
        for col, allowed in (("kind", KINDS), ("scope", SCOPES), ("price_basis", PRICE_BASES), ("measure", MEASURES)):
            if row[col] not in allowed:
                problems.append(f"line {line}: {col} {row[col]!r} is not one of {', '.join(a for a in allowed if a)}")
        if year > CUTOFF_YEAR and row["kind"] != "out_of_sample":
            problems.append(f"line {line}: a {year} figure comes after {CUTOFF_YEAR}, so its kind is out_of_sample")
        if year <= CUTOFF_YEAR and row["kind"] == "out_of_sample":
            problems.append(f"line {line}: out_of_sample figures come after {CUTOFF_YEAR}, not in {year}")
    dupes = frame[frame.duplicated(["variable", "year", "first_year", "measure"], keep=False)]
    for (var, year, measure), _ in dupes.groupby(["variable", "year", "measure"]):
        problems.append(f"{var} {year} ({measure}): appears more than once")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    frame["year"] = frame["year"].astype(int)
    frame["first_year"] = frame["first_year"].astype(int)
    frame["value"] = frame["value"].astype(float)
    return frame[HISTORY_COLUMNS]


# --------------------------------------------------------------------------- the spec (structure)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterEntry(_Strict):
    """A constant the fit may move: ``state`` (history only) or ``parameter`` (becomes a model default)."""

    role: Literal["state", "parameter"] = "parameter"
    lower: float | None = None
    upper: float | None = None
    start: float | None = Field(default=None, description="Starting point of the first start (default: the model's value).")
    source: str = ""


class EventEntry(_Strict):
    """A lever moved by a historical event: ``before`` until ``from``, linear to the fitted value at ``peak``,
    linear back to ``after`` at ``until`` (if given), held after."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    lever: str
    from_year: int = Field(alias="from")
    peak: int
    until: int | None = None
    before: float | None = None
    after: float | None = None
    lower: float
    upper: float
    start: float | None = None
    source: str = ""


class FitSettings(_Strict):
    starts: int = Field(default=8, ge=1, description="Latin-hypercube starts (the first is the spec's start point).")
    seed: int = 20201231
    data_error: float = Field(default=0.02, gt=0, description="Relative error of one history figure (1 sigma).")
    profile_points: int = Field(default=9, ge=0, description="Grid points per parameter for the profile (0: none).")
    identified_width: float = Field(default=0.5, gt=0, le=1,
                                    description="A parameter is identified when its 95 % profile interval is narrower "
                                                "than this share of its bounds.")
    max_nfev: int = Field(default=200, ge=10)
    time_step: float | None = None


class Acceptance(_Strict):
    """Bounds on the fit statistics that behaviour reproduction checks."""

    mape_max: float = Field(default=0.05, description="MAPE of the fitted end-year figures (the backcast test).")
    series_mape_max: float = Field(default=0.10, description="MAPE of any one series over the fitted years.")
    um_max: float = Field(default=0.6, description="Theil U_M (bias share of MSE) of a series ...")
    um_min_mape: float = Field(default=0.02, description="... counted only when that series' MAPE exceeds this.")
    um_min_points: int = Field(default=2, ge=1, description="... and only for series with at least this many points "
                                                            "(one point has no spread: U_M is 1 by definition).")
    out_of_sample_mape_max: float | None = Field(default=None, description="MAPE of the expected values after `end`.")


class SpecFile(_Strict):
    schema_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    description: str
    history: str | None = None
    start: int
    end: int
    state: dict[str, float] = Field(default_factory=dict)
    levers: dict[str, float] = Field(default_factory=dict)
    parameters: dict[str, ParameterEntry] = Field(default_factory=dict)
    events: list[EventEntry] = Field(default_factory=list)
    series: dict[str, float]
    fit: FitSettings = Field(default_factory=FitSettings)
    acceptance: Acceptance = Field(default_factory=Acceptance)


# --------------------------------------------------------------------------- the spec (resolved)


@dataclass(frozen=True)
class Free:
    """One fitted quantity: a constant (``state``/``parameter``) or an event's size (``event``)."""

    name: str
    role: str            # "state" | "parameter" | "event"
    lower: float
    upper: float
    prior: float         # the model's value (constants) or the spec's start (events)
    start: float
    source: str = ""
    event: EventEntry | None = None

    @property
    def width(self) -> float:
        return self.upper - self.lower


@dataclass
class CalibrationSpec:
    """A checked calibration spec with its history, ready to run."""

    path: Path
    sha256: str
    content: dict
    file: SpecFile
    history: pd.DataFrame
    history_path: Path
    free: list[Free]
    model_path: Path

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def start(self) -> int:
        return self.file.start

    @property
    def end(self) -> int:
        return self.file.end

    def observations(self, kinds=FIT_KINDS, after_end: bool = False) -> pd.DataFrame:
        """History rows this spec compares: fitted series, years after ``start`` (the state is
        imposed there), up to ``end`` (or after it with ``after_end``), of the given kinds.

        Whatever ``kinds`` says, a fit (``after_end`` false) never sees an
        ``out_of_sample`` or ``expected`` figure, a year after :data:`CUTOFF_YEAR`, a
        city or province figure, or a growth rate (``history`` holds levels only).
        """
        h = self.history
        rows = h[h["variable"].isin(self.file.series) & h["kind"].isin(kinds) & (h["first_year"] > self.start)]
        if after_end:
            rows = rows[rows["year"] > self.end]
        else:
            rows = rows[(rows["year"] <= min(self.end, CUTOFF_YEAR)) & rows["kind"].isin(FIT_KINDS)
                        & (rows["scope"] == "district")]
        rows = rows.copy()
        rows["weight"] = rows["variable"].map(self.file.series).astype(float)
        return rows.sort_values(["variable", "first_year", "year"]).reset_index(drop=True)

    def initial_rows(self) -> pd.DataFrame:
        """History rows at the start year of fitted series: imposed by the state, reported for reference."""
        h = self.history
        return h[h["variable"].isin(self.file.series) & (h["year"] == self.start)].reset_index(drop=True)


def _problems_of(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        out.append(f"{loc}: {err['msg']}")
    return out


def load_spec(path: str | Path, model_path: str | Path = DEFAULT_MODEL) -> CalibrationSpec:
    """Read a calibration spec and check it against the model and the history.

    Checks: structure (unknown keys forbidden), then meaning: every name is a
    constant of the model; fitted catalogue entries (levers, uncertain
    parameters) keep their bounds inside the model's ``[min,max]``; other
    fitted constants give bounds; starts lie inside bounds; every series is
    a model variable with history rows to fit. All problems raise together.
    """
    from sim.model.compiler import compile_model

    path = Path(path)
    content = read_toml(path, "calibration spec")
    try:
        spec = SpecFile.model_validate(content)
    except ValidationError as exc:
        raise InputError(f"{path}: " + "; ".join(_problems_of(exc))) from None
    history_path = (path.parent / spec.history).resolve() if spec.history else HISTORY_FILE
    history = load_history(history_path)
    history = history[history["measure"] == "level"].reset_index(drop=True)   # growth rates: the hindcast's
    model_path = Path(model_path)
    compiled = compile_model(model_path)
    catalogue = _catalogue_ranges(model_path)
    constants = compiled.constants
    problems: list[str] = []

    def known(name: str, where: str) -> bool:
        if name not in constants:
            near = [c for c in constants if c.lower() == name.lower()]
            hint = f"; did you mean {near[0]!r}?" if near else ""
            problems.append(f"{where}: {name!r} is not a constant of {model_path.name}{hint}")
            return False
        return True

    if spec.end <= spec.start:
        problems.append(f"end {spec.end} must be after start {spec.start}")
    if spec.end > CUTOFF_YEAR:
        problems.append(f"end {spec.end} is after {CUTOFF_YEAR}: later figures are out of sample, never fitted")
    for name in spec.state:
        known(name, "state")
    for name in spec.levers:
        known(name, "levers")
    free: list[Free] = []
    for name, entry in spec.parameters.items():
        if not known(name, f"parameters.{name}"):
            continue
        if name in spec.state or name in spec.levers:
            problems.append(f"parameters.{name}: also set in [state] or [levers]")
        rng = catalogue.get(name)
        lower = entry.lower if entry.lower is not None else (rng[0] if rng else None)
        upper = entry.upper if entry.upper is not None else (rng[1] if rng else None)
        if lower is None or upper is None:
            problems.append(f"parameters.{name}: not a lever or uncertain parameter of the model, so give lower and upper")
            continue
        if not lower < upper:
            problems.append(f"parameters.{name}: lower {lower} must be below upper {upper}")
            continue
        if rng and (lower < rng[0] or upper > rng[1]):
            problems.append(f"parameters.{name}: bounds [{lower}, {upper}] leave the model's range [{rng[0]}, {rng[1]}]")
        if entry.role == "parameter" and not rng:
            problems.append(f"parameters.{name}: role 'parameter' (a model default) needs a LEVER or UNCERTAIN constant")
        prior = float(constants[name])
        start = entry.start if entry.start is not None else min(max(prior, lower), upper)
        if not lower <= start <= upper:
            problems.append(f"parameters.{name}: start {start} outside [{lower}, {upper}]")
        free.append(Free(name, entry.role, float(lower), float(upper), prior, float(start), entry.source))
    names = set()
    for ev in spec.events:
        where = f"events.{ev.name}"
        if ev.name in names or ev.name in spec.parameters:
            problems.append(f"{where}: name used twice")
        names.add(ev.name)
        if not known(ev.lever, where):
            continue
        if not ev.from_year < ev.peak or (ev.until is not None and not ev.peak < ev.until):
            problems.append(f"{where}: years must increase: from < peak < until")
        if not ev.lower < ev.upper:
            problems.append(f"{where}: lower {ev.lower} must be below upper {ev.upper}")
            continue
        rng = catalogue.get(ev.lever)
        if rng and (ev.lower < rng[0] or ev.upper > rng[1]):
            problems.append(f"{where}: bounds [{ev.lower}, {ev.upper}] leave {ev.lever}'s range [{rng[0]}, {rng[1]}]")
        before = ev.before if ev.before is not None else float(constants[ev.lever])
        start = ev.start if ev.start is not None else min(max(before, ev.lower), ev.upper)
        free.append(Free(ev.name, "event", ev.lower, ev.upper, start, start, ev.source, ev))
    outputs = set(compiled.variables)
    have = set(history["variable"])
    for name, weight in spec.series.items():
        if name not in outputs:
            problems.append(f"series: {name!r} is not a variable of {model_path.name}")
        elif name not in have:
            problems.append(f"series: {name!r} has no rows in {history_path.name}")
        if not weight >= 0:
            problems.append(f"series.{name}: weight must be >= 0")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    result = CalibrationSpec(
        path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), content=content, file=spec,
        history=history, history_path=history_path, free=free, model_path=model_path,
    )
    if result.observations().empty:
        raise InputError(f"{path}: no history rows to fit between {spec.start + 1} and {spec.end}")
    return result


def _catalogue_ranges(model_path: Path) -> dict[str, tuple[float, float]]:
    """``{name: (lower, upper)}`` of the model's levers and uncertain parameters (from the .mdl)."""
    from sim.model.loader import load_model

    model = load_model(model_path, calibrated=False)
    return {name: (lev.lower, lev.upper) for name, lev in model.catalogue.items()}


# --------------------------------------------------------------------------- runs


@dataclass
class HistoryRunner:
    """Runs a spec's history: the model from ``start`` with the spec's state, levers and fitted values.

    ``run(values)`` takes ``{free name: (N,) array}`` for any subset of the
    spec's free quantities (the rest at their ``start``) and returns the
    ensemble result with one saved value per year up to ``final_time``.
    """

    spec: CalibrationSpec
    final_time: float | None = None
    base: dict = field(default_factory=dict)   # constants set before the spec's (e.g. calibrated defaults)
    compiled: object = field(init=False, repr=False)

    def __post_init__(self):
        from sim.model.compiler import compile_model, with_settings

        base = compile_model(self.spec.model_path)
        self.compiled = with_settings(base, initial_time=self.spec.start, saveper=1)
        if self.final_time is None:
            h = self.spec.history
            later = h[(h["year"] > self.spec.end) & h["variable"].isin(self.spec.file.series)]["year"]
            self.final_time = float(max([self.spec.end, *later.tolist()]))
        self.time_step = self.spec.file.fit.time_step
        self.steps = self.compiled.step_times(final_time=self.final_time, time_step=self.time_step)

    @property
    def free(self) -> list[Free]:
        return self.spec.free

    def vector(self, values: dict | None = None) -> np.ndarray:
        """Free values in spec order (``start`` where not given)."""
        values = values or {}
        return np.array([float(values.get(f.name, f.start)) for f in self.free])

    def event_series(self, free: Free, size: np.ndarray) -> np.ndarray:
        """The lever's value on the step grid for each event size: shape (N, S)."""
        ev = free.event
        before = ev.before if ev.before is not None else float(self.compiled.constants[ev.lever])
        years = [ev.from_year, ev.peak]
        out = np.empty((len(size), len(self.steps)))
        for i, x in enumerate(size):
            pts = [before, x]
            if ev.until is not None:
                after = ev.after if ev.after is not None else before
                out[i] = np.interp(self.steps, years + [ev.until], pts + [after])
            else:
                out[i] = np.interp(self.steps, years, pts)
        return out

    def params(self, matrix: np.ndarray) -> dict:
        """Run parameters for a (N, P) matrix of free values (columns in spec order)."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        params: dict = {**self.base, **self.spec.file.state, **self.spec.file.levers}
        for j, f in enumerate(self.free):
            col = matrix[:, j]
            if f.role == "event":
                params[f.event.lever] = self.event_series(f, col)
            else:
                params[f.name] = col if len(col) > 1 else float(col[0])
        return params

    def run(self, matrix: np.ndarray, columns: list[str] | None = None):
        """Run N members (rows of ``matrix``); saved once a year from ``start`` to ``final_time``."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        cols = columns or sorted(set(self.spec.file.series))
        return self.compiled.run(params=self.params(matrix), n=matrix.shape[0], return_columns=cols,
                                 final_time=self.final_time, time_step=self.time_step)


def model_variable(variable: str, price_basis: str, names) -> str:
    """The model variable a history figure is compared with: for a figure in current prices, the model's
    current-price counterpart (``<variable> Current Prices`` or ``Nominal <variable>``) when it has one."""
    if price_basis == "current":
        for candidate in (f"{variable} Current Prices", f"Nominal {variable}"):
            if candidate in names:
                return candidate
    return variable


def series_columns(series, names) -> list[str]:
    """The model columns a run needs to compare history ``series`` on any price basis."""
    names = set(names)
    return sorted(set(series) | {model_variable(v, "current", names) for v in series})


def with_model_variables(rows: pd.DataFrame, names) -> pd.DataFrame:
    """``rows`` with a ``model_variable`` column (see :func:`model_variable`) and ``rebase``: a level in
    comparable prices of a year before the cutoff (derived from the cutoff year's current-price figure and a
    real growth rate, as the plan's 2019 figures are) is compared with the model's value in the cutoff
    year's prices, ``current(cutoff) x real(year) / real(cutoff)``."""
    rows = rows.copy()
    names = set(names)
    basis = rows["price_basis"].astype(str) if "price_basis" in rows else pd.Series("", index=rows.index)
    current = [model_variable(v, "current", names) for v in rows["variable"]]
    rows["rebase"] = [(b == "comparable") and (c != v) and (y < CUTOFF_YEAR)
                      for v, b, c, y in zip(rows["variable"], basis, current, rows["year"])]
    rows["model_variable"] = [c if (b == "current" or r) else v
                              for v, b, c, r in zip(rows["variable"], basis, current, rows["rebase"])]
    return rows


def model_values(result, rows: pd.DataFrame) -> np.ndarray:
    """The model's counterpart of each history row: (N, R). Sums over ``first_year..year`` for sums.
    A row's ``model_variable`` (:func:`with_model_variables`) names the model variable when given."""
    times = np.round(np.asarray(result.times, dtype=float), 6)
    out = np.empty((result.n, len(rows)))

    def index(year) -> int:
        hit = np.flatnonzero(np.isclose(times, year))
        return int(hit[0]) if len(hit) else -1

    for k, row in enumerate(rows.itertuples(index=False)):
        years = np.arange(row.first_year, row.year + 1, dtype=float)
        idx = [index(y) for y in years]
        if min(idx) < 0:
            raise InputError(f"{row.variable} {row.year}: the run does not cover {row.first_year}-{row.year}")
        if getattr(row, "rebase", False):
            ref = index(CUTOFF_YEAR)
            if ref < 0:
                raise InputError(f"{row.variable} {row.year}: the run does not reach {CUTOFF_YEAR}, the figure's price year")
            real, current = result.values[row.variable], result.values[row.model_variable]
            out[:, k] = (real[:, idx] * (current[:, ref] / real[:, ref])[:, None]).sum(axis=1)
        else:
            out[:, k] = result.values[getattr(row, "model_variable", row.variable)][:, idx].sum(axis=1)
    return out


def spec_paths(folder: str | Path = SPEC_DIR) -> list[Path]:
    """Calibration specs in a folder, sorted."""
    return sorted(Path(folder).glob("*.toml"))


def history_sha256(spec: CalibrationSpec) -> str:
    return file_sha256(spec.history_path)
