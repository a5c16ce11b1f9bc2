"""Vectorised ensemble runner: a Vensim ``.mdl`` compiled to straight-line numpy code.

The ``.mdl`` stays the one source of truth. PySD's own Vensim parser turns it
into an abstract syntax tree; this module walks that tree once and emits, for
every variable, a Python expression in two flavours:

* *scalar* code on plain Python floats, used when one parameter set is run
  (``N == 1``; about ten times faster than numpy on arrays of length one), and
* *vector* code on numpy arrays of shape ``(N,)``, used for ensembles.

The emitted expressions, the dependency graph and the stateful objects
(stocks, smooths, delays, trends, initials) form an intermediate
representation that is cached as JSON under :func:`sim.model.loader.cache_dir`,
keyed by the ``.mdl``'s SHA-256. For each run configuration (which constants
are time series, which columns are kept) the representation is assembled into
one Python function -- initialisation, then a loop of Euler steps -- compiled
with :func:`exec` and memoised.

Everything follows PySD 3.14 (``pysd/py_backend``, ``pysd/builders/python``)
so that results equal ``pysd.load(...).run(params=...)`` to rounding error
(bit for bit on the test models and the district model):

* Euler integration, time advanced by repeated addition of TIME STEP
  (``Model._integrate_step``); values saved *before* the update at a save time;
  the loop, final time and saving test of ``components.Time`` (relative
  precision 1e-5) and its rounding of saved times;
* stateful objects initialised in dependency order (``initialize_order``);
  the state layout and update formulas of ``statefuls.py`` for SMOOTH[I],
  SMOOTH3[I], DELAY1[I], DELAY3[I], TREND, INITIAL; a DELAY's order is
  lowered, per member, while ``order * TIME STEP > delay time``;
* ``Smooth`` keeps its state in ``np.array([init] * order)``: an *integer*
  array when the initial value is a Python int (a literal ``0``, an integer
  constant not set by a parameter, Time at an integer INITIAL TIME...), so
  the first Euler step truncates the input assigned into it. MIN, MAX, ABS,
  EXP... are ``float(np....)`` in PySD's code, hence floats. This is tracked
  statically (:meth:`_Translator._int_consts`) and decided per run;
* lookups are held flat beyond their ends; their points are round-tripped
  through ``numpy.array2string`` (default precision, 8 digits), as PySD writes them;
* ``a^b^c`` is ``a**(b**c)``; ``a :AND: b :OR: c`` is ``and(a, or(b, c))``;
  PULSE TRAIN's arguments are reordered by the parser; STEP compares
  ``Time + TIME STEP/2``; PULSE, RAMP, MODULO, ZIDZ and XIDZ use 1e-6 as zero;
* Vensim ``^`` is Python's ``**`` in PySD, i.e. the C library's ``pow``;
  POWER, EXP, LN, SQRT, SIN... are numpy calls, whose SIMD kernels differ
  from the C library in the last bit for some inputs. Each is computed the
  same way here, in both flavours (``^`` element by element in vector code,
  see :func:`_vpow`; ``CompiledModel.exact_power = False`` trades that for
  numpy's kernel and speed);
* IF THEN ELSE evaluates both branches in vector code (``numpy.where``);
  scalar code keeps PySD's lazy evaluation. Where Python floats raise
  (division by zero, ``math`` domain errors) the run is redone in numpy,
  giving inf/nan.

Time-series parameters are given at the step times of :meth:`CompiledModel.step_times`,
PySD's own times; ``pandas.Series(values, index=step_times())`` makes PySD
interpolate exactly those values. (For a TIME STEP that is not a binary
fraction, e.g. 0.1, PySD's times drift from ``initial_time + k * time_step``
by ~1e-11, the last one being 2034.99999999999 rather than 2035; a Series on
the nominal grid is then interpolated between neighbours.)

Unsupported constructs (subscripts, macros, data, ``GET`` functions,
stochastic functions, ``DELAY N`` and friends) raise :class:`ModelError` at
compile time, naming the variable and the function.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from sim.errors import InputError, ModelError, RunError
from sim.model.loader import announce_if_slow, cache_dir, cache_error, file_sha256, require_model_file

#: What Vensim (and PySD) consider zero in ZIDZ, XIDZ, RAMP, PULSE, MODULO.
SMALL_VENSIM = 1e-6
#: PySD's relative precision for the final time and the saving test (``Time.rprec``).
RPREC = 1e-5
#: Default memory budget of the results of one chunk in :meth:`CompiledModel.run_chunks`.
CHUNK_BYTES = 256 * 2**20

_FORMAT = 1
_T0_MARK = "@initial_time"  # in a smooth's int_init: Time at initialisation must be an int
_CONTROL = {
    "initial_time": "INITIAL TIME",
    "final_time": "FINAL TIME",
    "time_step": "TIME STEP",
    "saveper": "SAVEPER",
}
_CONTROL_VARS = {"initial_time": "_t0", "final_time": "_tf", "time_step": "_dt", "saveper": "_sp"}
_ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}
_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

# One-argument functions: Vensim name -> (scalar code, vector code). PySD calls numpy
# (np.exp(x) on a Python float), whose SIMD kernels differ from the C library's (math.exp)
# in the last bit for some inputs, so the scalar code calls numpy too.
_UNARY = {
    "abs": ("abs({0})", "_np.abs({0})"),
    "exp": ("float(_np.exp({0}))", "_np.exp({0})"),
    "ln": ("float(_np.log({0}))", "_np.log({0})"),
    "sqrt": ("float(_np.sqrt({0}))", "_np.sqrt({0})"),
    "sin": ("float(_np.sin({0}))", "_np.sin({0})"),
    "cos": ("float(_np.cos({0}))", "_np.cos({0})"),
    "tan": ("float(_np.tan({0}))", "_np.tan({0})"),
    "arcsin": ("float(_np.arcsin({0}))", "_np.arcsin({0})"),
    "arccos": ("float(_np.arccos({0}))", "_np.arccos({0})"),
    "arctan": ("float(_np.arctan({0}))", "_np.arctan({0})"),
    "sinh": ("float(_np.sinh({0}))", "_np.sinh({0})"),
    "cosh": ("float(_np.cosh({0}))", "_np.cosh({0})"),
    "tanh": ("float(_np.tanh({0}))", "_np.tanh({0})"),
    "integer": ("_int({0})", "_np.trunc({0})"),
}
# Functions whose PySD code is a numpy call: PySD's builder wraps them in float(...)
# (CallBuilder.build_function_call checks the function's template, not its arguments)
_NP_FUNCTIONS = {name for name in _UNARY if name != "integer"} | {"min", "max", "power", "log", "pi"}
# Functions of several numeric arguments: name -> (arity, scalar code, vector code, uses Time).
_NARY = {
    "min": (2, "_min({0}, {1})", "_np.minimum({0}, {1})", False),
    "max": (2, "_max({0}, {1})", "_np.maximum({0}, {1})", False),
    # POWER(a, b) is np.power in PySD (numpy's kernel), a ^ b is Python ** (the C library's pow)
    "power": (2, "float(_np.power({0}, {1}))", "_np.power({0}, {1})", False),
    "log": (2, "float(_np.log({0}) / _np.log({1}))", "(_np.log({0}) / _np.log({1}))", False),
    "zidz": (2, "_zidz({0}, {1})", "_vzidz({0}, {1})", False),
    "xidz": (3, "_xidz({0}, {1}, {2})", "_vxidz({0}, {1}, {2})", False),
    "modulo": (2, "_modulo({0}, {1})", "_vmodulo({0}, {1})", False),
    "quantum": (2, "_quantum({0}, {1})", "_vquantum({0}, {1})", False),
    "step": (2, "(({0}) * ((t + _dt / 2) > ({1})))", "(({0}) * ((t + _dt / 2) > ({1})))", True),
    "ramp": (3, "_ramp(t, {0}, {1}, {2})", "_vramp(t, {0}, {1}, {2})", True),
    "pulse": (2, "_pulse(t, {0}, {1})", "_vpulse(t, {0}, {1})", True),
    # PySD's parser reorders PULSE TRAIN(start, width, interval, end) to (start, interval, width, end)
    "pulse_train": (4, "_pulse_train(t, {0}, {1}, {2}, {3})", "_vpulse_train(t, {0}, {1}, {2}, {3})", True),
}


# ---------------------------------------------------------------------------
# Runtime helpers used by the generated code (scalar and vector flavours)
# ---------------------------------------------------------------------------


def _min(a, b):
    """``numpy.minimum`` on two scalars (NaN propagates)."""
    return a if (a <= b or a != a) else b


def _max(a, b):
    """``numpy.maximum`` on two scalars (NaN propagates)."""
    return a if (a >= b or a != a) else b


def _int(x):
    """Vensim INTEGER as PySD computes it: ``int(x)`` (truncation toward zero)."""
    return int(x)


def _pow(a, b):
    """``a ** b`` on scalars; a complex result (negative base) raises so the runner falls back to numpy."""
    r = a**b
    if r.__class__ is complex:
        raise ValueError("negative number to a fractional power")
    return r


def _vpow_numpy(a, b):
    """``a ^ b`` in vector code with numpy's power: fast, up to a few ulp off PySD.

    NaN instead of a complex number; integer arrays (from ``IF THEN ELSE(c, 2,
    3)``) are raised as floats, since numpy refuses negative integer powers of
    integers and Python gives a float.
    """
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        r = a**b
        return math.nan if r.__class__ is complex else r
    if isinstance(a, np.ndarray) and a.dtype.kind in "iub":
        a = a.astype(float)
    return np.power(a, b)


def _vpow(a, b):
    """``a ^ b`` in vector code, bit for bit as PySD's Python ``**``.

    Python's ``**`` (and numpy's float64 *scalar* power) call the C library's
    ``pow``; numpy's array ``power`` uses SIMD kernels that differ in the last
    bit for about 5 % of inputs on AVX-512 machines. Elements with a positive
    finite base and a finite result are recomputed with ``pow`` one by one
    (about 55 ns each); the others keep numpy's result (nan, inf, zero and
    negative bases).
    """
    out = _vpow_numpy(a, b)
    if np.ndim(out) == 0:
        return out
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = (a > 0) & np.isfinite(a) & np.isfinite(b) & np.isfinite(out)
    a, b, ok = np.broadcast_arrays(a, b, ok)
    try:
        if ok.all():
            exact = np.fromiter(map(pow, a.ravel().tolist(), b.ravel().tolist()), float, out.size)
            return exact.reshape(out.shape)
        out[ok] = np.fromiter(map(pow, a[ok].tolist(), b[ok].tolist()), float, int(ok.sum()))
    except OverflowError:  # numpy's kernel stayed finite where pow overflows: keep numpy's
        pass
    return out


def _zidz(a, b):
    return 0 if abs(b) < SMALL_VENSIM else a / b


def _vzidz(a, b):
    return np.where(np.abs(b) < SMALL_VENSIM, 0.0, a / b)


def _xidz(a, b, x):
    return x if abs(b) < SMALL_VENSIM else a / b


def _vxidz(a, b, x):
    return np.where(np.abs(b) < SMALL_VENSIM, x, a / b)


def _quantum(a, b):
    return a if b < SMALL_VENSIM else b * int(a / b)


def _vquantum(a, b):
    return np.where(b < SMALL_VENSIM, a, b * np.trunc(a / b))


def _modulo(x, m):
    return x - _quantum(x, m)


def _vmodulo(x, m):
    return x - _vquantum(x, m)


def _ramp(t, slope, start, finish):
    return (t + SMALL_VENSIM > start) * slope * (_min(finish, t) - start)


def _vramp(t, slope, start, finish):
    return (t + SMALL_VENSIM > start) * slope * (np.minimum(finish, t) - start)


def _pulse(t, start, width):
    """Vensim PULSE as ``pysd.py_backend.functions.pulse`` with ``repeat_time=0``."""
    return 1 if start - SMALL_VENSIM <= t < start + width else 0


def _vpulse(t, start, width):
    return np.where((start - SMALL_VENSIM <= t) & (t < start + width), 1.0, 0.0)


def _pulse_train(t, start, repeat, width, end):
    """Vensim PULSE TRAIN as ``pysd.py_backend.functions.pulse``."""
    if repeat == 0:
        return 1 if start - SMALL_VENSIM <= t < start + width else 0
    if start <= t < end:
        return 1 if (t - start + SMALL_VENSIM) % repeat < width else 0
    return 0


def _vpulse_train(t, start, repeat, width, end):
    single = (start - SMALL_VENSIM <= t) & (t < start + width)
    safe = np.where(repeat == 0, 1.0, repeat)
    train = (start <= t) & (t < end) & (np.mod(t - start + SMALL_VENSIM, safe) < width)
    return np.where(repeat == 0, single, train) * 1.0


def _lk(x, xs, ys):
    """Piecewise-linear lookup held flat beyond the ends (scalar ``numpy.interp``)."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    if x != x:
        return math.nan
    j = bisect.bisect_right(xs, x) - 1
    x0 = xs[j]
    y0 = ys[j]
    if x == x0:
        return y0
    return (ys[j + 1] - y0) / (xs[j + 1] - x0) * (x - x0) + y0


def _trunc(x):
    """Float to int cast as numpy does when assigning into an integer array (toward zero)."""
    return np.trunc(x) if isinstance(x, np.ndarray) else math.trunc(x)


def _delay_order(order, dt, delay_time, name):
    """Order of a DELAY as ``statefuls.Delay.initialize``: lowered while ``order * dt > delay time``.

    Returns ``(order, full)``: the order (an int, or an int array per member) and
    whether every member keeps the declared order.
    """
    d = np.asarray(delay_time, dtype=float)
    o = np.full(d.shape, order, dtype=np.int64)
    while True:
        low = (o * dt > d) & (o > 0)
        if not low.any():
            break
        o = np.where(low, o - 1, o)
    if (o <= 0).any():
        raise RunError(f"{name}: delay time shorter than TIME STEP; PySD cannot run this delay")
    if (o == order).all():
        return order, True
    return (int(o) if o.ndim == 0 else o), False


def _delay_masked(states, inp, delay_time, order, dt):
    """One Euler step of a DELAY whose order was lowered for some members.

    The stages actually used are the last ``order`` ones, so the output is always
    the last stage divided by the delay time, as in PySD.
    """
    n = len(states)
    q = [s / delay_time for s in states]
    first = n - np.asarray(order)
    new = []
    for j in range(n):
        inflow = inp if j == 0 else np.where(first == j, inp, q[j - 1])
        step = states[j] + (inflow - q[j]) * order * dt
        new.append(np.where(j >= first, step, states[j]))
    if all(np.ndim(s) == 0 for s in new):
        return tuple(float(s) for s in new)
    return tuple(new)


_HELPERS = {
    "_np": np,
    "_math": math,
    "_nan": math.nan,
    "_inf": math.inf,
    **{
        f.__name__: f
        for f in (
            _min, _max, _int, _pow, _vpow, _vpow_numpy, _zidz, _vzidz, _xidz, _vxidz, _quantum, _vquantum,
            _modulo, _vmodulo, _ramp, _vramp, _pulse, _vpulse, _pulse_train, _vpulse_train,
            _lk, _trunc, _delay_order, _delay_masked,
        )
    },
}


# ---------------------------------------------------------------------------
# Translation: PySD abstract model -> intermediate representation (JSON-able)
# ---------------------------------------------------------------------------


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


def _clean(name: str) -> str:
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
        control = {k: self._control_value(k) for k in _CONTROL}
        for key, kind in self.kinds.items():
            if kind == "aux":
                self._add_aux(key)
        variables, stocks = [], []
        for el in elements:
            key = _clean(el.name)
            if key in self.kinds and self.kinds[key] != "lookup":
                variables.append({"name": el.name, "var": self.vars[key]})
                if self.kinds[key] == "aux" and isinstance(self.asts[key], self.ae.IntegStructure):
                    stocks.append(el.name)
        return {
            "format": _FORMAT,
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
        key = _clean(el.name)
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
                (name in _UNARY or (name in _NARY and not _NARY[name][3]) or name in ("if_then_else", "pi"))
                and all(self._is_constant(a) for a in ast.arguments)
            )
        if isinstance(ast, ae.InlineLookupsStructure):
            return self._is_constant(ast.argument)
        return False

    def _add_constant(self, key: str) -> None:
        name = self.names[key]
        expr = self._emit(self.asts[key], name)
        try:
            value = eval(expr.s, dict(_HELPERS))  # noqa: S307 - code we generated from numbers only
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
            raise ModelError(f"{self.path}: {_CONTROL[key]} is not defined")
        el = self.control[key]
        ast = el.components[0].ast
        if isinstance(ast, self.ae.ReferenceStructure) and ast.reference in _CONTROL and ast.reference != key:
            return ["ref", ast.reference]
        if self._is_constant(ast):
            value = eval(self._emit(ast, el.name).s, dict(_HELPERS))  # noqa: S307
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
        ``_T0_MARK`` for Time) it depends on: the value is an int when each of
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
                return frozenset([_T0_MARK])
            if key in _CONTROL:  # an int if written or passed to run() as one
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
            if self.kinds.get(fname) == "lookup" or fname in _NP_FUNCTIONS:
                return None  # lookups return floats; PySD writes float(np.maximum(...)) etc.
            if fname in ("integer", "pulse", "pulse_train"):
                return frozenset()  # int(x); 1 or 0
            if fname == "step":  # value * (t + dt/2 > tstep)
                return self._all_int(args[:1])
            if fname == "ramp":  # (t > start) * slope * (min(finish, t) - start)
                return self._all_int(args, {_T0_MARK})
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
        if ref in _CONTROL_VARS:
            return _Expr(_CONTROL_VARS[ref], _CONTROL_VARS[ref], frozenset())
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
        if not set(ops) <= set(_ARITH):
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
        if len(ops) == 1 and ops[0] in _COMPARE:
            a, b = args
            op = _COMPARE[ops[0]]
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
        if fname not in _UNARY and fname not in _NARY and fname not in ("if_then_else", "pi"):
            raise self._unsupported(name, label)
        args = [self._emit(a, name) for a in ast.arguments]
        deps = frozenset().union(frozenset(), *(a.deps for a in args))
        if fname == "if_then_else":
            self._arity(name, label, args, 3)
            c, a, b = args
            kind = "bool" if a.kind == b.kind == "bool" else "num"
            bv, cv = (a.v, b.v) if kind == "bool" else (a.vnum, b.vnum)
            return _Expr(f"({a.s} if {c.s} else {b.s})", f"_np.where({c.v}, {bv}, {cv})", deps, kind)
        if fname in _UNARY:
            self._arity(name, label, args, 1)
            s, v = _UNARY[fname]
            return _Expr(s.format(args[0].s), v.format(args[0].vnum), deps)
        if fname in _NARY:
            arity, s, v, uses_time = _NARY[fname]
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
    """Parse ``path`` with PySD's Vensim parser and return the intermediate representation."""
    import pysd
    from pysd.translators.vensim.vensim_file import VensimFile

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="shuangta-compile-") as tmp:
        copy = Path(tmp) / path.name  # PySD must never write next to the original
        copy.write_bytes(path.read_bytes())
        try:
            with warnings.catch_warnings():
                # the parser's warnings concern its Python builder; what we cannot
                # compile raises ModelError below
                warnings.simplefilter("ignore")
                vf = VensimFile(copy)
                vf.parse()
                abstract = vf.get_abstract_model()
        except Exception as exc:  # PySD raises many kinds; ours is one
            raise ModelError(f"{path}: PySD cannot parse the model: {exc}") from exc
    ir = _Translator(abstract, path).build()
    ir["pysd"] = pysd.__version__
    return ir


# ---------------------------------------------------------------------------
# Code generation for one run configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What one generated function computes: mode, time-series constants, kept columns."""

    scalar: bool
    series: frozenset
    outputs: tuple
    exact_power: bool = True


class _Generator:
    """Assembles the simulation function for one :class:`_Plan` from the IR."""

    def __init__(self, ir: dict, plan: _Plan):
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


# ---------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------


@dataclass
class EnsembleResult:
    """Results of N runs: ``values[name]`` has shape ``(N, T)``, one row per member."""

    times: np.ndarray
    values: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        """Number of members."""
        return next(iter(self.values.values())).shape[0] if self.values else 0

    def member(self, i: int) -> pd.DataFrame:
        """Member ``i`` as PySD would return it: index ``time``, one column per variable."""
        data = {name: arr[i] for name, arr in self.values.items()}
        return pd.DataFrame(data, index=pd.Index(self.times, name="time"))


@dataclass
class _Inputs:
    """Parameters checked and normalised for one run: constants, series and member count."""

    n: int
    scalars: dict = field(default_factory=dict)   # var -> float
    members: dict = field(default_factory=dict)   # var -> (N,) array
    series: dict = field(default_factory=dict)    # var -> (S,) or (N, S) array

    def slice(self, start: int, stop: int) -> "_Inputs":
        """The members ``start:stop`` of these inputs."""
        series = {k: (v[start:stop] if v.ndim == 2 else v) for k, v in self.series.items()}
        members = {k: v[start:stop] for k, v in self.members.items()}
        return _Inputs(stop - start, dict(self.scalars), members, series)


class CompiledModel:
    """A model compiled to numpy code; runs N parameter sets at once.

    Attributes mirror the ``.mdl``: ``variables`` (every variable by Vensim name,
    control variables and lookup tables excluded -- the columns PySD returns),
    ``constants`` (name -> default), ``stocks`` (INTEG variables) and the
    control values ``initial_time``, ``final_time``, ``time_step``, ``saveper``
    (in the model's time unit). ``exact_power = True`` computes Vensim ``^`` in
    ensembles exactly as PySD does (bit for bit); False, the default, is ten times
    faster for models with many powers and differs from PySD only in the last bits. ``ir`` is the
    compiled intermediate representation (control values, constants with
    defaults, emitted code), which callers may copy and adjust.
    """

    def __init__(self, ir: dict, path: Path | None = None, sha256: str | None = None):
        self.ir = ir
        self.path, self.sha256 = path, sha256
        self.variables: list[str] = [v["name"] for v in ir["variables"]]
        self.constants: dict[str, float] = {c["name"]: float(c["value"]) for c in ir["constants"]}
        self.stocks: list[str] = list(ir["stocks"])
        self._const_var = {c["name"]: c["var"] for c in ir["constants"]}
        self._const_default = {c["var"]: c["value"] for c in ir["constants"]}
        self._var_of = {v["name"]: v["var"] for v in ir["variables"]}
        ctrl = self._control({})
        self.initial_time = float(ctrl["initial_time"])
        self.final_time = float(ctrl["final_time"])
        self.time_step = float(ctrl["time_step"])
        self.saveper = float(ctrl["saveper"])
        #: Vensim ``^`` in ensembles as PySD computes it (the C library's ``pow``, element by
        #: element, bit for bit) when True. The default, False, uses numpy's SIMD power: ten
        #: times faster on the district model and a few ulp off PySD per power, far inside the
        #: 1e-9 agreement that tests/integration/test_exactness.py checks.
        self.exact_power = False
        self._functions: dict[_Plan, object] = {}
        self._tables = {
            True: {f"{lk['var']}{s}": lk[s] for lk in ir["lookups"] for s in "xy"},
            False: {f"{lk['var']}{s.upper()}": np.array(lk[s]) for lk in ir["lookups"] for s in "xy"},
        }

    def __repr__(self) -> str:
        return f"CompiledModel({self.path}, {len(self.variables)} variables, {len(self.stocks)} stocks)"

    # -- time ------------------------------------------------------------------

    def _control(self, overrides: dict) -> dict:
        """Control values with run overrides; ``["ref", x]`` entries follow x (e.g. SAVEPER = TIME STEP)."""
        spec = self.ir["control"]

        def value(key, seen=()):
            if key in overrides:
                return overrides[key]
            kind, val = spec[key]
            if kind == "num":
                return val
            if val in seen:
                raise ModelError(f"control variables refer to each other: {key}")
            return value(val, seen + (key,))

        return {k: value(k) for k in spec}

    def _grid(self, final_time: float | None, time_step: float | None) -> tuple[dict, list, list]:
        """Control values, Euler step times and save flags exactly as PySD's ``Time`` produces them."""
        overrides = {}
        if final_time is not None:
            overrides["final_time"] = self._number("final_time", final_time)
        if time_step is not None:
            overrides["time_step"] = self._number("time_step", time_step)
            if overrides["time_step"] <= 0:
                raise InputError(f"time_step must be positive, not {time_step}")
        ctrl = self._control(overrides)
        t0, tf, dt, sp = ctrl["initial_time"], ctrl["final_time"], ctrl["time_step"], ctrl["saveper"]
        if tf < t0:
            raise InputError(f"final_time {tf} is before the initial time {t0}")
        if dt <= 0 or sp <= 0:
            raise ModelError(f"TIME STEP ({dt}) and SAVEPER ({sp}) must be positive")
        times, t = [], t0
        while t + dt * RPREC < tf:  # Time.in_bounds
            times.append(t)
            t = t + dt  # Model._integrate_step: time advances by repeated addition
        times.append(t)
        prec = dt * RPREC
        save = [((t - t0) % sp < prec) or ((-(t - t0)) % sp < prec) for t in times]  # Time.in_return
        return ctrl, times, save

    @staticmethod
    def _number(what: str, value) -> float | int:
        """A finite number; an int stays an int (PySD's Time keeps the type it is given)."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{what} must be a number, not {value!r}") from None
        if not math.isfinite(value):
            raise InputError(f"{what} must be finite, not {value}")
        return value

    def step_times(self, final_time: float | None = None, time_step: float | None = None) -> np.ndarray:
        """The Euler step times of a run, shape (S,): where a time-series parameter is given.

        These are PySD's times, advanced by repeated addition of TIME STEP; they equal
        ``initial_time + k * time_step`` exactly when TIME STEP is a binary fraction
        (1, 0.5, 0.25, 0.125, ...).
        """
        return np.array(self._grid(final_time, time_step)[1])

    def save_times(self, final_time: float | None = None, time_step: float | None = None) -> np.ndarray:
        """The saved times of a run, shape (T,), rounded as PySD's ``Time.round``."""
        ctrl, times, save = self._grid(final_time, time_step)
        digits = -int(np.log10(ctrl["time_step"] * RPREC))
        return np.array([np.round(t, digits) for t, s in zip(times, save) if s], dtype=float)

    # -- parameters --------------------------------------------------------------

    def _inputs(self, params: dict | None, n: int | None, n_steps: int) -> _Inputs:
        """Check and normalise ``params`` (see :meth:`run`)."""
        params = dict(params or {})
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise InputError(f"n must be a positive integer, not {n!r}")
        arrays = {}
        for name, value in params.items():
            if name not in self._const_var:
                raise InputError(self._unknown(name))
            if isinstance(value, (pd.Series, pd.DataFrame)):
                raise InputError(
                    f"{name}: pass a number or a numpy array; evaluate a time series on step_times()")
            arr = np.asarray(value)
            if arr.dtype == object or arr.dtype.kind not in "biuf" or arr.ndim > 2:
                raise InputError(f"{name}: expected a number or a 1-D/2-D numeric array, got {value!r:.80}")
            arr = arr.astype(float)
            if not np.isfinite(arr).all():
                raise InputError(f"{name}: values must be finite")
            arrays[name] = arr
        size = self._members(arrays, n, n_steps)
        out = _Inputs(size)
        for name, arr in arrays.items():
            var = self._const_var[name]
            if arr.ndim == 0:
                out.scalars[var] = float(arr)
            elif arr.ndim == 2:
                if arr.shape[1] != n_steps or arr.shape[0] not in (1, size):
                    raise InputError(
                        f"{name}: a 2-D value must have shape ({size}, {n_steps}) (members x step times), "
                        f"not {arr.shape}")
                out.series[var] = arr[0] if arr.shape[0] == 1 else arr
            elif len(arr) == size and len(arr) == n_steps and size > 1:
                raise InputError(
                    f"{name}: a 1-D array of length {size} is ambiguous (number of members and number of "
                    f"step times); pass shape ({size}, {n_steps}) for a time series per member, "
                    f"(1, {n_steps}) for one shared series, or a per-member value with n != {n_steps}")
            elif len(arr) == size == 1:
                out.scalars[var] = float(arr[0])
            elif len(arr) == size:
                out.members[var] = arr
            elif len(arr) == n_steps:
                out.series[var] = arr
            else:
                raise InputError(
                    f"{name}: a 1-D array must have one value per member ({size}) or per step time "
                    f"({n_steps}), not {len(arr)}")
        return out

    def _members(self, arrays: dict, n: int | None, n_steps: int) -> int:
        """Number of members: ``n`` or what per-member arrays imply."""
        sizes = {a.shape[0] for a in arrays.values() if a.ndim == 2 and a.shape[0] > 1}
        sizes |= {len(a) for a in arrays.values() if a.ndim == 1 and len(a) != n_steps}
        if n is not None:
            bad = sizes - {n}
            if bad:
                raise InputError(f"per-member values have {sorted(bad)[0]} members but n = {n}")
            return int(n)
        if len(sizes) > 1:
            raise InputError(f"per-member values disagree on the number of members: {sorted(sizes)}")
        return sizes.pop() if sizes else 1

    def _unknown(self, name: str) -> str:
        if name in self._var_of:
            return f"{name!r} is not a constant of the model; only constants can be set"
        near = [c for c in self._const_var if _clean(c) == _clean(name)]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"{name!r} is not a constant of the model{hint}"

    def _columns(self, return_columns) -> tuple:
        if return_columns is None:
            return tuple(self.variables)
        if isinstance(return_columns, str):
            raise InputError("return_columns must be a list of variable names")
        unknown = [c for c in return_columns if c not in self._var_of]
        if unknown:
            raise InputError(f"unknown variables in return_columns: {unknown}")
        return tuple(dict.fromkeys(return_columns))

    # -- running -------------------------------------------------------------------

    def run(self, params: dict | None = None, n: int | None = None, return_columns: list[str] | None = None,
            final_time: float | None = None, time_step: float | None = None) -> EnsembleResult:
        """Run N members at once and return their saved values.

        ``params`` maps a constant's Vensim name to a number (all members), a 1-D
        array of shape (N,) (one value per member), a 1-D array of shape (S,) or a
        2-D array of shape (N, S) or (1, S) giving the value at each Euler step
        time (:meth:`step_times`, S of them, the final time included). Evaluate a
        time series on ``step_times()``: those are the times PySD uses, so
        ``pandas.Series(values, index=step_times())`` gives PySD the same input.
        A 1-D array whose length is both N and S is refused as ambiguous. Values
        are taken as float64. ``n`` defaults to the length of per-member arrays,
        else 1. ``final_time`` and ``time_step`` override the model's, as in
        PySD's ``run``.

        Results take 8 bytes x kept columns x saved times x N; for large N use
        :meth:`run_chunks`. Unknown names, non-constants, bad shapes or
        non-finite values raise :class:`InputError`.
        """
        columns = self._columns(return_columns)
        ctrl, times, save = self._grid(final_time, time_step)
        inputs = self._inputs(params, n, len(times))
        return self._run(inputs, columns, ctrl, times, save)

    def run_chunks(self, params: dict | None = None, n: int | None = None, chunk_size: int | None = None,
                   return_columns: list[str] | None = None, final_time: float | None = None,
                   time_step: float | None = None) -> Iterator[tuple[int, EnsembleResult]]:
        """Run N members in chunks, yielding ``(first member index, EnsembleResult)`` per chunk.

        The default ``chunk_size`` keeps one chunk's results under about 256 MB
        (8 bytes x kept columns x saved times x members). Per-member parameters
        are sliced per chunk.
        """
        columns = self._columns(return_columns)
        ctrl, times, save = self._grid(final_time, time_step)
        inputs = self._inputs(params, n, len(times))
        if chunk_size is None:
            per_member = 8 * max(1, len(columns)) * max(1, sum(save))
            chunk_size = max(1, CHUNK_BYTES // per_member)
        elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
            raise InputError(f"chunk_size must be a positive integer, not {chunk_size!r}")
        for start in range(0, inputs.n, chunk_size):
            stop = min(inputs.n, start + chunk_size)
            yield start, self._run(inputs.slice(start, stop), columns, ctrl, times, save)

    def _run(self, inputs: _Inputs, columns: tuple, ctrl: dict, times: list, save: list) -> EnsembleResult:
        digits = -int(np.log10(ctrl["time_step"] * RPREC))
        saved = np.array([np.round(t, digits) for t, s in zip(times, save) if s], dtype=float)
        scalar = inputs.n == 1 and not any(v.ndim == 2 for v in inputs.series.values())
        if scalar:
            try:
                with np.errstate(all="ignore"):
                    return self._run_scalar(inputs, columns, ctrl, times, save, saved)
            except (ArithmeticError, ValueError):
                pass  # math.* and Python floats raise where numpy gives inf/nan: use numpy
        with np.errstate(all="ignore"):
            return self._run_vector(inputs, columns, ctrl, times, save, saved)

    def _function(self, plan: _Plan):
        """The compiled simulation function for ``plan`` (memoised)."""
        fn = self._functions.get(plan)
        if fn is None:
            source, per_step, per_run = _Generator(self.ir, plan).build()
            env = dict(_HELPERS)
            env.update(self._tables[plan.scalar])
            if not plan.exact_power:
                env["_vpow"] = _vpow_numpy
            exec(compile(source, f"<shuangta-compiled {self.path and self.path.name}>", "exec"), env)  # noqa: S102
            fn = self._functions[plan] = env["_simulate"]
            fn.source, fn.split = source, (per_step, per_run)
        return fn

    def _flags(self, inputs: _Inputs, ctrl: dict) -> dict:
        """Per smooth with a possibly-integer initial value: is it an int in PySD for this run?"""
        overridden = set(inputs.scalars) | set(inputs.members) | set(inputs.series)

        def is_int(item):
            if item.startswith("@"):  # a control variable, or Time (= INITIAL TIME) at initialisation
                return isinstance(ctrl[item[1:]], int)
            return item not in overridden and isinstance(self._const_default[item], int)

        return {
            j: all(is_int(item) for item in st["int_init"])
            for j, st in enumerate(self.ir["statefuls"])
            if st.get("int_init") is not None
        }

    def _run_scalar(self, inputs, columns, ctrl, times, save, saved) -> EnsembleResult:
        plan = _Plan(True, frozenset(inputs.series), columns)
        fn = self._function(plan)
        consts = dict(self._const_default)
        consts.update(inputs.scalars)
        series = {k: [float(x) for x in v] for k, v in inputs.series.items()}
        rows, inv = fn(consts, series, [float(t) for t in times], save, len(saved), 1,
                       float(ctrl["time_step"]), ctrl["initial_time"], ctrl["final_time"],
                       ctrl["saveper"], self._flags(inputs, ctrl))
        dyn_names, inv_names = fn.split
        table = np.array(rows, dtype=float).reshape(len(saved), len(dyn_names))
        values = {name: table[:, i][None, :] for i, name in enumerate(dyn_names)}
        for name, value in zip(inv_names, inv):
            values[name] = np.full((1, len(saved)), float(value))
        return EnsembleResult(saved, {name: values[name] for name in columns})

    def _run_vector(self, inputs, columns, ctrl, times, save, saved) -> EnsembleResult:
        plan = _Plan(False, frozenset(inputs.series), columns, self.exact_power)
        fn = self._function(plan)
        consts = {k: np.float64(v) for k, v in self._const_default.items()}
        consts.update({k: np.float64(v) for k, v in inputs.scalars.items()})
        consts.update(inputs.members)
        series = {k: (np.ascontiguousarray(v.T) if v.ndim == 2 else v) for k, v in inputs.series.items()}
        out = fn(consts, series, np.asarray(times, dtype=float), save, len(saved), inputs.n,
                 np.float64(ctrl["time_step"]), np.float64(ctrl["initial_time"]),
                 np.float64(ctrl["final_time"]), np.float64(ctrl["saveper"]), self._flags(inputs, ctrl))
        values = {name: out[i].T for i, name in enumerate(columns)}
        return EnsembleResult(saved, values)

    def vector_namespace(self) -> dict:
        """The names the generated vector code refers to besides the model's own: runtime
        helpers and lookup tables. For re-evaluating single equations (see :mod:`sim.analysis.ltm`)."""
        env = dict(_HELPERS)
        env.update(self._tables[False])
        return env

    def source(self, vector: bool = True, series: tuple = (), return_columns=None) -> str:
        """The generated Python source for a run configuration (for reading and debugging)."""
        plan = _Plan(not vector, frozenset(self._const_var[s] for s in series), self._columns(return_columns))
        return self._function(plan).source


# ---------------------------------------------------------------------------
# Compilation with a cache
# ---------------------------------------------------------------------------


def _compiler_tag() -> str:
    """Changes whenever this file or PySD changes, so stale caches are never read."""
    from importlib.metadata import version

    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"v{_FORMAT}-{digest}-pysd{version('pysd')}"


def compile_model(path: str | Path) -> CompiledModel:
    """Compile the ``.mdl`` at ``path``; the translation is cached by the file's SHA-256."""
    path = require_model_file(path)
    digest = file_sha256(path)
    folder = cache_dir() / "compiled"
    target = folder / f"{path.stem}-{digest[:16]}-{_compiler_tag()}.json"
    ir = None
    if target.exists():
        try:
            ir = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            ir = None  # a damaged cache entry is rebuilt
    if ir is None:
        with announce_if_slow(f"compiling {path.name} into the ensemble runner (first use of this version) ..."):
            ir = translate(path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=target.stem, suffix=".tmp")
        except OSError as exc:
            raise cache_error(exc) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(ir, fh, ensure_ascii=False)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return CompiledModel(ir, path=path, sha256=digest)
