"""Charts of a sensitivity study folder: Sobol' bars, Morris screening, heat maps, tornado and time-resolved indices.

A study folder (written by ``shuangta sensitivity``, see :mod:`sim.analysis.sensitivity`) holds
indices.csv, convergence.csv, oat.csv, maybe indices_by_year.csv, and the metrics' definitions in
manifest.json. These plots read only those tables: nothing is simulated here.
"""

from __future__ import annotations


import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import InputError
from sim.present.plots import comparison_symbol, number_text, save_png, shade_plan_period, slug


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
    ax.axvline(base, color="black", linewidth=1, label=f"base run: {number_text(base, fraction)}")
    if metric.get("target") and metric.get("threshold") is not None:
        line = 0.0 if metric.get("quantity") == "gap" else float(metric["threshold"])
        what = "gap 0 (the threshold)" if metric.get("quantity") == "gap" else (
            f"threshold {comparison_symbol(metric.get('comparison'))} {number_text(line, fraction)}")
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
            written.append(save_png(fig, out_dir / f"morris_{slug(metric['name'])}.png"))
        else:
            fig = _sobol_figure(metric, rows, study.method, study.n, float(settings.get("conf_level", 0.95)))
            written.append(save_png(fig, out_dir / f"indices_{slug(metric['name'])}.png"))
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
    written.append(save_png(_heatmap_figure(table, label, title), out_dir / name))
    for metric in study.metrics:
        if metric["name"] not in study.oat.columns:
            continue
        fig = _tornado_figure(metric, study.oat, settings["factors"])
        if fig is not None:
            written.append(save_png(fig, out_dir / f"tornado_{slug(metric['name'])}.png"))
    if study.indices_by_year is not None and not study.indices_by_year.empty:
        for variable, rows in study.indices_by_year.groupby("variable", sort=False):
            if rows[key].notna().any():
                fig = _by_year_figure(str(variable), rows, key, study.method)
                written.append(save_png(fig, out_dir / f"indices_by_year_{slug(str(variable))}.png"))
    return written
