"""Ensembles: a checked design -> chunks -> executors -> a resumable sweep folder.

:func:`execute_sweep` is the one seam every ensemble goes through: a
:class:`sim.specs.sweep.Sweep` (its design drawn from the sweep file's method,
or given, e.g. by SALib for :mod:`sim.analysis.sensitivity`) is evaluated in
chunks with the compiled ensemble runner (:mod:`sim.engine.chunks`), in this
process, local worker processes or on a running ``dask.distributed`` cluster
(:mod:`sim.engine.executors`), and written into a sweep folder
(:mod:`sim.engine.sweep_folder`).

Each chunk file is written to a temporary name and renamed when the chunk is
done, so after a crash or SIGKILL a run with ``resume=True`` skips the
finished chunks; the chunk partition, the design, the spec's SHA-256 and the
identity of the numbers (:mod:`sim.engine.identity`: model, calibration
applied, targets, runner code, base scenario) are fixed in the folder, and a
resume with any of them changed is refused, naming what changed, so a resumed
sweep ends with the same rows and values as an uninterrupted one. Committed
chunks and the design are checked against their recorded hashes
(:mod:`sim.engine.chunkstore`) before they are trusted. A run that raises or
yields a NaN/inf is recorded with its error in ``experiments.error`` and the
sweep goes on.

This module never prints and never exits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from sim.engine.chunkstore import bytes_sha256, check_design, design_sha256, read_index, record_chunk, verify_chunks
from sim.engine.chunks import (FACTOR_PREFIX, TARGET_PREFIX, ChunkJob, base_params, chunk_table, error_text,
                               failed_result, outcome_column, parquet_bytes, selected_targets, target_dict,
                               unevaluated_targets)
from sim.engine.executors import (LOST_SCHEDULER, DaskExecutor, InlineExecutor, ProcessExecutor, check_options,
                                  is_fatal, sigterm_as_interrupt)
from sim.engine.identity import WORKER_COMPONENTS, IdentityError, changed_components, code_version, describe_changes, numbers_identity
from sim.engine.results import atomic_write_bytes, build_manifest, finish_manifest
from sim.engine.sweep_folder import (CHUNKS, DESIGN, EXPERIMENTS, LOCK, OUTCOMES, SUMMARY, TARGET_VALUES, claim_folder,
                                     folder_lock, is_sweep_folder, summarise, write_manifest)
from sim.errors import InputError, Interrupted, ModelError, RunError, SimError
from sim.plan.targets import Target, load_targets
from sim.specs.sweep import Sweep, design_table

log = logging.getLogger(__name__)

#: Runs per chunk unless told otherwise: the compiled model runs ~15,000 runs/s per core at this
#: size (fewer runs per call pay more per-step overhead), a chunk's results are ~8 MB for 12
#: variables x 16 years, and a kill loses at most one chunk per worker (a third of a second).
DEFAULT_CHUNK_SIZE = 5000


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the folder, run counts, chunks evaluated now and skipped, summary."""

    name: str
    folder: Path
    runs: int
    failed: int
    chunks: int
    chunks_run: int
    chunks_skipped: int
    seconds: float
    summary: pd.DataFrame
    evaluated: int = 0  # runs evaluated by this call (the others were done before a resume)


def _prepare_folder(folder: Path, sweep: Sweep, sha: str, identity: dict, resume: bool, chunk_size: int | None):
    """Check what is in ``folder``; return ``(manifest or None, chunk size)``. Raises before writing anything.

    ``resume`` into a folder that does not exist is refused; so is a resume whose
    :mod:`sim.engine.identity` components or spec differ from the folder's, naming what changed.
    """
    if resume and not folder.exists():
        raise InputError(f"{folder}: no such folder to resume; leave out --resume to start a new sweep there")
    manifest = claim_folder(folder, resume, "sweep", "sweep", "sweep",
                             lambda m: (m.get("extra") or {}).get("kind") == "sweep")
    if manifest is None:
        return None, chunk_size or min(DEFAULT_CHUNK_SIZE, sweep.runs)
    stored = manifest["extra"]["sweep"]
    changed = changed_components(manifest.get("identity"), identity)
    if changed:
        raise IdentityError(f"{folder}: cannot resume: {describe_changes(changed, manifest.get('identity'), identity)} "
                            "changed since this sweep started; resuming would mix numbers computed from different "
                            "inputs: restore them, or start a new --out")
    if stored.get("sha256") != sha:
        raise IdentityError(f"{folder}: the sweep spec {sweep.path} changed since this sweep "
                            f"started (spec SHA-256 {str(stored.get('sha256'))[:12]}... then, {sha[:12]}... now); "
                            "resuming would mix two designs: start a new --out, or restore the spec")
    stored_size = int(stored["chunk_size"])
    if chunk_size is not None and chunk_size != stored_size:
        raise InputError(f"{folder}: this sweep was started with --chunk-size {stored_size}; resume it with "
                         f"the same chunk size (or leave the option out), not {chunk_size}")
    return manifest, stored_size


def _ranges(runs: int, n_chunks: int, chunk_size: int) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of each chunk."""
    return [(i * chunk_size, min(runs, (i + 1) * chunk_size)) for i in range(n_chunks)]


def _pending(folder: Path, n_chunks: int, runs: int, chunk_size: int) -> list[int]:
    """Chunks to evaluate: no committed file, or a file that fails the index's checks (removed, with a warning).

    Temporary files of a killed process are removed first.
    """
    chunk_dir = folder / CHUNKS
    for stale in chunk_dir.glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)
    verdict = verify_chunks(chunk_dir, _ranges(runs, n_chunks, chunk_size), lambda i: _chunk_path(folder, i))
    for i, why in verdict.rejected.items():
        log.warning("%s: %s; evaluating the chunk again", _chunk_path(folder, i), why)
    return verdict.todo


def execute_sweep(
    sweep: Sweep,
    model,
    folder: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] | None = None,
    started: float | None = None,
) -> SweepResult:
    """Evaluate a checked :class:`Sweep` of ``model`` (from :func:`sim.model.loader.load_model`) into ``folder``.

    What :func:`run_sweep` does once the sweep file is loaded, for callers that
    build the :class:`Sweep` themselves (e.g. :mod:`sim.analysis.sensitivity`, with a
    ``design`` drawn by SALib). Options as for :func:`run_sweep`.
    """
    started = time.perf_counter() if started is None else started
    check_options(workers, scheduler, chunk_size)
    code = code_version()
    cm = model.compiled
    missing = [v for v in sweep.variables if v not in set(cm.variables)]
    if missing:  # the ensemble runner and PySD disagree on the model's variables
        raise ModelError(f"the compiled model has no variable {missing[0]!r}")
    sha = sweep.sha256(model.sha256)
    folder = Path(folder)
    every = load_targets()
    identity = numbers_identity(model, sweep.base.resolved_dict(), every)
    manifest, size = _prepare_folder(folder, sweep, sha, identity, resume, chunk_size)
    setup = _Setup(folder, sweep, model, cm, manifest, size, sha, code, selected_targets(sweep.variables, every),
                   identity, unevaluated_targets(sweep.variables, every))
    with sigterm_as_interrupt():
        cluster = DaskExecutor(scheduler, sha) if scheduler is not None else None  # unreachable: refused before writing
        try:
            return _run(setup, cluster, workers, progress, command, started)
        finally:
            if cluster is not None:
                cluster.close()


@dataclass
class _Setup:
    """Everything checked before a sweep writes: where, what, with which model, chunk size and hashes."""

    folder: Path
    sweep: Sweep
    model: Any
    cm: Any
    manifest: dict | None
    size: int
    sha: str
    code: str
    targets: list
    identity: dict
    unevaluated: list


def _run(setup: _Setup, cluster, workers, progress, command, started) -> SweepResult:
    """The part of :func:`run_sweep` that writes: folder, manifest, chunks, consolidation, summary."""
    folder, sweep, manifest = setup.folder, setup.sweep, setup.manifest
    runs = sweep.runs
    n_chunks = max(1, math.ceil(runs / setup.size))
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):
        if manifest is not None and manifest.get("status") == "complete" and is_sweep_folder(folder):
            # Nothing to do; a kill after the manifest was stamped may have left the chunk files.
            shutil.rmtree(folder / CHUNKS, ignore_errors=True)
            failed = int(manifest["extra"].get("runs", {}).get("failed", 0))
            result = SweepResult(sweep.name, folder, runs, failed, n_chunks, 0, n_chunks,
                                 time.perf_counter() - started, pd.read_csv(folder / SUMMARY))
        else:
            result = _evaluate_and_write(setup, cluster, workers, progress, command, started, n_chunks)
    with contextlib.suppress(OSError):
        (folder / LOCK).unlink()
    return result


def _evaluate_and_write(setup: _Setup, cluster, workers, progress, command, started, n_chunks) -> SweepResult:
    """Start or resume: manifest, design, the pending chunks, then consolidation and summary."""
    folder, sweep, model, cm, manifest = setup.folder, setup.sweep, setup.model, setup.cm, setup.manifest
    size, sha, code, targets = setup.size, setup.sha, setup.code, setup.targets
    runs = sweep.runs
    for stale in folder.glob(".*.tmp-*"):  # left by a process killed while consolidating
        if stale.is_file():
            stale.unlink(missing_ok=True)
    if manifest is None:
        manifest = _new_manifest(command, model, sweep, sha, size, n_chunks, targets)
        manifest["extra"]["sweep"]["code"] = code
        manifest["identity"] = setup.identity
        manifest["extra"]["targets_not_evaluated"] = setup.unevaluated
    else:
        manifest["extra"].setdefault("resumes", []).append(
            {"at": pd.Timestamp.now(tz="UTC").isoformat(),
             "command": list(command) if command is not None else list(sys.argv)})
        manifest["status"], manifest["error"] = "running", None
    write_manifest(folder, manifest)
    (folder / CHUNKS).mkdir(exist_ok=True)
    design_sha = _read_design(folder, sweep, manifest["extra"]["sweep"].get("design_sha256"), size)
    design_rows = DesignRows(folder / CHUNKS / DESIGN, sweep.factor_names)
    if manifest["extra"]["sweep"].get("design_sha256") != design_sha:
        manifest["extra"]["sweep"]["design_sha256"] = design_sha
        write_manifest(folder, manifest)
    todo = _pending(folder, n_chunks, runs, size)
    done_runs = runs - sum(min(runs, (i + 1) * size) - i * size for i in todo)
    log.info("%s: %d runs in %d chunks of %d; %d chunks to evaluate", sweep.name, runs, n_chunks, size, len(todo))
    base = base_params(sweep.base, sweep.factor_names, cm.step_times(sweep.final_time, sweep.time_step))
    model_file = str(Path(model.path).resolve())

    def job(i: int) -> ChunkJob:
        start, stop = i * size, min(runs, (i + 1) * size)
        rows = design_rows.read(start, stop)
        return ChunkJob(
            index=i, start=start, stop=stop, model_path=model_file, model_sha256=model.sha256, base=base,
            factors=rows,
            variables=tuple(sweep.variables), years=tuple(sweep.years), targets=tuple(targets),
            final_time=sweep.final_time, time_step=sweep.time_step, code=code,
            identity={k: setup.identity["components"][k] for k in WORKER_COMPONENTS},
        )

    executor = None
    bar = progress(runs, done_runs) if progress is not None else None
    try:
        if todo:
            if cluster is not None:
                executor = cluster
            else:
                count = min(workers if workers is not None else (os.cpu_count() or 1), len(todo))
                executor = InlineExecutor() if count <= 1 else ProcessExecutor(count, model_file, model.sha256)
            phase = time.perf_counter()
            _evaluate_all(executor, todo, job, sweep, targets, folder, bar)
            if executor is not cluster:  # the cluster's client is closed by run_sweep
                executor.close()
            executor = None
            log.info("%d chunks evaluated in %.1f s", len(todo), time.perf_counter() - phase)
        if bar is not None:  # the bar measures the runs; consolidation follows
            bar.close()
            bar = None
        phase = time.perf_counter()
        _consolidate(folder, sweep, targets, n_chunks)
        summary = summarise(folder)
        log.info("consolidated and summarised in %.1f s", time.perf_counter() - phase)
        failed = int(summary["failed"].iloc[0])
        manifest["extra"]["runs"] = {"total": runs, "ok": runs - failed, "failed": failed}
        finish_manifest(manifest, "complete")
        write_manifest(folder, manifest)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        word = "terminated (SIGTERM)" if signum == getattr(signal, "SIGTERM", None) else "interrupted"
        hint = f"{word}; finished chunks are kept in {folder}: rerun with --resume to continue"
        _stop(executor, manifest, folder, "interrupted", hint)
        raise Interrupted(hint, signum) from None
    except SimError as exc:
        _stop(executor, manifest, folder, "failed", str(exc))
        raise
    except Exception as exc:
        _stop(executor, manifest, folder, "failed", error_text(exc))
        if isinstance(executor, DaskExecutor) and type(exc).__name__ in LOST_SCHEDULER:
            raise RunError(f"lost the dask scheduler at {executor.address} ({type(exc).__name__}); finished chunks "
                           f"are kept in {folder / CHUNKS}: rerun with --resume when the cluster is back") from None
        raise RunError(f"sweep stopped: {error_text(exc)}; finished chunks are kept in {folder / CHUNKS}: "
                       "rerun with --resume") from exc
    finally:
        if bar is not None:
            bar.close()
    shutil.rmtree(folder / CHUNKS, ignore_errors=True)
    return SweepResult(sweep.name, folder, runs, failed, n_chunks, len(todo), n_chunks - len(todo),
                       time.perf_counter() - started, summary, runs - done_runs)


def _new_manifest(command, model, sweep: Sweep, sha: str, size: int, n_chunks: int, targets) -> dict:
    """The manifest of a new sweep (status ``running``): spec content and hash, seed, method, n, chunking."""
    return build_manifest(
        list(command) if command is not None else sys.argv, model.path, sweep.base.resolved_dict(),
        seed=sweep.seed,
        extra={
            "kind": "sweep",
            "sweep": {
                "file": str(sweep.path),
                "content": sweep.content,
                "sha256": sha,
                "method": sweep.method,
                "n": sweep.runs,
                "seed": sweep.seed,
                "chunk_size": size,
                "chunks": n_chunks,
                "factors": [{"name": f.name, "design": f.describe()} for f in sweep.factors],
                "variables": sweep.variables,
                "years": sweep.years,
                "base_chain": [str(p) for p in sweep.base.chain],
            },
            "targets": [target_dict(t) for t in targets],
            "outcomes_layout": "long: one row per run and kept year (run_id, year, one column per variable)",
            "resumes": [],
        },
    )


def _stop(executor, manifest: dict, folder: Path, status: str, error: str) -> None:
    if executor is not None and not isinstance(executor, DaskExecutor):
        with contextlib.suppress(BaseException):
            executor.close(cancel=True)
    with contextlib.suppress(Exception):
        finish_manifest(manifest, status, error)
        write_manifest(folder, manifest)


def _read_design(folder: Path, sweep: Sweep, recorded: str | None, chunk_size: int) -> str:
    """Check (or draw and write) the design file; return its content hash (:func:`sim.engine.chunkstore.design_sha256`).

    A new sweep draws the design and writes it, one row group per chunk. On
    resume the file must hash to ``recorded``; a missing, unreadable or
    damaged file is drawn again from the seed, which must reproduce
    ``recorded`` (else the resume is refused). Either way no value outside
    its factor's bounds reaches a run. The design is not kept in memory:
    chunks read their rows from the file (:class:`DesignRows`).
    """
    import pyarrow.parquet as pq

    path = folder / CHUNKS / DESIGN
    table, why = None, "missing"
    if path.is_file():
        try:
            table = pq.read_table(path)
            why = None if recorded is None or design_sha256(table) == recorded else "its content hash differs"
        except Exception as exc:  # a damaged file: pyarrow raises several kinds
            table, why = None, f"unreadable ({type(exc).__name__})"
    if why is not None:
        table = design_table(sweep)
        if recorded is not None:
            if design_sha256(table) != recorded:
                raise InputError(f"{path}: {why}, and drawing the design again from the spec does not reproduce "
                                 "the recorded design hash; start a new --out")
            log.warning("%s: %s; drawn again from the seed (same hash as recorded)", path, why)
    check_design(table, sweep.factors, sweep.runs, str(path))
    sha = design_sha256(table)
    if why is not None:
        _write_parquet(path, table, row_group_size=chunk_size)
    return sha


def _write_parquet(path: Path, table, **options) -> None:
    """Write a parquet file atomically, straight to disk (a temporary name, fsync, rename)."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, **options)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class DesignRows:
    """Rows ``start .. stop - 1`` of a design file's factor columns, read from the row groups that hold them."""

    def __init__(self, path: Path, names: Sequence[str]):
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        self.names = list(names)
        sizes = [self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def read(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """``{factor: values}`` of runs ``start .. stop - 1``."""
        import pyarrow as pa

        groups = [g for g in range(len(self.offsets) - 1) if self.offsets[g] < stop and self.offsets[g + 1] > start]
        table = pa.concat_tables([self.file.read_row_group(g, columns=self.names) for g in groups])
        table = table.slice(start - int(self.offsets[groups[0]]), stop - start)
        return {n: table.column(n).to_numpy().astype(float, copy=False) for n in self.names}


def _evaluate_all(executor, todo, job, sweep, targets, folder, bar) -> None:
    """Submit chunks (at most ``executor.window`` at a time), commit each as it finishes."""
    queue = iter(todo)
    pending: dict = {}

    def fill():
        while len(pending) < executor.window:
            i = next(queue, None)
            if i is None:
                return
            j = job(i)
            pending[executor.submit(j)] = j

    fill()
    while pending:
        done, _ = executor.wait(list(pending))
        for future in done:
            j = pending.pop(future)
            try:
                result = future.result()
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or is_fatal(exc):
                    raise
                log.warning("chunk %d failed: %s", j.index, error_text(exc))
                result = failed_result(j, exc, len(sweep.variables), len(sweep.years), len(targets))
            table = chunk_table(result, j.factors, sweep, targets)
            data = parquet_bytes(table)
            # The index line first: a kill between the two leaves a line without a file (evaluated again), never
            # a file without its line.
            record_chunk(folder / CHUNKS, j.index, j.start, j.stop, bytes_sha256(data))
            atomic_write_bytes(_chunk_path(folder, j.index), data)
            if bar is not None:
                bar.update(j.stop - j.start)
            log.debug("chunk %d committed (runs %d-%d)", j.index, j.start, j.stop - 1)
        fill()


def _chunk_path(folder: Path, index: int) -> Path:
    return folder / CHUNKS / f"chunk-{index:05d}.parquet"


def _consolidate(folder: Path, sweep: Sweep, targets: Sequence[Target], n_chunks: int) -> None:
    """Stream the chunk files, in run order, into experiments, outcomes and target values (atomic each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = sweep.factor_names
    schemas = {
        EXPERIMENTS: pa.schema([("run_id", pa.int64()), *((n, pa.float64()) for n in names), ("error", pa.string())]),
        OUTCOMES: pa.schema([("run_id", pa.int64()), ("year", pa.int64()), *((v, pa.float64()) for v in sweep.variables)]),
        TARGET_VALUES: pa.schema([("run_id", pa.int64()), *((t.id, pa.float64()) for t in targets)]),
    }
    tmp = {name: folder / f".{name}.tmp-{os.getpid()}" for name in schemas}
    writers = {name: pq.ParquetWriter(tmp[name], schemas[name]) for name in schemas}
    years = np.asarray(sweep.years, dtype=np.int64)
    index = read_index(folder / CHUNKS)
    try:
        for i in range(n_chunks):
            data = _chunk_path(folder, i).read_bytes()
            if bytes_sha256(data) != (index.get(i) or {}).get("sha256"):
                raise RunError(f"{_chunk_path(folder, i)}: changed since it was committed (its content hash differs "
                               "from the index); rerun with --resume to evaluate it again")
            table = pq.read_table(pa.BufferReader(data))
            run_id = table.column("run_id").to_numpy()
            writers[EXPERIMENTS].write_table(pa.table(
                {"run_id": run_id, **{n: table.column(FACTOR_PREFIX + n) for n in names}, "error": table.column("error")},
                schema=schemas[EXPERIMENTS]))
            writers[TARGET_VALUES].write_table(pa.table(
                {"run_id": run_id, **{t.id: table.column(TARGET_PREFIX + t.id) for t in targets}}, schema=schemas[TARGET_VALUES]))
            long = {"run_id": np.repeat(run_id, len(years)), "year": np.tile(years, len(run_id))}
            for v in sweep.variables:
                block = np.column_stack([table.column(outcome_column(v, y)).to_numpy() for y in sweep.years])
                long[v] = block.reshape(-1)
            writers[OUTCOMES].write_table(pa.table(long, schema=schemas[OUTCOMES]))
            del table, long, data
        for w in writers.values():
            w.close()
        for name, path in tmp.items():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(path, folder / name)
    except BaseException:
        for w in writers.values():
            with contextlib.suppress(Exception):
                w.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)
        raise
