"""Integrity of a sweep folder while it runs: the chunk index, the design's hash, the design's bounds.

A sweep folder's ``chunks/`` holds one parquet file per committed chunk and
``index.jsonl``, the folder's index: one JSON line per commit::

    {"chunk": 12, "start": 60000, "stop": 65000, "sha256": "<SHA-256 of the file's bytes>"}

The line is written (and fsynced) before the chunk file is renamed into
place, so a committed file always has its line. On resume every chunk file is
checked against its line: its bytes' SHA-256, its recorded run-id range
against the range the chunk must cover, and the ``run_id`` column it holds. A
chunk that fails (damaged, truncated, swapped with another, or without a
line) is removed and evaluated again; :func:`verify_chunks` says why. A torn
last line (a kill while appending) is ignored.

The design (``chunks/design.parquet``) is hashed by content
(:func:`design_sha256`: column names, run ids and values) and the hash is
recorded in the manifest; :func:`check_design` refuses a design whose run ids
are not ``0 .. n-1`` or whose values lie outside a factor's bounds (or off a
grid factor's values), so such values never run.

This module never prints and never exits.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sim.errors import InputError

__all__ = ["INDEX", "Verdict", "bytes_sha256", "record_chunk", "read_index", "verify_chunks", "design_sha256",
           "check_design"]

INDEX = "index.jsonl"


def bytes_sha256(data: bytes) -> str:
    """SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def record_chunk(chunk_dir: Path, index: int, start: int, stop: int, sha256: str) -> None:
    """Append a committed chunk's line to the index (flushed and fsynced before returning)."""
    line = json.dumps({"chunk": int(index), "start": int(start), "stop": int(stop), "sha256": sha256})
    with open(Path(chunk_dir) / INDEX, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_index(chunk_dir: Path) -> dict[int, dict]:
    """``{chunk: line}`` of the index (the last line of a chunk wins; unreadable lines are skipped)."""
    out: dict[int, dict] = {}
    try:
        text = (Path(chunk_dir) / INDEX).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            out[int(entry["chunk"])] = {"start": int(entry["start"]), "stop": int(entry["stop"]),
                                        "sha256": str(entry["sha256"])}
        except (ValueError, KeyError, TypeError):
            continue
    return out


@dataclass
class Verdict:
    """What :func:`verify_chunks` found: chunks to evaluate, and why each committed file was rejected."""

    todo: list[int]
    rejected: dict[int, str]


def _run_ids(data: bytes) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data), columns=["run_id"]).column("run_id").to_numpy()


def _problem(path: Path, entry: dict | None, start: int, stop: int) -> str | None:
    """Why the committed chunk at ``path`` cannot be used for runs ``start .. stop - 1`` (None when it can)."""
    if entry is None:
        return "not in the folder's index (committed but not recorded)"
    if (entry["start"], entry["stop"]) != (start, stop):
        return f"the index records runs {entry['start']}-{entry['stop'] - 1}, the chunk covers {start}-{stop - 1}"
    data = path.read_bytes()
    if bytes_sha256(data) != entry["sha256"]:
        return "its content hash differs from the one recorded in the index (damaged, truncated or replaced)"
    try:
        ids = _run_ids(data)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        return f"unreadable ({type(exc).__name__})"
    if len(ids) != stop - start or not np.array_equal(ids, np.arange(start, stop)):
        lo, hi = (int(ids.min()), int(ids.max())) if len(ids) else (None, None)
        return f"holds {len(ids)} runs ({lo}-{hi}), expected {stop - start} runs ({start}-{stop - 1})"
    return None


def verify_chunks(chunk_dir: Path, ranges: Sequence[tuple[int, int]], path_of) -> Verdict:
    """Check each committed chunk ``i`` (file ``path_of(i)``, runs ``ranges[i]``) against the index.

    Returns the chunks to evaluate (no file, or a rejected one) and the
    reason for each rejected file. Rejected files are removed.
    """
    index = read_index(chunk_dir)
    todo, rejected = [], {}
    for i, (start, stop) in enumerate(ranges):
        path = Path(path_of(i))
        if not path.is_file():
            todo.append(i)
            continue
        try:
            problem = _problem(path, index.get(i), start, stop)
        except OSError as exc:
            problem = f"unreadable: {exc}"
        if problem is not None:
            rejected[i] = problem
            path.unlink(missing_ok=True)
            todo.append(i)
    return Verdict(todo, rejected)


def _column(table, name: str, dtype) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(), dtype=dtype)


def design_sha256(table) -> str:
    """SHA-256 of a design's content (a pyarrow table): its column names, then each column's values as
    8-byte numbers, a column at a time."""
    digest = hashlib.sha256(json.dumps([str(c) for c in table.column_names]).encode("utf-8"))
    for name in table.column_names:
        values = _column(table, name, np.int64 if name == "run_id" else np.float64)
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def check_design(table, factors, runs: int, where: str) -> None:
    """Refuse a design (a pyarrow table) that is not ``runs`` rows of run ids ``0 .. runs-1`` with every
    value within its factor's bounds (a grid factor: one of its values). ``where`` names the file."""
    names = [f.name for f in factors]
    if list(table.column_names) != ["run_id", *names] or table.num_rows != runs:
        raise InputError(f"{where}: does not match the spec ({table.num_rows} rows of "
                         f"{', '.join(map(str, table.column_names))}; expected {runs} rows of run_id, {', '.join(names)})")
    if not np.array_equal(_column(table, "run_id", np.int64), np.arange(runs)):
        raise InputError(f"{where}: run ids are not 0 to {runs - 1} in order")
    for f in factors:
        values = _column(table, f.name, float)
        bad = np.flatnonzero(f.outside(values))
        if len(bad):
            k = int(bad[0])
            raise InputError(f"{where}: {len(bad)} value(s) of {f.name!r} lie outside {f.describe()}, e.g. "
                             f"{values[k]!r} in run {k}; such a design never runs")
