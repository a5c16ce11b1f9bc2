"""Sectors and labels of the diagrams (sim.present.diagram) on the toy model."""

from __future__ import annotations

from pathlib import Path

from sim.model.compiler import compile_model
from sim.present.diagram import draw, label_font, read_sectors
from sim.analysis.loops import analyse, make_loop

DATA = Path(__file__).resolve().parent.parent / "data"


def test_sectors_are_the_groups_of_the_mdl_with_the_chinese_terms_of_the_comments():
    sectors, chinese = read_sectors(DATA / "toy.mdl")
    assert sectors["Capital"] == ["Capital", "Investment", "Boost Lookup", "Investment Rate", "Depreciation",
                                  "Depreciation Rate", "Output"]
    assert chinese == {"Capital": "资本存量"}


def test_without_a_cjk_font_labels_stay_english_with_a_note(monkeypatch):
    import sim.present.fonts

    monkeypatch.setattr(sim.present.fonts, "find_cjk_font", lambda: None)
    family, note = label_font()
    assert family is None and "English" in note
    a = analyse(compile_model(DATA / "toy.mdl"))
    loop = make_loop(["Capital", "Depreciation"])
    d = draw(a.graph, {e: "-" if e == ("Capital", "Depreciation") else "+" for e in a.graph.edges},
             ["Capital", "Depreciation", "Investment"], "Capital", {"Capital": "资本存量"}, loop.edges)
    svg = d.svg.decode("utf-8")
    assert d.note == note
    assert "资本存量" not in svg and ">Capital<" in svg
    assert "\u2212" in svg  # the negative link's sign
    assert d.highlighted == loop.edges
