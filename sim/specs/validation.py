"""One set of validators and messages for the files people write: scenarios, sweeps, sensitivity studies.

Each validator is a pydantic ``PlainValidator`` function that accepts one kind
of TOML value or raises :func:`spec_error` with a message saying what is
allowed; :func:`type_problem` and :func:`validation_problems` turn pydantic's
errors into ``(file, key, message)`` problems worded alike for every kind of
file; :func:`did_you_mean` is the one did-you-mean hint. This module never
prints and never exits.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Annotated, Any, Callable, Iterable, Sequence

from pydantic import PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

#: A problem of an input file: ``(file, key, message)``.
Problem = tuple[str, str, str]

def show_number(x: float) -> str:
    """A number as a person would write it: ``2000`` not ``2000.0``, full precision otherwise."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return repr(x)
    return str(x)


def show_value(value: Any, limit: int = 60) -> str:
    """Describe a TOML value with its type, e.g. ``string 'high'``, ``boolean true``."""
    if isinstance(value, bool):
        return f"boolean {show_number(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return show_number(value) if math.isfinite(value) else f"{show_number(value)} (not a finite number)"
    if isinstance(value, str):
        text = repr(value)
        kind = "string"
    elif isinstance(value, list):
        text = json.dumps(value, default=str, ensure_ascii=False)
        kind = "array"
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, ensure_ascii=False)
        kind = "table"
    elif hasattr(value, "isoformat"):  # TOML dates and times
        text = value.isoformat()
        kind = type(value).__name__
    else:
        text = repr(value)
        kind = type(value).__name__
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{kind} {text}"


#: Largest design accepted (runs); a bigger grid is almost certainly a mistake.
MAX_RUNS = 20_000_000


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3, *, quote: bool = True,
                 brackets: bool = False) -> str:
    """The one did-you-mean hint: ``; did you mean 'X'?``, or an empty string when nothing is close.

    Matching is case-insensitive (difflib, cutoff 0.6, at most ``n`` names, then every name that starts with a
    ``word`` of three letters or more); a ``word`` that differs from a name only in case says that names are
    case-sensitive. ``quote=False`` leaves the names unquoted; ``brackets=True`` writes `` (did you mean X?)``.
    """
    candidates = [str(c) for c in candidates]
    word = str(word)
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and word not in candidates:
        names, case = [lowered[word.lower()]], " (names are case-sensitive)"
    else:
        close = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
        close += [c for c in lowered if len(word) >= 3 and c.startswith(word.lower()) and c not in close]
        names, case = [lowered[c] for c in close], ""
    if not names:
        return ""
    text = " or ".join(f"'{name}'" if quote else name for name in names)
    return f" (did you mean {text}?){case}" if brackets else f"; did you mean {text}?{case}"


def spec_error(message: str, **context) -> PydanticCustomError:
    return PydanticCustomError("spec", message, context)


def finite_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise spec_error("must be a number; got {got}", got=show_value(value))
    if not math.isfinite(value):
        raise spec_error("must be a finite number; got {got}", got=show_value(value))
    return float(value)


def schema_version_of(fmt: str, version: int) -> Callable[[Any], int]:
    """A validator accepting only ``version``, the one version of the ``fmt`` format ("sweep", "sensitivity") this program reads."""

    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value == version:
            return value
        raise spec_error("must be {v} (the only version of the {fmt} format this program reads); got {got}",
                      v=version, fmt=fmt, got=show_value(value))

    return check


def identifier(value: Any) -> str:
    if isinstance(value, str) and value and all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        return value
    raise spec_error("must be an identifier (ASCII letters, digits, '-' and '_'; it names the result folder); got {got}",
                  got=show_value(value))


def nonempty_text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise spec_error("must be a non-empty string; got {got}", got=show_value(value))


def scenario_reference(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise spec_error("must be the name of a scenario (e.g. \"plan\") or a path to its file; got {got}", got=show_value(value))


def random_seed(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise spec_error("must be a whole number >= 0 (the random seed); got {got}", got=show_value(value))


def run_count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RUNS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RUNS:
        raise spec_error("must be at most {m} runs; got {got}", m=MAX_RUNS, got=show_value(value))
    raise spec_error("must be a whole number of runs >= 1; got {got}", got=show_value(value))


def one_of(what: str, choices: Sequence[str]) -> Callable[[Any], str]:
    """A validator accepting one of ``choices`` (``what`` names it in the message, e.g. "method")."""

    def check(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        if not isinstance(value, str):
            raise spec_error("must be one of {allowed}; got {got}", allowed=", ".join(choices), got=show_value(value))
        raise spec_error("unknown {what} {got}; allowed: {allowed}{hint}", what=what, got=repr(value),
                      allowed=", ".join(choices), hint=did_you_mean(value, choices))

    return check


def whole_year(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise spec_error("must be a whole year such as 2025; got {got}", got=show_value(value))


def variable_name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise spec_error("must be a model variable's name (a string); got {got}", got=show_value(value))


Number = Annotated[float, PlainValidator(finite_number)]


def key_parts(parts: list[str], rest: Sequence) -> tuple[list[str], int | None]:
    """The parts of an error location's key (``parts``, then the names in ``rest``), and its 1-based list item."""
    parts, item = list(parts), None
    for p in rest:
        if isinstance(p, int):
            item = p + 1
        else:
            parts.append(str(p))
    return parts, item


def type_problem(error: dict, label: str, key: str, item: int | None, rest: Sequence, section: str,
                  allowed: Sequence[str]) -> Problem:
    """The messages shared by sweep and sensitivity files: unknown keys, wrong types, our validators' words.

    ``section`` says where an unknown key stands ("at the top level", "in [[factor]]"); ``allowed`` the keys there.
    """
    kind, value = error["type"], error.get("input")
    prefix = f"item {item}: " if item is not None else ""
    if kind == "extra_forbidden":
        bad = str(rest[-1]) if rest else key
        return (label, key, f"unknown key {bad!r} {section}; allowed: {', '.join(allowed)}{did_you_mean(bad, allowed)}")
    if kind == "list_type":
        return (label, key, f"must be an array [...]; got {show_value(value)}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (label, key, f"{prefix}must be a table; got {show_value(value)}")
    if kind == "spec":  # our validators' messages (PydanticCustomError of spec_error)
        return (label, key, prefix + " ".join(str(error["msg"]).split()))
    return (label, key, prefix + " ".join(f"{error['msg']}; got {show_value(value)}".split()))


def each_problem_once(problems: Sequence[Problem]) -> list[Problem]:
    """``problems`` in order, each once."""
    seen: set[Problem] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]


def validation_problems(exc: ValidationError, label: str, doc: dict,
                         translate: Callable[[dict, str, dict], Problem]) -> list[Problem]:
    """Each of pydantic's errors as ``(file, key, message)`` by ``translate``, each problem once, in order."""
    return each_problem_once([translate(e, label, doc) for e in exc.errors()])
