"""Loops That Matter on the district model: `shuangta loops` on the plan, its report section, the README table.

Names of the district model are not typed here: the explained variables are
those of targets T1 and T7 (sim/data/targets.toml) and the documented loops
come from model/README.md.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import MODEL_FILE, SCENARIOS
from sim.analysis.loop_results import default_variables, read_loops, run_loops
from sim.present.plots import slug

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan_loops(tmp_path_factory):
    out = tmp_path_factory.mktemp("loops") / "plan"
    run_loops(SCENARIOS / "plan.toml", out, command=["shuangta", "loops", "scenarios/plan.toml"])
    return read_loops(out)


def test_every_loop_has_an_id_a_polarity_and_closes_on_itself(plan_loops):
    table = plan_loops["loops"]
    assert len(table) > 0 and table["loop"].is_unique
    assert set(table["polarity"]) <= {"+", "-", "0"}
    for path in table["path"].head(50):
        names = path.split(" → ")
        assert names[0] == names[-1] and len(set(names[:-1])) == len(names) - 1
    # strengths are shares of the total: between 0 and 1
    assert table["strength"].between(0, 1 + 1e-9).all()


def test_the_target_variables_are_explained_with_a_plot_and_a_loop_diagram(plan_loops):
    variables = default_variables()
    assert len(variables) == 2
    assert plan_loops["manifest"]["extra"]["variables"] == variables
    rel = plan_loops["relative"]
    assert set(rel["variable"]) == set(variables)
    for v in variables:
        # at each time the magnitudes of a variable's relative scores add up to at most 1
        sums = rel[rel["variable"] == v].groupby("time")["relative_score"].apply(lambda s: s.abs().sum())
        assert (sums <= 1 + 1e-6).all()
        assert (plan_loops["folder"] / f"dominance_{slug(v)}.png").read_bytes()[:8] == PNG
        loop_id = plan_loops["manifest"]["extra"]["dominant"][v]
        assert (plan_loops["folder"] / f"loop_{loop_id}.png").read_bytes()[:8] == PNG
        assert f"## {v}" in plan_loops["text"]


def test_the_report_gains_a_why_section_from_the_loops_folder(plan_loops, tmp_path):
    from sim.present.report import build_report, write_report

    page = write_report(build_report([plan_loops["folder"]], model_path=MODEL_FILE), tmp_path / "r.html")
    html = page.read_text(encoding="utf-8")
    section = re.search(r'<section id="loops">(.*?)</section>', html, re.S).group(1)
    for v in default_variables():
        assert v in section
        assert plan_loops["manifest"]["extra"]["dominant"][v] in section
    assert section.count("<img") == 4  # a dominance plot and a loop diagram per variable


def test_every_documented_loop_is_found_with_its_polarity(plan_loops):
    table = pd.read_csv(plan_loops["folder"] / "documented_loops.csv")
    assert len(table) > 0
    failing = table[~table["passed"]]
    assert failing.empty, failing[["row", "reason"]].to_string()
