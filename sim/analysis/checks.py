"""The validation suite behind ``shuangta check`` (Sterman 2000, ch. 21; Barlas 1996).

Seven tests, each a function returning a :class:`CheckResult` (pass or fail,
a one-line summary, the figures behind it and every failure found):

* :func:`check_dimensions` -- units of every equation with pint (:mod:`sim.model.units`);
* :func:`check_extremes` -- every lever at its minimum and at its maximum, one at
  a time and all together, in one ensemble run: no NaN, no negative stock, no
  value outside the physical bounds written in ``model/data/reality_checks.toml``;
  the same for every uncertain parameter (``extremes-uncertain``: the ranges
  a sensitivity analysis samples must give a working model too);
* :func:`check_integration` -- TIME STEP halved and quartered moves the main
  outputs in 2025 by less than the stated tolerance;
* :func:`check_conservation` -- every stock equals its initial value plus its
  integrated net flow (the flow re-evaluated from the ``.mdl``'s own equation);
* :func:`check_behaviour` -- the backcast stored in ``model/data/calibration.csv``
  reproduces history within the bounds of its calibration spec;
* :func:`check_reality` -- the reality checks written as data: lever and
  parameter changes with the qualitative outcome a credible model must show.

Ensemble runs use the loaded model's runner with its calibrated defaults
(:attr:`sim.model.loader.Model.compiled`). This module never prints and never exits.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.model.loader import DEFAULT_MODEL, MODEL_DIR
from sim.resources import root as resources_root
from sim.resources import scenario_dir

log = logging.getLogger(__name__)

#: The project's validation data.
REALITY_CHECKS = MODEL_DIR / "data" / "reality_checks.toml"
SCENARIO_DIR = scenario_dir()
#: Relative tolerance for "equal" and "none" expectations and for stocks below zero.
EQUAL_RTOL = 1e-9


@dataclass
class CheckResult:
    """Outcome of one test: ``passed``, a one-line ``summary``, ``figures`` and the lines of ``details``."""

    name: str
    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- the data file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Settings(_Strict):
    integration_year: int = 2025
    integration_tolerance: float = 0.005
    integration_scenarios: list[str] = Field(default_factory=lambda: ["baseline"])
    main_outputs: list[str] = Field(default_factory=list)
    final_time: float | None = None
    conservation_tolerance: float = 1e-9
    conservation_scenarios: list[str] = Field(default_factory=list)


class Bound(_Strict):
    variable: str
    min: float | None = None
    max: float | None = None
    le: str | None = None
    le_rtol: float = Field(default=EQUAL_RTOL, ge=0, description="Relative slack of 'le', with its reason in the data file.")
    min_growth: float | None = None
    max_growth: float | None = None


class Expectation(_Strict):
    variable: str
    from_year: int = Field(alias="from")
    to: int
    change: Literal["increase", "decrease", "none"] | None = None
    strict: bool = False
    versus_baseline: Literal["lower", "higher", "equal", "not lower", "not higher"] | None = None
    tolerance: float = Field(default=0.0, ge=0, description="Absolute slack of 'not lower' / 'not higher'.")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [self.change is not None, self.versus_baseline is not None, self.min is not None or self.max is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of change, versus_baseline, or min/max")
        if self.to < self.from_year:
            raise ValueError("'to' must not be before 'from'")
        return self


class RealityCheck(_Strict):
    name: str
    description: str = ""
    set: dict[str, object] = Field(default_factory=dict)
    expect: list[Expectation]


class Range(_Strict):
    """A documented range a variable must stay in, in the named scenarios and years."""

    variable: str
    min: float
    max: float
    years: list[int]
    scenarios: list[str] = Field(default_factory=lambda: ["baseline", "plan"])
    source: str


class LeverBox(_Strict):
    """The whole lever box: every lever and uncertain parameter at its extremes and random corners,
    judged by two analogue quantities of ``sim/data/analogues.toml`` (their bounds and sources live there)."""

    corners: int = Field(default=1000, ge=0)
    seed: int = 0
    investment_share: str = Field(description="Analogue quantity id of the largest investment/GDP ratio.")
    long_growth: str = Field(description="Analogue quantity id of the fastest long-run growth (start..end).")


class Structure(_Strict):
    ranges: list[Range] = Field(default_factory=list)
    lever_box: LeverBox | None = None


class ChecksFile(_Strict):
    schema_version: Literal[1]
    settings: Settings = Field(default_factory=Settings)
    bounds: list[Bound] = Field(default_factory=list)
    checks: list[RealityCheck] = Field(default_factory=list)
    structure: Structure = Field(default_factory=Structure)


def load_checks(path: str | Path = REALITY_CHECKS) -> ChecksFile:
    """Read the validation data file (structure checked; names are checked when the tests run)."""
    path = Path(path)
    data = read_toml(path, "validation data file")
    try:
        return ChecksFile.model_validate(data)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: {errs}") from None


# --------------------------------------------------------------------------- helpers


def _lever_values(raw: dict) -> dict:
    """``{name: LeverValue}`` from numbers or ``{year = value}`` tables."""
    from sim.specs.levers import LeverValue

    out = {}
    for name, value in raw.items():
        try:
            out[name] = LeverValue.parse(value)
        except (ValidationError, ValueError) as exc:
            raise InputError(f"{name}: not a number or a table of year = value: {exc}") from None
    return out


def ensemble_params(members: list[dict], steps: np.ndarray, defaults: dict) -> dict:
    """Run parameters for N members, each ``{name: LeverValue}``; others at their defaults.

    A name set as a series by any member becomes an (N, S) array, otherwise (N,)."""
    names = sorted({n for m in members for n in m})
    unknown = [n for n in names if n not in defaults]
    if unknown:
        raise InputError(f"not constants of the model: {', '.join(unknown)}")
    params = {}
    for name in names:
        series = any(m[name].is_series for m in members if name in m)
        if series:
            arr = np.empty((len(members), len(steps)))
            for i, m in enumerate(members):
                arr[i] = m[name].at(steps) if name in m else defaults[name]
        else:
            arr = np.array([m[name].value if name in m else defaults[name] for m in members], dtype=float)
        params[name] = arr
    return params


def year_index(times: np.ndarray, year: float) -> int:
    hit = np.flatnonzero(np.isclose(times, year))
    if not len(hit):
        raise InputError(f"year {year:g} is not a saved time of the run ({times[0]:g}-{times[-1]:g})")
    return int(hit[0])


def scenario_levers(name: str, model) -> dict:
    """``{lever: LeverValue}`` of a scenario in ``scenarios/`` (checked against the model)."""
    from sim.specs.scenario import load_scenario

    path = Path(name)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name}.toml"
    return dict(load_scenario(path, model).levers)


def check_names(names, variables, what: str) -> None:
    missing = sorted(set(names) - set(variables))
    if missing:
        raise InputError(f"{what}: not variables of the model: {', '.join(missing)}")


# --------------------------------------------------------------------------- 1. dimensions


def check_dimensions(model_path=DEFAULT_MODEL) -> CheckResult:
    """Units of every equation against its declared units (:func:`sim.model.units.check_units`)."""
    from sim.model.units import check_units

    report = check_units(model_path)
    details = [str(i) for i in report.issues]
    return CheckResult(
        "dimensional consistency", report.ok,
        f"{report.checked} equations checked, {len(report.issues)} inconsistent",
        details, {"equations": report.checked, "inconsistent": len(report.issues)},
    )


# --------------------------------------------------------------------------- 2. extreme conditions


def _violations(label: str, values: dict, i: int, times: np.ndarray, bounds: list[Bound], stocks: list[str]) -> list[str]:
    out = []
    bad = sorted(n for n, v in values.items() if not np.all(np.isfinite(v[i])))
    if bad:
        k = int(np.argmax(~np.isfinite(values[bad[0]][i])))
        out.append(f"{label}: non-finite values in {', '.join(bad[:4])}{' ...' if len(bad) > 4 else ''} "
                   f"(first: {bad[0]} in {times[k]:g})")
    for s in stocks:
        v = values[s][i]
        floor = -EQUAL_RTOL * max(1.0, float(np.nanmax(np.abs(v))))
        if np.any(v < floor):
            k = int(np.argmax(v < floor))
            out.append(f"{label}: stock {s} is negative ({v[k]:.4g} in {times[k]:g})")
    for b in bounds:
        v = values[b.variable][i]
        with np.errstate(all="ignore"):
            if b.min is not None and np.any(v < b.min - EQUAL_RTOL):
                k = int(np.argmax(v < b.min - EQUAL_RTOL))
                out.append(f"{label}: {b.variable} = {v[k]:.4g} in {times[k]:g}, below {b.min:g}")
            if b.max is not None and np.any(v > b.max + EQUAL_RTOL):
                k = int(np.argmax(v > b.max + EQUAL_RTOL))
                out.append(f"{label}: {b.variable} = {v[k]:.4g} in {times[k]:g}, above {b.max:g}")
            if b.le is not None:
                other = values[b.le][i]
                over = v > other * (1 + b.le_rtol)
                if np.any(over):
                    k = int(np.argmax(over))
                    out.append(f"{label}: {b.variable} = {v[k]:.6g} exceeds {b.le} = {other[k]:.6g} in {times[k]:g}")
            if b.min_growth is not None or b.max_growth is not None:
                g = v[1:] / v[:-1] - 1
                if b.max_growth is not None and np.any(g > b.max_growth):
                    k = int(np.argmax(g > b.max_growth))
                    out.append(f"{label}: {b.variable} grows {g[k]:+.1%} in {times[k]:g}-{times[k + 1]:g}, "
                               f"beyond {b.max_growth:+.0%}/yr")
                if b.min_growth is not None and np.any(g < b.min_growth):
                    k = int(np.argmax(g < b.min_growth))
                    out.append(f"{label}: {b.variable} changes {g[k]:+.1%} in {times[k]:g}-{times[k + 1]:g}, "
                               f"beyond {b.min_growth:+.0%}/yr")
    return out


def extreme_members(levers: dict, what: str = "levers") -> list[tuple[str, dict]]:
    """``(label, {name: value})`` for: the defaults, every lever at its minimum and at its maximum,
    all levers at their minimum, all at their maximum."""
    members = [("defaults", {})]
    for name, lev in levers.items():
        members.append((f"{name} = {lev.lower:g} (min)", {name: lev.lower}))
        members.append((f"{name} = {lev.upper:g} (max)", {name: lev.upper}))
    members.append((f"all {what} at min", {n: lev.lower for n, lev in levers.items()}))
    members.append((f"all {what} at max", {n: lev.upper for n, lev in levers.items()}))
    return members


def check_extremes(model_path=DEFAULT_MODEL, data: ChecksFile | None = None, kind: str = "lever") -> CheckResult:
    """Every lever (``kind="uncertain"``: every uncertain parameter) at its extremes, in one ensemble run."""
    from sim.model.loader import load_model
    from sim.specs.levers import LeverValue

    data = data or load_checks()
    model = load_model(model_path)
    cm = model.compiled
    levers = model.levers if kind == "lever" else model.uncertainties
    what = "levers" if kind == "lever" else "uncertain parameters"
    members = extreme_members(levers, what)
    check_names([b.variable for b in data.bounds] + [b.le for b in data.bounds if b.le], cm.variables, "bounds")
    params = ensemble_params([{k: LeverValue.constant(v) for k, v in m.items()} for _, m in members],
                              cm.step_times(final_time=data.settings.final_time), cm.constants)
    result = cm.run(params=params, n=len(members), final_time=data.settings.final_time)
    details = []
    for i, (label, _) in enumerate(members):
        details += _violations(label, result.values, i, result.times, data.bounds, cm.stocks)
    failing = len({d.split(":")[0] for d in details})
    return CheckResult(
        f"extreme conditions ({what})", not details,
        f"{len(members)} runs ({len(levers)} {what} at min and max, all at min, all at max) to "
        f"{result.times[-1]:g}: {failing} runs break a bound ({len(data.bounds)} bounds, {len(cm.stocks)} stocks >= 0, no NaN)",
        details, {"runs": len(members), "failing_runs": failing, "violations": len(details)},
    )


# --------------------------------------------------------------------------- 3. integration error


def check_integration(model_path=DEFAULT_MODEL, data: ChecksFile | None = None) -> CheckResult:
    """Halve and quarter TIME STEP: the main outputs in the integration year move less than the tolerance."""
    from sim.model.loader import load_model

    data = data or load_checks()
    s = data.settings
    model = load_model(model_path)
    cm = model.compiled
    outputs = s.main_outputs or list(cm.stocks)
    check_names(outputs, cm.variables, "main_outputs")
    scenarios = s.integration_scenarios or [""]
    dt = cm.time_step
    details, worst, rows = [], 0.0, []
    for name in scenarios:
        levers = scenario_levers(name, model) if name else {}
        values = {}
        for k in (1, 2, 4):
            steps = cm.step_times(final_time=s.integration_year, time_step=dt / k)
            params = {n: (v.at(steps) if v.is_series else v.value) for n, v in levers.items()}
            run = cm.run(params=params, return_columns=outputs, final_time=s.integration_year, time_step=dt / k)
            i = year_index(run.times, s.integration_year)
            values[k] = np.array([run.values[o][0, i] for o in outputs])
        for k in (2, 4):
            rel = np.abs(values[k] - values[1]) / np.maximum(np.abs(values[1]), 1e-12)
            j = int(np.argmax(rel))
            worst = max(worst, float(rel[j]))
            rows.append(f"{name or 'defaults'}: TIME STEP {dt:g}/{k}: largest change {rel[j]:.3%} ({outputs[j]})")
            for o, r in zip(outputs, rel):
                if r >= s.integration_tolerance:
                    details.append(f"{name or 'defaults'}: {o} in {s.integration_year} moves {r:.3%} "
                                   f"with TIME STEP {dt:g}/{k}")
    return CheckResult(
        "integration error", not details,
        f"largest change of {len(outputs)} outputs in {s.integration_year} with TIME STEP {dt:g} halved and "
        f"quartered: {worst:.3%} (tolerance {s.integration_tolerance:.1%})",
        details or rows, {"largest_change": worst, "tolerance": s.integration_tolerance},
    )


# --------------------------------------------------------------------------- 4. stock conservation


def _evaluate(ast, values: dict, names: dict, ae):
    """Value of a flow expression on a run's arrays (numbers, references, arithmetic, MIN/MAX/ABS)."""
    if isinstance(ast, (int, float)) and not isinstance(ast, bool):
        return float(ast)
    if isinstance(ast, ae.ReferenceStructure):
        return values[names[ast.reference]]
    if isinstance(ast, (ae.ArithmeticStructure, ae.LogicStructure)):
        ops = list(ast.operators)
        args = [_evaluate(a, values, names, ae) for a in ast.arguments]
        if ops == ["negative"]:
            return -args[0]
        out = args[0]
        for op, a in zip(ops, args[1:]):
            if op == "+":
                out = out + a
            elif op == "-":
                out = out - a
            elif op == "*":
                out = out * a
            elif op == "/":
                out = out / a
            elif op == "^":
                out = out ** a
            else:
                raise ValueError(f"operator {op}")
        return out
    if isinstance(ast, ae.CallStructure):
        fn = ast.function.reference
        args = [_evaluate(a, values, names, ae) for a in ast.arguments]
        if fn == "min":
            return np.minimum(*args)
        if fn == "max":
            return np.maximum(*args)
        if fn == "abs":
            return np.abs(args[0])
        raise ValueError(f"function {fn.upper()}")
    raise ValueError(type(ast).__name__)


def check_conservation(model_path=DEFAULT_MODEL, data: ChecksFile | None = None) -> CheckResult:
    """Each stock, saved at every step, equals its initial value plus its integrated net flow."""
    from pysd.translators.structures import abstract_expressions as ae

    from sim.model.compiler import with_settings
    from sim.model.loader import load_model
    from sim.model.units import abstract_model

    data = data or load_checks()
    s = data.settings
    model = load_model(model_path)
    cm = model.compiled
    fine = with_settings(cm, saveper=cm.time_step)
    am = abstract_model(model_path)
    names = {el.name.lower().replace(" ", "_"): el.name for sec in am.sections for el in sec.elements}
    stocks = {el.name: el.components[0].ast for sec in am.sections for el in sec.elements
              if len(el.components) == 1 and isinstance(el.components[0].ast, ae.IntegStructure)}
    names["time"] = "Time"
    final = min(s.final_time or cm.final_time, cm.final_time)
    details, worst, checked, skipped = [], 0.0, set(), []
    for scen in s.conservation_scenarios or [""]:
        levers = scenario_levers(scen, model) if scen else {}
        steps = fine.step_times(final_time=final)
        params = {n: (v.at(steps) if v.is_series else v.value) for n, v in levers.items()}
        run = fine.run(params=params, final_time=final)
        values = {n: v[0] for n, v in run.values.items()}
        values["Time"] = run.times
        dt = fine.time_step
        for stock, ast in stocks.items():
            try:
                flow = np.broadcast_to(_evaluate(ast.flow, values, names, ae), run.times.shape)
                init = float(np.broadcast_to(_evaluate(ast.initial, values, names, ae), run.times.shape)[0])
            except (ValueError, KeyError) as exc:
                skipped.append(f"{stock} ({exc})")
                continue
            checked.add(stock)
            level = values[stock]
            predicted = init + dt * np.concatenate([[0.0], np.cumsum(flow[:-1])])
            scale = max(float(np.max(np.abs(level))), 1e-12)
            err = float(np.max(np.abs(predicted - level)) / scale)
            worst = max(worst, err)
            if err > s.conservation_tolerance:
                k = int(np.argmax(np.abs(predicted - level)))
                details.append(f"{scen or 'defaults'}: {stock} = {level[k]:.10g} in {run.times[k]:g}, but its initial "
                               f"value plus integrated net flow is {predicted[k]:.10g} (relative error {err:.2e})")
    details += [f"not checked (flow not evaluable): {s_}" for s_ in dict.fromkeys(skipped)]
    runs = ", ".join(s.conservation_scenarios) or "defaults"
    return CheckResult(
        "stock conservation", not details,
        f"{len(stocks)} stocks x {len(s.conservation_scenarios) or 1} runs ({runs}), saved every step: "
        f"largest relative error {worst:.1e} (tolerance {s.conservation_tolerance:.0e})",
        details, {"stocks": len(stocks), "checked": len(checked), "largest_error": worst},
    )


# --------------------------------------------------------------------------- 5. behaviour reproduction


@dataclass(frozen=True)
class StoredBackcast:
    """The history run of the stored calibration: its rows, its spec and the run (one member, yearly)."""

    rows: object
    spec: object
    run: object


def stored_backcast(model_path=DEFAULT_MODEL, calibration: str | Path | None = None,
                    columns: list[str] | None = None) -> StoredBackcast | None:
    """Run the backcast stored in the calibration file (its 2015 state, events and calibrated defaults).

    The file names its spec relative to the folder of ``scenarios/``. ``columns``
    default to the spec's history series. None when no calibration is stored.
    """
    from sim.analysis.calibrate import read_calibration_rows
    from sim.model.loader import read_calibration
    from sim.plan.history import HistoryRunner, load_spec, series_columns

    rows = read_calibration_rows(model_path, calibration)
    if rows.empty:
        return None
    spec_file = Path(str(rows["spec"].iloc[0]))
    spec = load_spec(spec_file if spec_file.is_absolute() else resources_root() / spec_file, model_path)
    stored = dict(zip(rows["name"], rows["value"].astype(float)))
    runner = HistoryRunner(spec, base=read_calibration(model_path, calibration))
    x = np.array([stored.get(f.name, f.prior) for f in runner.free], dtype=float)
    run = runner.run(x[None, :], columns=columns or series_columns(spec.file.series, runner.compiled.variables))
    return StoredBackcast(rows, spec, run)


def check_behaviour(model_path=DEFAULT_MODEL, calibration: str | Path | None = None) -> CheckResult:
    """The stored backcast (``calibration.csv`` rows and their spec) against history and the spec's bounds."""
    from sim.analysis.calibrate import comparison_table, fit_statistics, mape
    from sim.model.files import file_sha256

    name = "behaviour reproduction"
    backcast_run = stored_backcast(model_path, calibration)
    if backcast_run is None:
        return CheckResult(name, False, "no calibration stored: run `shuangta calibrate SPEC --apply`")
    rows, spec, run = backcast_run.rows, backcast_run.spec, backcast_run.run
    notes = []
    if str(rows["spec_sha256"].iloc[0]) != spec.sha256:
        notes.append(f"note: {spec.path.name} changed since the calibration was stored")
    if str(rows["model_sha256"].iloc[0]) != file_sha256(model_path):
        notes.append("note: the model changed since the calibration was stored; rerun `shuangta calibrate` "
                     "if the statistics move")
    comp = comparison_table(spec, run)
    fitted = comp[comp["use"] == "fitted"]
    stats = fit_statistics(fitted)
    acc = spec.file.acceptance
    end = fitted[fitted["year"] == spec.end]
    backcast = mape(end["model"], end["data"])
    oos = comp[comp["use"] == "out-of-sample"]
    oos_mape = mape(oos["model"], oos["data"]) if len(oos) else math.nan
    details, fails = [], []
    if backcast > acc.mape_max:
        fails.append(f"backcast MAPE of the {spec.end} figures {backcast:.2%} exceeds {acc.mape_max:.0%}")
    for r in stats.itertuples(index=False):
        line = f"{r.series}: n={r.n}, MAPE {r.mape:.2%}, U_M {r.u_m:.2f}, U_S {r.u_s:.2f}, U_C {r.u_c:.2f}"
        details.append(line)
        if r.mape > acc.series_mape_max:
            fails.append(f"{r.series}: MAPE {r.mape:.2%} exceeds {acc.series_mape_max:.0%}")
        elif r.n >= acc.um_min_points and r.mape > acc.um_min_mape and r.u_m > acc.um_max:
            fails.append(f"{r.series}: MAPE {r.mape:.2%} with bias share U_M {r.u_m:.2f} above {acc.um_max:.2f}")
    if acc.out_of_sample_mape_max is not None and len(oos) and oos_mape > acc.out_of_sample_mape_max:
        fails.append(f"out-of-sample MAPE {oos_mape:.2%} exceeds {acc.out_of_sample_mape_max:.0%}")
    for r in oos.itertuples(index=False):
        details.append(f"out-of-sample {r.variable} {r.year}: expected {r.data:g}, model {r.model:.4g} ({r.rel_error:+.1%})")
    for r in comp[comp["use"] == "reported only"].itertuples(index=False):
        details.append(f"reported only {r.variable} {r.year}: {r.data:g}, model {r.model:.6g} ({r.rel_error:+.1%})")
    details += _baseline_out_of_sample(model_path, spec, oos)
    summary = (f"{spec.name} from {spec.start}: MAPE of the {len(end)} fitted {spec.end} figures {backcast:.2%} "
               f"(bound {acc.mape_max:.0%}); worst series MAPE {stats['mape'].max():.2%} ({stats.loc[stats['mape'].idxmax(), 'series']}); "
               f"2021 out-of-sample MAPE {oos_mape:.2%}")
    return CheckResult(name, not fails, summary, [f"FAIL {f}" for f in fails] + details + notes,
                       {"backcast_mape": backcast, "out_of_sample_mape": oos_mape,
                        "worst_series_mape": float(stats["mape"].max())})


def _baseline_out_of_sample(model_path, spec, oos) -> list[str]:
    """The 2020-start baseline (as the model is used) against the same expected values; for information."""
    from sim.model.loader import load_model

    if oos.empty or not (SCENARIO_DIR / "baseline.toml").is_file():
        return []
    model = load_model(model_path)
    cm = model.compiled
    last = int(oos["year"].max())
    if last <= cm.initial_time:
        return []
    levers = scenario_levers("baseline", model)
    steps = cm.step_times(final_time=last)
    params = {n: (v.at(steps) if v.is_series else v.value) for n, v in levers.items()}
    from sim.plan.history import with_model_variables

    oos = with_model_variables(oos, cm.variables)
    run = cm.run(params=params, return_columns=sorted(set(oos["model_variable"])), final_time=last)
    out = []
    for r in oos.itertuples(index=False):
        value = float(run.values[r.model_variable][0, year_index(run.times, r.year)])
        out.append(f"2020-start baseline {r.variable} {r.year}: expected {r.data:g}, model {value:.4g} "
                   f"({(value - r.data) / r.data:+.1%})")
    return out


# --------------------------------------------------------------------------- 6. reality checks


def _expectation_failures(e: Expectation, run, i: int, base: int) -> list[str]:
    t = run.times
    a, b = year_index(t, e.from_year), year_index(t, e.to)
    v = run.values[e.variable][i, a:b + 1]
    out = []
    if e.change is not None:
        d = np.diff(v) if e.strict else np.array([v[-1] - v[0]])
        scale = max(float(np.max(np.abs(v))), 1e-12)
        if e.change == "increase" and not np.all(d > 0):
            out.append(f"{e.variable} does not increase{' every year' if e.strict else ''} from {e.from_year} to {e.to} "
                       f"({v[0]:.6g} -> {v[-1]:.6g})")
        if e.change == "decrease" and not np.all(d < 0):
            out.append(f"{e.variable} does not decrease{' every year' if e.strict else ''} from {e.from_year} to {e.to} "
                       f"({v[0]:.6g} -> {v[-1]:.6g})")
        if e.change == "none" and np.max(np.abs(v - v[0])) > EQUAL_RTOL * scale:
            out.append(f"{e.variable} changes from {e.from_year} to {e.to} ({v[0]:.10g} -> {v[-1]:.10g})")
    if e.versus_baseline is not None:
        ref = run.values[e.variable][base, a:b + 1]
        scale = np.maximum(np.abs(ref), 1e-12)
        tol = EQUAL_RTOL * scale
        slack = tol + e.tolerance
        ok = {"lower": v < ref - tol, "higher": v > ref + tol, "equal": np.abs(v - ref) <= tol,
              "not lower": v >= ref - slack, "not higher": v <= ref + slack}[e.versus_baseline]
        if not np.all(ok):
            k = int(np.argmin(ok))
            by = f" by more than {e.tolerance:g}" if e.tolerance and e.versus_baseline.startswith("not") else ""
            word = {"lower": "not lower than", "higher": "not higher than", "equal": "not equal to",
                    "not lower": "lower than", "not higher": "higher than"}[e.versus_baseline]
            out.append(f"{e.variable} is {word} the baseline{by} in {t[a + k]:g} ({v[k]:.6g} vs {ref[k]:.6g})")
    if e.min is not None and np.any(v < e.min):
        k = int(np.argmax(v < e.min))
        out.append(f"{e.variable} = {v[k]:.6g} in {t[a + k]:g}, below {e.min:g}")
    if e.max is not None and np.any(v > e.max):
        k = int(np.argmax(v > e.max))
        out.append(f"{e.variable} = {v[k]:.6g} in {t[a + k]:g}, above {e.max:g}")
    return out


def check_reality(model_path=DEFAULT_MODEL, data: ChecksFile | None = None) -> CheckResult:
    """Every reality check of the data file, with the model's defaults as baseline, in one ensemble run."""
    from sim.model.loader import load_model

    data = data or load_checks()
    cm = load_model(model_path).compiled
    if not data.checks:
        return CheckResult("reality checks", True, "no reality checks defined")
    check_names([e.variable for c in data.checks for e in c.expect], cm.variables, "reality checks")
    final = data.settings.final_time or max(e.to for c in data.checks for e in c.expect)
    steps = cm.step_times(final_time=final)
    members = [{}] + [_lever_values(c.set) for c in data.checks]
    params = ensemble_params(members, steps, cm.constants)
    columns = sorted({e.variable for c in data.checks for e in c.expect})
    run = cm.run(params=params, n=len(members), return_columns=columns, final_time=final)
    details, passed = [], 0
    for i, c in enumerate(data.checks, start=1):
        fails = [f for e in c.expect for f in _expectation_failures(e, run, i, 0)]
        if fails:
            details += [f"FAIL {c.name}: {f}" for f in fails]
        else:
            passed += 1
            details.append(f"pass {c.name}")
    n = len(data.checks)
    return CheckResult("reality checks", passed == n, f"{passed} of {n} reality checks hold "
                       f"({sum(len(c.expect) for c in data.checks)} expectations, one ensemble run of {n + 1})",
                       details, {"checks": n, "passed": passed})
