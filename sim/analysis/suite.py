"""The validation suite of ``shuangta check``: its tests in the order they run, running them, the text report.

The tests are :mod:`sim.analysis.checks`' (units, extremes, integration,
conservation, behaviour, reality) and :mod:`sim.analysis.structure`'s
(documented sector ranges, the whole lever box). This module never prints and
never exits.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sim.analysis.checks import (REALITY_CHECKS, CheckResult, check_behaviour, check_conservation, check_dimensions,
                                 check_extremes, check_integration, check_reality, load_checks)
from sim.analysis.structure import check_lever_box, check_ranges
from sim.errors import InputError, SimError
from sim.model.loader import DEFAULT_MODEL

log = logging.getLogger(__name__)


#: Test names accepted by ``--only``, in the order they run.
TESTS = {
    "dimensions": check_dimensions,
    "extremes": check_extremes,
    "extremes-uncertain": lambda model_path=DEFAULT_MODEL, data=None: check_extremes(model_path, data, kind="uncertain"),
    "integration": check_integration,
    "conservation": check_conservation,
    "behaviour": check_behaviour,
    "reality": check_reality,
    "structure": lambda model_path=DEFAULT_MODEL, data=None: check_ranges(model_path, data),
    "lever-box": lambda model_path=DEFAULT_MODEL, data=None: check_lever_box(model_path, data),
}


def run_checks(model_path=DEFAULT_MODEL, data_path: str | Path = REALITY_CHECKS, only: list[str] | None = None,
               calibration: str | Path | None = None, progress=None) -> list[CheckResult]:
    """Run the validation suite (or the tests named in ``only``); a test that cannot run is a failure."""
    data = load_checks(data_path)
    unknown = sorted(set(only or []) - set(TESTS))
    if unknown:
        raise InputError(f"unknown test(s) {', '.join(unknown)}; choose from {', '.join(TESTS)}")
    say = progress or (lambda text: log.info(text))
    results = []
    for key, fn in TESTS.items():
        if only and key not in only:
            continue
        say(f"running {key}")
        try:
            if key == "dimensions":
                results.append(fn(model_path))
            elif key == "behaviour":
                results.append(fn(model_path, calibration))
            else:
                results.append(fn(model_path, data))
        except SimError as exc:
            results.append(CheckResult(key, False, f"could not run: {exc}"))
    return results


def format_checks(results: list[CheckResult], limit: int = 40) -> str:
    """One block per test: ``PASS|FAIL name: summary`` and its details (at most ``limit`` lines each)."""
    lines = []
    for r in results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.name}: {r.summary}")
        shown = r.details[:limit]
        lines += [f"      {d}" for d in shown]
        if len(r.details) > limit:
            lines.append(f"      ... and {len(r.details) - limit} more")
    failed = sum(not r.passed for r in results)
    lines.append(f"\n{len(results) - failed} of {len(results)} tests pass" + (f", {failed} fail" if failed else ""))
    return "\n".join(lines)
