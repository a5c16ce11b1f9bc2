"""Sweeps end to end: a grid equals the single runs, failing runs are recorded, the CLI writes and plots.

The references for every run are :func:`sim.engine.run.run_scenario` (what
``shuangta run`` does) and PySD itself (:func:`sim.engine.run.simulate_pysd`); the
sweep evaluates the members together with the compiled ensemble runner.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from sim.errors import InputError
from sim.engine.run import run_scenario, run_spec, simulate_pysd
from sim.specs.levers import LeverValue, Scenario
from sim.engine.chunks import target_quantities
from sim.engine.sweep import run_sweep
from sim.specs.sweep import load_sweep
from sim.plan.targets import evaluate, load_targets

GOOD = REPO / "tests" / "data" / "sweeps" / "good"
#: Sweep (compiled model) against single PySD runs: relative, on every kept value and target quantity.
RTOL = 1e-9
PNG = b"\x89PNG\r\n\x1a\n"


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("experiments", "outcomes", "target_values")}


def test_grid_sweep_equals_single_runs(tmp_path, model):
    spec = GOOD / "grid_small.toml"
    result = run_sweep(spec, tmp_path / "grid", workers=1)
    assert (result.runs, result.failed) == (4, 0)
    sweep = load_sweep(spec, model)
    frames = read_folder(result.folder)
    experiments = frames["experiments"]
    assert experiments["error"].isna().all()
    assert experiments[sweep.factor_names].values.tolist() == [[0.8, 0.35], [0.8, 0.45], [1.6, 0.35], [1.6, 0.45]]
    outcomes = frames["outcomes"]
    assert len(outcomes) == 4 * len(sweep.years)
    values = frames["target_values"].set_index("run_id")
    assert {"T1", "T3", "T7", "T7R", "T8", "T13", "T19B"} <= set(values.columns)
    targets = load_targets()
    for row in experiments.to_dict("records"):
        levers = dict(sweep.base.levers)
        levers.update({name: LeverValue.constant(row[name]) for name in sweep.factor_names})
        scenario = Scenario(name=f"run{row['run_id']}", description="grid member", path=spec,
                            chain=list(sweep.base.chain), levers=levers, run=sweep.base.run)
        mine = outcomes[outcomes["run_id"] == row["run_id"]].set_index("year")
        assert list(mine.index) == sweep.years
        # `shuangta run`'s own path, and PySD itself (the reference from outside our code).
        for single in (run_scenario(model, scenario), simulate_pysd(model, run_spec(model, scenario))):
            for variable in sweep.variables:
                np.testing.assert_allclose(mine[variable].to_numpy(),
                                           single.loc[[float(y) for y in sweep.years], variable],
                                           rtol=RTOL, atol=0, err_msg=variable)
            verdicts = evaluate(targets, single).set_index("id")
            for tid in values.columns:
                np.testing.assert_allclose(values.loc[row["run_id"], tid], verdicts.loc[tid, "value"], rtol=RTOL,
                                           atol=0, err_msg=tid)
    summary = pd.read_csv(result.folder / "summary.csv").set_index("id")
    assert (summary["runs"] == 4).all() and (summary["failed"] == 0).all()
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["extra"]["sweep"]["method"] == "grid" and manifest["extra"]["sweep"]["n"] == 4
    assert manifest["extra"]["sweep"]["content"]["name"] == "grid_small"
    assert not (result.folder / "chunks").exists()


def test_target_quantities_follow_evaluate_on_edge_cases():
    """Vectorised targets agree with sim.plan.targets.evaluate, including undefined growth and interpolation."""
    targets = [t for t in load_targets() if t.id in ("T1", "T6", "T8", "T13")]
    times = np.arange(2020.0, 2027.0)
    rng = np.random.default_rng(1)
    columns = {v: rng.uniform(0.5, 2.0, (3, len(times))) for t in targets for v in t.variables()}
    columns["Urban Disposable Income per Capita"][1, 0] = -1.0  # growth from a negative base: undefined
    quantities = target_quantities(targets, times, columns)
    for member in range(3):
        frame = pd.DataFrame({v: c[member] for v, c in columns.items()}, index=pd.Index(times, name="time"))
        expected = evaluate(targets, frame).set_index("id")["value"]
        np.testing.assert_allclose(quantities[member], expected[[t.id for t in targets]].to_numpy(), rtol=RTOL)
    assert np.isnan(quantities[1, 1])


def test_failing_runs_are_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import sim.engine.chunks as chunks
    import sim.engine.executors as executors

    spec = GOOD / "lhs_small.toml"
    reference = read_folder(run_sweep(spec, tmp_path / "ref", workers=1, chunk_size=10).folder)

    real_simulate, real_chunk = chunks._simulate, executors.evaluate_chunk

    def flaky_simulate(cm, job, rows):
        ids = list(job.start + rows)
        if 5 in ids:
            raise RuntimeError("injected failure")
        result = real_simulate(cm, job, rows)
        if 17 in ids:
            result.values["GDP"][ids.index(17), 2] = np.nan
        return result

    def flaky_chunk(job):
        if job.index == 3:
            raise RuntimeError("injected chunk failure")
        return real_chunk(job)

    monkeypatch.setattr(chunks, "_simulate", flaky_simulate)
    monkeypatch.setattr(executors, "evaluate_chunk", flaky_chunk)
    result = run_sweep(spec, tmp_path / "flaky", workers=1, chunk_size=10)
    assert result.runs == 60 and result.failed == 12
    frames = read_folder(result.folder)
    errors = frames["experiments"].set_index("run_id")["error"]
    assert errors[5] == "RuntimeError: injected failure"
    assert errors[17] == "non-finite value: GDP is nan in 2022"
    assert all(errors[i] == "chunk failed: RuntimeError: injected chunk failure" for i in range(30, 40))
    failed = {5, 17, *range(30, 40)}
    assert set(errors[errors.notna()].index) == failed
    summary = pd.read_csv(result.folder / "summary.csv")
    assert (summary["failed"] == 12).all() and (summary["evaluated"] <= 48).all()
    # Every other run has exactly the values of an undisturbed sweep.
    pd.testing.assert_frame_equal(frames["experiments"].drop(columns="error"),
                                  reference["experiments"].drop(columns="error"))
    for name in ("outcomes", "target_values"):
        mine, ref = frames[name], reference[name]
        keep = ~mine["run_id"].isin(failed)
        pd.testing.assert_frame_equal(mine[keep].reset_index(drop=True), ref[keep].reset_index(drop=True))


def test_local_worker_processes_equal_in_process(tmp_path):
    spec = GOOD / "lhs_small.toml"
    inline = run_sweep(spec, tmp_path / "inline", workers=1, chunk_size=10)
    pooled = run_sweep(spec, tmp_path / "pooled", workers=2, chunk_size=10)
    assert pooled.chunks_run == 6 and pooled.failed == 0
    a, b = read_folder(inline.folder), read_folder(pooled.folder)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_refusals_before_anything_is_written(tmp_path):
    spec = GOOD / "lhs_small.toml"
    out = tmp_path / "s"
    result = run_sweep(spec, out, workers=1, chunk_size=20)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(InputError, match="already holds a sweep; pass --resume"):
        run_sweep(spec, out, workers=1)
    changed = tmp_path / "lhs_small.toml"
    changed.write_text(spec.read_text().replace("seed = 7", "seed = 8"))
    with pytest.raises(InputError, match="changed since this sweep started"):
        run_sweep(changed, out, workers=1, resume=True)
    with pytest.raises(InputError, match="same chunk size"):
        run_sweep(spec, out, workers=1, resume=True, chunk_size=7)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    again = run_sweep(spec, out, workers=1, resume=True)  # complete: nothing to do
    assert again.chunks_run == 0 and again.chunks_skipped == result.chunks
    other = tmp_path / "not_a_sweep"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep folder"):
        run_sweep(spec, other, workers=1, resume=True)


def test_interrupted_while_consolidating_then_resumed(tmp_path, monkeypatch):
    import sim.engine.ensemble as sw

    spec = GOOD / "lhs_small.toml"
    real = sw._consolidate

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sw, "_consolidate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "s", workers=1, chunk_size=20)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len(list((tmp_path / "s" / "chunks").glob("chunk-*.parquet"))) == 3
    monkeypatch.setattr(sw, "_consolidate", real)

    class Bar:
        def __init__(self, total, done):
            self.total, self.done, self.closed = total, done, False

        def update(self, runs):
            self.done += runs

        def close(self):
            self.closed = True

    bars = []
    resumed = run_sweep(spec, tmp_path / "s", workers=1, resume=True,
                        progress=lambda total, done: bars.append(Bar(total, done)) or bars[-1])
    assert resumed.chunks_run == 0 and resumed.chunks_skipped == 3 and resumed.evaluated == 0
    assert (bars[0].total, bars[0].done, bars[0].closed) == (60, 60, True)
    whole = run_sweep(spec, tmp_path / "whole", workers=1, chunk_size=20)
    a, b = read_folder(resumed.folder), read_folder(whole.folder)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_cli_sweep_then_plot(invoke, tmp_path):
    shutil.copy(GOOD / "lhs_small.toml", tmp_path / "lhs_small.toml")
    result = invoke(["sweep", "lhs_small.toml", "--workers", "1", "--chunk-size", "20"], tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "results" / "sweeps" / "lhs_small"
    assert "-> " in result.output and "lhs_small" in result.output
    assert "T1" in result.output and "met in" in result.output
    assert "run/s" in result.stderr  # the progress bar
    quiet = invoke(["-q", "sweep", "lhs_small.toml", "--out", "q", "--workers", "1"], tmp_path)
    assert quiet.exit_code == 0  # -q keeps the summary (the result), drops the progress bar and the timing line
    assert "met in" in quiet.output and "T1" in quiet.output and "run/s" not in quiet.output and "-> " not in quiet.output
    for name in ("experiments.parquet", "outcomes.parquet", "target_values.parquet", "summary.csv", "manifest.json"):
        assert (folder / name).is_file()
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    assert list(outcomes.columns) == ["run_id", "year", "GDP", "Above Scale Industrial Output",
                                      "Urban Disposable Income per Capita", "Unemployment Rate"]
    assert len(outcomes) == 60 * 3
    plotted = invoke(["plot", str(folder), "--out", "plots"], tmp_path)
    assert plotted.exit_code == 0, plotted.output
    pngs = {Path(line).name for line in plotted.output.split()}
    assert {"fan_gdp.png", "fan_unemployment_rate.png", "target_t1.png", "target_t13.png",
            "scatter_t1.png", "scatter_t7.png"} <= pngs
    for name in pngs:
        assert (tmp_path / "plots" / "lhs_small" / name).read_bytes()[:8] == PNG
