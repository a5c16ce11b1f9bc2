"""`shuangta consistency`: which targets can be met together inside the lever ranges.

On the toy of test_reach.py (tests/data/reach_toy.mdl), by construction:
R1 (Output Stock >= 95) needs 3·x1 + x2 >= 20 from 2021, C1 (Spending = x1 + x2
<= 6) allows at most 3·6 = 18 < 20, so R1 and C1 are mutually exclusive; Q1
(Quality = Lever Three >= 0.5) is independent of both. By hand the best worst
normalised gap of R1 and C1 lies on x2 = 0 (x1 buys more output per unit
spent): (12·x1 - 80)/95 = (6 - x1)/6 at x1 = 1050/167, gap = -0.0479.
"""

from __future__ import annotations

import pytest

from sim.analysis.consistency import check_consistency, format_consistency, write_consistency
from sim.analysis.contradictions import SECTION4_FILE, contradictions
from sim.plan.history import HISTORY_FILE
from sim.plan.targets import DEFAULT_TARGETS
from sim.model.loader import load_model
from sim.plan.targets import load_targets
from test_reach import TOY, write_toy_base, write_toy_targets


@pytest.fixture(scope="module")
def toy():
    return load_model(TOY)


@pytest.fixture()
def toy_study(toy, tmp_path):
    base = write_toy_base(tmp_path)
    targets = load_targets(write_toy_targets(tmp_path))
    return check_consistency(toy, base=base, targets=targets, target_ids=["R1", "C1", "Q1"], samples=128, starts=2)


def pair(result, a, b):
    m = result.matrix
    row = m[((m["a"] == a) & (m["b"] == b)) | ((m["a"] == b) & (m["b"] == a))]
    assert len(row) == 1
    return row.iloc[0]


def test_exclusive_pair_is_infeasible_and_compatible_pairs_feasible(toy_study):
    r1c1 = pair(toy_study, "R1", "C1")
    assert not r1c1["feasible"]
    x1 = 1050 / 167
    assert r1c1["best_min_gap"] == pytest.approx((6 - x1) / 6, abs=1e-4)
    assert r1c1["lever: Lever Two"] == pytest.approx(0, abs=1e-4)
    assert pair(toy_study, "R1", "Q1")["feasible"]
    assert pair(toy_study, "C1", "Q1")["feasible"]
    for t in ("R1", "C1", "Q1"):
        assert pair(toy_study, t, t)["feasible"]  # each alone
    assert not toy_study.full["feasible"]
    assert toy_study.full["best_min_gap"] == pytest.approx(r1c1["best_min_gap"], abs=1e-4)


def test_outputs(toy_study, tmp_path):
    folder = write_consistency(toy_study, tmp_path / "c", ["shuangta", "consistency"])
    names = {p.name for p in folder.iterdir()}
    assert {"matrix.csv", "min_gap_matrix.csv", "matrix.png", "section4.csv", "consistency.json", "manifest.json"} <= names
    assert (folder / "matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    square = toy_study.square()
    assert list(square.index) == ["R1", "C1", "Q1"] and square.loc["R1", "C1"] == square.loc["C1", "R1"]
    items = [line["item"] for line in toy_study.lines]
    assert items == [1, 2, 3, 4, 5, 6, 7]
    assert all(line["verdict"] == "not checked" for line in toy_study.lines[2:])  # the toy has no T1..T21
    text = format_consistency(toy_study)
    assert "R1 + C1" in text and "pairs feasible: 2 of 3" in text


def test_plan_section4_on_the_real_model(model):
    # a small study: items 3 (T21 vs T1) and 5 (T10 and T9B with T3)
    result = check_consistency(model, target_ids=["T1", "T21", "T10", "T9B", "T3"], samples=256, starts=2, max_iter=25)
    lines = {line["item"]: line for line in result.lines}
    assert lines[3]["verdict"] == "not a contradiction as inequalities"
    assert "T1 implies T21" in lines[3]["text"]
    assert pair(result, "T1", "T21")["feasible"] == pair(result, "T1", "T1")["feasible"]
    assert "272.5" in lines[5]["text"] and "95.4 %" in lines[5]["text"]  # docs/plan.md §4 item 5 arithmetic
    assert lines[1]["verdict"] == lines[2]["verdict"] == "confirmed"
    assert lines[7]["verdict"] == "not checked"


def test_section4_numbers_are_read_not_typed(model, tmp_path):
    # §4's numbers come from the targets, the §4 data file, history.csv and the model: change each copy, the text follows
    result = check_consistency(model, target_ids=["T1", "T21", "T11", "T12"], samples=64, starts=1, max_iter=5)
    before = {line["item"]: line for line in contradictions(result)}
    assert before == {line["item"]: line for line in result.lines}
    assert "165 / 55 = 3.00" in before[2]["text"] and "+15 %/yr 154.3." in before[4]["text"]
    assert before[4]["claim"] == "retail sales +5 %/yr (Ch.2) vs +15 %/yr to 157 (Ch.5)"

    targets = tmp_path / "targets.toml"
    shipped = DEFAULT_TARGETS.read_text(encoding="utf-8")
    assert shipped.count("threshold = 165.0") == shipped.count("threshold = 0.05") == 1  # T1 and T12
    targets.write_text(shipped.replace("threshold = 165.0", "threshold = 170.0").replace("threshold = 0.05", "threshold = 0.06"),
                       encoding="utf-8")
    section4 = tmp_path / "plan_section4.toml"
    section4.write_text(SECTION4_FILE.read_text(encoding="utf-8").replace("value = 0.15", "value = 0.12"), encoding="utf-8")
    history = tmp_path / "history.csv"
    history.write_text(HISTORY_FILE.read_text(encoding="utf-8").replace("Retail Sales,2020,2020,76.7,", "Retail Sales,2020,2020,70,"),
                       encoding="utf-8")

    after = {line["item"]: line for line in contradictions(result, targets=targets, section4=section4)}
    assert "170 / 55 = 3.09" in after[2]["text"] and "25.32 %/yr" in after[2]["text"]  # (170 / 55)^(1/5) - 1
    assert after[1]["text"].startswith("52.5 (Ch.1) and 55 (Ch.6) differ by 4.8 %; 170 in 2025 needs 25.32 %/yr")
    assert "+6 %/yr 'or more' is a floor" in after[4]["text"]
    assert "+6 %/yr gives 102.6, +12 %/yr 135.2." in after[4]["text"]  # 76.7 × 1.06^5, 76.7 × 1.12^5
    assert after[4]["claim"] == "retail sales +6 %/yr (Ch.2) vs +12 %/yr to 157 (Ch.5)"
    assert after[3]["verdict"] == before[3]["verdict"]

    moved = {line["item"]: line for line in contradictions(result, history=history)}
    assert "157 in 2025 means 17.53 %/yr from 70.0" in moved[4]["text"]  # (157 / 70)^(1/5) - 1
    assert moved[1] == before[1]


def test_bad_lever_exits_2_and_writes_nothing(invoke, tmp_path):
    result = invoke(["consistency", "--levers", "Bogus Lever", "--out", str(tmp_path / "c")], tmp_path)
    assert result.exit_code == 2, result.output
    assert "unknown lever 'Bogus Lever'" in result.output
    assert list(tmp_path.iterdir()) == []
