"""A sweep on a dask.distributed cluster equals the same sweep run locally, value for value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from sim.engine.sweep import run_sweep

distributed = pytest.importorskip("distributed")

GOOD = REPO / "tests" / "data" / "sweeps" / "good"
CHUNK = 10


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("experiments", "outcomes", "target_values")}
    frames["summary"] = pd.read_csv(folder / "summary.csv")
    return frames


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    folder = tmp_path_factory.mktemp("local") / "lhs_small"
    return read_folder(run_sweep(GOOD / "lhs_small.toml", folder, workers=1, chunk_size=CHUNK).folder)


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_dask_cluster_equals_local(processes, local, tmp_path):
    # processes=True: two worker processes over TCP, each compiling the model itself, as on a real cluster.
    network = {"host": "127.0.0.1"} if processes else {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0",
                                  silence_logs=50, **network) as cluster:
        result = run_sweep(GOOD / "lhs_small.toml", tmp_path / "dask", scheduler=cluster.scheduler_address,
                           chunk_size=CHUNK)
        assert result.chunks_run == 6 and result.failed == 0
    remote = read_folder(result.folder)
    for name in local:
        pd.testing.assert_frame_equal(remote[name], local[name], check_exact=True, obj=name)
