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
from sim.present.plots import plot_runs, slug
from sim.present.style import KEY_VARIABLES
from sim.engine.results import build_manifest, finish_manifest, run_files, write_run
from sim.plan.targets import evaluate, load_targets

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
    from sim.present.plots import unit_of as _unit
    from sim.engine.results import read_run

    frame = pd.DataFrame({"GDP": [1.0, 2.0]}, index=pd.Index([2020.0, 2021.0], name="time"))
    run = read_run(write_run(tmp_path / "r", run_files(frame), {"extra": {"units": {"GDP": "Yi/Year"}}}))
    assert _unit("GDP", [run], {"GDP": "given"}) == "given"
    assert _unit("GDP", [run], None) == "100 million yuan/yr"  # the model's unit, as people read it
    assert _unit("Population", [run], None) == "persons"


# --------------------------------------------------------------------------- thresholds and labels


def test_verdict_grid_rows_show_thresholds():
    from sim.present.plots import _threshold_text

    assert _threshold_text({"target": 165.0, "comparison": ">=", "kind": "level", "year": 2025}) == "  [≥ 165.00 in 2025]"
    assert _threshold_text({"target": 0.15, "comparison": ">=", "kind": "growth", "year": 2025.0}) == "  [≥ 15.00 %/yr in 2025]"
    assert _threshold_text({"target": float("nan"), "comparison": ">="}) == ""


def test_verdict_grid_png_labels_carry_the_threshold(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sim.present.plots import _verdict_figure
    from sim.engine.results import read_run

    run = read_run(synthetic_run(tmp_path / "a", 0.05))
    fig = _verdict_figure(run.targets, [run], ["a"])
    FigureCanvasAgg(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    t1 = next(label for label in labels if label.startswith("T1 "))
    assert t1.endswith("[≥ 165.00 in 2025]")


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_spread_labels_never_overlap():
    from sim.present.plots_sensitivity import LABEL_OFFSET, spread_labels

    rng = np.random.default_rng(3)
    anchors = [(float(x), float(y)) for x, y in rng.uniform(0, 40, size=(25, 2))]  # a tight cluster
    sizes = [(float(w), 9.0) for w in rng.uniform(20, 80, size=25)]
    corners = spread_labels(anchors, sizes)
    boxes = [(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, sizes)]
    for i, a in enumerate(boxes):
        assert a[0] == anchors[i][0] + LABEL_OFFSET and a[1] >= anchors[i][1] + LABEL_OFFSET  # moved up only
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_morris_labels_do_not_overlap_when_drawn():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sim.present.plots_sensitivity import _morris_figure

    factors = [f"Factor number {k}" for k in range(12)]
    mu = np.array([1.0, 1.01, 1.02, 1.0, 0.99, 1.03, 0.5, 0.51, 0.52, 2.0, 2.01, 0.1])
    rows = pd.DataFrame({"factor": factors, "mu_star": mu, "sigma": mu * 0.5 + 0.001 * np.arange(12),
                         "mu_star_conf": mu * 0.05})
    fig = _morris_figure({"name": "T1_value", "target": "T1"}, rows, 20)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts if t.get_text() in factors]
    assert len(texts) == len(factors)
    from matplotlib.text import Text

    extents = [Text.get_window_extent(t, renderer) for t in texts]  # the text alone, not its leader line
    clashes = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(extents))
               for j in range(i + 1, len(extents)) if _overlaps(extents[i], extents[j])]
    assert clashes == []
