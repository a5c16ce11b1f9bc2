"""Plots made from result folders only: this module never simulates.

:func:`plot_runs` reads folders written by :func:`sim.results.write_run` and
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

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import InputError
from sim.results import RunResult, atomic_write_bytes, read_run
from sim.targets import format_number, verdict_word

#: Variables drawn, in order, when a folder has them.
KEY_VARIABLES = (
    "GDP",
    "Above Scale Industrial Output",
    "Urban Disposable Income per Capita",
    "Fixed Asset Investment",
    "General Public Budget Revenue",
    "Retail Sales",
    "Tertiary Value Added",
    "Unemployment Rate",
    "CO2 Emissions",
    "Energy Intensity Index",
    "Population",
    "Employment",
)

MONEY = "100 million yuan"  # 亿元
#: Units shown in titles, as in model/shuangta.mdl (Yi = 亿元, CO2 in ktCO2/Year).
#: If the model's units change, override with ``plot_runs(..., units={...})``
#: or a ``units`` dict in the manifest's ``extra``.
UNITS = {
    "GDP": f"{MONEY}/year",
    "Above Scale Industrial Output": f"{MONEY}/year",
    "Urban Disposable Income per Capita": "yuan/person/year",
    "Fixed Asset Investment": f"{MONEY}/year",
    "General Public Budget Revenue": f"{MONEY}/year",
    "Retail Sales": f"{MONEY}/year",
    "Tertiary Value Added": f"{MONEY}/year",
    "Unemployment Rate": "% of labour force",
    "CO2 Emissions": "thousand t CO2/year",
    "Energy Intensity Index": "energy per unit of GDP, 2020 = 1",
    "Population": "persons",
    "Employment": "persons",
}
#: Variables stored as fractions and shown as percentages.
FRACTIONS = {"Unemployment Rate"}

PLAN_START, PLAN_END = 2021, 2025
COLOURS = {True: "#2e8b57", False: "#c0392b", None: "#b8b8b8"}
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
    series = series.dropna()
    if series.empty:
        return math.nan
    times = series.index.to_numpy(dtype=float)
    if not times[0] - 1e-6 <= year <= times[-1] + 1e-6:
        return math.nan
    return float(np.interp(year, times, series.to_numpy(dtype=float)))


def _unit(variable: str, runs: list[RunResult], units: dict | None) -> str:
    if units and variable in units:
        return units[variable]
    for run in runs:
        extra = run.manifest.get("extra") or {}
        found = (extra.get("units") or {}).get(variable) if isinstance(extra, dict) else None
        if found:
            return str(found)
    return UNITS.get(variable, "")


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
        base_year = 2020.0 if base_year is None or pd.isna(base_year) else float(base_year)
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
    ax.axvspan(PLAN_START, PLAN_END, color="#e8eef7", zorder=0, label=f"plan period {PLAN_START}–{PLAN_END}")
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


def _verdict_figure(table: pd.DataFrame, runs: list[RunResult], labels: list[str]) -> Figure:
    ids = list(table["id"])
    by_run = []
    for run in runs:
        rows = {}
        if run.targets is not None and "id" in run.targets.columns:
            rows = {r["id"]: r for r in run.targets.to_dict("records")}
        by_run.append(rows)
    colours = np.zeros((len(ids), len(runs), 3))
    fig = Figure(figsize=(max(6.5, 4.0 + 1.7 * len(runs)), 1.4 + 0.34 * len(ids)), layout="constrained")
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
    short = [f"{tid}  {str(d)[:38] + ('…' if len(str(d)) > 38 else '')}" for tid, d in zip(ids, descriptions)]
    ax.set_yticks(range(len(ids)), short, fontsize=7)
    ax.set_xticks(np.arange(-0.5, len(runs), 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(ids), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    fig.suptitle("Plan targets by scenario, 2025\ngreen: met, red: missed, grey: n.a.", fontsize=10)
    return fig


def plot_runs(folders, out_dir, units: dict | None = None) -> list[Path]:
    """Draw the key variables and the verdict grid of result ``folders`` into ``out_dir``.

    ``folders`` are paths of result folders (or :class:`~sim.results.RunResult`
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
