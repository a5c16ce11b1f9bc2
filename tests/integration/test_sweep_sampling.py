"""Designs of sweeps (sim.engine.sampling): stratification, reproducibility, and each distribution's shape.

Expectations come from the definitions: a Latin hypercube has one point in
each of the n equal strata of every factor; a scrambled Sobol' sequence of
2^m points too; the mean of a uniform is the midpoint, of a triangle
(lower + mode + upper) / 3; a normal or lognormal truncated symmetrically
around its centre keeps its centre as its median.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.sampling import Factor, design, grid_design, sample_design, unit_sample

#: Sampling error allowed for moments of 20,000 Latin-hypercube points (far above the actual error).
MOMENT_TOLERANCE = 2e-3


@pytest.mark.parametrize("method,n", [("lhs", 1000), ("sobol-sequence", 1024)])
def test_one_point_in_each_stratum(method, n):
    u = unit_sample(method, n, 5, seed=3)
    assert u.shape == (n, 5)
    assert ((u >= 0) & (u < 1)).all()
    for j in range(5):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))


@pytest.mark.parametrize("method", ["lhs", "sobol-sequence", "monte-carlo"])
def test_same_seed_same_design_other_seed_other_design(method):
    a, b, c = (unit_sample(method, 64, 3, seed=s) for s in (11, 11, 12))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sobol_refuses_other_sizes():
    with pytest.raises(ValueError, match="power of 2"):
        unit_sample("sobol-sequence", 100, 2, seed=0)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown sampling method"):
        unit_sample("latin", 10, 2, seed=0)


def _sample(factor: Factor, n: int = 20_000) -> np.ndarray:
    return sample_design([factor], "lhs", n, seed=5)[:, 0]


def test_uniform():
    x = _sample(Factor("a", lower=2.0, upper=6.0))
    assert x.min() >= 2.0 and x.max() <= 6.0
    assert abs(x.mean() - 4.0) < MOMENT_TOLERANCE * 4


def test_normal_is_truncated_to_the_bounds():
    x = _sample(Factor("a", lower=0.3, upper=0.5, distribution="normal", params={"mean": 0.4, "sd": 0.05}))
    assert x.min() >= 0.3 and x.max() <= 0.5
    assert abs(np.median(x) - 0.4) < MOMENT_TOLERANCE
    # Truncated at +-2 sd: the standard deviation shrinks to 0.05 * 0.880 (tables of the truncated normal).
    assert abs(x.std() - 0.05 * 0.8796) < MOMENT_TOLERANCE


def test_triangular_mean_and_mode():
    x = _sample(Factor("a", lower=0.5, upper=2.5, distribution="triangular", params={"mode": 1.0}))
    assert x.min() >= 0.5 and x.max() <= 2.5
    assert abs(x.mean() - (0.5 + 1.0 + 2.5) / 3) < MOMENT_TOLERANCE * 2
    counts, edges = np.histogram(x, bins=20, range=(0.5, 2.5))
    assert edges[np.argmax(counts)] <= 1.0 <= edges[np.argmax(counts) + 1]


def test_lognormal_median_and_bounds():
    # Bounds at median / e and median * e: symmetric in ln x, so the median stays the median.
    f = Factor("a", lower=0.08 / np.e, upper=0.08 * np.e, distribution="lognormal", params={"median": 0.08, "sigma": 0.4})
    x = _sample(f)
    assert x.min() >= f.lower and x.max() <= f.upper
    assert abs(np.median(x) - 0.08) < MOMENT_TOLERANCE * 0.08 * 5
    assert abs(np.log(x).mean() - np.log(0.08)) < MOMENT_TOLERANCE * 5


def test_lognormal_from_zero():
    x = _sample(Factor("a", lower=0.0, upper=1.0, distribution="lognormal", params={"median": 0.2, "sigma": 0.5}))
    assert x.min() > 0 and x.max() <= 1.0


def test_ends_of_the_unit_interval_map_to_the_bounds():
    for dist, params in [("uniform", {}), ("normal", {"mean": 1.0, "sd": 0.3}), ("triangular", {"mode": 1.2}),
                         ("lognormal", {"median": 1.0, "sigma": 0.5})]:
        f = Factor("a", lower=0.5, upper=2.0, distribution=dist, params=params)
        np.testing.assert_allclose(f.ppf(np.array([0.0, 1.0])), [0.5, 2.0], rtol=1e-12)


def test_grid_first_factor_slowest():
    rows = grid_design([Factor("a", values=(1.0, 2.0)), Factor("b", values=(10.0, 20.0, 30.0))])
    assert rows.tolist() == [[1, 10], [1, 20], [1, 30], [2, 10], [2, 20], [2, 30]]
    np.testing.assert_array_equal(design([Factor("a", values=(1.0, 2.0))], "grid"), [[1.0], [2.0]])


@pytest.mark.parametrize("n,seed", [(1, 0), (1000, 3), (70_000, 20210314)])
def test_lhs_design_equals_scipys_sample_through_the_inverse_cdfs(n, seed):
    # sample_design draws the Latin hypercube in blocks to save memory; SciPy's whole draw is the reference.
    factors = [Factor("u", lower=0.5, upper=2.5), Factor("n", lower=0.3, upper=0.5, distribution="normal",
                                                         params={"mean": 0.4, "sd": 0.05}),
               Factor("t", lower=0.3, upper=1.2, distribution="triangular", params={"mode": 1.0}),
               Factor("l", lower=0.02, upper=0.15, distribution="lognormal", params={"median": 0.08, "sigma": 0.4})]
    u = unit_sample("lhs", n, len(factors), seed)
    expected = np.column_stack([f.ppf(u[:, j]) for j, f in enumerate(factors)])
    assert np.array_equal(sample_design(factors, "lhs", n, seed), expected)
