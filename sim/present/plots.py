"""Plots made from result folders only: this module never simulates.

:func:`plot_runs` reads folders written by :func:`sim.engine.results.write_run` and
draws one PNG per key variable, every scenario overlaid, the plan period
2021-2025 shaded and the plan's thresholds from the folders' ``targets.csv``
(level targets as a marker at the threshold in the target year, growth
targets as the level path they imply from the 2020 value, "stay within"
targets as a line over the years they cover), plus ``verdicts.png``: a grid of
targets × scenarios, green met, red missed, grey n.a.

Matplotlib is used through its object API with the Agg canvas, so importing
this module changes no global backend and needs no display.
"""

from __future__ import annotations

import functools

import io
import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import InputError
from sim.engine.results import RunResult, atomic_write_bytes, read_run
from sim.plan.targets import DEFAULT_BASE_YEAR, format_number, headline_ids, value_at, verdict_word
from sim.present.style import COLOURS, KEY_VARIABLES
from sim.present.unit_names import display_unit, variable_unit

#: Variables stored as fractions and shown as percentages.
FRACTIONS = {"Unemployment Rate"}


@functools.lru_cache(maxsize=4)
def plan_period(model_path=None) -> tuple[float, float, int, int]:
    """The plan period as the charts shade it, from the model's constants: ``(start, end)`` on the model's clock
    (model time t is the middle of calendar year t, so 1 January 2021 is 2020.5 and the end of 2025 is 2025.5)
    and its first and last calendar years (2021, 2025)."""
    from sim.model.compiler import compile_model
    from sim.model.loader import DEFAULT_MODEL

    c = compile_model(model_path or DEFAULT_MODEL).constants
    first, length, offset = int(c["Plan Period Start"]), int(c["Plan Period Length"]), float(c["Year Start Offset"])
    return first - offset, first - offset + length, first, first + length - 1


def shade_plan_period(ax, label: str | None = None) -> None:
    """Shade the plan period on ``ax`` (label: "plan period 2021–2025" unless given)."""
    start, end, first, last = plan_period()
    ax.axvspan(start, end, color="#e8eef7", zorder=0, label=label or f"plan period {first}–{last}")
DPI = 120


def slug(name: str) -> str:
    """File-name form of a variable name: ``Above Scale Industrial Output`` -> ``above_scale_industrial_output``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "variable"


def _labels(runs: list[RunResult]) -> list[str]:
    names = [r.name for r in runs]
    labels = []
    for run in runs:
        label = run.name
        if names.count(run.name) > 1 and run.path is not None:
            label = f"{run.path.parent.name}/{run.name}"
        labels.append(label)
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def _targets_table(runs: list[RunResult]) -> pd.DataFrame | None:
    """Target definitions: the first row seen for each id across the folders."""
    tables = [r.targets for r in runs if r.targets is not None and not r.targets.empty and "id" in r.targets.columns]
    if not tables:
        return None
    return pd.concat(tables, ignore_index=True).drop_duplicates("id", keep="first").reset_index(drop=True)


def _value_at(series: pd.Series, year: float) -> float:
    """The value of ``series`` at ``year`` as the targets read it (:func:`sim.plan.targets.value_at`), NaN when
    there is none."""
    try:
        return value_at(series.dropna(), year)
    except LookupError:
        return math.nan


def _unit(variable: str, runs: list[RunResult], units: dict | None) -> str:
    if units and variable in units:
        return units[variable]
    for run in runs:
        extra = run.manifest.get("extra") or {}
        found = (extra.get("units") or {}).get(variable) if isinstance(extra, dict) else None
        if found:
            return display_unit(str(found))
    return variable_unit(variable)


def _symbol(comparison: str) -> str:
    return {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(str(comparison), str(comparison))


def _number(value: float, fraction: bool) -> str:
    return f"{value * 100:.1f} %" if fraction else format_number(value)


def _draw_targets(ax, variable, rows, present, fraction) -> None:
    """Thresholds of the targets on ``variable``; ``present`` is ``[(label, run, line colour)]``."""
    for row in rows:
        kind, tid, comparison = row.get("kind"), row.get("id"), row.get("comparison")
        threshold = float(row.get("target"))
        year = float(row.get("year"))
        base_year = row.get("base_year")
        base_year = float(DEFAULT_BASE_YEAR) if base_year is None or pd.isna(base_year) else float(base_year)
        aggregate = row.get("aggregate") or None
        if isinstance(aggregate, float) and math.isnan(aggregate):
            aggregate = None
        if kind == "level" and aggregate:
            ax.hlines(threshold, base_year + 1, year, colors="black", linestyles="--", linewidth=1.2, zorder=3,
                      label=f"{tid}: {aggregate} {_symbol(comparison)} {_number(threshold, fraction)}")
        elif kind == "level":
            marker = {">=": "^", ">": "^", "<=": "v", "<": "v"}.get(comparison, "D")
            ax.hlines(threshold, year - 0.5, year + 0.5, colors="black", linewidth=1.5, zorder=4)
            ax.plot([year], [threshold], marker=marker, color="black", markersize=8, linestyle="none", zorder=5,
                    label=f"{tid}: {_symbol(comparison)} {_number(threshold, fraction)} in {year:.0f}")
        elif kind == "growth":
            years = np.linspace(base_year, year, 51)
            bases = [(label, colour, _value_at(run.timeseries[variable], base_year)) for label, run, colour in present]
            bases = [b for b in bases if math.isfinite(b[2]) and b[2] > 0]
            if not bases:
                continue
            same = all(math.isclose(b[2], bases[0][2], rel_tol=1e-6) for b in bases)
            paths = [("black", bases[0][2], "")] if same else [(colour, v, f" from {label}") for label, colour, v in bases]
            for i, (colour, v0, suffix) in enumerate(paths):
                level = v0 * (1 + threshold) ** (years - base_year)
                text = f"{tid}: {threshold * 100:+.1f} %/yr{suffix} → {_number(level[-1], fraction)}"
                ax.plot(years, level, linestyle=":", color=colour, linewidth=1.6, zorder=3, label=text)
                ax.plot([year], [level[-1]], marker="o", color=colour, markerfacecolor="white", linestyle="none", zorder=5)
        # growth_vs compares two variables' rates: no single line on one variable's chart.


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return atomic_write_bytes(path, buffer.getvalue())


def _variable_figure(variable, present, target_rows, unit) -> Figure:
    fraction = variable in FRACTIONS
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    shade_plan_period(ax)
    drawn = []
    for label, run in present:
        series = run.timeseries[variable].dropna()
        (line,) = ax.plot(series.index.to_numpy(dtype=float), series.to_numpy(dtype=float), linewidth=2, label=label, zorder=2)
        drawn.append((label, run, line.get_color()))
    _draw_targets(ax, variable, target_rows, drawn, fraction)
    if fraction:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel(unit)
    ax.set_title(f"{variable} [{unit}]" if unit else variable)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def _threshold_text(row: dict) -> str:
    """``  [≥ 165.00 in 2025]``: a target's threshold and year, for the verdict grid ("" when it has none)."""
    threshold, comparison = row.get("target"), row.get("comparison")
    if threshold is None or comparison is None or (isinstance(threshold, float) and math.isnan(threshold)):
        return ""
    year = row.get("year")
    when = f" in {int(year)}" if year is not None and not (isinstance(year, float) and math.isnan(year)) else ""
    return f"  [{_symbol(comparison)} {format_number(threshold, row.get('kind', 'level'))}{when}]"


def _verdict_figure(table: pd.DataFrame, runs: list[RunResult], labels: list[str]) -> Figure:
    ids = list(table["id"])
    by_run = []
    for run in runs:
        rows = {}
        if run.targets is not None and "id" in run.targets.columns:
            rows = {r["id"]: r for r in run.targets.to_dict("records")}
        by_run.append(rows)
    colours = np.zeros((len(ids), len(runs), 3))
    fig = Figure(figsize=(max(7.5, 5.0 + 1.7 * len(runs)), 1.4 + 0.34 * len(ids)), layout="constrained")
    ax = fig.add_subplot()
    for i, tid in enumerate(ids):
        for j, rows in enumerate(by_run):
            row = rows.get(tid)
            met = row.get("met") if row else None
            met = None if met is None or (isinstance(met, float) and math.isnan(met)) else bool(met)
            colours[i, j] = [int(COLOURS[met][k : k + 2], 16) / 255 for k in (1, 3, 5)]
            if row is not None and met is not None:
                text = f"{verdict_word(met)}  {format_number(row.get('value'), row.get('kind', 'level'))}"
            else:
                text = "n.a."
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if met is not None else "black")
    ax.imshow(colours, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(runs)), labels, fontsize=8)
    ax.xaxis.tick_top()
    descriptions = list(table["description"]) if "description" in table.columns else [""] * len(ids)
    short = [f"{tid}  {str(d)[:38] + ('…' if len(str(d)) > 38 else '')}{_threshold_text(row)}"
             for tid, d, row in zip(ids, descriptions, table.to_dict("records"))]
    ax.set_yticks(range(len(ids)), short, fontsize=7)
    ax.set_xticks(np.arange(-0.5, len(runs), 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(ids), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    fig.suptitle("Plan targets by scenario, each against its threshold [in brackets]\n"
                 "green: met, red: missed, grey: n.a.", fontsize=10)
    return fig


def plot_runs(folders, out_dir, units: dict | None = None) -> list[Path]:
    """Draw the key variables and the verdict grid of result ``folders`` into ``out_dir``.

    ``folders`` are paths of result folders (or :class:`~sim.engine.results.RunResult`
    objects). A variable a folder lacks is left out for that folder; a
    variable no folder has gets no PNG. Returns the paths written, variables
    first (``<variable_slug>.png``) then ``verdicts.png`` when any folder has
    a targets table.
    """
    if isinstance(folders, (str, Path, RunResult)):
        folders = [folders]
    runs = [f if isinstance(f, RunResult) else read_run(f) for f in folders]
    if not runs:
        raise InputError("no result folders to plot")
    labels = _labels(runs)
    table = _targets_table(runs)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")

    written: list[Path] = []
    for variable in KEY_VARIABLES:
        present = [(label, run) for label, run in zip(labels, runs) if variable in run.timeseries.columns]
        if not present:
            continue
        rows = []
        if table is not None and "variable" in table.columns:
            rows = table[table["variable"] == variable].to_dict("records")
        fig = _variable_figure(variable, present, rows, _unit(variable, runs, units))
        written.append(_save(fig, out_dir / f"{slug(variable)}.png"))
    if table is not None:
        written.append(_save(_verdict_figure(table, runs, labels), out_dir / "verdicts.png"))
    return written


# ---------------------------------------------------------------------------
# Sweeps: fan charts, target distributions, outcomes against factors
# ---------------------------------------------------------------------------
#
# A sweep folder (written by ``shuangta sweep``, see sim.engine.sweep_folder) holds
# experiments.parquet, outcomes.parquet, target_values.parquet, summary.csv
# and manifest.json. These plots read only those files; runs with an error are
# left out. Outcomes are read one variable at a time, never all at once.

#: Most points drawn per scatter panel (a fixed random subset beyond that; the binned median uses all).
SWEEP_SCATTER_POINTS = 5000
FAN_COLOUR = "#1f5f9f"


def _sweep_target_rows(sweep) -> list[dict]:
    """Target definitions of a sweep as the rows ``_draw_targets`` reads (``target`` = threshold)."""
    rows = []
    for d in sweep.targets:
        row = dict(d)
        row["target"] = row.get("threshold")
        rows.append(row)
    return rows


def _fan_figure(variable, quantiles: pd.DataFrame, target_rows, unit, runs: int) -> Figure:
    fraction = variable in FRACTIONS
    years = quantiles.index.to_numpy(dtype=float)
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    shade_plan_period(ax)
    ax.fill_between(years, quantiles[0.05], quantiles[0.95], color=FAN_COLOUR, alpha=0.18, linewidth=0,
                    label="90 % of runs (5–95 %)", zorder=1)
    ax.fill_between(years, quantiles[0.25], quantiles[0.75], color=FAN_COLOUR, alpha=0.35, linewidth=0,
                    label="50 % of runs (25–75 %)", zorder=1)
    ax.plot(years, quantiles[0.5], color=FAN_COLOUR, linewidth=2, marker="o" if len(years) < 8 else None,
            label="median", zorder=2)
    median = RunResult(name="median", timeseries=quantiles[[0.5]].rename(columns={0.5: variable}),
                       targets=None, manifest={})
    _draw_targets(ax, variable, target_rows, [("median", median, FAN_COLOUR)], fraction)
    if fraction:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel(unit)
    title = f"{variable} [{unit}]" if unit else variable
    ax.set_title(f"{title}\n{runs:,} runs", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def _is_rate(row: dict) -> bool:
    return row.get("kind") in ("growth", "growth_vs")


def _histogram_figure(row: dict, values: np.ndarray) -> Figure:
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    threshold = float(row["threshold"])
    kind = row.get("kind", "level")
    fraction = _is_rate(row) or row.get("variable") in FRACTIONS
    bins = min(60, max(10, int(np.sqrt(len(values))))) if len(values) else 10
    ax.hist(values, bins=bins, color=FAN_COLOUR, alpha=0.8)
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1.5,
               label=f"threshold {_symbol(row.get('comparison'))} {format_number(threshold, kind)}")
    lo, hi = ax.get_xlim()
    lo, hi = min(lo, threshold), max(hi, threshold)
    if row.get("comparison") in (">=", ">"):
        ax.axvspan(threshold, hi, color=COLOURS[True], alpha=0.08, label="meets the target")
    else:
        ax.axvspan(lo, threshold, color=COLOURS[True], alpha=0.08, label="meets the target")
    ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    if fraction:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    share = row.get("share_met")
    share_text = "n.a." if share is None or pd.isna(share) else f"{float(share) * 100:.1f} %"
    what = {"growth": f"growth {int(row.get('base_year', 2020))}–{int(row['year'])} [per year]",
            "growth_vs": f"growth difference {int(row.get('base_year', 2020))}–{int(row['year'])}"}.get(
        kind, f"{row.get('variable')} in {int(row['year'])}" if not row.get("aggregate") or pd.isna(row.get("aggregate"))
        else f"{row['aggregate']} of {row.get('variable')} {int(row.get('base_year', 2020)) + 1}–{int(row['year'])}")
    ax.set_xlabel(what)
    ax.set_ylabel("runs")
    description = str(row.get("description", ""))
    description = description if len(description) <= 80 else description[:79] + "…"
    ax.set_title(f"{row['id']}: {description}\nmet in {share_text} of {len(values):,} runs", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, alpha=0.3)
    return fig


def _scatter_figure(row: dict, experiments: pd.DataFrame, values: np.ndarray, factors: list[str],
                    max_points: int) -> Figure:
    cols = min(4, len(factors))
    nrows = math.ceil(len(factors) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.6 * nrows + 0.6), layout="constrained")
    rng = np.random.default_rng(0)
    keep = np.arange(len(values))
    if len(keep) > max_points:
        keep = np.sort(rng.choice(keep, size=max_points, replace=False))
    kind = row.get("kind", "level")
    threshold = float(row["threshold"])
    for i, factor in enumerate(factors):
        ax = fig.add_subplot(nrows, cols, i + 1)
        x = experiments[factor].to_numpy(dtype=float)
        ax.scatter(x[keep], values[keep], s=3, alpha=0.3, color=FAN_COLOUR, linewidths=0, rasterized=True)
        distinct = np.unique(x)
        if len(distinct) <= 20:  # grid: median per value
            centres = distinct
            medians = [np.median(values[x == c]) for c in distinct]
        else:  # binned median over all runs
            edges = np.quantile(x, np.linspace(0, 1, 21))
            idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 19)
            centres = [x[idx == b].mean() for b in range(20) if (idx == b).any()]
            medians = [np.median(values[idx == b]) for b in range(20) if (idx == b).any()]
        ax.plot(centres, medians, color="#c0392b", linewidth=1.5, label="median")
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel(factor, fontsize=7)
        ax.tick_params(labelsize=6)
        if _is_rate(row):
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{row['id']} ({row.get('variable')}, {int(row['year'])}) against each factor; dashed: threshold "
                 f"{_symbol(row.get('comparison'))} {format_number(threshold, kind)}", fontsize=9)
    return fig


def plot_sweep(folder, out_dir, units: dict | None = None, scatter_targets: Sequence[str] | None = None,
               max_points: int = SWEEP_SCATTER_POINTS) -> list[Path]:
    """Draw a sweep folder into ``out_dir``; return the PNGs written.

    * ``fan_<variable>.png`` for every kept variable: median and the 50 % and
      90 % bands of the runs by year, the plan period shaded, the thresholds of
      the targets on that variable (growth targets as the path they imply from
      the median's base-year value);
    * ``target_<id>.png`` for every target in ``summary.csv``: histogram of its
      quantity over the runs against its threshold, with the share that meets it;
    * ``scatter_<id>.png`` for ``scatter_targets`` (default: the headline targets of the targets file,
      :func:`sim.plan.targets.headline_ids`) when kept: the
      target's quantity against each factor, with the binned median.

    Runs recorded with an error are left out.
    """
    from sim.engine.sweep_folder import read_outcomes, read_sweep

    sweep = read_sweep(folder)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    ok = sweep.ok
    ok_ids = set(sweep.experiments["run_id"].to_numpy()[ok].tolist())
    all_ok = bool(ok.all())
    rows = _sweep_target_rows(sweep)
    written: list[Path] = []
    order = [v for v in KEY_VARIABLES if v in sweep.variables] + [v for v in sweep.variables if v not in KEY_VARIABLES]
    for variable in order:
        frame = read_outcomes(sweep.path, [variable])
        if not all_ok:
            frame = frame[frame["run_id"].isin(ok_ids)]
        frame = frame[np.isfinite(frame[variable].to_numpy(dtype=float))]
        if frame.empty:
            continue
        quantiles = frame.groupby("year")[variable].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        quantiles.index = pd.Index(quantiles.index.to_numpy(dtype=float), name="time")
        del frame
        fig = _fan_figure(variable, quantiles, [r for r in rows if r.get("variable") == variable],
                          _unit(variable, [], units), int(ok.sum()))
        written.append(_save(fig, out_dir / f"fan_{slug(variable)}.png"))
    values = sweep.target_values.set_index("run_id").reindex(sweep.experiments["run_id"])
    summary = {str(r["id"]): r for r in sweep.summary.to_dict("records") if isinstance(r.get("id"), str) and r["id"]}
    for row in rows:
        if row["id"] not in values.columns:
            continue
        full = {**row, **{k: summary.get(row["id"], {}).get(k) for k in ("share_met", "met", "evaluated")}}
        v = values[row["id"]].to_numpy(dtype=float)[ok]
        v = v[np.isfinite(v)]
        written.append(_save(_histogram_figure(full, v), out_dir / f"target_{slug(row['id'])}.png"))
    for tid in headline_ids() if scatter_targets is None else scatter_targets:
        row = next((r for r in rows if r["id"] == tid), None)
        if row is None or tid not in values.columns or not sweep.factors:
            continue
        v = values[tid].to_numpy(dtype=float)
        mask = ok & np.isfinite(v)
        fig = _scatter_figure(row, sweep.experiments[mask], v[mask], sweep.factors, max_points)
        written.append(_save(fig, out_dir / f"scatter_{slug(tid)}.png"))
    return written


# ---------------------------------------------------------------------------
# Sensitivity studies: indices with intervals, Morris, heat map, tornado
# ---------------------------------------------------------------------------
#
# A study folder (written by ``shuangta sensitivity``, see sim.analysis.sensitivity)
# holds indices.csv, convergence.csv, oat.csv, maybe indices_by_year.csv, and
# the metrics' definitions in manifest.json. These plots read only those
# tables: nothing is simulated here.

S1_COLOUR, ST_COLOUR = "#9ecae1", "#1f5f9f"
LOW_COLOUR, HIGH_COLOUR = "#c0392b", "#2e8b57"
#: Factors labelled by name on a Morris plot (the largest mu*).
MORRIS_LABELS = 12
#: Factors drawn on a time-resolved plot (the largest index over the years).
BY_YEAR_FACTORS = 8
#: Lines sigma / mu* = 0.1, 0.5, 1 of Garcia Sanchez et al. (2014): below 0.1 the effect is
#: almost linear, up to 0.5 monotonic, up to 1 almost monotonic, above: non-linear or interacting.
MORRIS_RATIOS = (0.1, 0.5, 1.0)


def _is_rate_metric(metric: dict) -> bool:
    return metric.get("kind") == "growth" or metric.get("target_kind") in ("growth", "growth_vs")


def _metric_heading(metric: dict, width: int = 90) -> str:
    description = str(metric.get("description", ""))
    text = description if description.startswith(f"{metric['name']} ") else f"{metric['name']}: {description}"
    return text if len(text) <= width else text[: width - 1] + "…"


def _sobol_figure(metric: dict, rows: pd.DataFrame, method: str, n: int, conf_level: float) -> Figure:
    rows = rows.sort_values("ST", ascending=True, na_position="first")
    y = np.arange(len(rows))
    fig = Figure(figsize=(8, 1.4 + 0.34 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    errors = {"capsize": 2, "elinewidth": 0.8, "ecolor": "#444444"}
    ax.barh(y + 0.2, rows["S1"].to_numpy(dtype=float), height=0.38, xerr=rows["S1_conf"].to_numpy(dtype=float),
            color=S1_COLOUR, label="S1 (first order)", error_kw=errors)
    ax.barh(y - 0.2, rows["ST"].to_numpy(dtype=float), height=0.38, xerr=rows["ST_conf"].to_numpy(dtype=float),
            color=ST_COLOUR, label="ST (total)", error_kw=errors)
    ax.set_yticks(y, rows["factor"].tolist(), fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"share of the metric's variance (bars: index; whiskers: {conf_level:.0%} interval)")
    name = {"sobol": "Sobol'", "fast": "FAST"}.get(method, method)
    ax.set_title(f"{_metric_heading(metric)}\n{name} indices, N = {n:,}", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _morris_figure(metric: dict, rows: pd.DataFrame, n: int) -> Figure:
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.add_subplot()
    mu_star, sigma = rows["mu_star"].to_numpy(dtype=float), rows["sigma"].to_numpy(dtype=float)
    ax.errorbar(mu_star, sigma, xerr=rows["mu_star_conf"].to_numpy(dtype=float), fmt="o", color=ST_COLOUR,
                ecolor="#9ecae1", markersize=4, capsize=2, linewidth=0.8, label="factor (whisker: mu* interval)")
    top = max(float(np.nanmax(mu_star)) if np.isfinite(mu_star).any() else 1.0, 1e-300)
    xs = np.array([0.0, top * 1.1])
    for ratio, style in zip(MORRIS_RATIOS, (":", "--", "-.")):
        ax.plot(xs, ratio * xs, color="grey", linestyle=style, linewidth=0.8, label=f"sigma / mu* = {ratio:g}")
    ax.set_xlim(0, top * 1.1)
    high = float(np.nanmax(sigma)) if np.isfinite(sigma).any() else 0.0
    ax.set_ylim(0, high * 1.15 if high > 0 else top * 1.1)
    order = [i for i in np.argsort(-np.nan_to_num(mu_star, nan=-np.inf))[:MORRIS_LABELS]
             if np.isfinite(mu_star[i]) and mu_star[i] > 0 and np.isfinite(sigma[i])]
    _label_points(ax, [(mu_star[i], sigma[i]) for i in order], [str(rows["factor"].iloc[i]) for i in order])
    ax.set_xlabel("mu* (mean absolute elementary effect, in the metric's units per unit of each factor's quantile)")
    ax.set_ylabel("sigma (spread of the elementary effects)")
    ax.set_title(f"{_metric_heading(metric)}\nMorris screening, {n:,} trajectories", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return fig


#: Font size [pt] of point labels, and the offset [pt] of a label from its point.
LABEL_SIZE, LABEL_OFFSET = 7.0, 3.0


def spread_labels(anchors: list[tuple[float, float]], sizes: list[tuple[float, float]],
                  right: float = math.inf) -> list[tuple[float, float]]:
    """Lower-left corners of labels, one per anchor point, that do not overlap (all in points, y upwards).

    Each label of size ``(width, height)`` starts :data:`LABEL_OFFSET` to the
    upper right of its anchor (upper left when it would pass ``right``) and is
    moved up, never sideways, just far enough to clear the labels already
    placed; labels are placed from the lowest anchor.
    """
    placed: list[tuple[float, float, float, float]] = []
    corners: list[tuple[float, float] | None] = [None] * len(anchors)
    for i in sorted(range(len(anchors)), key=lambda k: anchors[k][1]):
        (ax_, ay), (w, h) = anchors[i], sizes[i]
        x = ax_ + LABEL_OFFSET if ax_ + LABEL_OFFSET + w <= right else ax_ - LABEL_OFFSET - w
        y = ay + LABEL_OFFSET
        moved = True
        while moved:
            moved = False
            for px, py, pw, ph in placed:
                if x < px + pw and px < x + w and y < py + ph and py < y + h:
                    y, moved = py + ph, True
        placed.append((x, y, w, h))
        corners[i] = (x, y)
    return corners


def _label_points(ax, points: list[tuple[float, float]], texts: list[str]) -> None:
    """Label data ``points`` with ``texts`` without overlaps (:func:`spread_labels`, with each label's size
    as drawn); a moved label gets a thin leader line to its point. Labels stay out of the layout, so
    placing them does not move the points."""
    if not points:
        return
    fig = ax.figure
    labels = [ax.annotate(text, point, xytext=(LABEL_OFFSET, LABEL_OFFSET), textcoords="offset points",
                          fontsize=LABEL_SIZE, ha="left", va="bottom") for point, text in zip(points, texts)]
    for label in labels:
        label.set_in_layout(False)
    fig.draw_without_rendering()  # the layout fixes where the points land and how large each label is
    to_points = 72.0 / fig.dpi
    anchors = [tuple(v * to_points for v in ax.transData.transform(p)) for p in points]
    sizes = []
    for label in labels:
        box = label.get_window_extent()
        sizes.append((box.width * to_points + 1.0, box.height * to_points + 1.0))
    for label in labels:  # measured: now drawn again where they fit
        label.remove()
    right = ax.get_window_extent().x1 * to_points
    for point, text, anchor, corner in zip(points, texts, anchors, spread_labels(anchors, sizes, right)):
        dx, dy = corner[0] - anchor[0], corner[1] - anchor[1]
        leader = dict(arrowstyle="-", color="#999999", linewidth=0.5) if dy > LABEL_OFFSET + 0.5 else None
        label = ax.annotate(text, point, xytext=(dx, dy), textcoords="offset points", fontsize=LABEL_SIZE,
                            ha="left", va="bottom", arrowprops=leader)
        label.set_in_layout(False)


def heat_values(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """What a factors x metrics heat map shows: ST as it is (a share of variance, comparable across
    metrics); Morris ``mu_star`` divided by the largest mu* of its metric (column), since each metric has
    its own units. A column whose largest mu* is 0 stays missing."""
    if key != "mu_star":
        return table
    return table / table.max(axis=0).replace(0, np.nan)


def _heatmap_figure(table: pd.DataFrame, label: str, title: str) -> Figure:
    """``table``: factors (rows) x metrics (columns), values in [0, 1]."""
    fig = Figure(figsize=(2.6 + 1.05 * table.shape[1], 1.6 + 0.3 * table.shape[0]), layout="constrained")
    ax = fig.add_subplot()
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    if values.size <= 600:
        for (i, j), v in np.ndenumerate(values):
            text = "n.a." if not np.isfinite(v) else f"{v:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if np.isfinite(v) and v > 0.55 else "black")
    ax.set_xticks(range(table.shape[1]), table.columns.tolist(), fontsize=8, rotation=30, ha="left")
    ax.xaxis.tick_top()
    ax.set_yticks(range(table.shape[0]), table.index.tolist(), fontsize=7)
    fig.colorbar(image, ax=ax, label=label, shrink=0.6)
    fig.suptitle(title, fontsize=9)
    return fig


def _tornado_figure(metric: dict, oat: pd.DataFrame, factors: list[dict]) -> Figure | None:
    base_rows = oat[oat["setting"] == "base"]
    if base_rows.empty or not np.isfinite(float(base_rows[metric["name"]].iloc[0])):
        return None
    base = float(base_rows[metric["name"]].iloc[0])
    bounds = {f["name"]: (f.get("lower"), f.get("upper")) for f in factors}
    swings = []
    for name in [f["name"] for f in factors]:
        rows = oat[oat["factor"] == name].set_index("setting")
        if not {"low", "high"} <= set(rows.index):
            continue
        low, high = float(rows.loc["low", metric["name"]]), float(rows.loc["high", metric["name"]])
        if not (np.isfinite(low) and np.isfinite(high)):
            continue
        swings.append((abs(high - low), name, low, high))
    swings.sort()
    fig = Figure(figsize=(8, 1.6 + 0.32 * max(len(swings), 1)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(swings))
    lows = np.array([s[2] for s in swings])
    highs = np.array([s[3] for s in swings])
    ax.barh(y, lows - base, left=base, color=LOW_COLOUR, height=0.6, label="factor at its lower bound")
    ax.barh(y, highs - base, left=base, color=HIGH_COLOUR, height=0.6, alpha=0.85, label="factor at its upper bound")
    labels = []
    for _, name, _, _ in swings:
        lo, hi = bounds.get(name, (None, None))
        labels.append(f"{name} [{lo:g}, {hi:g}]" if lo is not None and hi is not None else name)
    ax.set_yticks(y, labels, fontsize=7)
    fraction = _is_rate_metric(metric) and metric.get("quantity", "value") in ("value", "gap")
    ax.axvline(base, color="black", linewidth=1, label=f"base run: {_number(base, fraction)}")
    if metric.get("target") and metric.get("threshold") is not None:
        line = 0.0 if metric.get("quantity") == "gap" else float(metric["threshold"])
        what = "gap 0 (the threshold)" if metric.get("quantity") == "gap" else (
            f"threshold {_symbol(metric.get('comparison'))} {_number(line, fraction)}")
        ax.axvline(line, color="black", linestyle="--", linewidth=1, label=what)
    if fraction:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel(metric.get("description", metric["name"]))
    ax.set_title(f"{_metric_heading(metric)}\none at a time: each factor at a bound, the others as in the base "
                 "scenario", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def _by_year_figure(variable: str, rows: pd.DataFrame, key: str, method: str) -> Figure:
    table = rows.pivot(index="year", columns="factor", values=key)
    if key == "mu_star":
        scale = table.max(axis=1).replace(0, np.nan)
        table = table.div(scale, axis=0)
    strongest = table.max(axis=0).sort_values(ascending=False).index[:BY_YEAR_FACTORS]
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    shade_plan_period(ax)
    for factor in strongest:
        series = table[factor].dropna()
        ax.plot(series.index.to_numpy(dtype=float), series.to_numpy(dtype=float), marker="o", markersize=3,
                linewidth=1.5, label=factor)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("ST" if key == "ST" else "mu* / largest mu* that year")
    name = {"sobol": "Sobol'", "fast": "FAST", "morris": "Morris"}.get(method, method)
    ax.set_title(f"{variable}: {name} {'total-order index' if key == 'ST' else 'mu*'} by year "
                 f"(the {len(strongest)} largest)", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_sensitivity(folder, out_dir) -> list[Path]:
    """Draw a sensitivity study folder into ``out_dir``; return the PNGs written.

    * ``indices_<metric>.png`` (Sobol', FAST): S1 and ST of every factor with
      their confidence intervals, largest ST at the top;
    * ``morris_<metric>.png`` (Morris): mu* against sigma with mu*'s interval
      and the lines sigma / mu* = 0.1, 0.5, 1;
    * ``heatmap_st.png`` (Morris: ``heatmap_mu_star.png``, mu* over the
      metric's largest): factors × metrics;
    * ``tornado_<metric>.png``: the one-at-a-time runs of ``oat.csv``, the
      swing of the metric with each factor at its lower and upper bound;
    * ``indices_by_year_<variable>.png`` when the study is time-resolved.
    """
    from sim.analysis.sensitivity import read_sensitivity

    study = read_sensitivity(folder)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    settings = study.settings
    main = study.main_indices()
    written: list[Path] = []
    key = "mu_star" if study.method == "morris" else "ST"
    for metric in study.metrics:
        rows = main[main["metric"] == metric["name"]]
        if rows.empty or rows[key].isna().all():
            continue
        if study.method == "morris":
            fig = _morris_figure(metric, rows, study.n)
            written.append(_save(fig, out_dir / f"morris_{slug(metric['name'])}.png"))
        else:
            fig = _sobol_figure(metric, rows, study.method, study.n, float(settings.get("conf_level", 0.95)))
            written.append(_save(fig, out_dir / f"indices_{slug(metric['name'])}.png"))
    table = main.pivot(index="factor", columns="metric", values=key)
    table = table.reindex(index=study.factors, columns=[m["name"] for m in study.metrics])
    if study.method == "morris":
        table = heat_values(table, "mu_star")
        label, name = "mu* / largest mu* of the metric", "heatmap_mu_star.png"
        title = f"Morris mu* of each factor, relative to the metric's most influential factor ({study.n:,} trajectories)"
    else:
        label, name = "ST (total-order index)", "heatmap_st.png"
        title = f"{'Sobol' if study.method == 'sobol' else 'FAST'} total-order indices ST, N = {study.n:,}"
    table = table.loc[table.max(axis=1).fillna(-1).sort_values(ascending=False).index]
    written.append(_save(_heatmap_figure(table, label, title), out_dir / name))
    for metric in study.metrics:
        if metric["name"] not in study.oat.columns:
            continue
        fig = _tornado_figure(metric, study.oat, settings["factors"])
        if fig is not None:
            written.append(_save(fig, out_dir / f"tornado_{slug(metric['name'])}.png"))
    if study.indices_by_year is not None and not study.indices_by_year.empty:
        for variable, rows in study.indices_by_year.groupby("variable", sort=False):
            if rows[key].notna().any():
                fig = _by_year_figure(str(variable), rows, key, study.method)
                written.append(_save(fig, out_dir / f"indices_by_year_{slug(str(variable))}.png"))
    return written
