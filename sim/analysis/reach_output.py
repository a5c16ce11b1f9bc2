"""Reach folders and text: the result of :func:`sim.analysis.reach.reach` as a table, a result folder, and a runnable scenario file.

This module never prints and never exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sim.plan.lever_references import format_value
from sim.engine.results import build_manifest, finish_manifest, to_json, write_run
from sim.specs.scenario_writer import write_scenario
from sim.analysis.search import LEVER_PATH
from sim.plan.targets import format_number
from sim.analysis.reach import ReachResult, check_scenario_path


def _position_text(row: dict, which: str) -> str:
    pos = row[f"{which}_position"]
    if pos == "no reference":
        return "no reference"
    return f"{pos} ({row[which]})"


def format_reach(result: ReachResult) -> str:
    """Plain-text report of a :class:`ReachResult` for the command line."""
    from sim.plan.targets import format_verdicts

    s = result.search
    head = [f"reach {' '.join(result.targets)} from {result.base_name} ({result.base}); "
            f"{s.k} lever{'s' if s.k != 1 else ''} searched"]
    head.append(LEVER_PATH)
    if result.status == "met at base":
        head.append("status: already met by the base scenario; no change needed")
    elif result.status == "reachable":
        head.append(f"status: REACHABLE inside the lever ranges; smallest change: distance {result.distance:.4f} (range units)")
    else:
        head.append("status: NOT REACHABLE inside the lever ranges; the best reachable values "
                    f"(worst normalised gap {result.worst_gap:+.4f}) need distance {result.distance:.4f} (range units)")
    if result.plausibility is not None:
        head.append(f"plausibility: {result.plausibility.cls}; binding: {result.plausibility.binding_text()}")
    lines = ["\n".join(head), ""]
    rows = result.levers.to_dict("records")
    table = [["lever", "base", "needed", "change", "Δ range", "2016-2020 record", "plan"]]
    for r in rows:
        if not r["changed"]:
            continue
        table.append([
            r["lever"] + (f" [{r['at_bound']} bound]" if r["at_bound"] else ""),
            format_value(r["base"]), format_value(r["needed"]), ("+" if r["change"] > 0 else "") + format_value(r["change"]),
            f"{r['change_range_units']:+.3f}", _position_text(r, "record"), _position_text(r, "plan"),
        ])
    unchanged = [r["lever"] for r in rows if not r["changed"]]
    if len(table) > 1:
        lines.append(_plain_table(table))
    else:
        lines.append("no lever changes")
    if unchanged:
        lines.append(f"unchanged: {', '.join(unchanged)}")
    beyond = result.beyond()
    lines.append(f"outside the 2016-2020 record: {', '.join(beyond['record']) or '-'}")
    lines.append(f"beyond what the plan states: {', '.join(beyond['plan']) or '-'}")
    lines.append("")
    chosen = result.chosen.to_dict("records")
    ct = [["target", "base", "then", "threshold", "verdict", "best alone"]]
    for r in chosen:
        ct.append([r["id"], format_number(r["base_value"], r["kind"]), format_number(r["value"], r["kind"]),
                   f"{r['comparison']} {format_number(r['threshold'], r['kind'])}", "MET" if r["met"] else "MISSED",
                   format_number(r["best_alone_value"], r["kind"]) if r["best_alone_value"] is not None else "-"])
    lines.append(_plain_table(ct))
    comp = result.comparison()
    met = [r["id"] for r in comp.to_dict("records") if r["met"] is True and not r["searched"]]
    missed = [r["id"] for r in comp.to_dict("records") if r["met"] is False and not r["searched"]]
    lines += ["", f"other targets then met: {' '.join(met) or '-'}", f"other targets then missed: {' '.join(missed) or '-'}",
              "", format_verdicts(result.verdicts)]
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _plain_table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def default_out(target_ids: Sequence[str]) -> Path:
    """``results/reach/<targets joined by '_'>``."""
    return Path("results") / "reach" / "_".join(str(t) for t in target_ids)


def write_reach(result: ReachResult, out: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write ``reach.json``, ``reach.csv`` (one row per searched lever), ``targets.csv`` and
    ``timeseries.csv`` (the found point), ``comparison.csv`` (every target at base and found point)
    and ``manifest.json`` into ``out`` (atomically, :func:`sim.engine.results.write_run`)."""
    import sys

    manifest = build_manifest(list(command) if command is not None else sys.argv, result.search.model.path,
                              result.scenario.resolved_dict(), seed=result.seed,
                              extra={"base_scenario": str(result.base), "targets": result.targets,
                                     "levers": result.search.names, "status": result.status,
                                     "seconds": result.seconds, "runs": result.members})
    finish_manifest(manifest, "complete")
    files = {
        "reach.json": to_json(result.to_dict()) + "\n",
        "reach.csv": result.levers,
        "targets.csv": result.verdicts,
        "comparison.csv": result.comparison(),
        "timeseries.csv": result.timeseries,
    }
    return write_run(out, files, manifest)


def write_reach_scenario(result: ReachResult, path: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write the found lever values as a runnable scenario file (base = the base scenario) and check it.

    The file names its base by a path relative to itself, sets only the
    searched levers that differ from the base, and states in its description
    and comments that it was generated, with the command line. It is loaded
    back and checked against the model (:func:`sim.specs.scenario_writer.write_scenario`).
    """
    import shlex
    import sys

    path = check_scenario_path(path, result.base)
    command = list(command) if command is not None else sys.argv
    line = shlex.join(str(c) for c in command)
    what = " ".join(result.targets)
    if result.status == "unreachable":
        summary = (f"{what} cannot be met inside the lever ranges: these are the smallest lever changes that reach the best "
                   f"reachable values (worst normalised gap {result.worst_gap:+.4f})")
    elif result.status == "met at base":
        summary = f"{what} {'is' if len(result.targets) == 1 else 'are'} already met by the base scenario; no lever changes"
    else:
        summary = f"the smallest change to the searched levers that meets {what} in the target year (distance {result.distance:.4f} in range units)"
    path_text = LEVER_PATH[0].upper() + LEVER_PATH[1:] + "."
    comments = [
        "Generated by `shuangta reach`; do not edit by hand, run the command again.",
        f"Command: {line}",
        f"Base: {result.base} ({result.base_name}); seed {result.seed}; status: {result.status}.",
        path_text,
    ]
    rows = {r["lever"]: r for r in result.levers.to_dict("records")}
    levers = [(name, value.value, f"base {format_value(rows[name]['base'])}; 2016-2020 record: "
               f"{_position_text(rows[name], 'record')}; plan: {_position_text(rows[name], 'plan')}")
              for name, value in result.scenario_levers().items()]
    return write_scenario(path, result.search.model, comments=comments, fallback_name="reach",
                          description=f"Generated by shuangta reach from {result.base_name}: {summary}. {path_text}",
                          base=Path(result.base), levers=levers)
