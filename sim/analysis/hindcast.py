"""The hindcast: the model as calibrated on data up to 2020, run with what actually happened, against what did.

:func:`hindcast` runs a scenario of the levers as they turned out
(``scenarios/actual_2021_2025.toml``) with the model's calibrated defaults
(``model/data/calibration.csv``, fitted on figures up to
:data:`sim.plan.history.CUTOFF_YEAR` only) and compares every ``out_of_sample``
district figure of the history file that has a model counterpart:

* a ``level`` figure with the variable's saved value at that year (sums over
  ``first_year..year`` for totals), the convention of :mod:`sim.plan.history`;
* a ``growth`` figure with the model's ``x(t) / x(t-1) - 1``.

For each it gives the figure, the model's value, the error (model minus
figure; relative for levels, in points for growth rates) and whether the
figure lies inside the model's uncertainty band: the ``band`` quantiles of an
ensemble over the parameters the calibration does not identify (the model's
uncertain parameters without a calibrated default, sampled over their
documented ranges by Latin hypercube, :mod:`sim.engine.sampling`). Figures without a
model counterpart (counts of projects, context series) are listed apart.

:func:`target_progress` says, for each plan target whose variable has
out-of-sample figures, whether reality was on the path the target needs
(the constant yearly rate from the 2020 figure to the target).

:func:`write_hindcast` writes a result folder (``hindcast.csv``,
``unmatched.csv``, ``targets.csv``, ``band.csv``, ``band_parameters.csv``,
``timeseries.csv``, one ``plots/<variable>.png`` per variable, manifest with
``extra.kind = "hindcast"``); ``shuangta report`` renders it as the section
"What happened, what the model said" (:mod:`sim.present.report_hindcast`).

This module never prints and never exits.
"""

from __future__ import annotations

import io
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.plan.history import CUTOFF_YEAR, HISTORY_FILE, load_history, model_values, with_model_variables
from sim.model.loader import DEFAULT_MODEL, load_model
from sim.specs.scenario import SCENARIO_DIR, load_scenario

#: The scenario of what happened in 2021-2025.
ACTUAL_SCENARIO = SCENARIO_DIR / "actual_2021_2025.toml"
#: Quantiles of the ensemble that bound the model's uncertainty band.
BAND = (0.05, 0.95)
#: Members of the ensemble over the unidentified parameters, and its seed.
MEMBERS = 64
SEED = 20201231
#: The manifest's ``extra.kind`` of a hindcast folder.
KIND = "hindcast"


@dataclass
class HindcastResult:
    """What :func:`hindcast` found."""

    scenario: str
    table: pd.DataFrame            # one row per out-of-sample figure with a model counterpart
    unmatched: pd.DataFrame        # out-of-sample figures the model has no variable for
    targets: pd.DataFrame          # plan targets against the figures (:func:`target_progress`)
    band: pd.DataFrame             # variable, year, central, low, median, high
    band_parameters: pd.DataFrame  # name, lower, upper, default: what the band varies
    timeseries: pd.DataFrame       # the central run
    members: int
    seed: int


def band_factors(model) -> pd.DataFrame:
    """The uncertain parameters without a calibrated default: ``name, lower, upper, default``."""
    rows = [{"name": n, "lower": lev.lower, "upper": lev.upper, "default": lev.default}
            for n, lev in model.catalogue.items()
            if lev.kind == "uncertain" and n not in model.calibration and lev.upper > lev.lower]
    return pd.DataFrame(rows, columns=["name", "lower", "upper", "default"])


def out_of_sample_rows(history: pd.DataFrame, variables) -> tuple[pd.DataFrame, pd.DataFrame]:
    """District ``out_of_sample`` figures split into those with a model variable and the rest; the first
    get the ``model_variable`` of their price basis (:func:`sim.plan.history.with_model_variables`)."""
    h = history[(history["kind"] == "out_of_sample") & (history["scope"] == "district")]
    known = h["variable"].isin(set(variables))
    return with_model_variables(h[known], variables).reset_index(drop=True), h[~known].reset_index(drop=True)


def model_figures(result, rows: pd.DataFrame) -> np.ndarray:
    """The model's counterpart of each row for each member, (N, R): levels (or sums) at the row's
    year, growth rates as ``x(year) / x(year - 1) - 1``."""
    out = np.full((result.n, len(rows)), np.nan)
    level = (rows["measure"] == "level").to_numpy()
    if level.any():
        out[:, level] = model_values(result, rows[level])
    for k in np.flatnonzero(~level):
        row = rows.iloc[k]
        name = row["model_variable"] if "model_variable" in row else row["variable"]
        pair = pd.DataFrame({"variable": [name] * 2, "year": [row["year"] - 1, row["year"]],
                             "first_year": [row["year"] - 1, row["year"]]})
        before, now = model_values(result, pair).T
        out[:, k] = now / before - 1
    return out


def compare(rows: pd.DataFrame, central: np.ndarray, ensemble: np.ndarray, band=BAND) -> pd.DataFrame:
    """The hindcast table: each figure with the model's value, error and band.

    ``central`` (R,) is the calibrated run's value of each row, ``ensemble``
    (N, R) the band members'. ``error`` is model minus figure; ``rel_error``
    divides by the figure for levels (NaN for growth rates, whose error is
    already in points); ``inside`` is ``low <= figure <= high`` with ``low,
    high`` the ``band`` quantiles (the central value counts as a member).
    """
    data = rows["value"].to_numpy(dtype=float)
    members = np.vstack([np.atleast_2d(ensemble), central[None, :]])
    low, high = np.nanquantile(members, band[0], axis=0), np.nanquantile(members, band[1], axis=0)
    level = (rows["measure"] == "level").to_numpy()
    keep = ["variable", "year", "first_year", "measure", "unit", "price_basis", "source"]
    table = rows[keep + (["model_variable"] if "model_variable" in rows else [])].copy()
    table.insert(4, "figure", data)
    table.insert(5, "model", central)
    table.insert(6, "error", central - data)
    table.insert(7, "rel_error", np.where(level, (central - data) / data, np.nan))
    table.insert(8, "band_low", low)
    table.insert(9, "band_high", high)
    table.insert(10, "inside", (low <= data) & (data <= high))
    return table.reset_index(drop=True)


def _required_rate(target, base: float) -> float:
    span = target.year - target.base_year
    if target.kind == "level":
        return (target.threshold / base) ** (1 / span) - 1
    return float(target.threshold)


def target_progress(targets, history: pd.DataFrame) -> pd.DataFrame:
    """Plan targets against the out-of-sample figures of their variable (district, ``level``/``growth``
    targets with a ``>=`` threshold).

    The needed rate is the constant yearly rate from the base-year figure to the
    target (``level``) or the target's rate (``growth``); the observed rate is a
    growth figure as stated, or a level figure's yearly rate from the base
    year. ``met`` is filled only when a figure exists for the target year;
    otherwise ``on_track`` says whether the observed rate reaches the needed one.
    """
    h = history[history["scope"] == "district"]
    rows = []
    for t in targets:
        if t.kind not in ("level", "growth") or t.comparison != ">=":
            continue
        figs = h[(h["variable"] == t.variable) & (h["kind"] == "out_of_sample") & (h["first_year"] == h["year"])]
        base_rows = h[(h["variable"] == t.variable) & (h["year"] == t.base_year) & (h["measure"] == "level")]
        base = float(base_rows["value"].iloc[0]) if len(base_rows) else math.nan
        if math.isnan(base):   # without the base-year figure only growth figures say anything
            figs = figs[figs["measure"] == "growth"] if t.kind == "growth" else figs.iloc[0:0]
        if figs.empty:
            continue
        need = _required_rate(t, base)
        for f in figs.itertuples(index=False):
            if f.measure == "growth":
                observed = float(f.value)
            else:
                observed = (float(f.value) / base) ** (1 / (f.year - t.base_year)) - 1
            met = None
            if f.year == t.year and f.measure == "level" and t.kind == "level":
                met = bool(f.value >= t.threshold)
            rows.append({"target": t.id, "variable": t.variable, "target_year": t.year, "year": int(f.year),
                         "measure": f.measure, "figure": float(f.value), "base": base, "needed_rate": need,
                         "observed_rate": observed, "on_track": bool(observed >= need), "met": met})
    cols = ["target", "variable", "target_year", "year", "measure", "figure", "base", "needed_rate",
            "observed_rate", "on_track", "met"]
    return pd.DataFrame(rows, columns=cols)


def hindcast(scenario: str | Path = ACTUAL_SCENARIO, model_path: str | Path = DEFAULT_MODEL,
             history: str | Path = HISTORY_FILE, members: int = MEMBERS, seed: int = SEED, targets=None,
             band=BAND) -> HindcastResult:
    """Run ``scenario`` with the calibrated model and its band; compare with the out-of-sample figures."""
    from sim.engine.run import run_spec
    from sim.engine.sampling import Factor, sample_design
    from sim.plan.targets import load_targets

    if members < 2:
        raise InputError("the band needs at least 2 members")
    model = load_model(model_path)
    scen = load_scenario(scenario, model)
    frame = load_history(history)
    rows, unmatched = out_of_sample_rows(frame, model.outputs)
    if rows.empty:
        raise InputError(f"{history}: no out-of-sample district figure has a variable in {Path(model_path).name}")
    targets = load_targets() if targets is None else targets
    # to the last figure, the plan's target years and the scenario's own final time, whichever is latest
    last = max([int(rows["year"].max())] + [t.year for t in targets]
               + ([int(scen.run.final_time)] if scen.run and scen.run.final_time else []))
    spec = run_spec(model, scen, final_time=last)
    cm = model.compiled
    steps = cm.step_times(final_time=spec.final_time, time_step=spec.time_step)
    params = {k: (np.asarray(v, dtype=float)[None, :] if isinstance(v, np.ndarray) else v)
              for k, v in spec.params.items()}
    columns = sorted(set(rows["model_variable"]))
    central_run = cm.run(params=params, n=1, return_columns=model.outputs, final_time=spec.final_time,
                         time_step=spec.time_step)
    factors = band_factors(model)
    if len(factors):
        design = sample_design([Factor(r.name, lower=r.lower, upper=r.upper) for r in factors.itertuples()],
                               "lhs", members, seed)
        band_params = {**params, **{n: design[:, j] for j, n in enumerate(factors["name"])}}
        ens = cm.run(params=band_params, n=members, return_columns=columns, final_time=spec.final_time,
                     time_step=spec.time_step)
        ensemble = model_figures(ens, rows)
    else:
        ens, ensemble = None, np.empty((0, len(rows)))
    central = model_figures(central_run, rows)[0]
    table = compare(rows, central, ensemble, band)
    ts = central_run.member(0)
    ts.index.name = "time"
    progress = target_progress(targets, frame)
    return HindcastResult(scenario=scen.name, table=table, unmatched=unmatched, targets=progress,
                          band=_band_frame(central_run, ens, columns, band), band_parameters=factors,
                          timeseries=ts, members=members if len(factors) else 0, seed=seed)


def _band_frame(central_run, ens, columns, band) -> pd.DataFrame:
    """Per variable and saved year: the central run and the band's quantiles (for plots and the report)."""
    rows = []
    times = np.asarray(central_run.times, dtype=float)
    for var in columns:
        c = central_run.values[var][0]
        m = np.vstack([ens.values[var], c[None, :]]) if ens is not None else c[None, :]
        lo, med, hi = np.quantile(m, [band[0], 0.5, band[1]], axis=0)
        rows += [{"variable": var, "year": float(t), "central": float(c[i]), "low": float(lo[i]),
                  "median": float(med[i]), "high": float(hi[i])} for i, t in enumerate(times)]
    return pd.DataFrame(rows)


def plot_variable(result: HindcastResult, variable: str) -> bytes:
    """PNG: the model's central run and band for one variable, with its out-of-sample figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mapped = result.table.loc[result.table["variable"] == variable]
    band_name = mapped["model_variable"].iloc[0] if "model_variable" in mapped and len(mapped) else variable
    b = result.band[result.band["variable"] == band_name]
    t = result.table[(result.table["variable"] == variable) & (result.table["measure"] == "level")]
    g = result.table[(result.table["variable"] == variable) & (result.table["measure"] == "growth")]
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    ax.fill_between(b["year"], b["low"], b["high"], color="tab:blue", alpha=0.2,
                    label=f"model band ({result.band_parameters.shape[0]} unidentified parameters)")
    ax.plot(b["year"], b["central"], color="tab:blue", label="model (calibrated to 2020)")
    if len(t):
        ax.plot(t["year"], t["figure"], "D", color="tab:red", label="what happened")
    ax.axvline(CUTOFF_YEAR, color="grey", lw=0.8, ls=":")
    ax.xaxis.get_major_locator().set_params(integer=True)
    title = variable if g.empty else variable + "; growth " + ", ".join(
        f"{int(r.year)}: {r.figure:+.1%} (model {r.model:+.1%})" for r in g.itertuples())
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def plot_name(variable: str) -> str:
    """``plots/<slug>.png`` for a variable."""
    return "plots/" + re.sub(r"[^A-Za-z0-9]+", "_", variable).strip("_").lower() + ".png"


def write_hindcast(result: HindcastResult, out: str | Path, model_path: str | Path = DEFAULT_MODEL,
                   command: list[str] | None = None, history: str | Path = HISTORY_FILE) -> Path:
    """Write ``out/hindcast_<scenario>/`` (complete or not at all) and return it."""
    from sim.model.files import file_sha256
    from sim.engine.results import build_manifest, finish_manifest, write_run

    manifest = build_manifest(command or sys.argv, model_path, None, seed=result.seed, extra={
        "kind": KIND, "scenario": result.scenario, "members": result.members, "band": list(BAND),
        "cutoff_year": CUTOFF_YEAR, "history_file": str(history), "history_sha256": file_sha256(Path(history)),
        "figures": len(result.table), "inside_band": int(result.table["inside"].sum()),
    })
    finish_manifest(manifest, "complete")
    files = {"hindcast.csv": result.table, "unmatched.csv": result.unmatched, "targets.csv": result.targets,
             "band.csv": result.band, "band_parameters.csv": result.band_parameters,
             "timeseries.csv": result.timeseries}
    for var in sorted(set(result.table["variable"])):
        files[plot_name(var)] = plot_variable(result, var)
    return write_run(Path(out) / f"hindcast_{result.scenario}", files, manifest)


def _num(value: float, measure: str) -> str:
    if measure == "growth":
        return f"{value:+.1%}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def format_hindcast(result: HindcastResult) -> str:
    """Plain text: the table, the target progress, the unmatched figures."""
    t = result.table
    lines = [f"hindcast of {result.scenario}: {len(t)} out-of-sample figures, {int(t['inside'].sum())} inside the "
             f"model's {BAND[0]:.0%}-{BAND[1]:.0%} band ({result.members} members over "
             f"{len(result.band_parameters)} unidentified parameters)", "",
             f"{'figure':44s} {'year':>4s} {'actual':>10s} {'model':>10s} {'error':>8s} {'band':>23s} inside"]
    for r in t.itertuples(index=False):
        name = r.variable + (" (growth)" if r.measure == "growth" else "")
        err = f"{r.error * 100:+.1f} pt" if r.measure == "growth" else f"{r.rel_error:+.1%}"
        band = f"[{_num(r.band_low, r.measure)}, {_num(r.band_high, r.measure)}]"
        lines.append(f"{name[:44]:44s} {r.year:4d} {_num(r.figure, r.measure):>10s} {_num(r.model, r.measure):>10s} "
                     f"{err:>8s} {band:>23s} {'yes' if r.inside else 'no'}")
    if len(result.targets):
        lines += ["", "plan targets against what happened (needed: the constant yearly rate from 2020 to the target):"]
        for r in result.targets.itertuples(index=False):
            verdict = ("met" if r.met else "not met") if r.met is not None else (
                "on track" if r.on_track else "behind")
            lines.append(f"  {r.target} {r.variable} ({r.target_year}): {r.year} {r.measure} {_num(r.figure, r.measure)}, "
                         f"{r.observed_rate:+.1%}/yr against {r.needed_rate:+.1%}/yr needed: {verdict}")
    if len(result.unmatched):
        lines += ["", "out-of-sample figures without a model variable: " + "; ".join(
            f"{r.variable} {r.year} = {r.value:g}" for r in result.unmatched.itertuples(index=False))]
    return "\n".join(lines)


def is_hindcast_folder(manifest: dict | None) -> bool:
    """True for the manifest of a folder :func:`write_hindcast` wrote."""
    return bool(manifest) and (manifest.get("extra") or {}).get("kind") == KIND
