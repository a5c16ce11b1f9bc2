"""Scenario files written by commands (``reach --write-scenario``, ``discover --write-scenario``): one writer.

A generated scenario starts with comment lines that say which command wrote
it and why, then ``schema_version``, ``name``, ``description``, ``base``
(named as the file should name it: :func:`base_reference`) and a
``[levers]`` table with one commented line per lever. It is written
atomically and loaded back with :func:`sim.specs.scenario.load_scenario`, the
check ``shuangta validate`` makes; a file that does not load is removed and
the error raised. This module never prints and never exits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from sim.engine.results import atomic_write_text
from sim.errors import SimError
from sim.specs.scenario import SCENARIO_DIR, load_scenario


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def toml_float(x: float) -> str:
    """``x`` as a TOML float that reads back as the same number (``2.0``, not ``2``)."""
    text = repr(float(x))
    return text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"


def base_reference(base: Path, child: Path) -> str:
    """How ``child`` names ``base``: its name when it lies in ``scenarios/`` and nothing next to ``child``
    shadows it, else a relative path (an absolute one when the two share only the root)."""
    base = base.resolve()
    folder = Path(os.path.abspath(child.parent))
    if base.parent == SCENARIO_DIR.resolve():
        local = folder / base.name
        if local != Path(os.path.abspath(child)) and (not local.exists() or local.resolve() == base):
            return base.stem
    common = os.path.commonpath([str(base), str(folder)])
    if common == os.path.dirname(common) or common == "":
        return base.as_posix()
    return os.path.relpath(base, folder).replace(os.sep, "/")


def write_scenario(path: Path, model, *, comments: Sequence[str], fallback_name: str, description: str, base: Path,
                   levers: Sequence[tuple[str, float, str]], no_levers: str | None = None) -> Path:
    """Write a generated scenario file at ``path`` and check it against ``model``; return the path.

    ``comments`` are the lines of the header, without their ``#``; ``levers``
    are ``(name, value, comment)``, each written ``"name" = value  # comment``;
    ``no_levers``, when given, is the comment written under ``[levers]`` when
    there are none. The scenario's name is the file's stem made an identifier
    (``fallback_name`` when nothing is left of it).
    """
    name = "".join(c if (c.isascii() and (c.isalnum() or c in "-_")) else "_" for c in path.stem) or fallback_name
    out = [f"# {line}" if line else "#" for line in comments]
    out += [
        "schema_version = 1",
        f"name = {toml_string(name)}",
        f"description = {toml_string(description)}",
        f"base = {toml_string(base_reference(Path(base), path))}",
        "",
        "[levers]",
    ]
    out += [f"{toml_string(lever)} = {toml_float(value)}  # {comment}" for lever, value, comment in levers]
    if not levers and no_levers:
        out.append(f"# {no_levers}")
    atomic_write_text(path, "\n".join(out) + "\n")
    try:
        load_scenario(path, model)
    except SimError:
        path.unlink(missing_ok=True)
        raise
    return path
