"""Benchmark: plain PySD runs against the compiled ensemble runner.

Usage::

    .venv/bin/python benchmarks/bench_compiler.py [MODEL.mdl] [--pysd-runs 20] [--sizes 1,100,10000,100000]

For the model (default ``tests/data/compiler_dynamics.mdl``) it prints runs per
second for PySD's ``model.run(params=..., reload=True)`` and for
:class:`sim.compiler.CompiledModel` at each ensemble size N, and the peak
resident memory (``resource.getrusage``) after each stage. Members vary up to
five constants by +-10 % around their defaults; large N run through
``run_chunks`` (default chunk size) and discard each chunk, as a sweep would
after reducing it. Translation caches go to a temporary folder; nothing is
written in the repository. Timings are best of a few repeats; speed is
measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_MODEL = ROOT / "tests" / "data" / "compiler_dynamics.mdl"


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def member_params(constants: dict, n: int, seed: int = 0) -> dict:
    """Up to five constants varied by +-10 % per member (non-zero defaults only)."""
    rng = np.random.default_rng(seed)
    names = [k for k, v in constants.items() if v != 0][:5]
    return {k: constants[k] * rng.uniform(0.9, 1.1, n) for k in names}


def best_of(fn, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_pysd(path: Path, workdir: Path, params: dict, runs: int) -> float:
    """Runs per second of PySD with reload, each run with one member's parameters."""
    import pysd

    copy = workdir / "pysd" / path.name
    copy.parent.mkdir(parents=True)
    shutil.copy(path, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(copy))
        start = time.perf_counter()
        for i in range(runs):
            model.run(params={k: float(v[i]) for k, v in params.items()}, reload=True)
    return runs / (time.perf_counter() - start)


def bench_compiled(model, n: int, repeats: int) -> float:
    """Runs per second of the compiled runner for an ensemble of ``n`` members."""
    params = member_params(model.constants, n)
    if n == 1:
        params = {k: float(v[0]) for k, v in params.items()}
        model.run(params)  # assemble the generated function once
        loops = 50
        return loops / best_of(lambda: [model.run(params) for _ in range(loops)], repeats)

    def sweep():
        for _, chunk in model.run_chunks(params, n):
            del chunk

    model.run({k: v[:2] for k, v in params.items()})  # assemble the generated function once
    return n / best_of(sweep, repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--pysd-runs", type=int, default=20)
    parser.add_argument("--sizes", default="1,100,10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-compiler-") as tmp:
        workdir = Path(tmp)
        os.environ["SHUANGTA_CACHE"] = str(workdir / "cache")
        from sim.compiler import compile_model

        start = time.perf_counter()
        model = compile_model(args.model)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        compile_model(args.model)
        warm = time.perf_counter() - start
        steps = len(model.step_times())
        print(f"model: {args.model}")
        print(f"  {len(model.variables)} variables, {len(model.constants)} constants, {len(model.stocks)} stocks; "
              f"{steps} step times (TIME STEP {model.time_step}), {len(model.save_times())} saved")
        print(f"  compile: {cold * 1e3:.0f} ms (parse with PySD), {warm * 1e3:.0f} ms (from cache)")
        print(f"{'runner':<24}{'N':>8}{'runs/s':>14}{'ms/run':>12}{'peak MB':>10}")

        if args.pysd_runs:
            params = member_params(model.constants, args.pysd_runs)
            rate = bench_pysd(args.model, workdir, params, args.pysd_runs)
            print(f"{'PySD run(reload=True)':<24}{1:>8}{rate:>14.1f}{1e3 / rate:>12.2f}{peak_mb():>10.0f}")
        for n in sizes:
            rate = bench_compiled(model, n, args.repeats if n < 100000 else 1)
            print(f"{'compiled':<24}{n:>8}{rate:>14.1f}{1e3 / rate:>12.4f}{peak_mb():>10.0f}")


if __name__ == "__main__":
    main()
