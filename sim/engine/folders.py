"""Finding result folders: the kind of a folder, and the result folders at or below paths.

``plot`` and ``report`` accept result folders and folders that hold them
(``results/``, or a shell's ``results/*`` with ``results/README.md`` among
them): :func:`collect_folders` keeps the result folders and, when asked,
reports what it skipped instead of failing on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sim.errors import InputError
from sim.engine.results import MANIFEST

#: Kinds of result folder, in the order of the report's sections.
KINDS = ("run", "loops", "sweep", "sensitivity", "reach", "consistency", "discovery", "calibration", "hindcast")
#: Most folders searched below a folder that is not itself a result folder.
SEARCH_DEPTH = 3


@dataclass
class ResultFolder:
    """One result folder the report reads: its ``kind`` (see :data:`KINDS`, or ``other``) and manifest."""

    kind: str
    path: Path
    manifest: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_sha(self) -> str | None:
        return (self.manifest.get("model") or {}).get("sha256")


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest.json as a dict, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def folder_kind(folder: str | Path) -> str | None:
    """The kind of result folder at ``folder`` (``run``, ``loops``, ``sweep``, ``sensitivity``, ``reach``,
    ``consistency``, ``discovery``, ``calibration``, ``hindcast``, ``other`` for a result folder of
    another kind), or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    extra = manifest.get("extra") if isinstance(manifest.get("extra"), dict) else {}
    if extra.get("kind") == "hindcast":
        return "hindcast"  # it holds timeseries.csv and targets.csv too: test it before "run"
    if (folder / "fit.csv").is_file() and (folder / "parameters.csv").is_file():
        return "calibration"
    if (folder / "indices.csv").is_file() or isinstance(extra.get("sensitivity"), dict):
        return "sensitivity"  # a study folder is a sweep folder too: test it first
    if (folder / "experiments.parquet").is_file():
        return "sweep"
    if (folder / "discovery.json").is_file():
        return "discovery"
    if (folder / "reach.json").is_file():
        return "reach"
    if (folder / "loops.csv").is_file():
        return "loops"
    if (folder / "consistency.json").is_file():
        return "consistency"
    if (folder / "timeseries.csv").is_file() and (folder / "targets.csv").is_file():
        return "run"
    return "other"


def collect_folders(paths: Iterable[str | Path], notes: list[str] | None = None) -> list[ResultFolder]:
    """The result folders at ``paths``: each path that is a result folder, and the result folders
    found below a path that is not one (up to :data:`SEARCH_DEPTH` levels). Order kept, duplicates
    dropped.

    A path that does not exist is an :class:`~sim.errors.InputError`. A file, or a folder holding no
    result folder, is an InputError too unless ``notes`` is given: then it is skipped and a note
    saying so is appended to ``notes`` (an InputError remains when no result folder is found at all).
    """
    found: list[ResultFolder] = []
    seen: set[Path] = set()
    problems = []

    def add(folder: Path, kind: str) -> None:
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            found.append(ResultFolder(kind, folder, read_manifest(folder) or {}))

    def search(folder: Path, depth: int) -> int:
        count = 0
        for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            kind = folder_kind(child)
            if kind is not None:
                add(child, kind)
                count += 1
            elif depth > 1:
                count += search(child, depth - 1)
        return count

    skipped = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.append(f"{path}: no such folder")
            continue
        if not path.is_dir():
            skipped.append(f"{path}: not a folder (give result folders, e.g. results/plan)")
            continue
        kind = folder_kind(path)
        if kind is not None:
            add(path, kind)
        elif not search(path, SEARCH_DEPTH):
            skipped.append(f"{path}: not a result folder (no {MANIFEST}) and holds none")
    if notes is None or not found:
        problems += skipped
    else:
        notes.extend(f"skipped {text}" for text in skipped)
    if problems:
        raise InputError("\n".join(problems))
    return found
