"""Code generation: one Python function per run configuration, assembled from the intermediate representation.

A :class:`Plan` says what the function computes (scalar or vector code, which
constants are time series, which columns are kept); :class:`Generator`
writes it -- initialisation, then a loop of Euler steps -- with every line
commented with its Vensim name (``CompiledModel.source()`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """What one generated function computes: mode, time-series constants, kept columns."""

    scalar: bool
    series: frozenset
    outputs: tuple
    exact_power: bool = True


class Generator:
    """Assembles the simulation function for one :class:`Plan` from the IR."""

    def __init__(self, ir: dict, plan: Plan):
        self.ir, self.plan = ir, plan
        self.nodes = {n["var"]: n for n in ir["nodes"]}
        self.statefuls = ir["statefuls"]
        self.names = {v["name"]: v["var"] for v in ir["variables"]}

    def _dynamic(self) -> dict:
        """Which nodes change during a run (depend on Time, a series, or a dynamic state)."""
        dyn = {}
        for var in self.ir["step_order"]:
            node = self.nodes[var]
            state = node["state"]
            dyn[var] = (
                (state is not None and self.statefuls[state]["dynamic"])
                or any(d == "t" or d in self.plan.series or dyn.get(d, False) for d in node["deps"])
            )
        return dyn

    def _closure(self, start, with_updates: bool) -> tuple[set, set]:
        """Nodes (and stateful objects) needed to compute ``start``; with their updates if asked."""
        nodes, states, todo = set(), set(), list(start)
        while todo:
            var = todo.pop()
            if var in nodes or var not in self.nodes:
                continue
            nodes.add(var)
            todo.extend(self.nodes[var]["deps"])
            j = self.nodes[var]["state"]
            if j is not None and j not in states:
                states.add(j)
                if with_updates:
                    todo.extend(self.statefuls[j]["upd_deps"])
        return nodes, states

    def build(self) -> tuple[str, list, list]:
        """Source of ``_simulate``, and the kept columns it computes per step and once per run."""
        sets = self._partition()
        lines = ["def _simulate(_C, _TS, _times, _save, _ns, _N, _dt, _t0, _tf, _sp, _flags):"]
        lines += self._prologue(sets)
        lines += self._loop(sets)
        lines += self._epilogue(sets)
        names = {v: n for n, v in self.names.items()}
        per_step = [names[v] for _, v in sets["dyn_out"]]
        per_run = [names[v] for _, v in sets["inv_out"]]
        return "\n".join(lines) + "\n", per_step, per_run

    def _partition(self) -> dict:
        """Which nodes to compute where: initialisation, once, every step, or only when saving."""
        dyn = self._dynamic()
        out_vars = [self.names[name] for name in self.plan.outputs]
        needed, needed_states = self._closure(out_vars, with_updates=True)
        core, _ = self._closure([d for j in needed_states for d in self.statefuls[j]["upd_deps"]], True)
        init_items = self._init_items(needed_states)
        init_nodes = {i for i in init_items if not i.startswith("S")}
        order = [v for v in self.ir["step_order"] if v in needed]
        consts = {c["var"] for c in self.ir["constants"]}
        used = set(out_vars) | {d for v in needed | init_nodes for d in self.nodes[v]["deps"]}
        varies = lambda var: dyn.get(var, False) or var in self.plan.series  # noqa: E731
        return {
            "consts": sorted(used & consts),
            "init": init_items,
            "hoisted": [v for v in order if not dyn[v] and v not in init_nodes],
            "core": [v for v in order if dyn[v] and v in core],        # needed by the Euler updates
            "report": [v for v in order if dyn[v] and v not in core],  # only needed when saving
            "states": sorted(j for j in needed_states if self.statefuls[j]["dynamic"]),
            "dyn_out": [(i, v) for i, v in enumerate(out_vars) if varies(v)],
            "inv_out": [(i, v) for i, v in enumerate(out_vars) if not varies(v)],
        }

    def _prologue(self, sets: dict) -> list[str]:
        """Constants, initialisation of the stateful objects, values fixed for the run."""
        out = []
        for c in sets["consts"]:
            if c in self.plan.series:
                out += [f"    _ts{c} = _TS[{c!r}]", f"    {c} = _ts{c}[0]"]
            else:
                out.append(f"    {c} = _C[{c!r}]")
        out += ["    t = _times[0]", "    # initialisation"]
        for item in sets["init"]:
            if item.startswith("S"):
                j = int(item[1:])
                out += ["    " + line for line in self.statefuls[j]["init"]]
                if self.statefuls[j].get("int_init") is not None:
                    out.append(f"    _ti{j} = _flags[{j}]")
            else:
                out.append(self._assign(item, 1))
        out.append("    # invariant during the run")
        out += [self._assign(v, 1) for v in sets["hoisted"]]
        if self.plan.scalar:
            out.append("    _R = []")
        else:
            out += [f"    _O = _np.empty(({len(self.plan.outputs)}, _ns, _N))", "    _j = 0"]
        return out

    def _loop(self, sets: dict) -> list[str]:
        """The Euler loop: values at time t, saving, then the state updates."""
        out = ["    _last = len(_times) - 1", "    for _k in range(len(_times)):", "        t = _times[_k]"]
        out += [f"        {c} = _ts{c}[_k]" for c in sets["consts"] if c in self.plan.series]
        out += [self._assign(v, 2) for v in sets["core"]]
        out.append("        if _save[_k]:")
        out += [self._assign(v, 3) for v in sets["report"]]
        if self.plan.scalar:
            out.append(f"            _R.append(({''.join(v + ', ' for _, v in sets['dyn_out'])}))")
        else:
            out += [f"            _O[{i}, _j] = {v}" for i, v in sets["dyn_out"]]
            out.append("            _j += 1")
        out += ["        if _k == _last:", "            break"]
        for j in sets["states"]:
            out.append(f"        # update {self.statefuls[j]['element']}")
            out += ["        " + line for line in self.statefuls[j]["upd"]]
        return out

    def _epilogue(self, sets: dict) -> list[str]:
        """Return the saved values; columns fixed for the run are filled once."""
        if self.plan.scalar:
            return [f"    return _R, ({''.join(v + ', ' for _, v in sets['inv_out'])})"]
        return [f"    _O[{i}] = {v}" for i, v in sets["inv_out"]] + ["    return _O"]

    def _init_items(self, needed_states: set) -> list[str]:
        """Initialisation items (nodes and ``S<j>``) needed by the stateful objects in use."""
        want, todo = set(), [f"S{j}" for j in needed_states]
        while todo:
            item = todo.pop()
            if item in want:
                continue
            want.add(item)
            if item.startswith("S"):
                todo.extend(self.statefuls[int(item[1:])]["init_deps"])
            elif item in self.nodes:
                node = self.nodes[item]
                todo.extend(d for d in node["deps"] if d in self.nodes)
                if node["state"] is not None:
                    todo.append(f"S{node['state']}")
        return [i for i in self.ir["init_order"] if i in want]

    def _assign(self, var: str, depth: int) -> str:
        """One line ``var = expression`` of the plan's flavour, commented with the Vensim name."""
        node = self.nodes[var]
        comment = f"  # {node['name']}" if node["name"] else ""
        return f"{'    ' * depth}{var} = {node['s' if self.plan.scalar else 'v']}{comment}"
