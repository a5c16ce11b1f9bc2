"""Time a sweep end to end and measure its peak memory.

    python benchmarks/bench_sweep.py                       # the 100,000-run plan_uncertainty sweep
    python benchmarks/bench_sweep.py --workers 1 --json bench.json
    python benchmarks/bench_sweep.py SPEC --out DIR --keep

Runs ``python -m sim -q sweep SPEC --out DIR`` as a child process, exactly as
a user would, and samples the resident memory of that process and all of its
descendants (the local worker processes) every 50 ms from ``/proc``. Reports
wall time, runs per second, the peak of the summed RSS of the process tree
(an upper bound: shared library pages are counted once per process), the
peak RSS of the largest single process, and the share of runs meeting T1
and T7 from the sweep's ``summary.csv``. The sweep folder goes to a temporary
directory that is removed afterwards unless ``--keep`` or ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO / "scenarios" / "sweeps" / "plan_uncertainty.toml"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(_children(p))
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", default=str(DEFAULT_SPEC))
    parser.add_argument("--out", default=None, help="sweep folder (default: a temporary one)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the sweep folder")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    tmp = None
    if args.out is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        out = tmp / "sweep"
    else:
        out = Path(args.out)
    command = [sys.executable, "-m", "sim", "-q", "sweep", args.spec, "--out", str(out)]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    if args.chunk_size is not None:
        command += ["--chunk-size", str(args.chunk_size)]

    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO)
    peak_tree = peak_single = 0
    processes = 1
    while proc.poll() is None:
        pids = _tree(proc.pid)
        sizes = [_rss(p) for p in pids]
        peak_tree = max(peak_tree, sum(sizes))
        peak_single = max(peak_single, max(sizes, default=0))
        processes = max(processes, len(pids))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    # The kernel's own record of the largest child (catches a peak between two samples).
    peak_single = max(peak_single, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    if proc.returncode != 0:
        print(f"sweep failed with exit status {proc.returncode}", file=sys.stderr)
        return proc.returncode

    manifest = json.loads((out / "manifest.json").read_text())
    summary = pd.read_csv(out / "summary.csv").set_index("id")
    runs = int(manifest["extra"]["runs"]["total"])
    figures = {
        "command": " ".join(command),
        "runs": runs,
        "failed": int(manifest["extra"]["runs"]["failed"]),
        "factors": len(manifest["extra"]["sweep"]["factors"]),
        "chunk_size": manifest["extra"]["sweep"]["chunk_size"],
        "processes": processes,
        "cpus": os.cpu_count(),
        "wall_seconds": round(wall, 2),
        "runs_per_second": round(runs / wall, 1),
        "peak_rss_tree_mb": round(peak_tree / 2**20, 1),
        "peak_rss_largest_process_mb": round(peak_single / 2**20, 1),
        "outcomes_mb": round((out / "outcomes.parquet").stat().st_size / 2**20, 1),
    }
    for tid in ("T1", "T7"):
        if tid in summary.index:
            figures[f"share_met_{tid}"] = float(summary.loc[tid, "share_met"])
            figures[f"median_{tid}"] = float(summary.loc[tid, "q50"])
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp is not None:
        print(f"{'folder':>28}: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
