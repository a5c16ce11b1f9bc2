"""A sweep killed with SIGKILL partway and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from sim.errors import InputError
from sim.engine.sweep import run_sweep

GOOD = REPO / "tests" / "data" / "sweeps" / "good"
CHUNK = 25
RUNS = 1500  # 60 chunks of 25: a few seconds in all; the kill lands after about 3 of them
KILL_AFTER = 3  # committed chunks


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("experiments", "outcomes", "target_values")}
    frames["summary"] = pd.read_csv(folder / "summary.csv")
    return frames


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    spec = tmp_path / "lhs_kill.toml"
    spec.write_text((GOOD / "lhs_small.toml").read_text().replace("n = 60", f"n = {RUNS}")
                    .replace('name = "lhs_small"', 'name = "lhs_kill"'))
    out = tmp_path / "killed"
    chunks = out / "chunks"
    command = [sys.executable, "-m", "sim", "-q", "sweep", str(spec), "--out", str(out),
               "--chunk-size", str(CHUNK), "--workers", "1"]
    log = tmp_path / "sweep.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ), stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while len(list(chunks.glob("chunk-*.parquet"))) < KILL_AFTER:
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended before it could be killed: {log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("no chunk committed within 90 s")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = sorted(p.name for p in chunks.glob("chunk-*.parquet"))
    assert KILL_AFTER <= len(committed) < RUNS // CHUNK
    assert not (out / "experiments.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    # Resuming with another spec, or starting afresh in the folder, is refused and changes nothing.
    changed = tmp_path / "changed.toml"
    changed.write_text(spec.read_text().replace("seed = 7", "seed = 9"))
    with pytest.raises(InputError, match="changed since this sweep started"):
        run_sweep(changed, out, resume=True, workers=1)
    with pytest.raises(InputError, match="pass --resume"):
        run_sweep(spec, out, workers=1)
    assert sorted(p.name for p in chunks.glob("chunk-*.parquet")) == committed

    resumed = run_sweep(spec, out, resume=True, workers=1)
    assert resumed.chunks_skipped == len(committed)
    assert resumed.chunks_run == RUNS // CHUNK - len(committed)
    assert not chunks.exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["extra"]["resumes"]) == 1

    whole = run_sweep(spec, tmp_path / "whole", workers=1, chunk_size=CHUNK)
    assert whole.chunks_run == RUNS // CHUNK
    a, b = read_folder(out), read_folder(whole.folder)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
