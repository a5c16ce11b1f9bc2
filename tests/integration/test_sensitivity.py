"""Sensitivity studies end to end on the Ishigami function, a Vensim model with known analytic indices.

The same code path as `shuangta sensitivity` (spec -> SALib sample -> ensemble
runner -> SALib analysis) must reproduce the analytic Sobol' indices of the
Ishigami-Homma function (Ishigami and Homma 1990; Saltelli et al. 2008, the
values SALib's own regression tests check) within SALib's tolerances; a
factor no variable reads must get indices near 0; Morris must rank the
factors as SALib's reference run does. Expectations come from the formulas
and from SALib's published values, never from this code.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from sim.errors import InputError
from sim.engine.identity import numbers_identity
from sim.model.loader import load_model
from sim.specs.scenario import load_scenario
from sim.analysis.indices import CONF_THRESHOLD, salib_problem, study_design
from sim.analysis.sensitivity import is_sensitivity_folder, read_sensitivity, run_sensitivity
from sim.specs.study import load_study

DATA = REPO / "tests" / "data" / "sensitivity"
SPEC = DATA / "ishigami.toml"
MODEL = DATA / "ishigami.mdl"
FACTORS = ["x1", "x2", "x3", "x4"]
PNG = b"\x89PNG\r\n\x1a\n"

#: SALib's tolerances for the Ishigami indices (SALib tests/test_regression.py: assert_allclose(..., atol=5e-2, rtol=1e-1)).
SALIB_TOLERANCE = {"atol": 5e-2, "rtol": 1e-1}
#: A factor that cannot affect a metric: |index| below this.
NO_EFFECT = 0.02
#: SALib's vanilla-Morris reference for Ishigami, num_levels = 4 (tests/test_regression.py): mu* of x1, x2, x3.
MORRIS_REFERENCE = [7.767792, 7.875, 6.308785]
#: Our run has 1,000 trajectories, not SALib's 10,000: mu* within 10 % of the reference.
MORRIS_RTOL = 0.1


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict[str, list[float]]:
    """Analytic Sobol' indices of sin x1 + a sin^2 x2 + b x3^4 sin x1, xi ~ U(-pi, pi), and a dummy x4."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": [v1 / v, v2 / v, 0.0, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v, 0.0],
            "S2": {("x1", "x2"): 0.0, ("x1", "x3"): v13 / v, ("x2", "x3"): 0.0}}


@pytest.fixture(scope="module")
def sobol(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sobol") / "ishigami"
    return run_sensitivity(SPEC, folder, model_path=MODEL, workers=1, time_resolved=True)


def main_rows(indices: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = indices[indices["metric"] == metric]
    if "other_factor" in rows.columns:
        rows = rows[rows["other_factor"].isna()]
    return rows.set_index("factor").loc[FACTORS]


def test_analytic_indices_hold_in_the_textbook():
    exact = ishigami_indices()  # the values quoted by Saltelli et al. (2008) and SALib's docstring
    np.testing.assert_allclose(exact["S1"][:3], [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(exact["ST"][:3], [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_sobol_reproduces_the_analytic_ishigami_indices(sobol):
    exact = ishigami_indices()
    rows = main_rows(sobol.indices, "Y 2025")
    np.testing.assert_allclose(rows["S1"], exact["S1"], **SALIB_TOLERANCE)
    np.testing.assert_allclose(rows["ST"], exact["ST"], **SALIB_TOLERANCE)
    pairs = sobol.indices.dropna(subset=["other_factor"])
    pairs = pairs[pairs["metric"] == "Y 2025"].set_index(["factor", "other_factor"])
    for pair, value in exact["S2"].items():
        np.testing.assert_allclose(pairs.loc[pair, "S2"], value, **SALIB_TOLERANCE, err_msg=str(pair))
    # The confidence intervals cover the exact values (N = 4096 is ample).
    for key in ("S1", "ST"):
        assert (abs(rows[key] - exact[key]) <= rows[f"{key}_conf"] + 1e-12).all(), key


def test_a_factor_that_cannot_affect_a_metric_gets_no_index(sobol):
    y = main_rows(sobol.indices, "Y 2025")
    assert abs(y.loc["x4", "ST"]) < NO_EFFECT and abs(y.loc["x4", "S1"]) < NO_EFFECT
    growth = main_rows(sobol.indices, "Level growth")  # 0.05 + 0.01 x1: x2, x3, x4 cannot move it
    assert (growth.loc[["x2", "x3", "x4"], ["S1", "ST"]].abs() < NO_EFFECT).all().all()
    np.testing.assert_allclose(growth.loc["x1", ["S1", "ST"]], 1.0, **SALIB_TOLERANCE)


def test_the_pipeline_evaluates_salibs_design_with_the_model(sobol):
    from SALib.sample import sobol as sobol_sample
    from SALib.test_functions import Ishigami

    experiments = pd.read_parquet(sobol.folder / "experiments.parquet")
    x = experiments[FACTORS].to_numpy()
    assert len(x) == 4096 * (2 * 4 + 2) and experiments["error"].isna().all()
    problem = {"num_vars": 4, "names": FACTORS, "bounds": [[-math.pi, math.pi]] * 4}
    np.testing.assert_array_equal(x, sobol_sample.sample(problem, 4096, calc_second_order=True, seed=20210314))
    values = pd.read_parquet(sobol.folder / "metric_values.parquet")
    np.testing.assert_allclose(values["Y 2025"], Ishigami.evaluate(x[:, :3]), rtol=1e-12, atol=1e-12)
    # Euler with TIME STEP 1: Level grows by exactly its rate each year.
    np.testing.assert_allclose(values["Level growth"], 0.05 + 0.01 * x[:, 0], rtol=1e-12, atol=1e-14)


def test_indices_are_salibs_own(sobol):
    from SALib.analyze import sobol as sobol_analyze

    values = pd.read_parquet(sobol.folder / "metric_values.parquet")
    study = load_study(SPEC, _model(), time_resolved=True)
    si = sobol_analyze.analyze(salib_problem(study.factors)[0], values["Y 2025"].to_numpy(), calc_second_order=True,
                               num_resamples=100, conf_level=0.95, seed=np.random.default_rng(20210314))
    rows = main_rows(sobol.indices, "Y 2025")
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        np.testing.assert_array_equal(rows[key].to_numpy(), si[key], err_msg=key)


def test_folder_files_and_manifest(sobol):
    folder = sobol.folder
    for name in ("indices.csv", "convergence.csv", "oat.csv", "indices_by_year.csv", "metric_values.parquet",
                 "experiments.parquet", "outcomes.parquet", "target_values.parquet", "summary.csv"):
        assert (folder / name).is_file(), name
    assert not (folder / "chunks").exists()
    assert is_sensitivity_folder(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    settings = manifest["extra"]["sensitivity"]
    assert (settings["method"], settings["n"], settings["runs"], settings["second_order"]) == ("sobol", 4096, 40960, True)
    assert settings["salib_problem"]["dists"] == ["unif"] * 4
    assert [m["name"] for m in settings["metrics"]] == ["Y 2025", "Level growth"]
    assert manifest["extra"]["runs"] == {"total": 40960, "ok": 40960, "failed": 0}
    model = load_model(MODEL)
    base = load_scenario(DATA / "ishigami_base.toml", model)
    assert manifest["identity"] == numbers_identity(model, base.resolved_dict())
    columns = list(pd.read_csv(folder / "indices.csv").columns)
    assert columns == ["metric", "factor", "S1", "S1_conf", "ST", "ST_conf", "other_factor", "S2", "S2_conf"]


def test_time_resolved_indices(sobol):
    by_year = sobol.indices_by_year.set_index(["variable", "year", "factor"])
    assert by_year.loc[("Level", 2020), "ST"].isna().all()  # the same in every run: no index
    assert any("Level 2020" in w and "same in every run" in w for w in sobol.warnings)
    for year in range(2021, 2026):
        rows = by_year.loc[("Level", year)]
        np.testing.assert_allclose(rows.loc["x1", "ST"], 1.0, **SALIB_TOLERANCE)
        assert (rows.loc[["x2", "x3", "x4"], "ST"].abs() < NO_EFFECT).all()


def test_one_at_a_time_runs(sobol):
    oat = sobol.oat.fillna({"factor": ""}).set_index(["factor", "setting"])
    # Base: every x at 0, so Y = sin 0 + 7 sin^2 0 + 0.1 * 0 * sin 0 = 0 and Level grows 5 %/yr.
    assert oat.loc[("", "base"), "Y 2025"] == pytest.approx(0.0, abs=1e-12)
    assert oat.loc[("", "base"), "Level growth"] == pytest.approx(0.05, abs=1e-14)
    assert oat.loc[("x1", "low"), "Level growth"] == pytest.approx(0.05 - 0.01 * math.pi, abs=1e-12)
    assert oat.loc[("x1", "high"), "Level growth"] == pytest.approx(0.05 + 0.01 * math.pi, abs=1e-12)
    assert oat.loc[("x1", "high"), "value"] == pytest.approx(math.pi)
    assert oat.loc[("x2", "low"), "Y 2025"] == pytest.approx(7 * math.sin(-math.pi) ** 2, abs=1e-12)
    assert (oat.loc["x1", "base_value"] == 0).all()
    assert len(oat) == 1 + 2 * 4 and oat["error"].isna().all()


def test_convergence_flags_wide_intervals_and_the_power_of_two(tmp_path):
    result = run_sensitivity(SPEC, tmp_path / "small", model_path=MODEL, workers=1, n=48, second_order=False)
    assert result.runs == 48 * (4 + 2)  # refused nothing
    assert any("N = 48 is not a power of 2" in w for w in result.warnings)
    conv = result.convergence.set_index(["metric", "factor"])
    wide = conv[conv["conf"] > CONF_THRESHOLD]
    assert len(wide) and wide["flagged"].all() and not conv.loc[conv["conf"] <= CONF_THRESHOLD, "flagged"].any()
    for (metric, factor), r in wide.iterrows():  # half-widths shrink as 1/sqrt(N): next power of 2 above that N
        needed = math.ceil(48 * (r["conf"] / CONF_THRESHOLD) ** 2)
        assert r["n_needed"] == 2 ** math.ceil(math.log2(needed)) and r["runs_needed"] == r["n_needed"] * 6
    stored = pd.read_csv(result.folder / "convergence.csv")
    assert list(stored["flagged"]) == list(result.convergence["flagged"])


def test_morris_ranks_the_ishigami_factors(tmp_path):
    result = run_sensitivity(SPEC, tmp_path / "morris", model_path=MODEL, workers=1, method="morris", n=1000)
    assert result.runs == 1000 * 5
    rows = main_rows(result.indices, "Y 2025")
    order = rows["mu_star"].sort_values(ascending=False).index.tolist()
    assert order == ["x2", "x1", "x3", "x4"]  # as SALib's reference run
    assert rows.loc["x4", ["mu", "mu_star", "sigma"]].abs().max() == 0
    np.testing.assert_allclose(rows.loc[["x1", "x2", "x3"], "mu_star"], MORRIS_REFERENCE, rtol=MORRIS_RTOL)
    # With 4 levels x2 always jumps between sin^2 = 0 and 3/4: |EE| = 7 * 0.75 / (2/3) exactly.
    assert rows.loc["x2", "mu_star"] == pytest.approx(7.875, rel=1e-9)
    assert list(result.indices.columns) == ["metric", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]


def test_fast_reproduces_the_analytic_ishigami_indices(tmp_path):
    before = np.random.get_state()[1].copy()
    result = run_sensitivity(SPEC, tmp_path / "fast", model_path=MODEL, workers=1, method="fast", n=2048)
    assert np.array_equal(np.random.get_state()[1], before)  # SALib's FAST reseeds numpy: restored
    exact = ishigami_indices()
    rows = main_rows(result.indices, "Y 2025")
    np.testing.assert_allclose(rows["S1"], exact["S1"], **SALIB_TOLERANCE)
    np.testing.assert_allclose(rows["ST"], exact["ST"], **SALIB_TOLERANCE)
    assert any("FAST" in w and "indicative" in w for w in result.warnings)


def test_design_follows_the_sweep_distributions(tmp_path):
    """Every factor means what it means in a sweep file: SALib's unit draw through the factor's inverse CDF."""
    from SALib.sample import fast_sampler, sobol as sobol_sample
    from SALib.sample import morris as morris_sample

    spec = tmp_path / "dists.toml"
    spec.write_text(SPEC.read_text()
                    .replace('base = "ishigami_base"', f'base = "{DATA / "ishigami_base.toml"}"')
                    .replace('name = "x2"\nbounds = [-3.141592653589793, 3.141592653589793]',
                             'name = "x2"\nbounds = [-3.0, 3.0]\ndistribution = "normal"\nmean = 0.5\nsd = 1.0')
                    .replace('name = "x3"\nbounds = [-3.141592653589793, 3.141592653589793]',
                             'name = "x3"\nbounds = [-3.0, 3.0]\ndistribution = "triangular"\nmode = 1.0')
                    .replace('name = "x4"\nbounds = [-3.141592653589793, 3.141592653589793]',
                             'name = "x4"\nbounds = [0.1, 3.0]\ndistribution = "lognormal"\nmedian = 1.0\nsigma = 0.5'))
    model = _model()
    problem, unit = salib_problem(load_study(spec, model).factors)
    assert problem["dists"] == ["unif", "truncnorm", "triang", "unif"] and unit == [3]
    unit_problem = {"num_vars": 4, "names": FACTORS, "bounds": [[0.0, 1.0]] * 4}
    for method, draw in (("sobol", lambda: sobol_sample.sample(unit_problem, 64, calc_second_order=True, seed=20210314)),
                         ("morris", lambda: morris_sample.sample(unit_problem, 64, num_levels=4, seed=20210314)),
                         ("fast", lambda: fast_sampler.sample(unit_problem, 65, M=4, seed=20210314))):
        study = load_study(spec, model, method=method, n=65 if method == "fast" else 64)
        x, _ = study_design(study)
        u = draw()
        for j, f in enumerate(study.factors):
            np.testing.assert_allclose(x[:, j], f.ppf(u[:, j]), rtol=1e-12, atol=1e-12, err_msg=f"{method} {f.name}")
            assert (x[:, j] >= f.lower).all() and (x[:, j] <= f.upper).all()


def test_resume_after_an_interruption_gives_the_same_study(tmp_path, monkeypatch):
    import sim.engine.ensemble as sw

    options = {"model_path": MODEL, "workers": 1, "n": 256, "second_order": False, "chunk_size": 500}
    whole = run_sensitivity(SPEC, tmp_path / "whole", **options)
    real = sw._consolidate

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sw, "_consolidate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sensitivity(SPEC, tmp_path / "s", **options)
    assert len(list((tmp_path / "s" / "chunks").glob("chunk-*.parquet"))) == 4
    monkeypatch.setattr(sw, "_consolidate", real)
    with pytest.raises(InputError, match="already holds a sensitivity study; pass --resume"):
        run_sensitivity(SPEC, tmp_path / "s", **options)
    with pytest.raises(InputError, match="changed since"):  # another N is another design
        run_sensitivity(SPEC, tmp_path / "s", resume=True, **{**options, "n": 512})
    resumed = run_sensitivity(SPEC, tmp_path / "s", resume=True, **options)
    assert resumed.evaluated == 0
    for name in ("indices.csv", "convergence.csv", "oat.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(resumed.folder / name), pd.read_csv(whole.folder / name),
                                      check_exact=True, obj=name)
    again = run_sensitivity(SPEC, tmp_path / "s", resume=True, **options)  # complete: nothing redone
    pd.testing.assert_frame_equal(again.indices, resumed.indices)
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sensitivity study folder"):
        run_sensitivity(SPEC, other, resume=True, **options)


def test_local_processes_and_dask_equal_in_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    options = {"model_path": MODEL, "n": 128, "second_order": False, "chunk_size": 200}
    inline = run_sensitivity(SPEC, tmp_path / "inline", workers=1, **options)
    pooled = run_sensitivity(SPEC, tmp_path / "pooled", workers=2, **options)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                                  silence_logs=50) as cluster:
        remote = run_sensitivity(SPEC, tmp_path / "dask", scheduler=cluster.scheduler_address, **options)
    for other in (pooled, remote):
        assert other.sweep.chunks_run == 4
        pd.testing.assert_frame_equal(other.indices, inline.indices, check_exact=True)
        pd.testing.assert_frame_equal(pd.read_parquet(other.folder / "outcomes.parquet"),
                                      pd.read_parquet(inline.folder / "outcomes.parquet"), check_exact=True)


def test_cli_sensitivity_then_plot(invoke, sobol, tmp_path):
    result = invoke(["sensitivity", SPEC, "--model", MODEL, "--method", "morris", "--n", "20", "--workers", "1",
                     "--out", tmp_path / "m"])
    assert result.exit_code == 0, result.output
    assert "== sensitivity ishigami: morris, N = 20, 4 factors, 100 runs" in result.output
    assert "Y 2025: Y in 2025" in result.output and "mu*" in result.output
    plots = tmp_path / "plots"
    result = invoke(["plot", tmp_path / "m", sobol.folder, "--out", plots])
    assert result.exit_code == 0, result.output
    morris = {p.name for p in (plots / "m").glob("*.png")}
    assert {"morris_y_2025.png", "morris_level_growth.png", "heatmap_mu_star.png", "tornado_y_2025.png",
            "tornado_level_growth.png"} <= morris
    assert {p.name for p in (plots / "ishigami").glob("*.png")} == {
        "indices_y_2025.png", "indices_level_growth.png", "heatmap_st.png", "tornado_y_2025.png",
        "tornado_level_growth.png", "indices_by_year_level.png"}
    assert all(p.read_bytes().startswith(PNG) for p in plots.rglob("*.png"))
    assert read_sensitivity(sobol.folder).method == "sobol"


_MODEL = {}


def _model():
    from sim.model.loader import load_model

    if "m" not in _MODEL:
        _MODEL["m"] = load_model(MODEL)
    return _MODEL["m"]
