"""Translation: PySD's abstract model of a ``.mdl`` -> the compiler's intermediate representation (JSON-able).

PySD's own Vensim parser gives the syntax tree; :func:`translate` walks it
once and emits, for every variable, a Python expression in scalar and vector
flavours (:mod:`sim.model.functions`), the dependency graph and the stateful
objects (stocks, smooths, delays, trends, initials). Unsupported constructs
raise :class:`sim.errors.ModelError` naming the variable and the function.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import ModelError
from sim.model.functions import (ARITHMETIC, COMPARISONS, CONTROL, CONTROL_VARIABLES, HELPERS, NARY_FUNCTIONS,
                                 NUMPY_FUNCTIONS, T0_MARK, UNARY_FUNCTIONS)

#: Version of the intermediate representation's layout (part of the compile cache's key).
IR_FORMAT = 1

@dataclass(frozen=True)
class _Expr:
    """An emitted expression: scalar code, vector code, dependencies, and whether it is a truth value."""

    s: str
    v: str
    deps: frozenset
    kind: str = "num"

    @property
    def vnum(self) -> str:
        """Vector code usable in arithmetic (numpy booleans do not subtract or negate)."""
        return f"({self.v} * 1.0)" if self.kind == "bool" else self.v


def _literal(value) -> _Expr:
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        code = "_nan"
    elif isinstance(value, float) and math.isinf(value):
        code = "_inf" if value > 0 else "(-_inf)"
    else:
        code = repr(value)
    return _Expr(code, code, frozenset())


def clean_name(name: str) -> str:
    """PySD's case/space-insensitive key of a name (``NamespaceManager.cleanspace``)."""
    return name.lower().replace(" ", "_")


def _pysd_array(values) -> list:
    """Lookup points as PySD writes them into its model file (``numpy.array2string``, precision 8)."""
    text = np.array2string(np.array(values), separator=",", threshold=len(values))
    return [float(v) for v in eval(text, {"nan": math.nan, "inf": math.inf})]  # noqa: S307 - numpy's own output


def _toposort(graph: dict, roots, what: str, label) -> list:
    """Depth-first topological order of the items reachable from ``roots``; a cycle raises ModelError."""
    order, state = [], {}
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(graph[root]))]
        state[root] = 1
        while stack:
            item, deps = stack[-1]
            for dep in deps:
                if dep not in graph:
                    continue
                if state.get(dep) == 1:
                    cycle = [label(i) for i, _ in stack[[i for i, _ in stack].index(dep):]]
                    raise ModelError(f"{what}: {' -> '.join(cycle + [label(dep)])}")
                if dep not in state:
                    state[dep] = 1
                    stack.append((dep, iter(graph[dep])))
                    break
            else:
                stack.pop()
                state[item] = 2
                order.append(item)
    return order


class _Translator:
    """Walks PySD's abstract model of one ``.mdl`` and builds the intermediate representation."""

    def __init__(self, abstract_model, path: Path):
        from pysd.translators.structures import abstract_expressions as ae
        from pysd.translators.structures import abstract_model as am

        self.ae, self.am, self.path = ae, am, path
        sections = abstract_model.sections
        if len(sections) != 1:
            names = ", ".join(s.name for s in sections if s.type != "main")
            raise ModelError(f"{path}: macros are not supported ({names})")
        self.section = sections[0]
        if self.section.subscripts:
            raise ModelError(f"{path}: subscripts are not supported ({self.section.subscripts[0].name})")
        self.control: dict[str, list] = {}
        self.kinds: dict[str, str] = {}      # clean name -> constant | lookup | aux
        self.names: dict[str, str] = {}      # clean name -> Vensim name
        self.asts: dict[str, object] = {}
        self.vars: dict[str, str] = {}       # clean name -> variable in generated code
        self.constants: list[dict] = []
        self.lookups: list[dict] = []
        self.nodes: dict[str, dict] = {}
        self.statefuls: list[dict] = []
        self._int_memo: dict[str, object] = {}

    # -- element classification -------------------------------------------------

    def build(self) -> dict:
        """The intermediate representation of the whole model."""
        elements = list(self.section.elements)
        for el in elements:
            self._classify(el)
        for key, kind in self.kinds.items():
            if kind == "constant":
                self._add_constant(key)
        control = {k: self._control_value(k) for k in CONTROL}
        for key, kind in self.kinds.items():
            if kind == "aux":
                self._add_aux(key)
        variables, stocks = [], []
        for el in elements:
            key = clean_name(el.name)
            if key in self.kinds and self.kinds[key] != "lookup":
                variables.append({"name": el.name, "var": self.vars[key]})
                if self.kinds[key] == "aux" and isinstance(self.asts[key], self.ae.IntegStructure):
                    stocks.append(el.name)
        return {
            "format": IR_FORMAT,
            "control": control,
            "constants": self.constants,
            "lookups": self.lookups,
            "nodes": list(self.nodes.values()),
            "statefuls": self.statefuls,
            "variables": variables,
            "stocks": stocks,
            "step_order": self._step_order(),
            "init_order": self._init_order(),
        }

    def _classify(self, el) -> None:
        am, ae = self.am, self.ae
        key = clean_name(el.name)
        if isinstance(el, am.AbstractControlElement):
            self.control[key] = el
            return
        if len(el.components) != 1 or el.components[0].subscripts[0]:
            raise ModelError(f"{self.path}: {el.name}: subscripted variables are not supported")
        comp = el.components[0]
        if isinstance(comp, am.AbstractData):
            raise ModelError(f"{self.path}: {el.name}: data variables (:=) are not supported")
        ast = comp.ast
        self.names[key], self.asts[key] = el.name, ast
        if isinstance(comp, am.AbstractLookup):
            if not isinstance(ast, ae.LookupsStructure):
                raise ModelError(f"{self.path}: {el.name}: uses GET LOOKUPS, which the compiler does not support")
            self.kinds[key] = "lookup"
            self.vars[key] = self._add_lookup(ast, el.name)
        elif isinstance(ast, np.ndarray):
            raise ModelError(f"{self.path}: {el.name}: subscripted variables are not supported")
        else:
            self.kinds[key] = "constant" if self._is_constant(ast) else "aux"
            self.vars[key] = f"{'c' if self.kinds[key] == 'constant' else 'v'}{len(self.vars)}"

    def _is_constant(self, ast) -> bool:
        """PySD's 'Constant': an expression without references, statefuls or Time functions."""
        ae = self.ae
        if isinstance(ast, (int, float, np.number)):
            return True
        if isinstance(ast, ae.ArithmeticStructure | ae.LogicStructure):
            return all(self._is_constant(a) for a in ast.arguments)
        if isinstance(ast, ae.CallStructure):
            name = ast.function.reference
            return (
                (name in UNARY_FUNCTIONS or (name in NARY_FUNCTIONS and not NARY_FUNCTIONS[name][3]) or name in ("if_then_else", "pi"))
                and all(self._is_constant(a) for a in ast.arguments)
            )
        if isinstance(ast, ae.InlineLookupsStructure):
            return self._is_constant(ast.argument)
        return False

    def _add_constant(self, key: str) -> None:
        name = self.names[key]
        expr = self._emit(self.asts[key], name)
        try:
            value = eval(expr.s, dict(HELPERS))  # noqa: S307 - code we generated from numbers only
        except (ArithmeticError, ValueError) as exc:
            raise ModelError(f"{self.path}: {name}: constant cannot be evaluated: {exc}") from exc
        if isinstance(value, bool):
            value = int(value)
        if self._int_consts(self.asts[key]) is None:
            value = float(value)  # e.g. MAX(1, 2) is 2.0 in PySD (float(np.maximum(1, 2)))
        self.constants.append({"name": name, "var": self.vars[key], "value": value})

    def _add_lookup(self, ast, name: str | None) -> str:
        xs, ys = _pysd_array(ast.x), _pysd_array(ast.y)
        if len(set(xs)) != len(xs):
            raise ModelError(f"{self.path}: {name or 'WITH LOOKUP'}: lookup x values repeat")
        var = f"L{len(self.lookups)}"
        self.lookups.append({"var": var, "name": name, "x": xs, "y": ys})
        return var

    def _control_value(self, key: str) -> list:
        """A control variable as ``["num", value]`` or ``["ref", other control variable]``."""
        if key not in self.control:
            raise ModelError(f"{self.path}: {CONTROL[key]} is not defined")
        el = self.control[key]
        ast = el.components[0].ast
        if isinstance(ast, self.ae.ReferenceStructure) and ast.reference in CONTROL and ast.reference != key:
            return ["ref", ast.reference]
        if self._is_constant(ast):
            value = eval(self._emit(ast, el.name).s, dict(HELPERS))  # noqa: S307
            return ["num", value]
        raise ModelError(f"{self.path}: {el.name} must be a number or another control variable")

    # -- auxiliaries and stateful objects --------------------------------------------

    def _add_aux(self, key: str) -> None:
        name = self.names[key]
        expr = self._emit(self.asts[key], name)
        self._add_node(self.vars[key], expr, name)

    def _add_node(self, var: str, expr: _Expr, name: str | None, state: int | None = None) -> str:
        self.nodes[var] = {
            "var": var, "name": name, "s": expr.s, "v": expr.vnum,
            "deps": sorted(expr.deps), "state": state,
        }
        return var

    def _arg(self, j: int, role: str, ast, name: str) -> str:
        """A node for one argument of stateful object ``j``."""
        return self._add_node(f"a{j}_{role}", self._emit(ast, name), None)

    def _stateful(self, ast, name: str) -> _Expr:
        """Register a stateful object (stock, smooth, delay, trend, initial); return its output."""
        ae = self.ae
        j = len(self.statefuls)
        self.statefuls.append({})  # reserve the index for nested statefuls
        out = f"o{j}"
        st = {"element": name, "out": out, "int_init": None}
        if isinstance(ast, ae.IntegStructure):
            if ast.non_negative:
                raise ModelError(f"{self.path}: {name}: uses a non-negative stock, which Vensim has not")
            flow, init = self._arg(j, "flow", ast.flow, name), self._arg(j, "init", ast.initial, name)
            st.update(kind="integ", order=1, init_deps=[init], upd_deps=[flow], dynamic=True,
                      init=[f"s{j}_0 = {init}"], upd=[f"s{j}_0 = s{j}_0 + {flow} * _dt"])
            out_expr = _Expr(f"s{j}_0", f"s{j}_0", frozenset())
        elif isinstance(ast, ae.InitialStructure):
            init = self._arg(j, "init", ast.initial, name)
            st.update(kind="initial", order=1, init_deps=[init], upd_deps=[], dynamic=False,
                      init=[f"s{j}_0 = {init}"], upd=[])
            out_expr = _Expr(f"s{j}_0", f"s{j}_0", frozenset())
        elif isinstance(ast, ae.SmoothStructure):
            st.update(self._smooth(j, ast, name))
            n = st["order"]
            out_expr = _Expr(f"s{j}_{n - 1}", f"s{j}_{n - 1}", frozenset())
        elif isinstance(ast, ae.DelayStructure):
            st.update(self._delay(j, ast, name, out))
            n, dtime = st["order"], f"a{j}_time"
            out_expr = _Expr(f"(s{j}_{n - 1} / {dtime})", f"(s{j}_{n - 1} / {dtime})", frozenset([dtime]))
        elif isinstance(ast, ae.TrendStructure):
            inp, avg = self._arg(j, "in", ast.input, name), self._arg(j, "avg", ast.average_time, name)
            init = self._arg(j, "init", ast.initial_trend, name)
            st.update(kind="trend", order=1, init_deps=[inp, avg, init], upd_deps=[inp, avg], dynamic=True,
                      init=[f"s{j}_0 = {inp} / (1 + {init} * {avg})"],
                      upd=[f"s{j}_0 = s{j}_0 + (({inp} - s{j}_0) / {avg}) * _dt"])
            out_expr = _Expr(f"_zidz({inp} - s{j}_0, {avg} * abs(s{j}_0))",
                             f"_vzidz({inp} - s{j}_0, {avg} * _np.abs(s{j}_0))", frozenset([inp, avg]))
        else:  # pragma: no cover - guarded by _emit
            raise AssertionError(type(ast))
        self.statefuls[j] = st
        self._add_node(out, out_expr, None, state=j)
        return _Expr(out, out, frozenset([out]))

    def _order(self, ast, name: str, what: str) -> int:
        if not isinstance(ast.order, (int, np.integer)) or ast.order not in (1, 3):
            raise ModelError(f"{self.path}: {name}: {what} of order {ast.order} is not supported")
        return int(ast.order)

    def _smooth(self, j: int, ast, name: str) -> dict:
        """SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I as ``statefuls.Smooth``."""
        n = self._order(ast, name, "SMOOTH")
        inp, stime = self._arg(j, "in", ast.input, name), self._arg(j, "time", ast.smooth_time, name)
        init = inp if ast.initial is ast.input else self._arg(j, "init", ast.initial, name)
        int_init = self._int_consts(ast.initial)
        upd = []
        target = inp
        if int_init is not None:
            # PySD keeps the state in np.array([init] * n): an integer array when the initial
            # value is an int, so the first ddt assigns the input into it, truncated.
            upd += [f"if _ti{j}:", f"    _tg = _trunc({inp})", f"    _ti{j} = False", "else:", f"    _tg = {inp}"]
            target = "_tg"
        targets = [target] + [f"s{j}_{k}" for k in range(n - 1)]
        upd += [f"_d{k} = (({targets[k]} - s{j}_{k}) * {n}) / {stime}" for k in range(n)]
        upd += [f"s{j}_{k} = s{j}_{k} + _d{k} * _dt" for k in range(n)]
        return {
            "kind": "smooth", "order": n, "dynamic": True,
            "init_deps": [init], "upd_deps": [inp, stime],
            "init": [f"s{j}_0 = {init}"] + [f"s{j}_{k} = s{j}_0" for k in range(1, n)],
            "upd": upd,
            "int_init": None if int_init is None else sorted(int_init),
        }

    def _delay(self, j: int, ast, name: str, out: str) -> dict:
        """DELAY1, DELAY1I, DELAY3, DELAY3I as ``statefuls.Delay`` (states hold value x delay time)."""
        n = self._order(ast, name, "DELAY")
        inp, dtime = self._arg(j, "in", ast.input, name), self._arg(j, "time", ast.delay_time, name)
        init = inp if ast.initial is ast.input else self._arg(j, "init", ast.initial, name)
        states = [f"s{j}_{k}" for k in range(n)]
        outflows = [f"_q{k}" for k in range(n - 1)] + [out]
        inflows = [inp] + outflows[:-1]
        upd = [f"if _f{j}:"]
        upd += [f"    _q{k} = s{j}_{k} / {dtime}" for k in range(n - 1)]
        upd += [f"    _d{k} = ({inflows[k]} - {outflows[k]}) * {n}" for k in range(n)]
        upd += [f"    s{j}_{k} = s{j}_{k} + _d{k} * _dt" for k in range(n)]
        upd += ["else:", f"    {', '.join(states)}, = _delay_masked(({', '.join(states)},), {inp}, {dtime}, _o{j}, _dt)"]
        return {
            "kind": "delay", "order": n, "dynamic": True,
            "init_deps": [init, dtime], "upd_deps": [inp, dtime, out],
            "init": [f"_o{j}, _f{j} = _delay_order({n}, _dt, {dtime}, {name!r})", f"s{j}_0 = {init} * {dtime}"]
            + [f"s{j}_{k} = s{j}_0" for k in range(1, n)],
            "upd": upd,
        }

    def _int_consts(self, ast):
        """Whether an initial value is a Python int in PySD.

        Returns None (a float whatever the inputs) or the constants (and
        ``T0_MARK`` for Time) it depends on: the value is an int when each of
        them is an int at run time -- a constant whose default is an int and
        that no parameter replaces (parameters are floats), an integer INITIAL
        TIME. PySD's ``Smooth`` then holds an integer array (see ``_smooth``).
        """
        ae = self.ae
        if isinstance(ast, (bool, int, np.integer)):
            return frozenset()
        if isinstance(ast, (float, np.floating)):
            return None
        if isinstance(ast, ae.InlineLookupsStructure):
            return None  # np.interp
        if isinstance(ast, ae.ReferenceStructure):
            key = ast.reference
            if key == "time":  # Time at initialisation is INITIAL TIME: an int if written as one
                return frozenset([T0_MARK])
            if key in CONTROL:  # an int if written or passed to run() as one
                return frozenset([f"@{key}"])
            kind = self.kinds.get(key)
            if kind == "constant":  # an int if its default is one and no parameter replaces it
                return frozenset([self.vars[key]])
            if kind == "aux":
                if key not in self._int_memo:
                    self._int_memo[key] = None  # cycles count as float
                    self._int_memo[key] = self._int_consts(self.asts[key])
                return self._int_memo[key]
            return None
        if isinstance(ast, ae.IntegStructure | ae.InitialStructure):
            return self._int_consts(ast.initial)
        if isinstance(ast, ae.SmoothStructure):
            return self._int_consts(ast.initial)
        if isinstance(ast, ae.LogicStructure):
            return frozenset()
        if isinstance(ast, ae.ArithmeticStructure):
            if "/" in ast.operators:
                return None
            if "^" in ast.operators:
                base = self._int_consts(ast.arguments[0])
                exps = ast.arguments[1:]
                ok = all(isinstance(e, (int, np.integer)) and e >= 0 for e in exps)
                return base if ok else None
            parts = [self._int_consts(a) for a in ast.arguments]
            return None if any(p is None for p in parts) else frozenset().union(*parts)
        if isinstance(ast, ae.CallStructure):
            fname, args = ast.function.reference, ast.arguments
            if self.kinds.get(fname) == "lookup" or fname in NUMPY_FUNCTIONS:
                return None  # lookups return floats; PySD writes float(np.maximum(...)) etc.
            if fname in ("integer", "pulse", "pulse_train"):
                return frozenset()  # int(x); 1 or 0
            if fname == "step":  # value * (t + dt/2 > tstep)
                return self._all_int(args[:1])
            if fname == "ramp":  # (t > start) * slope * (min(finish, t) - start)
                return self._all_int(args, {T0_MARK})
            if fname == "if_then_else":  # whichever branch: an int only if both are
                return self._all_int(args[1:])
            if fname in ("modulo", "quantum"):
                return self._all_int(args)
        return None

    def _all_int(self, asts, extra=frozenset()):
        """Union of the int conditions of ``asts`` (and ``extra``), or None if one is a float."""
        parts = [self._int_consts(a) for a in asts]
        return None if any(p is None for p in parts) else frozenset(extra).union(*parts)

    # -- expressions ---------------------------------------------------------------

    def _unsupported(self, name: str, what: str):
        return ModelError(f"{self.path}: {name}: uses {what}, which the compiler does not support")

    def _emit(self, ast, name: str) -> _Expr:
        """Code for one AST node of variable ``name`` (its Vensim name, for error messages)."""
        ae = self.ae
        if isinstance(ast, (bool, int, float, np.number)):
            return _literal(ast)
        if isinstance(ast, ae.ReferenceStructure):
            return self._reference(ast, name)
        if isinstance(ast, ae.ArithmeticStructure):
            return self._arithmetic(ast, name)
        if isinstance(ast, ae.LogicStructure):
            return self._logic(ast, name)
        if isinstance(ast, ae.CallStructure):
            return self._call(ast, name)
        if isinstance(ast, ae.InlineLookupsStructure):
            arg = self._emit(ast.argument, name)
            var = self._add_lookup(ast.lookups, None)
            return _Expr(f"_lk({arg.s}, {var}x, {var}y)", f"_np.interp({arg.v}, {var}X, {var}Y)", arg.deps)
        if isinstance(ast, ae.GameStructure):
            return self._emit(ast.expression, name)
        if isinstance(ast, ae.IntegStructure | ae.InitialStructure | ae.SmoothStructure
                      | ae.DelayStructure | ae.TrendStructure):
            return self._stateful(ast, name)
        labels = {
            ae.DelayNStructure: "DELAY N", ae.DelayFixedStructure: "DELAY FIXED",
            ae.SmoothNStructure: "SMOOTH N", ae.ForecastStructure: "FORECAST",
            ae.SampleIfTrueStructure: "SAMPLE IF TRUE", ae.GetDataStructure: "GET DATA",
            ae.GetLookupsStructure: "GET LOOKUPS", ae.GetConstantsStructure: "GET CONSTANTS",
            ae.DataStructure: "a data variable", ae.AllocateAvailableStructure: "ALLOCATE AVAILABLE",
            ae.AllocateByPriorityStructure: "ALLOCATE BY PRIORITY", ae.LookupsStructure: "a lookup definition",
            np.ndarray: "an array (subscripts)", str: "a string",
        }
        raise self._unsupported(name, labels.get(type(ast), type(ast).__name__))

    def _reference(self, ast, name: str) -> _Expr:
        if ast.subscripts is not None:
            raise self._unsupported(name, "subscripts")
        ref = ast.reference
        if ref == "time":
            return _Expr("t", "t", frozenset(["t"]))
        if ref in CONTROL_VARIABLES:
            return _Expr(CONTROL_VARIABLES[ref], CONTROL_VARIABLES[ref], frozenset())
        kind = self.kinds.get(ref)
        if kind is None:
            raise ModelError(f"{self.path}: {name}: refers to '{ref}', which the model does not define")
        if kind == "lookup":
            raise ModelError(f"{self.path}: {name}: uses lookup '{self.names[ref]}' without an argument")
        var = self.vars[ref]
        return _Expr(var, var, frozenset([var]))

    def _arithmetic(self, ast, name: str) -> _Expr:
        args = [self._emit(a, name) for a in ast.arguments]
        deps = frozenset().union(*(a.deps for a in args))
        ops = list(ast.operators)
        if ops == ["negative"]:
            (a,) = args
            return _Expr(f"(-{a.s})", f"(-{a.vnum})", deps)
        if set(ops) == {"^"}:
            # PySD writes a**b**c, which Python evaluates from the right; a negative number written as a
            # base (-2^2) is written -2**2, which Python reads as -(2**2): Vensim's and PySD's -4, not 4
            s, v = args[-1].s, args[-1].vnum
            for raw, a in zip(reversed(ast.arguments[:-1]), reversed(args[:-1])):
                if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw < 0:
                    s, v = f"(-_pow({-raw!r}, {s}))", f"(-_vpow({-raw!r}, {v}))"
                else:
                    s, v = f"_pow({a.s}, {s})", f"_vpow({a.vnum}, {v})"
            return _Expr(s, v, deps)
        if not set(ops) <= set(ARITHMETIC):
            raise self._unsupported(name, f"operators {ops}")
        s, v = args[0].s, args[0].vnum
        for op, a in zip(ops, args[1:]):
            s, v = f"{s} {op} {a.s}", f"{v} {op} {a.vnum}"
        return _Expr(f"({s})", f"({v})", deps)

    def _logic(self, ast, name: str) -> _Expr:
        args = [self._emit(a, name) for a in ast.arguments]
        deps = frozenset().union(*(a.deps for a in args))
        ops = list(ast.operators)
        if ops == [":NOT:"]:
            (a,) = args
            return _Expr(f"(not {a.s})", f"_np.logical_not({a.v})", deps, "bool")
        if ops == ["negative"]:
            (a,) = args
            return _Expr(f"(-{a.s})", f"(-{a.vnum})", deps)
        if len(ops) == 1 and ops[0] in COMPARISONS:
            a, b = args
            op = COMPARISONS[ops[0]]
            return _Expr(f"({a.s} {op} {b.s})", f"({a.v} {op} {b.v})", deps, "bool")
        if set(ops) <= {":AND:", ":OR:"}:
            # PySD nests from the right: a AND b OR c -> and(a, or(b, c))
            right = args[-1]
            s, v = right.s, right.v
            for op, a in zip(reversed(ops), reversed(args[:-1])):
                word, fn = ("and", "logical_and") if op == ":AND:" else ("or", "logical_or")
                s, v = f"(bool({a.s}) {word} bool({s}))", f"_np.{fn}({a.v}, {v})"
            return _Expr(s, v, deps, "bool")
        raise self._unsupported(name, f"operators {ops}")

    def _call(self, ast, name: str) -> _Expr:
        fname = ast.function.reference
        label = fname.upper().replace("_", " ")
        if self.kinds.get(fname) == "lookup":
            if len(ast.arguments) != 1:
                raise ModelError(f"{self.path}: {name}: lookup {self.names[fname]} takes one argument")
            arg = self._emit(ast.arguments[0], name)
            var = self.vars[fname]
            return _Expr(f"_lk({arg.s}, {var}x, {var}y)", f"_np.interp({arg.v}, {var}X, {var}Y)", arg.deps)
        if fname in self.kinds:
            raise ModelError(f"{self.path}: {name}: calls '{self.names[fname]}', which is not a lookup")
        if fname not in UNARY_FUNCTIONS and fname not in NARY_FUNCTIONS and fname not in ("if_then_else", "pi"):
            raise self._unsupported(name, label)
        args = [self._emit(a, name) for a in ast.arguments]
        deps = frozenset().union(frozenset(), *(a.deps for a in args))
        if fname == "if_then_else":
            self._arity(name, label, args, 3)
            c, a, b = args
            kind = "bool" if a.kind == b.kind == "bool" else "num"
            bv, cv = (a.v, b.v) if kind == "bool" else (a.vnum, b.vnum)
            return _Expr(f"({a.s} if {c.s} else {b.s})", f"_np.where({c.v}, {bv}, {cv})", deps, kind)
        if fname in UNARY_FUNCTIONS:
            self._arity(name, label, args, 1)
            s, v = UNARY_FUNCTIONS[fname]
            return _Expr(s.format(args[0].s), v.format(args[0].vnum), deps)
        if fname in NARY_FUNCTIONS:
            arity, s, v, uses_time = NARY_FUNCTIONS[fname]
            self._arity(name, label, args, arity)
            deps = deps | {"t"} if uses_time else deps
            return _Expr(s.format(*(a.s for a in args)), v.format(*(a.vnum for a in args)), deps)
        if fname == "pi" and not args:
            return _Expr("_math.pi", "_math.pi", frozenset())
        raise self._unsupported(name, label)

    def _arity(self, name: str, label: str, args: list, n: int) -> None:
        if len(args) != n:
            raise ModelError(f"{self.path}: {name}: {label} takes {n} arguments, not {len(args)}")

    # -- evaluation order ------------------------------------------------------------

    def _step_order(self) -> list[str]:
        """Nodes in an order where every node follows its dependencies; algebraic loops raise."""
        graph = {var: [d for d in node["deps"] if d in self.nodes] for var, node in self.nodes.items()}
        return _toposort(graph, list(graph), f"{self.path}: algebraic loop", self._label)

    def _init_order(self) -> list[str]:
        """Nodes and stateful objects (``S<j>``) in initialisation order, as PySD's initialize_order."""
        graph = {}
        for var, node in self.nodes.items():
            deps = [d for d in node["deps"] if d in self.nodes]
            graph[var] = deps + ([f"S{node['state']}"] if node["state"] is not None else [])
        for j, st in enumerate(self.statefuls):
            graph[f"S{j}"] = list(st["init_deps"])
        roots = [f"S{j}" for j in range(len(self.statefuls))]
        return _toposort(graph, roots, f"{self.path}: circular initialisation", self._label)

    def _label(self, item: str) -> str:
        if item.startswith("S"):
            return f"initial value of {self.statefuls[int(item[1:])]['element']}"
        node = self.nodes.get(item)
        if node is None or node["name"] is None:
            j = int(re.match(r"[ao](\d+)", item).group(1))
            return f"{self.statefuls[j]['element']} ({item})"
        return node["name"]


def translate(path: Path) -> dict:
    """Parse ``path`` with PySD's Vensim parser (:func:`sim.model.mdlinfo.abstract_model`, the one parse) and
    return the intermediate representation, with the table of elements (:func:`sim.model.mdlinfo.element_table`)."""
    from importlib.metadata import version

    from sim.model.mdlinfo import abstract_model, element_table

    abstract = abstract_model(path)
    ir = _Translator(abstract, Path(path)).build()
    ir["elements"] = element_table(abstract, ir)
    ir["pysd"] = version("pysd")
    return ir
