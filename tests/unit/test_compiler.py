"""The compiled ensemble runner equals PySD on every variable and saved time.

PySD is the reference: each comparison runs a freshly loaded PySD model with
the same parameters (time series as a ``pandas.Series`` on the step times)
and asserts agreement to 1e-9 relative (1e-12 absolute near zero).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model import compiler, functions
from sim.model.compiler import CompiledModel, EnsembleResult, compile_model
from sim.errors import InputError, ModelError, RunError

DATA = Path(__file__).resolve().parent.parent / "data"
MODELS = ["compiler_dynamics.mdl", "compiler_functions.mdl", "compiler_initial_types.mdl", "toy.mdl"]
RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A module-wide folder: model copies for PySD and a translation cache."""
    return tmp_path_factory.mktemp("compiler")


@pytest.fixture(scope="module")
def compiled(workdir):
    """Compiled test models by file name (cache under the temporary folder)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHUANGTA_CACHE", str(workdir / "cache"))
        return {name: compile_model(DATA / name) for name in MODELS}


@pytest.fixture(scope="module")
def translated(workdir):
    """PySD translations of copies of the test models (PySD writes next to the .mdl)."""
    import pysd

    out = {}
    for name in MODELS:
        folder = workdir / "pysd" / Path(name).stem
        folder.mkdir(parents=True)
        shutil.copy(DATA / name, folder / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pysd.read_vensim(str(folder / name), initialize=False)
        out[name] = folder / (Path(name).stem + ".py")
    return out


def pysd_run(py_file: Path, params: dict | None = None, **kwargs) -> pd.DataFrame:
    """A run of a freshly loaded PySD model (its warnings silenced: pytest makes them errors)."""
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.load(str(py_file)).run(params=params or {}, **kwargs)


def as_pysd_params(model: CompiledModel, params: dict, member: int, **kwargs) -> dict:
    """One member's parameters as PySD takes them: numbers, or Series on the step times."""
    steps = model.step_times(**kwargs)
    out = {}
    for name, value in params.items():
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 2:
            out[name] = pd.Series(arr[member if arr.shape[0] > 1 else 0], index=steps)
        elif arr.ndim == 1 and len(arr) == len(steps):
            out[name] = pd.Series(arr, index=steps)
        elif arr.ndim == 1:
            out[name] = float(arr[member])
        else:
            out[name] = float(arr)
    return out


def assert_member_matches(result: EnsembleResult, i: int, reference: pd.DataFrame, variables) -> None:
    """Member ``i`` equals PySD's run on every variable and saved time."""
    np.testing.assert_array_equal(result.times, reference.index.to_numpy(dtype=float))
    for name in variables:
        got = result.values[name][i]
        want = reference[name].to_numpy(dtype=float)
        bad = ~np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
        if bad.any():
            k = int(np.argmax(bad))
            pytest.fail(
                f"member {i}, variable {name!r}: at time {result.times[k]} compiled {got[k]!r} "
                f"!= PySD {want[k]!r} ({int(bad.sum())} of {len(bad)} saved times differ)"
            )


# --- single runs --------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_default_run_matches_pysd(compiled, translated, name):
    model = compiled[name]
    result = model.run()
    assert result.values.keys() == set(model.variables)
    assert_member_matches(result, 0, pysd_run(translated[name]), model.variables)


@pytest.mark.parametrize("name", MODELS)
def test_vector_code_matches_pysd(compiled, translated, name):
    """N > 1 takes the numpy path; every member equals the default PySD run."""
    model = compiled[name]
    result = model.run(n=3)
    reference = pysd_run(translated[name])
    for i in range(3):
        assert_member_matches(result, i, reference, model.variables)


@pytest.mark.parametrize("kwargs", [{"final_time": 2030}, {"time_step": 0.25}, {"final_time": 2027.5, "time_step": 0.5}])
def test_final_time_and_time_step_match_pysd(compiled, translated, kwargs):
    model = compiled["compiler_dynamics.mdl"]
    result = model.run(n=2, **kwargs)
    reference = pysd_run(translated["compiler_dynamics.mdl"], **kwargs)
    assert_member_matches(result, 1, reference, model.variables)
    assert_member_matches(model.run(**kwargs), 0, reference, model.variables)


def test_smooth_with_integer_initial_value_truncates_first_input_like_pysd(compiled, translated):
    """PySD keeps SMOOTH3I(x, t, 0)'s state in an integer array: the first input is truncated."""
    model, py = compiled["compiler_dynamics.mdl"], translated["compiler_dynamics.mdl"]
    as_int = model.run()  # Initial Growth Guess = 0 in the .mdl: an int
    as_float = model.run({"Initial Growth Guess": 0.0})  # a parameter is a float
    name = "Smoothed Growth 3"
    assert not np.allclose(as_int.values[name], as_float.values[name])
    assert_member_matches(as_int, 0, pysd_run(py), [name])
    assert_member_matches(as_float, 0, pysd_run(py, {"Initial Growth Guess": 0.0}), [name])


@pytest.mark.parametrize("kwargs", [{}, {"final_time": 2030}, {"final_time": 2030.0}, {"time_step": 1}, {"Int Constant": 6.0}])
def test_integer_initial_values_follow_pysd_types(compiled, translated, kwargs):
    """Which initial values are ints in PySD: literals, Time, control values, MAX() (no), parameters (no)."""
    model, py = compiled["compiler_initial_types.mdl"], translated["compiler_initial_types.mdl"]
    params = {k: v for k, v in kwargs.items() if k in model.constants}
    options = {k: v for k, v in kwargs.items() if k not in params}
    reference = pysd_run(py, params, **options)
    assert_member_matches(model.run(params, **options), 0, reference, model.variables)
    assert_member_matches(model.run(params, n=2, **options), 1, reference, model.variables)


def test_short_delay_lowers_the_order_per_member_like_pysd(compiled, translated):
    """DELAY3 with delay time < 3 x TIME STEP runs at a lower order, member by member."""
    model, py = compiled["compiler_dynamics.mdl"], translated["compiler_dynamics.mdl"]
    delays = np.array([0.2, 1.5, 0.3, 0.125])
    result = model.run({"Investment Delay": delays})
    for i, d in enumerate(delays):
        reference = pysd_run(py, {"Investment Delay": float(d)})
        assert_member_matches(result, i, reference, model.variables)
        assert_member_matches(model.run({"Investment Delay": float(d)}), 0, reference, model.variables)
    with pytest.raises(RunError, match="Delayed Investment"):
        model.run({"Investment Delay": 0.1})


# --- ensembles ----------------------------------------------------------------------


def test_twenty_members_match_twenty_pysd_runs_dynamics(compiled, translated):
    model, py = compiled["compiler_dynamics.mdl"], translated["compiler_dynamics.mdl"]
    rng = np.random.default_rng(7)
    n, steps = 20, model.step_times()
    params = {
        "Birth Rate": rng.uniform(0.0, 0.1, n),
        "Savings Rate": rng.uniform(0.05, 0.5, n),
        "Investment Delay": rng.uniform(0.2, 3.0, n),  # some below 3 x TIME STEP
        "Smoothing Time": rng.uniform(0.5, 5.0, n),
        "Population Scale": 1.2,
        "Productivity Growth": rng.uniform(0.0, 0.05, (n, 1)) * (1 + np.sin(steps - steps[0])),
    }
    result = model.run(params)
    assert result.n == n and result.values["Population"].shape == (n, len(result.times))
    for i in range(n):
        assert_member_matches(result, i, pysd_run(py, as_pysd_params(model, params, i)), model.variables)


def test_twenty_members_match_twenty_pysd_runs_functions(compiled, translated):
    model, py = compiled["compiler_functions.mdl"], translated["compiler_functions.mdl"]
    rng = np.random.default_rng(11)
    n, steps = 20, model.step_times()
    params = {
        "Pressure Span": rng.uniform(1.0, 6.0, n),
        "Step Height": rng.uniform(0.0, 10.0, n),
        "Decay Time": rng.uniform(1.0, 10.0, n),
        "Demand Scale": 0.9,
        "Growth Knob": np.where(steps < 2027, 0.5, 1.5) + 0.01 * (steps - steps[0]),  # one series for all
    }
    result = model.run(params, n=n)
    for i in range(n):
        assert_member_matches(result, i, pysd_run(py, as_pysd_params(model, params, i)), model.variables)


def test_ensemble_is_bit_for_bit_pysd(compiled, translated):
    """Same operations in the same order, numpy where PySD calls numpy, C pow for ^: equal bits."""
    model, py = compiled["compiler_dynamics.mdl"], translated["compiler_dynamics.mdl"]
    rates = np.array([0.011, 0.027, 0.043])
    model.exact_power = True
    try:
        result = model.run({"Birth Rate": rates, "Productivity Growth": 0.031})
    finally:
        model.exact_power = False
    for i, rate in enumerate(rates):
        reference = pysd_run(py, {"Birth Rate": float(rate), "Productivity Growth": 0.031})
        for name in model.variables:
            np.testing.assert_array_equal(result.values[name][i], reference[name].to_numpy(dtype=float),
                                          err_msg=f"member {i}, variable {name!r}")


def test_power_in_vector_code_is_the_c_library_pow():
    """Positive finite bases give Python's ** bit for bit; special cases keep numpy's answers."""
    rng = np.random.default_rng(0)
    base, exponent = rng.uniform(0.01, 10, 5000), rng.uniform(-3, 3, 5000)
    special = np.array([0.0, -2.0, -2.0, np.inf, np.nan, 1e300]), np.array([2.0, 2.0, 0.5, 1.0, 1.0, 2.0])
    with np.errstate(all="ignore"):  # as in the runner
        np.testing.assert_array_equal(functions._vpow(base, exponent), [a**b for a, b in zip(base.tolist(), exponent.tolist())])
        np.testing.assert_array_equal(functions._vpow(base, 0.3), [a**0.3 for a in base.tolist()])
        np.testing.assert_array_equal(functions._vpow(*special), np.power(*special))
        assert np.isnan(functions._vpow(np.float64(-8.0), 1 / 3))  # nan, not a complex number
        assert np.isnan(functions._vpow(-8.0, 1 / 3))


def test_numpy_power_option_stays_within_tolerance(compiled, translated):
    model, py = compiled["compiler_dynamics.mdl"], translated["compiler_dynamics.mdl"]
    model.exact_power = False
    try:
        result = model.run({"Birth Rate": np.array([0.02, 0.04])})
    finally:
        model.exact_power = True
    assert_member_matches(result, 1, pysd_run(py, {"Birth Rate": 0.04}), model.variables)


@pytest.mark.parametrize("time_step", [None, 0.1])
def test_pysd_series_interpolation_reproduces_step_values(compiled, translated, time_step):
    """PySD interpolates a Series given on step_times() back to exactly those values.

    step_times() are PySD's times, advanced by repeated addition: equal to
    initial_time + k * time_step for a binary-fraction TIME STEP (0.25), within
    1e-10 otherwise (0.1, where the last step is 2034.99999999999 not 2035).
    """
    model = compiled["compiler_functions.mdl"]
    steps = model.step_times(time_step=time_step)
    dt = time_step or model.time_step
    nominal = model.initial_time + np.arange(len(steps)) * dt
    if time_step is None:
        np.testing.assert_array_equal(steps, nominal)
        assert steps[-1] == model.final_time  # the series includes the final time
    else:
        np.testing.assert_allclose(steps, nominal, rtol=0, atol=1e-10)
    values = np.random.default_rng(3).uniform(0, 2, len(steps))
    reference = pysd_run(translated["compiler_functions.mdl"], {"Growth Knob": pd.Series(values, index=steps)},
                         time_step=time_step)
    saved = np.isin(np.round(steps, 6), reference.index.to_numpy(dtype=float))
    assert saved.sum() == len(reference)
    np.testing.assert_array_equal(reference["Growth Knob"].to_numpy(dtype=float), values[saved])
    result = model.run({"Growth Knob": values}, time_step=time_step)
    np.testing.assert_array_equal(result.values["Growth Knob"][0], values[saved])
    assert_member_matches(result, 0, reference, model.variables)


def test_scalar_and_vector_paths_agree(compiled):
    model = compiled["compiler_dynamics.mdl"]
    params = {"Birth Rate": np.array([0.02, 0.04]), "Savings Rate": 0.3}
    both = model.run(params)
    for i, rate in enumerate(params["Birth Rate"]):
        one = model.run({"Birth Rate": rate, "Savings Rate": 0.3})
        for name in model.variables:
            np.testing.assert_array_equal(both.values[name][i], one.values[name][0], err_msg=name)


def test_kept_columns_equal_the_full_run(compiled):
    """Columns not kept are not computed; what is kept is unchanged."""
    model = compiled["compiler_dynamics.mdl"]
    full = model.run({"Birth Rate": np.array([0.01, 0.05])})
    for columns in (["Reported Ratio"], ["Birth Rate", "Population"], ["Life Expectancy"]):
        part = model.run({"Birth Rate": np.array([0.01, 0.05])}, return_columns=columns)
        assert list(part.values) == columns
        for name in columns:
            np.testing.assert_array_equal(part.values[name], full.values[name], err_msg=name)


def test_shared_series_as_one_row(compiled):
    model = compiled["compiler_functions.mdl"]
    series = np.linspace(0, 2, len(model.step_times()))
    as_row = model.run({"Growth Knob": series[None, :]}, n=3)
    as_1d = model.run({"Growth Knob": series}, n=3)
    for name in model.variables:
        np.testing.assert_array_equal(as_row.values[name], as_1d.values[name], err_msg=name)


def test_scalar_code_falls_back_to_numpy_on_float_errors(tmp_path, monkeypatch):
    """Python floats raise on 1/0 and give complex powers; the runner then uses numpy (inf, nan)."""
    monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / "cache"))
    model = compile_model(write_model(tmp_path, "Spike = 1/(Time-2025) ~ ~ |\nRoot = (Time-2025)^0.5 ~ ~ |\n"))
    one, two = model.run(), model.run(n=2)
    k = list(one.times).index(2025.0)
    assert one.values["Spike"][0, k] == np.inf and np.isnan(one.values["Root"][0, 0])
    np.testing.assert_array_equal(one.values["Root"][0, k:], np.sqrt(one.times[k:] - 2025))
    for name in model.variables:
        np.testing.assert_array_equal(one.values[name][0], two.values[name][1], err_msg=name)


def test_runs_do_not_leak(compiled):
    model = compiled["compiler_dynamics.mdl"]
    before = model.run(n=2)
    kept = {k: v.copy() for k, v in before.values.items()}
    rates = np.array([0.09, 0.01])
    changed = model.run({"Birth Rate": rates, "Capital Lifetime": 5}, n=2)
    after = model.run(n=2)
    np.testing.assert_array_equal(rates, [0.09, 0.01])
    assert not np.allclose(changed.values["Population"], after.values["Population"])
    for name in model.variables:
        np.testing.assert_array_equal(after.values[name], kept[name], err_msg=name)
        np.testing.assert_array_equal(before.values[name], kept[name], err_msg=name)
    assert model.constants["Birth Rate"] == 0.03


def test_run_chunks_equal_one_run(compiled):
    model = compiled["compiler_functions.mdl"]
    n, steps = 7, model.step_times()
    params = {
        "Step Height": np.arange(n, dtype=float),
        "Growth Knob": np.outer(np.linspace(0.5, 1.5, n), np.ones(len(steps))),
        "Decay Time": 3.0,
    }
    whole = model.run(params, return_columns=["Accumulated", "Gain", "Growth Knob"])
    starts = []
    for start, chunk in model.run_chunks(params, n, chunk_size=3, return_columns=["Accumulated", "Gain", "Growth Knob"]):
        starts.append(start)
        for name, arr in chunk.values.items():
            np.testing.assert_array_equal(arr, whole.values[name][start:start + chunk.n], err_msg=name)
    assert starts == [0, 3, 6]


def test_run_chunks_default_size_stays_under_budget(compiled, monkeypatch):
    model = compiled["toy.mdl"]
    per_member = 8 * len(model.variables) * len(model.save_times())
    monkeypatch.setattr(compiler, "CHUNK_BYTES", per_member * 4 + 1)
    sizes = [chunk.n for _, chunk in model.run_chunks({"Investment Rate": np.linspace(0.1, 0.5, 10)})]
    assert sizes == [4, 4, 2]


# --- interface and errors ---------------------------------------------------------------


def test_interface(compiled):
    model = compiled["toy.mdl"]
    assert model.variables == ["Capital", "Investment", "Investment Rate", "Depreciation", "Depreciation Rate", "Output"]
    assert model.constants == {"Investment Rate": 0.3, "Depreciation Rate": 0.08}
    assert model.stocks == ["Capital"]
    assert (model.initial_time, model.final_time, model.time_step, model.saveper) == (2020.0, 2035.0, 0.25, 1.0)
    result = model.run(n=2, return_columns=["Output", "Capital"])
    frame = result.member(1)
    assert list(frame.columns) == ["Output", "Capital"] and frame.index.name == "time"
    np.testing.assert_array_equal(frame.index, np.arange(2020.0, 2036.0))
    assert compiled["compiler_dynamics.mdl"].stocks == ["Population", "Capital"]


@pytest.mark.parametrize(
    "params, n, match",
    [
        ({"No Such Lever": 1.0}, None, "not a constant"),
        ({"investment rate": 1.0}, None, "did you mean 'Investment Rate'"),
        ({"Capital": 1.0}, None, "only constants can be set"),
        ({"Output": 1.0}, None, "not a constant"),
        ({"Investment Rate": [0.1, 0.2]}, 3, "members but n = 3"),
        ({"Investment Rate": np.ones((2, 5))}, None, "shape"),
        ({"Investment Rate": np.ones(61)}, 61, "ambiguous"),
        ({"Investment Rate": "high"}, None, "number"),
        ({"Investment Rate": np.nan}, None, "finite"),
        ({"Investment Rate": pd.Series([0.1, 0.2])}, None, "step_times"),
        ({}, 0, "positive integer"),
    ],
)
def test_bad_params_raise_input_error(compiled, params, n, match):
    with pytest.raises(InputError, match=match):
        compiled["toy.mdl"].run(params, n=n)


def test_bad_run_options_raise_input_error(compiled):
    model = compiled["toy.mdl"]
    with pytest.raises(InputError, match="return_columns"):
        model.run(return_columns=["Nope"])
    with pytest.raises(InputError, match="time_step"):
        model.run(time_step=0)
    with pytest.raises(InputError, match="before the initial time"):
        model.run(final_time=2000)


CONTROL = """
********************************************************
	.Control
********************************************************~
	|
FINAL TIME = 2030 ~ Year ~ |
INITIAL TIME = 2020 ~ Year ~ |
SAVEPER = TIME STEP ~ Year ~ |
TIME STEP = 0.5 ~ Year ~ |
"""


def write_model(folder: Path, equations: str) -> Path:
    path = folder / "model.mdl"
    path.write_text("{UTF-8}\n" + equations + CONTROL, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "equation, words",
    [
        ("Y = DELAY FIXED(X, 2, 0) ~ ~ |", ["Y", "DELAY FIXED"]),
        ("Y = RANDOM UNIFORM(0, 1, 0) ~ ~ |", ["Y", "RANDOM UNIFORM"]),
        ("Y = SMOOTH N(X, 2, X, 2) ~ ~ |", ["Y", "SMOOTH N"]),
        ("Y = FOO BAR(X) ~ ~ |", ["Y", "FOO BAR"]),
        ("Y = SAMPLE IF TRUE(Time > 2025, X, 0) ~ ~ |", ["Y", "SAMPLE IF TRUE"]),
        ("Y = ACTIVE INITIAL(X * 2, 1) ~ ~ |", ["Y", "ACTIVE INITIAL"]),
        ("Y = LOOKUP EXTRAPOLATE(T, X) ~ ~ |\nT([(0,0)-(1,1)],(0,0),(1,1)) ~ ~ |", ["Y", "LOOKUP EXTRAPOLATE"]),
        ("Region: North, South ~ ~ |\nY[Region] = X ~ ~ |", ["subscript"]),
        ("Y := GET XLS DATA('a.xlsx', 'b', 'A', 'B2') ~ ~ |", ["Y", "data"]),
        ("Y = Z + 1 ~ ~ |", ["Y", "'z'"]),
    ],
)
def test_unsupported_constructs_raise_model_error_at_compile_time(tmp_path, monkeypatch, equation, words):
    monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / "cache"))
    path = write_model(tmp_path, "X = 1 ~ ~ |\n" + equation + "\n")
    with pytest.raises(ModelError) as err:
        compile_model(path)
    for word in words:
        assert word in str(err.value)


def test_loops_raise_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="algebraic loop"):
        compile_model(write_model(tmp_path, "A = B + 1 ~ ~ |\nB = A * 0.5 ~ ~ |\n"))
    with pytest.raises(ModelError, match="circular initialisation"):
        compile_model(write_model(tmp_path, "S = INTEG(1, R) ~ ~ |\nR = INTEG(1, S) ~ ~ |\n"))


def test_saveper_following_time_step(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / "cache"))
    model = compile_model(write_model(tmp_path, "S = INTEG(X, 0) ~ ~ |\nX = 1 ~ ~ |\n"))
    assert model.saveper == 0.5
    assert len(model.run(time_step=0.25).times) == 41


def test_cache_is_keyed_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUANGTA_CACHE", str(tmp_path / "cache"))
    path = write_model(tmp_path, "S = INTEG(X, 0) ~ ~ |\nX = 1 ~ ~ |\n")
    first = compile_model(path)
    assert len(list((tmp_path / "cache" / "compiled").glob("model-*.json"))) == 1
    monkeypatch.setattr(compiler, "translate", lambda p: pytest.fail("cache not used"))
    assert compile_model(path).run().values["S"][0, -1] == first.run().values["S"][0, -1] == 10
    path.write_text(path.read_text().replace("X = 1", "X = 2"))
    with pytest.raises(pytest.fail.Exception, match="cache not used"):
        compile_model(path)


def test_missing_file_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        compile_model(tmp_path / "absent.mdl")
