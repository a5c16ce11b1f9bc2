"""Vectorised ensemble runner: a Vensim ``.mdl`` compiled to straight-line numpy code.

The ``.mdl`` stays the one source of truth. PySD's own Vensim parser turns it
into an abstract syntax tree; :mod:`sim.model.translator` walks that tree once
and emits, for every variable, a Python expression in two flavours
(:mod:`sim.model.functions` holds the functions' code and run-time helpers):

* *scalar* code on plain Python floats, used when one parameter set is run
  (``N == 1``; about ten times faster than numpy on arrays of length one), and
* *vector* code on numpy arrays of shape ``(N,)``, used for ensembles.

The emitted expressions, the dependency graph and the stateful objects
(stocks, smooths, delays, trends, initials) form an intermediate
representation that is cached as JSON under :func:`sim.model.files.cache_dir`,
keyed by the ``.mdl``'s SHA-256. For each run configuration (which constants
are time series, which columns are kept) the representation is assembled into
one Python function -- initialisation, then a loop of Euler steps
(:mod:`sim.model.codegen`) -- compiled with :func:`exec` and memoised. This
module holds the runner (:class:`CompiledModel`) and the cached compilation.

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
  statically (:meth:`sim.model.translator._Translator._int_consts`) and decided per run;
* lookups are held flat beyond their ends; their points are round-tripped
  through ``numpy.array2string`` (default precision, 8 digits), as PySD writes them;
* ``a^b^c`` is ``a**(b**c)``; ``a :AND: b :OR: c`` is ``and(a, or(b, c))``;
  PULSE TRAIN's arguments are reordered by the parser; STEP compares
  ``Time + TIME STEP/2``; PULSE, RAMP, MODULO, ZIDZ and XIDZ use 1e-6 as zero;
* Vensim ``^`` is Python's ``**`` in PySD, i.e. the C library's ``pow``;
  POWER, EXP, LN, SQRT, SIN... are numpy calls, whose SIMD kernels differ
  from the C library in the last bit for some inputs. Each is computed the
  same way here, in scalar code; in vector code ``^`` is numpy's power by
  default (``CompiledModel.exact_power = False``: ten times faster, a few ulp
  off PySD), and element by element as PySD computes it with
  ``exact_power = True`` (``_vpow`` in :mod:`sim.model.functions`);
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

import copy
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from sim.errors import InputError, ModelError
from sim.model.codegen import Generator, Plan
from sim.model.functions import HELPERS
from sim.model.files import announce_if_slow, cache_dir, cache_error, file_sha256, require_model_file
from sim.model.translator import IR_FORMAT, clean_name, translate

#: PySD's relative precision for the final time and the saving test (``Time.rprec``).
RPREC = 1e-5
#: Default memory budget of the results of one chunk in :meth:`CompiledModel.run_chunks`.
CHUNK_BYTES = 256 * 2**20


# ---------------------------------------------------------------------------
# Public interface

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
    (in the model's time unit). ``exact_power`` (default False) chooses how Vensim ``^``
    is computed in ensembles: True, exactly as PySD does (bit for bit); False, with numpy's
    power, ten times faster for models with many powers and off PySD only in the last bits. ``ir`` is the
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
        self._functions: dict[Plan, object] = {}
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
        near = [c for c in self._const_var if clean_name(c) == clean_name(name)]
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

    def _function(self, plan: Plan):
        """The compiled simulation function for ``plan`` (memoised)."""
        fn = self._functions.get(plan)
        if fn is None:
            source, per_step, per_run = Generator(self.ir, plan).build()
            env = dict(HELPERS)
            env.update(self._tables[plan.scalar])
            if not plan.exact_power:
                env["_vpow"] = HELPERS["_vpow_numpy"]
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
        plan = Plan(True, frozenset(inputs.series), columns)
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
        plan = Plan(False, frozenset(inputs.series), columns, self.exact_power)
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
        env = dict(HELPERS)
        env.update(self._tables[False])
        return env

    def source(self, vector: bool = True, series: tuple = (), return_columns=None) -> str:
        """The generated Python source for a run configuration (for reading and debugging)."""
        plan = Plan(not vector, frozenset(self._const_var[s] for s in series), self._columns(return_columns))
        return self._function(plan).source


# ---------------------------------------------------------------------------
# Compilation with a cache

#: The compiler's source files (this module, the ones it assembles code with and the one parse), next to this file.
SOURCES = ("functions.py", "translator.py", "codegen.py", "compiler.py", "mdlinfo.py")


def _compiler_tag() -> str:
    """Changes whenever the compiler's source or PySD changes, so stale caches are never read."""
    from importlib.metadata import version

    digest = hashlib.sha256(b"".join(Path(__file__).with_name(f).read_bytes() for f in SOURCES)).hexdigest()[:12]
    return f"v{IR_FORMAT}-{digest}-pysd{version('pysd')}"


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


def with_settings(compiled, initial_time: float | None = None, saveper: float | None = None,
                  constants: dict | None = None):
    """A copy of a :class:`CompiledModel` with other control values or constant defaults.

    ``CompiledModel.run`` sets ``final_time`` and ``time_step`` but not the
    initial time or the save period; both live in the compiled intermediate
    representation, which is copied here (the equations are untouched).
    ``constants`` replaces default values (e.g. calibrated defaults).
    """
    ir = copy.deepcopy(compiled.ir)

    def num(x):  # keep whole numbers as ints: PySD's Time is an int when INITIAL TIME is written as one
        return int(x) if float(x).is_integer() else float(x)

    if initial_time is not None:
        ir["control"]["initial_time"] = ["num", num(initial_time)]
    if saveper is not None:
        ir["control"]["saveper"] = ["num", num(saveper)]
    if constants:
        by_name = {c["name"]: c for c in ir["constants"]}
        unknown = sorted(set(constants) - set(by_name))
        if unknown:
            raise ModelError(f"not constants of the model: {', '.join(unknown)}")
        for name, value in constants.items():
            by_name[name]["value"] = float(value)
    return CompiledModel(ir, path=compiled.path, sha256=compiled.sha256)
