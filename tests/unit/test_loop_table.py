"""The documented loop table: parsing its format and checking it against a model (tests/data/loop_table.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model.compiler import compile_model
from sim.errors import InputError
from sim.analysis.loop_table import check_table, parse_path, parse_table, read_table, visits_in_order
from sim.analysis.loops import analyse, make_loop

DATA = Path(__file__).resolve().parent.parent / "data"


def test_the_table_after_the_heading_is_read_row_by_row():
    rows = read_table(DATA / "loop_table.md")
    assert [r.id for r in rows] == ["R1", "B1", "B9", "X1", "A1"]
    assert [r.polarity for r in rows] == ["+", "-", "-", "+", "-"]
    assert rows[1].name == "crowding"
    # arrows, brackets and remarks after a comma dropped; the closing repeat of the first variable too
    assert rows[1].steps == (("Population",), ("Fractional Growth",), ("Net Growth",))
    assert rows[3].steps == (("Population",), ("Births", "Net Growth"))


def test_pieces_after_a_semicolon_continue_the_path_and_a_lasso_starts_at_the_repeat():
    assert parse_path("A → B and C; and C → D") == (("A",), ("B", "C"), ("C",), ("D",))
    assert parse_path("X → A → B → C → A") == (("A",), ("B",), ("C",))
    assert parse_path("A → B → A") == (("A",), ("B",))


def test_a_document_without_the_section_or_a_polarity_is_refused():
    with pytest.raises(InputError, match="no section"):
        parse_table("# Title\n\n| loop | path | polarity |\n|---|---|---|\n| R1 x | A → B | + |\n")
    with pytest.raises(InputError, match="neither"):
        parse_table("## Feedback loops\n\n| loop | path | polarity |\n|---|---|---|\n| R1 x | A → B | ? |\n")


def test_visiting_in_order_goes_round_the_loop_once_from_any_start():
    cycle = ("A", "B", "C", "D")
    assert visits_in_order(cycle, ("C", "A"))
    assert visits_in_order(cycle, ("B", "D", "A"))
    assert not visits_in_order(cycle, ("D", "C", "B"))


def test_each_row_is_checked_for_the_loop_and_its_polarity():
    analysis = analyse(compile_model(DATA / "ltm_logistic.mdl"))
    checks = {c.row.id: c for c in check_table(read_table(DATA / "loop_table.md"), analysis)}
    growth = make_loop(["Population", "Net Growth"]).id
    crowding = make_loop(["Population", "Fractional Growth", "Net Growth"]).id
    # both loops pass Population then Net Growth: the shortest one is meant
    assert (checks["R1"].passed, checks["R1"].loop_id) == (True, growth)
    assert (checks["B1"].passed, checks["B1"].loop_id) == (True, crowding)
    assert (checks["B9"].passed, checks["B9"].found_polarity) == (False, "+")
    assert not checks["X1"].passed and "Births" in checks["X1"].reason
    # Net Growth twice (after "and" and after ";") fits no loop: the Fractional Growth alternative does
    assert checks["A1"].passed and checks["A1"].loop_id == crowding


def test_a_loop_the_analysis_did_not_keep_is_built_through_the_documented_steps():
    analysis = analyse(compile_model(DATA / "ltm_logistic.mdl"))
    analysis.loops, analysis.polarity = {}, {}  # as if the strongest-path search had not kept them
    checks = {c.row.id: c for c in check_table(read_table(DATA / "loop_table.md"), analysis)}
    assert checks["B1"].passed and checks["B1"].reason.startswith("built")
    assert checks["B1"].loop_id == make_loop(["Population", "Fractional Growth", "Net Growth"]).id
    assert (checks["B9"].passed, checks["B9"].found_polarity) == (False, "+")


def test_a_misspelt_variable_is_named_with_the_closest_names_of_the_model():
    analysis = analyse(compile_model(DATA / "ltm_logistic.mdl"))
    rows = parse_table("## Feedback loops\n\n| loop | path | polarity |\n|---|---|---|\n"
                       "| R1 growth | Populaton → Net Growth → Populaton | + |\n")
    (check,) = check_table(rows, analysis)
    assert not check.passed
    assert "Populaton (did you mean Population?)" in check.reason


def test_the_documented_loop_beats_a_longer_one_the_analysis_kept():
    """When the analysis keeps only a longer loop through the documented steps (here crowding, via Fractional
    Growth) and not the documented loop itself (growth), the loop built through the steps is the shortest and
    is the one checked: R1 passes as growth (+), not as crowding (-)."""
    analysis = analyse(compile_model(DATA / "ltm_logistic.mdl"))
    crowding = make_loop(["Population", "Fractional Growth", "Net Growth"]).id
    growth = make_loop(["Population", "Net Growth"]).id
    analysis.loops = {crowding: analysis.loops[crowding]}
    analysis.polarity = {crowding: analysis.polarity[crowding]}
    checks = {c.row.id: c for c in check_table(read_table(DATA / "loop_table.md"), analysis)}
    assert (checks["R1"].passed, checks["R1"].loop_id, checks["R1"].found_polarity) == (True, growth, "+")
    assert checks["R1"].reason.startswith("built")
    assert (checks["B1"].passed, checks["B1"].loop_id) == (True, crowding)
