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
import logging
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError, SimError
from sim.specs.validation import did_you_mean
from sim.analysis.prim import (DEFAULT_THRESHOLD, MASS_MIN, PASTE_ALPHA, PEEL_ALPHA, SIGNIFICANCE, TOP_SHARE,
                               PrimTrajectory, case_definition, ema_version, load_prim, normalised_worst_gap,
                               prim_trajectory, select_box)
from sim.plan.targets import DEFAULT_BASE_YEAR, Target, evaluate, format_number, headline_ids, load_targets

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLD",
    "TOP_SHARE",
    "DiscoveryResult",
    "box_figure",
    "discover",
    "tradeoff_figure",
]

#: Significant digits of the midpoints written into a scenario.
DIGITS = 6

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
            "prim": {"implementation": "ema_workbench.analysis.prim", "ema_workbench": ema_version(),
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


def base_scenario(result: DiscoveryResult, model):
    return _base_scenario_of(result.sweep_manifest, result.sweep_path, model)


def _check_midpoint(result: DiscoveryResult, model) -> dict | None:
    """The chosen box's midpoint run once: as the scenario file sets it, and with the box's conditions too."""
    from sim.engine.run import RunSpec, run_spec, simulate

    try:
        base = base_scenario(result, model)
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
        qps = [q for q in (quasi_p_text(r["qp_lower"]), quasi_p_text(r["qp_upper"])) if q]
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

def quasi_p_text(q: float) -> str:
    if q is None or not math.isfinite(q):
        return ""
    return f"{q:.1e}" if q < 0.001 else f"{q:.3f}"
