"""What would it take: the smallest change to policy levers that meets chosen targets.

:func:`reach` answers "which lever values would meet T1 (and T7, ...) in
2025, changing the levers as little as possible from a base scenario?".

*Distance* is the Euclidean norm of the lever changes, each measured in units
of that lever's range (``upper - lower`` from the ``.mdl``): the search works
in the unit box ``u = (x - lower) / (upper - lower)``, ``u ∈ [0, 1]^k``.

*Gaps* are :func:`sim.plan.targets.ensemble_gaps` divided by ``|threshold|`` (1 for
a zero threshold), so a normalised gap of -0.25 means "25 % short of the
threshold" for a level target and "a quarter of the required rate short" for
a growth target. A target is met when its gap is >= 0 (up to the rounding
tolerance of :mod:`sim.plan.targets`).

*Lever paths.* Levers that are not searched keep the base scenario's values
(time series included). A searched lever is a constant over the whole run.
When a lever acts is the model's business, not the search's: in this model
every lever acts from 2021 through ``Policy Switch = STEP(1, Plan Period
Start)`` (or by construction), so 2020 stays the plan's base year whatever
value is searched (``tests/integration/test_model.py``). A searched lever that
the base sets as a time series is replaced by a constant; its base value for
the distance is the base's value in the target year.

*Method* (scipy.optimize over the ensemble runner, :meth:`Model.compiled`):

1. a Latin hypercube of lever settings (:mod:`scipy.stats.qmc`, seeded), run
   as one ensemble;
2. from the best points, a batched sequential-linear-programming trust-region
   ascent of the worst normalised gap (:func:`maximise_min_gap`: each
   iteration solves one small LP per problem with :func:`scipy.optimize.linprog`
   and evaluates every problem's finite-difference Jacobian, ``k + 1`` runs
   each, in one ensemble call). Its optimum ``m*`` says whether the targets can
   be met together inside the ranges (``m* > 0``);
3. from several starts (the base, the maximin point, the feasible sample
   points nearest the base) SLSQP minimises the squared distance subject to
   every chosen gap >= a small margin (or, when ``m* <= 0``, >= ``m*``: the
   smallest change that achieves the best reachable worst gap). Jacobians
   are again one ensemble call of ``k + 1`` members;
4. the best point is checked with a full single run (:func:`sim.engine.run.simulate`)
   and every target's verdict is recorded.

Everything is deterministic for a given ``seed``. Nothing here prints; errors
are :class:`sim.errors.InputError` (bad input) and
:class:`sim.errors.RunError`.
"""

from __future__ import annotations

import logging
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import InputError, RunError
from sim.model.loader import Model
from sim.plan.lever_references import load_lever_references, reference_position
from sim.analysis.plausibility import Assessment, applicable, assess_frame, load_analogues, unreachable
from sim.engine.run import run_spec, simulate
from sim.specs.scenario import SCENARIO_DIR, load_scenario
from sim.specs.levers import LeverValue, Scenario
from sim.specs.validation import did_you_mean
from sim.analysis.search import (LEVER_PATH, MARGIN, SLACK, LeverSearch, Progress, clean_gaps,
                                 evaluable_targets, gap_to_value, maximise_min_gap, minimise_distance, select_levers,
                                 select_targets, worst_gap)
from sim.plan.targets import Target, evaluate, load_targets

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BASE",
    "ReachResult",
    "reach",
    "resolve_base",
    "check_scenario_path",
]

#: The base scenario when none is given.
DEFAULT_BASE = SCENARIO_DIR / "plan.toml"

#: Significant digits of the reported (and written) lever values, when rounding keeps every target met.
DIGITS = 6

DEFAULT_SAMPLES = 2048
DEFAULT_STARTS = 6


# --------------------------------------------------------------------------- input


def resolve_base(base: str | Path | None) -> Path:
    """The base scenario file: a path, or a name in the project's ``scenarios/`` (default ``plan``)."""
    if base is None:
        return DEFAULT_BASE
    path = Path(base).expanduser()
    if path.is_file():
        return path
    text = str(base)
    if "/" not in text and "\\" not in text and not text.endswith(".toml"):
        named = SCENARIO_DIR / f"{text}.toml"
        if named.is_file():
            return named
    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
    raise InputError(f"--base: scenario {text!r} not found (a file, or a name in {SCENARIO_DIR}){did_you_mean(path.stem, names)}")


# --------------------------------------------------------------------------- reach


def _round(x: float, digits: int = DIGITS) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


@dataclass
class ReachResult:
    """What :func:`reach` found. ``status``: ``met at base``, ``reachable`` or ``unreachable``."""

    targets: list[str]
    base: Path
    base_name: str
    status: str
    distance: float
    worst_gap: float
    seed: int
    levers: pd.DataFrame
    chosen: pd.DataFrame
    verdicts: pd.DataFrame
    base_verdicts: pd.DataFrame
    timeseries: pd.DataFrame
    scenario: Scenario
    search: LeverSearch = field(repr=False)
    point: np.ndarray = field(repr=False)
    seconds: float = 0.0
    members: int = 0
    notes: list[str] = field(default_factory=list)
    #: the plausibility class of the found point (:mod:`sim.analysis.plausibility`)
    plausibility: Assessment | None = None

    @property
    def reachable(self) -> bool:
        return self.status != "unreachable"

    def scenario_levers(self) -> dict[str, LeverValue]:
        """The lever values a scenario file needs on top of the base (none when the base already meets the targets)."""
        if self.status == "met at base":
            return {}
        return self.search.lever_values(self.search.values(self.point)[0])

    def beyond(self) -> dict[str, list[str]]:
        """Changed levers whose needed value lies outside the 2016-2020 record / beyond the plan's figure."""
        rows = [r for r in self.levers.to_dict("records") if r["changed"]]
        return {
            "record": [r["lever"] for r in rows if r["record_position"] in ("above", "below")],
            "plan": [r["lever"] for r in rows if r["plan_position"] in ("above", "below")],
        }

    def comparison(self) -> pd.DataFrame:
        """Every target at the base and at the found point."""
        a = self.base_verdicts.set_index("id")
        b = self.verdicts.set_index("id")
        out = pd.DataFrame({
            "id": b.index,
            "description": b["description"].to_numpy(),
            "comparison": b["comparison"].to_numpy(),
            "target": b["target"].to_numpy(),
            "base_value": a.loc[b.index, "value"].to_numpy(),
            "base_met": a.loc[b.index, "met"].to_numpy(),
            "value": b["value"].to_numpy(),
            "met": b["met"].to_numpy(),
            "searched": [i in self.targets for i in b.index],
        })
        return out

    def to_dict(self) -> dict:
        comp = self.comparison()
        return {
            "targets": self.targets,
            "base": str(self.base),
            "base_name": self.base_name,
            "status": self.status,
            "reachable": self.reachable,
            "distance": self.distance,
            "distance_units": "Euclidean norm of lever changes, each in units of its range (upper - lower)",
            "worst_normalised_gap": self.worst_gap,
            "lever_path": LEVER_PATH,
            "seed": self.seed,
            "levers": self.levers.to_dict("records"),
            "chosen_targets": self.chosen.to_dict("records"),
            "verdicts": comp.to_dict("records"),
            "outside_record": self.beyond()["record"],
            "beyond_plan": self.beyond()["plan"],
            "met_then": [r["id"] for r in comp.to_dict("records") if r["met"] is True],
            "missed_then": [r["id"] for r in comp.to_dict("records") if r["met"] is False],
            "scenario_levers": {k: v.to_jsonable() for k, v in self.scenario_levers().items()},
            "plausibility": self.plausibility.to_dict() if self.plausibility is not None else None,
            "notes": self.notes,
            "seconds": self.seconds,
            "runs": self.members,
        }


def _starts(search: LeverSearch, U: np.ndarray, worst: np.ndarray, n: int) -> np.ndarray:
    order = np.argsort(-worst, kind="stable")
    return U[order[:n]]


def find_smallest_change(search: LeverSearch, rows: Sequence[int], *, seed: int = 0, samples: int = DEFAULT_SAMPLES,
                         starts: int = DEFAULT_STARTS, progress: Progress | None = None) -> tuple[np.ndarray, bool, dict]:
    """The point of the unit box nearest ``search.u_base`` that meets the targets ``rows`` (column indices).

    Returns ``(point, reachable, best_alone)``: when the targets cannot all be
    met (the best worst gap ``m* <= 0``) the point is the nearest one that
    reaches ``m*`` (less :data:`SLACK`); ``best_alone`` maps each target id to
    its best normalised gap on its own. Steps 1-3 of the module docstring.
    """
    rows = list(rows)
    mask = np.zeros(search.m, dtype=bool)
    mask[rows] = True
    # 1. sample
    lhs = qmc.LatinHypercube(d=search.k, rng=seed).random(samples)
    U = np.vstack([search.u_base[None, :], lhs])
    G = clean_gaps(search.gaps(U))
    # 2. maximin: the chosen set, and (for the report) each chosen target alone
    masks = [mask]
    if len(rows) > 1:
        for r in rows:
            one = np.zeros(search.m, dtype=bool)
            one[r] = True
            masks.append(one)
    problem_masks, problem_starts, owner = [], [], []
    for p, msk in enumerate(masks):
        s = _starts(search, U, worst_gap(G, msk[None]), starts)
        problem_masks += [msk] * len(s)
        problem_starts += list(s)
        owner += [p] * len(s)
    mm = maximise_min_gap(search, np.array(problem_masks), np.array(problem_starts), progress=progress, label="feasibility")
    owner = np.array(owner)
    best_p = [int(np.flatnonzero(owner == p)[np.argmax(mm.best[owner == p])]) for p in range(len(masks))]
    m_star = float(mm.best[best_p[0]])
    u_star = mm.u[best_p[0]]
    single = {search.ids[r]: float(mm.gaps[best_p[1 + i] if len(rows) > 1 else best_p[0], r]) for i, r in enumerate(rows)}
    reachable = m_star > 0
    level = min(MARGIN, 0.5 * m_star) if reachable else m_star - SLACK * (1.0 + abs(m_star))
    # 3. smallest change achieving `level` for every chosen target, from several starts
    near = np.flatnonzero(worst_gap(G, mask[None]) >= level)
    near = near[np.argsort(np.linalg.norm(U[near] - search.u_base, axis=1), kind="stable")]
    start_points = [search.u_base, u_star] + [U[i] for i in near[: max(0, starts - 2)]]
    candidates = []
    for i, s in enumerate(start_points):
        if progress:
            progress("smallest change", i, len(start_points))
        candidates.append(minimise_distance(search, rows, s, level))
    if progress:
        progress("smallest change", len(start_points), len(start_points))
    candidates.append(u_star)
    C = np.array(candidates)
    # repair: a candidate short of the level moves towards the maximin point until it holds
    Gc = clean_gaps(search.gaps(C))
    alphas = np.concatenate([[0.0], np.geomspace(1e-6, 1.0, 25)])
    fixed = []
    for i, u in enumerate(C):
        if worst_gap(Gc[i:i + 1], mask[None])[0] >= level - 1e-12:
            fixed.append(u)
            continue
        line = u[None, :] + alphas[:, None] * (u_star - u)[None, :]
        good = np.flatnonzero(worst_gap(clean_gaps(search.gaps(line)), mask[None]) >= level - 1e-12)
        fixed.append(line[good[0]] if good.size else u_star)
    F = np.array(fixed)
    point = F[int(np.argmin(np.linalg.norm(F - search.u_base, axis=1)))]
    # round the lever values for reading; keep the rounding only if the targets still hold as well
    return _readable(search, point, mask, reachable), reachable, single


def reach(
    model: Model,
    target_ids: Sequence[str],
    levers: Sequence[str] | None = None,
    base: str | Path | None = None,
    *,
    seed: int = 0,
    samples: int = DEFAULT_SAMPLES,
    starts: int = DEFAULT_STARTS,
    targets: Sequence[Target] | str | Path | None = None,
    references: str | Path | dict | None = None,
    analogues: str | Path | None = None,
    progress: Progress | None = None,
) -> ReachResult:
    """The smallest change to ``levers`` (default: all LEVERs) from ``base`` that meets ``target_ids``.

    ``targets`` is the target list (default: the plan's, :func:`sim.plan.targets.load_targets`)
    or a targets file. ``samples`` Latin-hypercube points and ``starts``
    local searches; see the module docstring for the method and
    :class:`ReachResult` for what comes back. The found point is classified
    with :mod:`sim.analysis.plausibility` against ``analogues`` (default
    ``sim/data/analogues.toml``) and the lever references. Bad input raises
    :class:`InputError` before anything runs.
    """
    started = _time.perf_counter()
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise InputError(f"samples must be a positive integer, not {samples!r}")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise InputError(f"starts must be a positive integer, not {starts!r}")
    all_targets = list(targets) if isinstance(targets, (list, tuple)) else load_targets(targets)
    chosen = select_targets(target_ids, all_targets, model)
    chosen_levers = select_levers(model, levers)
    base_path = resolve_base(base)
    base_scenario = load_scenario(base_path, model)
    refs = references if isinstance(references, dict) else load_lever_references(references)
    unknown = sorted(set(refs) - set(model.levers))
    if unknown:
        raise InputError(f"lever references name levers the model does not have: {', '.join(unknown)}")
    quantities, dropped = applicable(load_analogues(analogues), all_targets, model.compiled.variables)

    usable = evaluable_targets(model, all_targets)
    search = LeverSearch(model, base_scenario, chosen_levers, usable)
    rows = [search.ids.index(t.id) for t in chosen]
    mask = np.zeros(search.m, dtype=bool)
    mask[rows] = True

    base_ts = simulate(model, run_spec(model, base_scenario))
    base_verdicts = evaluate(all_targets, base_ts)
    met_at_base = all(bool(base_verdicts.set_index("id").loc[t.id, "met"]) for t in chosen)

    notes = []
    series = [n for n in search.names if search.base_levers[n].is_series]
    if series:
        notes.append(f"searched levers that the base sets as time series ({', '.join(series)}) are searched as "
                     "constants; their base value is the base's value in the target year")
    if dropped:
        notes.append(f"plausibility quantities not measured (their target or its variable is not in this study): "
                     f"{', '.join(dropped)}")

    if met_at_base:
        point = search.u_base.copy()
        status, worst = "met at base", float(worst_gap(clean_gaps(search.gaps(point)), mask[None])[0])
        ts, verdicts = base_ts, base_verdicts
        scenario = base_scenario
        point_x = search.base_values.copy()
        single = None
    else:
        point, reachable, single = find_smallest_change(search, rows, seed=seed, samples=samples, starts=starts,
                                                        progress=progress)
        point_x = search.values(point)[0]
        worst = float(worst_gap(clean_gaps(search.gaps(point)), mask[None])[0])
        status = "reachable" if reachable else "unreachable"
        scenario = search.scenario(point_x, name="reach", description="")
        ts = simulate(model, run_spec(model, scenario))
        verdicts = evaluate(all_targets, ts)
        if reachable:
            missed = [t.id for t in chosen if not bool(verdicts.set_index("id").loc[t.id, "met"])]
            if missed:
                raise RunError(f"internal check failed: the found lever values do not meet {', '.join(missed)} in a full run")

    # report tables
    span = search.span
    lever_rows = []
    for j, lev in enumerate(search.levers):
        ref = refs.get(lev.name, {})
        rec, plan = ref.get("record"), ref.get("plan")
        needed = float(point_x[j])
        base_val = float(search.base_values[j])
        base_lv = search.base_levers[lev.name]
        lever_rows.append({
            "lever": lev.name,
            "units": lev.units,
            "lower": lev.lower,
            "upper": lev.upper,
            "base": base_val,
            "base_path": base_lv.describe(),
            "needed": needed,
            "change": needed - base_val,
            "change_range_units": (needed - base_val) / span[j],
            "changed": bool(abs(needed - base_val) > 1e-6 * span[j]),
            "at_bound": "upper" if needed >= lev.upper - 1e-5 * span[j] else ("lower" if needed <= lev.lower + 1e-5 * span[j] else ""),
            "record": rec.describe() if rec else "no reference",
            "record_position": reference_position(needed, rec, span[j]),
            "record_text": rec.text if rec else "",
            "record_source": rec.source if rec else "",
            "plan": plan.describe() if plan else "no reference",
            "plan_position": reference_position(needed, plan, span[j]),
            "plan_text": plan.text if plan else "",
            "plan_source": plan.source if plan else "",
        })
    levers_frame = pd.DataFrame(lever_rows)
    vb = base_verdicts.set_index("id")
    vf = verdicts.set_index("id")
    chosen_rows = []
    for t in chosen:
        best_alone = None
        if single is not None:
            g = single[t.id]
            best_alone = gap_to_value(t, g)
        chosen_rows.append({
            "id": t.id,
            "description": t.description,
            "kind": t.kind,
            "comparison": t.comparison,
            "threshold": t.threshold,
            "base_value": float(vb.loc[t.id, "value"]),
            "value": float(vf.loc[t.id, "value"]),
            "met": bool(vf.loc[t.id, "met"]),
            "gap": float(vf.loc[t.id, "gap"]),
            "normalised_gap": float(vf.loc[t.id, "gap"]) / (abs(t.threshold) or 1.0),
            "best_alone_value": best_alone,
        })
    distance = float(np.linalg.norm(point - search.u_base))
    plausibility = assess_frame(quantities, all_targets, ts, lever_names=search.names, lever_values=point_x,
                                refs=refs, span=span)
    if status == "unreachable":
        short = min(chosen_rows, key=lambda r: r["normalised_gap"])
        plausibility = unreachable(plausibility, next(t for t in chosen if t.id == short["id"]), short["value"])
    return ReachResult(
        targets=[t.id for t in chosen], base=base_path, base_name=base_scenario.name, status=status,
        distance=distance, worst_gap=worst, seed=seed, levers=levers_frame,
        chosen=pd.DataFrame(chosen_rows), verdicts=verdicts, base_verdicts=base_verdicts, timeseries=ts,
        scenario=scenario, search=search, point=point, seconds=_time.perf_counter() - started,
        members=search.members, notes=notes, plausibility=plausibility,
    )


def _readable(search: LeverSearch, point: np.ndarray, mask: np.ndarray, reachable: bool) -> np.ndarray:
    """``point`` with changes below 1e-6 of a range undone and values rounded to :data:`DIGITS`
    significant digits (plainly, else away from the base), when the chosen targets hold as well
    (met when reachable; no worse than 1e-6 of a threshold otherwise)."""
    x = search.values(point)[0]
    base = search.base_values
    changed = np.abs(point - search.u_base) > 1e-6
    plain = np.array([_round(v) for v in x])
    away = np.array([_round_away(v, b) for v, b in zip(x, base)])
    options = [np.where(changed, plain, base), np.where(changed, away, base), np.where(changed, x, base)]
    options = [np.clip(o, search.lower, search.upper) for o in options]
    U = search.units(np.array(options))
    G = worst_gap(clean_gaps(search.gaps(np.vstack([U, point[None, :]]))), mask[None])
    for u, g in zip(U, G[:-1]):
        if (reachable and g > 0) or (not reachable and g >= G[-1] - 1e-6):
            return u
    return point


def _round_away(x: float, base: float, digits: int = DIGITS) -> float:
    r = _round(x, digits)
    if (x - base) * (r - x) >= 0:
        return r
    step = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1) if x != 0 else 0.0
    return float(_round(r + math.copysign(step, x - base), digits))


# --------------------------------------------------------------------------- output


def check_scenario_path(path: str | Path, base: str | Path | None = None) -> Path:
    """Check, before any work, that ``path`` can receive a generated scenario: a ``.toml`` file name,
    not a folder, not the base scenario or one of its bases. Returns the path."""
    path = Path(path)
    if path.suffix != ".toml":
        raise InputError(f"--write-scenario: {path}: a scenario file name must end in .toml")
    if path.exists() and path.is_dir():
        raise InputError(f"--write-scenario: {path} is a folder")
    if path.exists():
        chain = load_scenario(resolve_base(base)).chain
        if path.resolve() in {p.resolve() for p in chain}:
            raise InputError(f"--write-scenario: {path} is the base scenario (or one of its bases); choose another file")
    return path
