"""``shuangta loops``: loop dominance along one scenario run, written to a result folder.

A loops folder holds (besides ``manifest.json``):

* ``loops.csv``: one row per loop found: id, polarity, length, strength (largest
  share of the total absolute loop score it holds at any time) and the path;
* ``loop_scores.csv``: the score of every loop at every time step (column per id);
* ``relative_scores.csv``: for each explained variable, the relative score of
  each loop that drives it, by time (long format: time, variable, loop, relative_score);
* ``dominance.md``: which loop dominates each variable in each phase;
* ``dominance_<variable>.png``: relative scores over time of the strongest loops;
* ``loop_<id>.svg`` and ``.png``: the diagram of the loop that drives each variable most
  over the run (the manifest's ``extra.dominant`` maps each variable to its id);
* ``documented_loops.csv``: the check of the model README's loop table, when it has one.
"""

from __future__ import annotations

import io
import sys
import time as _time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.analysis.loops import MAX_LOOPS, MIN_PHASE, LoopAnalysis, leading, phases, scenario_analysis
from sim.engine.results import MANIFEST, build_manifest, finish_manifest, write_run

#: Loops named per phase in the dominance text.
TEXT_LOOPS = 3
#: Loops drawn in a dominance plot (the strongest for that variable; the rest are in the CSV).
PLOT_LOOPS = 6
#: Loops that never hold this share of the absolute loop score (of all loops, or of those
#: driving a variable) are listed in loops.csv but left out of the score CSVs.
MIN_SHARE = 0.01
#: Significant digits of the scores in the CSVs.
CSV_FORMAT = "%.6g"
WORDS = {"+": "reinforcing", "-": "balancing", "0": "inactive"}


def default_variables() -> list[str]:
    """The variables explained when none is named: those of the headline targets (``headline = true``)."""
    from sim.plan.targets import load_targets

    return [t.variable for t in load_targets() if t.headline]


def short_path(analysis: LoopAnalysis, loop_id: str, width: int = 5) -> str:
    """A loop's path, cut after ``width`` variables for text."""
    vs = analysis.loops[loop_id].variables
    if len(vs) <= width:
        return analysis.loops[loop_id].path
    return " → ".join(vs[:width]) + f" → … ({len(vs)} variables)"


def loops_table(analysis: LoopAnalysis) -> pd.DataFrame:
    """One row per loop, strongest first."""
    strength = analysis.strength()
    rows = [{"loop": i, "polarity": analysis.polarity[i], "length": len(analysis.loops[i].variables),
             "strength": float(strength[i]), "path": analysis.loops[i].path} for i in strength.index]
    return pd.DataFrame(rows, columns=["loop", "polarity", "length", "strength", "path"])


def relative_long(analysis: LoopAnalysis, variables: list[str]) -> pd.DataFrame:
    """Relative scores of the loops driving each variable, in long format (loops under :data:`MIN_SHARE` left out)."""
    frames = []
    for v in variables:
        rel = analysis.relative(v)
        rel = rel.loc[:, rel.abs().max() >= MIN_SHARE]
        long = rel.reset_index().melt(id_vars="time", var_name="loop", value_name="relative_score")
        long.insert(1, "variable", v)
        frames.append(long)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["time", "variable", "loop", "relative_score"])


def strongest_driver(analysis: LoopAnalysis, variable: str) -> str:
    """The loop with the largest mean |relative score| for ``variable`` over the run ('' if none acts)."""
    strength = analysis.relative(variable).abs().mean()
    return str(strength.idxmax()) if len(strength) and strength.max() > 0 else ""


def dominance_text(analysis: LoopAnalysis, variables: list[str], min_phase: float = MIN_PHASE) -> str:
    """Markdown: for each variable, its phases (:func:`sim.analysis.loops.phases`) with the strongest loop of each."""
    lines = [f"# Loop dominance ({analysis.method}, {len(analysis.loops)} loops)", ""]
    for v in variables:
        rel = analysis.relative(v)
        lines += [f"## {v}", ""]
        spells = [s for s in phases(rel, min_phase) if s[3]]
        if not spells:
            lines += ["No loop drives this variable in this run.", ""]
            continue
        positive = rel.clip(lower=0).sum(axis=1)
        for start, end, sign, _ in spells:
            window = rel.loc[start:end]
            lines.append(f"- {start:g}–{end:g}: {WORDS[sign]} loops dominate (reinforcing loops hold "
                         f"{positive.loc[start:end].mean():.0%} of the score); the strongest of them:")
            lines += [f"  - {i} (mean relative score {window[i].mean():+.2f}): {short_path(analysis, i)}"
                      for i in leading(window, sign, TEXT_LOOPS)]
        lines.append("")
    return "\n".join(lines)


def plot_dominance(analysis: LoopAnalysis, variable: str, title: str = "") -> bytes:
    """PNG of the relative scores over time of the strongest loops driving ``variable``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rel = analysis.relative(variable)
    top = rel.abs().max().sort_values(ascending=False).index[:PLOT_LOOPS]
    fig = Figure(figsize=(9, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for loop_id in top:
        pol = analysis.polarity[loop_id]
        ax.plot(rel.index, rel[loop_id], lw=1.6, ls="-" if pol == "+" else "--",
                label=f"{loop_id} ({pol}) {short_path(analysis, loop_id, 3)}")
    ax.plot(rel.index, rel.clip(lower=0).sum(axis=1), color="#2e8b57", lw=2.6, alpha=0.5,
            label="all reinforcing loops")
    ax.plot(rel.index, rel.clip(upper=0).sum(axis=1), color="#c0392b", lw=2.6, alpha=0.5,
            label="all balancing loops")
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("year")
    ax.set_ylabel("relative loop score")
    ax.set_title(title or f"Loops driving {variable}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=1, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def documented_check(analysis: LoopAnalysis, model_path: Path) -> pd.DataFrame | None:
    """The README loop table checked on this run, or None when the model has no such table."""
    from sim.analysis.loop_table import check_table, read_table

    readme = Path(model_path).parent / "README.md"
    if not readme.is_file():
        return None
    try:
        rows = read_table(readme)
    except InputError:
        return None
    return pd.DataFrame([{"row": c.row.id, "name": c.row.name, "documented": c.row.polarity,
                          "passed": c.passed, "loop": c.loop_id, "found": c.found_polarity, "reason": c.reason}
                         for c in check_table(rows, analysis)])


def format_loops(analysis: LoopAnalysis, limit: int | None = None) -> str:
    """Text table of the loops, strongest first: id, polarity, strength, path."""
    table = loops_table(analysis)
    head = f"{len(table)} loops ({analysis.method})"
    rows = table if limit is None else table.head(limit)
    lines = [head] + [f"{r.loop}  {r.polarity}  {r.strength:6.3f}  {r.path}" for r in rows.itertuples()]
    if limit is not None and len(table) > limit:
        lines.append(f"... {len(table) - limit} more (loops.csv of `shuangta loops SCENARIO` lists all)")
    return "\n".join(lines)


@dataclass
class LoopsRun:
    """What :func:`run_loops` did: the loops folder, the analysis, the time taken."""

    folder: Path
    analysis: LoopAnalysis
    seconds: float


def run_loops(scenario: str | Path | None, out: str | Path | None = None, variables: list[str] | None = None,
              model_path: str | Path | None = None, max_loops: int = MAX_LOOPS,
              command: list[str] | None = None) -> LoopsRun:
    """Analyse the loops of one scenario run and write the loops folder ``out`` (default ``results/loops/<name>``)."""
    from sim.present.plots import slug

    variables = list(variables) if variables else default_variables()
    started = _time.perf_counter()
    model, sc, analysis = scenario_analysis(scenario, model_path, max_loops)
    seconds = _time.perf_counter() - started
    for v in variables:
        analysis.drivers(v)  # unknown names raise before anything is written
    name = sc.name if sc else "defaults"
    manifest = build_manifest(command or sys.argv, model.path, sc.resolved_dict() if sc else None,
                              extra={"kind": "loops", "method": analysis.method, "loops": len(analysis.loops),
                                     "variables": variables, "analysis_seconds": seconds})
    strong = [i for i, x in analysis.strength().items() if x >= MIN_SHARE]
    files = {"loops.csv": loops_table(analysis),
             "loop_scores.csv": analysis.scores[strong].to_csv(float_format=CSV_FORMAT),
             "relative_scores.csv": relative_long(analysis, variables).to_csv(index=False, float_format=CSV_FORMAT),
             "dominance.md": dominance_text(analysis, variables)}
    from sim.present.diagram import loop_diagram, read_sectors

    chinese = read_sectors(model.path)[1]
    dominant_loops = {}
    for v in variables:
        files[f"dominance_{slug(v)}.png"] = plot_dominance(analysis, v, f"Loops driving {v} ({name})")
        loop_id = strongest_driver(analysis, v)
        if loop_id:
            dominant_loops[v] = loop_id
            d = loop_diagram(analysis, loop_id, chinese)
            files[f"loop_{loop_id}.svg"], files[f"loop_{loop_id}.png"] = d.svg, d.png
    manifest["extra"]["dominant"] = dominant_loops
    check = documented_check(analysis, model.path)
    if check is not None:
        files["documented_loops.csv"] = check
    finish_manifest(manifest, "complete")
    folder = write_run(Path(out) if out else Path("results") / "loops" / name, files, manifest)
    return LoopsRun(folder, analysis, seconds)


def is_loops_folder(folder: str | Path) -> bool:
    """Whether ``folder`` was written by :func:`run_loops`."""
    return (Path(folder) / MANIFEST).is_file() and (Path(folder) / "loops.csv").is_file()


def read_loops(folder: str | Path) -> dict:
    """A loops folder read back: ``loops`` and ``relative`` frames, ``text``, ``manifest``, ``plots``."""
    import json

    folder = Path(folder)
    if not is_loops_folder(folder):
        raise InputError(f"{folder}: not a loops folder (no loops.csv and manifest.json)")
    try:
        return {
            "loops": pd.read_csv(folder / "loops.csv"),
            "relative": pd.read_csv(folder / "relative_scores.csv"),
            "text": (folder / "dominance.md").read_text(encoding="utf-8"),
            "manifest": json.loads((folder / MANIFEST).read_text(encoding="utf-8")),
            "plots": sorted(folder.glob("dominance_*.png")),
            "folder": folder,
        }
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: unreadable loops folder: {exc}") from None
