"""Designs and indices of a sensitivity study, with SALib.

Sampling and analysis are SALib's (:mod:`SALib.sample.sobol`,
:mod:`SALib.sample.morris`, :mod:`SALib.sample.fast_sampler`;
:mod:`SALib.analyze.sobol`, ``.morris``, ``.fast``); nothing here estimates
an index by hand. The SALib problem carries ``dists`` where SALib has the
factor's distribution exactly (``unif``; ``triang``; ``truncnorm`` for a
sweep's ``normal``, which is truncated to its bounds). A sweep's
``lognormal`` is truncated to its bounds and SALib's ``lognorm`` is not: that
column is drawn by SALib on ``[0, 1]`` and mapped through the factor's
inverse CDF (:meth:`sim.engine.sampling.Factor.ppf`, as sweeps do), so every factor
means what it means in a sweep file.

This module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.engine.sampling import Factor
# The sweep files' own validators, messages and [[factor]] tables, so that both kinds of file read alike.
from sim.plan.targets import Target, ensemble_gaps, ensemble_quantities

from sim.specs.study import Metric, Study, design_runs, min_sample_size

log = logging.getLogger(__name__)

#: A confidence half-width (ST_conf; for Morris mu_star_conf / mu_star) above this is flagged.
CONF_THRESHOLD = 0.1


#: A factor "hardly matters" for a metric below this ST (Morris: below this share of the largest mu*).
NEGLIGIBLE = 0.01


#: An output whose range over the design is below this (relative to its size) is constant: no index is defined.
CONSTANT_TOLERANCE = 1e-12


#: Index columns of indices.csv by method (after ``metric, factor``).
INDEX_COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "fast": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
}


SECOND_ORDER_COLUMNS = ("other_factor", "S2", "S2_conf")


def salib_problem(factors: Sequence[Factor]) -> tuple[dict, list[int]]:
    """The SALib problem dict of ``factors`` (``names``, ``num_vars``, ``bounds``, ``dists``) and the unit columns.

    ``uniform`` -> ``unif [lower, upper]``; ``triangular`` -> ``triang [lower,
    upper, (mode - lower) / (upper - lower)]``; ``normal`` (truncated to the
    bounds) -> ``truncnorm [lower, upper, mean, sd]``. SALib has no truncated
    lognormal (and its ``triang`` needs the peak below the upper bound):
    such a column is ``unif [0, 1]`` in the problem and is listed in the second
    value, to be mapped through :meth:`Factor.ppf` after sampling.
    """
    bounds, dists, unit = [], [], []
    for j, f in enumerate(factors):
        lo, hi, p = float(f.lower), float(f.upper), f.params
        if f.distribution == "uniform":
            dists.append("unif")
            bounds.append([lo, hi])
        elif f.distribution == "normal":
            dists.append("truncnorm")
            bounds.append([lo, hi, float(p["mean"]), float(p["sd"])])
        elif f.distribution == "triangular" and float(p["mode"]) < hi:
            dists.append("triang")
            bounds.append([lo, hi, (float(p["mode"]) - lo) / (hi - lo)])
        else:
            dists.append("unif")
            bounds.append([0.0, 1.0])
            unit.append(j)
    problem = {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": bounds, "dists": dists}
    return problem, unit


@contextlib.contextmanager
def _collect_warnings(notes: list[str], where: str):
    """Turn warnings raised inside (by SALib, scipy, numpy) into ``notes``; deprecations only go to the log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = " ".join(str(w.message).split())
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            log.debug("%s: %s: %s", where, w.category.__name__, text)
            continue
        note = f"{where}: {text}"
        if note not in notes:
            notes.append(note)


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def study_design(study: Study) -> tuple[np.ndarray, list[str]]:
    """The design of ``study`` drawn by SALib's sampler: ``(rows x factors, notes)``.

    Columns SALib cannot draw in the factor's distribution are mapped through
    :meth:`Factor.ppf`; every column is kept inside the factor's bounds. Notes
    hold SALib's (and scipy's) warnings, and for Sobol' a warning when N is
    not a power of 2 (the sequence then loses its balance properties); no
    sample size is refused.
    """
    from SALib.sample import fast_sampler
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem, unit = salib_problem(study.factors)
    notes: list[str] = []
    where = {"sobol": "SALib.sample.sobol (scipy.stats.qmc.Sobol)", "morris": "SALib.sample.morris",
             "fast": "SALib.sample.fast_sampler"}
    with _collect_warnings(notes, where[study.method]):
        if study.method == "sobol":
            x = sobol_sample.sample(problem, study.n, calc_second_order=study.second_order, scramble=True,
                                    seed=study.seed)
        elif study.method == "morris":
            x = morris_sample.sample(problem, study.n, num_levels=study.num_levels, seed=study.seed)
        else:
            x = fast_sampler.sample(problem, study.n, M=study.harmonics, seed=study.seed)
    x = np.array(x, dtype=float)
    for j in unit:
        x[:, j] = study.factors[j].ppf(x[:, j])
    for j, f in enumerate(study.factors):
        x[:, j] = np.clip(x[:, j], f.lower, f.upper)
    if study.method == "sobol" and not _is_power_of_two(study.n):
        balance = [n for n in notes if "power of 2" in n or "balance" in n]
        if not balance:  # SALib 1.6 itself does not check; scipy's qmc usually warns through it
            m = study.n.bit_length()
            notes.append(f"N = {study.n} is not a power of 2: the Sobol' sequence loses its balance properties "
                         f"(nearest: {2 ** (m - 1)} or {2 ** m})")
        else:
            m = study.n.bit_length()
            notes.append(f"N = {study.n} is not a power of 2 (nearest: {2 ** (m - 1)} or {2 ** m}); the indices are "
                         "computed all the same")
    if study.second_order and study.method != "sobol":
        notes.append(f"second_order applies to method 'sobol' only; ignored by {study.method!r}")
    if len(x) != study.runs:
        raise InputError(f"SALib drew {len(x)} rows, expected {study.runs}")
    return x, notes


def metric_values(metrics: Sequence[Metric], years: Sequence[int], outcomes: dict[str, np.ndarray],
                  target_values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each metric's value per run, NaN where undefined.

    ``outcomes`` maps a kept variable to ``(runs, len(years))``;
    ``target_values`` a target id to ``(runs,)`` (``target_values.parquet``).
    Gaps and growth rates are those of :mod:`sim.plan.targets`.
    """
    years_f = np.asarray(years, dtype=float)
    out: dict[str, np.ndarray] = {}
    for m in metrics:
        if m.kind == "target":
            q = np.asarray(target_values[m.target.id], dtype=float)
            out[m.name] = ensemble_gaps(m.target, q)[1] if m.quantity == "gap" else q
        elif m.kind == "variable":
            out[m.name] = np.asarray(outcomes[m.variable][:, list(years).index(m.year)], dtype=float)
        else:
            start, end = m.growth
            rate = Target(id=m.name, description="", description_zh="", section="", variable=m.variable, year=end,
                          kind="growth", comparison=">=", threshold=0.0, arithmetic="", evaluable=True,
                          base_year=start)
            out[m.name] = ensemble_quantities([rate], years_f, {m.variable: outcomes[m.variable]})[m.name]
    return out


def _defined(y: np.ndarray) -> str | None:
    """Why no index can be computed from ``y``, or None."""
    bad = ~np.isfinite(y)
    if bad.any():
        return (f"{int(bad.sum())} of {len(y)} runs have no value (failed runs or undefined growth); "
                "SALib's estimators need every run of the design")
    if len(y) and np.ptp(y) <= CONSTANT_TOLERANCE * max(1.0, float(np.max(np.abs(y)))):
        return "the output is the same in every run: no factor moves it, and its variance cannot be apportioned"
    return None


def _analyse(study: Study, problem: dict, x: np.ndarray, y: np.ndarray, notes: list[str], where: str,
             second_order: bool) -> dict[str, np.ndarray] | None:
    """SALib's analysis of one output; None (with a note) when undefined."""
    from SALib.analyze import fast as fast_analyze
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    reason = _defined(y)
    if reason is not None and not (study.method == "morris" and reason.startswith("the output is the same")):
        notes.append(f"{where}: {reason}")
        return None
    with _collect_warnings(notes, f"{where}: SALib.analyze.{study.method}"):
        if study.method == "sobol":
            si = sobol_analyze.analyze(problem, y, calc_second_order=study.second_order,
                                       num_resamples=study.num_resamples, conf_level=study.conf_level,
                                       seed=np.random.default_rng(study.seed))
        elif study.method == "morris":
            si = morris_analyze.analyze(problem, x, y, num_resamples=study.num_resamples,
                                        conf_level=study.conf_level, num_levels=study.num_levels,
                                        seed=np.random.default_rng(study.seed))
        else:
            # SALib's FAST reseeds numpy's global generator: seed it here and restore it afterwards.
            state = np.random.get_state()
            try:
                np.random.seed(study.seed % 2**32)
                si = fast_analyze.analyze(problem, y, M=study.harmonics, num_resamples=study.num_resamples,
                                          conf_level=study.conf_level, seed=None)
            finally:
                np.random.set_state(state)
    out = {k: np.asarray(si[k], dtype=float) for k in INDEX_COLUMNS[study.method]}
    if second_order and study.method == "sobol" and study.second_order:
        out["S2"], out["S2_conf"] = np.asarray(si["S2"], dtype=float), np.asarray(si["S2_conf"], dtype=float)
    return out


def compute_indices(study: Study, x: np.ndarray, values: dict[str, np.ndarray]) -> tuple[pd.DataFrame, list[str]]:
    """The indices of every metric (rows of ``indices.csv``) and notes.

    Columns: ``metric, factor`` and for Sobol'/FAST ``S1, S1_conf, ST,
    ST_conf`` (``*_conf``: half-width of the ``conf_level`` bootstrap
    interval), for Morris ``mu, mu_star, mu_star_conf, sigma``. With Sobol'
    second order, rows for each pair follow with ``other_factor, S2, S2_conf``.
    A metric whose indices are undefined (a run without value, or the same
    value in every run) gets NaN rows and a note.
    """
    problem = salib_problem(study.factors)[0]
    names = study.factor_names
    columns = ["metric", "factor", *INDEX_COLUMNS[study.method]]
    if study.method == "sobol" and study.second_order:
        columns += list(SECOND_ORDER_COLUMNS)
    rows, notes = [], []
    for m in study.metrics:
        si = _analyse(study, problem, x, values[m.name], notes, m.name, second_order=True)
        for j, f in enumerate(names):
            row = {"metric": m.name, "factor": f}
            row.update({k: (float(si[k][j]) if si is not None else math.nan) for k in INDEX_COLUMNS[study.method]})
            rows.append(row)
        if study.method == "sobol" and study.second_order:
            for j in range(len(names)):
                for k in range(j + 1, len(names)):
                    rows.append({"metric": m.name, "factor": names[j], "other_factor": names[k],
                                 "S2": float(si["S2"][j, k]) if si is not None else math.nan,
                                 "S2_conf": float(si["S2_conf"][j, k]) if si is not None else math.nan})
    return pd.DataFrame(rows, columns=columns), notes


def indices_by_year(study: Study, x: np.ndarray, outcomes: dict[str, np.ndarray]) -> tuple[pd.DataFrame, list[str]]:
    """Indices of each time-resolved variable at each saved year (no S2)."""
    problem = salib_problem(study.factors)[0]
    rows, notes = [], []
    years = study.years
    for v in study.time_resolved_variables:
        for i, year in enumerate(years):
            if year not in study.saved_years:
                continue
            si = _analyse(study, problem, x, outcomes[v][:, i], notes, f"{v} {year}", second_order=False)
            for j, f in enumerate(study.factor_names):
                row = {"variable": v, "year": year, "factor": f}
                row.update({k: (float(si[k][j]) if si is not None else math.nan) for k in INDEX_COLUMNS[study.method]})
                rows.append(row)
    return pd.DataFrame(rows, columns=["variable", "year", "factor", *INDEX_COLUMNS[study.method]]), notes


def convergence(study: Study, indices: pd.DataFrame, threshold: float = CONF_THRESHOLD) -> pd.DataFrame:
    """Per metric and factor: is the confidence interval narrow enough, and what N would make it so.

    The measure is ``ST_conf`` (Sobol', FAST) or ``mu_star_conf / mu_star``
    (Morris; undefined when ``mu_star`` is 0). A half-width scales as
    ``1/sqrt(N)``, so ``n_needed = ceil(n * (measure / threshold)^2)`` (for
    Sobol' the next power of 2), ``runs_needed`` the design's runs at that N.
    ``matters`` tells whether the factor matters for the metric at all (ST at
    least :data:`NEGLIGIBLE`; Morris: mu* at least that share of the metric's
    largest mu*): a wide interval on a factor that hardly matters changes no
    conclusion.
    """
    main = indices[indices["other_factor"].isna()] if "other_factor" in indices.columns else indices
    d = len(study.factors)
    rows = []
    for r in main.to_dict("records"):
        if study.method == "morris":
            statistic, value, conf = "mu_star_conf/mu_star", r["mu_star"], r["mu_star_conf"]
            measure = conf / value if np.isfinite(value) and value > 0 else math.nan
        else:
            statistic, value, conf = "ST_conf", r["ST"], r["ST_conf"]
            measure = conf
        flagged = bool(np.isfinite(measure) and measure > threshold)
        if study.method == "morris":
            largest = float(np.nanmax(main.loc[main["metric"] == r["metric"], "mu_star"].to_numpy(dtype=float),
                                      initial=0.0))
            matters = bool(np.isfinite(value) and largest > 0 and value >= NEGLIGIBLE * largest)
        else:
            matters = bool(np.isfinite(value) and value >= NEGLIGIBLE)
        needed = study.n
        if flagged:
            needed = math.ceil(study.n * (measure / threshold) ** 2)
            if study.method == "sobol":
                needed = 1 << (needed - 1).bit_length()
            elif study.method == "fast":
                needed = max(needed, min_sample_size("fast", study.harmonics))
        rows.append({"metric": r["metric"], "factor": r["factor"], "statistic": statistic,
                     "index": value, "conf": conf, "measure": measure, "threshold": threshold, "flagged": flagged,
                     "matters": matters, "n": study.n, "n_needed": needed,
                     "runs_needed": design_runs(study.method, needed, d, study.second_order)})
    return pd.DataFrame(rows, columns=["metric", "factor", "statistic", "index", "conf", "measure", "threshold",
                                       "flagged", "matters", "n", "n_needed", "runs_needed"])
