"""Stock-and-flow diagrams drawn from the model: sectors (Vensim groups) and single loops.

The structure comes from the causal graph of :mod:`sim.analysis.ltm` (the compiler's
parse of the ``.mdl``): stocks are boxes, flows rounded boxes on a thick pipe
into or out of their stock, auxiliaries plain labels; every causal link is an
arrow marked with its polarity, the sign its link score has at most steps of a
run (:func:`sim.analysis.loops.polarity`). Constants are left out: they carry no
feedback. Sectors are the groups of the ``.mdl`` (``.Capital``, ``.Fiscal``, ...);
links to variables of other sectors end at grey labels of those variables.

Labels give the Vensim name and, below it, the plan's Chinese term from the
variable's comment (the first bracketed Chinese phrase) when a CJK font is
found (:func:`label_font`); without one the labels stay English and
:attr:`Diagram.note` says so. The layout is networkx's Kamada-Kawai layout
(deterministic, pure Python), or a circle in causal order for a single loop;
drawing is matplotlib's, as SVG and PNG.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import InputError

_GROUP = re.compile(r"\*{5,}\s*\n\s*\.([^\n]+?)\s*\n")
_CHINESE = re.compile(r"[(（]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]")
COLOURS = {"stock": "#d6e6f5", "flow": "#fde3c8", "smooth": "#e8e0f3", "delay": "#e8e0f3", "trend": "#e8e0f3",
           "aux": "#ffffff", "other": "#f0f0f0"}
HIGHLIGHT = "#c0392b"
SIGN_TEXT = {"+": "+", "-": "\u2212", "0": "0"}


def read_sectors(mdl_path: str | Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The ``.mdl``'s groups ``{sector: [variable, ...]}`` and each variable's Chinese term."""
    text = Path(mdl_path).read_text(encoding="utf-8")
    text = text.split("\\\\\\---///")[0]  # the sketch section is not equations
    sectors: dict[str, list[str]] = {}
    chinese: dict[str, str] = {}
    current = None
    for chunk in text.split("|"):
        group = _GROUP.search(chunk)
        if group:  # a group's header and description form one chunk of their own
            current = group.group(1).strip()
            sectors.setdefault(current, [])
            continue
        head = chunk.replace("{UTF-8}", "").strip()
        m = re.match(r"([^=(~:\n]+?)\s*(=|\(|:)", head)
        if not m or current is None:
            continue
        name = " ".join(m.group(1).split())
        sectors[current].append(name)
        parts = head.split("~")
        if len(parts) >= 3:
            term = _CHINESE.search(parts[2])
            if term:
                chinese[name] = re.split(r"[,，;；]", term.group(1))[0].strip()
    return sectors, chinese


def label_font():
    """``(matplotlib font family or None, note)``: the font for Chinese labels.

    The one place that chooses the font: the Simplified Chinese face the report's
    charts use (:mod:`sim.present.fonts`, shipped by a package dependency); None, with a
    note, when there is none.
    """
    from sim.present.fonts import chart_family, find_cjk_font

    path = find_cjk_font()
    if path is None:
        return None, "No CJK font was found: labels are in English only."
    return chart_family(path), ""


@dataclass
class Diagram:
    """One drawn diagram: its title, the variables drawn, SVG and PNG bytes, and a note (font)."""

    title: str
    variables: list[str]
    svg: bytes
    png: bytes
    note: str = ""
    highlighted: list[tuple[str, str]] = field(default_factory=list)


def _label(name: str, chinese: dict[str, str], font) -> str:
    text = "\n".join(textwrap.wrap(name, 16))
    if font and name in chinese:
        text += "\n" + chinese[name]
    return text


def draw(graph, polarities: dict[tuple[str, str], str], variables: list[str], title: str,
         chinese: dict[str, str] | None = None, highlight: list[tuple[str, str]] | None = None,
         neighbours: bool = True) -> Diagram:
    """Draw ``variables`` of ``graph`` with their links; with ``neighbours``, links to other variables end at grey labels.

    ``polarities`` maps each edge to ``"+"``, ``"-"`` or ``"0"``; ``highlight``
    lists edges drawn in red (a loop).
    """
    import networkx as nx
    import numpy as np
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chinese = chinese or {}
    highlight = list(highlight or [])
    inside = [v for v in variables if v in graph.nodes]
    if not inside:
        raise InputError(f"{title}: none of its variables is on a causal link of the model")
    shown = set(inside)
    edges = [e for e in graph.edges if e[0] in shown and e[1] in shown]
    if neighbours:
        edges += [e for e in graph.edges if (e[0] in shown) != (e[1] in shown)]
    nodes = sorted({v for e in edges for v in e} | shown)
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    if not neighbours and highlight and len(nodes) > 1:  # one loop: its variables round a circle, in order
        ring = [u for u, _ in highlight]
        angles = np.pi / 2 - 2 * np.pi * np.arange(len(ring)) / len(ring)
        pos = {v: (float(np.cos(a)), float(np.sin(a))) for v, a in zip(ring, angles)}
    elif len(nodes) > 1:
        pos = nx.kamada_kawai_layout(g.to_undirected())
    else:
        pos = {nodes[0]: (0.0, 0.0)}
    font, note = label_font()
    size = max(6.0, min(20.0, 2.4 * len(nodes) ** 0.5))  # inches: labels stay readable when the page scales it
    fig = Figure(figsize=(size * 1.3, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    on_loop = {v for e in highlight for v in e}
    for u, w in edges:
        hot = (u, w) in highlight
        pipe = graph.nodes.get(w) in ("stock",) and graph.nodes.get(u) == "flow"
        colour = HIGHLIGHT if hot else ("#7f8c8d" if (u in shown and w in shown) else "#c8c8c8")
        style = "-|>" if not pipe else "simple,head_width=0.8,head_length=0.8,tail_width=0.3"
        ax.annotate("", xy=pos[w], xytext=pos[u], zorder=1,
                    arrowprops=dict(arrowstyle=style, color=colour, lw=2.4 if hot else (1.0 if not pipe else 0.6),
                                    shrinkA=22, shrinkB=22, connectionstyle="arc3,rad=0.12"))
        if u == w:
            continue
        mx, my = (pos[u][0] * 0.45 + pos[w][0] * 0.55), (pos[u][1] * 0.45 + pos[w][1] * 0.55)
        ax.text(mx, my, SIGN_TEXT.get(polarities.get((u, w), "0"), "?"), fontsize=9, fontweight="bold",
                color=HIGHLIGHT if hot else "#333", ha="center", va="center", zorder=3)
    for v in nodes:
        kind = graph.nodes.get(v, "aux") if v in shown else "other"
        box = {"stock": "square,pad=0.5", "flow": "round,pad=0.4"}.get(kind, "round,pad=0.3")
        edge = HIGHLIGHT if v in on_loop else ("#34495e" if kind == "stock" else "#999")
        lw = 2.2 if (kind == "stock" or v in on_loop) else 0.8
        props = dict(fontsize=8 if v in shown else 7, ha="center", va="center", zorder=4,
                     color="#222" if v in shown else "#888",
                     bbox=dict(boxstyle=box, facecolor=COLOURS[kind], edgecolor=edge, lw=lw))
        if font:
            props["fontfamily"] = [font, "DejaVu Sans"]
        ax.text(pos[v][0], pos[v][1], _label(v, chinese, font), **props)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    pad_x, pad_y = 0.12 * (max(xs) - min(xs)) + 0.2, 0.08 * (max(ys) - min(ys)) + 0.2
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    ax.set_title(title, fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95)
    out = {}
    for fmt in ("svg", "png"):
        buffer = io.BytesIO()
        with rc_context({"svg.fonttype": "none"}):  # SVG labels stay text: searchable, any CJK font renders them
            fig.savefig(buffer, format=fmt, dpi=110)
        out[fmt] = buffer.getvalue()
    return Diagram(title, inside, out["svg"], out["png"], note, highlight)


def link_polarities(analysis) -> dict[tuple[str, str], str]:
    """Each link's polarity along the analysed run: the sign of its score at most steps, or, for
    a link the run never moves, the sign of its response to a small rise of its source."""
    import pandas as pd

    from sim.analysis.loops import polarity

    out = {}
    for edge, scores in analysis.links.items():
        sign = polarity(pd.Series(scores))
        out[edge] = sign if sign != "0" else polarity(pd.Series(analysis.signs[edge]))
    return out


def loop_diagram(analysis, loop_id: str, chinese: dict[str, str] | None = None) -> Diagram:
    """The diagram of one loop: its variables and links, the loop in red."""
    if loop_id not in analysis.loops:
        raise InputError(f"loop {loop_id!r} was not found in this run (see `shuangta loops --list`)")
    lp = analysis.loops[loop_id]
    word = {"+": "reinforcing", "-": "balancing", "0": "inactive"}[analysis.polarity[loop_id]]
    return draw(analysis.graph, link_polarities(analysis), list(lp.variables), f"{loop_id} ({word})",
                chinese, lp.edges, neighbours=False)


def draw_diagrams(out: str | Path, sectors: list[str] | None = None, highlight: str | None = None,
                  scenario: str | Path | None = None, model_path: str | Path | None = None) -> list[Path]:
    """Write ``diagram_<sector>.svg/.png`` per sector (all without ``sectors``), or ``loop_<id>.*``
    for ``highlight`` alone; returns the files written."""
    from sim.analysis.loops import scenario_analysis
    from sim.present.plots import slug
    from sim.engine.results import atomic_write_bytes

    model, _, analysis = scenario_analysis(scenario, model_path)
    groups, chinese = read_sectors(model.path)
    if sectors:
        unknown = [s for s in sectors if s not in groups]
        if unknown:
            raise InputError(f"no sector {', '.join(map(repr, unknown))}; the model's sectors: {', '.join(groups)}")
    if highlight and highlight not in analysis.loops:
        raise InputError(f"loop {highlight!r} was not found in this run (see `shuangta loops --list`)")
    polarities = link_polarities(analysis)
    edges = analysis.loops[highlight].edges if highlight else []
    diagrams = []
    if highlight and not sectors:
        diagrams.append((f"loop_{highlight}", loop_diagram(analysis, highlight, chinese)))
    else:
        for sector in sectors or list(groups):
            members = groups[sector] + [n for n in analysis.graph.nodes
                                        if n.endswith("]") and n.rsplit(" [", 1)[0] in groups[sector]]
            if not any(v in analysis.graph.nodes for v in members):
                continue
            diagrams.append((f"diagram_{slug(sector)}", draw(analysis.graph, polarities, members, sector, chinese,
                                                             edges)))
    written = []
    for stem, d in diagrams:
        written.append(atomic_write_bytes(Path(out) / f"{stem}.svg", d.svg))
        written.append(atomic_write_bytes(Path(out) / f"{stem}.png", d.png))
    return written
