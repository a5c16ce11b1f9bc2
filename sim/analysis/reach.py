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

import difflib
import json
import logging
import math
import os
import time as _time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, linprog, minimize
from scipy.stats import qmc

from sim.specs.datafile import read_toml
from sim.errors import InputError, RunError, SimError
from sim.model.loader import Lever, Model
from sim.analysis.plausibility import Assessment, applicable, assess_frame, load_analogues, unreachable
from sim.engine.results import atomic_write_text, build_manifest, finish_manifest, to_json, write_run
from sim.engine.run import run_spec, simulate
from sim.specs.scenario import SCENARIO_DIR, LeverValue, Scenario, load_scenario
from sim.plan.targets import Target, ensemble_gaps, ensemble_quantities, evaluate, format_number, load_targets

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_REFERENCES",
    "LeverReference",
    "LeverSearch",
    "MaximinResult",
    "ReachResult",
    "evaluable_targets",
    "format_reach",
    "load_lever_references",
    "maximise_min_gap",
    "minimise_distance",
    "reach",
    "reference_position",
    "resolve_base",
    "select_levers",
    "select_targets",
    "write_reach",
    "write_reach_scenario",
    "default_out",
    "check_scenario_path",
]

#: The base scenario when none is given.
DEFAULT_BASE = SCENARIO_DIR / "plan.toml"
#: Reference values of the levers (2016-2020 record, the plan's statements).
DEFAULT_REFERENCES = Path(__file__).resolve().parents[1] / "data" / "lever_references.toml"

#: Forward-difference step for Jacobians, in range units (backward at the upper bound).
FD_STEP = 1e-6
#: Normalised gap the distance search asks of each target, so that the found
#: point meets it with room to spare for rounding (1e-6 of the threshold).
MARGIN = 1e-6
#: When the targets cannot be met: the distance search asks for the best worst gap less this (relative) slack.
SLACK = 1e-6
#: A value within this fraction of the lever's range of a reference interval counts as inside it.
REFERENCE_TOLERANCE = 0.005
#: Normalised gap given to an undefined quantity (e.g. a growth rate from a non-positive level).
UNDEFINED_GAP = -1e3
#: Significant digits of the reported (and written) lever values, when rounding keeps every target met.
DIGITS = 6

DEFAULT_SAMPLES = 2048
DEFAULT_STARTS = 6
MAXIMIN_ITERATIONS = 60
SLSQP_ITERATIONS = 200

#: How the searched levers are set, as the reports state it.
LEVER_PATH = "searched levers are constant over the run; the other levers keep the base scenario's values"

Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- input


def _close(word: str, choices: Sequence[str], n: int = 3) -> str:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"; did you mean {lowered[word.lower()]!r}? (names are case-sensitive)"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""


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
    raise InputError(f"--base: scenario {text!r} not found (a file, or a name in {SCENARIO_DIR}){_close(path.stem, names)}")


def evaluable_targets(model: Model, targets: Sequence[Target]) -> list[Target]:
    """The targets the model can evaluate: ``evaluable`` and every variable in the model."""
    variables = set(model.compiled.variables)
    return [t for t in targets if t.evaluable and all(v in variables for v in t.variables())]


def select_targets(ids: Sequence[str], targets: Sequence[Target], model: Model | None = None) -> list[Target]:
    """The targets named by ``ids`` (exact ids, or case-insensitive when unambiguous), in the order given.

    Unknown ids (with a did-you-mean) and targets the model cannot evaluate
    (with the reason) raise one :class:`InputError` listing every problem.
    """
    if not ids:
        raise InputError("name at least one target id (e.g. T1); `shuangta targets` lists them")
    by_id = {t.id: t for t in targets}
    lower = {}
    for t in targets:
        lower.setdefault(t.id.lower(), []).append(t)
    usable = {t.id for t in evaluable_targets(model, targets)} if model is not None else {t.id for t in targets if t.evaluable}
    chosen: list[Target] = []
    problems: list[str] = []
    for raw in ids:
        t = by_id.get(raw)
        if t is None and len(lower.get(str(raw).lower(), [])) == 1:
            t = lower[str(raw).lower()][0]
        if t is None:
            problems.append(f"unknown target {raw!r}{_close(str(raw), list(by_id)) or '; `shuangta targets` lists them'}")
            continue
        if t.id not in usable:
            why = t.reason or "its variable is not in the model"
            problems.append(f"target {t.id} cannot be evaluated by the model: {why}")
            continue
        if t not in chosen:
            chosen.append(t)
    if problems:
        raise InputError("\n".join(problems))
    return chosen


def select_levers(model: Model, names: Sequence[str] | None) -> list[Lever]:
    """The levers to search: every LEVER of the model when ``names`` is empty, else those named.

    Names may be given one per item or comma-separated. A name that is not a
    lever (unknown, an uncertain parameter, another variable) raises
    :class:`InputError` naming it, with a did-you-mean.
    """
    levers = model.levers
    if not names:
        if not levers:
            raise InputError(f"{Path(model.path).name} has no LEVER constants to search")
        return list(levers.values())
    wanted: list[str] = []
    for item in names:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in wanted:
                wanted.append(part)
    if not wanted:
        raise InputError("--levers: no lever names given")
    catalogue = model.catalogue
    variables = set(model.variables)
    problems = []
    for name in wanted:
        if name in levers:
            continue
        if name in catalogue:
            lev = catalogue[name]
            problems.append(
                f"--levers: {name!r} is an uncertain parameter (range [{lev.lower:g}, {lev.upper:g}]), not a LEVER: "
                f"reach searches policy levers only{_close(name, list(levers))}")
        elif name in variables:
            problems.append(f"--levers: {name!r} is a model variable but not a LEVER constant{_close(name, list(levers))}")
        else:
            problems.append(
                f"--levers: unknown lever {name!r}{_close(name, list(levers)) or '; `shuangta levers` lists them'}")
    if problems:
        raise InputError("\n".join(problems))
    for name in wanted:
        if levers[name].upper <= levers[name].lower:
            raise InputError(f"--levers: {name!r} has an empty range [{levers[name].lower:g}, {levers[name].upper:g}]")
    return [levers[n] for n in wanted]


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class LeverReference:
    """A reference value of a lever: an interval ``[lower, upper]`` with its text and source, or none."""

    text: str
    source: str
    lower: float | None = None
    upper: float | None = None

    @property
    def exists(self) -> bool:
        return self.lower is not None

    def describe(self) -> str:
        if not self.exists:
            return "no reference"
        if self.lower == self.upper:
            return _fmt(self.lower)
        return f"{_fmt(self.lower)}-{_fmt(self.upper)}"

    def to_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "text": self.text, "source": self.source}


def _reference(entry, label: str, problems: list[str]) -> LeverReference | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        problems.append(f"{label}: expected a table")
        return None
    unknown = set(entry) - {"lower", "upper", "text", "source"}
    if unknown:
        problems.append(f"{label}: unknown keys {sorted(unknown)} (allowed: lower, upper, text, source)")
    for key in ("text", "source"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            problems.append(f"{label}: needs a non-empty {key!r}")
    lo, hi = entry.get("lower"), entry.get("upper")
    if (lo is None) != (hi is None):
        problems.append(f"{label}: give both 'lower' and 'upper', or neither (no reference)")
        return None
    if lo is not None:
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (lo, hi)):
            problems.append(f"{label}: 'lower' and 'upper' must be finite numbers")
            return None
        if lo > hi:
            problems.append(f"{label}: lower {lo} > upper {hi}")
            return None
        lo, hi = float(lo), float(hi)
    return LeverReference(str(entry.get("text", "")), str(entry.get("source", "")), lo, hi)


def load_lever_references(path: str | Path | None = None) -> dict[str, dict[str, LeverReference | None]]:
    """Read the lever references: ``{lever: {"record": LeverReference | None, "plan": ...}}``.

    ``None`` means the file does not mention that reference; a
    :class:`LeverReference` without numbers means "no reference", with a reason.
    """
    path = Path(path) if path is not None else DEFAULT_REFERENCES
    data = read_toml(path, "lever references file")
    problems: list[str] = []
    if data.get("schema_version") != 1:
        problems.append("schema_version must be 1")
    out: dict[str, dict] = {}
    for i, entry in enumerate(data.get("lever", []), start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"lever {i}: needs a 'name'")
            continue
        extra = set(entry) - {"name", "record", "plan"}
        if extra:
            problems.append(f"lever {name!r}: unknown keys {sorted(extra)} (allowed: name, record, plan)")
        if name in out:
            problems.append(f"lever {name!r}: listed twice")
        out[name] = {
            "record": _reference(entry.get("record"), f"lever {name!r}.record", problems),
            "plan": _reference(entry.get("plan"), f"lever {name!r}.plan", problems),
        }
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return out


def reference_position(value: float, ref: LeverReference | None, span: float) -> str:
    """``"below"``, ``"inside"`` or ``"above"`` the reference interval, or ``"no reference"``.

    A value within :data:`REFERENCE_TOLERANCE` × ``span`` of the interval counts as inside.
    """
    if ref is None or not ref.exists:
        return "no reference"
    tol = REFERENCE_TOLERANCE * span
    if value < ref.lower - tol:
        return "below"
    if value > ref.upper + tol:
        return "above"
    return "inside"


# --------------------------------------------------------------------------- the search space


def normalised_gaps(targets: Sequence[Target], quantities: dict[str, np.ndarray]) -> np.ndarray:
    """``(N, m)`` gaps divided by ``|threshold|`` (1 for a zero threshold); NaN where undefined."""
    cols = []
    for t in targets:
        _, gap = ensemble_gaps(t, quantities[t.id])
        cols.append(gap / (abs(t.threshold) if t.threshold != 0 else 1.0))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def clean_gaps(G: np.ndarray) -> np.ndarray:
    """Gaps with an undefined value (NaN, inf) replaced by :data:`UNDEFINED_GAP`, so a search can rank them."""
    return np.nan_to_num(G, nan=UNDEFINED_GAP, posinf=-UNDEFINED_GAP, neginf=UNDEFINED_GAP)


class LeverSearch:
    """Lever settings in the unit box -> normalised target gaps, many settings per ensemble call.

    ``targets`` are the targets whose gaps are computed (columns, in order);
    ``levers`` the searched levers (the box's axes), each a constant over the
    run; the other levers keep the base scenario's values. ``members`` counts
    the runs made so far.
    """

    def __init__(self, model: Model, base: Scenario | None, levers: Sequence[Lever], targets: Sequence[Target]):
        if not targets:
            raise InputError("no targets to evaluate")
        if not levers:
            raise InputError("no levers to search")
        self.model, self.base = model, base
        self.levers = list(levers)
        self.targets = list(targets)
        self.names = [lev.name for lev in self.levers]
        self.ids = [t.id for t in self.targets]
        self.lower = np.array([lev.lower for lev in self.levers], dtype=float)
        self.upper = np.array([lev.upper for lev in self.levers], dtype=float)
        self.span = self.upper - self.lower
        if np.any(self.span <= 0):
            raise InputError(f"levers with an empty range cannot be searched: {[n for n, s in zip(self.names, self.span) if s <= 0]}")
        self.final_time = float(max(t.year for t in self.targets))
        if base is not None and base.run.final_time is not None and base.run.final_time < self.final_time:
            raise InputError(f"{base.path}: the base scenario ends in {base.run.final_time:g}, before the target year {self.final_time:g}")
        self.spec = run_spec(model, base, final_time=self.final_time)
        self.steps = self.spec.steps
        self.base_levers: dict[str, LeverValue] = {}
        for lev in self.levers:
            value = base.levers.get(lev.name) if base is not None else None
            self.base_levers[lev.name] = value if value is not None else LeverValue.constant(lev.default)
        #: each searched lever's base value: the base's value in the target year
        self.base_values = np.array([float(v.at([self.final_time])[0]) for v in self.base_levers.values()])
        self.u_base = np.clip((self.base_values - self.lower) / self.span, 0.0, 1.0)
        fixed = {k: v for k, v in model.calibration.items() if k not in self.spec.params}
        fixed.update(self.spec.params)
        for name in self.names:
            fixed.pop(name, None)
        # shared series as (1, S): a 1-D array of length S is ambiguous when N == S
        self._fixed = {k: (np.asarray(v, dtype=float)[None, :] if np.ndim(v) == 1 else v) for k, v in fixed.items()}
        self.columns = sorted({v for t in self.targets for v in t.variables()})
        self.members = 0

    @property
    def k(self) -> int:
        return len(self.levers)

    @property
    def m(self) -> int:
        return len(self.targets)

    def values(self, U) -> np.ndarray:
        """Lever values ``(N, k)`` of points ``U`` in the unit box."""
        return self.lower + np.atleast_2d(U) * self.span

    def units(self, X) -> np.ndarray:
        """Points in the unit box of lever values ``X``."""
        return (np.atleast_2d(X) - self.lower) / self.span

    def params(self, U) -> tuple[dict, int]:
        """The runner's ``params`` for points ``U`` and the member count."""
        X = self.values(U)
        n = X.shape[0]
        params = dict(self._fixed)
        S = len(self.steps)
        for j, name in enumerate(self.names):
            if n == 1:
                params[name] = float(X[0, j])
            elif n != S:
                params[name] = X[:, j]
            else:  # a 1-D array of length S would be read as a time series: pass (N, S)
                params[name] = np.repeat(X[:, j, None], S, axis=1)
        return params, n

    def quantities(self, U) -> dict[str, np.ndarray]:
        """Each target's quantity for points ``U``: ``{id: (N,)}``."""
        params, n = self.params(U)
        result = self.model.compiled.run(params=params, n=n, return_columns=self.columns,
                                         final_time=self.final_time, time_step=self.spec.time_step)
        self.members += n
        return ensemble_quantities(self.targets, result.times, result.values)

    def gaps(self, U) -> np.ndarray:
        """Normalised gaps ``(N, m)`` (NaN where a quantity is undefined)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        return normalised_gaps(self.targets, self.quantities(U))

    def met(self, U) -> np.ndarray:
        """``(N, m)`` booleans: target met (the same rule as :func:`sim.plan.targets.evaluate`)."""
        q = self.quantities(np.atleast_2d(np.asarray(U, dtype=float)))
        return np.stack([ensemble_gaps(t, q[t.id])[0] for t in self.targets], axis=1)

    def gaps_jacobian(self, U, step: float = FD_STEP) -> tuple[np.ndarray, np.ndarray]:
        """Gaps ``(N, m)`` and their finite-difference Jacobians ``(N, m, k)``: one ensemble call of ``N (k + 1)``."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        n, k = U.shape
        H = np.where(U + step <= 1.0, step, -step)
        P = np.repeat(U[:, None, :], k, axis=1)
        idx = np.arange(k)
        P[:, idx, idx] += H
        G = clean_gaps(self.gaps(np.vstack([U, P.reshape(n * k, k)])))
        G0, GP = G[:n], G[n:].reshape(n, k, -1)
        J = (GP - G0[:, None, :]) / H[:, :, None]
        return G0, np.transpose(J, (0, 2, 1))

    def lever_values(self, x: np.ndarray) -> dict[str, LeverValue]:
        """How a point (lever values ``x``) is written in a scenario: one constant per searched lever.

        A lever whose base value is a constant equal to ``x`` is left out (the
        base's value applies).
        """
        out: dict[str, LeverValue] = {}
        for j, name in enumerate(self.names):
            base = self.base_levers[name]
            xj = float(x[j])
            if base.is_series or xj != base.value:
                out[name] = LeverValue.constant(xj)
        return out

    def scenario(self, x: np.ndarray, name: str = "reach", description: str = "") -> Scenario:
        """The base scenario with the searched levers at ``x`` (in memory; see :func:`write_reach_scenario`)."""
        levers = dict(self.base.levers) if self.base is not None else {}
        levers.update(self.lever_values(x))
        if self.base is None:
            return Scenario(name=name, description=description, path=Path(f"{name}.toml"), chain=[], levers=levers)
        return replace(self.base, name=name, description=description, levers=levers)


# --------------------------------------------------------------------------- maximin (batched SLP)


@dataclass
class MaximinResult:
    """Per problem: the best point ``u`` (B, k), its gaps (B, m), the worst chosen gap ``best`` (B,)."""

    u: np.ndarray
    gaps: np.ndarray
    best: np.ndarray
    iterations: np.ndarray


def worst_gap(G: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per row, the worst (smallest) gap among the targets ``masks`` chooses."""
    return np.where(masks, G, np.inf).min(axis=1)


def maximise_min_gap(search: LeverSearch, masks, starts, max_iter: int = MAXIMIN_ITERATIONS, tol: float = 1e-9,
                     radius: float = 0.1, progress: Progress | None = None, label: str = "maximin") -> MaximinResult:
    """Maximise the worst normalised gap of each problem over the lever box, all problems at once.

    ``masks`` (B, m) chooses each problem's targets (columns of ``search``);
    ``starts`` (B, k) are starting points in the unit box. A trust-region
    sequential-LP method: at each iteration, for every unfinished problem,
    ``max t s.t. g_i + J_i·d >= t`` (its targets), ``|d|∞ <= radius``,
    ``0 <= u + d <= 1`` is solved with :func:`scipy.optimize.linprog`
    (HiGHS); the steps are evaluated in one ensemble call and accepted when
    the actual gain is at least a tenth of the predicted one. Jacobians of all
    problems that moved are one ensemble call. A problem stops when the
    predicted gain falls below ``tol`` or its radius below 1e-7.
    """
    masks = np.asarray(masks, dtype=bool)
    U = np.clip(np.array(starts, dtype=float), 0.0, 1.0)
    B, k = U.shape
    if masks.shape != (B, search.m) or not masks.any(axis=1).all():
        raise InputError("maximise_min_gap: each problem needs a non-empty target mask of shape (B, m)")
    G = np.zeros((B, search.m))
    J = np.zeros((B, search.m, k))
    delta = np.full(B, float(radius))
    active = np.ones(B, dtype=bool)
    need = np.ones(B, dtype=bool)
    iterations = np.zeros(B, dtype=int)
    c = np.zeros(k + 1)
    c[-1] = -1.0
    for it in range(max_iter):
        if progress:
            progress(label, it, max_iter)
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        fresh = idx[need[idx]]
        if fresh.size:
            G[fresh], J[fresh] = search.gaps_jacobian(U[fresh])
            need[fresh] = False
        steps, preds, moved = [], [], []
        for b in idx:
            rows = masks[b]
            g, Jb = G[b, rows], J[b, rows]
            lo = np.maximum(-delta[b], -U[b])
            hi = np.minimum(delta[b], 1.0 - U[b])
            A = np.hstack([-Jb, np.ones((rows.sum(), 1))])
            res = linprog(c, A_ub=A, b_ub=g, bounds=list(zip(lo, hi)) + [(None, None)], method="highs")
            iterations[b] += 1
            if res.status != 0:
                active[b] = False
                continue
            pred = float(res.x[-1] - g.min())
            if pred <= tol * (1.0 + abs(g.min())):
                active[b] = False
                continue
            steps.append(res.x[:k])
            preds.append(pred)
            moved.append(b)
        if not moved:
            continue
        moved = np.array(moved)
        D = np.array(steps)
        trial = np.clip(U[moved] + D, 0.0, 1.0)
        Gt = clean_gaps(search.gaps(trial))
        for a, b in enumerate(moved):
            actual = float(Gt[a][masks[b]].min() - G[b][masks[b]].min())
            ratio = actual / preds[a]
            size = float(np.abs(D[a]).max())
            if ratio > 0.1:
                U[b], G[b] = trial[a], Gt[a]
                need[b] = True
                if ratio > 0.75 and size >= 0.99 * delta[b]:
                    delta[b] = min(2.0 * delta[b], 1.0)
                elif ratio < 0.25:
                    delta[b] = 0.5 * size
            else:
                delta[b] = 0.5 * size
            if delta[b] < 1e-7:
                active[b] = False
    if progress:
        progress(label, max_iter, max_iter)
    return MaximinResult(U, G, worst_gap(G, masks), iterations)


# --------------------------------------------------------------------------- smallest change (SLSQP)


def minimise_distance(search: LeverSearch, rows: Sequence[int], start, level: float,
                      max_iter: int = SLSQP_ITERATIONS) -> np.ndarray:
    """SLSQP: the point nearest ``search.u_base`` with every gap in ``rows`` >= ``level``, from ``start``.

    Returns the end point (clipped to the box); the caller checks it.
    """
    rows = list(rows)
    u0 = search.u_base
    cache: dict[bytes, np.ndarray] = {}
    jac: dict[bytes, np.ndarray] = {}

    def gaps(u):
        key = np.asarray(u, dtype=float).tobytes()
        if key not in cache:
            cache[key] = clean_gaps(search.gaps(np.clip(u, 0, 1)[None, :]))[0]
        return cache[key]

    def jacobian(u):
        key = np.asarray(u, dtype=float).tobytes()
        if key not in jac:
            G0, J = search.gaps_jacobian(np.clip(u, 0, 1)[None, :])
            cache[key], jac[key] = G0[0], J[0]
        return jac[key]

    def objective(u):
        d = u - u0
        return float(d @ d), 2.0 * d

    constraint = {"type": "ineq", "fun": lambda u: gaps(u)[rows] - level, "jac": lambda u: jacobian(u)[rows]}
    res = minimize(objective, np.clip(np.asarray(start, dtype=float), 0, 1), jac=True, method="SLSQP",
                   bounds=Bounds(np.zeros(search.k), np.ones(search.k)), constraints=[constraint],
                   options={"maxiter": max_iter, "ftol": 1e-12})
    return np.clip(res.x, 0.0, 1.0)


# --------------------------------------------------------------------------- reach


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    x = float(x)
    if x == 0:
        return "0"
    size = abs(x)
    if size >= 1000:
        return f"{x:,.1f}"
    if size >= 1:
        return f"{x:.4g}" if size < 100 else f"{x:.1f}"
    return f"{x:.4g}"


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


def gap_to_value(t: Target, g: float) -> float:
    """The quantity of target ``t`` whose normalised gap is ``g``."""
    gap = g * (abs(t.threshold) or 1.0)
    return t.threshold + gap if t.comparison in (">=", ">") else t.threshold - gap


# --------------------------------------------------------------------------- output


def _position_text(row: dict, which: str) -> str:
    pos = row[f"{which}_position"]
    if pos == "no reference":
        return "no reference"
    return f"{pos} ({row[which]})"


def format_reach(result: ReachResult) -> str:
    """Plain-text report of a :class:`ReachResult` for the command line."""
    from sim.plan.targets import format_verdicts

    s = result.search
    head = [f"reach {' '.join(result.targets)} from {result.base_name} ({result.base}); "
            f"{s.k} lever{'s' if s.k != 1 else ''} searched"]
    head.append(LEVER_PATH)
    if result.status == "met at base":
        head.append("status: already met by the base scenario; no change needed")
    elif result.status == "reachable":
        head.append(f"status: REACHABLE inside the lever ranges; smallest change: distance {result.distance:.4f} (range units)")
    else:
        head.append("status: NOT REACHABLE inside the lever ranges; the best reachable values "
                    f"(worst normalised gap {result.worst_gap:+.4f}) need distance {result.distance:.4f} (range units)")
    if result.plausibility is not None:
        head.append(f"plausibility: {result.plausibility.cls}; binding: {result.plausibility.binding_text()}")
    lines = ["\n".join(head), ""]
    rows = result.levers.to_dict("records")
    table = [["lever", "base", "needed", "change", "Δ range", "2016-2020 record", "plan"]]
    for r in rows:
        if not r["changed"]:
            continue
        table.append([
            r["lever"] + (f" [{r['at_bound']} bound]" if r["at_bound"] else ""),
            _fmt(r["base"]), _fmt(r["needed"]), ("+" if r["change"] > 0 else "") + _fmt(r["change"]),
            f"{r['change_range_units']:+.3f}", _position_text(r, "record"), _position_text(r, "plan"),
        ])
    unchanged = [r["lever"] for r in rows if not r["changed"]]
    if len(table) > 1:
        lines.append(_plain_table(table))
    else:
        lines.append("no lever changes")
    if unchanged:
        lines.append(f"unchanged: {', '.join(unchanged)}")
    beyond = result.beyond()
    lines.append(f"outside the 2016-2020 record: {', '.join(beyond['record']) or '-'}")
    lines.append(f"beyond what the plan states: {', '.join(beyond['plan']) or '-'}")
    lines.append("")
    chosen = result.chosen.to_dict("records")
    ct = [["target", "base", "then", "threshold", "verdict", "best alone"]]
    for r in chosen:
        ct.append([r["id"], format_number(r["base_value"], r["kind"]), format_number(r["value"], r["kind"]),
                   f"{r['comparison']} {format_number(r['threshold'], r['kind'])}", "MET" if r["met"] else "MISSED",
                   format_number(r["best_alone_value"], r["kind"]) if r["best_alone_value"] is not None else "-"])
    lines.append(_plain_table(ct))
    comp = result.comparison()
    met = [r["id"] for r in comp.to_dict("records") if r["met"] is True and not r["searched"]]
    missed = [r["id"] for r in comp.to_dict("records") if r["met"] is False and not r["searched"]]
    lines += ["", f"other targets then met: {' '.join(met) or '-'}", f"other targets then missed: {' '.join(missed) or '-'}",
              "", format_verdicts(result.verdicts)]
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _plain_table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def default_out(target_ids: Sequence[str]) -> Path:
    """``results/reach/<targets joined by '_'>``."""
    return Path("results") / "reach" / "_".join(str(t) for t in target_ids)


def write_reach(result: ReachResult, out: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write ``reach.json``, ``reach.csv`` (one row per searched lever), ``targets.csv`` and
    ``timeseries.csv`` (the found point), ``comparison.csv`` (every target at base and found point)
    and ``manifest.json`` into ``out`` (atomically, :func:`sim.engine.results.write_run`)."""
    import sys

    manifest = build_manifest(list(command) if command is not None else sys.argv, result.search.model.path,
                              result.scenario.resolved_dict(), seed=result.seed,
                              extra={"base_scenario": str(result.base), "targets": result.targets,
                                     "levers": result.search.names, "status": result.status,
                                     "seconds": result.seconds, "runs": result.members})
    finish_manifest(manifest, "complete")
    files = {
        "reach.json": to_json(result.to_dict()) + "\n",
        "reach.csv": result.levers,
        "targets.csv": result.verdicts,
        "comparison.csv": result.comparison(),
        "timeseries.csv": result.timeseries,
    }
    return write_run(out, files, manifest)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _toml_float(x: float) -> str:
    text = repr(float(x))
    return text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"


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


def base_reference(base: Path, child: Path) -> str:
    """How ``child`` names ``base``: its name when it lies in ``scenarios/`` and nothing next to ``child``
    shadows it, else a relative path (an absolute one when the two share only the root)."""
    base = base.resolve()
    folder = Path(os.path.abspath(child.parent))
    if base.parent == SCENARIO_DIR.resolve():
        local = folder / base.name
        if local != Path(os.path.abspath(child)) and (not local.exists() or local.resolve() == base):
            return base.stem
    common = os.path.commonpath([str(base), str(folder)])
    if common == os.path.dirname(common) or common == "":
        return base.as_posix()
    return os.path.relpath(base, folder).replace(os.sep, "/")


def write_reach_scenario(result: ReachResult, path: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write the found lever values as a runnable scenario file (base = the base scenario) and check it.

    The file names its base by a path relative to itself, sets only the
    searched levers that differ from the base, and states in its description
    and comments that it was generated, with the command line. It is loaded
    back and checked against the model (:func:`sim.specs.scenario.load_scenario`).
    """
    import shlex
    import sys

    path = check_scenario_path(path, result.base)
    command = list(command) if command is not None else sys.argv
    line = shlex.join(str(c) for c in command)
    name = "".join(c if (c.isascii() and (c.isalnum() or c in "-_")) else "_" for c in path.stem) or "reach"
    base_ref = base_reference(Path(result.base), path)
    what = " ".join(result.targets)
    if result.status == "unreachable":
        summary = (f"{what} cannot be met inside the lever ranges: these are the smallest lever changes that reach the best "
                   f"reachable values (worst normalised gap {result.worst_gap:+.4f})")
    elif result.status == "met at base":
        summary = f"{what} {'is' if len(result.targets) == 1 else 'are'} already met by the base scenario; no lever changes"
    else:
        summary = f"the smallest change to the searched levers that meets {what} in the target year (distance {result.distance:.4f} in range units)"
    path_text = LEVER_PATH[0].upper() + LEVER_PATH[1:] + "."
    description = f"Generated by shuangta reach from {result.base_name}: {summary}. {path_text}"
    out = [
        "# Generated by `shuangta reach`; do not edit by hand, run the command again.",
        f"# Command: {line}",
        f"# Base: {result.base} ({result.base_name}); seed {result.seed}; status: {result.status}.",
        f"# {path_text}",
        "schema_version = 1",
        f"name = {_toml_string(name)}",
        f"description = {_toml_string(description)}",
        f"base = {_toml_string(base_ref)}",
        "",
        "[levers]",
    ]
    rows = {r["lever"]: r for r in result.levers.to_dict("records")}
    for name_, value in result.scenario_levers().items():
        r = rows[name_]
        out.append(f"{_toml_string(name_)} = {_toml_float(value.value)}  # base {_fmt(r['base'])}; "
                   f"2016-2020 record: {_position_text(r, 'record')}; plan: {_position_text(r, 'plan')}")
    text = "\n".join(out) + "\n"
    atomic_write_text(path, text)
    try:
        load_scenario(path, result.search.model)
    except SimError:
        path.unlink(missing_ok=True)
        raise
    return path
