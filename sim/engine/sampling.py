"""Experimental designs for sweeps: grids and samples of factors within their bounds.

A *factor* is a model constant (a policy lever or an uncertain parameter)
that a sweep varies. It is either a list of values (for a full-factorial
grid) or an interval ``[lower, upper]`` with a distribution over it:

``uniform``
    every value in the interval equally likely;
``normal``
    a normal distribution with ``mean`` and ``sd``, truncated to the interval;
``triangular``
    a triangle over the interval peaking at ``mode``;
``lognormal``
    ``ln x`` normal with median ``median`` and standard deviation ``sigma``
    (of ``ln x``), truncated to the interval (``lower >= 0``).

Designs are drawn in two steps, both with well-kept libraries and nothing
hand-written: points in the unit hypercube ``[0, 1)^d`` from
:mod:`scipy.stats.qmc` (Latin hypercube, scrambled Sobol' sequence) or a
:class:`numpy.random.Generator` (Monte Carlo), then each column through the
inverse CDF (``ppf``) of its factor's :mod:`scipy.stats` distribution. The
same ``seed`` gives the same design.

Nothing here knows the model; :mod:`sim.specs.sweep` checks factors against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats
from scipy.stats import qmc

__all__ = [
    "METHODS",
    "SAMPLED_METHODS",
    "DISTRIBUTIONS",
    "DISTRIBUTION_PARAMETERS",
    "Factor",
    "unit_sample",
    "grid_design",
    "sample_design",
    "design",
]

#: Every design method a sweep may name.
METHODS = ("grid", "lhs", "sobol-sequence", "monte-carlo")
#: Methods that draw ``n`` points (all but the grid).
SAMPLED_METHODS = ("lhs", "sobol-sequence", "monte-carlo")
#: Distributions of a factor given by ``bounds``.
DISTRIBUTIONS = ("uniform", "normal", "triangular", "lognormal")
#: The parameters each distribution needs (besides the bounds).
DISTRIBUTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "uniform": (),
    "normal": ("mean", "sd"),
    "triangular": ("mode",),
    "lognormal": ("median", "sigma"),
}


@dataclass(frozen=True)
class Factor:
    """One varied constant: grid ``values``, or ``lower``/``upper`` with a distribution.

    ``params`` holds the distribution's parameters by name (see
    :data:`DISTRIBUTION_PARAMETERS`). Construct through :mod:`sim.specs.sweep`,
    which validates; :meth:`ppf` assumes a valid factor.
    """

    name: str
    values: tuple[float, ...] | None = None
    lower: float | None = None
    upper: float | None = None
    distribution: str = "uniform"
    params: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_grid(self) -> bool:
        return self.values is not None

    def frozen(self):
        """The :mod:`scipy.stats` frozen distribution of this factor (truncated to its bounds)."""
        lo, hi, p = float(self.lower), float(self.upper), self.params
        if self.distribution == "uniform":
            return stats.uniform(loc=lo, scale=hi - lo)
        if self.distribution == "normal":
            mean, sd = float(p["mean"]), float(p["sd"])
            return stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
        if self.distribution == "triangular":
            return stats.triang((float(p["mode"]) - lo) / (hi - lo), loc=lo, scale=hi - lo)
        if self.distribution == "lognormal":
            # ln x ~ N(ln median, sigma) truncated to [ln lower, ln upper]; see ppf.
            mu, sigma = math.log(float(p["median"])), float(p["sigma"])
            a = -math.inf if lo <= 0 else (math.log(lo) - mu) / sigma
            return stats.truncnorm(a, (math.log(hi) - mu) / sigma, loc=mu, scale=sigma)
        raise ValueError(f"unknown distribution {self.distribution!r}")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at unit-interval points ``u`` (inverse CDF), kept inside ``[lower, upper]``."""
        u = np.asarray(u, dtype=float)
        x = self.frozen().ppf(u)
        if self.distribution == "lognormal":
            x = np.exp(x)
        return np.clip(x, self.lower, self.upper)

    def outside(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the values of ``x`` this factor cannot take: not finite, outside
        ``[lower, upper]``, or (a grid factor) not one of its values."""
        x = np.asarray(x, dtype=float)
        if self.values is not None:
            return ~np.isin(x, np.asarray(self.values, dtype=float))
        return ~(np.isfinite(x) & (x >= self.lower) & (x <= self.upper))

    def describe(self) -> str:
        """Short text: ``values 0.5, 1, 2`` or ``normal(mean=1, sd=0.2) on [0.5, 2.5]``."""
        if self.values is not None:
            return "values " + ", ".join(f"{v:g}" for v in self.values)
        args = ", ".join(f"{k}={float(v):g}" for k, v in self.params.items())
        return f"{self.distribution}({args}) on [{self.lower:g}, {self.upper:g}]"


def unit_sample(method: str, n: int, d: int, seed: int | None) -> np.ndarray:
    """``n`` points in ``[0, 1)^d`` by ``method`` (``lhs``, ``sobol-sequence``, ``monte-carlo``).

    ``sobol-sequence`` keeps its balance properties only for ``n`` a power of
    two; :mod:`sim.specs.sweep` refuses other sizes before this is called.
    """
    if n < 1 or d < 1:
        raise ValueError(f"need n >= 1 and d >= 1, got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    if method == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random(n)
    if method == "sobol-sequence":
        m = int(n).bit_length() - 1
        if 1 << m != n:
            raise ValueError(f"sobol-sequence needs n a power of 2, got {n}")
        return qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)
    if method == "monte-carlo":
        return rng.random((n, d))
    raise ValueError(f"unknown sampling method {method!r}; allowed: {', '.join(SAMPLED_METHODS)}")


def grid_design(factors: Sequence[Factor]) -> np.ndarray:
    """Every combination of the factors' values, shape ``(prod(len(values)), d)``.

    Row order: the first factor varies slowest, the last fastest (as nested loops
    in the order the factors are given).
    """
    axes = [np.asarray(f.values, dtype=float) for f in factors]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


#: Rows of the unit sample drawn at once by :func:`_lhs_design` (a few MB for any number of factors).
_LHS_BLOCK = 1 << 16


def _lhs_design(factors: Sequence[Factor], n: int, seed: int) -> np.ndarray:
    """:func:`sample_design` for ``lhs``: the same numbers as ``unit_sample("lhs", n, d, seed)`` through
    each factor's inverse CDF, in far less memory.

    SciPy's :class:`~scipy.stats.qmc.LatinHypercube` (with ``rng`` a
    generator, which it replaces by its first spawned child) draws ``n x d``
    uniforms, then shuffles ``1..n`` once per factor, and returns
    ``(permutation - uniform) / n``; it holds about four ``n x d`` arrays. Here
    the same child generator is used twice: once, advanced past the uniforms,
    for the shuffles (kept as 32-bit integers), once for the uniforms, drawn a
    block of rows at a time; each block is mapped through the inverse CDFs
    into the result. Peak: the result and the permutations (12 bytes a run
    and factor). The test suite checks the result against SciPy's bit for bit.
    """
    d = len(factors)

    def child():
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(1)[0]))

    uniforms, shuffler = child(), child()
    shuffler.bit_generator.advance(n * d)  # the uniforms come first in SciPy's stream
    perms = np.empty((d, n), dtype=np.int32 if n < 2**31 else np.int64)
    for j in range(d):
        perms[j] = np.arange(1, n + 1)
        shuffler.shuffle(perms[j])
    out = np.empty((n, d), order="F")
    for start in range(0, n, _LHS_BLOCK):
        rows = min(_LHS_BLOCK, n - start)
        u = uniforms.uniform(size=(rows, d))
        for j, f in enumerate(factors):
            out[start:start + rows, j] = f.ppf((perms[j, start:start + rows] - u[:, j]) / n)
    return out


def sample_design(factors: Sequence[Factor], method: str, n: int, seed: int | None) -> np.ndarray:
    """``n`` sampled rows, one column per factor, each through its distribution's inverse CDF."""
    if method == "lhs" and seed is not None and n >= 1 and factors:
        return _lhs_design(factors, n, seed)
    out = unit_sample(method, n, len(factors), seed)
    for j, f in enumerate(factors):  # in place, a column at a time: one n x d array in memory
        out[:, j] = f.ppf(out[:, j])
    return out


def design(factors: Sequence[Factor], method: str, n: int | None = None, seed: int | None = None) -> np.ndarray:
    """The design matrix of a sweep: :func:`grid_design` for ``grid``, else :func:`sample_design`."""
    if method == "grid":
        return grid_design(factors)
    if n is None:
        raise ValueError(f"method {method!r} needs n")
    return sample_design(factors, method, n, seed)
