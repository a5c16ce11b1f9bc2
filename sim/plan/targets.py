"""The plan's targets (data in ``sim/data/targets.toml``) and their verdicts on a run.

A target compares one quantity of a run with a threshold:

``level``
    the value of ``variable`` at ``year`` (or, with ``aggregate = "max"`` /
    ``"min"``, its extreme over the times ``base_year + 1 .. year``);
``growth``
    the compound annual growth rate of ``variable`` from ``base_year`` to ``year``;
``growth_vs``
    that rate minus the rate of ``other_variable`` over the same years.

:func:`load_targets` reads and checks the file; :func:`evaluate` turns a
timeseries (indexed by ``time``, one column per model variable) into one row
per target; :func:`format_verdicts` and :func:`format_targets` render plain
text for the command line. Nothing here prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from sim.specs.datafile import read_toml
from sim.errors import InputError
from sim.specs.validation import did_you_mean

#: The targets file shipped with the package.
DEFAULT_TARGETS = Path(__file__).resolve().parents[1] / "data" / "targets.toml"
#: Environment variable naming another targets file to use instead of :data:`DEFAULT_TARGETS`
#: (e.g. a copy in a test's temporary folder).
TARGETS_ENV = "SHUANGTA_TARGETS"

KINDS = ("level", "growth", "growth_vs")
COMPARISONS = (">=", "<=", ">", "<")
AGGREGATES = ("max", "min")
DEFAULT_BASE_YEAR = 2020

#: Tolerance of every comparison, relative to ``max(|threshold|, 1)``: a value
#: that equals its threshold up to floating-point rounding (e.g. 142.78 × 2
#: against 285.56, or a CAGR of exactly 15 % recomputed from levels) is met.
RELATIVE_TOLERANCE = 1e-9

#: Tolerance when matching a requested year against the float time index [years].
TIME_TOLERANCE = 1e-6

REQUIRED = (
    "id",
    "description",
    "description_zh",
    "section",
    "variable",
    "year",
    "kind",
    "comparison",
    "threshold",
    "arithmetic",
    "evaluable",
)
OPTIONAL = ("reason", "base_year", "other_variable", "aggregate", "basis", "headline")
#: Price basis of a target as the plan states it; the model compares it with a variable on the same basis.
BASES = ("comparable", "current", "ratio", "count")

#: Columns of :func:`evaluate`'s result, in order. The last three are kept so a
#: result table can be read on its own (plots draw growth paths from it).
COLUMNS = (
    "id",
    "description",
    "description_zh",
    "section",
    "variable",
    "year",
    "kind",
    "comparison",
    "target",
    "value",
    "met",
    "gap",
    "gap_pct",
    "arithmetic",
    "evaluable",
    "reason",
    "base_year",
    "other_variable",
    "aggregate",
    "basis",
)


@dataclass(frozen=True)
class Target:
    """One target of the plan. ``threshold`` is a level, a rate or a rate difference by ``kind``."""

    id: str
    description: str
    description_zh: str
    section: str
    variable: str
    year: int
    kind: str
    comparison: str
    threshold: float
    arithmetic: str
    evaluable: bool
    reason: str = ""
    base_year: int = DEFAULT_BASE_YEAR
    other_variable: str | None = None
    aggregate: str | None = None
    basis: str = ""
    #: One of the plan's headline targets (``headline = true`` in the file): the ones charts, the report's
    #: summary, ``discover`` and ``loops`` start from.
    headline: bool = False

    def variables(self) -> tuple[str, ...]:
        """The model variables this target reads."""
        return (self.variable,) + ((self.other_variable,) if self.other_variable else ())


# --------------------------------------------------------------------------- loading


def _check_entry(entry, index: int) -> tuple[Target | None, list[str]]:
    """Check one ``[[target]]`` table; return the target or the problems found."""
    if not isinstance(entry, dict):
        return None, [f"entry {index + 1}: expected a table, got {type(entry).__name__}"]
    tid = entry.get("id")
    label = f"target {tid}" if isinstance(tid, str) and tid else f"entry {index + 1}"
    problems: list[str] = []

    def bad(msg: str) -> None:
        problems.append(f"{label}: {msg}")

    for key in entry:
        if key not in REQUIRED and key not in OPTIONAL:
            bad(f"unknown field {key!r}{did_you_mean(key, REQUIRED + OPTIONAL, n=1, brackets=True)}")
    for key in REQUIRED:
        if key not in entry:
            bad(f"missing field {key!r}")
    if problems:
        return None, problems

    for key in ("id", "description", "description_zh", "section", "variable", "arithmetic"):
        if not isinstance(entry[key], str):
            bad(f"{key!r} must be a string")
    for key in ("reason", "other_variable", "aggregate", "basis"):
        if key in entry and not isinstance(entry[key], str):
            bad(f"{key!r} must be a string")
    for key in ("year", "base_year"):
        if key in entry and (isinstance(entry[key], bool) or not isinstance(entry[key], int)):
            bad(f"{key!r} must be an integer year")
    threshold = entry["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        bad("'threshold' must be a finite number")
    for key in ("evaluable", "headline"):
        if key in entry and not isinstance(entry[key], bool):
            bad(f"{key!r} must be true or false")
    if problems:
        return None, problems

    if not entry["id"].strip():
        bad("'id' is empty")
    kind, comparison = entry["kind"], entry["comparison"]
    if kind not in KINDS:
        bad(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}{did_you_mean(kind, KINDS, n=1, brackets=True)}")
    if comparison not in COMPARISONS:
        bad(f"unknown comparison {comparison!r}; allowed: {', '.join(COMPARISONS)}")
    base_year = entry.get("base_year", DEFAULT_BASE_YEAR)
    if base_year >= entry["year"]:
        bad(f"base_year {base_year} must come before year {entry['year']}")
    aggregate = entry.get("aggregate") or None
    if aggregate is not None:
        if aggregate not in AGGREGATES:
            bad(f"unknown aggregate {aggregate!r}; allowed: {', '.join(AGGREGATES)}{did_you_mean(aggregate, AGGREGATES, n=1, brackets=True)}")
        elif kind != "level":
            bad(f"aggregate applies to level targets only, not {kind!r}")
    other = entry.get("other_variable") or None
    if kind == "growth_vs" and not other:
        bad("kind 'growth_vs' needs 'other_variable'")
    if kind in KINDS and kind != "growth_vs" and other:
        bad(f"'other_variable' applies to growth_vs targets only, not {kind!r}")
    basis = entry.get("basis", "")
    if basis and basis not in BASES:
        bad(f"unknown basis {basis!r}; allowed: {', '.join(BASES)}{did_you_mean(basis, BASES, n=1, brackets=True)}")
    reason = entry.get("reason", "")
    if entry["evaluable"]:
        if not entry["variable"].strip():
            bad("an evaluable target needs a 'variable'")
    elif not reason.strip():
        bad("a target that is not evaluable needs a 'reason'")
    if problems:
        return None, problems

    return (
        Target(
            id=entry["id"],
            description=entry["description"],
            description_zh=entry["description_zh"],
            section=entry["section"],
            variable=entry["variable"],
            year=entry["year"],
            kind=kind,
            comparison=comparison,
            threshold=float(threshold),
            arithmetic=entry["arithmetic"],
            evaluable=entry["evaluable"],
            reason=reason,
            base_year=base_year,
            other_variable=other,
            aggregate=aggregate,
            basis=basis,
            headline=entry.get("headline", False),
        ),
        [],
    )


def headline_ids(targets: Sequence[Target] | None = None) -> tuple[str, ...]:
    """The ids of the headline targets (``headline = true``), in the file's order (default: :func:`load_targets`)."""
    targets = load_targets() if targets is None else targets
    return tuple(t.id for t in targets if t.headline)


def targets_file() -> Path:
    """The targets file read by default: ``$SHUANGTA_TARGETS`` when set, else the one shipped in ``sim/data``."""
    env = os.environ.get(TARGETS_ENV)
    return Path(env) if env else DEFAULT_TARGETS


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read and check a targets file (default: :func:`targets_file`).

    Every problem in the file is reported at once in one
    :class:`~sim.errors.InputError` naming the file and each target id.
    """
    path = Path(path) if path is not None else targets_file()
    data = read_toml(path, "targets file")

    problems: list[str] = []
    for key in data:
        if key not in ("schema_version", "target"):
            problems.append(f"unknown top-level key {key!r}{did_you_mean(key, ('schema_version', 'target'), n=1, brackets=True)}")
    if data.get("schema_version", 1) != 1:
        problems.append(f"unsupported schema_version {data['schema_version']!r} (this version reads 1)")
    entries = data.get("target")
    if not isinstance(entries, list) or not entries:
        problems.append("no [[target]] entries")
        entries = []

    targets: list[Target] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        target, found = _check_entry(entry, index)
        problems.extend(found)
        if target is not None:
            if target.id in seen:
                problems.append(f"target {target.id}: duplicate id")
            seen.add(target.id)
            targets.append(target)
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return targets


# --------------------------------------------------------------------------- evaluation


def _as_series_frame(timeseries: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(timeseries, pd.DataFrame):
        raise InputError(f"timeseries must be a pandas DataFrame, got {type(timeseries).__name__}")
    frame = timeseries
    if "time" in frame.columns and frame.index.name != "time":
        frame = frame.set_index("time")
    try:
        index = pd.Index(frame.index, dtype=float)
    except (TypeError, ValueError):
        raise InputError("timeseries must be indexed by time (numeric years)") from None
    frame = frame.set_axis(index, axis=0)
    return frame.sort_index()


def value_at(series: pd.Series, year: float) -> float:
    """Value of ``series`` at ``year``: the row at that time, else linear interpolation.

    Raises :class:`LookupError` (with the reason) when ``year`` lies outside the series.
    """
    times = series.index.to_numpy(dtype=float)
    values = series.to_numpy(dtype=float)
    if len(times) == 0:
        raise LookupError("the series is empty")
    hits = np.flatnonzero(np.abs(times - year) <= TIME_TOLERANCE)
    if len(hits):
        value = values[hits[-1]]
    elif times[0] < year < times[-1]:
        value = float(np.interp(year, times, values))
    else:
        raise LookupError(f"{year:g} lies outside the series ({times[0]:g}-{times[-1]:g})")
    if not math.isfinite(value):
        raise LookupError(f"the value at {year:g} is not a number")
    return float(value)


def cagr(series: pd.Series, start: int, end: int, name: str) -> float:
    """Compound annual growth rate of ``series`` from ``start`` to ``end`` (``name`` names it in errors).

    Raises :class:`LookupError` when a value is missing or the rate is undefined (a non-positive start).
    """
    first, last = value_at(series, start), value_at(series, end)
    if first <= 0 or last < 0:
        raise LookupError(f"growth of {name!r} is undefined: {first:g} in {start}, {last:g} in {end}")
    return (last / first) ** (1.0 / (end - start)) - 1.0


def _quantity(target: Target, frame: pd.DataFrame) -> float:
    """The evaluated quantity of ``target``: a level, a growth rate or a rate difference."""
    series = frame[target.variable]
    if target.kind == "level":
        if target.aggregate is None:
            return value_at(series, target.year)
        window = series[(series.index >= target.base_year + 1 - TIME_TOLERANCE) & (series.index <= target.year + TIME_TOLERANCE)]
        window = window.dropna()
        if window.empty:
            raise LookupError(f"no values between {target.base_year + 1} and {target.year}")
        return float(window.max() if target.aggregate == "max" else window.min())
    rate = cagr(series, target.base_year, target.year, target.variable)
    if target.kind == "growth":
        return rate
    return rate - cagr(frame[target.other_variable], target.base_year, target.year, target.other_variable)


def _verdict(target: Target, value: float) -> tuple[bool, float, float]:
    """``(met, gap, gap_pct)``; ``gap`` is positive when the value is better than the target."""
    gap = value - target.threshold if target.comparison in (">=", ">") else target.threshold - value
    tol = RELATIVE_TOLERANCE * max(abs(target.threshold), 1.0)
    met = gap >= -tol if target.comparison in (">=", "<=") else gap > tol
    gap_pct = gap / abs(target.threshold) if target.threshold != 0 else math.nan
    return bool(met), float(gap), float(gap_pct)


def _row(target: Target) -> dict:
    row = asdict(target)
    row["target"] = row.pop("threshold")
    row.update(value=math.nan, met=None, gap=math.nan, gap_pct=math.nan)
    return row


def evaluate(targets: list[Target], timeseries: pd.DataFrame) -> pd.DataFrame:
    """One row per target with its verdict on ``timeseries``.

    ``timeseries`` is indexed by year (int or float, index named ``time``; a
    ``time`` column is also accepted) with model variables as columns.
    Columns of the result: see :data:`COLUMNS`. ``value`` is the evaluated
    quantity, ``gap`` is signed so that positive is better than the target,
    ``gap_pct`` is ``gap / |threshold|``. A target that is not evaluable, or
    whose variable the series lacks or does not cover, gets ``met = None``,
    ``value``/``gap`` NaN, ``evaluable = False`` and the reason.
    """
    frame = _as_series_frame(timeseries)
    rows = []
    for target in targets:
        row = _row(target)
        if not target.evaluable:
            rows.append(row)
            continue
        missing = [v for v in target.variables() if v not in frame.columns]
        if missing:
            hint = did_you_mean(missing[0], [str(c) for c in frame.columns], n=1, brackets=True)
            row.update(evaluable=False, reason=f"variable {missing[0]!r} is not in the series{hint}")
            rows.append(row)
            continue
        try:
            value = _quantity(target, frame)
        except LookupError as exc:
            row.update(evaluable=False, reason=str(exc.args[0]))
            rows.append(row)
            continue
        met, gap, gap_pct = _verdict(target, value)
        row.update(value=value, met=met, gap=gap, gap_pct=gap_pct, reason="")
        rows.append(row)
    result = pd.DataFrame(rows, columns=list(COLUMNS))
    result["met"] = result["met"].astype(object).where(result["met"].notna(), None)
    for column in ("value", "gap", "gap_pct", "target"):
        result[column] = result[column].astype(float)
    return result


# --------------------------------------------------------------------------- ensembles


def _column_at(times: np.ndarray, values: np.ndarray, year: float) -> np.ndarray:
    """Column of ``values`` (N, T) at ``year``: the saved time, else linear interpolation; NaN outside."""
    hits = np.flatnonzero(np.abs(times - year) <= TIME_TOLERANCE)
    if len(hits):
        return values[:, hits[-1]].astype(float)
    if times[0] < year < times[-1]:
        k = int(np.searchsorted(times, year))
        w = (year - times[k - 1]) / (times[k] - times[k - 1])
        return (1 - w) * values[:, k - 1] + w * values[:, k]
    return np.full(values.shape[0], np.nan)


def _cagr_columns(times, values, start: int, end: int) -> np.ndarray:
    first, last = _column_at(times, values, start), _column_at(times, values, end)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (last / first) ** (1.0 / (end - start)) - 1.0
    return np.where((first > 0) & (last >= 0), rate, np.nan)


def ensemble_quantities(targets: list[Target], times, values) -> dict[str, np.ndarray]:
    """The evaluated quantity of each evaluable target for N runs at once.

    ``times`` (T,) are the saved years, ``values`` maps variable names to
    arrays (N, T). Returns ``{target id: (N,) array}`` with NaN where the
    quantity is undefined; targets that are not evaluable or whose variables
    are missing are left out. Same definitions as :func:`evaluate`.
    """
    times = np.asarray(times, dtype=float)
    out: dict[str, np.ndarray] = {}
    for t in targets:
        if not t.evaluable or any(v not in values for v in t.variables()):
            continue
        v = np.atleast_2d(np.asarray(values[t.variable], dtype=float))
        if t.kind == "level" and t.aggregate is None:
            q = _column_at(times, v, t.year)
        elif t.kind == "level":
            window = (times >= t.base_year + 1 - TIME_TOLERANCE) & (times <= t.year + TIME_TOLERANCE)
            if not window.any():
                q = np.full(v.shape[0], np.nan)
            else:  # NaN-ignoring, as evaluate() drops missing years
                q = (np.fmax if t.aggregate == "max" else np.fmin).reduce(v[:, window], axis=1)
        else:
            q = _cagr_columns(times, v, t.base_year, t.year)
            if t.kind == "growth_vs":
                other = np.atleast_2d(np.asarray(values[t.other_variable], dtype=float))
                q = q - _cagr_columns(times, other, t.base_year, t.year)
        out[t.id] = q
    return out


def ensemble_gaps(target: Target, quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(met, gap)`` arrays for one target's quantities; ``gap`` > 0 is better than the target, NaN stays NaN (not met)."""
    q = np.asarray(quantity, dtype=float)
    gap = q - target.threshold if target.comparison in (">=", ">") else target.threshold - q
    tol = RELATIVE_TOLERANCE * max(abs(target.threshold), 1.0)
    with np.errstate(invalid="ignore"):
        met = gap >= -tol if target.comparison in (">=", "<=") else gap > tol
    return met & np.isfinite(gap), gap


# --------------------------------------------------------------------------- text


def targets_frame(targets: list[Target]) -> pd.DataFrame:
    """The targets as a table (one row per target, every field; ``threshold`` keeps its name)."""
    return pd.DataFrame([asdict(t) for t in targets])


def _json_value(value):
    """A value as strict JSON has it: NaN and infinities (missing values) become None, numpy scalars Python ones."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def targets_json(targets: list[Target]) -> str:
    """The targets as a JSON array of objects (every field of :func:`targets_frame`), missing values ``null``."""
    import json

    records = [{key: _json_value(value) for key, value in asdict(t).items()} for t in targets]
    return json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False)


def format_number(value, kind: str = "level") -> str:
    """A value as the tables show it: rates in % per year, growth differences in points."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    if kind == "growth":
        return f"{value * 100:.2f} %/yr"
    if kind == "growth_vs":
        return f"{value * 100:+.2f} pt"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.2f}"
    if size >= 1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def _gap_text(gap, kind: str, threshold=None) -> str:
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "-"
    scale = max(abs(float(threshold)), 1.0) if threshold is not None and not pd.isna(threshold) else 1.0
    if abs(float(gap)) <= RELATIVE_TOLERANCE * scale:
        return "0"
    text = format_number(gap, kind)
    if kind == "growth":
        text = f"{gap * 100:+.2f} pt"
    elif kind == "level" and not text.startswith("-"):
        text = "+" + text
    return text


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def verdict_word(met) -> str:
    """``MET``, ``MISSED`` or ``n.a.`` for a value of the ``met`` column."""
    if met is None or (isinstance(met, float) and math.isnan(met)):
        return "n.a."
    return "MET" if bool(met) else "MISSED"


def format_verdicts(df: pd.DataFrame, width: int = 44) -> str:
    """Plain-text verdict table (id, short description, value, target, MET/MISSED/n.a., gap).

    Rows without a verdict are followed by a note with their reason.
    """
    rows, notes = [], []
    for r in df.to_dict("records"):
        kind = r.get("kind", "level")
        word = verdict_word(r.get("met"))
        rows.append(
            [
                str(r["id"]),
                _short(r.get("description", ""), width),
                format_number(r.get("value"), kind),
                f"{r.get('comparison', '')} {format_number(r.get('target'), kind)}",
                word,
                _gap_text(r.get("gap"), kind, r.get("target")),
            ]
        )
        if word == "n.a.":
            notes.append(f"  {r['id']}: {r.get('reason') or 'no verdict'}")
    text = _table(["id", "target", "value", "threshold", "verdict", "gap"], rows, right={2, 5})
    if notes:
        text += "\n\nno verdict (n.a.):\n" + "\n".join(notes)
    return text


def format_targets(targets: list[Target], width: int = 60) -> str:
    """Plain-text listing of the targets: threshold, section, arithmetic and evaluability."""
    blocks = []
    for t in targets:
        if t.kind == "growth":
            what = f"CAGR {t.base_year}-{t.year} of {t.variable}"
        elif t.kind == "growth_vs":
            what = f"CAGR {t.base_year}-{t.year} of {t.variable} minus that of {t.other_variable}"
        elif t.aggregate:
            what = f"{t.aggregate} of {t.variable} over {t.base_year + 1}-{t.year}"
        else:
            what = f"{t.variable or '(no model variable)'} in {t.year}"
        lines = [
            f"{t.id}  {t.description}",
            f"    {t.description_zh}   [{t.section}]",
            f"    test: {what} {t.comparison} {format_number(t.threshold, t.kind)}",
            f"    arithmetic: {t.arithmetic}",
        ]
        lines.append("    evaluable: yes" if t.evaluable else f"    evaluable: no, {t.reason}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
