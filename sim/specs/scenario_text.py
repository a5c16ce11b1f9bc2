"""Scenarios for people: lever differences between scenarios, the lever table, the JSON Schema for editors.

:func:`diff_scenarios` and :func:`format_diff` are ``shuangta diff``;
:func:`format_levers` is ``shuangta levers``; :func:`write_json_schema` is
``shuangta schema``. This module never prints and never exits.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple


from sim.errors import InputError
from sim.specs.validation import show_number
from sim.specs.scenario import load_scenario
from sim.specs.levers import LeverValue, Scenario
from sim.specs.scenario_schema import ScenarioFile

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.loader import Model

class LeverDiff(NamedTuple):
    """One differing lever: its value in A and in B (as written in a file).

    A side that does not set the lever shows the model's default (a float)
    when a model was given, else the string ``"unset"``.
    """

    lever: str
    value_a: float | dict | str
    value_b: float | dict | str


def diff_scenarios(
    a: Scenario | str | Path, b: Scenario | str | Path, model: "Model | None" = None
) -> list[LeverDiff]:
    """The levers whose effective values differ between two scenarios, bases resolved.

    Paths are loaded (and, given a model, checked) first. With a model, a lever
    a scenario does not set takes the model's default, so setting a lever to
    its default is no difference. Order: the model's catalogue order, then
    names not in it alphabetically.
    """
    sa = a if isinstance(a, Scenario) else load_scenario(a, model)
    sb = b if isinstance(b, Scenario) else load_scenario(b, model)
    names = set(sa.levers) | set(sb.levers)
    order = list(model.catalogue) if model is not None else []
    ranked = [n for n in order if n in names] + sorted(names - set(order))
    rows: list[LeverDiff] = []
    for name in ranked:
        va, vb = sa.levers.get(name), sb.levers.get(name)
        if model is not None and name in model.catalogue:
            default = LeverValue.constant(model.catalogue[name].default)
            ea, eb = va or default, vb or default
        else:
            ea, eb = va, vb
        if ea == eb:
            continue
        rows.append(
            LeverDiff(
                name,
                ea.to_jsonable() if ea is not None else "unset",
                eb.to_jsonable() if eb is not None else "unset",
            )
        )
    return rows


def diff_report(a: str | Path, b: str | Path, model: "Model | None" = None) -> str:
    """Load two scenario files and return the text table of their differing levers."""
    sa, sb = load_scenario(a, model), load_scenario(b, model)
    return format_diff(diff_scenarios(sa, sb, model), sa, sb)


def _cell(value: Any, is_set: bool) -> str:
    if isinstance(value, str):
        return value
    text = LeverValue.parse(value).describe()
    return text if is_set else f"{text} (default)"


def format_diff(rows: Sequence[LeverDiff], a: Scenario, b: Scenario) -> str:
    """A text table ``lever | A | B`` of :func:`diff_scenarios` rows (defaults marked)."""
    if not rows:
        return f"no differences between {a.name} and {b.name}"
    table = [
        [r.lever, _cell(r.value_a, r.lever in a.levers), _cell(r.value_b, r.lever in b.levers)] for r in rows
    ]
    return _text_table(["lever", a.name, b.name], table)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(cells, widths)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def lever_rows(model: "Model", include_uncertain: bool = False) -> list[dict[str, Any]]:
    """The model's levers (and, if asked, uncertain parameters) as plain dicts, in model order.

    Keys: name, [kind,] units, lower, upper, default, description, chinese, source.
    """
    rows = []
    for lev in model.catalogue.values():
        if lev.kind != "lever" and not include_uncertain:
            continue
        row = lev.to_dict()
        if not include_uncertain:
            row.pop("kind")
        rows.append(row)
    return rows


def _clip(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    if _width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        used += _width(c)
        if used > width - 3:
            break
        out.append(c)
    return "".join(out).rstrip() + "..."


def format_levers(rows: Sequence[Mapping[str, Any]], fmt: str = "table") -> str:
    """Render :func:`lever_rows` as ``table``, ``csv`` or ``json``.

    The table is for reading in a terminal: long descriptions and sources are
    shortened there; ``csv`` and ``json`` carry the full text.
    """
    if fmt == "json":
        return json.dumps(list(rows), indent=2, ensure_ascii=False)
    keys = list(rows[0]) if rows else ["name", "units", "lower", "upper", "default", "description", "chinese", "source"]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    if fmt == "table":
        head = ["name", *(["kind"] if "kind" in keys else []), "units", "range", "default", "chinese", "description", "source"]
        body = [
            [
                r["name"],
                *([r["kind"]] if "kind" in keys else []),
                r["units"],
                f"[{show_number(r['lower'])}, {show_number(r['upper'])}]",
                show_number(r["default"]),
                r["chinese"],
                _clip(r["description"]),
                _clip(r["source"], 40),
            ]
            for r in rows
        ]
        return _text_table(head, body)
    raise ValueError(f"unknown format {fmt!r}; use table, csv or json")


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a scenario file, for editors; every field has a description."""
    schema = ScenarioFile.model_json_schema(mode="validation")
    schema["properties"]["levers"]["propertyNames"] = {"minLength": 1}
    # An optional key is left out, never null: drop pydantic's `"default": null`.
    for obj in (schema, *schema.get("$defs", {}).values()):
        for prop in obj.get("properties", {}).values():
            if "default" in prop and prop["default"] is None:
                del prop["default"]
    return schema


def json_schema_text() -> str:
    """:func:`scenario_json_schema` as the text of ``docs/scenario.schema.json`` (indented, final newline)."""
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


def is_json_schema(path: str | Path) -> bool:
    """True for a file holding a scenario JSON Schema (an earlier :func:`write_json_schema`): it may be replaced."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("title") == ScenarioFile.model_config["title"] and "$schema" in data


def write_json_schema(path: str | Path) -> Path:
    """Write the JSON Schema to ``path`` (through a temporary file, so a reader never sees half of it)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json_schema_text(), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write the schema: {exc.strerror or exc}") from exc
    return path
