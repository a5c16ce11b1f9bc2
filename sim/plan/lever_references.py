"""Lever references: what each lever was in 2016-2020 and what the plan states, with sources.

``sim/data/lever_references.toml`` gives, per lever, a ``record`` and a
``plan`` reference: an interval ``[lower, upper]`` (a single value when they
are equal) with its text and source, or "no reference" with the reason.
:func:`reference_position` places a lever value below, inside or above a
reference; reach, consistency and the plausibility classes use it. This
module never prints and never exits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.specs.datafile import read_toml

def format_value(x: float | None) -> str:
    """A lever value for tables and comments: ``-`` when missing, four significant figures, thousands separated."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    x = float(x)
    if x == 0:
        return "0"
    size = abs(x)
    if size >= 1000:
        return f"{x:,.1f}"
    if size >= 1:
        return f"{x:.4g}" if size < 100 else f"{x:.1f}"
    return f"{x:.4g}"


#: Reference values of the levers (2016-2020 record, the plan's statements).
DEFAULT_REFERENCES = Path(__file__).resolve().parents[1] / "data" / "lever_references.toml"


#: A value within this fraction of the lever's range of a reference interval counts as inside it.
REFERENCE_TOLERANCE = 0.005


@dataclass(frozen=True)
class LeverReference:
    """A reference value of a lever: an interval ``[lower, upper]`` with its text and source, or none."""

    text: str
    source: str
    lower: float | None = None
    upper: float | None = None

    @property
    def exists(self) -> bool:
        return self.lower is not None

    def describe(self) -> str:
        if not self.exists:
            return "no reference"
        if self.lower == self.upper:
            return format_value(self.lower)
        return f"{format_value(self.lower)}-{format_value(self.upper)}"

    def to_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "text": self.text, "source": self.source}


def _reference(entry, label: str, problems: list[str]) -> LeverReference | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        problems.append(f"{label}: expected a table")
        return None
    unknown = set(entry) - {"lower", "upper", "text", "source"}
    if unknown:
        problems.append(f"{label}: unknown keys {sorted(unknown)} (allowed: lower, upper, text, source)")
    for key in ("text", "source"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            problems.append(f"{label}: needs a non-empty {key!r}")
    lo, hi = entry.get("lower"), entry.get("upper")
    if (lo is None) != (hi is None):
        problems.append(f"{label}: give both 'lower' and 'upper', or neither (no reference)")
        return None
    if lo is not None:
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in (lo, hi)):
            problems.append(f"{label}: 'lower' and 'upper' must be finite numbers")
            return None
        if lo > hi:
            problems.append(f"{label}: lower {lo} > upper {hi}")
            return None
        lo, hi = float(lo), float(hi)
    return LeverReference(str(entry.get("text", "")), str(entry.get("source", "")), lo, hi)


def load_lever_references(path: str | Path | None = None) -> dict[str, dict[str, LeverReference | None]]:
    """Read the lever references: ``{lever: {"record": LeverReference | None, "plan": ...}}``.

    ``None`` means the file does not mention that reference; a
    :class:`LeverReference` without numbers means "no reference", with a reason.
    """
    path = Path(path) if path is not None else DEFAULT_REFERENCES
    data = read_toml(path, "lever references file")
    problems: list[str] = []
    if data.get("schema_version") != 1:
        problems.append("schema_version must be 1")
    out: dict[str, dict] = {}
    for i, entry in enumerate(data.get("lever", []), start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"lever {i}: needs a 'name'")
            continue
        extra = set(entry) - {"name", "record", "plan"}
        if extra:
            problems.append(f"lever {name!r}: unknown keys {sorted(extra)} (allowed: name, record, plan)")
        if name in out:
            problems.append(f"lever {name!r}: listed twice")
        out[name] = {
            "record": _reference(entry.get("record"), f"lever {name!r}.record", problems),
            "plan": _reference(entry.get("plan"), f"lever {name!r}.plan", problems),
        }
    if problems:
        raise InputError("\n".join(f"{path}: {p}" for p in problems))
    return out


def reference_position(value: float, ref: LeverReference | None, span: float) -> str:
    """``"below"``, ``"inside"`` or ``"above"`` the reference interval, or ``"no reference"``.

    A value within :data:`REFERENCE_TOLERANCE` × ``span`` of the interval counts as inside.
    """
    if ref is None or not ref.exists:
        return "no reference"
    tol = REFERENCE_TOLERANCE * span
    if value < ref.lower - tol:
        return "below"
    if value > ref.upper + tol:
        return "above"
    return "inside"
