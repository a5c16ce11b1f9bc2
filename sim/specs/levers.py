"""Lever values and checked scenarios: what a scenario file means once it is read.

A lever value is a number (constant over the run) or a time series ``{year: value}`` (linear between points
and flat outside them; ``step = true`` holds each value until the next year); :class:`LeverValue` evaluates
itself on a time grid. :class:`Scenario` is a checked scenario with its base chain resolved
(:func:`sim.specs.scenario.load_scenario`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.specs.scenario_schema import LEVER_ENTRY, SCHEMA_VERSION, TimeSeries
from sim.specs.validation import show_number


@dataclass(frozen=True, eq=True)
class LeverValue:
    """The value a scenario gives one lever: a constant, or a time series of ``{year: value}``.

    Exactly one of ``value`` (constant) and ``points`` (time series, sorted by
    year) is set. ``step`` applies to time series: ``False`` is linear
    interpolation between points, ``True`` holds each value until the next
    point. Outside the first and last point the end values hold.
    """

    value: float | None = None
    points: dict[int, float] | None = None
    step: bool = False

    def __post_init__(self):
        if (self.value is None) == (self.points is None):
            raise ValueError("LeverValue needs exactly one of value= and points=")
        if self.points is not None:
            if not self.points:
                raise ValueError("LeverValue points must not be empty")
            object.__setattr__(self, "points", {int(k): float(v) for k, v in sorted(self.points.items())})
        else:
            object.__setattr__(self, "value", float(self.value))
        if self.points is None and self.step:
            object.__setattr__(self, "step", False)

    __hash__ = None  # points is a dict

    @classmethod
    def constant(cls, value: float) -> "LeverValue":
        """A value held over the whole run."""
        return cls(value=value)

    @classmethod
    def series(cls, points: Mapping[int, float], step: bool = False) -> "LeverValue":
        """A time series ``{year: value}``, linear (default) or in steps."""
        return cls(points=dict(points), step=step)

    @classmethod
    def parse(cls, raw: Any) -> "LeverValue":
        """Validate a value as written in a file (number or table) and return it.

        Raises :class:`pydantic.ValidationError` on a malformed value; scenario
        files report these through :class:`ScenarioError` instead.
        """
        return to_lever_value(LEVER_ENTRY.validate_python(raw))

    @property
    def is_series(self) -> bool:
        return self.points is not None

    def items(self) -> list[tuple[int | None, float]]:
        """``[(year, value), ...]`` for a series, ``[(None, value)]`` for a constant."""
        if self.points is None:
            return [(None, self.value)]
        return list(self.points.items())

    def at(self, times) -> np.ndarray:
        """The lever's value at each of ``times`` (years, any grid, any shape) as a float array.

        A constant is the same everywhere. A series is linear between points
        (``step=False``) or holds each value until the next point (``step=True``,
        the new value applies from its year on); before the first point and
        after the last the end value holds.
        """
        t = np.asarray(times, dtype=float)
        if self.points is None:
            return np.full(t.shape, self.value, dtype=float)
        years = np.fromiter(self.points.keys(), dtype=float)
        values = np.fromiter(self.points.values(), dtype=float)
        if not self.step:
            return np.interp(t, years, values)
        idx = np.searchsorted(years, t, side="right") - 1
        return values[np.clip(idx, 0, len(values) - 1)]

    def to_jsonable(self) -> float | dict[str, Any]:
        """The value as written in a file: a float, or ``{"2021": 0.6, ..., "step": true}``."""
        if self.points is None:
            return self.value
        out: dict[str, Any] = {str(y): v for y, v in self.points.items()}
        if self.step:
            out["step"] = True
        return out

    def describe(self) -> str:
        """Short text for tables: ``0.3`` or ``2021: 0.6, 2025: 0.8 (step)``."""
        if self.points is None:
            return show_number(self.value)
        text = ", ".join(f"{y}: {show_number(v)}" for y, v in self.points.items())
        return text + (" (step)" if self.step else "")


def to_lever_value(entry: float | TimeSeries) -> LeverValue:
    """A ``[levers]`` entry of a scenario file (a number or a time-series table) as a :class:`LeverValue`."""
    if isinstance(entry, TimeSeries):
        return LeverValue.series(entry.points, entry.step)
    return LeverValue.constant(entry)


@dataclass(frozen=True)
class RunSettings:
    """Overrides of the model's simulation settings; ``None`` keeps the model's value."""

    final_time: float | None = None
    time_step: float | None = None

    def to_jsonable(self) -> dict[str, float]:
        return {k: v for k, v in (("final_time", self.final_time), ("time_step", self.time_step)) if v is not None}


@dataclass
class Scenario:
    """A scenario with its base chain resolved.

    ``chain`` lists the files from the root base to this one; ``levers`` are
    the merged lever values (a child's lever replaces its base's lever whole);
    ``run`` merges field by field with the child taking precedence;
    ``sources`` tells which file in the chain set each lever (for messages).
    """

    name: str
    description: str
    path: Path
    chain: list[Path]
    levers: dict[str, LeverValue]
    run: RunSettings = field(default_factory=RunSettings)
    sources: dict[str, Path] = field(default_factory=dict, repr=False)
    run_sources: dict[str, Path] = field(default_factory=dict, repr=False)

    def resolved_dict(self) -> dict[str, Any]:
        """The resolved content as a JSON-able dict (for manifests).

        It is itself a valid scenario document without ``base`` (dump it as
        TOML and it loads to the same levers). Paths are not included: see
        ``chain``.
        """
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "levers": {k: v.to_jsonable() for k, v in self.levers.items()},
        }
        run = self.run.to_jsonable()
        if run:
            out["run"] = run
        return out

    def sha256(self) -> str:
        """SHA-256 of the resolved content (canonical JSON, keys sorted): equal levers, equal hash."""
        text = json.dumps(self.resolved_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
