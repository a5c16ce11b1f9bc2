"""The documented loop table (``model/README.md``, section "Feedback loops") read and checked against the model.

The table has the columns ``loop | path | polarity``:

* *loop*: an id (the first word, e.g. ``R1``) and a name;
* *path*: variables by their Vensim names joined by ``→``; ``↑``/``↓`` after a
  name are allowed and ignored, as are remarks in brackets or after a comma;
  ``A and B`` in one step means either variable; ``;`` starts another piece
  of the same loop (``; and X → Y``), read in order after the first;
* *polarity*: ``+`` or ``−`` (``-``) first; words after it are ignored.

A row **passes** when, of the loops of the model that visit the steps of its
path in order (other variables may lie between them), one of the shortest has
the documented polarity. A path that names every variable of its loop is
therefore matched exactly; one that skips variables is matched to the
tightest loop through those it names.
Candidates are the loops the analysis found and one built through the
documented steps by shortest paths in the causal graph (scored on the same
run): the analysis keeps only the strongest loops of a large model, so the
documented loop may be missing from them while a longer one through the same
steps is there. A found loop wins a tie with a built one.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.specs.validation import did_you_mean

_SIGNS = {"+": "+", "-": "-", "\u2212": "-"}


@dataclass(frozen=True)
class DocumentedLoop:
    """One row of the table: ``steps`` are tuples of alternative variable names, in order."""

    id: str
    name: str
    steps: tuple[tuple[str, ...], ...]
    polarity: str
    text: str


@dataclass(frozen=True)
class RowCheck:
    """The verdict on one documented loop."""

    row: DocumentedLoop
    passed: bool
    loop_id: str
    found_polarity: str
    reason: str


def _step(text: str) -> tuple[str, ...]:
    text = re.sub(r"\([^)]*\)", "", text).split(",")[0]
    text = text.replace("\u2191", "").replace("\u2193", "").strip()
    return tuple(a.strip() for a in re.split(r"\s+and\s+", text) if a.strip())


def parse_path(text: str) -> tuple[tuple[str, ...], ...]:
    """The steps of a path cell, pieces joined in order; a step repeated at a join counts once."""
    steps: list[tuple[str, ...]] = []
    for piece in text.split(";"):
        piece = re.sub(r"^\s*and\s+", "", piece)
        for part in piece.split("\u2192"):
            step = _step(part)
            if step and (not steps or steps[-1] != step):
                steps.append(step)
    if len(steps) > 1 and steps[-1] in steps[:-1]:
        # a closed path names a variable again at its end: the loop starts there
        steps = steps[steps.index(steps[-1]):-1]
    return tuple(steps)


def parse_table(markdown: str, heading: str = "Feedback loops") -> list[DocumentedLoop]:
    """The rows of the first table after the heading ``heading`` in ``markdown``."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("#") and heading in line), None)
    if start is None:
        raise InputError(f"no section {heading!r} in the document")
    rows, in_table = [], False
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if not line.strip().startswith("|"):
            if in_table:
                break
            continue
        in_table = True
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or set(cells[0]) <= set("-: ") or cells[0].lower() == "loop":
            continue
        sign = next((_SIGNS[ch] for ch in cells[2] if ch in _SIGNS), None)
        if sign is None:
            raise InputError(f"loop table row {cells[0]!r}: polarity {cells[2]!r} is neither + nor −")
        loop_id, _, name = cells[0].partition(" ")
        rows.append(DocumentedLoop(loop_id, name.strip(), parse_path(cells[1]), sign, cells[1]))
    if not rows:
        raise InputError(f"section {heading!r} has no loop table")
    return rows


def read_table(path: str | Path) -> list[DocumentedLoop]:
    """:func:`parse_table` of a Markdown file."""
    try:
        return parse_table(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def visits_in_order(cycle: tuple[str, ...], steps: tuple[str, ...]) -> bool:
    """Whether the loop ``cycle`` passes ``steps`` in this order (going round once, from any start)."""
    n = len(cycle)
    for start in (i for i, v in enumerate(cycle) if v == steps[0]):
        k = 1
        for j in range(1, n):
            if k < len(steps) and cycle[(start + j) % n] == steps[k]:
                k += 1
        if k == len(steps):
            return True
    return False


def _build_loop(graph, steps: tuple[str, ...]) -> list[str] | None:
    """A loop through ``steps`` in order, by shortest paths between them that do not cross."""
    import networkx as nx

    g = nx.DiGraph(list(graph.edges))
    used: list[str] = []
    for a, b in zip(steps, steps[1:] + steps[:1]):
        blocked = (set(used) | set(steps)) - {a, b}
        try:
            path = nx.shortest_path(g.subgraph(set(g) - blocked), a, b)
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None
        used += path[:-1]
    return used if len(set(used)) == len(used) else None


def _with_hint(name: str, names) -> str:
    """``name``, with the closest variable names of the model in brackets when there are any."""
    return name + did_you_mean(name, names, n=2, quote=False, brackets=True)


def check_table(rows: list[DocumentedLoop], analysis) -> list[RowCheck]:
    """Check each documented loop against a :class:`sim.analysis.loops.LoopAnalysis` of one run."""
    from sim.analysis.loops import loop_polarity, loop_scores, make_loop

    nodes = {name.lower(): name for name in analysis.graph.nodes}
    out = []
    for row in rows:
        unknown = [a for step in row.steps for a in step if a.lower() not in nodes]
        if unknown:
            out.append(RowCheck(row, False, "", "", "not variables of the model: " + ", ".join(
                _with_hint(a, analysis.graph.nodes) for a in unknown)))
            continue
        choices = [tuple(nodes[a.lower()] for a in combo) for combo in itertools.product(*row.steps)]
        matches = [lp for lp in analysis.loops.values() if any(visits_in_order(lp.variables, c) for c in choices)]
        # The analysis keeps a selection of the loops (the strongest when there are too many to list),
        # so the documented loop itself may be missing while a longer one through the same steps is
        # there: a loop built through the documented steps competes for the shortest.
        known = {lp.id for lp in matches}
        built = [lp for c in choices for lp in [make_loop(v) for v in [_build_loop(analysis.graph, c)] if v]
                 if lp.id not in known and visits_in_order(lp.variables, c)]
        shortest = min((len(lp.variables) for lp in matches + built), default=0)
        index = analysis.scores.index
        found = [(lp.id, analysis.polarity[lp.id]) for lp in matches if len(lp.variables) == shortest]
        how = "found by the analysis"
        if not found:
            found = [(lp.id, loop_polarity(lp, loop_scores([lp], analysis.links, index)[lp.id], analysis.signs))
                     for lp in built if len(lp.variables) == shortest]
            how = "built through the documented steps"
        if not found:
            out.append(RowCheck(row, False, "", "", "no loop of the model passes these variables in this order"))
            continue
        same = [(i, p) for i, p in found if p == row.polarity]
        loop_id, pol = (same or found)[0]
        reason = f"{how}; polarity {pol}" + ("" if same else f", documented {row.polarity}")
        out.append(RowCheck(row, bool(same), loop_id, pol, reason))
    return out
