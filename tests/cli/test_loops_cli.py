"""`shuangta loops` and `shuangta diagram` on the toy models, in process, writing under tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.analysis.loop_results import read_loops
from sim.analysis.loops import make_loop

DATA = Path(__file__).resolve().parent.parent / "data"
LOGISTIC = DATA / "ltm_logistic.mdl"
GROWTH = make_loop(["Population", "Net Growth"]).id
CROWDING = make_loop(["Population", "Fractional Growth", "Net Growth"]).id


def test_loops_writes_a_folder_with_scores_plot_and_dominance_text(invoke, tmp_path):
    out = tmp_path / "logistic"
    result = invoke(["loops", "--model", LOGISTIC, "--variable", "Population", "--out", out])
    assert result.exit_code == 0, result.output
    folder = read_loops(out)
    assert set(folder["loops"]["loop"]) == {GROWTH, CROWDING}
    assert dict(zip(folder["loops"]["loop"], folder["loops"]["polarity"])) == {GROWTH: "+", CROWDING: "-"}
    assert [p.name for p in folder["plots"]] == ["dominance_population.png"]
    assert folder["plots"][0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the text names the reinforcing loop first, then the balancing one
    text = folder["text"]
    assert text.index(GROWTH) < text.index(CROWDING)
    assert "reinforcing" in text and "balancing" in text
    assert folder["manifest"]["extra"]["method"] == "enumeration"
    rel = folder["relative"]
    assert set(rel["variable"]) == {"Population"}
    assert not (out / "documented_loops.csv").exists()  # tests/data has no README.md


def test_loops_list_prints_each_loop_with_its_polarity(invoke):
    result = invoke(["loops", "--model", LOGISTIC, "--list"])
    assert result.exit_code == 0, result.output
    assert "2 loops (enumeration)" in result.output
    assert f"{GROWTH}  +" in result.output and f"{CROWDING}  -" in result.output


def test_loops_check_reports_each_row_and_fails_when_one_fails(invoke, tmp_path):
    shutil.copy(LOGISTIC, tmp_path / "model.mdl")
    shutil.copy(DATA / "loop_table.md", tmp_path / "README.md")
    result = invoke(["loops", "--model", tmp_path / "model.mdl", "--check"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["pass", "pass", "FAIL", "FAIL", "pass"]


def test_an_unknown_variable_is_an_error_and_writes_nothing(invoke, tmp_path):
    result = invoke(["loops", "--model", LOGISTIC, "--variable", "Populaton", "--out", tmp_path / "x"])
    assert result.exit_code != 0
    assert "Populaton" in result.output
    assert not (tmp_path / "x").exists()


def test_diagram_draws_each_sector_and_a_highlighted_loop(invoke, tmp_path):
    result = invoke(["diagram", "--model", DATA / "toy.mdl", "--out", tmp_path])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diagram_capital.png", "diagram_capital.svg"]
    svg = (tmp_path / "diagram_capital.svg").read_text(encoding="utf-8")
    assert ">Depreciation<" in svg  # labels are SVG text, not outlines
    loop = make_loop(["Capital", "Depreciation"]).id
    result = invoke(["diagram", "--model", DATA / "toy.mdl", "--out", tmp_path, "--highlight", loop])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"loop_{loop}.png").read_bytes()[:4] == b"\x89PNG"
    bad = invoke(["diagram", "--model", DATA / "toy.mdl", "--out", tmp_path, "--sector", "Nowhere"])
    assert bad.exit_code != 0 and "Capital" in bad.output
