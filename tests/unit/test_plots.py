"""Plots from result folders, and the ``plot`` command."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import InputError
from sim.plots import KEY_VARIABLES, plot_runs, slug
from sim.results import build_manifest, finish_manifest, run_files, write_run
from sim.targets import evaluate, load_targets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
YEARS = np.arange(2020, 2031, dtype=float)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, checking its signature and IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR" and data.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", data[16:24])


def synthetic_run(folder: Path, gdp_rate: float, drop: tuple[str, ...] = ()) -> Path:
    t = YEARS - 2020
    columns = {
        "GDP": 142.78 * (1 + gdp_rate) ** t,
        "Above Scale Industrial Output": 55 * 1.2 ** t,
        "Urban Disposable Income per Capita": 31500 * 1.12 ** t,
        "Retail Sales": 76.7 * 1.06 ** t,
        "Unemployment Rate": 0.04 + 0.002 * np.sin(t),
        "Energy Intensity Index": 1 - 0.025 * t,
        "Population": np.full(len(t), 463500.0),
    }
    frame = pd.DataFrame({k: v for k, v in columns.items() if k not in drop}, index=pd.Index(YEARS, name="time"))
    manifest = finish_manifest(build_manifest(["test"], None, {"name": folder.name}), "complete")
    return write_run(folder, run_files(frame, evaluate(load_targets(), frame)), manifest)


@pytest.fixture()
def two_runs(tmp_path) -> list[Path]:
    return [
        synthetic_run(tmp_path / "runs" / "baseline", 0.06),
        synthetic_run(tmp_path / "runs" / "plan", 0.15, drop=("Retail Sales", "Population")),
    ]


def test_plot_runs_writes_valid_pngs(two_runs, tmp_path):
    out = tmp_path / "plots"
    written = plot_runs(two_runs, out)
    names = [p.name for p in written]
    expected = [
        f"{slug(v)}.png"
        for v in KEY_VARIABLES
        if v
        in {
            "GDP",
            "Above Scale Industrial Output",
            "Urban Disposable Income per Capita",
            "Retail Sales",
            "Unemployment Rate",
            "Energy Intensity Index",
            "Population",
        }
    ]
    assert names == expected + ["verdicts.png"]
    for path in written:
        assert path.parent == out and path.stat().st_size > 1000
        width, height = png_size(path)
        assert width > 300 and height > 200
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left


def test_variable_missing_from_one_folder_is_skipped_not_an_error(tmp_path):
    with_retail = synthetic_run(tmp_path / "a", 0.1)
    without = synthetic_run(tmp_path / "b", 0.1, drop=("Retail Sales",))
    assert (tmp_path / "p1" / "retail_sales.png") in plot_runs([with_retail, without], tmp_path / "p1")
    assert (tmp_path / "p2" / "retail_sales.png") not in plot_runs([without], tmp_path / "p2")


def test_folder_without_targets_still_plots(tmp_path):
    frame = pd.DataFrame({"GDP": 142.78 * 1.1 ** (YEARS - 2020)}, index=pd.Index(YEARS, name="time"))
    folder = write_run(tmp_path / "bare", run_files(frame), {})
    assert [p.name for p in plot_runs(folder, tmp_path / "out")] == ["gdp.png"]


def test_same_folder_names_get_distinct_labels(tmp_path):
    a = synthetic_run(tmp_path / "x" / "plan", 0.1)
    b = synthetic_run(tmp_path / "y" / "plan", 0.2)
    assert len(plot_runs([a, b], tmp_path / "out")) > 1


def test_not_a_result_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a result folder"):
        plot_runs([tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(InputError, match="no result folders"):
        plot_runs([], tmp_path / "out")


def test_plot_command_writes_pngs(two_runs, tmp_path):
    out = tmp_path / "cli-plots"
    result = CliRunner().invoke(cli, ["plot", *map(str, two_runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = [Path(line) for line in result.output.splitlines()]
    assert printed and all(p.parent == out and p.suffix == ".png" and p.is_file() for p in printed)
    assert out / "verdicts.png" in printed


def test_plot_command_needs_a_folder():
    result = CliRunner().invoke(cli, ["plot"])
    assert result.exit_code != 0


def test_units_come_from_the_argument_then_the_manifest_then_the_table(tmp_path):
    from sim.plots import _unit
    from sim.results import read_run

    frame = pd.DataFrame({"GDP": [1.0, 2.0]}, index=pd.Index([2020.0, 2021.0], name="time"))
    run = read_run(write_run(tmp_path / "r", run_files(frame), {"extra": {"units": {"GDP": "Yi/Year"}}}))
    assert _unit("GDP", [run], {"GDP": "given"}) == "given"
    assert _unit("GDP", [run], None) == "100 million yuan/yr"  # the model's unit, as people read it
    assert _unit("Population", [run], None) == "persons"
