"""The Vensim functions the compiler supports, and the run-time helpers of the code it generates.

Tables map each Vensim function to its code in two flavours (scalar code on
Python floats, vector code on numpy arrays), as PySD 3.14's builders write
it; the helpers (``_vpow``, ``_zidz``, ``_lk``, delays...) are what that code
calls, bound into its namespace through :data:`HELPERS`. See
:mod:`sim.model.compiler` for why each one computes as it does.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from sim.errors import RunError

#: What Vensim (and PySD) consider zero in ZIDZ, XIDZ, RAMP, PULSE, MODULO.
SMALL_VENSIM = 1e-6


T0_MARK = "@initial_time"  # in a smooth's int_init: Time at initialisation must be an int


CONTROL = {
    "initial_time": "INITIAL TIME",
    "final_time": "FINAL TIME",
    "time_step": "TIME STEP",
    "saveper": "SAVEPER",
}


CONTROL_VARIABLES = {"initial_time": "_t0", "final_time": "_tf", "time_step": "_dt", "saveper": "_sp"}


ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/"}


COMPARISONS = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


# One-argument functions: Vensim name -> (scalar code, vector code). PySD calls numpy
# (np.exp(x) on a Python float), whose SIMD kernels differ from the C library's (math.exp)
# in the last bit for some inputs, so the scalar code calls numpy too.
UNARY_FUNCTIONS = {
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
NUMPY_FUNCTIONS = {name for name in UNARY_FUNCTIONS if name != "integer"} | {"min", "max", "power", "log", "pi"}


# Functions of several numeric arguments: name -> (arity, scalar code, vector code, uses Time).
NARY_FUNCTIONS = {
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


# Run-time helpers used by the generated code (scalar and vector flavours)


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


HELPERS = {
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
