"""Structural checks of ``shuangta check``: documented ranges and the whole lever box.

* :func:`check_ranges` -- variables that describe the model's structure (each
  sector's capital-output ratio and marginal product of capital, ...) stay in
  ranges documented with their sources in ``model/data/reality_checks.toml``
  (``[[structure.ranges]]``), in the named scenarios and years;
* :func:`check_lever_box` -- every lever and every uncertain parameter at its
  minimum and maximum, one at a time and all together, and random corners of
  the box (``[structure.lever_box]``): in no run and no year does fixed-asset
  investment exceed the largest share of GDP recorded for Chinese localities,
  and GDP over the long span grows no faster than the fastest comparable
  places did. Both bounds are analogue quantities of ``sim/data/analogues.toml``
  (values and sources there, shared with the plausibility classes of
  ``shuangta reach``). Investment that nothing finances would break the first.

The financing identity itself (investment never exceeds its sources) is a
physical bound of the extreme-conditions test (``[[bounds]]`` with ``le``).
This module never prints and never exits.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from sim.analysis.checks import (CheckResult, ChecksFile, check_names, ensemble_params, extreme_members,
                        load_checks, scenario_levers, year_index)
from sim.errors import InputError
from sim.model.loader import DEFAULT_MODEL

def check_ranges(model_path=DEFAULT_MODEL, data: ChecksFile | None = None) -> CheckResult:
    """Each ``[[structure.ranges]]`` entry: the variable within [min, max] in its scenarios and years."""
    from sim.model.loader import load_model

    data = data or load_checks()
    ranges = data.structure.ranges
    if not ranges:
        raise InputError("no [[structure.ranges]] in the validation data file")
    model = load_model(model_path)
    cm = model.compiled
    check_names([r.variable for r in ranges], cm.variables, "structure.ranges")
    final = max(y for r in ranges for y in r.years)
    runs = {}
    for name in sorted({s for r in ranges for s in r.scenarios}):
        levers = scenario_levers(name, model)
        steps = cm.step_times(final_time=final)
        params = {n: (v.at(steps) if v.is_series else v.value) for n, v in levers.items()}
        runs[name] = cm.run(params=params, return_columns=[r.variable for r in ranges], final_time=final)
    details, rows = [], []
    for r in ranges:
        for name in r.scenarios:
            run = runs[name]
            values = [float(run.values[r.variable][0, year_index(run.times, y)]) for y in r.years]
            shown = ", ".join(f"{y}: {v:.3g}" for y, v in zip(r.years, values))
            line = f"{name}: {r.variable} {shown} (range {r.min:g}-{r.max:g})"
            rows.append(line)
            if any(not (r.min <= v <= r.max) for v in values):
                details.append(f"outside the documented range: {line}")
    return CheckResult(
        "structure", not details,
        f"{len(ranges)} documented ranges in {len(runs)} scenarios: {len(details)} outside",
        details + rows, {"ranges": len(ranges), "outside": len(details)},
    )


def box_members(levers: dict, corners: int, seed: int) -> list[tuple[str, dict]]:
    """Extremes one at a time and all together (:func:`sim.analysis.checks.extreme_members`), then ``corners``
    corners of the box drawn from a Latin hypercube (each factor at its minimum in about half of them)."""
    members = extreme_members(levers, "levers and parameters")
    if corners:
        names = sorted(levers)
        unit = qmc.LatinHypercube(d=len(names), seed=seed).random(corners)
        for k, row in enumerate(unit):
            members.append((f"corner {k + 1}", {n: (levers[n].upper if u >= 0.5 else levers[n].lower)
                                                for n, u in zip(names, row)}))
    return members


def check_lever_box(model_path=DEFAULT_MODEL, data: ChecksFile | None = None) -> CheckResult:
    """Investment/GDP in every year and long-run GDP growth over the whole box of levers and uncertain parameters."""
    from sim.model.loader import load_model
    from sim.analysis.plausibility import load_analogues
    from sim.specs.levers import LeverValue
    from sim.plan.targets import load_targets

    data = data or load_checks()
    box = data.structure.lever_box
    if box is None:
        raise InputError("no [structure.lever_box] in the validation data file")
    quantities = {q.id: q for q in load_analogues()}
    for qid in (box.investment_share, box.long_growth):
        if qid not in quantities:
            raise InputError(f"structure.lever_box: no analogue quantity {qid!r}; known: {', '.join(quantities)}")
    share_q, growth_q = quantities[box.investment_share], quantities[box.long_growth]
    targets = load_targets()
    investment, gdp = share_q.variables(targets)
    growth_var, _ = growth_q.variables(targets)
    model = load_model(model_path)
    cm = model.compiled
    levers = {**model.levers, **model.uncertainties}
    members = box_members(levers, box.corners, box.seed)
    final = max(data.settings.final_time or growth_q.end, growth_q.end)
    params = ensemble_params([{k: LeverValue.constant(v) for k, v in m.items()} for _, m in members],
                             cm.step_times(final_time=final), cm.constants)
    run = cm.run(params=params, n=len(members), return_columns=sorted({investment, gdp, growth_var}), final_time=final)
    share = run.values[investment] / run.values[gdp]
    a, b = year_index(run.times, growth_q.start), year_index(run.times, growth_q.end)
    span = growth_q.end - growth_q.start
    growth = (run.values[growth_var][:, b] / run.values[growth_var][:, a]) ** (1 / span) - 1
    share_max, growth_max = share_q.analogue.value, growth_q.analogue.value
    details = []
    for i, (label, _) in enumerate(members):
        k = int(np.nanargmax(share[i]))
        if not share[i, k] <= share_max:
            details.append(f"{label}: {investment} {share[i, k]:.2f} of {gdp} in {run.times[k]:g}, above {share_max:g}")
        if not growth[i] <= growth_max:
            details.append(f"{label}: {growth_var} grows {growth[i]:.1%}/yr over {growth_q.start}-{growth_q.end}, "
                           f"above {growth_max:.1%}/yr")
    top_share, top_growth = float(np.nanmax(share)), float(np.nanmax(growth))
    return CheckResult(
        "lever box", not details,
        f"{len(members)} runs ({len(levers)} levers and uncertain parameters at min and max, all at min, all at max, "
        f"{box.corners} corners): largest {investment} / {gdp} {top_share:.2f} in any year (bound {share_max:g}), "
        f"fastest {growth_var} growth {growth_q.start}-{growth_q.end} {top_growth:.1%}/yr (bound {growth_max:.1%}/yr)",
        details + [f"bound on investment/GDP: {share_q.analogue.source}",
                   f"bound on {span}-year growth: {growth_q.analogue.source}"],
        {"runs": len(members), "largest_investment_share": top_share, "fastest_growth": top_growth},
    )
