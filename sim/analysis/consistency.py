"""Which of the plan's targets can hold together: feasibility over the lever box.

:func:`check_consistency` asks, for every evaluable target alone, every pair
of targets and the full set, whether some setting of the levers inside their
ranges meets all of them at once. It maximises the *worst normalised gap*
(:mod:`sim.analysis.reach`: gap / |threshold|) over the box with several starts: a
Latin hypercube of settings run as one ensemble picks each problem's best
starting points, and :func:`sim.analysis.search.maximise_min_gap` (a batched
trust-region sequential-LP ascent, every problem's Jacobian in one ensemble
call) climbs from them. A set is *feasible* when the best point meets every
target in it (worst gap > 0). Lever paths are those of :mod:`sim.analysis.reach`
(the base scenario's levers kept, searched levers constant over the run).

A search can prove feasibility (it shows a setting) but not infeasibility:
"infeasible" means no start climbed to a setting that meets the set, and the
best worst gap says by how much it stays short.

It then checks the contradictions that docs/plan.md §4 lists: items 1-2 by
the plan's arithmetic alone, items 3-7 with the model (:func:`contradictions`).
Their numbers are read, never typed: thresholds from the targets, the plan's
2020 figures from ``model/data/history.csv`` and the model (:func:`plan_2020`),
the plan's other statements from ``sim/data/plan_section4.toml``
(:func:`load_section4`).

Nothing here prints; errors are :class:`sim.errors.InputError`.
"""

from __future__ import annotations

import io
import itertools
import math
import sys
import time as _time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.model.loader import Model
from sim.analysis.plausibility import (
    CLASSES,
    applicable,
    assess,
    load_analogues,
    point_levels,
    search_outcomes,
    unreachable,
)
from sim.analysis.reach import resolve_base
from sim.analysis.search import (LEVER_PATH, LeverSearch, Progress, clean_gaps, evaluable_targets, gap_to_value,
                                 maximise_min_gap, select_levers, select_targets, worst_gap)
from sim.plan.lever_references import load_lever_references
from sim.engine.results import build_manifest, finish_manifest, to_json, write_run
from sim.engine.run import run_spec, simulate
from sim.specs.scenario import load_scenario
from sim.plan.targets import Target, format_number, load_targets

__all__ = [
    "ConsistencyResult",
    "check_consistency",
    "contradictions",
    "format_consistency",
    "plot_matrix",
    "write_consistency",
    "DEFAULT_SAMPLES",
    "DEFAULT_STARTS",
]

DEFAULT_SAMPLES = 4096
DEFAULT_STARTS = 3

#: docs/plan.md §4 as data: each item's claim, the targets it involves and the plan's stated figures
#: that are not targets (see the file's header); the plan's 2020 figures are read from history.csv and the model.
SECTION4_FILE = Path(__file__).resolve().parents[1] / "data" / "plan_section4.toml"


def load_section4(path: str | Path | None = None) -> dict:
    """Read and check the §4 data file (default :data:`SECTION4_FILE`); returns its TOML as a dict.

    Problems raise :class:`InputError` listing them all.
    """
    path = Path(path) if path is not None else SECTION4_FILE
    data = read_toml(path, "§4 data file")
    problems: list[str] = []
    if data.get("schema_version", 1) != 1:
        problems.append(f"unsupported schema_version {data['schema_version']!r} (this version reads 1)")
    plan = data.get("plan_2020")
    if not isinstance(plan, dict) or not isinstance(plan.get("year"), int):
        problems.append("[plan_2020] needs a whole-number year")
    else:
        for key, src in plan.items():
            if key != "year" and (not isinstance(src, dict) or len({"history", "model"} & set(src)) != 1):
                problems.append(f"plan_2020.{key}: needs exactly one of history = or model =")
    items = data.get("items")
    if not isinstance(items, dict):
        problems.append("no [items.N] tables")
        items = {}
    for number in _ITEMS:
        item = items.get(number)
        if not isinstance(item, dict):
            problems.append(f"items.{number}: missing")
            continue
        if item.get("kind") not in ("arithmetic", "model"):
            problems.append(f"items.{number}: kind must be 'arithmetic' or 'model'")
        for key in ("targets",) + (("two_sided",) if "two_sided" in item else ()):
            if not isinstance(item.get(key), list) or not all(isinstance(i, str) for i in item[key]) or not item[key]:
                problems.append(f"items.{number}: {key} must be a list of target ids")
        if not isinstance(item.get("claim"), str):
            problems.append(f"items.{number}: claim must be a string")
        for name, fig in item.get("stated", {}).items():
            value = fig.get("value") if isinstance(fig, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not isinstance(fig.get("section"), str):
                problems.append(f"items.{number}.stated.{name}: needs a finite value and a section")
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return data


#: The §4 items, in order.
_ITEMS = ("1", "2", "3", "4", "5", "6", "7")


def section4_sets(plan: dict) -> dict:
    """The extra sets checked for §4 (item -> target ids) of a :func:`load_section4` dict;
    ``"7b"`` is item 7's two-sided set ("T8U" is T8's upper side, see :func:`_t8_upper`)."""
    out: dict = {}
    for number, item in plan["items"].items():
        if item["kind"] == "model":
            out[int(number)] = tuple(item["targets"])
            if "two_sided" in item:
                out[f"{number}b"] = tuple(item["two_sided"])
    return out


def plan_2020(plan: dict, model: Model | None = None, history: str | Path | None = None) -> dict[str, float]:
    """The plan's 2020 figures that §4 uses, by the keys of ``[plan_2020]`` in the §4 data file.

    ``history =`` figures are that variable's row for the year in ``history``
    (default ``model/data/history.csv``, read by :func:`sim.plan.history.load_history`);
    ``model =`` figures are that constant of ``model`` (or of the project's
    model when ``model`` lacks it).
    """
    from sim.plan.history import HISTORY_FILE, load_history

    spec = plan["plan_2020"]
    year = spec["year"]
    frame = None
    out: dict[str, float] = {}
    for key, src in spec.items():
        if key == "year":
            continue
        if "history" in src:
            if frame is None:
                frame = load_history(history if history is not None else HISTORY_FILE)
            rows = frame[(frame["variable"] == src["history"]) & (frame["year"].astype(int) == year)
                         & (frame["measure"] == "level")]
            if len(rows) != 1:
                raise InputError(f"history has {len(rows)} rows for {src['history']!r} in {year}, need one (plan_2020.{key})")
            out[key] = float(rows["value"].iloc[0])
        else:
            name = src["model"]
            if model is None or name not in model.variables:
                from sim.model.loader import load_model

                model = load_model()
            if name not in model.variables:
                raise InputError(f"{model.path}: no constant {name!r} (plan_2020.{key})")
            out[key] = float(model.pysd_model[name])
    return out


def _t8_upper(t8: Target) -> Target:
    """T8 read two-sided: income growth also at most 0.5 point *above* GDP growth (同步 as 'equal')."""
    return replace(
        t8, id="T8U", comparison="<=", threshold=-t8.threshold,
        description=("Urban income grows in step with the economy, upper side: real income CAGR at most "
                     f"{-t8.threshold * 100:g} point above real GDP CAGR"),
        arithmetic=f"T8's reading of 同步 as equality: |CAGR(real income) - CAGR(real GDP)| <= {-t8.threshold:g} is T8 and this",
    )


@dataclass
class ConsistencyResult:
    """Results of :func:`check_consistency`.

    ``matrix`` has one row per target alone (``a == b``) and per pair, with
    ``feasible``, ``best_min_gap``, each target's normalised gap and value at
    the best point, and the lever values there. ``full`` is the full set,
    ``sets`` the §4 sets by item, ``lines`` the §4 findings.
    """

    ids: list[str]
    matrix: pd.DataFrame
    full: dict
    sets: dict
    lines: list[dict]
    search: LeverSearch = field(repr=False)
    base: Path
    base_name: str
    seed: int
    samples: int
    starts: int
    seconds: float = 0.0
    members: int = 0
    #: the base run's 2020 values of a few variables (growth targets are measured from these)
    initial_values: dict = field(default_factory=dict)
    #: each target alone: the summary of its best point (gaps of every target there)
    singles: dict = field(default_factory=dict)
    #: plausibility quantities this study cannot measure (their target or variable is missing)
    not_measured: list = field(default_factory=list)

    def class_counts(self, which: str = "pairs") -> dict[str, int]:
        """How many pairs (or targets alone, ``which="singles"``) fall in each plausibility class."""
        rows = self.pairs() if which == "pairs" else self.matrix[self.matrix["a"] == self.matrix["b"]]
        return {c: int((rows["class"] == c).sum()) for c in CLASSES}

    def square(self) -> pd.DataFrame:
        """The best worst gap as an ``ids × ids`` table (diagonal: each target alone)."""
        out = pd.DataFrame(np.nan, index=self.ids, columns=self.ids)
        for r in self.matrix.to_dict("records"):
            out.loc[r["a"], r["b"]] = out.loc[r["b"], r["a"]] = r["best_min_gap"]
        out.index.name = "target"
        return out

    def pairs(self) -> pd.DataFrame:
        return self.matrix[self.matrix["a"] != self.matrix["b"]]

    def to_dict(self) -> dict:
        pairs = self.pairs()
        singles = self.matrix[self.matrix["a"] == self.matrix["b"]]
        return {
            "targets": self.ids,
            "base": str(self.base),
            "base_name": self.base_name,
            "levers": self.search.names,
            "lever_path": LEVER_PATH,
            "seed": self.seed,
            "samples": self.samples,
            "starts": self.starts,
            "pairs": len(pairs),
            "feasible_pairs": int(pairs["feasible"].sum()),
            "infeasible_pairs": [f"{a}+{b}" for a, b in pairs.loc[~pairs["feasible"], ["a", "b"]].itertuples(index=False)],
            "unreachable_alone": [a for a, ok in singles[["a", "feasible"]].itertuples(index=False) if not ok],
            "base_2020_values": self.initial_values,
            "plausibility_classes": {"pairs": self.class_counts("pairs"), "alone": self.class_counts("singles")},
            "plausibility_alone": {a: info["plausibility"] for a, info in self.singles.items()},
            "plausibility_not_measured": self.not_measured,
            "full_set": self.full,
            "section4_sets": self.sets,
            "section4": self.lines,
            "seconds": self.seconds,
            "runs": self.members,
        }


def _problem(search: LeverSearch, ids: Sequence[str]) -> np.ndarray:
    mask = np.zeros(search.m, dtype=bool)
    mask[[search.ids.index(i) for i in ids]] = True
    return mask


def check_consistency(
    model: Model,
    levers: Sequence[str] | None = None,
    base: str | Path | None = None,
    *,
    target_ids: Sequence[str] | None = None,
    targets: Sequence[Target] | str | Path | None = None,
    seed: int = 0,
    samples: int = DEFAULT_SAMPLES,
    starts: int = DEFAULT_STARTS,
    max_iter: int | None = None,
    progress: Progress | None = None,
    section4: str | Path | None = None,
    analogues: str | Path | None = None,
    references: str | Path | dict | None = None,
) -> ConsistencyResult:
    """Feasibility of every target alone, every pair and the full set over the lever box.

    ``target_ids`` limits the study to those targets (default: every target
    the model can evaluate); ``targets`` is the target list or file (default:
    the plan's). ``levers`` and ``base`` as in :func:`sim.analysis.reach.reach`.
    ``section4`` is the §4 data file (default :data:`SECTION4_FILE`).
    Each set's answer gets a plausibility class (:mod:`sim.analysis.plausibility`,
    ``analogues`` and ``references`` as in :func:`sim.analysis.reach.reach`): that of the
    most plausible point found that meets the set (the sample points and the
    maximin point; ties: the nearest to the base), or ``unreachable``.
    Deterministic for a given ``seed``.
    """
    started = _time.perf_counter()
    for name, value in (("samples", samples), ("starts", starts)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, not {value!r}")
    all_targets = list(targets) if isinstance(targets, (list, tuple)) else load_targets(targets)
    plan = load_section4(section4)
    usable = evaluable_targets(model, all_targets)
    chosen = select_targets(target_ids, all_targets, model) if target_ids else usable
    if len(chosen) < 2:
        raise InputError("consistency needs at least two evaluable targets")
    chosen_levers = select_levers(model, levers)
    refs = references if isinstance(references, dict) else load_lever_references(references)
    quantities, dropped = applicable(load_analogues(analogues), all_targets, model.compiled.variables)
    base_path = resolve_base(base)
    base_scenario = load_scenario(base_path, model)
    extra = [_t8_upper(t) for t in chosen if t.id == "T8"]
    search = LeverSearch(model, base_scenario, chosen_levers, list(chosen) + extra)
    ids = [t.id for t in chosen]

    # problems: each target alone, each pair, the full set, the §4 sets
    sets: list[tuple] = [(i,) for i in ids] + list(itertools.combinations(ids, 2)) + [tuple(ids)]
    section4 = {item: s for item, s in section4_sets(plan).items() if all(i in search.ids for i in s)}
    for s in section4.values():
        if tuple(s) not in sets:
            sets.append(tuple(s))
    masks = np.array([_problem(search, s) for s in sets])

    lhs = qmc.LatinHypercube(d=search.k, rng=seed).random(samples)
    U = np.vstack([search.u_base[None, :], lhs])
    G = clean_gaps(search.gaps(U))
    problem_masks, problem_starts, owner = [], [], []
    for p, mask in enumerate(masks):
        worst = worst_gap(G, mask[None])
        order = np.argsort(-worst, kind="stable")[:starts]
        problem_masks += [mask] * len(order)
        problem_starts += list(U[order])
        owner += [p] * len(order)
    owner = np.array(owner)
    kwargs = {} if max_iter is None else {"max_iter": max_iter}
    mm = maximise_min_gap(search, np.array(problem_masks), np.array(problem_starts), progress=progress,
                          label="feasibility", **kwargs)
    best = {}
    for p in range(len(sets)):
        rows = np.flatnonzero(owner == p)
        b = rows[int(np.argmax(mm.best[rows]))]
        best[p] = b
    # verify every best point with the same rule as the verdicts (met, not just gap > 0)
    B = np.array([mm.u[best[p]] for p in range(len(sets))])
    # one run for the sample and best points: targets met and plausibility quantities
    P = np.vstack([U, B])
    met_all, measured = search_outcomes(search, P, quantities, all_targets)
    X = search.values(P)
    levels = point_levels(quantities, measured, search.names, X, refs, search.span)
    met = met_all[len(U):]
    gaps = clean_gaps(search.gaps(B))
    near = np.linalg.norm(P - search.u_base, axis=1)

    def plausibility(p: int, feasible: bool) -> dict:
        """The class of set ``p``: its most plausible point found that meets it, else unreachable."""
        cols = [search.ids.index(i) for i in sets[p]]
        if feasible:
            ok = np.flatnonzero(met_all[:, cols].all(axis=1))
            i = ok[np.lexsort((near[ok], levels[ok]))[0]]
        else:
            i = len(U) + p
        a = assess(quantities, {q: float(v[i]) for q, v in measured.items()}, search.names, X[i], refs, search.span)
        if not feasible:
            worst = min(cols, key=lambda c: gaps[p, c])
            a = unreachable(a, search.targets[worst], float(gap_to_value(search.targets[worst], gaps[p, worst])))
        out = a.to_dict()
        out["levers_at_point"] = {n: float(v) for n, v in zip(search.names, X[i])}
        return out

    def summary(p: int) -> dict:
        s = sets[p]
        cols = [search.ids.index(i) for i in s]
        x = search.values(B[p])[0]
        feasible = bool(met[p, cols].all())
        return {
            "targets": list(s),
            "feasible": feasible,
            "plausibility": plausibility(p, feasible),
            "best_min_gap": float(gaps[p, cols].min()),
            "gaps": {i: float(gaps[p, c]) for i, c in zip(s, cols)},
            "values": {i: float(gap_to_value(search.targets[c], gaps[p, c])) for i, c in zip(s, cols)},
            "binding": [i for i, c in zip(s, cols) if gaps[p, c] <= gaps[p, cols].min() + 1e-6],
            "levers": {n: float(v) for n, v in zip(search.names, x)},
            "all_gaps": {i: float(gaps[p, c]) for c, i in enumerate(search.ids)},
        }

    single_info = {s[0]: summary(p) for p, s in enumerate(sets) if len(s) == 1}
    rows = []
    for p, s in enumerate(sets):
        if len(s) > 2:
            continue
        a, b = (s[0], s[0]) if len(s) == 1 else s
        info = summary(p)
        ia, ib = search.ids.index(a), search.ids.index(b)
        row = {
            "a": a, "b": b, "feasible": info["feasible"], "best_min_gap": info["best_min_gap"],
            "class": info["plausibility"]["class"], "binding": info["plausibility"]["binding_text"],
            "gap_a": float(gaps[p, ia]), "gap_b": float(gaps[p, ib]),
            "value_a": float(gap_to_value(search.targets[ia], gaps[p, ia])),
            "value_b": float(gap_to_value(search.targets[ib], gaps[p, ib])),
        }
        row.update({f"lever: {n}": v for n, v in info["levers"].items()})
        rows.append(row)
    matrix = pd.DataFrame(rows)
    full = summary(sets.index(tuple(ids)))
    set_info = {str(item): summary(sets.index(tuple(s))) for item, s in section4.items()}
    base_ts = simulate(model, run_spec(model, base_scenario))
    initial = {v: float(base_ts[v].iloc[0]) for v in ("Above Scale Industrial Output", "GDP", "Tertiary Value Added",
                                                       "Secondary Share of GDP", "Retail Sales")
               if v in base_ts.columns}
    result = ConsistencyResult(
        ids=ids, matrix=matrix, full=full, sets=set_info, lines=[], search=search, base=base_path,
        base_name=base_scenario.name, seed=seed, samples=samples, starts=starts, members=search.members,
        initial_values=initial, not_measured=dropped,
    )
    result.singles = single_info
    result.lines = contradictions(result, targets=all_targets, section4=plan)
    result.seconds = _time.perf_counter() - started
    result.members = search.members
    return result


# --------------------------------------------------------------------------- docs/plan.md §4


def _pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f} %"


def _g(x: float) -> str:
    return f"{x:+.3f}"


def _held(s: dict) -> str:
    """``best min-gap +0.012 -> can hold together``: what the search found for one set of targets."""
    return f"best min-gap {_g(s['best_min_gap'])} -> {'can hold together' if s['feasible'] else 'cannot hold together'}"


def _fig(x: float) -> str:
    """A figure as the plan writes it: ``165``, ``52.5``."""
    return f"{x:g}"


def _rate(x: float) -> str:
    """A rate as the plan writes it: ``24.5 %``."""
    return f"{x * 100:g} %"


def _targets_by_id(result: ConsistencyResult, targets: Sequence[Target] | str | Path | None) -> dict[str, Target]:
    """Targets by id: the shipped file's, replaced by the study's, replaced by ``targets``."""
    out = {t.id: t for t in load_targets()}
    out.update({t.id: t for t in result.search.targets})
    if targets is not None:
        given = list(targets) if isinstance(targets, (list, tuple)) else load_targets(targets)
        out.update({t.id: t for t in given})
    return out


def contradictions(
    result: ConsistencyResult,
    *,
    targets: Sequence[Target] | str | Path | None = None,
    section4: dict | str | Path | None = None,
    history: str | Path | None = None,
) -> list[dict]:
    """One finding per item of docs/plan.md §4: ``{item, claim, kind, verdict, text}``.

    Items 1-2 are the plan's arithmetic; items 3-7 use the sets checked by the
    model (skipped, with a note, when their targets are not in the study).
    Every number comes from data: thresholds from the targets (the shipped
    file's, then the study's, then ``targets``), the plan's 2020 figures from
    ``history`` (default ``model/data/history.csv``) and the study's model
    (:func:`plan_2020`), the plan's other statements from the §4 data file
    ``section4`` (a path or a :func:`load_section4` dict; default
    :data:`SECTION4_FILE`).
    """
    plan = section4 if isinstance(section4, dict) else load_section4(section4)
    items = plan["items"]
    year = plan["plan_2020"]["year"]
    T = _targets_by_id(result, targets)
    P = plan_2020(plan, result.search.model, history)
    singles = result.singles

    def stated(item: int, name: str) -> float:
        return float(items[str(item)]["stated"][name]["value"])

    def claim(item: int, **values) -> str:
        return items[str(item)]["claim"].format(**values)

    def ids(item: int) -> list[str]:
        return list(items[str(item)]["targets"])

    def span(t: Target) -> int:
        """Years from the plan's 2020 figures to the target's year."""
        return t.year - year

    out = []
    # 1-2: arithmetic only
    t1, t21 = T["T1"], T["T21"]
    goal, out0, ch1 = t1.threshold, P["output"], P["output_ch1"]
    n1, n21 = span(t1), span(t21)
    r_from = (goal / out0) ** (1 / n1) - 1
    r_ch1 = (goal / ch1) ** (1 / n1) - 1
    r = stated(1, "output_growth")
    out.append({
        "item": 1, "kind": items["1"]["kind"], "targets": ids(1), "verdict": "confirmed",
        "claim": claim(1, output=out0, output_ch1=ch1),
        "text": (f"{_fig(ch1)} (Ch.1) and {_fig(out0)} (Ch.6) differ by {(out0 / ch1 - 1) * 100:.1f} %; {_fig(goal)} in "
                 f"{t1.year} needs {_pct(r_from, 2)}/yr from {_fig(out0)} but {_pct(r_ch1, 2)}/yr from {_fig(ch1)}; "
                 f"the plan's {_rate(r)}/yr fits {_fig(out0)} ({_fig(out0)} × {1 + r:g}^{n1} = "
                 f"{out0 * (1 + r) ** n1:.1f}), while from {_fig(ch1)} it gives {ch1 * (1 + r) ** n1:.1f}. The model "
                 f"uses {_fig(out0)}, the base the target was computed from."),
    })
    r = stated(2, "output_growth")
    multiple = stated(2, "output_multiple")
    ratio = goal / out0
    t21_rate = t21.threshold
    out.append({
        "item": 2, "kind": items["2"]["kind"], "targets": ids(2), "verdict": "confirmed",
        "claim": claim(2, output=out0, t1=goal, multiple=ratio, grows=ratio - 1, stated_grows=multiple - 1),
        "text": (f"{_fig(goal)} / {_fig(out0)} = {ratio:.2f}, i.e. 增长{ratio - 1:g}倍 (+{(ratio - 1) * 100:.0f} %), "
                 f"{_pct(r_from, 2)}/yr; '增长{multiple - 1:g}倍' is ×{multiple:g} = {out0 * multiple:.1f}, i.e. "
                 f"{_pct(multiple ** (1 / n1) - 1, 2)}/yr, which is the paragraph's other rate, +{_rate(t21_rate)}/yr "
                 f"for above-scale enterprises (T21: {_fig(out0)} × {1 + t21_rate:g}^{n21} = "
                 f"{out0 * (1 + t21_rate) ** n21:.1f}). The paragraph holds two self-consistent pairs: "
                 f"({_fig(goal)}, ×{ratio:g}, {_rate(r)}/yr) and (×{multiple:g} = {out0 * multiple:.1f}, "
                 f"{_rate(t21_rate)}/yr)."),
    })
    sets = result.sets

    def missing(item):
        out.append({"item": item, "kind": "model", "targets": ids(item), "verdict": "not checked",
                    "claim": "", "text": f"not checked: {', '.join(ids(item))} not all in this study"})

    # 3: T21 vs T1
    s = sets.get("3")
    if s is None:
        missing(3)
    else:
        base = P["output"]
        need = (goal / base) ** (1 / n1) - 1
        r = stated(3, "output_growth")
        out.append({
            "item": 3, "kind": "model", "targets": ids(3),
            "verdict": "not a contradiction as inequalities",
            "claim": claim(3, t21_pct=t21_rate * 100, stated_pct=r * 100),
            "text": (f"both are lower bounds on the same series ({t1.variable}, {base:.1f} in {year}): "
                     f"{_fig(goal)} in {t1.year} means {_pct(need, 2)}/yr >= {_rate(t21_rate)}/yr, so T1 implies T21 "
                     f"and they hold together whenever T1 does. Model: {_held(s)} (T1 {format_number(s['values']['T1'])}, "
                     f"T21 {format_number(s['values']['T21'], 'growth')} at that point). As point forecasts they differ: "
                     f"{_rate(t21_rate)}/yr gives {base * (1 + t21_rate) ** n21:.1f}, not {_fig(goal)}."),
        })
    # 4: T11 vs T12
    s = sets.get("4")
    if s is None:
        missing(4)
    else:
        base = P["retail"]
        t11, t12 = T["T11"], T["T12"]
        n11, n12 = span(t11), span(t12)
        floor = t12.threshold
        r = stated(4, "retail_growth")
        out.append({
            "item": 4, "kind": "model", "targets": ids(4),
            "verdict": "not a contradiction as inequalities",
            "claim": claim(4, t12_pct=floor * 100, stated_pct=r * 100, t11=t11.threshold),
            "text": (f"+{_rate(floor)}/yr 'or more' is a floor: {_fig(t11.threshold)} in {t11.year} means "
                     f"{_pct((t11.threshold / base) ** (1 / n11) - 1, 2)}/yr from {base:.1f}, which satisfies it, so "
                     f"T11 implies T12. Model: {_held(s)} (retail {format_number(s['values']['T11'])} in {t11.year} at "
                     f"that point). As point forecasts they differ: +{_rate(floor)}/yr gives "
                     f"{base * (1 + floor) ** n12:.1f}, +{_rate(r)}/yr {base * (1 + r) ** n11:.1f}."),
        })
    # 5: T10 vs T9B with T3
    s = sets.get("5")
    if s is None:
        missing(5)
    else:
        gdp0, ter0 = P["gdp"], P["tertiary"]
        t10, share, doubled = T["T10"], T["T9B"].threshold, T["T3"].threshold
        n10 = span(t10)
        ter25 = ter0 * (1 + t10.threshold) ** n10
        need_gdp = ter25 / share
        v = s["values"]
        out.append({
            "item": 5, "kind": "model", "targets": ids(5),
            "verdict": "refuted by the model" if s["feasible"] else "confirmed",
            "claim": claim(5, t10_pct=t10.threshold * 100, share_pct=ter25 / doubled * 100, t9b_pct=share * 100),
            "text": (f"T10 and T9B with T3: {_held(s)} (at that point tertiary "
                     f"{format_number(v['T10'], 'growth')}, services share {_pct(v['T9B'])}, GDP {v['T3']:.1f}; binding: "
                     f"{', '.join(s['binding'])}). Arithmetic: tertiary +{_rate(t10.threshold)}/yr gives {ter25:.1f} in "
                     f"{t10.year}, {_pct(ter25 / doubled)} of a doubled GDP ({doubled:.2f}); with a {_rate(share)} share "
                     f"it needs GDP >= {need_gdp:.1f} (×{need_gdp / gdp0:.2f}, {_pct((need_gdp / gdp0) ** (1 / n10) - 1)}"
                     f"/yr), and with GDP exactly doubled and a {_rate(share)} share tertiary grows only "
                     f"{_pct((share * doubled / ter0) ** (1 / n10) - 1)}/yr." + _alone(singles, ids(5))),
        })
    # 6: T9 vs T2 with T3
    s = sets.get("6")
    if s is None:
        missing(6)
    else:
        gdp0, doubled = P["gdp"], T["T3"].threshold
        t9, t2 = T["T9"], T["T2"]
        n9, n2 = span(t9), span(t2)
        sec0 = P["secondary_share"] * gdp0
        sec25 = t9.threshold * doubled
        need = (sec25 / sec0) ** (1 / n9) - 1
        v = s["values"]
        out.append({
            "item": 6, "kind": "model", "targets": ids(6),
            "verdict": "refuted by the model" if s["feasible"] else "confirmed",
            "claim": claim(6, t9_pct=t9.threshold * 100, need_pct=need * 100, t2_pct=t2.threshold * 100),
            "text": (f"T9 and T2 with T3: {_held(s)} (at that point secondary share "
                     f"{_pct(v['T9'])}, industrial value added {format_number(v['T2'], 'growth')}, GDP {v['T3']:.1f}; "
                     f"binding: {', '.join(s['binding'])}). Arithmetic: {_rate(t9.threshold)} of a doubled GDP is "
                     f"{sec25:.1f} from {sec0:.1f}, secondary {_pct(need)}/yr; T2's +{_rate(t2.threshold)}/yr is a "
                     f"floor, so as inequalities the three fit if secondary grows that fast, but at "
                     f"+{_rate(t2.threshold)}/yr the secondary share of a doubled GDP stays "
                     f"{_pct(sec0 * (1 + t2.threshold) ** n2 / doubled)}." + _alone(singles, ids(6))),
        })
    # 7: T8 vs T6
    s, s2 = sets.get("7"), sets.get("7b")
    if s is None:
        missing(7)
    else:
        v = s["values"]
        point = -T["T8"].threshold * 100
        two = ""
        if s2 is not None:
            two = (f" Read two-sided (|income growth - GDP growth| <= {point:g} point, T8 and its upper side T8U) with "
                   f"T6: {_held(s2)} "
                   f"(T8 {format_number(s2['values']['T8'], 'growth_vs')}, T6 {format_number(s2['values']['T6'], 'growth')}).")
        why = ""
        if "T6" in singles and "T8" in search_ids(result):
            t8 = next(t for t in result.search.targets if t.id == "T8")
            t6 = next(t for t in result.search.targets if t.id == "T6")
            at = singles["T6"]["all_gaps"]
            why = (f" Where T6 is best met alone (nominal income {format_number(gap_to_value(t6, at['T6']), 'growth')}), "
                   f"T8 is {format_number(gap_to_value(t8, at['T8']), 'growth_vs')}: in the model the levers that raise "
                   "income raise real GDP faster still.")
        verdict = "not a contradiction as inequalities" if s["feasible"] else "confirmed"
        if s["feasible"] and s2 is not None:
            verdict += "; " + ("refuted by the model when read two-sided" if s2["feasible"]
                               else "confirmed when read two-sided")
        out.append({
            "item": 7, "kind": "model", "targets": ids(7) + (["T8U"] if s2 is not None else []),
            "verdict": verdict,
            "claim": claim(7, t6_pct=T["T6"].threshold * 100),
            "text": (f"T8 as encoded is a floor (real income growth >= real GDP growth - {point:g} point). T6 and T8: "
                     f"{_held(s)} "
                     f"(T6 {format_number(v['T6'], 'growth')}, T8 {format_number(v['T8'], 'growth_vs')})." + why + two),
        })
    return out


def search_ids(result: ConsistencyResult) -> list[str]:
    return list(result.search.ids)


def _alone(singles: dict, ids: Sequence[str]) -> str:
    parts = [f"{i} {_g(singles[i]['best_min_gap'])}" for i in ids if i in singles]
    return f" Each alone, best gap: {', '.join(parts)}." if parts else ""


# --------------------------------------------------------------------------- output


def plot_matrix(result: ConsistencyResult) -> bytes:
    """PNG of the pair matrix: green feasible, red infeasible, each cell annotated with its best min-gap.

    The diagonal is each target alone (can it be met at all inside the ranges).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    ids = result.ids
    n = len(ids)
    feas = np.zeros((n, n))
    gap = np.full((n, n), np.nan)
    pos = {i: k for k, i in enumerate(ids)}
    for r in result.matrix.to_dict("records"):
        a, b = pos[r["a"]], pos[r["b"]]
        feas[a, b] = feas[b, a] = 1.0 if r["feasible"] else 0.0
        gap[a, b] = gap[b, a] = r["best_min_gap"]
    size = max(5.0, 0.42 * n + 2.0)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(feas, cmap=ListedColormap(["#d9534f", "#5cb85c"]), vmin=0, vmax=1)
    fontsize = 7 if n <= 12 else (5.5 if n <= 22 else 4)
    for a in range(n):
        for b in range(n):
            if math.isfinite(gap[a, b]):
                g = gap[a, b]
                text = f"{g:+.3f}" if abs(g) < 0.01 else (f"{g:+.2f}" if abs(g) < 10 else f"{g:+.0f}")
                ax.text(b, a, text, ha="center", va="center", fontsize=fontsize,
                        color="black", fontweight="bold" if a == b else "normal")
    for k in range(n):
        ax.add_patch(_square(k))
    ax.set_xticks(range(n), ids, rotation=90)
    ax.set_yticks(range(n), ids)
    ax.tick_params(labelsize=8)
    pairs = result.pairs()
    ax.set_title(f"Can two targets be met together inside the lever ranges? (green yes, red no)\n"
                 f"{int(pairs['feasible'].sum())} of {len(pairs)} pairs feasible; cells: best worst normalised gap; "
                 f"diagonal (framed): the target alone; base {result.base_name}", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def _square(k: int):
    from matplotlib.patches import Rectangle

    return Rectangle((k - 0.5, k - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.2)


def write_consistency(result: ConsistencyResult, out: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write ``matrix.csv`` (pairs and singles, long), ``min_gap_matrix.csv`` (square), ``matrix.png``,
    ``section4.csv``, ``consistency.json`` and ``manifest.json`` into ``out`` (atomically)."""
    manifest = build_manifest(list(command) if command is not None else sys.argv, result.search.model.path,
                              result.search.base.resolved_dict() if result.search.base is not None else None,
                              seed=result.seed,
                              extra={"base_scenario": str(result.base), "targets": result.ids,
                                     "levers": result.search.names, "samples": result.samples, "starts": result.starts,
                                     "seconds": result.seconds, "runs": result.members})
    finish_manifest(manifest, "complete")
    files = {
        "matrix.csv": result.matrix,
        "min_gap_matrix.csv": result.square(),
        "matrix.png": plot_matrix(result),
        "section4.csv": pd.DataFrame([{k: (" ".join(v) if isinstance(v, list) else v) for k, v in line.items()}
                                      for line in result.lines]),
        "consistency.json": to_json(result.to_dict()) + "\n",
    }
    return write_run(out, files, manifest)


def format_consistency(result: ConsistencyResult) -> str:
    """Plain-text summary for the command line."""
    d = result.to_dict()
    pairs = result.pairs()
    lines = [
        f"consistency of {len(result.ids)} targets from {result.base_name}; {result.search.k} levers searched "
        f"({result.samples} samples, {result.starts} starts per set, seed {result.seed})",
        f"pairs feasible: {d['feasible_pairs']} of {d['pairs']}",
        f"unreachable even alone: {' '.join(d['unreachable_alone']) or '-'}",
    ]
    bad = pairs.loc[~pairs["feasible"]].sort_values("best_min_gap")
    if len(bad):
        lines.append("infeasible pairs (best min-gap):")
        lines += [f"  {r.a} + {r.b}: {r.best_min_gap:+.3f}" for r in bad.itertuples()]
    full = result.full
    lines.append(f"full set of {len(result.ids)}: {'FEASIBLE' if full['feasible'] else 'infeasible'}, best min-gap "
                 f"{full['best_min_gap']:+.3f} (binding: {', '.join(full['binding'])})")
    fp = full["plausibility"]
    lines.append(f"plausibility of the full set: {fp['class']}; binding: {fp['binding_text']}")
    for which, label in (("singles", "targets alone"), ("pairs", "pairs")):
        counts = result.class_counts(which)
        lines.append(f"plausibility, {label}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    singles = result.matrix[result.matrix["a"] == result.matrix["b"]]
    lines += [f"  {r['a']}: {r['class']}; {r['binding']}" for r in singles.to_dict("records")]
    lines.append("")
    lines.append("docs/plan.md §4:")
    for line in result.lines:
        lines.append(f"  {line['item']}. [{line['verdict']}] {line['text']}")
    return "\n".join(lines)
