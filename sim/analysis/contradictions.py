"""The contradictions of docs/plan.md §4, item by item: each claim checked against the model's consistency answer.

``sim/data/plan_section4.toml`` lists the items (claim, targets involved, the plan's stated figures that
are not targets, where the 2020 figures are read); :func:`contradictions` confronts each with a
:class:`sim.analysis.consistency.ConsistencyResult`. This module never prints and never exits.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence


from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.model.loader import Model
from sim.analysis.search import gap_to_value
from sim.plan.targets import Target, format_number, load_targets


#: docs/plan.md §4 as data: each item's claim, the targets it involves and the plan's stated figures
#: that are not targets (see the file's header); the plan's 2020 figures are read from history.csv and the model.
SECTION4_FILE = Path(__file__).resolve().parents[1] / "data" / "plan_section4.toml"


def load_section4(path: str | Path | None = None) -> dict:
    """Read and check the §4 data file (default :data:`SECTION4_FILE`); returns its TOML as a dict.

    Problems raise :class:`InputError` listing them all.
    """
    path = Path(path) if path is not None else SECTION4_FILE
    data = read_toml(path, "§4 data file")
    problems: list[str] = []
    if data.get("schema_version", 1) != 1:
        problems.append(f"unsupported schema_version {data['schema_version']!r} (this version reads 1)")
    plan = data.get("plan_2020")
    if not isinstance(plan, dict) or not isinstance(plan.get("year"), int):
        problems.append("[plan_2020] needs a whole-number year")
    else:
        for key, src in plan.items():
            if key != "year" and (not isinstance(src, dict) or len({"history", "model"} & set(src)) != 1):
                problems.append(f"plan_2020.{key}: needs exactly one of history = or model =")
    items = data.get("items")
    if not isinstance(items, dict):
        problems.append("no [items.N] tables")
        items = {}
    for number in _ITEMS:
        item = items.get(number)
        if not isinstance(item, dict):
            problems.append(f"items.{number}: missing")
            continue
        if item.get("kind") not in ("arithmetic", "model"):
            problems.append(f"items.{number}: kind must be 'arithmetic' or 'model'")
        for key in ("targets",) + (("two_sided",) if "two_sided" in item else ()):
            if not isinstance(item.get(key), list) or not all(isinstance(i, str) for i in item[key]) or not item[key]:
                problems.append(f"items.{number}: {key} must be a list of target ids")
        if not isinstance(item.get("claim"), str):
            problems.append(f"items.{number}: claim must be a string")
        for name, fig in item.get("stated", {}).items():
            value = fig.get("value") if isinstance(fig, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not isinstance(fig.get("section"), str):
                problems.append(f"items.{number}.stated.{name}: needs a finite value and a section")
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return data


#: The §4 items, in order.
_ITEMS = ("1", "2", "3", "4", "5", "6", "7")


def section4_sets(plan: dict) -> dict:
    """The extra sets checked for §4 (item -> target ids) of a :func:`load_section4` dict;
    ``"7b"`` is item 7's two-sided set ("T8U" is T8's upper side, see :func:`t8_upper`)."""
    out: dict = {}
    for number, item in plan["items"].items():
        if item["kind"] == "model":
            out[int(number)] = tuple(item["targets"])
            if "two_sided" in item:
                out[f"{number}b"] = tuple(item["two_sided"])
    return out


def plan_2020(plan: dict, model: Model | None = None, history: str | Path | None = None) -> dict[str, float]:
    """The plan's 2020 figures that §4 uses, by the keys of ``[plan_2020]`` in the §4 data file.

    ``history =`` figures are that variable's row for the year in ``history``
    (default ``model/data/history.csv``, read by :func:`sim.plan.history.load_history`);
    ``model =`` figures are that constant of ``model`` (or of the project's
    model when ``model`` lacks it).
    """
    from sim.plan.history import HISTORY_FILE, load_history

    spec = plan["plan_2020"]
    year = spec["year"]
    frame = None
    out: dict[str, float] = {}
    for key, src in spec.items():
        if key == "year":
            continue
        if "history" in src:
            if frame is None:
                frame = load_history(history if history is not None else HISTORY_FILE)
            rows = frame[(frame["variable"] == src["history"]) & (frame["year"].astype(int) == year)
                         & (frame["measure"] == "level")]
            if len(rows) != 1:
                raise InputError(f"history has {len(rows)} rows for {src['history']!r} in {year}, need one (plan_2020.{key})")
            out[key] = float(rows["value"].iloc[0])
        else:
            name = src["model"]
            if model is None or name not in model.variables:
                from sim.model.loader import load_model

                model = load_model()
            if name not in model.compiled.constants:
                raise InputError(f"{model.path}: no constant {name!r} (plan_2020.{key})")
            out[key] = float(model.compiled.constants[name])
    return out


def t8_upper(t8: Target) -> Target:
    """T8 read two-sided: income growth also at most 0.5 point *above* GDP growth (同步 as 'equal')."""
    return replace(
        t8, id="T8U", comparison="<=", threshold=-t8.threshold,
        description=("Urban income grows in step with the economy, upper side: real income CAGR at most "
                     f"{-t8.threshold * 100:g} point above real GDP CAGR"),
        arithmetic=f"T8's reading of 同步 as equality: |CAGR(real income) - CAGR(real GDP)| <= {-t8.threshold:g} is T8 and this",
    )


def _pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f} %"


def signed_gap(x: float) -> str:
    """A normalised gap with its sign, three decimals: ``+0.012``."""
    return f"{x:+.3f}"


def _held(s: dict) -> str:
    """``best min-gap +0.012 -> can hold together``: what the search found for one set of targets."""
    return f"best min-gap {signed_gap(s['best_min_gap'])} -> {'can hold together' if s['feasible'] else 'cannot hold together'}"


def _fig(x: float) -> str:
    """A figure as the plan writes it: ``165``, ``52.5``."""
    return f"{x:g}"


def _rate(x: float) -> str:
    """A rate as the plan writes it: ``24.5 %``."""
    return f"{x * 100:g} %"


def _targets_by_id(result, targets: Sequence[Target] | str | Path | None) -> dict[str, Target]:
    """Targets by id: the shipped file's, replaced by the study's, replaced by ``targets``."""
    out = {t.id: t for t in load_targets()}
    out.update({t.id: t for t in result.search.targets})
    if targets is not None:
        given = list(targets) if isinstance(targets, (list, tuple)) else load_targets(targets)
        out.update({t.id: t for t in given})
    return out


def search_ids(result) -> list[str]:
    """The ids of the targets a consistency result searched."""
    return list(result.search.ids)


def _alone(singles: dict, ids: Sequence[str]) -> str:
    parts = [f"{i} {signed_gap(singles[i]['best_min_gap'])}" for i in ids if i in singles]
    return f" Each alone, best gap: {', '.join(parts)}." if parts else ""


def contradictions(
    result,  # a sim.analysis.consistency.ConsistencyResult
    *,
    targets: Sequence[Target] | str | Path | None = None,
    section4: dict | str | Path | None = None,
    history: str | Path | None = None,
) -> list[dict]:
    """One finding per item of docs/plan.md §4: ``{item, claim, kind, verdict, text}``.

    Items 1-2 are the plan's arithmetic; items 3-7 use the sets checked by the
    model (skipped, with a note, when their targets are not in the study).
    Every number comes from data: thresholds from the targets (the shipped
    file's, then the study's, then ``targets``), the plan's 2020 figures from
    ``history`` (default ``model/data/history.csv``) and the study's model
    (:func:`plan_2020`), the plan's other statements from the §4 data file
    ``section4`` (a path or a :func:`load_section4` dict; default
    :data:`SECTION4_FILE`).
    """
    plan = section4 if isinstance(section4, dict) else load_section4(section4)
    items = plan["items"]
    year = plan["plan_2020"]["year"]
    T = _targets_by_id(result, targets)
    P = plan_2020(plan, result.search.model, history)
    singles = result.singles

    def stated(item: int, name: str) -> float:
        return float(items[str(item)]["stated"][name]["value"])

    def claim(item: int, **values) -> str:
        return items[str(item)]["claim"].format(**values)

    def ids(item: int) -> list[str]:
        return list(items[str(item)]["targets"])

    def span(t: Target) -> int:
        """Years from the plan's 2020 figures to the target's year."""
        return t.year - year

    out = []
    # 1-2: arithmetic only
    t1, t21 = T["T1"], T["T21"]
    goal, out0, ch1 = t1.threshold, P["output"], P["output_ch1"]
    n1, n21 = span(t1), span(t21)
    r_from = (goal / out0) ** (1 / n1) - 1
    r_ch1 = (goal / ch1) ** (1 / n1) - 1
    r = stated(1, "output_growth")
    out.append({
        "item": 1, "kind": items["1"]["kind"], "targets": ids(1), "verdict": "confirmed",
        "claim": claim(1, output=out0, output_ch1=ch1),
        "text": (f"{_fig(ch1)} (Ch.1) and {_fig(out0)} (Ch.6) differ by {(out0 / ch1 - 1) * 100:.1f} %; {_fig(goal)} in "
                 f"{t1.year} needs {_pct(r_from, 2)}/yr from {_fig(out0)} but {_pct(r_ch1, 2)}/yr from {_fig(ch1)}; "
                 f"the plan's {_rate(r)}/yr fits {_fig(out0)} ({_fig(out0)} × {1 + r:g}^{n1} = "
                 f"{out0 * (1 + r) ** n1:.1f}), while from {_fig(ch1)} it gives {ch1 * (1 + r) ** n1:.1f}. The model "
                 f"uses {_fig(out0)}, the base the target was computed from."),
    })
    r = stated(2, "output_growth")
    multiple = stated(2, "output_multiple")
    ratio = goal / out0
    t21_rate = t21.threshold
    out.append({
        "item": 2, "kind": items["2"]["kind"], "targets": ids(2), "verdict": "confirmed",
        "claim": claim(2, output=out0, t1=goal, multiple=ratio, grows=ratio - 1, stated_grows=multiple - 1),
        "text": (f"{_fig(goal)} / {_fig(out0)} = {ratio:.2f}, i.e. 增长{ratio - 1:g}倍 (+{(ratio - 1) * 100:.0f} %), "
                 f"{_pct(r_from, 2)}/yr; '增长{multiple - 1:g}倍' is ×{multiple:g} = {out0 * multiple:.1f}, i.e. "
                 f"{_pct(multiple ** (1 / n1) - 1, 2)}/yr, which is the paragraph's other rate, +{_rate(t21_rate)}/yr "
                 f"for above-scale enterprises (T21: {_fig(out0)} × {1 + t21_rate:g}^{n21} = "
                 f"{out0 * (1 + t21_rate) ** n21:.1f}). The paragraph holds two self-consistent pairs: "
                 f"({_fig(goal)}, ×{ratio:g}, {_rate(r)}/yr) and (×{multiple:g} = {out0 * multiple:.1f}, "
                 f"{_rate(t21_rate)}/yr)."),
    })
    sets = result.sets

    def missing(item):
        out.append({"item": item, "kind": "model", "targets": ids(item), "verdict": "not checked",
                    "claim": "", "text": f"not checked: {', '.join(ids(item))} not all in this study"})

    # 3: T21 vs T1
    s = sets.get("3")
    if s is None:
        missing(3)
    else:
        base = P["output"]
        need = (goal / base) ** (1 / n1) - 1
        r = stated(3, "output_growth")
        out.append({
            "item": 3, "kind": "model", "targets": ids(3),
            "verdict": "not a contradiction as inequalities",
            "claim": claim(3, t21_pct=t21_rate * 100, stated_pct=r * 100),
            "text": (f"both are lower bounds on the same series ({t1.variable}, {base:.1f} in {year}): "
                     f"{_fig(goal)} in {t1.year} means {_pct(need, 2)}/yr >= {_rate(t21_rate)}/yr, so T1 implies T21 "
                     f"and they hold together whenever T1 does. Model: {_held(s)} (T1 {format_number(s['values']['T1'])}, "
                     f"T21 {format_number(s['values']['T21'], 'growth')} at that point). As point forecasts they differ: "
                     f"{_rate(t21_rate)}/yr gives {base * (1 + t21_rate) ** n21:.1f}, not {_fig(goal)}."),
        })
    # 4: T11 vs T12
    s = sets.get("4")
    if s is None:
        missing(4)
    else:
        base = P["retail"]
        t11, t12 = T["T11"], T["T12"]
        n11, n12 = span(t11), span(t12)
        floor = t12.threshold
        r = stated(4, "retail_growth")
        out.append({
            "item": 4, "kind": "model", "targets": ids(4),
            "verdict": "not a contradiction as inequalities",
            "claim": claim(4, t12_pct=floor * 100, stated_pct=r * 100, t11=t11.threshold),
            "text": (f"+{_rate(floor)}/yr 'or more' is a floor: {_fig(t11.threshold)} in {t11.year} means "
                     f"{_pct((t11.threshold / base) ** (1 / n11) - 1, 2)}/yr from {base:.1f}, which satisfies it, so "
                     f"T11 implies T12. Model: {_held(s)} (retail {format_number(s['values']['T11'])} in {t11.year} at "
                     f"that point). As point forecasts they differ: +{_rate(floor)}/yr gives "
                     f"{base * (1 + floor) ** n12:.1f}, +{_rate(r)}/yr {base * (1 + r) ** n11:.1f}."),
        })
    # 5: T10 vs T9B with T3
    s = sets.get("5")
    if s is None:
        missing(5)
    else:
        gdp0, ter0 = P["gdp"], P["tertiary"]
        t10, share, doubled = T["T10"], T["T9B"].threshold, T["T3"].threshold
        n10 = span(t10)
        ter25 = ter0 * (1 + t10.threshold) ** n10
        need_gdp = ter25 / share
        v = s["values"]
        out.append({
            "item": 5, "kind": "model", "targets": ids(5),
            "verdict": "refuted by the model" if s["feasible"] else "confirmed",
            "claim": claim(5, t10_pct=t10.threshold * 100, share_pct=ter25 / doubled * 100, t9b_pct=share * 100),
            "text": (f"T10 and T9B with T3: {_held(s)} (at that point tertiary "
                     f"{format_number(v['T10'], 'growth')}, services share {_pct(v['T9B'])}, GDP {v['T3']:.1f}; binding: "
                     f"{', '.join(s['binding'])}). Arithmetic: tertiary +{_rate(t10.threshold)}/yr gives {ter25:.1f} in "
                     f"{t10.year}, {_pct(ter25 / doubled)} of a doubled GDP ({doubled:.2f}); with a {_rate(share)} share "
                     f"it needs GDP >= {need_gdp:.1f} (×{need_gdp / gdp0:.2f}, {_pct((need_gdp / gdp0) ** (1 / n10) - 1)}"
                     f"/yr), and with GDP exactly doubled and a {_rate(share)} share tertiary grows only "
                     f"{_pct((share * doubled / ter0) ** (1 / n10) - 1)}/yr." + _alone(singles, ids(5))),
        })
    # 6: T9 vs T2 with T3
    s = sets.get("6")
    if s is None:
        missing(6)
    else:
        gdp0, doubled = P["gdp"], T["T3"].threshold
        t9, t2 = T["T9"], T["T2"]
        n9, n2 = span(t9), span(t2)
        sec0 = P["secondary_share"] * gdp0
        sec25 = t9.threshold * doubled
        need = (sec25 / sec0) ** (1 / n9) - 1
        v = s["values"]
        out.append({
            "item": 6, "kind": "model", "targets": ids(6),
            "verdict": "refuted by the model" if s["feasible"] else "confirmed",
            "claim": claim(6, t9_pct=t9.threshold * 100, need_pct=need * 100, t2_pct=t2.threshold * 100),
            "text": (f"T9 and T2 with T3: {_held(s)} (at that point secondary share "
                     f"{_pct(v['T9'])}, industrial value added {format_number(v['T2'], 'growth')}, GDP {v['T3']:.1f}; "
                     f"binding: {', '.join(s['binding'])}). Arithmetic: {_rate(t9.threshold)} of a doubled GDP is "
                     f"{sec25:.1f} from {sec0:.1f}, secondary {_pct(need)}/yr; T2's +{_rate(t2.threshold)}/yr is a "
                     f"floor, so as inequalities the three fit if secondary grows that fast, but at "
                     f"+{_rate(t2.threshold)}/yr the secondary share of a doubled GDP stays "
                     f"{_pct(sec0 * (1 + t2.threshold) ** n2 / doubled)}." + _alone(singles, ids(6))),
        })
    # 7: T8 vs T6
    s, s2 = sets.get("7"), sets.get("7b")
    if s is None:
        missing(7)
    else:
        v = s["values"]
        point = -T["T8"].threshold * 100
        two = ""
        if s2 is not None:
            two = (f" Read two-sided (|income growth - GDP growth| <= {point:g} point, T8 and its upper side T8U) with "
                   f"T6: {_held(s2)} "
                   f"(T8 {format_number(s2['values']['T8'], 'growth_vs')}, T6 {format_number(s2['values']['T6'], 'growth')}).")
        why = ""
        if "T6" in singles and "T8" in search_ids(result):
            t8 = next(t for t in result.search.targets if t.id == "T8")
            t6 = next(t for t in result.search.targets if t.id == "T6")
            at = singles["T6"]["all_gaps"]
            why = (f" Where T6 is best met alone (nominal income {format_number(gap_to_value(t6, at['T6']), 'growth')}), "
                   f"T8 is {format_number(gap_to_value(t8, at['T8']), 'growth_vs')}: in the model the levers that raise "
                   "income raise real GDP faster still.")
        verdict = "not a contradiction as inequalities" if s["feasible"] else "confirmed"
        if s["feasible"] and s2 is not None:
            verdict += "; " + ("refuted by the model when read two-sided" if s2["feasible"]
                               else "confirmed when read two-sided")
        out.append({
            "item": 7, "kind": "model", "targets": ids(7) + (["T8U"] if s2 is not None else []),
            "verdict": verdict,
            "claim": claim(7, t6_pct=T["T6"].threshold * 100),
            "text": (f"T8 as encoded is a floor (real income growth >= real GDP growth - {point:g} point). T6 and T8: "
                     f"{_held(s)} "
                     f"(T6 {format_number(v['T6'], 'growth')}, T8 {format_number(v['T8'], 'growth_vs')})." + why + two),
        })
    return out
