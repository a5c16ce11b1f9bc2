"""The first `shuangta run plan` on a fresh cache against a warm run, in one script.

Each repeat makes an empty cache folder ($SHUANGTA_CACHE), runs `shuangta -q
run plan --out DIR` in a new process (cold: the .mdl is parsed and compiled
into the cache), then the same command again in another new process (warm:
the cache is read). Wall-clock times of the whole processes, as a user sees
them; the medians and their ratio are printed (target: cold <= 2 x warm).

    .venv/bin/python benchmarks/first_run.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(cache: Path, out: Path) -> float:
    env = {**os.environ, "SHUANGTA_CACHE": str(cache)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "-q", "run", "plan", "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold/warm pairs, each on a new empty cache")
    args = parser.parse_args()
    cold, warm = [], []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="shuangta-first-run-") as tmp:
            tmp = Path(tmp)
            cold.append(timed_run(tmp / "cache", tmp / "cold"))
            warm.append(timed_run(tmp / "cache", tmp / "warm"))
        print(f"repeat {i + 1}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s", flush=True)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"first run on a fresh cache: {c:.2f} s; warm run: {w:.2f} s; cold/warm = {c / w:.2f} "
          f"(medians of {args.repeats})")


if __name__ == "__main__":
    main()
