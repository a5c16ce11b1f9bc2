"""`shuangta reach`: the smallest lever change that meets targets.

On a toy whose answer is known by hand (tests/data/reach_toy.mdl): a stock fed
by 3·Lever One + Lever Two. Like the real model, the toy's levers act from 2021
(its Policy Switch keeps 2020's flow at 5), so with the searched levers
constant over the run,

    Output Stock(2025) = 10 + 1·5 + 4·(3·x1 + x2).

In range units (x1 = 10·u1, x2 = 20·u2) a level K needs 30·u1 + 20·u2 >=
(K - 15)/4: the smallest change from u0 = (0.1, 0.1) is the projection of u0 on
that line. On the real model: reach T5 from the baseline, run the written
scenario through sim.engine.run.run_scenario, and malformed input exits 2 writing
nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SCENARIOS
from sim.model.loader import load_model
from sim.analysis.reach import reach
from sim.analysis.reach_output import write_reach, write_reach_scenario
from sim.plan.lever_references import REFERENCE_TOLERANCE, load_lever_references, reference_position
from sim.engine.run import run_scenario
from sim.specs.scenario import load_scenario, validate_files
from sim.plan.targets import evaluate, load_targets

TOY = REPO / "tests" / "data" / "reach_toy.mdl"

#: Tolerance on lever values and distances found by the optimiser against the hand answers (range units).
TOLERANCE = 1e-4

TOY_TARGETS = """
schema_version = 1
{entries}
"""

ENTRY = """
[[target]]
id = "{id}"
description = "{variable} {comparison} {threshold} in 2025"
description_zh = "玩具"
section = "toy"
variable = "{variable}"
year = 2025
kind = "level"
comparison = "{comparison}"
threshold = {threshold}
arithmetic = "by hand"
evaluable = true
reason = ""
"""

# id: (variable, comparison, threshold)
TOY_SPEC = {
    "R1": ("Output Stock", ">=", 95.0),   # reachable: 3·x1 + x2 >= 20
    "R2": ("Output Stock", ">=", 300.0),  # unreachable: at most 15 + 4·50 = 215
    "C1": ("Spending", "<=", 6.0),        # with R1: needs x1 + x2 <= 6, but R1 needs x1 >= 20/3 when x2 = 0
    "Q1": ("Quality", ">=", 0.5),         # only Lever Three
}


def write_toy_targets(folder: Path) -> Path:
    entries = "".join(ENTRY.format(id=k, variable=v, comparison=c, threshold=t) for k, (v, c, t) in TOY_SPEC.items())
    path = folder / "toy_targets.toml"
    path.write_text(TOY_TARGETS.format(entries=entries), encoding="utf-8")
    return path


def write_toy_base(folder: Path) -> Path:
    path = folder / "toy_base.toml"
    path.write_text('schema_version = 1\nname = "toy_base"\ndescription = "toy base"\n\n[levers]\n"Lever One" = 1\n',
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy():
    return load_model(TOY)


@pytest.fixture()
def toy_files(tmp_path):
    return write_toy_base(tmp_path), load_targets(write_toy_targets(tmp_path))


def projection(u0, w, c):
    """Closest point to u0 on {u: w·u = c}, and its distance."""
    u0, w = np.asarray(u0, float), np.asarray(w, float)
    step = (c - w @ u0) / (w @ w)
    return u0 + step * w, abs(step) * math.sqrt(w @ w)


def toy_reach(toy, toy_files, ids, **kwargs):
    base, targets = toy_files
    kwargs.setdefault("samples", 64)
    kwargs.setdefault("starts", 3)
    return reach(toy, ids, base=base, targets=targets, references={}, **kwargs)


def lever(result, name):
    return result.levers.set_index("lever").loc[name]


def test_toy_smallest_change_is_the_projection_on_the_line(toy, toy_files):
    result = toy_reach(toy, toy_files, ["R1"])
    # 30·u1 + 20·u2 >= (95 - 15) / 4 = 20 from u0 = (0.1, 0.1)
    u, distance = projection([0.1, 0.1], [30, 20], 20)
    assert result.status == "reachable"
    assert lever(result, "Lever One")["needed"] == pytest.approx(10 * u[0], abs=10 * TOLERANCE)
    assert lever(result, "Lever Two")["needed"] == pytest.approx(20 * u[1], abs=20 * TOLERANCE)
    assert result.distance == pytest.approx(distance, abs=TOLERANCE)
    three = lever(result, "Lever Three")
    assert not three["changed"] and three["needed"] == 0.2
    chosen = result.chosen.set_index("id").loc["R1"]
    assert chosen["met"] and chosen["value"] == pytest.approx(95.0, rel=1e-4)
    assert chosen["best_alone_value"] == pytest.approx(15 + 4 * 50, rel=1e-6)  # both levers at their upper bounds


def test_toy_searched_levers_are_constants(toy, toy_files):
    # the found values are plain constants over the run; when they act is the model's business
    result = toy_reach(toy, toy_files, ["R1"])
    values = result.scenario_levers()
    assert set(values) == {"Lever One", "Lever Two"}
    assert not any(v.is_series for v in values.values())
    assert values["Lever One"].value == lever(result, "Lever One")["needed"]
    assert result.timeseries.loc[2020, "Output Stock"] == pytest.approx(10.0)
    assert result.timeseries.loc[2021, "Output Stock"] == pytest.approx(15.0)  # 2020's flow is the base's


def test_toy_unreachable_reports_the_best_reachable_value(toy, toy_files):
    result = toy_reach(toy, toy_files, ["R2"])
    assert result.status == "unreachable" and not result.reachable
    best = 15 + 4 * (3 * 10 + 20)  # both levers at their upper bounds: 215
    chosen = result.chosen.set_index("id").loc["R2"]
    assert not chosen["met"]
    assert chosen["best_alone_value"] == pytest.approx(best, rel=1e-6)
    assert chosen["value"] == pytest.approx(best, rel=1e-5)
    assert result.worst_gap == pytest.approx((best - 300) / 300, abs=1e-5)
    assert lever(result, "Lever One")["needed"] == pytest.approx(10, abs=1e-3)
    assert lever(result, "Lever Two")["needed"] == pytest.approx(20, abs=1e-3)
    assert not lever(result, "Lever Three")["changed"]


def test_toy_written_scenario_validates_and_meets_the_target(toy, toy_files, tmp_path):
    result = toy_reach(toy, toy_files, ["R1"])
    path = write_reach_scenario(result, tmp_path / "scenarios" / "toy_reach.toml", ["shuangta", "reach", "R1"])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Generated by `shuangta reach`")
    assert "shuangta reach R1" in text
    ok, problems = validate_files([path], toy)
    assert ok == [path] and not problems
    scenario = load_scenario(path, toy)
    assert "Generated by shuangta reach" in scenario.description
    assert "Lever Three" not in scenario.levers  # unchanged levers are inherited from the base
    verdicts = evaluate(toy_files[1], run_scenario(toy, scenario)).set_index("id")
    assert verdicts.loc["R1", "met"] is True
    folder = write_reach(result, tmp_path / "out", ["shuangta", "reach", "R1"])
    data = json.loads((folder / "reach.json").read_text(encoding="utf-8"))
    assert data["status"] == "reachable" and data["targets"] == ["R1"]
    assert {"reach.csv", "targets.csv", "timeseries.csv", "comparison.csv", "manifest.json"} <= {p.name for p in folder.iterdir()}


def test_toy_is_deterministic(toy, toy_files):
    a = toy_reach(toy, toy_files, ["R1", "Q1"], seed=7)
    b = toy_reach(toy, toy_files, ["R1", "Q1"], seed=7)
    assert a.levers["needed"].tolist() == b.levers["needed"].tolist()
    # Q1 needs Lever Three >= 0.5: from 0.2 that is +0.3 in range units, independent of R1
    assert lever(a, "Lever Three")["needed"] == pytest.approx(0.5, abs=TOLERANCE)
    assert a.distance == pytest.approx(math.hypot(projection([0.1, 0.1], [30, 20], 20)[1], 0.3), abs=TOLERANCE)


# --------------------------------------------------------------------------- references


def test_every_lever_has_references(model):
    refs = load_lever_references()
    assert set(refs) == set(model.levers)
    for name, entry in refs.items():
        for which in ("record", "plan"):
            ref = entry[which]
            assert ref is not None and ref.text and ref.source, (name, which)
            if ref.exists:
                lev = model.levers[name]
                assert lev.lower <= ref.lower <= ref.upper <= lev.upper, (name, which)
    # the plan's own figures (docs/plan.md §3)
    assert refs["Plan Project List"]["plan"].lower == 1108
    assert refs["Outside Capital Target"]["plan"].lower == 30
    assert refs["Outside Capital Target"]["record"].lower == pytest.approx(102 / 5)
    assert refs["RD Share Target"]["plan"].lower == 0.025


def test_reference_position():
    from sim.plan.lever_references import LeverReference

    ref = LeverReference("x", "y", 20.4, 20.4)
    span = 60.0
    assert reference_position(20.4 + 0.9 * REFERENCE_TOLERANCE * span, ref, span) == "inside"
    assert reference_position(30, ref, span) == "above"
    assert reference_position(10, ref, span) == "below"
    assert reference_position(10, LeverReference("none", "y"), span) == "no reference"


# --------------------------------------------------------------------------- the real model


def test_reach_t5_from_baseline_meets_t5_when_run(model, invoke, tmp_path):
    out, scenario_file = tmp_path / "r", tmp_path / "t5.toml"
    result = invoke(["-q", "reach", "T5", "--base", str(SCENARIOS / "baseline.toml"), "--out", str(out),
                      "--write-scenario", str(scenario_file), "--starts", "2", "--samples", "256"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "reach.json").read_text(encoding="utf-8"))
    assert data["status"] == "reachable" and data["distance"] > 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    scenario = load_scenario(scenario_file, model)
    verdicts = evaluate(load_targets(), run_scenario(model, scenario)).set_index("id")
    assert verdicts.loc["T5", "met"] is True
    baseline = evaluate(load_targets(), run_scenario(model, load_scenario(SCENARIOS / "baseline.toml", model)))
    assert baseline.set_index("id").loc["T5", "met"] is False  # so a change was needed
    validated = invoke(["validate", str(scenario_file)], tmp_path)
    assert validated.exit_code == 0, validated.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["T99"], "unknown target 'T99'"),
        (["T1", "T7X"], "did you mean"),
        (["T17"], "cannot be evaluated"),
        (["T1", "--levers", "Outside Capitol Target"], "did you mean 'Outside Capital Target'"),
        (["T1", "--levers", "Capital Elasticity"], "not a LEVER"),
        (["T1", "--levers", "GDP"], "not a LEVER"),
        (["T1", "--base", "no_such_scenario"], "not found"),
        (["T1", "--write-scenario", "x.txt"], "must end in .toml"),
    ],
)
def test_malformed_input_exits_2_and_writes_nothing(invoke, tmp_path, args, message):
    out = tmp_path / "out"
    full = ["reach", *args, "--out", str(out)]
    if "--write-scenario" not in args:
        full += ["--write-scenario", str(tmp_path / "s.toml")]
    result = invoke(full, tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
