"""Scenario discovery on a sweep folder: PRIM boxes of factor values in which chosen targets are met.

:func:`discover` reads a sweep folder (:mod:`sim.engine.sweep_folder`: ``experiments.parquet``
and ``target_values.parquet``; nothing is re-simulated for the analysis) and
marks each run without error as a *case of interest* when it meets every
chosen target (``T1 T7`` by default). When no run meets them all, as for T1
and T7 in the plan-uncertainty sweep, or when ``top`` is given, the cases are
the runs in the top share (default a decile) of the *worst normalised gap*:
each target's gap (:func:`sim.plan.targets.ensemble_gaps`, positive is better)
divided by ``|threshold|``, the smallest over the chosen targets, as in
:mod:`sim.analysis.reach`. The result says which definition it used.

PRIM (the Patient Rule Induction Method, Friedman and Fisher 1999; for
scenario discovery Bryant and Lempert 2010) is EMA Workbench's
implementation (:mod:`ema_workbench.analysis.prim`, the optional extra
``discovery``): starting from the box that holds every run, it peels off a
small slice (``peel_alpha`` of the runs) of one factor at a time, the slice
that raises the share of cases in the box most, until the box holds
``mass_min`` of the runs, then pastes back what helps. Each step is a box on
the *peeling trajectory* with its

* **coverage**: cases in the box / all cases;
* **density**: cases in the box / runs in the box;
* **mass**: runs in the box / all runs (``n`` runs, ``k`` cases);
* **restricted factors** and their limits, each side with a *quasi-p-value*
  (a one-sided binomial test of whether dropping that limit would lower the
  density as much as it does by chance; small is significant).

The chosen box is, by default, the last box on the trajectory whose density
reaches ``threshold`` (0.8); when none does, the densest box, and the result
says so. ``box=K`` chooses box K (negative counts from the end). The first
(highest-coverage) box reaching the threshold is reported too.

:func:`write_discovery` writes a result folder; :func:`write_discovery_scenario`
writes the chosen box as a runnable scenario file: levers the box restricts
are set to the box's midpoint, constant over the run as the sweep set them;
uncertain parameters are not levers, so the box's limits on them are written
as comments, the conditions of the world the box needs.

Nothing here prints; errors are :class:`sim.errors.InputError`.
"""

from __future__ import annotations

import io
import json
import logging
import math
import shlex
import sys
import time as _time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError, SimError
from sim.engine.results import build_manifest, finish_manifest, to_json, write_run
from sim.specs.validation import did_you_mean
from sim.plan.targets import (DEFAULT_BASE_YEAR, Target, ensemble_gaps, evaluate, format_number, headline_ids,
                              load_targets)

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLD",
    "TOP_SHARE",
    "INSTALL_HINT",
    "DiscoveryResult",
    "PrimTrajectory",
    "box_figure",
    "case_definition",
    "default_out",
    "discover",
    "format_discovery",
    "load_prim",
    "prim_trajectory",
    "read_discovery",
    "select_box",
    "tradeoff_figure",
    "write_discovery",
    "write_discovery_scenario",
]

#: Density the chosen box must reach (default choice: the last box on the trajectory that does).
DEFAULT_THRESHOLD = 0.8
#: Share of runs taken as cases (best worst normalised gap) when no run meets every target.
TOP_SHARE = 0.1
#: PRIM settings (EMA Workbench's defaults): share of runs peeled or pasted per step, smallest box.
PEEL_ALPHA = 0.05
PASTE_ALPHA = 0.05
MASS_MIN = 0.05
#: A limit whose quasi-p-value exceeds this is flagged as not significant.
SIGNIFICANCE = 0.05
#: Significant digits of the midpoints written into a scenario.
DIGITS = 6
#: How to install the optional PRIM implementation.
INSTALL_HINT = "pip install -e '.[discovery]' (or: pip install 'ema-workbench>=2.5')"

TRAJECTORY = "trajectory.csv"
BOXES = "boxes.csv"
BOX = "box.csv"
TRADEOFF = "tradeoff.png"
BOX_PNG = "box.png"
DISCOVERY = "discovery.json"

#: Chart labels (the report passes its own, e.g. Chinese ones).
LABELS = {
    "tradeoff_title": "PRIM peeling trajectory: coverage against density",
    "coverage": "coverage (share of the cases inside the box)",
    "density": "density (share of the box's runs that are cases)",
    "res_dim": "restricted factors",
    "threshold": "density threshold",
    "chosen": "chosen box",
    "box_title": "Box {box}: coverage {coverage}, density {density}",
    "sweep_range": "range in the sweep",
    "box_range": "box",
    "position": "position in the sweep's range",
    "qp": "quasi-p",
    "lever": "lever",
    "uncertain": "uncertain",
}


# --------------------------------------------------------------------------- PRIM (EMA Workbench)


def load_prim():
    """EMA Workbench's PRIM module, or :class:`InputError` saying how to install it."""
    try:
        with warnings.catch_warnings():
            # EMA Workbench announces the optional back-ends it does not find (ipyparallel,
            # altair, ...) with warnings at import; none of them is used here.
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise InputError(
            f"scenario discovery needs EMA Workbench's PRIM, which is not installed ({exc}); "
            f"install it with: {INSTALL_HINT}") from None
    return prim


def _ema_version() -> str | None:
    try:
        return metadata.version("ema_workbench")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed under another name
        return None


@dataclass
class PrimTrajectory:
    """The boxes of one PRIM search: ``trajectory`` (one row per box), each box's ``limits`` and quasi-p-values."""

    trajectory: pd.DataFrame  # box, coverage, density, mass, n, k, res_dim
    limits: list[pd.DataFrame]  # per box: index ("lower", "upper") x factors
    qp: list[dict]  # per box: {restricted factor: (qp_lower, qp_upper)}, NaN for an unrestricted side
    initial: pd.DataFrame  # the limits of box 0 (the data's range)

    def restricted(self, i: int) -> list[str]:
        """Factors box ``i`` restricts, most significant (smallest quasi-p-value) first."""
        lim, init = self.limits[i], self.initial
        names = [c for c in lim.columns
                 if lim.at["lower", c] > init.at["lower", c] or lim.at["upper", c] < init.at["upper", c]]
        return sorted(names, key=lambda c: (np.nanmin(np.r_[self.qp[i].get(c, (np.nan, np.nan)), np.inf]), c))


def prim_trajectory(x: pd.DataFrame, cases: np.ndarray, *, peel_alpha: float = PEEL_ALPHA,
                    paste_alpha: float = PASTE_ALPHA, mass_min: float = MASS_MIN) -> PrimTrajectory:
    """Run one PRIM search (EMA Workbench) of ``cases`` (bool, one per row of ``x``) over the columns of ``x``.

    Every column is treated as a real-valued factor. The whole trajectory is
    kept whatever its densities (the density threshold is applied by
    :func:`select_box`, not by PRIM).
    """
    prim = load_prim()
    cases = np.asarray(cases, dtype=bool)
    if len(cases) != len(x):
        raise InputError(f"{len(cases)} case flags for {len(x)} runs")
    if not cases.any():
        raise InputError("no run is a case of interest: nothing to discover")
    if cases.all():
        raise InputError("every run is a case of interest: nothing to discover")
    x = x.astype(float).reset_index(drop=True)
    y = cases.astype(int)
    with warnings.catch_warnings():
        # EMA Workbench 2.5 calls pandas APIs that pandas 3 deprecates; harmless here.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # threshold only separates y = 1 (cases) from y = 0 here and keeps PRIM from
        # replacing a low-density final box by the initial one.
        alg = prim.Prim(x, y, threshold=1e-9, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        box = alg.find_box()
    traj = box.peeling_trajectory.rename(columns={"id": "box"})
    traj = pd.DataFrame({
        "box": traj["box"].astype(int).to_numpy(),
        "coverage": traj["coverage"].astype(float).to_numpy(),
        "density": traj["density"].astype(float).to_numpy(),
        "mass": traj["mass"].astype(float).to_numpy(),
        "n": traj["n"].astype(int).to_numpy(),
        "k": traj["k"].astype(int).to_numpy(),
        "res_dim": traj["res_dim"].astype(int).to_numpy(),
    })
    limits = []
    for lim in box.box_lims:
        frame = pd.DataFrame(lim.to_numpy(dtype=float), index=["lower", "upper"], columns=list(lim.columns))
        limits.append(frame)
    qps = []
    for qp in box.qp:
        qps.append({name: tuple(math.nan if v is None or float(v) < 0 else float(v) for v in values)
                    for name, values in qp.items()})
    return PrimTrajectory(traj, limits, qps, limits[0])


def select_box(trajectory: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD, box: int | None = None) -> tuple[int, str]:
    """``(index, reason)`` of the chosen box on ``trajectory``.

    ``box`` (negative counts from the end) wins; otherwise the last box whose
    density reaches ``threshold``, or, when none does, the densest box (the
    first of equals: the one with the most coverage).
    """
    n = len(trajectory)
    density = trajectory["density"].to_numpy(dtype=float)
    if box is not None:
        if not -n <= box < n:
            raise InputError(f"--box {box}: the trajectory has boxes 0 to {n - 1} (or -1 to -{n})")
        i = box % n
        return i, f"box {i} as asked (--box {box})"
    ok = np.flatnonzero(density >= threshold - 1e-12)
    if len(ok):
        return int(ok[-1]), f"the last box on the trajectory with density >= {threshold:g}"
    i = int(np.argmax(density))
    return i, (f"no box reaches density {threshold:g} (the highest is {density[i]:.3f}): "
               f"the densest box")


# --------------------------------------------------------------------------- cases of interest


def _as_target(d: dict) -> Target:
    return Target(id=d["id"], description=d.get("description", ""), description_zh="", section="",
                  variable=d.get("variable", ""), year=int(d["year"]), kind=d["kind"], comparison=d["comparison"],
                  threshold=float(d["threshold"]), arithmetic="", evaluable=True,
                  base_year=int(d.get("base_year") or DEFAULT_BASE_YEAR), other_variable=d.get("other_variable") or None,
                  aggregate=d.get("aggregate") or None)


def _select_targets(sweep, ids: Sequence[str]) -> list[Target]:
    """The sweep's definitions of targets ``ids``; InputError naming what is unknown or not kept."""
    ids = [str(i).strip() for i in ids if str(i).strip()]
    if not ids:
        raise InputError("--targets: give at least one target id")
    defs = {d["id"]: d for d in sweep.targets}
    known = {t.id: t for t in load_targets()}
    problems = []
    for tid in ids:
        if tid in defs and tid in sweep.target_values.columns:
            continue
        if tid in known:
            t = known[tid]
            why = (f"the model cannot evaluate it ({t.reason})" if not t.evaluable else
                   f"the sweep did not keep its variable{'s' if t.other_variable else ''} "
                   f"({', '.join(t.variables())}); add {'them' if t.other_variable else 'it'} to [outputs] variables")
            problems.append(f"--targets: {tid} is not in {sweep.path}: {why}")
        else:
            problems.append(f"--targets: unknown target {tid!r}{did_you_mean(tid, list(known), n=1, quote=False, brackets=True)}")
    if problems:
        raise InputError("\n".join(problems))
    if len(set(ids)) != len(ids):
        raise InputError(f"--targets: a target is given twice: {' '.join(ids)}")
    return [_as_target(defs[tid]) for tid in ids]


def normalised_worst_gap(targets: Sequence[Target], values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(met_all, worst)`` per row of ``values`` (one column per target id): every target met, and the
    smallest normalised gap (gap / |threshold|; NaN, an undefined quantity, counts as -inf)."""
    met_all = np.ones(len(values), dtype=bool)
    worst = np.full(len(values), np.inf)
    for t in targets:
        met, gap = ensemble_gaps(t, values[t.id].to_numpy(dtype=float))
        g = gap / (abs(t.threshold) or 1.0)
        g = np.where(np.isfinite(g), g, -np.inf)
        met_all &= met
        worst = np.minimum(worst, g)
    return met_all, worst


def case_definition(met_all: np.ndarray, worst: np.ndarray, top: float | None = None) -> tuple[np.ndarray, dict]:
    """The cases of interest and how they were chosen.

    ``top`` None: the runs meeting every target, or, when none does, the top
    :data:`TOP_SHARE` by worst normalised gap. ``top`` in (0, 1): that share, always.
    """
    if top is not None and not 0 < top < 1:
        raise InputError(f"--top {top:g}: give a share of runs between 0 and 1 (0.1 is the top decile)")
    n_met = int(met_all.sum())
    if top is None and n_met:
        return met_all.copy(), {"rule": "met", "met": n_met, "top": None, "cut": None,
                                "text": "runs that meet every chosen target"}
    share = TOP_SHARE if top is None else float(top)
    finite = worst[np.isfinite(worst)]
    if not len(finite):
        raise InputError("no run has a defined gap on the chosen targets: nothing to discover")
    cut = float(np.quantile(finite, 1 - share))
    cases = worst >= cut
    why = "no run meets every chosen target" if n_met == 0 else f"--top {share:g} was asked ({n_met} runs meet every target)"
    return cases, {"rule": "top", "met": n_met, "top": share, "cut": cut,
                   "text": (f"runs in the top {share * 100:g} % by worst normalised gap (>= {cut:+.4f}), "
                            f"because {why}")}


# --------------------------------------------------------------------------- the result


@dataclass
class DiscoveryResult:
    """What :func:`discover` found on a sweep folder."""

    sweep_path: Path
    sweep_name: str
    sweep_manifest: dict
    targets: list[Target]
    cases: dict  # rule, met, top, cut, text, runs, count, share
    factors: list[dict]  # name, kind, design, lower, upper (the sweep's range), default, units, chinese
    prim: PrimTrajectory
    threshold: float
    chosen: int
    reason: str
    first_reaching: int | None
    #: how the box was chosen: "asked" (--box), "last_reaching" (the last box reaching the threshold), "densest"
    rule: str = "last_reaching"
    check: dict | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    model_path: Path | None = None

    @property
    def trajectory(self) -> pd.DataFrame:
        return self.prim.trajectory

    @property
    def target_ids(self) -> list[str]:
        return [t.id for t in self.targets]

    def stats(self, i: int | None = None) -> dict:
        i = self.chosen if i is None else i
        row = self.trajectory.iloc[i]
        return {"box": int(row["box"]), "coverage": float(row["coverage"]), "density": float(row["density"]),
                "mass": float(row["mass"]), "n": int(row["n"]), "k": int(row["k"]), "res_dim": int(row["res_dim"])}

    def box(self, i: int | None = None) -> pd.DataFrame:
        """The factors box ``i`` (default: the chosen one) restricts, most significant first: limits,
        the sweep's range, quasi-p-values, midpoint, and whether the model's default and the base
        scenario's value (``base``: the lever's value there, else the model's default) lie inside."""
        i = self.chosen if i is None else i
        lim = self.prim.limits[i]
        info = {f["name"]: f for f in self.factors}
        rows = []
        for name in self.prim.restricted(i):
            f = info.get(name, {})
            lo, hi = float(lim.at["lower", name]), float(lim.at["upper", name])
            qlo, qhi = self.prim.qp[i].get(name, (math.nan, math.nan))
            init_lo, init_hi = float(self.prim.initial.at["lower", name]), float(self.prim.initial.at["upper", name])
            side = "both" if lo > init_lo and hi < init_hi else ("lower" if lo > init_lo else "upper")
            qmin = np.nanmin([q for q in (qlo, qhi)] + [np.inf])
            default = f.get("default")
            base = f.get("base")
            rows.append({
                "factor": name, "kind": f.get("kind", "factor"), "units": f.get("units", ""),
                "lower": lo, "upper": hi, "restricted": side,
                "sweep_lower": f.get("lower", init_lo), "sweep_upper": f.get("upper", init_hi),
                "qp_lower": qlo, "qp_upper": qhi,
                "significant": bool(qmin <= SIGNIFICANCE),
                "midpoint": _midpoint(lo, hi),
                "default": default,
                "default_inside": None if default is None else bool(lo - 1e-12 <= default <= hi + 1e-12),
                "base": base,
                "base_inside": None if base is None else bool(lo - 1e-12 <= base <= hi + 1e-12),
                "chinese": f.get("chinese", ""),
            })
        columns = ["factor", "kind", "units", "lower", "upper", "restricted", "sweep_lower", "sweep_upper", "qp_lower",
                   "qp_upper", "significant", "midpoint", "default", "default_inside", "base", "base_inside", "chinese"]
        return pd.DataFrame(rows, columns=columns)

    def boxes(self) -> pd.DataFrame:
        """Every box's limits, long: box, factor, lower, upper, restricted, qp_lower, qp_upper."""
        rows = []
        for i, lim in enumerate(self.prim.limits):
            restricted = set(self.prim.restricted(i))
            for name in lim.columns:
                qlo, qhi = self.prim.qp[i].get(name, (math.nan, math.nan))
                rows.append({"box": i, "factor": name, "lower": float(lim.at["lower", name]),
                             "upper": float(lim.at["upper", name]), "restricted": name in restricted,
                             "qp_lower": qlo, "qp_upper": qhi})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        box = self.box()
        return {
            "sweep": str(self.sweep_path),
            "sweep_name": self.sweep_name,
            "sweep_sha256": ((self.sweep_manifest.get("extra") or {}).get("sweep") or {}).get("sha256"),
            "sweep_model_sha256": (self.sweep_manifest.get("model") or {}).get("sha256"),
            "base_scenario": _base_path(self.sweep_manifest),
            "targets": [{"id": t.id, "description": t.description, "kind": t.kind, "comparison": t.comparison,
                         "threshold": t.threshold, "year": t.year} for t in self.targets],
            "cases": self.cases,
            "factors": self.factors,
            "prim": {"implementation": "ema_workbench.analysis.prim", "ema_workbench": _ema_version(),
                     "peel_alpha": PEEL_ALPHA, "paste_alpha": PASTE_ALPHA, "mass_min": MASS_MIN,
                     "boxes": len(self.trajectory)},
            "threshold": self.threshold,
            "chosen_box": self.chosen,
            "reason": self.reason,
            "rule": self.rule,
            "first_box_reaching_threshold": self.first_reaching,
            "first_box_reaching_threshold_stats": (self.stats(self.first_reaching)
                                                   if self.first_reaching is not None else None),
            "box_stats": self.stats(),
            "box": box.to_dict("records"),
            "levers_in_box": [r["factor"] for r in box.to_dict("records") if r["kind"] == "lever"],
            "conditions_in_box": [r["factor"] for r in box.to_dict("records") if r["kind"] != "lever"],
            "check": self.check,
            "notes": self.notes,
            "seconds": self.seconds,
        }


def _midpoint(lo: float, hi: float) -> float:
    mid = (lo + hi) / 2
    if mid == 0 or not math.isfinite(mid):
        return mid
    r = float(f"{mid:.{DIGITS}g}")
    return r if lo <= r <= hi else mid


def _base_path(manifest: dict) -> str | None:
    chain = ((manifest.get("extra") or {}).get("sweep") or {}).get("base_chain") or []
    return chain[-1] if chain else None


def _factor_info(sweep, model, base=None) -> list[dict]:
    content = ((sweep.manifest.get("extra") or {}).get("sweep") or {})
    designs = {f.get("name"): f.get("design", "") for f in content.get("factors", [])}
    specs = {f.get("name"): f for f in (content.get("content") or {}).get("factor", [])}
    catalogue = model.catalogue if model is not None else {}
    out = []
    for name in sweep.factors:
        values = sweep.experiments[name].to_numpy(dtype=float)
        spec = specs.get(name, {})
        if "bounds" in spec:
            lower, upper = (float(b) for b in spec["bounds"])
        elif "values" in spec:
            lower, upper = float(min(spec["values"])), float(max(spec["values"]))
        else:
            lower, upper = float(np.nanmin(values)), float(np.nanmax(values))
        lev = catalogue.get(name)
        base_value = lev.default if lev is not None else None
        if base is not None and name in base.levers:
            value = base.levers[name]
            base_value = None if value.is_series else float(value.value)
        out.append({"name": name, "base": base_value, "kind": lev.kind if lev is not None else "factor",
                    "design": designs.get(name, ""),
                    "lower": lower, "upper": upper, "default": lev.default if lev is not None else None,
                    "units": lev.units if lev is not None else "", "chinese": lev.chinese if lev is not None else "",
                    "model_lower": lev.lower if lev is not None else None,
                    "model_upper": lev.upper if lev is not None else None})
    return out


def discover(sweep_folder: str | Path, targets: Sequence[str] | None = None, *,
             threshold: float = DEFAULT_THRESHOLD, box: int | None = None, top: float | None = None,
             model=None) -> DiscoveryResult:
    """Scenario discovery on a sweep folder: the PRIM boxes in which ``targets`` are met (default: the headline
    targets of the targets file, :func:`sim.plan.targets.headline_ids`).

    ``model`` (:class:`sim.model.loader.Model`, optional) tells levers from uncertain
    parameters and runs the chosen box's midpoint once (``check``): the
    scenario :func:`write_discovery_scenario` writes (levers at the midpoint,
    uncertain parameters at the model's defaults) and the same with the
    uncertain parameters the box restricts at its midpoint too.
    """
    from sim.engine.sweep_folder import read_sweep

    started = _time.perf_counter()
    if not 0 < threshold <= 1:
        raise InputError(f"--threshold {threshold:g}: a density lies in (0, 1]")
    load_prim()  # fail early, before reading anything, when PRIM is missing
    sweep = read_sweep(sweep_folder)
    chosen_targets = _select_targets(sweep, headline_ids() if targets is None else targets)
    notes: list[str] = []
    if model is not None:
        sweep_sha = (sweep.manifest.get("model") or {}).get("sha256")
        if sweep_sha and sweep_sha != model.sha256:
            notes.append(f"the sweep was run on a model with SHA-256 {sweep_sha[:12]}…, not this model's "
                         f"{model.sha256[:12]}…: lever kinds and the midpoint check use the current model")
    ok = sweep.ok
    n_failed = int((~ok).sum())
    if n_failed:
        notes.append(f"{n_failed} runs with an error are left out")
    experiments = sweep.experiments[ok].reset_index(drop=True)
    values = sweep.target_values.set_index("run_id").reindex(experiments["run_id"]).reset_index(drop=True)
    met_all, worst = normalised_worst_gap(chosen_targets, values)
    cases, definition = case_definition(met_all, worst, top)
    definition.update(runs=int(len(cases)), count=int(cases.sum()), share=float(cases.mean()) if len(cases) else 0.0,
                      best_worst_gap=float(np.max(worst)) if len(worst) else math.nan)
    base = None
    if model is not None:
        try:
            base = _base_scenario_of(sweep.manifest, sweep.path, model)
        except SimError as exc:
            notes.append(f"base scenario not read ({exc}); base values are the model's defaults")
    factors = _factor_info(sweep, model, base)
    x = experiments[[f["name"] for f in factors]].astype(float)
    constant = [c for c in x.columns if np.nanmax(x[c]) == np.nanmin(x[c])]
    if constant:
        notes.append(f"factors with one value in the sweep cannot bound a box and are left out: {', '.join(constant)}")
        x = x.drop(columns=constant)
        factors = [f for f in factors if f["name"] not in constant]
    if x.shape[1] == 0:
        raise InputError(f"{sweep.path}: no factor varies in this sweep: nothing to discover")
    if len(x) < 20:
        raise InputError(f"{sweep.path}: {len(x)} runs without error are too few for PRIM (at least 20)")
    result = prim_trajectory(x, cases)
    chosen, reason = select_box(result.trajectory, threshold, box)
    reaching = np.flatnonzero(result.trajectory["density"].to_numpy() >= threshold - 1e-12)
    out = DiscoveryResult(
        sweep_path=sweep.path, sweep_name=sweep.name, sweep_manifest=sweep.manifest, targets=chosen_targets,
        cases=definition, factors=factors, prim=result, threshold=float(threshold), chosen=chosen, reason=reason,
        first_reaching=int(reaching[0]) if len(reaching) else None, notes=notes,
        rule="asked" if box is not None else ("last_reaching" if len(reaching) else "densest"),
        model_path=Path(model.path) if model is not None else None)
    if model is not None:
        out.check = _check_midpoint(out, model)
    out.seconds = _time.perf_counter() - started
    return out


def _base_scenario_of(manifest: dict, sweep_path, model):
    from sim.specs.scenario import load_scenario

    base = _base_path(manifest)
    if base is None or not Path(base).is_file():
        raise InputError(f"{sweep_path}: the sweep's base scenario {base!r} is not on this machine; "
                         "cannot write or check a scenario from the box")
    return load_scenario(base, model)


def _base_scenario(result: DiscoveryResult, model):
    return _base_scenario_of(result.sweep_manifest, result.sweep_path, model)


def _check_midpoint(result: DiscoveryResult, model) -> dict | None:
    """The chosen box's midpoint run once: as the scenario file sets it, and with the box's conditions too."""
    from sim.engine.run import RunSpec, run_spec, simulate

    try:
        base = _base_scenario(result, model)
    except SimError as exc:
        result.notes.append(f"midpoint check skipped: {exc}")
        return None
    box = result.box()
    levers = {r["factor"]: r["midpoint"] for r in box.to_dict("records") if r["kind"] == "lever"}
    conditions = {r["factor"]: r["midpoint"] for r in box.to_dict("records") if r["kind"] != "lever"}
    spec = run_spec(model, base)
    runs = {}
    all_targets = load_targets()
    for label, extra in (("scenario", levers), ("box_world", {**levers, **conditions})):
        params = dict(spec.params)
        params.update({k: float(v) for k, v in extra.items()})
        try:
            ts = simulate(model, RunSpec(spec.initial_time, spec.final_time, spec.time_step, spec.saveper, params))
        except SimError as exc:
            runs[label] = {"error": str(exc)}
            continue
        verdicts = evaluate(all_targets, ts).set_index("id")
        values = pd.DataFrame({t.id: [verdicts.at[t.id, "value"]] for t in result.targets})
        met_all, worst = normalised_worst_gap(result.targets, values)
        cut = result.cases.get("cut")
        case = bool(met_all[0]) if result.cases["rule"] == "met" else bool(worst[0] >= cut)
        runs[label] = {
            "values": {t.id: float(verdicts.at[t.id, "value"]) for t in result.targets},
            "met": {t.id: bool(verdicts.at[t.id, "met"]) for t in result.targets},
            "worst_normalised_gap": float(worst[0]),
            "is_case": case,
            "set": {k: float(v) for k, v in extra.items()},
        }
    return {"base": str(base.path), "runs": runs,
            "text": {"scenario": "levers the box restricts at its midpoint; uncertain parameters at the model's defaults",
                     "box_world": "levers and the uncertain parameters the box restricts at its midpoint; "
                                  "other factors at the base scenario's values or the model's defaults"}}


# --------------------------------------------------------------------------- charts


def _labels(labels: dict | None) -> dict:
    return {**LABELS, **(labels or {})}


def tradeoff_figure(trajectory: pd.DataFrame, chosen: int | None, threshold: float | None, labels: dict | None = None):
    """Coverage against density of every box on the trajectory, coloured by restricted factors."""
    from matplotlib.figure import Figure

    L = _labels(labels)
    fig = Figure(figsize=(7.2, 4.8), layout="constrained")
    ax = fig.add_subplot()
    res = trajectory["res_dim"].to_numpy(dtype=int)
    levels = np.arange(res.min(), res.max() + 2) - 0.5
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    cmap = colormaps["viridis"].resampled(max(len(levels) - 1, 1))
    ax.plot(trajectory["coverage"], trajectory["density"], color="#999999", linewidth=0.8, zorder=1)
    sc = ax.scatter(trajectory["coverage"], trajectory["density"], c=res, cmap=cmap,
                    norm=BoundaryNorm(levels, cmap.N), s=22, zorder=2)
    cbar = fig.colorbar(sc, ax=ax, ticks=np.arange(res.min(), res.max() + 1))
    cbar.set_label(L["res_dim"])
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label=f"{L['threshold']} {threshold:g}")
    if chosen is not None:
        row = trajectory.iloc[chosen]
        ax.scatter([row["coverage"]], [row["density"]], s=160, facecolors="none", edgecolors="#c0392b", linewidths=2,
                   zorder=3, label=f"{L['chosen']} {int(row['box'])}")
        ax.annotate(f"{int(row['box'])}", (row["coverage"], row["density"]), textcoords="offset points",
                    xytext=(8, 8), color="#c0392b", fontsize=9)
    ax.set_xlabel(L["coverage"])
    ax.set_ylabel(L["density"])
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(L["tradeoff_title"], fontsize=10)
    if threshold is not None or chosen is not None:
        ax.legend(fontsize=8, loc="lower left")
    return fig


def _qp_text(q: float) -> str:
    if q is None or not math.isfinite(q):
        return ""
    return f"{q:.1e}" if q < 0.001 else f"{q:.3f}"


def box_figure(box: pd.DataFrame, stats: dict, labels: dict | None = None, names: dict | None = None):
    """Each restricted factor's box limits inside the sweep's range (scaled to 0-1), with quasi-p-values."""
    from matplotlib.figure import Figure

    L = _labels(labels)
    names = names or {}
    rows = box.to_dict("records")
    fig = Figure(figsize=(7.6, 1.2 + 0.55 * max(len(rows), 1)), layout="constrained")
    ax = fig.add_subplot()
    for j, r in enumerate(rows):
        y = len(rows) - 1 - j
        span = (r["sweep_upper"] - r["sweep_lower"]) or 1.0
        lo = (r["lower"] - r["sweep_lower"]) / span
        hi = (r["upper"] - r["sweep_lower"]) / span
        colour = "#1f5f9f" if r["kind"] == "lever" else "#8e6c1f"
        ax.plot([0, 1], [y, y], color="#dddddd", linewidth=8, solid_capstyle="butt", zorder=1)
        ax.plot([lo, hi], [y, y], color=colour, linewidth=8, solid_capstyle="butt", zorder=2)
        ax.text(lo, y + 0.28, format_number(r["lower"]), ha="center", fontsize=7)
        ax.text(hi, y + 0.28, format_number(r["upper"]), ha="center", fontsize=7)
        qps = [q for q in (_qp_text(r["qp_lower"]), _qp_text(r["qp_upper"])) if q]
        ax.text(1.02, y, f"{L['qp']} {' / '.join(qps)}", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)),
                  [f"{names.get(r['factor'], r['factor'])} ({L.get(r['kind'], r['kind'])})" for r in reversed(rows)],
                  fontsize=8)
    ax.set_xlim(-0.08, 1.28)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel(L["position"], fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(L["box_title"].format(box=stats["box"], coverage=f"{stats['coverage'] * 100:.1f} %",
                                       density=f"{stats['density'] * 100:.1f} %"), fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def png_bytes(fig, dpi: int = 110) -> bytes:
    """A matplotlib Figure as PNG bytes (Agg canvas; no global backend is touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# --------------------------------------------------------------------------- output


def default_out(result_or_name, targets: Sequence[str] | None = None) -> Path:
    """``results/discovery/<sweep name>_<targets joined by _>``."""
    if isinstance(result_or_name, DiscoveryResult):
        name, targets = result_or_name.sweep_name, result_or_name.target_ids
    else:
        name = str(result_or_name)
    return Path("results") / "discovery" / "_".join([name, *[str(t) for t in targets or ()]])


def write_discovery(result: DiscoveryResult, out: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write ``trajectory.csv``, ``boxes.csv`` (every box, long), ``box.csv`` (the chosen box),
    ``tradeoff.png``, ``box.png``, ``discovery.json`` and ``manifest.json`` into ``out`` (atomically)."""
    model_path = result.model_path or (result.sweep_manifest.get("model") or {}).get("path")
    if model_path is not None and not Path(model_path).is_file():
        model_path = None
    manifest = build_manifest(list(command) if command is not None else sys.argv, model_path, None,
                              extra={"kind": "discovery", "sweep": str(result.sweep_path),
                                     "targets": result.target_ids, "threshold": result.threshold,
                                     "chosen_box": result.chosen, "cases": result.cases["rule"],
                                     "ema_workbench": _ema_version()})
    finish_manifest(manifest, "complete")
    files = {
        TRAJECTORY: result.trajectory,
        BOXES: result.boxes(),
        BOX: result.box(),
        TRADEOFF: png_bytes(tradeoff_figure(result.trajectory, result.chosen, result.threshold)),
        BOX_PNG: png_bytes(box_figure(result.box(), result.stats())),
        DISCOVERY: to_json(result.to_dict()) + "\n",
    }
    return write_run(out, files, manifest)


def read_discovery(folder: str | Path) -> dict:
    """A discovery folder read back: ``json`` (discovery.json), ``trajectory``, ``box`` frames, ``manifest``."""
    folder = Path(folder)
    missing = [n for n in (DISCOVERY, TRAJECTORY, BOX, "manifest.json") if not (folder / n).is_file()]
    if missing:
        raise InputError(f"{folder}: not a discovery folder (missing {', '.join(missing)})")
    try:
        data = json.loads((folder / DISCOVERY).read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        trajectory = pd.read_csv(folder / TRAJECTORY)
        box = pd.read_csv(folder / BOX)
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: unreadable discovery files: {exc}") from None
    return {"json": data, "trajectory": trajectory, "box": box, "manifest": manifest, "path": folder}


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def format_discovery(result: DiscoveryResult) -> str:
    """Plain-text report of a :class:`DiscoveryResult` for the command line."""
    c = result.cases
    ids = " and ".join(result.target_ids)
    lines = [f"discover {' '.join(result.target_ids)} on {result.sweep_path} ({c['runs']:,} runs without error, "
             f"{len(result.factors)} factors)"]
    if c["rule"] == "met":
        lines.append(f"cases: the {c['count']:,} runs ({_pct(c['share'])}) that meet {ids}")
    else:
        lines.append(f"cases: {c['met']:,} runs meet {ids}; the cases are the {c['count']:,} runs "
                     f"({_pct(c['share'])}) in the top {c['top'] * 100:g} % by worst normalised gap "
                     f"(>= {c['cut']:+.4f}; the best run reaches {c['best_worst_gap']:+.4f}).")
        if c["met"] == 0:
            lines.append(f"NOTE: NO RUN MEETS {ids.upper()}: the boxes below explain the runs that come closest, "
                         "not runs that succeed.")
    lines.append(f"PRIM (EMA Workbench {_ema_version()}): {len(result.trajectory)} boxes on the peeling trajectory "
                 f"(peel alpha {PEEL_ALPHA:g}, paste alpha {PASTE_ALPHA:g}, minimum mass {MASS_MIN:g})")
    s = result.stats()
    lines.append(f"chosen: box {s['box']}, {result.reason}")
    if result.first_reaching is not None and result.first_reaching != result.chosen:
        f = result.stats(result.first_reaching)
        lines.append(f"  (the first box reaching density {result.threshold:g} is box {f['box']}: coverage "
                     f"{_pct(f['coverage'])}, density {_pct(f['density'])}, {f['res_dim']} factors; --box {f['box']})")
    lines.append(f"box {s['box']}: coverage {_pct(s['coverage'])}, density {_pct(s['density'])}, mass {_pct(s['mass'])} "
                 f"({s['n']:,} runs, {s['k']:,} cases), {s['res_dim']} factors restricted")
    lines.append("")
    table = [["factor", "kind", "box", "sweep range", "quasi-p (lower / upper)", "in the base scenario"]]
    for r in result.box().to_dict("records"):
        qp = " / ".join(_qp_text(q) or "-" for q in (r["qp_lower"], r["qp_upper"]))
        if not r["significant"]:
            qp += "  (not significant)"
        default = "-" if r["base"] is None else (format_number(r["base"]) +
                                                 (" inside" if r["base_inside"] else " outside"))
        table.append([r["factor"], r["kind"], f"[{format_number(r['lower'])}, {format_number(r['upper'])}]",
                      f"[{format_number(r['sweep_lower'])}, {format_number(r['sweep_upper'])}]", qp, default])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for n, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if result.check:
        lines.append("")
        for label, run in result.check["runs"].items():
            what = result.check["text"][label]
            if "error" in run:
                lines.append(f"midpoint run ({what}): failed: {run['error']}")
                continue
            vals = ", ".join(f"{t.id} {format_number(run['values'][t.id], t.kind)}" for t in result.targets)
            lines.append(f"midpoint run ({what}): {vals}; worst normalised gap {run['worst_normalised_gap']:+.4f} "
                         f"-> {'a case' if run['is_case'] else 'not a case'}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def write_discovery_scenario(result: DiscoveryResult, path: str | Path, model, command: Sequence[str] | None = None) -> Path:
    """Write the chosen box as a runnable scenario file and check it against ``model``.

    Base: the sweep's base scenario (by name when it lives in ``scenarios/``).
    Levers the box restricts are set to the box's midpoint, constant over the
    run as the sweep set its factors. Uncertain parameters the box restricts
    are listed in comments (a scenario cannot set them), with whether the
    model's default lies inside the box; so are the levers the sweep varied
    that the box leaves free. The file is loaded back with
    :func:`sim.specs.scenario.load_scenario` (what ``shuangta validate`` does); if it
    does not load, it is removed and the error raised.
    """
    from sim.analysis.reach import check_scenario_path
    from sim.specs.scenario_writer import write_scenario

    base = _base_scenario(result, model)
    path = check_scenario_path(path, base.path)
    command = list(command) if command is not None else sys.argv
    line = shlex.join(str(c) for c in command)
    box = result.box()
    rows = box.to_dict("records")
    s = result.stats()
    c = result.cases
    ids = " ".join(result.target_ids)
    what = (f"runs meeting {ids}" if c["rule"] == "met" else
            f"the top {c['top'] * 100:g} % of runs by worst normalised gap of {ids} (>= {c['cut']:+.4f}"
            + ("; no run meets them all)" if c["met"] == 0 else ")"))
    levers = [r for r in rows if r["kind"] == "lever"]
    conditions = [r for r in rows if r["kind"] != "lever"]
    box_names = {r["factor"] for r in rows}
    free_levers = [f for f in result.factors if f["kind"] == "lever" and f["name"] not in box_names]
    description = (f"Generated by shuangta discover from sweep {result.sweep_name}: box {s['box']} of the PRIM "
                   f"trajectory for {what}, coverage {_pct(s['coverage'])}, density {_pct(s['density'])}. Levers the "
                   f"box restricts are set to its midpoint; it also needs conditions the levers cannot set "
                   f"({', '.join(r['factor'] for r in conditions) or 'none'}), listed in the file's comments.")
    comments = [
        "Generated by `shuangta discover`; do not edit by hand, run the command again.",
        f"Command: {line}",
        f"Sweep: {result.sweep_path} ({result.sweep_name}); cases: {what}.",
        f"Box {s['box']} ({result.reason}): coverage {_pct(s['coverage'])}, density {_pct(s['density'])}, "
        f"{s['n']:,} runs ({_pct(s['mass'])} of the sweep), {s['res_dim']} factors restricted.",
        "Levers below are constant over the run, as the sweep set its factors.",
        "",
        "Conditions of the world the box needs (uncertain parameters: not levers, so this scenario",
        "cannot set them; when it runs they take the model's defaults):",
    ]
    if conditions:
        for r in conditions:
            inside = "" if r["default"] is None else (
                f"; model default {format_number(r['default'])} is {'inside' if r['default_inside'] else 'OUTSIDE'} the box")
            comments.append(f"  {r['factor']} in [{format_number(r['lower'])}, {format_number(r['upper'])}] "
                            f"(swept over [{format_number(r['sweep_lower'])}, {format_number(r['sweep_upper'])}]; "
                            f"quasi-p {_qp_pair(r)}{inside})")
    else:
        comments.append("  none: the box restricts levers only")
    if free_levers:
        comments.append("Levers the sweep varied that the box leaves free (the base scenario's values are kept):")
        for f in free_levers:
            comments.append(f"  {f['name']}: swept over [{format_number(f['lower'])}, {format_number(f['upper'])}]")
    if result.check and "scenario" in result.check["runs"] and "values" in result.check["runs"]["scenario"]:
        for label in ("scenario", "box_world"):
            run = result.check["runs"].get(label, {})
            if "values" not in run:
                continue
            vals = ", ".join(f"{t.id} {format_number(run['values'][t.id], t.kind)}" for t in result.targets)
            comments.append(f"Run once, {result.check['text'][label]}: {vals} "
                            f"({'a case' if run['is_case'] else 'not a case'}).")
    lever_lines = []
    for r in levers:
        current = base.levers.get(r["factor"])
        base_text = ("a time series" if current is not None and current.is_series else
                     format_number(current.value) if current is not None else
                     f"model default {format_number(r['default'])}" if r["default"] is not None else "-")
        lever_lines.append((r["factor"], r["midpoint"], f"box [{format_number(r['lower'])}, "
                            f"{format_number(r['upper'])}], quasi-p {_qp_pair(r)}; base {base_text}"))
    return write_scenario(path, model, comments=comments, fallback_name="discovery", description=description,
                          base=Path(base.path), levers=lever_lines,
                          no_levers="the box restricts no lever: the base scenario's levers are kept")


def _qp_pair(r: dict) -> str:
    return " / ".join(_qp_text(q) or "-" for q in (r["qp_lower"], r["qp_upper"]))
