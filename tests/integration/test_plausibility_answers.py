"""Plausibility classes in the answers of reach, consistency and the report.

On the toy of test_reach.py (tests/data/reach_toy.mdl): Output Stock is 10 in
2020, so R1 (Output Stock >= 95 in 2025) needs its growth to be at least
(95/10)^(1/5) - 1 = 56.86 %/yr. A toy analogue file bounds that growth with a
record of 50 % and an analogue of 60 % (or 55 %), so the smallest change that
meets R1 is beyond the record but within the analogue (or beyond the
analogue); R2 cannot be met at all. The report's short answers are checked on
reach.json files written for each class.
"""

from __future__ import annotations

import json

import pytest

from sim.analysis.consistency import check_consistency, format_consistency
from sim.model.loader import load_model
from sim.analysis.reach import reach
from sim.analysis.reach_output import format_reach, write_reach
from sim.present.report import ResultFolder, short_answer as report_answer
from sim.plan.targets import load_targets
from test_reach import TOY, write_toy_base, write_toy_targets

#: R1's growth at the smallest change: exactly the threshold, 95 from 10 in five years.
R1_GROWTH = (95 / 10) ** (1 / 5) - 1

ANALOGUES = """
schema_version = 1

[[quantity]]
id = "stock_growth"
name = "stock growth 2020-2025"
definition = "compound annual growth of R1's variable"
measure = "cagr"
target = "R1"
start = 2020
end = 2025
unit = "1/year"

[quantity.record]
value = 0.5
unit = "1/year"
source = "toy record"
reasoning = "by hand"

[quantity.analogue]
value = {analogue}
unit = "1/year"
source = "toy analogue"
reasoning = "by hand"
"""


@pytest.fixture(scope="module")
def toy():
    return load_model(TOY)


@pytest.fixture()
def study(tmp_path):
    base = write_toy_base(tmp_path)
    targets = load_targets(write_toy_targets(tmp_path))

    def analogues(value: float):
        path = tmp_path / f"analogues_{value}.toml"
        path.write_text(ANALOGUES.format(analogue=value), encoding="utf-8")
        return path

    return base, targets, analogues


def toy_reach(toy, study, ids, analogue):
    base, targets, analogues = study
    return reach(toy, ids, base=base, targets=targets, references={}, analogues=analogues(analogue),
                 samples=64, starts=3)


def test_reach_json_carries_the_class_and_the_binding_quantity(toy, study, tmp_path):
    result = toy_reach(toy, study, ["R1"], 0.6)
    folder = write_reach(result, tmp_path / "out", ["shuangta", "reach", "R1"])
    d = json.loads((folder / "reach.json").read_text(encoding="utf-8"))["plausibility"]
    assert d["class"] == "beyond_record_within_analogues"
    b = d["binding"]
    assert b["id"] == "stock_growth" and b["bound_kind"] == "record" and b["bound"] == 0.5
    assert b["value"] == pytest.approx(R1_GROWTH, rel=1e-5)
    assert d["binding_text"].startswith("stock growth 2020-2025 0.568") and d["binding_text"].endswith("> record 0.5")
    assert d["levers"] == []  # no lever references given
    assert "plausibility: beyond_record_within_analogues; binding: stock growth" in format_reach(result)


def test_reach_beyond_the_analogue(toy, study):
    result = toy_reach(toy, study, ["R1"], 0.55)
    assert result.plausibility.cls == "beyond_analogues"
    assert result.plausibility.binding["bound"] == 0.55


def test_unreachable_reach_binds_its_target(toy, study):
    result = toy_reach(toy, study, ["R2"], 0.6)
    p = result.to_dict()["plausibility"]
    assert p["class"] == "unreachable"
    assert p["binding"]["id"] == "R2" and p["binding"]["value"] == pytest.approx(15 + 4 * 50, rel=1e-5)
    assert p["binding"]["bound"] == 300.0


def test_reach_notes_quantities_it_cannot_measure(toy, study):
    base, targets, _ = study
    result = reach(toy, ["R1"], base=base, targets=targets, references={}, samples=64, starts=3)
    assert result.plausibility.cls == "not_classified" and result.plausibility.binding is None
    assert any("plausibility quantities not measured" in n and "fai_growth" in n for n in result.notes)


def test_consistency_classes(toy, study):
    base, targets, analogues = study
    result = check_consistency(toy, base=base, targets=targets, target_ids=["R1", "C1", "Q1"], samples=128, starts=2,
                               analogues=analogues(0.6), references={})
    alone = result.to_dict()["plausibility_alone"]
    # meeting R1 needs growth >= 56.86 %, above the 50 % record; Q1 only needs Lever Three, and low-output
    # sample points meet it (the base alone gives 35 in 2025: 28.5 %/yr)
    assert alone["R1"]["class"] in ("beyond_record_within_analogues", "beyond_analogues")
    assert alone["R1"]["binding"]["value"] >= R1_GROWTH - 1e-6
    assert alone["Q1"]["class"] == "within_record"
    row = result.matrix[(result.matrix["a"] == "R1") & (result.matrix["b"] == "C1")].iloc[0]
    assert row["class"] == "unreachable" and row["binding"].startswith("target ")
    assert result.full["plausibility"]["class"] == "unreachable"
    counts = result.class_counts("singles")
    assert sum(counts.values()) == 3 and counts["unreachable"] == 0
    assert "plausibility of the full set: unreachable" in format_consistency(result)


# --------------------------------------------------------------------------- the report's short answers


def _reach_folder(root, name, status, plausibility):
    folder = root / name
    folder.mkdir()
    data = {"targets": ["T1"], "base": "plan.toml", "base_name": "plan", "status": status, "reachable": status != "unreachable",
            "distance": 0.5, "worst_normalised_gap": 0.0 if status != "unreachable" else -0.1, "levers": [],
            "chosen_targets": [{"id": "T1", "value": 120.0, "kind": "level", "best_alone_value": 120.0}],
            "outside_record": [], "beyond_plan": [], "met_then": [], "missed_then": [], "plausibility": plausibility}
    (folder / "reach.json").write_text(json.dumps(data), encoding="utf-8")
    return ResultFolder(kind="reach", path=folder, manifest={})


def short_answer(model, folder, lang="en") -> tuple[str, list[str]]:
    """The report's short answer and evidence for T1 with ``folder`` the only result folder."""
    return report_answer([folder], "T1", lang, model)


QUANTITY = {"kind": "quantity", "id": "fai_growth", "name": "fixed-asset investment growth 2020-2025", "unit": "1/year",
            "value": 0.5, "bound": 0.305, "bound_kind": "analogue", "source": "s", "level": 2}
ANSWERS = {
    "within_record": ("Yes, within the 2016–2020 record: the model meets it with the changes below",
                      dict(QUANTITY, value=0.2, bound=0.263, bound_kind="record", level=0),
                      "fixed-asset investment growth 2020-2025 20.00 %/yr against the 2016–2020 record 26.30 %/yr"),
    "beyond_record_within_analogues": (
        "Only beyond the 2016–2020 record, though within what comparable Chinese districts achieved",
        dict(QUANTITY, value=0.28, bound=0.263, bound_kind="record", level=1),
        "binding: fixed-asset investment growth 2020-2025 28.00 %/yr against the 2016–2020 record 26.30 %/yr"),
    "beyond_analogues": ("Only beyond anything comparable Chinese districts achieved", QUANTITY,
                         "but fixed-asset investment growth 2020-2025 50.00 %/yr against the analogue bound 30.50 %/yr"),
}


ZH = {"within_record": "能，且在 2016–2020 年实绩范围内", "beyond_record_within_analogues": "只有超出 2016–2020 年实绩才能实现",
      "beyond_analogues": "只有超出任何可比地区达到过的水平才能实现"}


@pytest.mark.parametrize("cls", list(ANSWERS))
def test_report_short_answer_uses_the_class(model, tmp_path, cls):
    start, binding, reason = ANSWERS[cls]
    folder = _reach_folder(tmp_path, "reach_T1", "reachable", {"class": cls, "binding": binding})
    answer, evidence = short_answer(model, folder)
    assert answer.startswith(start) and reason in answer
    assert any(line.startswith("reach T1 from plan: reachable") for line in evidence)
    assert short_answer(model, folder, "zh")[0].startswith(ZH[cls])


def test_report_short_answer_when_met_at_base(model, tmp_path):
    binding = dict(QUANTITY, value=0.28, bound=0.263, bound_kind="record", level=1)
    folder = _reach_folder(tmp_path, "reach_T1", "met at base", {"class": "beyond_record_within_analogues",
                                                                  "binding": binding})
    answer, _ = short_answer(model, folder)
    assert answer.startswith("Yes, the base scenario of reach already meets it, but only beyond the 2016–2020 record")


def test_report_short_answer_when_unreachable(model, tmp_path):
    binding = {"kind": "target", "id": "T1", "value": 120.0, "bound": 165.0, "comparison": ">=", "level": 3}
    folder = _reach_folder(tmp_path, "reach_T1", "unreachable", {"class": "unreachable", "binding": binding})
    answer, evidence = short_answer(model, folder)
    assert answer == "No: not reachable inside the lever ranges; the best reachable value is 120.00."
    assert any("Plausibility: unreachable (target T1 reaches only 120.00 against >= 165.00)." in e for e in evidence)
