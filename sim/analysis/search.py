"""The lever search behind reach and consistency: the search space, target gaps, and the two optimisers.

A :class:`LeverSearch` maps lever settings in the unit box (each lever
measured in units of its range from the ``.mdl``) to normalised target gaps
(:func:`sim.plan.targets.ensemble_gaps` divided by ``|threshold|``), many
settings per ensemble call of the compiled runner. :func:`maximise_min_gap`
(a batched trust-region sequential-LP ascent of the worst gap) says whether
targets can be met together inside the ranges; :func:`minimise_distance`
(SLSQP) finds the smallest change that meets them. Jacobians are one ensemble
call of ``k + 1`` members. This module never prints and never exits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from scipy.optimize import Bounds, linprog, minimize

from sim.engine.run import run_spec
from sim.errors import InputError
from sim.model.loader import Lever, Model
from sim.plan.targets import Target, ensemble_gaps, ensemble_quantities
from sim.specs.levers import LeverValue, Scenario
from sim.specs.validation import did_you_mean

#: Forward-difference step for Jacobians, in range units (backward at the upper bound).
FD_STEP = 1e-6


#: Normalised gap the distance search asks of each target, so that the found
#: point meets it with room to spare for rounding (1e-6 of the threshold).
MARGIN = 1e-6


#: When the targets cannot be met: the distance search asks for the best worst gap less this (relative) slack.
SLACK = 1e-6


#: Normalised gap given to an undefined quantity (e.g. a growth rate from a non-positive level).
UNDEFINED_GAP = -1e3


MAXIMIN_ITERATIONS = 60


SLSQP_ITERATIONS = 200


#: How the searched levers are set, as the reports state it.
LEVER_PATH = "searched levers are constant over the run; the other levers keep the base scenario's values"


Progress = Callable[[str, int, int], None]


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
            problems.append(f"unknown target {raw!r}{did_you_mean(str(raw), list(by_id)) or '; `shuangta targets` lists them'}")
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
                f"reach searches policy levers only{did_you_mean(name, list(levers))}")
        elif name in variables:
            problems.append(f"--levers: {name!r} is a model variable but not a LEVER constant{did_you_mean(name, list(levers))}")
        else:
            problems.append(
                f"--levers: unknown lever {name!r}{did_you_mean(name, list(levers)) or '; `shuangta levers` lists them'}")
    if problems:
        raise InputError("\n".join(problems))
    for name in wanted:
        if levers[name].upper <= levers[name].lower:
            raise InputError(f"--levers: {name!r} has an empty range [{levers[name].lower:g}, {levers[name].upper:g}]")
    return [levers[n] for n in wanted]


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


def gap_to_value(t: Target, g: float) -> float:
    """The quantity of target ``t`` whose normalised gap is ``g``."""
    gap = g * (abs(t.threshold) or 1.0)
    return t.threshold + gap if t.comparison in (">=", ">") else t.threshold - gap
