"""Loops That Matter on three toy models whose loop scores are known by hand (tests/data/ltm_*.mdl)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.model.compiler import compile_model
from sim.analysis.loops import analyse, enumerate_loops, make_loop, phases, strongest_loops
from sim.analysis.ltm import causal_graph

DATA = Path(__file__).resolve().parent.parent / "data"


def _analysis(name: str):
    return analyse(compile_model(DATA / f"{name}.mdl"))


def test_goal_seeking_has_one_balancing_loop_scoring_minus_one_throughout():
    # Level -> Gap (Gap = Goal - Level: the only input that moves, sign -), Gap -> Adjustment
    # (= Gap / time: +1), Adjustment -> Level (the only flow: +1). Product: -1 at every step.
    a = _analysis("ltm_goal")
    assert [lp.variables for lp in a.loops.values()] == [("Adjustment", "Level", "Gap")]
    (loop_id,) = a.loops
    assert a.polarity[loop_id] == "-"
    np.testing.assert_allclose(a.scores[loop_id].to_numpy(), -1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.relative("Level")[loop_id].to_numpy(), -1.0, atol=1e-12)
    assert a.graph.nodes == {"Level": "stock", "Adjustment": "flow", "Gap": "aux"}


def test_exponential_growth_has_one_reinforcing_loop_scoring_plus_one():
    a = _analysis("ltm_growth")
    assert [lp.variables for lp in a.loops.values()] == [("Births", "Population")]
    (loop_id,) = a.loops
    assert a.polarity[loop_id] == "+"
    np.testing.assert_allclose(a.scores[loop_id].to_numpy(), 1.0, atol=1e-12)


def _logistic():
    a = _analysis("ltm_logistic")
    by_vars = {lp.variables: i for i, lp in a.loops.items()}
    r = by_vars[("Net Growth", "Population")]
    b = by_vars[("Fractional Growth", "Net Growth", "Population")]
    return a, r, b


def test_logistic_loops_have_the_polarities_of_their_links():
    a, r, b = _logistic()
    assert len(a.loops) == 2
    assert (a.polarity[r], a.polarity[b]) == ("+", "-")
    # Two loops through the stock: their relative scores' magnitudes add up to 1.
    rel = a.relative("Population")
    np.testing.assert_allclose(rel.abs().sum(axis=1).to_numpy(), 1.0, atol=1e-12)


def test_logistic_dominance_shifts_when_the_population_passes_half_the_capacity():
    # Net Growth = P * FG, FG = r (1 - P/K). Changing P alone moves Net Growth by FG·ΔP,
    # changing FG alone by P·ΔFG = -P (r/K) ΔP, so |R| > |B| exactly while r(1 - P/K) > r P/K,
    # i.e. P < K/2 at the earlier step. The first step where B dominates is the step after
    # the Euler trajectory first reaches K/2.
    a, r, b = _logistic()
    cm = compile_model(DATA / "ltm_logistic.mdl")
    p, dt = 1.0, cm.time_step  # the Euler trajectory, by hand
    rate, capacity = cm.constants["Maximum Growth Rate"], cm.constants["Carrying Capacity"]
    t = 0.0
    while p < capacity / 2:
        p += dt * rate * p * (1 - p / capacity)
        t += dt
    expected_switch = t + dt
    (_, _, first, winner), (second, _, later, loser) = phases(a.relative("Population"))
    assert (first, winner, later, loser) == ("+", r, "-", b)
    assert second == pytest.approx(expected_switch, abs=1e-9)


def test_logistic_dominance_shifts_at_the_closed_form_inflection_point():
    # Closed form: P(t) = K / (1 + (K/P0 - 1) e^{-rt}), inflection at P = K/2, t* = ln(K/P0 - 1) / r.
    # Tolerance: Euler grows by (1 + r dt) per step, an effective rate ln(1 + r dt)/dt ≈ r (1 - r dt/2),
    # so it reaches K/2 later by about t*·r·dt/2; the shift is seen at most two steps after the
    # crossing (the scores compare a step with the one before). Hence t*·r·dt/2 + 2 dt.
    a, r, b = _logistic()
    cm = compile_model(DATA / "ltm_logistic.mdl")
    rate, capacity, p0 = cm.constants["Maximum Growth Rate"], cm.constants["Carrying Capacity"], 1.0
    dt = cm.time_step
    t_star = math.log(capacity / p0 - 1) / rate
    tolerance = t_star * rate * dt / 2 + 2 * dt
    (_, _, _, winner), (switch, _, _, later) = phases(a.relative("Population"))
    assert (winner, later) == (r, b)
    assert abs(switch - t_star) <= tolerance


def test_strongest_path_search_finds_the_enumerated_loops_of_the_logistic_model():
    a, r, b = _logistic()
    found = strongest_loops(a.graph, a.links)
    assert {lp.id for lp in found} == {r, b}
    assert enumerate_loops(a.graph, max_loops=1) is None  # two loops exceed a bound of one


def test_loop_ids_do_not_depend_on_where_the_cycle_starts():
    assert make_loop(["B", "C", "A"]) == make_loop(["A", "B", "C"]) == make_loop(["C", "A", "B"])
    assert make_loop(["A", "C", "B"]).id != make_loop(["A", "B", "C"]).id  # the other direction
    assert make_loop(["B", "C", "A"]).variables == ("A", "B", "C")


def test_a_smooth_is_a_stock_with_its_own_balancing_loop():
    # toy.mdl: Output = SMOOTH(Capital*0.4, 2) + ...: the smooth is a node with a self-loop
    cm = compile_model(DATA / "toy.mdl")
    graph = causal_graph(cm.ir)
    smooth = [n for n, k in graph.nodes.items() if k == "smooth"]
    assert smooth == ["Output [SMOOTH]"]
    assert ("Output [SMOOTH]", "Output [SMOOTH]") in graph.edges
    assert ("Capital", "Output [SMOOTH]") in graph.edges
    a = analyse(cm)
    minor = make_loop(["Output [SMOOTH]"]).id
    # the smooth's state closes the gap to its input: balancing
    assert a.polarity[minor] == "-"
    # Capital -> Depreciation -> Capital drains the stock: balancing
    assert a.polarity[make_loop(["Capital", "Depreciation"]).id] == "-"


def test_probed_link_signs_are_the_signs_of_the_partial_derivatives():
    # Gap = Goal - Level falls when Level rises; Adjustment = Gap / time rises with Gap.
    a = _analysis("ltm_goal")
    assert set(a.signs[("Level", "Gap")]) == {-1.0}
    assert set(a.signs[("Gap", "Adjustment")]) == {1.0}
    assert set(a.signs[("Adjustment", "Level")]) == {1.0}


def test_a_variable_on_no_loop_is_driven_by_the_loops_through_its_nearest_cause():
    a = _analysis("ltm_growth")
    (loop_id,) = a.loops
    assert a.drivers("Population Density") == [loop_id]
    np.testing.assert_allclose(a.relative("Population Density")[loop_id].to_numpy(), 1.0, atol=1e-12)


def test_flows_into_one_stock_score_by_their_share_of_the_change_in_net_flow():
    # Births = b P, Deaths = d P: Δbirths / Δnet = b / (b - d), Δdeaths / Δnet = d / (b - d).
    # Loop scores: births loop +b/(b-d) = +2.5, deaths loop -d/(b-d) = -1.5 (b = 0.05, d = 0.03);
    # relative: +2.5/4 = 0.625 and -1.5/4 = -0.375.
    a = _analysis("ltm_births_deaths")
    b, d = 0.05, 0.03
    births = make_loop(["Population", "Births"]).id
    deaths = make_loop(["Population", "Deaths"]).id
    np.testing.assert_allclose(a.scores[births].to_numpy(), b / (b - d), rtol=1e-9)
    np.testing.assert_allclose(a.scores[deaths].to_numpy(), -d / (b - d), rtol=1e-9)
    rel = a.relative("Population")
    np.testing.assert_allclose(rel[births].to_numpy(), b / (b + d), rtol=1e-9)
    np.testing.assert_allclose(rel[deaths].to_numpy(), -d / (b + d), rtol=1e-9)
    assert (a.polarity[births], a.polarity[deaths]) == ("+", "-")


DELAYED = """{UTF-8}
Stock= INTEG (Inflow - Outflow, 1)
	~	Widget
	~	A stock fed by a delayed share of itself.
	|
Inflow= DELAY3(Stock * 0.2, 2)
	~	Widget/Year
	~	Material delay of order three.
	|
Outflow= Stock * Smooth Rate
	~	Widget/Year
	~	Drain.
	|
Smooth Rate= SMOOTH3(0.05 + 0 * Stock, 1)
	~	1/Year
	~	Third-order smooth.
	|
FINAL TIME = 10
	~	Year
	~		|
INITIAL TIME = 0
	~	Year
	~		|
SAVEPER = 1
	~	Year
	~		|
TIME STEP = 0.25
	~	Year
	~		|
"""


def test_delays_and_third_order_smooths_pass_a_change_on(tmp_path):
    path = tmp_path / "delayed.mdl"
    path.write_text(DELAYED, encoding="utf-8")
    a = analyse(compile_model(path))
    assert a.graph.nodes["Inflow"] == "delay" and a.graph.nodes["Smooth Rate"] == "smooth"
    delayed = make_loop(["Stock", "Inflow"]).id
    drain = make_loop(["Stock", "Outflow"]).id
    assert a.polarity[delayed] == "+" and a.polarity[drain] == "-"
    # the smooth's input does not respond to the stock (0 * Stock): a loop that never acts, of no sign
    assert a.polarity[make_loop(["Stock", "Smooth Rate", "Outflow"]).id] == "0"
