"""Calibration: fit a spec's free quantities to history by weighted least squares, say what the data pin down.

:func:`calibrate` runs the whole procedure on a :class:`sim.plan.history.CalibrationSpec`:

1. **Fit.** Residuals are relative errors ``sqrt(w) * (model - data) / data``
   over the spec's history rows (fitted years after ``start`` up to ``end``;
   sums over several years for totals). :func:`scipy.optimize.least_squares`
   (trust-region reflective, bounds) runs from ``fit.starts`` points: the
   spec's start point and a Latin hypercube over the bounds (seeded). Every
   Jacobian is one ensemble run of P + 1 members (:mod:`sim.model.compiler`).
2. **Identification.** The profile of the objective ``J = sum r^2`` along each
   free quantity (the others re-fitted at each of ``fit.profile_points`` grid
   values) gives its 95 % interval ``{x: J(x) - J* <= 3.84 * data_error^2}``
   (one history figure is known to ``data_error``, relative). A quantity is
   *identified* when that interval is narrower than ``identified_width`` of
   its bounds and its best value lies inside them; narrow but on a bound is
   *at bound* (the data push it past its plausible range: a sign of
   structural misfit, not an estimate); otherwise *not identified*. The rank
   and singular values of the Jacobian (in units of the bounds) are reported.
3. **Refit.** Model parameters (role ``parameter``) that are not identified
   go back to their prior (the ``.mdl`` value) and the rest is re-fitted, so
   the stored backcast is the one the stored values produce; the profiles of
   what stays free are recomputed given those priors. The plausible range of
   every parameter (its profile interval, often the whole bounds) is reported
   for sensitivity analysis. At the final optimum the Fisher information
   (:mod:`sim.analysis.identification`) gives each quantity's standard error and 95 %
   interval and the correlation matrix of the estimates; the number of data
   points is reported against the number of fitted quantities. Without
   profiles (``profile_points`` below 2) the Fisher intervals decide the status.
4. **Statistics** per series: MAPE, and Theil's inequality statistics (Sterman
   1984): ``U_M = (mean S - mean A)^2 / MSE``, ``U_S = (sd S - sd A)^2 / MSE``,
   ``U_C = 2 (1 - r) sd S sd A / MSE`` (population sd; they add to 1).

:func:`write_calibration` writes a result folder (values, statistics,
profiles, comparison, backcast, plot, manifest); :func:`apply_calibration`
writes ``model/data/calibration.csv``, the one file through which fitted
values become model defaults (:func:`sim.model.loader.read_calibration`).

This module never prints and never exits.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, RunError
from sim.plan.history import (CalibrationSpec, HistoryRunner, history_sha256, load_spec, model_values, series_columns,
                         with_model_variables)
from sim.analysis.identification import fisher, strong_correlations, unit_intervals
from sim import resources
from sim.model.loader import DEFAULT_MODEL
from sim.model.files import calibration_file, file_sha256

log = logging.getLogger(__name__)

#: 95 % quantile of chi-square with one degree of freedom (profile intervals).
CHI2_95 = 3.841458820694124
#: A fitted value within this share of its bounds' width from a bound is "at a bound".
BOUND_TOL = 0.01
#: Singular values below this share of the largest count as zero (Jacobian rank).
RANK_TOL = 1e-3
CALIBRATION_COLUMNS = [
    "model", "name", "scope", "role", "value", "prior", "lower", "upper", "range_low", "range_high",
    "identified", "spec", "spec_sha256", "model_sha256", "history_sha256", "fitted_on", "source",
]


# --------------------------------------------------------------------------- statistics


def theil(simulated, actual) -> dict:
    """MSE and Theil's inequality statistics of ``simulated`` against ``actual``.

    Returns ``mse, u_m, u_s, u_c, r`` with population standard deviations;
    ``u_m + u_s + u_c = 1`` when ``mse > 0`` (all NaN when ``mse == 0``).
    With one point there is no spread: ``u_m = 1``, ``u_s = u_c = 0``.
    """
    s = np.asarray(simulated, dtype=float)
    a = np.asarray(actual, dtype=float)
    if s.shape != a.shape or s.size == 0:
        raise InputError("theil: simulated and actual need the same non-empty shape")
    mse = float(np.mean((s - a) ** 2))
    if mse == 0:
        return {"mse": 0.0, "u_m": math.nan, "u_s": math.nan, "u_c": math.nan, "r": math.nan}
    ss, sa = float(np.std(s)), float(np.std(a))
    r = float(np.corrcoef(s, a)[0, 1]) if ss > 0 and sa > 0 else math.nan
    u_m = (float(np.mean(s)) - float(np.mean(a))) ** 2 / mse
    u_s = (ss - sa) ** 2 / mse
    u_c = 2 * (1 - r) * ss * sa / mse if not math.isnan(r) else 0.0
    return {"mse": mse, "u_m": u_m, "u_s": u_s, "u_c": u_c, "r": r}


def mape(simulated, actual) -> float:
    """Mean absolute percentage error (as a fraction)."""
    s = np.asarray(simulated, dtype=float)
    a = np.asarray(actual, dtype=float)
    return float(np.mean(np.abs(s - a) / np.abs(a)))


def fit_statistics(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per-series statistics of a comparison frame (``variable, data, model, weight``)."""
    rows = []
    for var, g in comparison.groupby("variable", sort=False):
        stats = theil(g["model"], g["data"])
        rows.append({"series": var, "n": len(g), "weight": float(g["weight"].iloc[0]),
                     "mape": mape(g["model"], g["data"]), **stats})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the objective


class Objective:
    """Residuals of a spec on the unit cube of its free quantities (x = lower + z * (upper - lower))."""

    def __init__(self, runner: HistoryRunner, fixed: dict | None = None):
        self.runner = runner
        self.obs = with_model_variables(runner.spec.observations(), runner.compiled.variables)
        self.data = self.obs["value"].to_numpy(dtype=float)
        self.sqrt_w = np.sqrt(self.obs["weight"].to_numpy(dtype=float))
        self.lower = np.array([f.lower for f in runner.free])
        self.upper = np.array([f.upper for f in runner.free])
        self.columns = series_columns(self.obs["variable"].unique(), runner.compiled.variables)
        self.fixed = dict(fixed or {})   # index -> value in z units, held during a fit
        self.evaluations = 0

    @property
    def size(self) -> int:
        return len(self.lower)

    def x(self, z) -> np.ndarray:
        return self.lower + np.asarray(z, dtype=float) * (self.upper - self.lower)

    def x_of(self, j: int, zj: float) -> float:
        """Coordinate ``j`` of a unit-cube value in model units."""
        return float(self.lower[j] + zj * (self.upper[j] - self.lower[j]))

    def z(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower)

    def residuals_many(self, Z: np.ndarray) -> np.ndarray:
        """Residuals of N points (rows of Z, unit cube): (N, R)."""
        Z = np.atleast_2d(Z)
        result = self.runner.run(self.x(Z), columns=self.columns)
        self.evaluations += Z.shape[0]
        m = model_values(result, self.obs)
        r = self.sqrt_w * (m - self.data) / self.data
        r[~np.isfinite(r)] = 1e6   # a run that breaks down is a very bad fit, not an exception
        return r

    def cost(self, z) -> float:
        r = self.residuals_many(z)[0]
        return float(r @ r)

    # -- for least_squares over the free (not fixed) coordinates -------------------

    def _full(self, zfree: np.ndarray, free_idx: np.ndarray) -> np.ndarray:
        Z = np.empty((np.atleast_2d(zfree).shape[0], self.size))
        Z[:, free_idx] = np.atleast_2d(zfree)
        for i, v in self.fixed.items():
            Z[:, i] = v
        return Z

    def solve(self, z0: np.ndarray, max_nfev: int = 200):
        """least_squares from ``z0`` (unit cube) with the ``fixed`` coordinates held; returns (z, cost)."""
        from scipy.optimize import least_squares

        free_idx = np.array([i for i in range(self.size) if i not in self.fixed], dtype=int)
        if len(free_idx) == 0:
            z = self._full(np.empty((1, 0)), free_idx)[0]
            return z, self.cost(z)
        h = 1e-6
        cache: dict = {}

        def both(zf):
            key = zf.tobytes()
            if key not in cache:
                cache.clear()
                step = np.where(zf + h <= 1, h, -h)
                pts = np.vstack([zf] + [zf + step[k] * np.eye(len(zf))[k] for k in range(len(zf))])
                R = self.residuals_many(self._full(pts, free_idx))
                cache[key] = (R[0], ((R[1:] - R[0]) / step[:, None]).T)
            return cache[key]

        zf0 = np.clip(np.asarray(z0, dtype=float)[free_idx], 0, 1)
        sol = least_squares(lambda zf: both(zf)[0], zf0, jac=lambda zf: both(zf)[1], bounds=(0, 1),
                            method="trf", max_nfev=max_nfev, xtol=1e-10, ftol=1e-12, gtol=1e-10)
        z = self._full(sol.x, free_idx)[0]
        return z, float(2 * sol.cost)

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """Jacobian of the residuals in unit-cube coordinates (R, P), forward differences in one ensemble run."""
        h = 1e-6
        step = np.where(z + h <= 1, h, -h)
        pts = np.vstack([z] + [z + step[k] * np.eye(len(z))[k] for k in range(len(z))])
        R = self.residuals_many(pts)
        return ((R[1:] - R[0]) / step[:, None]).T


# --------------------------------------------------------------------------- the procedure


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found."""

    spec: CalibrationSpec
    parameters: pd.DataFrame      # one row per free quantity
    statistics: pd.DataFrame      # one row per series (fitted years)
    comparison: pd.DataFrame      # one row per history figure of the fitted series
    profiles: pd.DataFrame        # parameter, value, objective
    backcast: pd.DataFrame        # the fitted run, one row per year
    singular_values: np.ndarray
    rank: int
    cost: float
    starts: list = field(default_factory=list)   # (start index, cost) of every start
    evaluations: int = 0
    n_points: int = 0                             # history figures in the objective (weight > 0)
    correlation: pd.DataFrame = field(default_factory=pd.DataFrame)   # of the estimates, at the optimum

    @property
    def unidentified(self) -> pd.DataFrame:
        """Model parameters the data do not pin down: kept at their prior, with the bounds to sweep in
        sensitivity analysis and in the hindcast's uncertainty band."""
        p = self.parameters
        sel = p[(p["role"] == "parameter") & ~p["identified"]]
        return sel[["name", "prior", "lower", "upper", "status"]].reset_index(drop=True)

    def value(self, name: str) -> float:
        return float(self.parameters.set_index("name").loc[name, "value"])

    @property
    def backcast_mape(self) -> float:
        """MAPE of the fitted end-year figures (weight > 0): the issue's backcast test."""
        c = self.comparison
        sel = c[(c["use"] == "fitted") & (c["year"] == self.spec.end)]
        return mape(sel["model"], sel["data"]) if len(sel) else math.nan

    @property
    def out_of_sample_mape(self) -> float:
        c = self.comparison[self.comparison["use"] == "out-of-sample"]
        return mape(c["model"], c["data"]) if len(c) else math.nan

    def calibration_rows(self) -> pd.DataFrame:
        """Rows for ``calibration.csv``: identified model parameters (scope ``default``) and the history
        run's state and events (scope ``history``)."""
        spec = self.spec
        rows = []
        today = _dt.date.today().isoformat()
        try:
            spec_rel = str(spec.path.resolve().relative_to(resources.root()))
        except ValueError:
            spec_rel = str(spec.path)
        for r in self.parameters.itertuples(index=False):
            if r.role == "parameter" and not r.identified:
                continue
            rows.append({
                "model": spec.model_path.name, "name": r.name,
                "scope": "default" if r.role == "parameter" else "history", "role": r.role,
                "value": r.value, "prior": r.prior, "lower": r.lower, "upper": r.upper,
                "range_low": r.range_low, "range_high": r.range_high, "identified": bool(r.identified),
                "spec": spec_rel, "spec_sha256": spec.sha256, "model_sha256": file_sha256(spec.model_path),
                "history_sha256": history_sha256(spec), "fitted_on": today, "source": r.source,
            })
        return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def _lhs(n: int, d: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if n <= 0:
        return np.empty((0, d))
    return qmc.LatinHypercube(d=d, seed=seed).random(n)


def _profile(obj: Objective, z_best: np.ndarray, j: int, points: int, max_nfev: int,
             base_fixed: dict | None = None) -> list[tuple[float, float]]:
    """Profile of the objective along coordinate ``j``: re-fit the rest at each grid value, walking
    outwards from the optimum so each fit starts from its neighbour's solution."""
    grid = np.linspace(0, 1, points)
    out = {}
    z0 = float(z_best[j])
    for side in (grid[grid >= z0], grid[grid < z0][::-1]):
        z_start = z_best.copy()
        for g in side:
            obj.fixed = {**(base_fixed or {}), j: float(g)}
            z_start[j] = g
            z, cost = obj.solve(z_start, max_nfev=max_nfev)
            out[float(g)] = cost
            z_start = z
    obj.fixed = {}
    return sorted(out.items())


def _interval(profile: list[tuple[float, float]], z_best: float, cost_best: float, threshold: float):
    """The 95 % profile interval in unit-cube coordinates (linear interpolation between grid points)."""
    pts = sorted(profile + [(z_best, cost_best)])
    zs = np.array([p[0] for p in pts])
    cs = np.array([p[1] for p in pts]) - cost_best
    k = int(np.argmin(np.abs(zs - z_best)))
    lo = hi = z_best
    for i in range(k, 0, -1):            # walk left until the objective rises past the threshold
        if cs[i - 1] > threshold:
            lo = zs[i] + (zs[i - 1] - zs[i]) * (threshold - cs[i]) / (cs[i - 1] - cs[i])
            break
        lo = zs[i - 1]
    for i in range(k, len(zs) - 1):
        if cs[i + 1] > threshold:
            hi = zs[i] + (zs[i + 1] - zs[i]) * (threshold - cs[i]) / (cs[i + 1] - cs[i])
            break
        hi = zs[i + 1]
    return float(max(0.0, lo)), float(min(1.0, hi))


def calibrate(spec: CalibrationSpec | str | Path, model_path: str | Path = DEFAULT_MODEL, starts: int | None = None,
              profile_points: int | None = None, progress=None, steps=None) -> CalibrationResult:
    """Fit ``spec`` (a path or a loaded spec) to its history; see the module docstring for the procedure.

    ``starts`` and ``profile_points`` override the spec's ``[fit]`` settings
    (e.g. for quick tests). ``progress`` is called with a short text at each
    stage; ``steps(stage, done, total)`` after each optimisation (for a bar).
    """
    if not isinstance(spec, CalibrationSpec):
        spec = load_spec(spec, model_path)
    say = progress or (lambda text: log.info(text))
    fit = spec.file.fit
    n_starts = fit.starts if starts is None else int(starts)
    n_profile = fit.profile_points if profile_points is None else int(profile_points)
    if n_starts < 1:
        raise InputError("starts must be at least 1")
    runner = HistoryRunner(spec)
    obj = Objective(runner)
    P = obj.size
    threshold = CHI2_95 * fit.data_error ** 2
    tick = steps or (lambda stage, done, total: None)

    # 1. multi-start fit
    first = obj.z(runner.vector())
    points = np.vstack([first, _lhs(n_starts - 1, P, fit.seed)])
    best, best_cost, trail = None, math.inf, []
    for k, z0 in enumerate(points):
        z, cost = obj.solve(z0, max_nfev=fit.max_nfev)
        trail.append((k, cost))
        say(f"start {k + 1}/{len(points)}: objective {cost:.6g}")
        tick("fit", k + 1, len(points))
        if cost < best_cost:
            best, best_cost = z, cost
    if best is None or not math.isfinite(best_cost):
        raise RunError(f"{spec.path}: no start gave a finite fit")

    # 2. identification: Jacobian rank and profiles with everything free
    J = obj.jacobian(best)
    sv = np.linalg.svd(J, compute_uv=False) if J.size else np.zeros(0)
    rank = int(np.sum(sv > RANK_TOL * sv.max())) if sv.size else 0
    names = [f.name for f in runner.free]

    def profiles_of(z_opt, cost_opt, which, base_fixed, stage):
        rows, intervals = [], {}
        which = list(which)
        if n_profile < 2:   # no profiles: the Fisher intervals of what is free at this optimum
            jac = obj.jacobian(z_opt)[:, which]
            for j, iv in zip(which, unit_intervals(jac, fit.data_error, z_opt[which])):
                intervals[j] = iv
            return rows, intervals
        for done, j in enumerate(which, 1):
            say(f"profile {stage}: {names[j]}")
            tick(f"profile {stage}", done, len(which))
            prof = _profile(obj, z_opt, j, n_profile, fit.max_nfev, base_fixed)
            rows += [{"stage": stage, "parameter": names[j], "value": float(obj.x_of(j, g)), "objective": c}
                     for g, c in prof]
            intervals[j] = _interval(prof, float(z_opt[j]), cost_opt, threshold)
        return rows, intervals

    profiles, intervals = profiles_of(best, best_cost, range(P), {}, 1)
    narrow = {j: (intervals[j][1] - intervals[j][0]) < fit.identified_width for j in range(P)}
    on_bound = {j: bool(best[j] <= BOUND_TOL or best[j] >= 1 - BOUND_TOL) for j in range(P)}
    status = {j: _status(narrow[j], on_bound[j]) for j in range(P)}

    # 3. refit with the model parameters the data do not identify at their priors
    prior_z = obj.z([f.prior for f in runner.free])
    fixed = {j: float(np.clip(prior_z[j], 0, 1)) for j, f in enumerate(runner.free)
             if f.role == "parameter" and status[j] != "identified"}
    z_final, cost_final = best, best_cost
    if fixed:
        obj.fixed = dict(fixed)
        start = best.copy()
        for j, v in fixed.items():
            start[j] = v
        z_final, cost_final = obj.solve(start, max_nfev=fit.max_nfev)
        obj.fixed = {}
        say(f"refit with {len(fixed)} parameters at their priors: objective {cost_final:.6g}")
        free_now = [j for j in range(P) if j not in fixed]
        rows2, intervals2 = profiles_of(z_final, cost_final, free_now, fixed, 2)
        profiles += rows2
        for j in free_now:   # ranges and status of what stays free, given the priors
            intervals[j] = intervals2[j]
            lo_hi_narrow = (intervals2[j][1] - intervals2[j][0]) < fit.identified_width
            status[j] = _status(lo_hi_narrow, bool(z_final[j] <= BOUND_TOL or z_final[j] >= 1 - BOUND_TOL))
    x_final = obj.x(z_final)
    J_final = obj.jacobian(z_final)
    info, correlation = fisher(J_final, fit.data_error, obj.lower, obj.upper, x_final, names)

    # 4. statistics and outputs
    names = set(runner.compiled.variables)
    columns = set(series_columns(spec.file.series, names)) | (set(_BACKCAST_EXTRA) & names)
    run = runner.run(x_final[None, :], columns=sorted(columns))
    backcast = run.member(0)
    comparison = comparison_table(spec, run)
    fitted = comparison[comparison["use"] == "fitted"]
    statistics = fit_statistics(fitted)
    rows = []
    for j, f in enumerate(runner.free):
        lo, hi = intervals[j]
        data_low = float(obj.lower[j] + lo * (obj.upper[j] - obj.lower[j]))
        data_high = float(obj.lower[j] + hi * (obj.upper[j] - obj.lower[j]))
        # A value kept at its prior is no estimate: its range is its plausible range (the bounds). The
        # profile interval was found around the stage-1 optimum and need not contain the prior, so it is
        # reported apart, as what the data alone say.
        low, high = (float(obj.lower[j]), float(obj.upper[j])) if j in fixed else (data_low, data_high)
        rows.append({
            "name": f.name, "role": f.role, "value": float(x_final[j]), "prior": f.prior,
            "lower": f.lower, "upper": f.upper, "stage1_value": float(obj.x(best)[j]),
            "range_low": low, "range_high": high, "data_low": data_low, "data_high": data_high,
            "identified": status[j] == "identified", "status": status[j],
            "fixed_at_prior": j in fixed,
            "se": float(info["se"].iloc[j]), "fisher_low": float(info["fisher_low"].iloc[j]),
            "fisher_high": float(info["fisher_high"].iloc[j]),
            "sensitivity": float(np.linalg.norm(J[:, j])) if J.size else 0.0, "source": f.source,
        })
    return CalibrationResult(
        spec=spec, parameters=pd.DataFrame(rows), statistics=statistics, comparison=comparison,
        profiles=pd.DataFrame(profiles, columns=["stage", "parameter", "value", "objective"]), backcast=backcast,
        singular_values=sv, rank=rank, cost=cost_final, starts=trail, evaluations=obj.evaluations,
        n_points=int((obj.obs["weight"] > 0).sum()), correlation=correlation,
    )


def _status(narrow: bool, on_bound: bool) -> str:
    """``identified`` (narrow profile, inside its bounds), ``at bound`` (narrow, but the data push it to an
    edge of its plausible range: a sign of structural misfit, not an estimate) or ``not identified``."""
    if not narrow:
        return "not identified"
    return "at bound" if on_bound else "identified"


#: Variables written with the backcast besides the spec's series.
_BACKCAST_EXTRA = ["Population", "Industrial Capital", "Industrial Value Added", "Construction Value Added",
                   "Market Services Value Added", "Unemployment Rate", "Consumer Demand Index",
                   "Realisation Improvement", "Industrial Demand Index", "Real Urban Disposable Income per Capita"]


def comparison_table(spec: CalibrationSpec, run) -> pd.DataFrame:
    """Every history figure of the spec's series with the model's value and its use."""
    h = spec.history
    rows = h[h["variable"].isin(spec.file.series)].copy()
    last = float(run.times[-1])
    rows = rows[rows["year"] <= last].reset_index(drop=True)
    rows["weight"] = rows["variable"].map(spec.file.series).astype(float)
    rows = with_model_variables(rows, run.values.keys())
    rows["model"] = model_values(run, rows)[0]
    rows = rows.rename(columns={"value": "data"})
    rows["rel_error"] = (rows["model"] - rows["data"]) / rows["data"]

    def use(r):
        if r.first_year <= spec.start:
            return "initial"
        if r.year > spec.end:
            return "out-of-sample" if r.kind in ("expected", "out_of_sample") else "after end"
        if r.kind not in ("reported", "implied"):
            return "not fitted"
        return "fitted" if r.weight > 0 else "reported only"

    rows["use"] = [use(r) for r in rows.itertuples(index=False)]
    cols = ["variable", "year", "first_year", "kind", "use", "weight", "data", "model", "rel_error", "unit"]
    return rows[cols].sort_values(["variable", "first_year", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------- writing


def plot_history(result: CalibrationResult) -> bytes:
    """PNG of every series: history (filled: fitted; open: out-of-sample or reported only) against the model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comp = result.comparison
    series = [s for s in result.spec.file.series if s in set(comp["variable"])]
    annual = [s for s in series if (comp[comp["variable"] == s]["first_year"] == comp[comp["variable"] == s]["year"]).all()]
    sums = [s for s in series if s not in annual]
    n = len(annual) + len(sums)
    cols = 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    bc = result.backcast
    for ax, name in zip(axes.flat, annual + sums):
        c = comp[comp["variable"] == name]
        unit = c["unit"].iloc[0]
        if name in annual:
            ax.plot(bc.index, bc[name], color="tab:blue", label="model")
            for use, style in (("fitted", dict(marker="o", color="black", ls="none")),
                               ("initial", dict(marker="s", color="grey", ls="none")),
                               ("reported only", dict(marker="o", mfc="none", color="black", ls="none")),
                               ("out-of-sample", dict(marker="D", mfc="none", color="tab:red", ls="none"))):
                sel = c[c["use"] == use]
                if len(sel):
                    ax.plot(sel["year"], sel["data"], label=use, **style)
        else:
            x = np.arange(len(c))
            ax.bar(x - 0.2, c["data"], width=0.4, color="black", label="history")
            ax.bar(x + 0.2, c["model"], width=0.4, color="tab:blue", label="model")
            ax.set_xticks(x, [f"{a}-{b}" for a, b in zip(c["first_year"], c["year"])])
        ax.set_title(f"{name}\n[{unit}]", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    legend = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, h)
    fig.legend(list(legend.values()), list(legend), loc="lower right", fontsize=8)
    fig.suptitle(f"{result.spec.name}: history against the model from {result.spec.start} "
                 f"(backcast MAPE {result.backcast_mape:.1%})", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_calibration(result: CalibrationResult, out: str | Path, command: list[str] | None = None) -> Path:
    """Write ``out/<spec name>/`` (complete or not at all) and return it."""
    from sim.engine.results import build_manifest, finish_manifest, write_run

    spec = result.spec
    manifest = build_manifest(command or sys.argv, spec.model_path, spec.content, seed=spec.file.fit.seed, extra={
        "spec_file": str(spec.path), "spec_sha256": spec.sha256, "history_file": str(spec.history_path),
        "history_sha256": history_sha256(spec), "objective": result.cost, "backcast_mape": result.backcast_mape,
        "out_of_sample_mape": result.out_of_sample_mape, "jacobian_rank": result.rank,
        "singular_values": [float(s) for s in result.singular_values], "starts": result.starts,
        "model_evaluations": result.evaluations, "data_points": result.n_points,
        "fitted_quantities": len(result.parameters),
        "not_identified": result.unidentified["name"].tolist(),
    })
    finish_manifest(manifest, "complete")
    files = {
        "parameters.csv": result.parameters,
        "fit.csv": result.statistics,
        "comparison.csv": result.comparison,
        "profiles.csv": result.profiles,
        "correlation.csv": result.correlation.rename_axis("name").reset_index(),
        "unidentified.csv": result.unidentified,
        "timeseries.csv": result.backcast,
        "calibration.csv": result.calibration_rows(),
        "history_vs_model.png": plot_history(result),
    }
    return write_run(Path(out) / spec.name, files, manifest)


def apply_calibration(result: CalibrationResult, path: str | Path | None = None) -> Path:
    """Write the result's rows into the model's calibration file (default ``model/data/calibration.csv``),
    replacing earlier rows of the same model; atomic."""
    from sim.engine.results import atomic_write_text

    path = Path(path) if path is not None else calibration_file(result.spec.model_path)
    new = result.calibration_rows()
    if path.is_file():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        old = old[old.get("model", pd.Series(dtype=str)) != result.spec.model_path.name]
        new = pd.concat([old, new.astype(str)], ignore_index=True) if len(old) else new
    return atomic_write_text(path, new.to_csv(index=False))


def read_calibration_rows(model_path: str | Path = DEFAULT_MODEL, path: str | Path | None = None) -> pd.DataFrame:
    """All rows of the model's calibration file (both scopes); empty when there is none."""
    path = Path(path) if path is not None else calibration_file(model_path)
    if not path.is_file():
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    frame = pd.read_csv(path, keep_default_na=False)
    return frame[frame["model"] == Path(model_path).name].reset_index(drop=True)


def format_result(result: CalibrationResult) -> str:
    """Plain-text summary: fitted values with ranges, statistics per series, the backcast test."""
    p = result.parameters
    roles = p["role"].value_counts().to_dict()
    lines = [f"{result.spec.name}: {result.n_points} data points, {len(p)} fitted quantities "
             f"({', '.join(f'{n} {r}' for r, n in roles.items())}); objective {result.cost:.5g}, "
             f"Jacobian rank {result.rank} of {len(p)}, backcast MAPE ({result.spec.end}) {result.backcast_mape:.2%}, "
             f"out-of-sample MAPE {result.out_of_sample_mape:.2%}", "",
             f"{'quantity':40s} {'role':9s} {'value':>9s} {'prior':>9s}  {'95% profile range':>21s}  "
             f"{'95% Fisher range':>21s}  status"]
    for r in p.itertuples(index=False):
        rng = f"[{r.range_low:.4g}, {r.range_high:.4g}]"
        fis = f"[{r.fisher_low:.4g}, {r.fisher_high:.4g}]" if math.isfinite(r.se) else "(not identified)"
        data = f"; the data alone: [{r.data_low:.4g}, {r.data_high:.4g}]" if r.fixed_at_prior else ""
        flag = r.status + (f" (prior kept{data})" if r.fixed_at_prior else "")
        lines.append(f"{r.name[:40]:40s} {r.role:9s} {r.value:9.4g} {r.prior:9.4g}  {rng:>21s}  {fis:>21s}  {flag}")
    pairs = strong_correlations(result.correlation)
    if pairs:
        lines += ["", "strongly correlated estimates (|r| >= 0.9; the data fix a combination, not each):"]
        lines += [f"  {a} ~ {b}: r = {c:+.2f}" for a, b, c in pairs[:12]]
    un = result.unidentified
    if len(un):
        lines += ["", "not identified, kept at the prior, for sensitivity analysis and the hindcast band: "
                  + "; ".join(f"{r.name} [{r.lower:g}, {r.upper:g}]" for r in un.itertuples(index=False))]
    lines += ["", f"{'series':36s} {'n':>2s} {'MAPE':>7s} {'U_M':>6s} {'U_S':>6s} {'U_C':>6s}"]
    for r in result.statistics.itertuples(index=False):
        lines.append(f"{r.series[:36]:36s} {r.n:2d} {r.mape:7.2%} {r.u_m:6.2f} {r.u_s:6.2f} {r.u_c:6.2f}")
    return "\n".join(lines)
