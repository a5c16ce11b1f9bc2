"""Result folders: atomic writes, manifests, the round trip."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine import results
from sim.errors import InputError, SimError
from sim.engine.results import (
    MANIFEST,
    TARGETS,
    TIMESERIES,
    atomic_write_bytes,
    atomic_write_text,
    build_manifest,
    content_sha256,
    finish_manifest,
    read_run,
    run_files,
    write_run,
)
from sim.plan.targets import evaluate, load_targets


def timeseries() -> pd.DataFrame:
    years = np.arange(2020, 2026, dtype=float)
    return pd.DataFrame(
        {"GDP": 142.78 * 2 ** ((years - 2020) / 5), "Unemployment Rate": np.full(len(years), 0.04)},
        index=pd.Index(years, name="time"),
    )


def manifest(tmp_path: Path) -> dict:
    model = tmp_path / "model.mdl"
    model.write_text("{UTF-8}\nx = 1 ~ Dmnl ~ |\n", encoding="utf-8")
    return build_manifest(["shuangta", "run", "plan.toml"], model, {"name": "plan", "levers": {"a": 1}}, seed=7)


def debris(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- atomic folders


def test_write_run_writes_everything_and_leaves_no_debris(tmp_path):
    out = tmp_path / "results"
    path = write_run(out / "plan", {"a.txt": "中文 text", "b.bin": b"\x00\x01", "sub/c.csv": timeseries()}, {"k": 1})
    assert path == out / "plan"
    assert sorted(p.name for p in path.iterdir()) == ["a.txt", "b.bin", MANIFEST, "sub"]
    assert (path / "a.txt").read_text(encoding="utf-8") == "中文 text"
    assert (path / "b.bin").read_bytes() == b"\x00\x01"
    assert (path / "sub" / "c.csv").read_text().startswith("time,GDP,")
    assert json.loads((path / MANIFEST).read_text(encoding="utf-8")) == {"k": 1}
    assert debris(out) == []


def test_failure_mid_write_leaves_no_folder_and_no_tmp(tmp_path):
    files = {"a.txt": "written first", "b.txt": object()}  # the second cannot be written
    with pytest.raises(InputError, match="b.txt"):
        write_run(tmp_path / "plan", files, {})
    assert list(tmp_path.iterdir()) == []


def test_failure_at_the_final_rename_leaves_the_old_folder_whole(tmp_path, monkeypatch):
    write_run(tmp_path / "plan", {"old.txt": "old"}, {"v": 1})
    real_rename = os.rename

    def failing(src, dst):
        if Path(src).name.startswith(".plan.tmp-"):
            raise OSError("disk full")
        return real_rename(src, dst)

    monkeypatch.setattr(results.os, "rename", failing)
    with pytest.raises(SimError, match="disk full"):
        write_run(tmp_path / "plan", {"new.txt": "new"}, {"v": 2})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == [MANIFEST, "old.txt"]
    assert json.loads((tmp_path / "plan" / MANIFEST).read_text()) == {"v": 1}
    assert debris(tmp_path) == []


def test_an_existing_folder_is_replaced_whole(tmp_path):
    write_run(tmp_path / "plan", {"a.txt": "1", "b.txt": "2"}, {"v": 1})
    write_run(tmp_path / "plan", {"c.txt": "3"}, {"v": 2})
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == ["c.txt", MANIFEST]
    assert json.loads((tmp_path / "plan" / MANIFEST).read_text()) == {"v": 2}
    assert debris(tmp_path) == []


def test_a_folder_that_is_not_a_result_folder_is_not_replaced(tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.tex").write_text("keep me")
    with pytest.raises(InputError, match="not a result folder"):
        write_run(precious, {"a.txt": "x"}, {})
    assert (precious / "thesis.tex").read_text() == "keep me"
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        write_run(tmp_path / "file", {}, {})


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", ".hidden", "a/../../b", MANIFEST, ""])
def test_bad_file_names_are_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(InputError):
        write_run(tmp_path / "plan", {name: "x"}, {})
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_manifest_is_refused(tmp_path):
    with pytest.raises(InputError, match="JSON"):
        write_run(tmp_path / "plan", {}, {"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text_and_bytes(tmp_path):
    path = atomic_write_text(tmp_path / "deep" / "x.txt", "一")
    assert path.read_text(encoding="utf-8") == "一"
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert debris(path.parent) == []


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    (tmp_path / "x.txt").write_text("old")

    def boom(src, dst):
        raise OSError("no")

    monkeypatch.setattr(results.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "x.txt", "new")
    monkeypatch.undo()
    assert (tmp_path / "x.txt").read_text() == "old" and debris(tmp_path) == []


# --------------------------------------------------------------------------- manifests


def test_manifest_fields(tmp_path):
    m = manifest(tmp_path)
    assert m["command"] == ["shuangta", "run", "plan.toml"] and m["command_line"] == "shuangta run plan.toml"
    versions = m["versions"]
    for name in ("python", "sim", "pysd", "numpy", "scipy", "pandas", "matplotlib", "click", "pydantic", "xarray"):
        assert name in versions
    assert versions["pandas"] == pd.__version__ and versions["numpy"] == np.__version__
    assert m["platform"]["system"] and m["platform"]["machine"]
    model = tmp_path / "model.mdl"
    assert m["model"] == {"path": str(model.resolve()), "sha256": hashlib.sha256(model.read_bytes()).hexdigest()}
    assert m["scenario"]["content"] == {"name": "plan", "levers": {"a": 1}}
    assert m["scenario"]["sha256"] == content_sha256({"levers": {"a": 1}, "name": "plan"})  # key order free
    assert m["seed"] == 7 and m["status"] == "running" and m["finished"] is None
    started = dt.datetime.fromisoformat(m["started"])
    assert started.utcoffset() == dt.timedelta(0)
    json.dumps(m)  # serialisable as it stands


def test_missing_package_version_is_null(monkeypatch):
    monkeypatch.setattr(results, "PACKAGES", ("numpy", "no-such-package-xyz"))
    versions = results.package_versions()
    assert versions["no-such-package-xyz"] is None and versions["numpy"] == np.__version__


def test_finish_manifest(tmp_path):
    m = manifest(tmp_path)
    m["started"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=3)).isoformat()
    assert finish_manifest(m, "complete") is m
    assert m["status"] == "complete" and 3 <= m["wall_seconds"] < 60
    assert dt.datetime.fromisoformat(m["finished"]) >= dt.datetime.fromisoformat(m["started"])
    finish_manifest(m, "failed", error="RunError: NaN in GDP")
    assert m["status"] == "failed" and m["error"] == "RunError: NaN in GDP"
    with pytest.raises(InputError):
        finish_manifest(m, "done")


def test_manifest_without_model_or_scenario_and_missing_model():
    m = build_manifest(["shuangta", "plot"], None, None, extra={"note": "x"})
    assert m["model"] is None and m["scenario"] is None and m["extra"] == {"note": "x"}
    with pytest.raises(InputError, match="model"):
        build_manifest(["x"], Path("/nonexistent/model.mdl"), None)


# --------------------------------------------------------------------------- round trip


def test_round_trip(tmp_path):
    ts = timeseries()
    verdicts = evaluate(load_targets(), ts)
    m = finish_manifest(manifest(tmp_path), "complete")
    write_run(tmp_path / "runs" / "plan", run_files(ts, verdicts), m)
    run = read_run(tmp_path / "runs" / "plan")
    assert run.name == "plan" and run.path == tmp_path / "runs" / "plan"
    pd.testing.assert_frame_equal(run.timeseries, ts, check_exact=False, rtol=1e-12)
    assert run.timeseries.index.name == "time" and run.timeseries.index.dtype == float
    assert run.manifest == json.loads(json.dumps(m))
    back = run.targets.set_index("id")
    want = verdicts.set_index("id")
    assert list(back.index) == list(want.index)
    assert back.loc["T3", "met"] is True and back.loc["T17", "met"] is None
    assert back.loc["T3", "value"] == pytest.approx(285.56)
    assert bool(back.loc["T17", "evaluable"]) is False and back.loc["T17", "reason"] == want.loc["T17", "reason"]
    assert back.loc["T13", "aggregate"] == "max" and back.loc["T3", "aggregate"] == ""
    assert back.loc["T1", "description_zh"] == want.loc["T1", "description_zh"]


def test_read_run_without_targets(tmp_path):
    write_run(tmp_path / "sweep", {TIMESERIES: timeseries()}, {})
    assert read_run(tmp_path / "sweep").targets is None


@pytest.mark.parametrize(
    "files, missing",
    [({}, "manifest.json, timeseries.csv"), ({MANIFEST: "{}"}, "timeseries.csv"), ({TIMESERIES: "time,x\n"}, "manifest.json")],
)
def test_read_run_names_what_is_missing(tmp_path, files, missing):
    folder = tmp_path / "odd"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    with pytest.raises(InputError, match=f"missing {missing}"):
        read_run(folder)


def test_read_run_on_nothing(tmp_path):
    with pytest.raises(InputError, match="no such result folder"):
        read_run(tmp_path / "absent")
    write_run(tmp_path / "broken", {TIMESERIES: timeseries()}, {})
    (tmp_path / "broken" / MANIFEST).write_text("{not json")
    with pytest.raises(InputError, match="unreadable manifest"):
        read_run(tmp_path / "broken")
    assert TARGETS == "targets.csv"


def test_json_files_are_strict_json_with_null_for_missing_values(tmp_path):
    import json
    import math

    import numpy as np

    from sim.engine.results import to_json, write_run

    manifest = {"gap": float("nan"), "best": np.float64("inf"), "values": np.array([1.5, np.nan]),
                "nested": {"n": np.int64(3), "x": [math.nan, 2.0]}, "ok": True}
    folder = write_run(tmp_path / "r", {"a.txt": "x"}, manifest)

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"), parse_constant=refuse)
    assert data == {"gap": None, "best": None, "values": [1.5, None], "nested": {"n": 3, "x": [None, 2.0]}, "ok": True}
    assert json.loads(to_json({"y": np.float32(0.5)}), parse_constant=refuse) == {"y": 0.5}
