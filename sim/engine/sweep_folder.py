"""Sweep folders: their files, their lock and manifest, the summary, and reading them back.

A sweep folder (written by :mod:`sim.engine.ensemble`; sensitivity folders are sweep folders too)::

    DIR/manifest.json           status running -> complete; spec, its SHA-256, seed, method, n
    DIR/chunks/design.parquet   while running: the design (run_id, one column per factor)
    DIR/chunks/chunk-00012.parquet   while running: one committed chunk (atomic)
    DIR/chunks/index.jsonl      while running: per committed chunk, its run range and content hash
    DIR/experiments.parquet     run_id, one column per factor, error (null when the run is fine)
    DIR/outcomes.parquet        long: run_id, year, one column per kept variable
    DIR/target_values.parquet   run_id, one column per target id: the target's quantity
    DIR/summary.csv             per target: share of runs meeting it, quantiles, failed runs; targets not evaluated, and why

This module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from sim.engine.chunks import target_met
from sim.engine.folders import read_manifest
from sim.engine.results import MANIFEST, atomic_write_text, to_json
from sim.errors import InputError
from sim.plan.targets import Target

#: Quantiles in ``summary.csv`` (and their column names).
QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.50, "q75": 0.75, "q95": 0.95}


EXPERIMENTS = "experiments.parquet"


OUTCOMES = "outcomes.parquet"


TARGET_VALUES = "target_values.parquet"


SUMMARY = "summary.csv"


CHUNKS = "chunks"


DESIGN = "design.parquet"


LOCK = ".lock"


def is_sweep_folder(folder: str | Path) -> bool:
    """True for a folder written by :func:`run_sweep` (complete: it has ``experiments.parquet``)."""
    return (Path(folder) / EXPERIMENTS).is_file()


@contextlib.contextmanager
def folder_lock(folder: Path):
    """An exclusive lock on the sweep folder (released by the OS even after SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    handle = open(folder / LOCK, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"{folder}: another sweep process is writing into this folder") from None
        yield
    finally:
        handle.close()


def write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write_text(folder / MANIFEST, to_json(manifest) + "\n")


def claim_folder(folder: Path, resume: bool, kind: str, what: str, noun: str,
                  is_kind: Callable[[dict], bool]) -> dict | None:
    """Refuse, before anything is written, an output folder that holds something else; return its manifest.

    None for a folder that is missing or empty (the lock file aside). A folder with files is refused
    unless ``resume`` is given and its manifest ``is_kind``; ``kind`` ("sweep"), ``what`` ("sweep",
    "sensitivity study") and ``noun`` ("sweep", "study") word the messages.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    entries = [p for p in folder.iterdir() if p.name != LOCK] if folder.is_dir() else []
    if not entries:
        return None
    manifest = read_manifest(folder)
    ok = manifest is not None and is_kind(manifest)
    if not resume:
        held = f"a {what}" if ok else "files"
        raise InputError(f"{folder}: already holds {held}; pass --resume to continue that {noun}, "
                         "or choose another --out")
    if not ok:
        raise InputError(f"{folder}: not a {what} folder (no {kind} manifest.json); cannot resume into it")
    return manifest


def summarise(folder: str | Path) -> pd.DataFrame:
    """Compute and write ``summary.csv`` of a consolidated sweep folder; return it.

    One row per target whose variables were kept: its definition, ``runs``
    (all), ``failed`` (runs with an error), ``evaluated`` (runs without error
    whose target quantity is defined), ``met`` and ``share_met`` (=
    met / evaluated), and the quantiles ``q05 .. q95`` of the quantity over the
    evaluated runs (a level in the target year, a growth rate, or a rate
    difference, as in ``targets.csv`` of a single run). Then one row per
    target the sweep could not evaluate (``evaluated`` 0), with ``reason``
    saying why (its variables were not kept, or the model cannot evaluate it).

    Memory: the error column, then one target's column at a time (8 bytes a run).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = Path(folder)
    manifest = read_manifest(folder) or {}
    extra = manifest.get("extra") or {}
    rows_def = extra.get("targets", [])
    ok = pc.is_null(pq.read_table(folder / EXPERIMENTS, columns=["error"]).column("error")).to_numpy(
        zero_copy_only=False)
    runs, failed = len(ok), int((~ok).sum())
    values = pq.ParquetFile(folder / TARGET_VALUES) if rows_def else None
    rows = []
    for d in rows_def:
        target = Target(id=d["id"], description=d["description"], description_zh="", section="", variable=d["variable"],
                        year=d["year"], kind=d["kind"], comparison=d["comparison"], threshold=d["threshold"],
                        arithmetic="", evaluable=True, base_year=d["base_year"], other_variable=d["other_variable"],
                        aggregate=d["aggregate"])
        q = values.read(columns=[d["id"]]).column(0).to_numpy(zero_copy_only=False).astype(float)[ok]
        q = q[np.isfinite(q)]
        met = int(target_met(target, q).sum())
        row = {**d, "runs": runs, "failed": failed, "evaluated": len(q), "met": met,
               "share_met": met / len(q) if len(q) else math.nan, "reason": ""}
        qs = np.quantile(q, list(QUANTILES.values())) if len(q) else [math.nan] * len(QUANTILES)
        row.update(dict(zip(QUANTILES, (float(x) for x in qs))))
        rows.append(row)
        del q
    for d in extra.get("targets_not_evaluated", []):
        rows.append({**d, "runs": runs, "failed": failed, "evaluated": 0, "met": 0, "share_met": math.nan})
    columns = ["id", "description", "variable", "other_variable", "kind", "comparison", "threshold", "year",
               "base_year", "aggregate", "runs", "failed", "evaluated", "met", "share_met", *QUANTILES, "reason"]
    if not rows:  # no target kept: the run counts still go into the file
        rows = [{"id": "", "runs": runs, "failed": failed, "evaluated": 0, "met": 0}]
    summary = pd.DataFrame(rows, columns=columns)
    atomic_write_text(folder / SUMMARY, summary.to_csv(index=False))
    return summary


def _not_evaluated(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """``(id, reason)`` of the summary's rows for targets the sweep could not evaluate."""
    if "reason" not in summary.columns:
        return []
    reasons = summary["reason"].fillna("").astype(str)
    return [(str(i), r) for i, r in zip(summary["id"], reasons) if r and isinstance(i, str) and i]


def format_summary(summary: pd.DataFrame, width: int = 46) -> str:
    """Plain-text table of a sweep summary: target, share of runs meeting it, median and 90 % range."""
    from sim.plan.targets import format_number

    body = []
    skipped = _not_evaluated(summary)
    for r in summary.to_dict("records"):
        if not r.get("id") or not isinstance(r.get("id"), str) or r["id"] in dict(skipped):
            continue
        kind = r.get("kind") or "level"
        desc = " ".join(str(r.get("description", "")).split())
        desc = desc if len(desc) <= width else desc[: width - 1] + "…"
        share = r.get("share_met")
        body.append([
            str(r["id"]), desc,
            "-" if share is None or (isinstance(share, float) and math.isnan(share)) else f"{share * 100:.1f} %",
            format_number(r.get("q50"), kind),
            f"{format_number(r.get('q05'), kind)} – {format_number(r.get('q95'), kind)}",
            f"{r.get('comparison', '')} {format_number(r.get('threshold'), kind)}",
        ])
    header = ["id", "target", "met in", "median", "5 %–95 %", "threshold"]
    tail = ["", "not evaluated:", *(f"  {i}: {why}" for i, why in skipped)] if skipped else []
    if not body:
        return "\n".join(["no target's variables were kept", *tail[1:]])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in (2, 3, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(b) for b in body), *tail])


@dataclass
class SweepFolder:
    """A complete sweep folder read back (everything but the outcomes, which :func:`read_outcomes` streams)."""

    path: Path
    name: str
    manifest: dict
    experiments: pd.DataFrame
    target_values: pd.DataFrame
    summary: pd.DataFrame
    factors: list[str]
    variables: list[str]
    years: list[int]
    targets: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the runs without error, in ``experiments`` order."""
        return self.experiments["error"].isna().to_numpy()


def read_sweep(folder: str | Path) -> SweepFolder:
    """Read a complete sweep folder; raise :class:`InputError` naming what is missing."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    missing = [n for n in (MANIFEST, EXPERIMENTS, OUTCOMES, TARGET_VALUES, SUMMARY) if not (folder / n).is_file()]
    if missing:
        raise InputError(f"{folder}: not a complete sweep folder (missing {', '.join(missing)})")
    manifest = read_manifest(folder)
    if manifest is None or (manifest.get("extra") or {}).get("kind") != "sweep":
        raise InputError(f"{folder / MANIFEST}: not a sweep manifest")
    spec = manifest["extra"]["sweep"]
    try:
        experiments = pq.read_table(folder / EXPERIMENTS).to_pandas()
        target_values = pq.read_table(folder / TARGET_VALUES).to_pandas()
        summary = pd.read_csv(folder / SUMMARY)
    except Exception as exc:
        raise InputError(f"{folder}: unreadable sweep files: {exc}") from None
    factors = [c for c in experiments.columns if c not in ("run_id", "error")]
    return SweepFolder(folder, spec.get("content", {}).get("name", folder.name), manifest, experiments, target_values,
                       summary, factors, list(spec["variables"]), [int(y) for y in spec["years"]],
                       list(manifest["extra"].get("targets", [])))


def read_outcomes(folder: str | Path, variables: Sequence[str]) -> pd.DataFrame:
    """``run_id``, ``year`` and the given kept variables from ``outcomes.parquet`` (other columns unread)."""
    import pyarrow.parquet as pq

    path = Path(folder) / OUTCOMES
    try:
        return pq.read_table(path, columns=["run_id", "year", *variables]).to_pandas()
    except Exception as exc:
        raise InputError(f"{path}: cannot read {', '.join(variables)}: {exc}") from None


def iter_chunks(folder: str | Path, variables: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
    """``outcomes.parquet`` one row group (one chunk of runs) at a time, for analyses bigger than memory."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(Path(folder) / OUTCOMES)
    columns = None if variables is None else ["run_id", "year", *variables]
    for i in range(handle.num_row_groups):
        yield handle.read_row_group(i, columns=columns).to_pandas()
