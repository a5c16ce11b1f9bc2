"""What the data can tell about fitted quantities: Fisher-information intervals and the correlation of estimates.

The calibration's residuals are relative errors ``r = sqrt(w) (model - data) / data``
and one history figure is known to ``data_error`` (relative, one sigma). Near
the optimum the estimates of the free quantities then have the covariance
``C = data_error^2 (J^T J)^-1`` (Bard 1974, ch. 7), with ``J`` the Jacobian of
the residuals. :func:`fisher` works in the unit cube of the bounds (the
calibration's coordinates) and returns, per quantity, the standard error and
the 95 % interval ``value +- 1.96 se`` in model units, and the correlation
matrix ``C_ij / (se_i se_j)``.

Where ``J^T J`` is singular (more quantities than the data constrain, or two
that act alike) the data say nothing along some direction: every quantity
that loads on such a direction gets an infinite standard error and no
correlation, instead of the too-small figures a pseudo-inverse would give.

This module never prints and never exits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Two-sided 95 % quantile of the standard normal.
Z_95 = 1.959963984540054
#: Singular values of J below this share of the largest count as zero.
RANK_TOL = 1e-3
#: A quantity whose component in a null direction of J exceeds this is not identified along it.
NULL_LOADING = 0.1


def fisher(jacobian: np.ndarray, data_error: float, lower, upper, values, names: list[str]):
    """Standard errors, 95 % intervals and correlations from the Jacobian in unit-cube coordinates.

    ``jacobian`` is (R, P): residuals by quantities, each quantity scaled to
    ``[0, 1]`` over ``[lower, upper]``. Returns ``(table, correlation)``:
    ``table`` has one row per quantity (``name, se, fisher_low, fisher_high,
    fisher_width`` with the width as a share of the bounds, ``inf`` where not
    identified); ``correlation`` is a P x P frame (NaN for unidentified rows).
    """
    J = np.atleast_2d(np.asarray(jacobian, dtype=float))
    lower, upper, values = (np.asarray(a, dtype=float) for a in (lower, upper, values))
    P = len(names)
    width = upper - lower
    se_z = np.full(P, math.inf)
    corr = np.full((P, P), math.nan)
    if J.size and np.all(np.isfinite(J)):
        _, s, vt = np.linalg.svd(J, full_matrices=True)
        s_full = np.zeros(P)
        s_full[: len(s)] = s
        keep = s_full > RANK_TOL * s_full.max() if s_full.max() > 0 else np.zeros(P, dtype=bool)
        null = vt[~keep]                                   # directions the data do not constrain
        blind = np.any(np.abs(null) > NULL_LOADING, axis=0) if len(null) else np.zeros(P, dtype=bool)
        v = vt[keep]
        cov = data_error ** 2 * (v.T / s_full[keep] ** 2) @ v   # pseudo-inverse on the constrained space
        ok = ~blind
        se_z[ok] = np.sqrt(np.clip(np.diag(cov)[ok], 0, None))
        good = ok & (se_z > 0)
        corr[np.ix_(good, good)] = cov[np.ix_(good, good)] / np.outer(se_z[good], se_z[good])
    se = se_z * width
    half = Z_95 * se
    finite = np.isfinite(se)
    table = pd.DataFrame({
        "name": names, "se": se,
        "fisher_low": np.where(finite, np.maximum(values - np.where(finite, half, 0), lower), lower),
        "fisher_high": np.where(finite, np.minimum(values + np.where(finite, half, 0), upper), upper),
        "fisher_width": 2 * Z_95 * se_z,
    })
    return table, pd.DataFrame(corr, index=names, columns=names)


def unit_intervals(jacobian: np.ndarray, data_error: float, z: np.ndarray) -> list[tuple[float, float]]:
    """Fisher 95 % intervals in unit-cube coordinates (clipped to [0, 1]); the whole cube where not identified."""
    P = len(z)
    names = [str(j) for j in range(P)]
    table, _ = fisher(jacobian, data_error, np.zeros(P), np.ones(P), z, names)
    return [(float(a), float(b)) for a, b in zip(table["fisher_low"], table["fisher_high"])]


def strong_correlations(correlation: pd.DataFrame, threshold: float = 0.9) -> list[tuple[str, str, float]]:
    """Pairs of quantities whose estimates correlate beyond ``threshold`` (in absolute value), strongest first."""
    names = list(correlation.index)
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            c = correlation.iat[i, j]
            if np.isfinite(c) and abs(c) >= threshold:
                out.append((names[i], names[j], float(c)))
    return sorted(out, key=lambda t: -abs(t[2]))
