"""The report's "why" section: the feedback loops behind the headline targets, from loops folders.

Reads folders written by ``shuangta loops`` (:mod:`sim.analysis.loop_results`), never
re-simulates. Per folder (one scenario): for each explained variable, the
phases of loop dominance, the dominance plot, and the diagram of the loop that
drives the variable most over the run.
"""

from __future__ import annotations

from html import escape as _h

from sim.analysis.loop_results import read_loops

TEXT = {
    "en": {
        "intro": "Which feedback loops drive each headline variable, and when (Loops That Matter: the share of "
                 "each loop in the total absolute loop score at each time step; positive shares are reinforcing "
                 "loops, negative ones balancing).",
        "phases": "Phases and the loops that dominate them",
        "plot": "Relative loop scores of the strongest loops driving {variable} ({scenario})",
        "diagram": "The loop that drives {variable} most over the run ({scenario}): {loop}",
        "none": "No loop drives this variable in this run.",
    },
    "zh": {
        "intro": "各核心指标由哪些反馈回路驱动、在何时起主导作用（“起作用的回路”方法：每个时间步各回路在全部回路得分绝对值"
                 "之和中所占份额；正值为增强回路，负值为调节回路）。",
        "phases": "各阶段及其主导回路",
        "plot": "驱动 {variable} 的主要回路的相对得分（{scenario}）",
        "diagram": "整个模拟期内对 {variable} 作用最大的回路（{scenario}）：{loop}",
        "none": "本次模拟中没有回路驱动该变量。",
    },
}


def _phases(text: str, variable: str) -> list[str]:
    """The phases under ``## variable`` of a dominance.md, each with its loops on the same line."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip() == variable
        elif inside and line.startswith("- "):
            lines.append(line[2:])
        elif inside and line.startswith("  - ") and lines:
            lines[-1] += (" " if lines[-1].endswith(":") else "; ") + line[4:]
    return lines


def why_section(page) -> str:
    """HTML of the section for the report page ``page`` (a :class:`sim.present.report` page builder)."""
    from sim.present.plots import slug

    words = TEXT["zh" if page.lang == "zh" else "en"]
    out = [page.para(words["intro"])]
    for folder in page.of("loops"):
        data = read_loops(folder.path)
        extra = data["manifest"].get("extra", {})
        scenario = ((data["manifest"].get("scenario") or {}).get("content") or {}).get("name") or folder.name
        anchor = page.anchor(f"why-{folder.name}")
        out.append(f'<h3 id="{_h(anchor)}">{_h(scenario)}</h3>')
        for variable in extra.get("variables", []):
            out.append(f"<h4>{_h(page.variable(variable))}</h4>")
            phases = _phases(data["text"], variable)
            out.append(f"<p>{_h(words['phases'])}:</p>" + page.bullets(phases) if phases else page.para(words["none"]))
            plot = folder.path / f"dominance_{slug(variable)}.png"
            if plot.is_file():
                out.append(page.image(None, variable, words["plot"].format(variable=variable, scenario=scenario),
                                      png=plot.read_bytes()))
            loop_id = extra.get("dominant", {}).get(variable)
            diagram = folder.path / f"loop_{loop_id}.png"
            if loop_id and diagram.is_file():
                row = data["loops"][data["loops"]["loop"] == loop_id]
                path = row["path"].iloc[0] if len(row) else loop_id
                out.append(page.image(None, loop_id, words["diagram"].format(
                    variable=variable, scenario=scenario, loop=f"{loop_id} ({path})"), png=diagram.read_bytes()))
    return "".join(out)
