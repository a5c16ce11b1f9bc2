"""`shuangta sweep`: check a sweep file, evaluate its design, write the sweep folder.

The sweep file is :mod:`sim.specs.sweep`'s; the ensemble machinery
(:func:`sim.engine.ensemble.execute_sweep`) evaluates it; the folder is read
back with :mod:`sim.engine.sweep_folder`. This module never prints and never
exits.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from sim.engine.ensemble import SweepResult, execute_sweep
from sim.engine.executors import check_options
from sim.errors import ScenarioError
from sim.specs.sweep import load_sweep, read_sweep_file

#: Default parent of sweep folders: ``results/sweeps/<name>`` (relative to the working directory).
DEFAULT_OUT = Path("results") / "sweeps"


def run_sweep(
    spec: str | Path,
    out: str | Path | None = None,
    *,
    model_path: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] | None = None,
) -> SweepResult:
    """Check the sweep file ``spec``, evaluate its design chunk by chunk, and write the sweep folder.

    ``out`` defaults to ``results/sweeps/<name>``. Chunks run in ``workers``
    local processes (default: the number of CPUs; ``1`` runs in this
    process), or, with ``scheduler = "tcp://host:port"``, as tasks on that
    running dask cluster. ``resume`` continues an interrupted sweep in
    ``out``, skipping committed chunks; it is refused if the spec, its base
    scenario or the model changed. ``progress(total, done)`` is called once
    and must return an object with ``update(runs)`` and ``close()`` (e.g. a
    tqdm bar). Everything is checked before anything is written.
    """
    from sim.model.loader import DEFAULT_MODEL, load_model

    started = time.perf_counter()
    check_options(workers, scheduler, chunk_size)
    _, problems = read_sweep_file(spec)  # structure first: a malformed file needs no model
    if problems:
        raise ScenarioError(problems)
    model = load_model(model_path or DEFAULT_MODEL)
    sweep = load_sweep(spec, model)
    folder = Path(out) if out is not None else DEFAULT_OUT / sweep.name
    return execute_sweep(sweep, model, folder, workers=workers, scheduler=scheduler, resume=resume,
                         chunk_size=chunk_size, progress=progress, command=command, started=started)
