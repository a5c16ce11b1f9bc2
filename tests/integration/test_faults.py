"""Fault injection into sweep folders: damaged chunks, design and manifest; signals; changed inputs; workers.

Every sweep here runs a copy of the model (with its calibration file) and of
the targets file in ``tmp_path`` (``SHUANGTA_TARGETS``), so the faults never
touch the repository. The reference is the same sweep run without a fault:
after any recoverable fault a resumed sweep must equal it value for value.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import MODEL_FILE, REPO
from sim.errors import InputError, Interrupted
from sim.engine.identity import IdentityError
from sim.engine.sweep import run_sweep
from sim.engine.sweep_folder import format_summary
from sim.plan.targets import DEFAULT_TARGETS, TARGETS_ENV, load_targets

GOOD = REPO / "tests" / "data" / "sweeps" / "good"
CHUNK = 10
RUNS = 60  # lhs_small: 6 chunks of 10
FRAMES = ("experiments", "outcomes", "target_values")


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in FRAMES}


def assert_same(folder: Path, reference: dict[str, pd.DataFrame]) -> None:
    got = read_folder(folder)
    for name in FRAMES:
        pd.testing.assert_frame_equal(got[name], reference[name], check_exact=True, obj=name)
    assert got["experiments"]["run_id"].tolist() == list(range(RUNS))


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A copy of the model with its calibration file, and of the targets file (``SHUANGTA_TARGETS``)."""
    model = tmp_path / "model" / MODEL_FILE.name
    (model.parent / "data").mkdir(parents=True)
    shutil.copy2(MODEL_FILE, model)
    shutil.copy2(MODEL_FILE.parent / "data" / "calibration.csv", model.parent / "data" / "calibration.csv")
    targets = tmp_path / "targets.toml"
    shutil.copy2(DEFAULT_TARGETS, targets)
    monkeypatch.setenv(TARGETS_ENV, str(targets))
    return {"model": model, "calibration": model.parent / "data" / "calibration.csv", "targets": targets}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep (the repository's own model, calibration and targets: equal content)."""
    folder = tmp_path_factory.mktemp("reference") / "lhs_small"
    run_sweep(GOOD / "lhs_small.toml", folder, workers=1, chunk_size=CHUNK)
    return read_folder(folder)


def interrupted_sweep(out: Path, model: Path, monkeypatch) -> None:
    """Every chunk committed, then stopped before consolidation (manifest ``interrupted``)."""
    import sim.engine.ensemble as sw

    def stop(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(sw, "_consolidate", stop)
        with pytest.raises(Interrupted, match="rerun with --resume"):
            run_sweep(GOOD / "lhs_small.toml", out, model_path=model, workers=1, chunk_size=CHUNK)
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


def resume(out: Path, model: Path, **options):
    return run_sweep(GOOD / "lhs_small.toml", out, model_path=model, workers=1, resume=True, **options)


def chunk(out: Path, i: int) -> Path:
    return out / "chunks" / f"chunk-{i:05d}.parquet"


def add_calibration_row(path: Path, change) -> None:
    """Append a copy of the first row, changed by ``change(row)`` (rows are dicts)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    row = dict(rows[0])
    change(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows([*rows, row])


def flip_bytes(path: Path, count: int, seed: int) -> None:
    """Overwrite ``count`` random bytes in the middle half of ``path`` with other values."""
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for k in rng.sample(range(len(data) // 4, 3 * len(data) // 4), count):
        data[k] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ chunks


CHUNK_FAULTS = {
    "swap": lambda out: shutil.copy2(chunk(out, 1), chunk(out, 2)),
    "truncate": lambda out: chunk(out, 2).write_bytes(chunk(out, 2).read_bytes()[: chunk(out, 2).stat().st_size // 2]),
    "bit-flip": lambda out: flip_bytes(chunk(out, 2), 64, seed=2),
    "index line lost": lambda out: (out / "chunks" / "index.jsonl").write_text(
        "".join(line + "\n" for line in (out / "chunks" / "index.jsonl").read_text().splitlines()
                if json.loads(line)["chunk"] != 2)),
}


@pytest.mark.parametrize("fault", list(CHUNK_FAULTS))
def test_damaged_chunk_is_evaluated_again_with_a_warning(fault, inputs, reference, tmp_path, monkeypatch, caplog):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    CHUNK_FAULTS[fault](out)
    with caplog.at_level(logging.WARNING, logger="sim.engine.ensemble"):
        result = resume(out, inputs["model"])
    assert result.chunks_run == 1 and result.chunks_skipped == RUNS // CHUNK - 1
    warned = [r.getMessage() for r in caplog.records if "evaluating the chunk again" in r.getMessage()]
    assert len(warned) == 1 and "chunk-00002.parquet" in warned[0]
    assert_same(out, reference)


def test_swapped_chunk_and_index_lines_are_caught_by_the_run_range(inputs, reference, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    shutil.copy2(chunk(out, 1), chunk(out, 2))  # the copy's line, relabelled as chunk 2's: hash matches, range not
    index = out / "chunks" / "index.jsonl"
    lines = [json.loads(line) for line in index.read_text().splitlines()]
    line1 = next(e for e in lines if e["chunk"] == 1)
    index.write_text(index.read_text() + json.dumps({**line1, "chunk": 2}) + "\n")
    result = resume(out, inputs["model"])
    assert result.chunks_run == 1
    assert_same(out, reference)


# ------------------------------------------------------------------ design


@pytest.mark.parametrize("fault", ["bit-flip", "truncate", "other seed", "missing"])
def test_damaged_design_is_drawn_again_from_the_seed(fault, inputs, reference, tmp_path, monkeypatch, caplog):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    design = out / "chunks" / "design.parquet"
    if fault == "bit-flip":
        flip_bytes(design, 64, seed=3)
    elif fault == "truncate":
        design.write_bytes(design.read_bytes()[:100])
    elif fault == "other seed":
        other = tmp_path / "other.toml"
        other.write_text((GOOD / "lhs_small.toml").read_text().replace("seed = 7", "seed = 8"))
        run_sweep(other, tmp_path / "o", model_path=inputs["model"], workers=1, chunk_size=CHUNK)
        frame = pd.read_parquet(tmp_path / "o" / "experiments.parquet").drop(columns="error")
        frame.to_parquet(design, index=False)
    else:
        design.unlink()
    with caplog.at_level(logging.WARNING, logger="sim.engine.ensemble"):
        result = resume(out, inputs["model"])
    if fault != "missing":
        assert any("design.parquet" in r.getMessage() and "drawn again" in r.getMessage() for r in caplog.records)
    assert result.chunks_run == 0
    assert_same(out, reference)


def test_design_that_cannot_be_redrawn_is_refused(inputs, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["extra"]["sweep"]["design_sha256"] = "0" * 64  # the recorded hash no draw reproduces
    (out / "manifest.json").write_text(json.dumps(manifest))
    flip_bytes(out / "chunks" / "design.parquet", 64, seed=4)
    with pytest.raises(InputError, match="does not reproduce the recorded design hash"):
        resume(out, inputs["model"])


def test_values_outside_the_bounds_never_run():
    from sim.engine.chunkstore import check_design
    from sim.engine.sampling import Factor

    factors = [Factor("a", lower=1.5, upper=4.0), Factor("g", values=(1.0, 2.0))]
    good = pd.DataFrame({"run_id": [0, 1], "a": [1.5, 4.0], "g": [2.0, 1.0]})
    check_design(pa.Table.from_pandas(good), factors, 2, "design")
    for column, value in (("a", -5e136), ("a", 4.0000001), ("a", np.nan), ("g", 1.5)):
        bad = good.copy()
        bad.loc[1, column] = value
        with pytest.raises(InputError, match=f"of '{column}' lie outside"):
            check_design(pa.Table.from_pandas(bad), factors, 2, "design")


# ------------------------------------------------------------------ manifest


@pytest.mark.parametrize("fault", ["bit-flip", "truncate", "swap"])
def test_damaged_or_swapped_manifest_refuses_the_resume(fault, inputs, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    manifest = out / "manifest.json"
    if fault == "bit-flip":
        text = manifest.read_text()
        manifest.write_text(text.replace('"kind": "sweep"', '"kind": "swe\x05p"'))
        expected = "not a sweep folder"
    elif fault == "truncate":
        manifest.write_bytes(manifest.read_bytes()[:200])
        expected = "not a sweep folder"
    else:
        other = tmp_path / "other.toml"
        other.write_text((GOOD / "lhs_small.toml").read_text().replace("seed = 7", "seed = 8"))
        run_sweep(other, tmp_path / "o", model_path=inputs["model"], workers=1, chunk_size=CHUNK)
        shutil.copy2(tmp_path / "o" / "manifest.json", manifest)
        expected = "changed since this sweep started"
    chunks = {p.name: p.read_bytes() for p in (out / "chunks").iterdir()}
    with pytest.raises(InputError, match=expected):
        resume(out, inputs["model"])
    assert {p.name: p.read_bytes() for p in (out / "chunks").iterdir()} == chunks


# ------------------------------------------------------------------ inputs changed between stop and resume


def test_changed_calibration_refuses_the_resume(inputs, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    # One more applied row: a constant's calibrated default.
    add_calibration_row(inputs["calibration"], lambda row: row.update(scope="default"))
    with pytest.raises(IdentityError, match="calibrated defaults applied") as caught:
        resume(out, inputs["model"])
    assert "targets' definitions" not in str(caught.value) and "model file" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_calibration_rows_not_applied_do_not_block_the_resume(inputs, reference, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    # A row for another model, and one of scope history, are not applied to this one.
    add_calibration_row(inputs["calibration"], lambda row: row.update(model="another.mdl", scope="default"))
    add_calibration_row(inputs["calibration"], lambda row: row.update(scope="history", value="1.5"))
    resume(out, inputs["model"])
    assert_same(out, reference)


def test_changed_target_refuses_the_resume(inputs, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    text = inputs["targets"].read_text()
    assert "year = 2025" in text
    inputs["targets"].write_text(text.replace("year = 2025", "year = 2026", 1))
    with pytest.raises(IdentityError, match=r"the targets' definitions \(the targets file\)"):
        resume(out, inputs["model"])


def test_comment_in_targets_file_does_not_block_the_resume(inputs, reference, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    inputs["targets"].write_text("# a comment changes no definition\n" + inputs["targets"].read_text())
    resume(out, inputs["model"])
    assert_same(out, reference)


def test_resume_of_a_missing_folder_is_an_error(inputs, tmp_path):
    with pytest.raises(InputError, match="no such folder to resume"):
        resume(tmp_path / "never", inputs["model"])
    assert not (tmp_path / "never").exists()


def test_stale_temporary_files_are_removed_on_resume(inputs, reference, tmp_path, monkeypatch):
    out = tmp_path / "s"
    interrupted_sweep(out, inputs["model"], monkeypatch)
    stale = [out / ".outcomes.parquet.tmp-99999", out / "chunks" / ".chunk-00003.parquet.tmp-99999"]
    for path in stale:
        path.write_bytes(b"x" * 1000)
    resume(out, inputs["model"])
    assert not any(p.exists() for p in stale)
    assert not list(out.glob(".*.tmp-*"))
    assert_same(out, reference)


# ------------------------------------------------------------------ workers with other inputs


def _change_calibration_when_runs_start(calibration: Path):
    """A ``progress`` callback that edits an applied calibration value once the sweep is set up."""

    class Bar:
        def __init__(self, total, done):
            add_calibration_row(calibration, lambda row: row.update(scope="default"))

        def update(self, runs):
            pass

        def close(self):
            pass

    return Bar


def test_local_worker_with_other_calibration_refuses(inputs, tmp_path):
    with pytest.raises(IdentityError, match="refused chunk .* calibrated defaults applied"):
        run_sweep(GOOD / "lhs_small.toml", tmp_path / "w", model_path=inputs["model"], workers=2, chunk_size=CHUNK,
                  progress=_change_calibration_when_runs_start(inputs["calibration"]))
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "refused chunk" in manifest["error"]
    assert not list((tmp_path / "w" / "chunks").glob("chunk-*.parquet"))


def test_dask_worker_with_other_calibration_refuses(inputs, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0",
                                  silence_logs=50) as cluster:
        with pytest.raises(IdentityError, match="refused chunk .* calibrated defaults applied"):
            run_sweep(GOOD / "lhs_small.toml", tmp_path / "d", model_path=inputs["model"],
                      scheduler=cluster.scheduler_address, chunk_size=CHUNK,
                      progress=_change_calibration_when_runs_start(inputs["calibration"]))
    assert not list((tmp_path / "d" / "chunks").glob("chunk-*.parquet"))


# ------------------------------------------------------------------ summaries


def test_summary_lists_the_targets_it_could_not_evaluate(inputs, tmp_path):
    result = run_sweep(GOOD / "lhs_small.toml", tmp_path / "s", model_path=inputs["model"], workers=1)
    kept = {"GDP", "Above Scale Industrial Output", "Urban Disposable Income per Capita", "Unemployment Rate"}
    targets = load_targets()
    expected = {t.id for t in targets if not (t.evaluable and t.variable and set(t.variables()) <= kept)}
    assert expected and len(expected) < len(targets)
    summary = pd.read_csv(tmp_path / "s" / "summary.csv", keep_default_na=False)
    skipped = summary[summary["reason"] != ""]
    assert set(skipped["id"]) == expected
    assert (skipped["evaluated"] == 0).all()
    for t in targets:
        if t.id in expected and t.evaluable and t.variable:
            missing = sorted(set(t.variables()) - kept)
            row = skipped.set_index("id").loc[t.id]
            assert missing[0] in row["reason"]
            assert (row["comparison"], float(row["threshold"]), int(row["year"])) == (t.comparison, t.threshold, t.year)
    text = format_summary(result.summary)
    assert "not evaluated:" in text and all(f"  {i}: " in text for i in expected)


# ------------------------------------------------------------------ signals


SIGNAL_RUNS, SIGNAL_CHUNK = 400, 10


def _signal_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "lhs_signal.toml"
    spec.write_text((GOOD / "lhs_small.toml").read_text().replace("n = 60", f"n = {SIGNAL_RUNS}")
                    .replace('name = "lhs_small"', 'name = "lhs_signal"'))
    return spec


@pytest.fixture(scope="module")
def signal_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signal")
    result = run_sweep(_signal_spec(folder), folder / "whole", workers=1, chunk_size=SIGNAL_CHUNK)
    return {name: pd.read_parquet(result.folder / f"{name}.parquet") for name in FRAMES}


CASES = [(s, w) for s in ("SIGINT", "SIGTERM", "SIGKILL") for w in (1, 2)]


def _default_signal_handling() -> None:
    """In the child: SIGINT and SIGTERM at their defaults. A shell without job control starts background
    commands with SIGINT ignored, and a child inherits that; the sweep must see the signal as a user's would."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("name,workers", CASES, ids=[f"{s}-workers{w}" for s, w in CASES])
def test_signal_at_a_random_point_then_resume(name, workers, inputs, signal_reference, tmp_path):
    sig = getattr(signal, name)
    spec = _signal_spec(tmp_path)
    out = tmp_path / "out"
    after = random.Random(f"{name}{workers}").randrange(1, SIGNAL_RUNS // SIGNAL_CHUNK - 10)
    command = [sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(out), "--chunk-size", str(SIGNAL_CHUNK),
               "--workers", str(workers), "--model", str(inputs["model"])]
    proc = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_default_signal_handling)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "chunks").glob("chunk-*.parquet"))) < after:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended before the signal: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {after} chunks within 120 s")
            time.sleep(0.002)
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = err.decode()
    manifest = json.loads((out / "manifest.json").read_text())
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL and manifest["status"] == "running"
    else:
        assert proc.returncode == 128 + sig, err
        assert manifest["status"] == "interrupted"
        hint = [line for line in err.splitlines() if "--resume" in line]
        assert len(hint) == 1 and str(out) in hint[0], err
        assert "Traceback" not in err and "leaked" not in err, err
    result = run_sweep(spec, out, model_path=inputs["model"], workers=1, resume=True)
    assert result.chunks_skipped >= after - workers * 2
    for frame in FRAMES:
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{frame}.parquet"), signal_reference[frame],
                                      check_exact=True, obj=frame)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_sigterm_stops_a_sensitivity_study_which_then_resumes(tmp_path):
    from sim.analysis.sensitivity import run_sensitivity

    data = REPO / "tests" / "data" / "sensitivity"
    options = ["--n", "1024", "--no-second-order", "--chunk-size", "256", "--workers", "1", "--model",
               str(data / "ishigami.mdl")]
    out = tmp_path / "study"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sensitivity", str(data / "ishigami.toml"), "--out", str(out),
                             *options], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "chunks").glob("chunk-*.parquet"))) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no signal sent: {proc.stderr.read().decode() if proc.poll() is not None else 'timeout'}")
            time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err.decode()
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert "--resume" in err.decode() and "Traceback" not in err.decode()
    kwargs = {"model_path": data / "ishigami.mdl", "n": 1024, "second_order": False, "chunk_size": 256, "workers": 1}
    resumed = run_sensitivity(data / "ishigami.toml", out, resume=True, **kwargs)
    whole = run_sensitivity(data / "ishigami.toml", tmp_path / "whole", **kwargs)
    assert resumed.evaluated < whole.evaluated
    pd.testing.assert_frame_equal(resumed.indices, whole.indices, check_exact=True)


def test_lost_scheduler_gives_one_line(tmp_path):
    pytest.importorskip("distributed")
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dask").is_file():
        pytest.skip("needs the dask command line")
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    info = tmp_path / "scheduler.json"
    spec = _signal_spec(tmp_path)
    started = []
    try:
        scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(info)], cwd=tmp_path, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(scheduler)
        deadline = time.monotonic() + 60
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        address = json.loads(info.read_text())["address"]
        started.append(subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                         "--no-dashboard"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        out = tmp_path / "out"
        sweep = subprocess.Popen([sys.executable, "-m", "sim", "-q", "sweep", str(spec), "--out", str(out),
                                  "--chunk-size", str(SIGNAL_CHUNK), "--scheduler", address], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(sweep)
        deadline = time.monotonic() + 120
        while not list((out / "chunks").glob("chunk-*.parquet")):
            if sweep.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no chunk before the scheduler stopped: {sweep.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        scheduler.kill()
        _, err = sweep.communicate(timeout=120)
    finally:
        for proc in started:  # SIGTERM first: a dask worker's nanny then ends its worker process
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert sweep.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("error: lost the dask scheduler at " + address), lines
    assert "rerun with --resume" in lines[0]
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
