"""Loops That Matter, part two: the feedback loops of a model and which of them dominate when.

Loops are found in the causal graph of :mod:`sim.analysis.ltm`. All elementary cycles
are enumerated (Johnson's algorithm, ``networkx.simple_cycles``) while there
are at most ``max_loops`` of them; past that bound the enumeration stops and
the *strongest-path* search of Eberlein & Schoenberg (2020), "Finding the
loops that matter", is used instead: at a time step and from each stock it
follows links in order of decreasing |link score|, keeps the strongest path
found so far into each variable and drops a path that arrives weaker, and
records the loops that close on the stock. The loops found this way are those
that carry the most score at some time of the run (the search runs at
:data:`SEARCHES` evenly spaced steps).

A loop's **score** at a time step is the product of its links' scores; its
**relative score** for a variable is its score divided by the sum of the
absolute scores of the loops through that variable (Schoenberg, Davidsen &
Eberlein 2020). A loop's **polarity** is the sign its score has at most of the
steps where it is not zero (``"+"`` reinforcing, ``"-"`` balancing); for a loop
that never acts in the run, the sign of the product of its links' signs
(:func:`sim.analysis.ltm.link_scores` with ``probe``), ``"0"`` when even those are zero. A loop's **id** is ``L`` and six hex
digits of the SHA-1 of its variables in canonical order (the rotation that
starts at the smallest name), so ids do not change between runs or scenarios.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.analysis.ltm import CausalGraph, causal_graph, link_scores, trajectory

#: Default bound on the number of loops enumerated before the strongest-path search takes over.
MAX_LOOPS = 2000
#: Time steps at which the strongest-path search runs (evenly spaced; each search costs about
#: 35 ms on the district model, and the loops that matter persist over many steps).
SEARCHES = 64
#: Default shortest phase [model time units] reported in the dominance text; shorter spells merge into a neighbour.
MIN_PHASE = 1.0


@dataclass(frozen=True)
class Loop:
    """A feedback loop: its stable id, variables in causal order (the first is the smallest name)."""

    id: str
    variables: tuple[str, ...]

    @property
    def path(self) -> str:
        """``A → B → C → A``."""
        return " → ".join(self.variables + self.variables[:1])

    @property
    def edges(self) -> list[tuple[str, str]]:
        vs = self.variables
        return [(vs[i], vs[(i + 1) % len(vs)]) for i in range(len(vs))]


def make_loop(cycle) -> Loop:
    """A :class:`Loop` from a cycle given in causal order, starting anywhere."""
    cycle = list(cycle)
    k = cycle.index(min(cycle))
    variables = tuple(cycle[k:] + cycle[:k])
    digest = hashlib.sha1("\u2192".join(variables).encode("utf-8")).hexdigest()[:6]
    return Loop(f"L{digest}", variables)


@dataclass
class LoopAnalysis:
    """Loops of one run with their scores.

    ``scores``: loop score by time (index ``time``, one column per loop id);
    ``polarity``: loop id -> ``"+" | "-" | "0"``; ``method``: ``"enumeration"``
    or ``"strongest-path"``; ``links``: the link scores used.
    """

    graph: CausalGraph
    loops: dict[str, Loop]
    scores: pd.DataFrame
    polarity: dict[str, str]
    method: str
    links: dict[tuple[str, str], np.ndarray]
    signs: dict[tuple[str, str], np.ndarray]

    def through(self, variable: str) -> list[str]:
        """Ids of the loops that pass through ``variable``."""
        return [i for i, lp in self.loops.items() if variable in lp.variables]

    def drivers(self, variable: str) -> list[str]:
        """Ids of the loops that drive ``variable``: those through it or, for a variable on no
        loop (an output such as a target's variable), those through its nearest causes that
        are on a loop (the first level, going back link by link, where any cause is)."""
        if variable not in self.graph.nodes:
            raise InputError(f"{variable!r} is not a variable of the model's causal graph")
        seen, level = {variable}, [variable]
        while level:
            ids = [i for i, lp in self.loops.items() if any(v in lp.variables for v in level)]
            if ids:
                return ids
            level = sorted({u for v in level for u in self.graph.predecessors(v)} - seen)
            seen.update(level)
        return []

    def relative(self, variable: str) -> pd.DataFrame:
        """Relative loop scores of the loops that drive ``variable`` (:meth:`drivers`); at each
        time their absolute values sum to 1 (or all are 0)."""
        ids = self.drivers(variable)
        sub = self.scores[ids]
        total = sub.abs().sum(axis=1)
        return sub.div(total.where(total > 0), axis=0).fillna(0.0)

    def strength(self) -> pd.Series:
        """Each loop's largest |relative score| over all loops, over the run (for ranking)."""
        total = self.scores.abs().sum(axis=1)
        rel = self.scores.abs().div(total.where(total > 0), axis=0).fillna(0.0)
        return rel.max().sort_values(ascending=False)


def enumerate_loops(graph: CausalGraph, max_loops: int = MAX_LOOPS) -> list[Loop] | None:
    """All elementary loops of ``graph``, or None when there are more than ``max_loops``."""
    import networkx as nx

    g = nx.DiGraph(list(graph.edges))
    found = []
    for cycle in nx.simple_cycles(g):
        if len(found) == max_loops:
            return None
        found.append(make_loop(cycle))
    return found


def strongest_loops(graph: CausalGraph, links: dict[tuple[str, str], np.ndarray],
                    searches: int = SEARCHES) -> list[Loop]:
    """Loops found by the strongest-path search (Eberlein & Schoenberg 2020) at ``searches``
    evenly spaced time steps (every step when the run has fewer)."""
    found: dict[str, Loop] = {}
    steps = len(next(iter(links.values()))) if links else 0
    starts = graph.stocks
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(graph.nodes) + 100))
    try:
        for k in sorted(set(np.linspace(0, steps - 1, min(steps, searches)).round().astype(int))):
            adj: dict[str, list[tuple[str, float]]] = {}
            for (u, w), ls in links.items():
                if ls[k] != 0:
                    adj.setdefault(u, []).append((w, abs(float(ls[k]))))
            for u in adj:
                adj[u].sort(key=lambda e: -e[1])
            for start in starts:
                for cycle in _search(adj, start):
                    lp = make_loop(cycle)
                    found.setdefault(lp.id, lp)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found.values(), key=lambda lp: lp.id)


def _search(adj: dict, start: str) -> list[list[str]]:
    """Loops through ``start`` along the strongest paths (depth first, pruned by the best score per node)."""
    best: dict[str, float] = {}
    path, on_path, loops = [start], {start}, []

    def visit(u: str, score: float) -> None:
        for w, s in adj.get(u, ()):
            reach = score * s
            if w == start:
                loops.append(list(path))
            elif w not in on_path and reach > best.get(w, 0.0):
                best[w] = reach
                path.append(w)
                on_path.add(w)
                visit(w, reach)
                path.pop()
                on_path.discard(w)

    visit(start, 1.0)
    return loops


def loop_scores(loops: list[Loop], links: dict, index: pd.Index) -> pd.DataFrame:
    """Score of each loop at the times ``index`` of the link scores: the product of its link scores."""
    data = {}
    for lp in loops:
        score = np.ones(len(index))
        for edge in lp.edges:
            score = score * links[edge]
        data[lp.id] = score
    return pd.DataFrame(data, index=index, columns=[lp.id for lp in loops])


def polarity(score: pd.Series) -> str:
    """``"+"``, ``"-"`` or ``"0"``: the sign of the score at most steps where it is not zero."""
    values = score.to_numpy()
    pos, neg = int((values > 0).sum()), int((values < 0).sum())
    if pos == neg == 0:
        return "0"
    return "+" if pos >= neg else "-"


def analyse(compiled, params: dict | None = None, final_time: float | None = None,
            time_step: float | None = None, max_loops: int = MAX_LOOPS) -> LoopAnalysis:
    """Loops, their scores and polarities along one run of ``compiled`` with ``params``."""
    graph = causal_graph(compiled.ir)
    times, values = trajectory(compiled, params, final_time, time_step)
    links = link_scores(graph, compiled, times, values, params)
    signs = link_scores(graph, compiled, times, values, params, probe=True)
    loops = enumerate_loops(graph, max_loops)
    method = "enumeration"
    if loops is None:
        loops, method = strongest_loops(graph, links), "strongest-path"
    scores = loop_scores(loops, links, pd.Index(np.round(times[1:], 9), name="time"))
    return LoopAnalysis(graph, {lp.id: lp for lp in loops}, scores,
                        {lp.id: loop_polarity(lp, scores[lp.id], signs) for lp in loops}, method, links, signs)


def loop_polarity(loop: Loop, score: pd.Series, signs: dict) -> str:
    """The loop's :func:`polarity` along the run; for a loop whose score is zero throughout
    (it never acts in this run), the polarity of the product of its links' signs."""
    sign = polarity(score)
    if sign != "0":
        return sign
    return polarity(loop_scores([loop], signs, score.index)[loop.id])


def phases(relative: pd.DataFrame, min_phase: float = MIN_PHASE) -> list[tuple[float, float, str, str]]:
    """Phases of a variable's behaviour: ``(start, end, polarity, loop id)``.

    A phase is a spell in which the loops of one polarity dominate: the sum of
    the relative scores keeps its sign (``"+"``: reinforcing loops hold more of
    the score than balancing ones; ``"-"``: the reverse; ``"0"``: no loop acts).
    A spell shorter than ``min_phase`` joins the phase before it (the first
    one, the phase after it). ``loop id`` is the loop of the phase's polarity
    with the largest mean relative score in the phase (:func:`leading`; '' when none).
    """
    if relative.empty:
        return []
    total = relative.sum(axis=1).to_numpy()
    signs = np.where(total > 0, "+", np.where(total < 0, "-", "0"))
    times = relative.index.to_numpy(dtype=float)
    spells: list[list] = []
    for k, sign in enumerate(signs):
        if spells and spells[-1][2] == sign:
            spells[-1][1] = k
        else:
            spells.append([k, k, sign])
    merged: list[list] = []
    for spell in spells:
        short = times[spell[1]] - times[spell[0]] < min_phase
        if merged and (short or merged[-1][2] == spell[2]):
            merged[-1][1] = spell[1]
        elif merged and times[merged[-1][1]] - times[merged[-1][0]] < min_phase and len(merged) == 1:
            merged[-1][1:] = [spell[1], spell[2]]  # a short first spell joins the phase after it
        else:
            merged.append(list(spell))
    out = []
    for first, last, sign in merged:
        top = leading(relative.iloc[first:last + 1], sign, 1)
        out.append((float(times[first]), float(times[last]), sign, top[0] if top else ""))
    return out


def leading(relative: pd.DataFrame, sign: str, n: int) -> list[str]:
    """The ``n`` loops with the largest mean relative score of polarity ``sign`` over ``relative``'s
    times (``"0"``: of either sign, by mean absolute score)."""
    mean = relative.mean()
    strength = mean if sign == "+" else (-mean if sign == "-" else relative.abs().mean())
    strength = strength[strength > 0].sort_values(ascending=False)
    return [str(i) for i in strength.index[:n]]


def scenario_analysis(scenario: str | Path | None, model_path: str | Path | None = None,
                      max_loops: int = MAX_LOOPS):
    """``(model, scenario or None, analysis)`` of one scenario run (``None``: the model's defaults)."""
    from sim.model.loader import load_model
    from sim.engine.run import run_spec
    from sim.specs.scenario import load_scenario

    model = load_model(model_path) if model_path else load_model()
    sc = load_scenario(scenario, model) if scenario else None
    spec = run_spec(model, sc)
    return model, sc, analyse(model.compiled, spec.params, spec.final_time, spec.time_step, max_loops)
