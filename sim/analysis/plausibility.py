"""Plausibility classes: is a lever setting that meets the targets within what has been achieved?

`shuangta reach` and `shuangta consistency` find lever settings inside the
levers' ranges. A range says what the model accepts, not what a district of
143 亿元 GDP can do. This module classifies a point (a run) against two
yardsticks read from data files:

* the **outcome quantities** of ``sim/data/analogues.toml`` (FAI growth,
  the largest FAI/GDP, industrial output growth, GDP growth), each measured
  from the variable of a target in ``sim/data/targets.toml`` and compared with
  the district's 2016-2020 record and with what comparable Chinese places
  achieved (the analogues);
* the **lever values** against their 2016-2020 record in
  ``sim/data/lever_references.toml`` (:func:`sim.plan.lever_references.load_lever_references`).

Classes, from the most to the least plausible (:data:`CLASSES`):

``within_record``
    every quantity at or below its record and every lever inside its record
    interval (a quantity without a record only needs to be within its analogue);
``beyond_record_within_analogues``
    some quantity above its record or some lever outside its record interval,
    but every quantity at or below its analogue;
``beyond_analogues``
    some quantity above its analogue;
``unreachable``
    the targets are not met (the search found no point that meets them).

The *binding* item is the one that puts the point in its class: among the
items at the class's level, an outcome quantity before a lever, and among
those the one furthest above its bound, relative to the bound (for
``within_record``: the one closest to its record). For ``unreachable`` it is
the target with the worst normalised gap. A quantity the run does not cover
(a 2035 quantity on a run to 2025) is "not measured" and does not count.

Nothing here prints; bad data files raise :class:`sim.errors.InputError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.plan.lever_references import REFERENCE_TOLERANCE

__all__ = [
    "ANALOGUES_FILE",
    "CLASSES",
    "NOT_CLASSIFIED",
    "Assessment",
    "Bound",
    "Quantity",
    "applicable",
    "assess",
    "assess_frame",
    "describe_binding",
    "lever_levels",
    "load_analogues",
    "point_levels",
    "quantity_levels",
    "quantity_values",
    "search_outcomes",
    "unreachable",
]

#: The analogue data file shipped with the project.
ANALOGUES_FILE = Path(__file__).resolve().parents[1] / "data" / "analogues.toml"

#: The classes, from the most to the least plausible; a point's level is its index here.
CLASSES = ("within_record", "beyond_record_within_analogues", "beyond_analogues", "unreachable")

#: The class of a point with nothing to measure (no applicable quantity, no lever with a record).
NOT_CLASSIFIED = "not_classified"

#: A value this close to its bound (relative to max(|bound|, 1)) counts as at the bound: rounding, not a finding.
TOLERANCE = 1e-9

MEASURES = ("cagr", "max_ratio")
_BOUND_KEYS = {"value", "unit", "source", "reasoning"}
_EVIDENCE_KEYS = {"value", "unit", "source", "year", "note"}
_QUANTITY_KEYS = {"id", "name", "definition", "measure", "target", "denominator", "start", "end", "unit",
                  "record", "analogue", "evidence"}


@dataclass(frozen=True)
class Bound:
    """An upper bound with its source: the district's record or the analogue used."""

    value: float
    unit: str
    source: str
    reasoning: str

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "reasoning": self.reasoning}


@dataclass(frozen=True)
class Quantity:
    """An outcome of a run, measured from target variables (see the data file's header)."""

    id: str
    name: str
    definition: str
    measure: str
    target: str
    start: int
    end: int
    unit: str
    analogue: Bound
    record: Bound | None = None
    denominator: str | None = None
    evidence: tuple = ()

    def target_ids(self) -> list[str]:
        return [self.target] + ([self.denominator] if self.denominator else [])

    def variables(self, targets) -> tuple[str, str | None]:
        """``(variable, denominator variable or None)`` from the targets (a list or ``{id: Target}``)."""
        by_id = targets if isinstance(targets, dict) else {t.id: t for t in targets}
        missing = [i for i in self.target_ids() if i not in by_id or not by_id[i].variable]
        if missing:
            raise InputError(f"plausibility quantity {self.id!r}: no model variable for target {', '.join(missing)}")
        return by_id[self.target].variable, (by_id[self.denominator].variable if self.denominator else None)


def _number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def _bound(entry, label: str, problems: list[str]) -> Bound | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        problems.append(f"{label}: expected a table")
        return None
    if set(entry) != _BOUND_KEYS:
        problems.append(f"{label}: needs exactly {sorted(_BOUND_KEYS)}, has {sorted(entry)}")
        return None
    if not _number(entry["value"]):
        problems.append(f"{label}: value must be a finite number")
        return None
    for key in ("unit", "source", "reasoning"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            problems.append(f"{label}: needs a non-empty {key!r}")
            return None
    return Bound(float(entry["value"]), entry["unit"], entry["source"], entry["reasoning"])


def load_analogues(path: str | Path | None = None, targets=None) -> list[Quantity]:
    """The quantities of the analogue file (default :data:`ANALOGUES_FILE`), checked.

    With ``targets`` (a list of :class:`sim.plan.targets.Target`) each quantity's
    target ids must name a target with a model variable. Every problem is
    listed in one :class:`InputError`.
    """
    path = Path(path) if path is not None else ANALOGUES_FILE
    data = read_toml(path, "analogue data file")
    problems: list[str] = []
    if data.get("schema_version") != 1:
        problems.append("schema_version must be 1")
    entries = data.get("quantity")
    if not isinstance(entries, list) or not entries:
        problems.append("no [[quantity]] entries")
        entries = []
    by_target = {t.id: t for t in targets} if targets is not None else None
    out: list[Quantity] = []
    seen: set[str] = set()
    for i, e in enumerate(entries, start=1):
        label = f"quantity {e.get('id', i) if isinstance(e, dict) else i}"
        if not isinstance(e, dict):
            problems.append(f"{label}: expected a table")
            continue
        unknown = set(e) - _QUANTITY_KEYS
        if unknown:
            problems.append(f"{label}: unknown keys {sorted(unknown)}")
        for key in ("id", "name", "definition", "target", "unit"):
            if not isinstance(e.get(key), str) or not e[key].strip():
                problems.append(f"{label}: needs a non-empty {key!r}")
        if e.get("id") in seen:
            problems.append(f"{label}: listed twice")
        seen.add(e.get("id"))
        measure = e.get("measure")
        if measure not in MEASURES:
            problems.append(f"{label}: measure must be one of {', '.join(MEASURES)}")
        if (measure == "max_ratio") != isinstance(e.get("denominator"), str):
            problems.append(f"{label}: a denominator target is needed for max_ratio, and only for it")
        start, end = e.get("start"), e.get("end")
        if not all(isinstance(y, int) and not isinstance(y, bool) for y in (start, end)) or not start < end:
            problems.append(f"{label}: start and end must be whole years with start < end")
        record = _bound(e.get("record"), f"{label}.record", problems)
        analogue = _bound(e.get("analogue"), f"{label}.analogue", problems)
        if analogue is None and "analogue" not in e:
            problems.append(f"{label}: needs an [analogue] table")
        if record is not None and analogue is not None and record.value > analogue.value:
            problems.append(f"{label}: the record {record.value:g} is above the analogue {analogue.value:g}")
        for j, ev in enumerate(e.get("evidence", []), start=1):
            if not isinstance(ev, dict) or set(ev) != _EVIDENCE_KEYS or not _number(ev.get("value")) \
                    or not all(isinstance(ev[k], str) and ev[k].strip() for k in _EVIDENCE_KEYS - {"value"}):
                problems.append(f"{label}.evidence {j}: needs a finite value and non-empty {sorted(_EVIDENCE_KEYS - {'value'})}")
        if by_target is not None:
            for tid in [e.get("target"), e.get("denominator")]:
                if tid is not None and (tid not in by_target or not by_target[tid].variable):
                    problems.append(f"{label}: target {tid!r} is not a target with a model variable")
        if analogue is not None and not any(p.startswith(label) for p in problems):
            out.append(Quantity(id=e["id"], name=e["name"], definition=e["definition"], measure=measure,
                                target=e["target"], start=start, end=end, unit=e["unit"], analogue=analogue,
                                record=record, denominator=e.get("denominator"),
                                evidence=tuple(e.get("evidence", []))))
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return out


def applicable(quantities: Sequence[Quantity], targets, variables) -> tuple[list[Quantity], list[str]]:
    """``(kept, dropped ids)``: the quantities whose targets are in ``targets`` with a variable in
    ``variables`` (a toy model or target list may lack them; the caller notes the dropped ones)."""
    by_id = {t.id: t for t in targets}
    variables = set(variables)
    kept, dropped = [], []
    for q in quantities:
        ok = all(i in by_id and by_id[i].variable in variables for i in q.target_ids())
        (kept if ok else dropped).append(q if ok else q.id)
    return kept, dropped


# --------------------------------------------------------------------------- measuring


def _at(times: np.ndarray, values: np.ndarray, year: float) -> np.ndarray:
    hits = np.flatnonzero(np.abs(times - year) <= 1e-6)
    return values[:, hits[-1]] if len(hits) else np.full(values.shape[0], np.nan)


def quantity_values(quantities: Sequence[Quantity], targets, times, values: dict) -> dict[str, np.ndarray]:
    """Each quantity for N runs: ``{id: (N,)}``, NaN where the run does not cover its years.

    ``times`` (T,) are the saved years; ``values`` maps variable names to (N, T)
    arrays (or (T,) for one run). ``targets`` gives each quantity's variables.
    """
    times = np.asarray(times, dtype=float)
    out: dict[str, np.ndarray] = {}
    for q in quantities:
        var, den = q.variables(targets)
        if var not in values or (den is not None and den not in values):
            raise InputError(f"plausibility quantity {q.id!r}: the run has no {var if var not in values else den!r}")
        x = np.atleast_2d(np.asarray(values[var], dtype=float))
        with np.errstate(invalid="ignore", divide="ignore"):
            if q.measure == "cagr":
                first, last = _at(times, x, q.start), _at(times, x, q.end)
                rate = (last / first) ** (1.0 / (q.end - q.start)) - 1.0
                out[q.id] = np.where((first > 0) & (last >= 0), rate, np.nan)
            else:
                years = np.arange(q.start, q.end + 1)
                d = np.atleast_2d(np.asarray(values[den], dtype=float))
                # NaN (a year the run lacks, or a zero denominator) propagates: not measured
                ratio = np.vstack([_at(times, x, y) / _at(times, d, y) for y in years]).max(axis=0)
                out[q.id] = np.where(np.isfinite(ratio), ratio, np.nan)
    return out


def _frame_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, dict]:
    if "time" in frame.columns and frame.index.name != "time":
        frame = frame.set_index("time")
    frame = frame.sort_index()
    times = np.asarray(frame.index, dtype=float)
    return times, {c: frame[c].to_numpy(dtype=float)[None, :] for c in frame.columns}


# --------------------------------------------------------------------------- levels


def _within(value, bound: float):
    return value <= bound + TOLERANCE * max(abs(bound), 1.0)


def quantity_levels(quantities: Sequence[Quantity], measured: dict[str, np.ndarray]) -> np.ndarray:
    """``(N, q)`` levels of each quantity: 0 within the record (or, without a record, within the analogue),
    1 above the record but within the analogue, 2 above the analogue, -1 not measured."""
    cols = []
    for q in quantities:
        v = np.asarray(measured[q.id], dtype=float)
        with np.errstate(invalid="ignore"):
            level = np.where(_within(v, q.analogue.value), 1, 2)
            if q.record is not None:
                level = np.where(_within(v, q.record.value), 0, level)
            else:
                level = np.where(level == 1, 0, level)
        cols.append(np.where(np.isfinite(v), level, -1))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0), dtype=int)


def lever_levels(names: Sequence[str], X, refs: dict, span) -> np.ndarray:
    """``(N, k)`` levels of lever values ``X``: 1 outside its 2016-2020 record interval (beyond the
    tolerance of :func:`sim.plan.lever_references.reference_position`), else 0 (inside, or no record)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    out = np.zeros(X.shape, dtype=int)
    for j, name in enumerate(names):
        rec = refs.get(name, {}).get("record")
        if rec is None or not rec.exists:
            continue
        tol = REFERENCE_TOLERANCE * float(np.asarray(span)[j])
        out[:, j] = ((X[:, j] < rec.lower - tol) | (X[:, j] > rec.upper + tol)).astype(int)
    return out


# --------------------------------------------------------------------------- one point


@dataclass
class Assessment:
    """The class of one point, its binding item and every item behind it (``items``)."""

    cls: str
    binding: dict | None
    items: list[dict] = field(default_factory=list)

    @property
    def level(self) -> int:
        """Index in :data:`CLASSES`; -1 when not classified."""
        return CLASSES.index(self.cls) if self.cls in CLASSES else -1

    def to_dict(self) -> dict:
        return {"class": self.cls, "binding": self.binding, "binding_text": self.binding_text(),
                "quantities": [i for i in self.items if i["kind"] == "quantity"],
                "levers": [i for i in self.items if i["kind"] == "lever"]}

    def binding_text(self) -> str:
        return describe_binding(self.binding)

    def describe(self) -> str:
        return f"{self.cls}: {self.binding_text()}" if self.binding else self.cls


def _g(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.4g}"


def describe_binding(b: dict | None) -> str:
    """``largest FAI/GDP ratio 2021-2025 3.2 > analogue 1.56``: a binding item as one line (its source
    is in the item's ``source``)."""
    if not b:
        return "-"
    if b["kind"] == "target":
        return f"target {b['id']} {_g(b['value'])}, needs {b['comparison']} {_g(b['bound'])}"
    if b["kind"] == "lever":
        interval = f"{_g(b['lower'])}" if b["lower"] == b["upper"] else f"{_g(b['lower'])}-{_g(b['upper'])}"
        side = "outside" if b["level"] == 1 else "inside"
        return f"lever {b['id']} {_g(b['value'])} {side} its 2016-2020 record {interval}"
    sign = "<=" if _within(b["value"], b["bound"]) else ">"
    return f"{b['name']} {_g(b['value'])} {sign} {b['bound_kind']} {_g(b['bound'])}"


def _quantity_item(q: Quantity, value: float, level: int) -> dict:
    if level == 0 and q.record is not None:
        bound, kind = q.record, "record"
    elif level == 1:
        bound, kind = q.record, "record"
    else:
        bound, kind = q.analogue, "analogue"
    return {"kind": "quantity", "id": q.id, "name": q.name, "value": float(value), "unit": q.unit,
            "level": int(level), "position": _position(level, q.record is not None),
            "record": q.record.value if q.record else None, "analogue": q.analogue.value,
            "bound": bound.value, "bound_kind": kind, "source": bound.source}


def _position(level: int, has_record: bool) -> str:
    if level < 0:
        return "not measured"
    if level == 0:
        return "within record" if has_record else "within analogue (no record)"
    return "above record, within analogue" if level == 1 else "above analogue"


def _excess(item: dict) -> float:
    b = item["bound"]
    return (item["value"] - b) / max(abs(b), 1e-12)


def assess(quantities: Sequence[Quantity], measured: dict, lever_names: Sequence[str] = (), lever_values=(),
           refs: dict | None = None, span=()) -> Assessment:
    """The class of one point from its measured quantities (``{id: float}``) and lever values.

    ``lever_names``/``lever_values``/``span`` are the searched levers, their
    values at the point and their ranges (``upper - lower``); ``refs`` the
    lever references (:func:`sim.plan.lever_references.load_lever_references`).
    """
    values = {q.id: np.atleast_1d(np.asarray(measured[q.id], dtype=float))[:1] for q in quantities}
    qlev = quantity_levels(quantities, values)[0] if quantities else np.zeros(0, dtype=int)
    items = [_quantity_item(q, float(values[q.id][0]), int(l)) for q, l in zip(quantities, qlev)]
    if len(lever_names):
        llev = lever_levels(lever_names, np.asarray(lever_values, dtype=float)[None, :], refs or {}, span)[0]
        for name, value, level in zip(lever_names, lever_values, llev):
            rec = (refs or {}).get(name, {}).get("record")
            if rec is None or not rec.exists:
                continue
            items.append({"kind": "lever", "id": name, "value": float(value), "level": int(level),
                          "position": "outside record" if level else "inside record", "lower": rec.lower, "upper": rec.upper,
                          "source": rec.source})
    measured_items = [i for i in items if i["level"] >= 0]
    if not measured_items:
        return Assessment(NOT_CLASSIFIED, None, items)
    level = max(i["level"] for i in measured_items)
    top = [i for i in measured_items if i["level"] == level]
    outcome = [i for i in top if i["kind"] == "quantity"]
    if outcome:
        binding = max(outcome, key=_excess)
    else:
        levers = [i for i in top if i["kind"] == "lever"]
        binding = max(levers, key=lambda i: max(i["lower"] - i["value"], i["value"] - i["upper"]))
    return Assessment(CLASSES[level], binding, items)


def assess_frame(quantities: Sequence[Quantity], targets, frame: pd.DataFrame, **levers) -> Assessment:
    """:func:`assess` of one run's time series (indexed by year, model variables as columns)."""
    times, arrays = _frame_arrays(frame)
    measured = quantity_values(quantities, targets, times, arrays)
    return assess(quantities, {k: float(v[0]) for k, v in measured.items()}, **levers)


def unreachable(assessment: Assessment, target, value: float) -> Assessment:
    """``assessment`` of a point that does not meet ``target``: class ``unreachable``, the target binding."""
    binding = {"kind": "target", "id": target.id, "name": target.description, "value": float(value),
               "bound": float(target.threshold), "comparison": target.comparison, "bound_kind": "threshold",
               "level": CLASSES.index("unreachable")}
    return Assessment("unreachable", binding, assessment.items)


# --------------------------------------------------------------------------- many points (consistency)


def search_outcomes(search, U, quantities: Sequence[Quantity], targets) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """For points ``U`` of a :class:`sim.analysis.search.LeverSearch`, in one ensemble run to the search's
    target year: ``(met (N, m), {quantity id: (N,)})``. ``met`` follows the search's targets, with the
    rule of :func:`sim.plan.targets.evaluate`; quantities whose years the run does not reach are NaN.
    ``targets`` (every target, not only the searched ones) gives the quantities' variables."""
    from sim.plan.targets import ensemble_gaps, ensemble_quantities

    U = np.atleast_2d(np.asarray(U, dtype=float))
    by_id = {t.id: t for t in targets}
    columns = set(search.columns)
    for q in quantities:
        columns.update(v for v in q.variables(by_id) if v)
    params, n = search.params(U)
    result = search.model.compiled.run(params=params, n=n, return_columns=sorted(columns),
                                       final_time=search.final_time, time_step=search.spec.time_step)
    search.members += n
    tq = ensemble_quantities(search.targets, result.times, result.values)
    met = np.stack([ensemble_gaps(t, tq[t.id])[0] for t in search.targets], axis=1)
    return met, quantity_values(quantities, by_id, result.times, result.values)


def point_levels(quantities: Sequence[Quantity], measured: dict, lever_names, X, refs: dict, span) -> np.ndarray:
    """``(N,)`` level of each point: the largest of its quantities' and levers' levels (not measured: ignored)."""
    lv = lever_levels(lever_names, X, refs, span)
    level = lv.max(axis=1, initial=0)
    if quantities:
        level = np.maximum(level, quantity_levels(quantities, measured).max(axis=1, initial=0))
    return level
