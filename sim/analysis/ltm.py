"""Loops That Matter, part one: the causal graph of a model and its link scores along a run.

The graph is built from the intermediate representation that :mod:`sim.model.compiler`
makes of PySD's parse of the ``.mdl`` (the same parse the runner executes), so
it follows whatever model is loaded and names no variable of the district model.

**Nodes** are the model's variables by Vensim name. A stock is one node (its
INTEG and the variable holding it are merged); a SMOOTH, DELAY or TREND
written inside a longer equation is a node of its own, labelled
``"<variable> [SMOOTH]"``; the arguments of these functions (the net flow of a
stock, a smooth's input and time) are not nodes: their links are contracted
into the links that pass through them.

**Link scores** follow Schoenberg, Davidsen & Eberlein (2020), "Understanding
model behavior using the Loops that Matter method", System Dynamics Review
36(2). For a link x -> z between time steps t-dt and t::

    LS(x -> z) = |Δz_x / Δz| · sign(Δz_x / Δx)      (0 where Δz = 0 or Δx = 0)

where Δz_x is the change z would have made had x alone changed: z's equation
is re-evaluated with x at time t and every other input at t-dt. The link from
a flow to its stock is scored through the stock's net flow, so it is
``±|Δflow / Δnet flow|`` (+ for an inflow, - for an outflow): the revised
flow-to-stock score of Stella's LTM, which measures the change in a flow
relative to the change in the net flow. The net flow's own link into its
stock is 1. A first-order SMOOTH is a stock whose net flow is
``(input - state) / smoothing time``, scored the same way (its state's link to
itself is the smooth's minor balancing loop). Higher-order smooths, delays and
trends pass a change on: their link from input to output is +1 and their
internal loops are not scored.

Every equation is re-evaluated with the runner's own generated numpy code,
vectorised over all time steps at once, from one trajectory in which every
node was saved at every time step (:func:`trajectory`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ModelError

#: Prefix of the column names under which the hidden nodes (statefuls' arguments and
#: outputs) are saved by :func:`trajectory`; no Vensim name can contain it.
_HIDDEN = "\x00"
#: Relative size of the rise of a source when probing a link's sign (:func:`link_scores` with ``probe``).
_PROBE = 1e-6
#: Stateful kinds whose input-to-output link is scored as a plain pass-through (+1).
_PASS_KINDS = {"delay", "trend", "smooth"}


@dataclass
class CausalGraph:
    """The causal graph of a model, at the level of its variables.

    ``nodes`` maps a label (a Vensim name, or ``"<variable> [SMOOTH]"`` for an
    inline stateful) to its kind: ``"stock"``, ``"smooth"``, ``"delay"``,
    ``"trend"``, ``"flow"`` (feeds a stock's net flow) or ``"aux"``.
    ``edges`` maps ``(from, to)`` to the chains of internal links it stands
    for: each chain is a list of ``(x, z, how)`` over the compiler's node
    variables, ``how`` one of ``"eq"`` (z's equation uses x), ``"integ"``,
    ``"smooth_in"``, ``"smooth_time"``, ``"smooth_self"``, ``"pass"``.
    """

    nodes: dict[str, str]
    edges: dict[tuple[str, str], list[list[tuple[str, str, str]]]]
    label_of: dict[str, str] = field(repr=False)
    ir: dict = field(repr=False)

    def successors(self, label: str) -> list[str]:
        return sorted(w for (u, w) in self.edges if u == label)

    def predecessors(self, label: str) -> list[str]:
        return sorted(u for (u, w) in self.edges if w == label)

    @property
    def stocks(self) -> list[str]:
        """The nodes that hold state (stocks and first-order smooths): every loop passes one."""
        return [n for n, k in self.nodes.items() if k in ("stock", "smooth", "delay", "trend")]


def _stateful_edges(nodes: dict, statefuls: list) -> list[tuple[str, str, str]]:
    """Internal links into each stateful object's output node ``o<j>``."""
    out = []
    for j, st in enumerate(statefuls):
        o = f"o{j}"
        if o not in nodes:
            continue
        if st["kind"] == "integ":
            out.append((f"a{j}_flow", o, "integ"))
        elif st["kind"] == "smooth" and st["order"] == 1:
            out += [(f"a{j}_in", o, "smooth_in"), (f"a{j}_time", o, "smooth_time"), (o, o, "smooth_self")]
        elif st["kind"] in _PASS_KINDS:
            out.append((f"a{j}_in", o, "pass"))
    return [(x, z, how) for x, z, how in out if x in nodes]


def causal_graph(ir: dict) -> CausalGraph:
    """The causal graph of the model whose compiled representation is ``ir``."""
    nodes = {n["var"]: n for n in ir["nodes"]}
    statefuls = ir["statefuls"]
    label_of: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    merged: set[str] = set()  # named nodes whose equation is exactly one stateful output
    for var, n in nodes.items():
        if n["name"] is not None:
            label_of[var] = n["name"]
            kinds[n["name"]] = "aux"
    for var, n in nodes.items():
        if n["name"] is not None and n["deps"] == [n["v"]] and nodes.get(n["v"], {}).get("state") is not None:
            o = n["v"]
            label_of[o] = n["name"]
            kind = statefuls[nodes[o]["state"]]["kind"]
            kinds[n["name"]] = "stock" if kind == "integ" else kind
            merged.add(var)
    for var, n in nodes.items():
        if var not in label_of and n["state"] is not None:
            st = statefuls[n["state"]]
            if st["kind"] == "initial":
                label_of[var] = None  # fixed after initialisation: no dynamic links
                continue
            label = f"{st['element']} [{st['kind'].upper()}]"
            label_of[var] = label
            kinds[label] = st["kind"]
        label_of.setdefault(var, None)

    internal = [(d, z, "eq") for z, n in nodes.items() if n["state"] is None for d in n["deps"] if d in nodes]
    internal += _stateful_edges(nodes, statefuls)
    outgoing: dict[str, list] = {}
    for x, z, how in internal:
        outgoing.setdefault(x, []).append((x, z, how))

    edges: dict[tuple[str, str], list] = {}
    for x, z, how in internal:
        if label_of[x] is None or (z in merged and how == "eq"):
            continue
        chains = [[(x, z, how)]] if label_of[z] is not None else [
            [(x, z, how), nxt] for nxt in outgoing.get(z, []) if label_of[nxt[1]] is not None]
        for chain in chains:
            end = chain[-1][1]
            edges.setdefault((label_of[x], label_of[end]), []).append(chain)
            if chain[-1][2] == "integ" and kinds.get(label_of[x]) == "aux":
                kinds[label_of[x]] = "flow"
    used = {u for u, _ in edges} | {w for _, w in edges}
    return CausalGraph({k: v for k, v in kinds.items() if k in used}, edges,
                       {k: v for k, v in label_of.items() if v is not None}, ir)


def trajectory(compiled, params: dict | None = None, final_time: float | None = None,
               time_step: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every node of the compiled model at every Euler step: ``(times, {node var: values})``.

    The same runner as every other command (:class:`sim.model.compiler.CompiledModel`),
    on a copy of its representation that saves each time step and keeps the
    hidden nodes (statefuls' arguments and outputs) as columns.
    """
    from sim.model.compiler import CompiledModel

    ir = copy.deepcopy(compiled.ir)
    ir["control"]["saveper"] = ["ref", "time_step"]
    named = {v["var"] for v in ir["variables"]}
    ir["variables"] += [{"name": _HIDDEN + n["var"], "var": n["var"]} for n in ir["nodes"] if n["var"] not in named]
    runner = CompiledModel(ir, path=compiled.path, sha256=compiled.sha256)
    runner.exact_power = compiled.exact_power
    columns = {v["name"]: v["var"] for v in ir["variables"]}
    result = runner.run(params=params, n=1, return_columns=list(columns), final_time=final_time, time_step=time_step)
    values = {var: result.values[name][0] for name, var in columns.items()}
    return runner.step_times(final_time, time_step), values


def _environment(compiled, params: dict, times: np.ndarray, time_step: float) -> dict:
    """Names the generated vector code needs, with constants and Time held at the earlier step."""
    env = compiled.vector_namespace()
    by_name = {c["name"]: c["var"] for c in compiled.ir["constants"]}
    for c in compiled.ir["constants"]:
        env[c["var"]] = np.float64(c["value"])
    for name, value in (params or {}).items():
        if name not in by_name:
            raise ModelError(f"{name!r} is not a constant of the model")
        arr = np.asarray(value, dtype=float)
        env[by_name[name]] = arr[:-1] if arr.ndim == 1 else np.float64(arr)
    env.update(t=times[:-1], _dt=np.float64(time_step), _t0=np.float64(compiled.initial_time),
               _tf=np.float64(times[-1]), _sp=np.float64(time_step))
    return env


def _score(partial: np.ndarray, dz: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``|partial / dz| · sign(partial / dx)``, 0 where dz or dx is 0 (or not finite)."""
    with np.errstate(all="ignore"):
        ls = np.abs(partial / dz) * np.sign(partial / dx)
    ok = (dz != 0) & (dx != 0) & np.isfinite(ls)
    return np.where(ok, ls, 0.0)


def link_scores(graph: CausalGraph, compiled, times: np.ndarray, values: dict, params: dict | None = None,
                probe: bool = False) -> dict[tuple[str, str], np.ndarray]:
    """LTM link score of every edge of ``graph`` at each step ``times[1:]``, shape ``(S-1,)``.

    ``values`` is the trajectory of :func:`trajectory` for the same ``params``.
    With ``probe``, the sign of each link instead: how its target responds to a
    small rise (one part in a million) of its source at the earlier step, every
    other input held; it is defined where the run does not move the source too.
    """
    nodes = {n["var"]: n for n in graph.ir["nodes"]}
    dt = float(times[1] - times[0]) if len(times) > 1 else 1.0
    env = _environment(compiled, params or {}, times, dt)
    prev = {v: a[:-1] for v, a in values.items()}
    delta = {v: a[1:] - a[:-1] for v, a in values.items()}
    code_cache: dict[str, object] = {}
    memo: dict[tuple[str, str, str], np.ndarray] = {}

    def equation(z: str, x: str) -> np.ndarray:
        node = nodes[z]
        code = code_cache.get(z)
        if code is None:
            code = code_cache[z] = compile(node["v"], f"<ltm {node['name'] or z}>", "eval")
        local = {d: prev[d] for d in node["deps"] if d in prev}
        with np.errstate(all="ignore"):
            if probe:
                base = np.broadcast_to(eval(code, env, local), delta[z].shape)  # noqa: S307
                local[x] = prev[x] + _PROBE * np.maximum(np.abs(prev[x]), 1.0)
                return np.nan_to_num(np.sign(np.broadcast_to(eval(code, env, local), base.shape) - base))  # noqa: S307
            local[x] = values[x][1:]
            partial = np.broadcast_to(eval(code, env, local), delta[z].shape) - prev[z]  # noqa: S307
        return _score(partial, delta[z], delta[x])

    def smooth(x: str, z: str, how: str) -> np.ndarray:
        j = nodes[z]["state"]
        inp, tau, s = values[f"a{j}_in"], values[f"a{j}_time"], values[z]
        if probe:  # d flow / d input = 1/T, d flow / d state = -1/T, d flow / d T = -(input - state)/T²
            return {"smooth_in": np.sign(tau[:-1]), "smooth_self": -np.sign(tau[:-1]),
                    "smooth_time": -np.sign(inp[:-1] - s[:-1])}[how]
        with np.errstate(all="ignore"):
            f = (inp - s) / tau
            moved = {"smooth_in": (inp[1:], s[:-1], tau[:-1]), "smooth_time": (inp[:-1], s[:-1], tau[1:]),
                     "smooth_self": (inp[:-1], s[1:], tau[:-1])}[how]
            partial = (moved[0] - moved[1]) / moved[2] - f[:-1]
        return _score(partial, f[1:] - f[:-1], delta[x])

    def internal(x: str, z: str, how: str) -> np.ndarray:
        key = (x, z, how)
        if key not in memo:
            if how == "eq":
                memo[key] = equation(z, x)
            elif how.startswith("smooth"):
                memo[key] = smooth(x, z, how)
            else:  # "integ" (net flow into its stock) and "pass"
                memo[key] = np.ones(len(times) - 1)
        return memo[key]

    scores = {}
    for edge, chains in graph.edges.items():
        total = np.zeros(len(times) - 1)
        for chain in chains:
            part = np.ones(len(times) - 1)
            for x, z, how in chain:
                part = part * internal(x, z, how)
            total = total + part
        scores[edge] = total
    return scores
