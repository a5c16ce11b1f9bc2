"""Peak resident memory of a sweep's main process at 10^4, 10^5 and 10^6 runs.

    python benchmarks/sweep_memory.py                      # 10^4, 10^5, 10^6 runs, 2 local workers
    python benchmarks/sweep_memory.py --runs 10000 100000 --workers 1

For each size, writes a copy of ``scenarios/sweeps/plan_uncertainty.toml``
with that ``n`` to a temporary folder and runs
``/usr/bin/time -v python -m sim -q sweep COPY --out DIR --workers W``.
Printed: GNU time's "Maximum resident set size" (Linux reports the largest
of the sweep process and the workers it reaped), the main process's own peak
and the largest worker's, both sampled from ``/proc`` every 0.2 s, KiB per
run of the main peak, and the wall time. With ``--workers 1`` every run is
evaluated in the main process itself (its worst case) and the two main
figures agree. The sweep folders are removed afterwards.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "scenarios" / "sweeps" / "plan_uncertainty.toml"


def _peaks(pid: int, stop: threading.Event, peak: list) -> None:
    """``peak[0]``: VmHWM of ``pid`` (the sweep); ``peak[1]``: largest VmRSS of its children; KiB, every 0.2 s."""
    while not stop.is_set():
        main = re.search(r"^VmHWM:\s+(\d+)", _read(Path(f"/proc/{pid}/status")), re.M)
        if main:
            peak[0] = max(peak[0], int(main.group(1)))
        for status in Path("/proc").glob("[0-9]*/status"):
            text = _read(status)
            ppid = re.search(r"^PPid:\s+(\d+)", text, re.M)
            rss = re.search(r"^VmRSS:\s+(\d+)", text, re.M)
            if ppid and rss and int(ppid.group(1)) == pid:
                peak[1] = max(peak[1], int(rss.group(1)))
        time.sleep(0.2)


def measure(runs: int, workers: int, folder: Path) -> dict:
    spec = folder / f"plan_uncertainty_{runs}.toml"
    text = re.sub(r"^n = \d+", f"n = {runs}", SPEC.read_text(encoding="utf-8"), flags=re.M)
    spec.write_text(text.replace('base = "plan"', f'base = "{REPO / "scenarios" / "plan.toml"}"'), encoding="utf-8")
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "sim", "-q", "sweep", str(spec),
               "--out", str(folder / f"out_{runs}"), "--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0, 0]
    # the sweep is time's child: sample the sweep's children (its workers)
    for _ in range(50):
        kids = [p for p in Path("/proc").glob("[0-9]*/status")
                if re.search(rf"^PPid:\s+{proc.pid}$", _read(p), re.M)]
        if kids:
            sweep_pid = int(kids[0].parent.name)
            watcher = threading.Thread(target=_peaks, args=(sweep_pid, stop, peak), daemon=True)
            watcher.start()
            break
        time.sleep(0.1)
    _, err = proc.communicate()
    stop.set()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sweep of {runs} runs failed:\n{err[-2000:]}")
    kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {"runs": runs, "time_v_mib": kib / 1024, "main_peak_mib": peak[0] / 1024, "kib_per_run": peak[0] / runs,
            "seconds": seconds, "worker_peak_mib": peak[1] / 1024 if workers > 1 else None}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{'runs':>10}  {'time -v max RSS':>15}  {'main peak':>10}  {'KiB/run':>8}  {'worker peak':>11}  {'wall':>7}")
    with tempfile.TemporaryDirectory(prefix="sweep-memory-") as tmp:
        for runs in args.runs:
            r = measure(runs, args.workers, Path(tmp))
            worker = f"{r['worker_peak_mib']:.0f} MiB" if r["worker_peak_mib"] is not None else "-"
            print(f"{runs:>10,}  {r['time_v_mib']:>11.0f} MiB  {r['main_peak_mib']:>6.0f} MiB  {r['kib_per_run']:>8.3f}  "
                  f"{worker:>11}  {r['seconds']:>5.0f} s", flush=True)


if __name__ == "__main__":
    main()
