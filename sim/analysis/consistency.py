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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import qmc

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
from sim.analysis.contradictions import contradictions, load_section4, section4_sets, t8_upper
from sim.engine.results import build_manifest, finish_manifest, to_json, write_run
from sim.engine.run import run_spec, simulate
from sim.specs.scenario import load_scenario
from sim.plan.targets import Target, load_targets

__all__ = [
    "ConsistencyResult",
    "check_consistency",
    "format_consistency",
    "plot_matrix",
    "write_consistency",
    "DEFAULT_SAMPLES",
    "DEFAULT_STARTS",
]

DEFAULT_SAMPLES = 4096
DEFAULT_STARTS = 3


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
    extra = [t8_upper(t) for t in chosen if t.id == "T8"]
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
