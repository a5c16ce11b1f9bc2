"""Charts of a sweep folder: fans of the key variables, target histograms, target-vs-factor scatters.

A sweep folder (written by ``shuangta sweep``, see :mod:`sim.engine.sweep_folder`) holds
experiments.parquet, outcomes.parquet, target_values.parquet, summary.csv and manifest.json. These
plots read only those files; runs with an error are left out. Outcomes are read one variable at a
time, never all at once. Shared helpers (saving, labels, units) are :mod:`sim.present.plots`'.
"""

from __future__ import annotations


import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import InputError
from sim.engine.results import RunResult
from sim.plan.targets import format_number, headline_ids
from sim.present.style import COLOURS, KEY_VARIABLES
from sim.present.plots import FRACTIONS, comparison_symbol, draw_targets, save_png, shade_plan_period, slug, unit_of


#: Most points drawn per scatter panel (a fixed random subset beyond that; the binned median uses all).
SWEEP_SCATTER_POINTS = 5000


FAN_COLOUR = "#1f5f9f"


def _sweep_target_rows(sweep) -> list[dict]:
    """Target definitions of a sweep as the rows ``draw_targets`` reads (``target`` = threshold)."""
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
    draw_targets(ax, variable, target_rows, [("median", median, FAN_COLOUR)], fraction)
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
               label=f"threshold {comparison_symbol(row.get('comparison'))} {format_number(threshold, kind)}")
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
                 f"{comparison_symbol(row.get('comparison'))} {format_number(threshold, kind)}", fontsize=9)
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
                          unit_of(variable, [], units), int(ok.sum()))
        written.append(save_png(fig, out_dir / f"fan_{slug(variable)}.png"))
    values = sweep.target_values.set_index("run_id").reindex(sweep.experiments["run_id"])
    summary = {str(r["id"]): r for r in sweep.summary.to_dict("records") if isinstance(r.get("id"), str) and r["id"]}
    for row in rows:
        if row["id"] not in values.columns:
            continue
        full = {**row, **{k: summary.get(row["id"], {}).get(k) for k in ("share_met", "met", "evaluated")}}
        v = values[row["id"]].to_numpy(dtype=float)[ok]
        v = v[np.isfinite(v)]
        written.append(save_png(_histogram_figure(full, v), out_dir / f"target_{slug(row['id'])}.png"))
    for tid in headline_ids() if scatter_targets is None else scatter_targets:
        row = next((r for r in rows if r["id"] == tid), None)
        if row is None or tid not in values.columns or not sweep.factors:
            continue
        v = values[tid].to_numpy(dtype=float)
        mask = ok & np.isfinite(v)
        fig = _scatter_figure(row, sweep.experiments[mask], v[mask], sweep.factors, max_points)
        written.append(save_png(fig, out_dir / f"scatter_{slug(tid)}.png"))
    return written
