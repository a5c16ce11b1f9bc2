"""The structure of a scenario file (stage 1): pydantic models with unknown keys forbidden, and their validators.

Values are checked for their type and form here (numbers finite, years whole,
time series sorted, names non-empty); what they mean against the model is
:mod:`sim.specs.scenario`'s stage 2. :func:`sim.specs.scenario_text.scenario_json_schema`
publishes the same models as a JSON Schema for editors.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, TypeAdapter, WithJsonSchema, model_validator)
from pydantic_core import PydanticCustomError

from sim.specs.validation import show_number, show_value

#: The only version of the file format this program reads.
SCHEMA_VERSION = 1
#: Smallest time step accepted: 1/1024 year.
MAX_HALVINGS = 10
#: What a lever value may be, as messages say it.
LEVER_KINDS = "a number (constant over the run) or a table of year = value (time series)"


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("scenario", "must be {what}; got {got}", {"what": what, "got": show_value(value)})
    if not math.isfinite(value):
        raise PydanticCustomError(
            "scenario", "must be a finite number; got {got}", {"got": show_number(float(value))}
        )
    return float(value)


def _lever_number(value: Any) -> float:
    return _finite(value, LEVER_KINDS)


def _point_number(value: Any) -> float:
    return _finite(value, "a number")


def _year_key(value: Any) -> int:
    if isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit():
        return int(value)
    raise PydanticCustomError(
        "scenario",
        "not a year: keys of a time-series table are 4-digit years such as \"2025\" (and optionally step = true); got {got}",
        {"got": repr(value)},
    )


def _strict_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise PydanticCustomError("scenario", "must be true or false; got {got}", {"got": show_value(value)})


def _schema_version(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value == SCHEMA_VERSION:
        return value
    raise PydanticCustomError(
        "scenario",
        "must be {v} (the only version of the scenario format this program reads); got {got}",
        {"v": SCHEMA_VERSION, "got": show_value(value)},
    )


def check_identifier(value: Any) -> str:
    if isinstance(value, str) and value and all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        return value
    raise PydanticCustomError(
        "scenario",
        "must be an identifier (ASCII letters, digits, '-' and '_'); got {got}",
        {"got": show_value(value)},
    )


def check_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise PydanticCustomError("scenario", "must be a string; got {got}", {"got": show_value(value)})


def check_base(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise PydanticCustomError(
        "scenario",
        "must be the name of another scenario or a path to its file; got {got}",
        {"got": show_value(value)},
    )


def check_final_time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not float(value).is_integer():
        raise PydanticCustomError(
            "scenario", "must be a year (a whole number such as 2030); got {got}", {"got": show_value(value)}
        )
    return float(value)


def check_time_step(value: Any) -> float:
    allowed = "a power-of-two fraction of a year that divides 1 exactly: 1, 0.5, 0.25, 0.125, 0.0625, 0.03125 (1/32), ..."
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PydanticCustomError("scenario", "must be {allowed}; got {got}", {"allowed": allowed, "got": show_value(value)})
    x = float(value)
    if x > 0:
        mantissa, exponent = math.frexp(x)  # x = mantissa * 2**exponent, 0.5 <= mantissa < 1
        if mantissa == 0.5 and -MAX_HALVINGS + 1 <= exponent <= 1:
            return x
    raise PydanticCustomError("scenario", "must be {allowed}; got {got}", {"allowed": allowed, "got": show_number(x)})


def schema_field(fn, schema: dict):
    """A leaf type: validated by ``fn`` (strict, clear message), described by ``schema`` for editors."""
    return [PlainValidator(fn), WithJsonSchema(schema)]


LeverNumber = Annotated[
    float,
    *schema_field(_lever_number, {"type": "number", "description": "A constant value over the whole run, inside the lever's [min,max] range."}),
]


PointNumber = Annotated[float, *schema_field(_point_number, {"type": "number"})]


YearKey = Annotated[int, *schema_field(_year_key, {"type": "string", "pattern": "^[0-9]{4}$"})]


_SERIES_SCHEMA = {
    "type": "object",
    "title": "TimeSeries",
    "description": (
        "A lever that changes over time: keys are 4-digit years (as strings), values are the lever's "
        "value in that year. Linear between years; before the first and after the last year the end "
        "value holds. With step = true each value holds until the next year given."
    ),
    "properties": {
        "step": {
            "type": "boolean",
            "default": False,
            "description": "true: each value holds until the next year given (a staircase); false (default): linear between years.",
        }
    },
    "patternProperties": {
        "^[0-9]{4}$": {
            "type": "number",
            "description": "The lever's value in this year, inside the lever's [min,max] range.",
        }
    },
    "additionalProperties": False,
    "minProperties": 1,
}


class TimeSeries(BaseModel):
    """A time-series lever value as written in a file: ``{"2021" = 0.6, "2025" = 0.8, step = true}``."""

    model_config = ConfigDict(extra="forbid")

    points: dict[YearKey, PointNumber] = Field(description="Year -> value.")
    step: Annotated[bool, *schema_field(_strict_bool, {"type": "boolean"})] = Field(
        default=False, description="Hold each value until the next year (else linear)."
    )

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        # In the file the years and `step` share one table; keep them apart here.
        if isinstance(data, dict):
            data = dict(data)
            out: dict[str, Any] = {}
            if "step" in data:
                out["step"] = data.pop("step")
            out["points"] = data
            return out
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> "TimeSeries":
        if not self.points:
            raise PydanticCustomError(
                "scenario", "a time-series table needs at least one year = value (e.g. \"2025\" = 0.8)"
            )
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):  # noqa: D105
        return dict(_SERIES_SCHEMA)


def entry_kind(value: Any) -> str:
    return "series" if isinstance(value, (dict, TimeSeries)) else "number"


LeverEntry = Annotated[
    Union[Annotated[LeverNumber, Tag("number")], Annotated[TimeSeries, Tag("series")]],
    Discriminator(entry_kind),
]


LEVER_ENTRY = TypeAdapter(LeverEntry)


class RunTable(BaseModel):
    """The optional [run] table: simulation settings that override the model's."""

    model_config = ConfigDict(extra="forbid")

    final_time: Annotated[float | None, *schema_field(check_final_time, {"type": "integer"})] = Field(
        default=None,
        description="Last year of the run (a whole year after the model's INITIAL TIME). Default: the model's FINAL TIME.",
    )
    time_step: Annotated[float | None, *schema_field(check_time_step, {"type": "number", "enum": [2.0**-k for k in range(MAX_HALVINGS + 1)]})] = Field(
        default=None,
        description="Integration step in years: a power-of-two fraction of a year (1, 0.5, 0.25, 0.125, 0.0625, 0.03125, ...). Default: the model's TIME STEP.",
    )


class ScenarioFile(BaseModel):
    """One scenario file as written (before its base is resolved)."""

    model_config = ConfigDict(
        extra="forbid",
        title="Shuangta scenario",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": (
                "A scenario of the Shuangta District system-dynamics model: values for policy levers "
                "(model constants tagged LEVER:), optionally inheriting from a base scenario."
            ),
        },
    )

    schema_version: Annotated[int, *schema_field(_schema_version, {"const": SCHEMA_VERSION, "type": "integer"})] = Field(
        description="Version of the scenario file format; must be 1."
    )
    name: Annotated[str, *schema_field(check_identifier, {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"})] = Field(
        description="Short identifier of the scenario: ASCII letters, digits, '-' and '_'."
    )
    description: Annotated[str, *schema_field(check_text, {"type": "string"})] = Field(
        description="What the scenario assumes, in a sentence or two."
    )
    base: Annotated[str | None, *schema_field(check_base, {"type": "string", "minLength": 1})] = Field(
        default=None,
        description=(
            "Scenario this one inherits from: a name (looked up as <name>.toml next to this file, then in the "
            "project's scenarios/ folder) or a relative/absolute path. This file's levers override the base's."
        ),
    )
    levers: dict[str, LeverEntry] = Field(
        default_factory=dict,
        description=(
            "Policy levers by their Vensim name in the model (quote names with spaces). Each value is a number "
            "(constant) or a time-series table."
        ),
    )
    run: RunTable = Field(default_factory=RunTable, description="Simulation settings that override the model's.")


TOP_KEYS = list(ScenarioFile.model_fields)


RUN_KEYS = list(RunTable.model_fields)
