"""Discovery folders: writing, reading back and the text table of a discovery result; the box as a runnable scenario.

This module never prints and never exits.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from sim.errors import InputError
from sim.engine.results import build_manifest, finish_manifest, to_json, write_run
from sim.plan.targets import format_number
from sim.analysis.discovery import (BOX, BOX_PNG, BOXES, DISCOVERY, TRADEOFF, TRAJECTORY, DiscoveryResult,
                                    base_scenario, box_figure, png_bytes, quasi_p_text, tradeoff_figure)
from sim.analysis.prim import MASS_MIN, PASTE_ALPHA, PEEL_ALPHA, ema_version


def default_out(result_or_name, targets: Sequence[str] | None = None) -> Path:
    """``results/discovery/<sweep name>_<targets joined by _>``."""
    if isinstance(result_or_name, DiscoveryResult):
        name, targets = result_or_name.sweep_name, result_or_name.target_ids
    else:
        name = str(result_or_name)
    return Path("results") / "discovery" / "_".join([name, *[str(t) for t in targets or ()]])


def write_discovery(result: DiscoveryResult, out: str | Path, command: Sequence[str] | None = None) -> Path:
    """Write ``trajectory.csv``, ``boxes.csv`` (every box, long), ``box.csv`` (the chosen box),
    ``tradeoff.png``, ``box.png``, ``discovery.json`` and ``manifest.json`` into ``out`` (atomically)."""
    model_path = result.model_path or (result.sweep_manifest.get("model") or {}).get("path")
    if model_path is not None and not Path(model_path).is_file():
        model_path = None
    manifest = build_manifest(list(command) if command is not None else sys.argv, model_path, None,
                              extra={"kind": "discovery", "sweep": str(result.sweep_path),
                                     "targets": result.target_ids, "threshold": result.threshold,
                                     "chosen_box": result.chosen, "cases": result.cases["rule"],
                                     "ema_workbench": ema_version()})
    finish_manifest(manifest, "complete")
    files = {
        TRAJECTORY: result.trajectory,
        BOXES: result.boxes(),
        BOX: result.box(),
        TRADEOFF: png_bytes(tradeoff_figure(result.trajectory, result.chosen, result.threshold)),
        BOX_PNG: png_bytes(box_figure(result.box(), result.stats())),
        DISCOVERY: to_json(result.to_dict()) + "\n",
    }
    return write_run(out, files, manifest)


def read_discovery(folder: str | Path) -> dict:
    """A discovery folder read back: ``json`` (discovery.json), ``trajectory``, ``box`` frames, ``manifest``."""
    folder = Path(folder)
    missing = [n for n in (DISCOVERY, TRAJECTORY, BOX, "manifest.json") if not (folder / n).is_file()]
    if missing:
        raise InputError(f"{folder}: not a discovery folder (missing {', '.join(missing)})")
    try:
        data = json.loads((folder / DISCOVERY).read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        trajectory = pd.read_csv(folder / TRAJECTORY)
        box = pd.read_csv(folder / BOX)
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: unreadable discovery files: {exc}") from None
    return {"json": data, "trajectory": trajectory, "box": box, "manifest": manifest, "path": folder}


def percent_text(x: float) -> str:
    return f"{x * 100:.1f} %"


def format_discovery(result: DiscoveryResult) -> str:
    """Plain-text report of a :class:`DiscoveryResult` for the command line."""
    c = result.cases
    ids = " and ".join(result.target_ids)
    lines = [f"discover {' '.join(result.target_ids)} on {result.sweep_path} ({c['runs']:,} runs without error, "
             f"{len(result.factors)} factors)"]
    if c["rule"] == "met":
        lines.append(f"cases: the {c['count']:,} runs ({percent_text(c['share'])}) that meet {ids}")
    else:
        lines.append(f"cases: {c['met']:,} runs meet {ids}; the cases are the {c['count']:,} runs "
                     f"({percent_text(c['share'])}) in the top {c['top'] * 100:g} % by worst normalised gap "
                     f"(>= {c['cut']:+.4f}; the best run reaches {c['best_worst_gap']:+.4f}).")
        if c["met"] == 0:
            lines.append(f"NOTE: NO RUN MEETS {ids.upper()}: the boxes below explain the runs that come closest, "
                         "not runs that succeed.")
    lines.append(f"PRIM (EMA Workbench {ema_version()}): {len(result.trajectory)} boxes on the peeling trajectory "
                 f"(peel alpha {PEEL_ALPHA:g}, paste alpha {PASTE_ALPHA:g}, minimum mass {MASS_MIN:g})")
    s = result.stats()
    lines.append(f"chosen: box {s['box']}, {result.reason}")
    if result.first_reaching is not None and result.first_reaching != result.chosen:
        f = result.stats(result.first_reaching)
        lines.append(f"  (the first box reaching density {result.threshold:g} is box {f['box']}: coverage "
                     f"{percent_text(f['coverage'])}, density {percent_text(f['density'])}, {f['res_dim']} factors; --box {f['box']})")
    lines.append(f"box {s['box']}: coverage {percent_text(s['coverage'])}, density {percent_text(s['density'])}, mass {percent_text(s['mass'])} "
                 f"({s['n']:,} runs, {s['k']:,} cases), {s['res_dim']} factors restricted")
    lines.append("")
    table = [["factor", "kind", "box", "sweep range", "quasi-p (lower / upper)", "in the base scenario"]]
    for r in result.box().to_dict("records"):
        qp = " / ".join(quasi_p_text(q) or "-" for q in (r["qp_lower"], r["qp_upper"]))
        if not r["significant"]:
            qp += "  (not significant)"
        default = "-" if r["base"] is None else (format_number(r["base"]) +
                                                 (" inside" if r["base_inside"] else " outside"))
        table.append([r["factor"], r["kind"], f"[{format_number(r['lower'])}, {format_number(r['upper'])}]",
                      f"[{format_number(r['sweep_lower'])}, {format_number(r['sweep_upper'])}]", qp, default])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for n, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if result.check:
        lines.append("")
        for label, run in result.check["runs"].items():
            what = result.check["text"][label]
            if "error" in run:
                lines.append(f"midpoint run ({what}): failed: {run['error']}")
                continue
            vals = ", ".join(f"{t.id} {format_number(run['values'][t.id], t.kind)}" for t in result.targets)
            lines.append(f"midpoint run ({what}): {vals}; worst normalised gap {run['worst_normalised_gap']:+.4f} "
                         f"-> {'a case' if run['is_case'] else 'not a case'}")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def write_discovery_scenario(result: DiscoveryResult, path: str | Path, model, command: Sequence[str] | None = None) -> Path:
    """Write the chosen box as a runnable scenario file and check it against ``model``.

    Base: the sweep's base scenario (by name when it lives in ``scenarios/``).
    Levers the box restricts are set to the box's midpoint, constant over the
    run as the sweep set its factors. Uncertain parameters the box restricts
    are listed in comments (a scenario cannot set them), with whether the
    model's default lies inside the box; so are the levers the sweep varied
    that the box leaves free. The file is loaded back with
    :func:`sim.specs.scenario.load_scenario` (what ``shuangta validate`` does); if it
    does not load, it is removed and the error raised.
    """
    from sim.analysis.reach import check_scenario_path
    from sim.specs.scenario_writer import write_scenario

    base = base_scenario(result, model)
    path = check_scenario_path(path, base.path)
    command = list(command) if command is not None else sys.argv
    line = shlex.join(str(c) for c in command)
    box = result.box()
    rows = box.to_dict("records")
    s = result.stats()
    c = result.cases
    ids = " ".join(result.target_ids)
    what = (f"runs meeting {ids}" if c["rule"] == "met" else
            f"the top {c['top'] * 100:g} % of runs by worst normalised gap of {ids} (>= {c['cut']:+.4f}"
            + ("; no run meets them all)" if c["met"] == 0 else ")"))
    levers = [r for r in rows if r["kind"] == "lever"]
    conditions = [r for r in rows if r["kind"] != "lever"]
    box_names = {r["factor"] for r in rows}
    free_levers = [f for f in result.factors if f["kind"] == "lever" and f["name"] not in box_names]
    description = (f"Generated by shuangta discover from sweep {result.sweep_name}: box {s['box']} of the PRIM "
                   f"trajectory for {what}, coverage {percent_text(s['coverage'])}, density {percent_text(s['density'])}. Levers the "
                   f"box restricts are set to its midpoint; it also needs conditions the levers cannot set "
                   f"({', '.join(r['factor'] for r in conditions) or 'none'}), listed in the file's comments.")
    comments = [
        "Generated by `shuangta discover`; do not edit by hand, run the command again.",
        f"Command: {line}",
        f"Sweep: {result.sweep_path} ({result.sweep_name}); cases: {what}.",
        f"Box {s['box']} ({result.reason}): coverage {percent_text(s['coverage'])}, density {percent_text(s['density'])}, "
        f"{s['n']:,} runs ({percent_text(s['mass'])} of the sweep), {s['res_dim']} factors restricted.",
        "Levers below are constant over the run, as the sweep set its factors.",
        "",
        "Conditions of the world the box needs (uncertain parameters: not levers, so this scenario",
        "cannot set them; when it runs they take the model's defaults):",
    ]
    if conditions:
        for r in conditions:
            inside = "" if r["default"] is None else (
                f"; model default {format_number(r['default'])} is {'inside' if r['default_inside'] else 'OUTSIDE'} the box")
            comments.append(f"  {r['factor']} in [{format_number(r['lower'])}, {format_number(r['upper'])}] "
                            f"(swept over [{format_number(r['sweep_lower'])}, {format_number(r['sweep_upper'])}]; "
                            f"quasi-p {quasi_p_pair(r)}{inside})")
    else:
        comments.append("  none: the box restricts levers only")
    if free_levers:
        comments.append("Levers the sweep varied that the box leaves free (the base scenario's values are kept):")
        for f in free_levers:
            comments.append(f"  {f['name']}: swept over [{format_number(f['lower'])}, {format_number(f['upper'])}]")
    if result.check and "scenario" in result.check["runs"] and "values" in result.check["runs"]["scenario"]:
        for label in ("scenario", "box_world"):
            run = result.check["runs"].get(label, {})
            if "values" not in run:
                continue
            vals = ", ".join(f"{t.id} {format_number(run['values'][t.id], t.kind)}" for t in result.targets)
            comments.append(f"Run once, {result.check['text'][label]}: {vals} "
                            f"({'a case' if run['is_case'] else 'not a case'}).")
    lever_lines = []
    for r in levers:
        current = base.levers.get(r["factor"])
        base_text = ("a time series" if current is not None and current.is_series else
                     format_number(current.value) if current is not None else
                     f"model default {format_number(r['default'])}" if r["default"] is not None else "-")
        lever_lines.append((r["factor"], r["midpoint"], f"box [{format_number(r['lower'])}, "
                            f"{format_number(r['upper'])}], quasi-p {quasi_p_pair(r)}; base {base_text}"))
    return write_scenario(path, model, comments=comments, fallback_name="discovery", description=description,
                          base=Path(base.path), levers=lever_lines,
                          no_levers="the box restricts no lever: the base scenario's levers are kept")


def quasi_p_pair(r: dict) -> str:
    return " / ".join(quasi_p_text(q) or "-" for q in (r["qp_lower"], r["qp_upper"]))
