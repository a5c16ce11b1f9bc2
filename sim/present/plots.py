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

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import InputError
from sim.engine.results import RunResult, atomic_write_bytes, read_run
from sim.plan.targets import DEFAULT_BASE_YEAR, format_number, value_at, verdict_word
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


def unit_of(variable: str, runs: list[RunResult], units: dict | None) -> str:
    """The unit of ``variable``: from ``units`` when given there, else the one the runs record, else the model's."""
    if units and variable in units:
        return units[variable]
    for run in runs:
        extra = run.manifest.get("extra") or {}
        found = (extra.get("units") or {}).get(variable) if isinstance(extra, dict) else None
        if found:
            return display_unit(str(found))
    return variable_unit(variable)


def comparison_symbol(comparison: str) -> str:
    """``≥`` for ``>=``, and so on."""
    return {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(str(comparison), str(comparison))


def number_text(value: float, fraction: bool) -> str:
    """A threshold or value as the charts write it (a percentage when the variable is a fraction)."""
    return f"{value * 100:.1f} %" if fraction else format_number(value)


def draw_targets(ax, variable, rows, present, fraction) -> None:
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
                      label=f"{tid}: {aggregate} {comparison_symbol(comparison)} {number_text(threshold, fraction)}")
        elif kind == "level":
            marker = {">=": "^", ">": "^", "<=": "v", "<": "v"}.get(comparison, "D")
            ax.hlines(threshold, year - 0.5, year + 0.5, colors="black", linewidth=1.5, zorder=4)
            ax.plot([year], [threshold], marker=marker, color="black", markersize=8, linestyle="none", zorder=5,
                    label=f"{tid}: {comparison_symbol(comparison)} {number_text(threshold, fraction)} in {year:.0f}")
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
                text = f"{tid}: {threshold * 100:+.1f} %/yr{suffix} → {number_text(level[-1], fraction)}"
                ax.plot(years, level, linestyle=":", color=colour, linewidth=1.6, zorder=3, label=text)
                ax.plot([year], [level[-1]], marker="o", color=colour, markerfacecolor="white", linestyle="none", zorder=5)
        # growth_vs compares two variables' rates: no single line on one variable's chart.


def save_png(fig: Figure, path: Path) -> Path:
    """Draw ``fig`` with the Agg canvas and write it as a PNG at ``path`` (atomically)."""
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
    draw_targets(ax, variable, target_rows, drawn, fraction)
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
    return f"  [{comparison_symbol(comparison)} {format_number(threshold, row.get('kind', 'level'))}{when}]"


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
        fig = _variable_figure(variable, present, rows, unit_of(variable, runs, units))
        written.append(save_png(fig, out_dir / f"{slug(variable)}.png"))
    if table is not None:
        written.append(save_png(_verdict_figure(table, runs, labels), out_dir / "verdicts.png"))
    return written


# ---------------------------------------------------------------------------
# Sweeps: fan charts, target distributions, outcomes against factors
# ---------------------------------------------------------------------------
#
# A sweep folder (written by ``shuangta sweep``, see sim.engine.sweep_folder) holds
# experiments.parquet, outcomes.parquet, target_values.parquet, summary.csv
# and manifest.json. These plots read only those files; runs with an error are
# left out. Outcomes are read one variable at a time, never all at once.


# ---------------------------------------------------------------------------
# Sensitivity studies: indices with intervals, Morris, heat map, tornado
# ---------------------------------------------------------------------------
#
# A study folder (written by ``shuangta sensitivity``, see sim.analysis.sensitivity)
# holds indices.csv, convergence.csv, oat.csv, maybe indices_by_year.csv, and
# the metrics' definitions in manifest.json. These plots read only those
# tables: nothing is simulated here.
