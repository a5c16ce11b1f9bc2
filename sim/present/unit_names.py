"""Units as people read them: one mapping (``sim/data/unit_names.toml``) for charts, tables and the report.

``display_unit("Yi/Year", "zh")`` is ``亿元/年``; ``display_unit("Yi/Year")``
is ``100 million yuan/yr``. A unit the file does not list is shown as the
model writes it. ``variable_unit(name, lang)`` gives the displayed unit of a
variable that charts show when no model is at hand.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sim.specs.datafile import read_toml
from sim.errors import InputError

UNIT_NAMES = Path(__file__).resolve().parents[1] / "data" / "unit_names.toml"
LANGUAGES = ("en", "zh")


@lru_cache(maxsize=None)
def _table() -> tuple[dict, dict]:
    data = read_toml(UNIT_NAMES, "unit names file")
    units, variables = data.get("units", {}), data.get("variables", {})
    for unit, names in units.items():
        missing = [lang for lang in LANGUAGES if not isinstance(names.get(lang), str)]
        if missing:
            raise InputError(f"{UNIT_NAMES}: units.{unit}: needs {' and '.join(missing)}")
    for variable, entry in variables.items():
        if entry.get("unit") not in units:
            raise InputError(f"{UNIT_NAMES}: variables.{variable}: unit {entry.get('unit')!r} is not under [units]")
    return units, variables


def display_unit(unit: str | None, lang: str = "en") -> str:
    """The model unit ``unit`` in words in ``lang`` (``en`` or ``zh``); as written when not listed, "" for None."""
    if not unit:
        return ""
    units, _ = _table()
    names = units.get(str(unit).strip())
    return names[lang] if names else str(unit)


def variable_unit(variable: str, lang: str = "en") -> str:
    """The displayed unit of ``variable`` from the file's ``[variables]`` ("" when not listed)."""
    _, variables = _table()
    entry = variables.get(variable)
    if entry is None:
        return ""
    return entry.get(lang) or display_unit(entry["unit"], lang)


def model_unit(variable: str) -> str | None:
    """The model unit the file records for ``variable`` (None when not listed)."""
    _, variables = _table()
    entry = variables.get(variable)
    return entry["unit"] if entry else None
