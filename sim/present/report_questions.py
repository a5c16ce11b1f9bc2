"""The report's sections on reach, consistency and discovery folders, the assumptions and the folders used.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.plan.targets import Target, format_number
from sim.present.unit_names import display_unit


from sim.present.report_page import discovery_labels, escape, is_missing, position_class
from sim.present.report_text import S4_VERDICTS_ZH, STATUS_KEYS


class QuestionSections:
    """The report's sections on reach, consistency and discovery folders, the assumptions and the folders used. (a mixin of the report's page, :class:`sim.present.report_page.PageBase`)."""

    def reach_section(self) -> str:
        from sim.plan.lever_references import load_lever_references

        try:
            refs = load_lever_references()
        except SimError:
            refs = {}
        out = []
        for folder in self.of("reach"):
            d = self.json_file(folder, "reach.json")
            anchor = self.anchor(f"reach-{folder.name}")
            status = self.t(STATUS_KEYS.get(d["status"], d["status"]))
            head = self.t("reach_head", targets=" ".join(d["targets"]), base=d.get("base_name", ""), status=status)
            out.append(f'<h3 id="{escape(anchor)}">{escape(head)}</h3>')
            out.append(self.para(self.t("reach_distance", d=f"{d['distance']:.4f}", g=self.gap(d.get("worst_normalised_gap")))))
            out.append(self.para(d.get("lever_path", ""), "small"))
            levers = d.get("levers", [])
            changed = [r for r in levers if r.get("changed")]
            rows, classes = [], []
            for r in changed:
                bound = ""
                if r.get("at_bound"):
                    bound = f" ({self.t('at_bound', side=self.t('bound_' + r['at_bound']))})"
                rows.append([self.factor(r["lever"]), display_unit(r.get("units"), self.lang), format_number(r["base"]),
                             format_number(r["needed"]) + bound, f"{r['change_range_units']:+.3f}",
                             self._position(r, "record"), self._position(r, "plan")])
                classes.append([None, None, None, None, None, position_class(r["record_position"]),
                                position_class(r["plan_position"])])
            out.append(self.para(self.t("reach_levers")))
            out.append(self.table([self.t("lever"), self.t("units"), self.t("base"), self.t("needed"), self.t("change_units"),
                                   self.t("record"), self.t("plan")], rows, classes, "levers"))
            unchanged = [self.factor(r["lever"]) for r in levers if not r.get("changed")]
            if unchanged:
                out.append(self.para(self.t("reach_unchanged", levers=self.join(unchanged))))
            if changed:
                out.append(self.image(lambda c=changed: self._reach_figure(c, refs), alt=self.t("reach_chart"),
                                      caption=self.t("reach_chart")))
            chosen = d.get("chosen_targets", [])
            if chosen:
                rows = [[r["id"], self.description(r["id"], r.get("description", "")), self.num(r["base_value"], r["kind"]),
                         self.num(r["value"], r["kind"]), self.threshold_text(r), self.verdict(r["met"]),
                         self.num(r.get("best_alone_value"), r["kind"])] for r in chosen]
                classes = [[None, "desc", None, None, None, "met" if r["met"] else "missed", None] for r in chosen]
                out.append(f"<h4>{escape(self.t('reach_chosen'))}</h4>")
                out.append(self.table([self.t("id"), self.t("target"), self.t("base"), self.t("then"), self.t("threshold"),
                                       self.t("verdict"), self.t("best_alone")], rows, classes, "verdicts"))
            out.append(self.para(self.t("reach_then", met=self.join(d.get("met_then", [])),
                                        missed=self.join(d.get("missed_then", [])))))
            notes = d.get("notes", [])
            if notes:
                out.append(self.bullets(notes))
        return "".join(out)

    def _position(self, r: dict, which: str) -> str:
        position = r.get(f"{which}_position", "no reference")
        if position == "no reference":
            return self.t("no reference")
        return f"{self.t(position)}: {r.get(which, '')}"

    def _reach_figure(self, changed: list[dict], refs: dict):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.6, 1.3 + 0.5 * len(changed)), layout="constrained")
        ax = fig.add_subplot()
        n = len(changed)
        for j, r in enumerate(changed):
            y = n - 1 - j
            lo, hi = float(r["lower"]), float(r["upper"])
            span = (hi - lo) or 1.0

            def u(x):
                return (float(x) - lo) / span

            ax.plot([0, 1], [y, y], color="#dddddd", linewidth=9, solid_capstyle="butt", zorder=1)
            ref = refs.get(r["lever"], {})
            for key, colour, dy in (("record", "#2e8b57", 0.16), ("plan", "#8e44ad", -0.16)):
                rr = ref.get(key)
                if rr is not None and rr.exists:
                    a, b = u(rr.lower), u(rr.upper)
                    if b - a < 0.01:
                        a, b = a - 0.005, b + 0.005
                    ax.plot([a, b], [y + dy, y + dy], color=colour, linewidth=4, solid_capstyle="butt", zorder=2,
                            label=self.ct(f"c_{key}"))
            ax.plot([u(r["base"])], [y], marker="o", color="#555555", markersize=6, linestyle="none", zorder=3,
                    label=self.ct("c_base") if j == 0 else None)
            ax.plot([u(r["needed"])], [y], marker="D", color="#c0392b", markersize=7, linestyle="none", zorder=4,
                    label=self.ct("c_needed") if j == 0 else None)
            ax.annotate("", xy=(u(r["needed"]), y), xytext=(u(r["base"]), y),
                        arrowprops={"arrowstyle": "->", "color": "#c0392b", "lw": 1}, zorder=3)
        ax.set_yticks(range(n), [self.factor(r["lever"], chart=True) for r in reversed(changed)], fontsize=8)
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel(self.ct("c_range_units"))
        handles, labels = ax.get_legend_handles_labels()
        seen, keep = set(), []
        for h, lab in zip(handles, labels):
            if lab and lab not in seen and not lab.startswith("_"):
                seen.add(lab)
                keep.append((h, lab))
        if keep:
            ax.legend([h for h, _ in keep], [lab for _, lab in keep], fontsize=7, loc="upper center",
                      bbox_to_anchor=(0.5, -0.12 if n > 3 else -0.25), ncol=len(keep))
        ax.grid(True, axis="x", alpha=0.3)
        return fig

    def consistency_section(self) -> str:
        out = []
        for folder in self.of("consistency"):
            d = self.json_file(folder, "consistency.json")
            anchor = self.anchor(f"consistency-{folder.name}")
            out.append(f'<h3 id="{escape(anchor)}">{escape(folder.name)}</h3>')
            out.append(self.para(self.t("cons_head", feasible=d.get("feasible_pairs", 0), pairs=d.get("pairs", 0),
                                        base=d.get("base_name", ""), levers=len(d.get("levers", [])))))
            out.append(self.para(d.get("lever_path", ""), "small"))
            full = d.get("full_set") or {}
            if full:
                verdict = self.t("feasible") if full.get("feasible") else self.t("infeasible")
                out.append(self.para(self.t("cons_full", verdict=verdict, g=self.gap(full.get("best_min_gap")),
                                            binding=self.join(full.get("binding", [])))))
            square = self.csv_file(folder, "min_gap_matrix.csv")
            matrix = self.csv_file(folder, "matrix.csv")
            if square is not None and matrix is not None:
                out.append(self.image(lambda s=square, m=matrix: self._matrix_figure(s, m), alt=self.t("cons_matrix"),
                                      caption=self.t("cons_matrix")))
            s4 = d.get("section4", [])
            if s4:
                rows, classes = [], []
                for line in s4:
                    targets = line.get("targets", "")
                    targets = " ".join(targets) if isinstance(targets, list) else str(targets)
                    verdict = line.get("verdict", "")
                    shown = S4_VERDICTS_ZH.get(verdict, verdict) if self.lang == "zh" else verdict
                    rows.append([line.get("item"), targets, line.get("claim", ""), shown, line.get("text", "")])
                    classes.append([None, None, "desc", "missed" if verdict == "confirmed" else "met", "desc"])
                out.append(f"<h4>{escape(self.t('cons_s4'))}</h4>")
                if self.lang == "zh":
                    out.append(self.para(self.t("english_details"), "small"))
                out.append(self.table([self.t("item"), self.t("target"), self.t("claim"), self.t("verdict"), self.t("finding")],
                                      rows, classes, "s4"))
        return "".join(out)

    def _matrix_figure(self, square: pd.DataFrame, matrix: pd.DataFrame):
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        square = square.set_index(square.columns[0])
        ids = list(square.index)
        values = square.reindex(index=ids, columns=ids).to_numpy(dtype=float)
        feasible = np.zeros_like(values)
        for r in matrix.to_dict("records"):
            if r["a"] in ids and r["b"] in ids:
                i, j = ids.index(r["a"]), ids.index(r["b"])
                feasible[i, j] = feasible[j, i] = 1.0 if bool(r["feasible"]) else 0.0
        k = len(ids)
        fig = Figure(figsize=(1.6 + 0.42 * k, 1.2 + 0.42 * k), layout="constrained")
        ax = fig.add_subplot()
        ax.imshow(feasible, cmap=ListedColormap(["#e6a09a", "#9fd4b0"]), vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:+.2f}", ha="center", va="center", fontsize=5.5)
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.2))
        ax.set_xticks(range(k), ids, fontsize=7, rotation=90)
        ax.set_yticks(range(k), ids, fontsize=7)
        ax.set_title(self.ct("c_gap_matrix"), fontsize=9)
        return fig

    def discovery_section(self) -> str:
        from sim.analysis.discovery import LABELS, box_figure, tradeoff_figure
        from sim.analysis.discovery_output import read_discovery

        out = []
        for folder in self.of("discovery"):
            data = read_discovery(folder.path)
            d = data["json"]
            traj = data["trajectory"]
            c = d["cases"]
            targets = " ".join(t["id"] for t in d["targets"])
            anchor = self.anchor(f"discovery-{folder.name}")
            out.append(f'<h3 id="{escape(anchor)}">{escape(folder.name)}</h3>')
            if c["rule"] == "met":
                cases = self.t("disc_cases_met", count=f"{c['count']:,}", share=self.pct(c["share"]))
            else:
                cases = self.t("disc_cases_top", targets=targets, count=f"{c['count']:,}", share=self.pct(c["share"]),
                               top=self.pct(c["top"], 0), cut=f"{c['cut']:+.4f}", best=f"{c.get('best_worst_gap', math.nan):+.4f}")
            out.append(self.para(self.t("disc_head", sweep=Path(d["sweep"]).name, targets=targets, cases=cases),
                                 "warning" if c["rule"] != "met" and c.get("met", 0) == 0 else ""))
            s = d["box_stats"]
            reason = d.get("reason", "")
            if self.lang != "en" and d.get("rule") in ("asked", "last_reaching", "densest"):
                densest = float(traj["density"].max()) if len(traj) else math.nan
                reason = self.t(f"disc_rule_{d['rule']}", threshold=d["threshold"], highest=f"{densest:.3f}")
            out.append(self.para(self.t("disc_box", box=s["box"], reason=reason, coverage=self.pct(s["coverage"]),
                                        density=self.pct(s["density"]), n=f"{s['n']:,}", mass=self.pct(s["mass"]),
                                        res_dim=s["res_dim"])))
            first = d.get("first_box_reaching_threshold_stats")
            if first and first["box"] != s["box"]:
                out.append(self.para(self.t("disc_first", threshold=d["threshold"], box=first["box"],
                                            coverage=self.pct(first["coverage"]), density=self.pct(first["density"]))))
            chart_labels = {**LABELS, **discovery_labels(self.chart_lang)}
            names = {r["factor"]: self.factor(r["factor"], chart=True) for r in d["box"]}
            charts = [
                self.image(lambda: tradeoff_figure(traj, int(d["chosen_box"]), float(d["threshold"]), chart_labels),
                           alt=chart_labels["tradeoff_title"], caption=chart_labels["tradeoff_title"]),
            ]
            if d["box"]:
                charts.append(self.image(lambda: box_figure(pd.DataFrame(d["box"]), s, chart_labels, names),
                                         alt=chart_labels["box_title"].format(box=s["box"], coverage=self.pct(s["coverage"]),
                                                                              density=self.pct(s["density"])),
                                         caption=""))
            out.append('<div class="charts">' + "".join(charts) + "</div>")
            rows, classes = [], []
            for r in d["box"]:
                qp = " / ".join(("-" if is_missing(q) else (f"{q:.1e}" if q < 0.001 else f"{q:.3f}"))
                                for q in (r["qp_lower"], r["qp_upper"]))
                base = r.get("base", r.get("default"))
                inside = r.get("base_inside", r.get("default_inside"))
                where = self.t("inside") if inside else self.t("outside")
                default = "-" if is_missing(base) else f"{format_number(base)} ({where})"
                rows.append([self.factor(r["factor"]), self._kind_word(r["factor"]) or r["kind"],
                             format_number(r["lower"]), format_number(r["upper"]),
                             f"[{format_number(r['sweep_lower'])}, {format_number(r['sweep_upper'])}]", qp,
                             self.t("yes") if r.get("significant") else self.t("no"), default])
                classes.append([None, "lever" if r["kind"] == "lever" else None, None, None, None, None,
                                None if r.get("significant") else "na", None])
            out.append(self.table([self.t("factor"), self.t("kind"), self.t("lower"), self.t("upper"), self.t("sweep_range"),
                                   self.t("qp"), self.t("significant"), self.t("in_base")], rows, classes, "box"))
            check = d.get("check") or {}
            lines = []
            for label, key in (("scenario", "disc_check_scenario"), ("box_world", "disc_check_world")):
                run = (check.get("runs") or {}).get(label)
                if not run or "values" not in run:
                    continue
                kinds = {t["id"]: t["kind"] for t in d["targets"]}
                values = self.join([f"{tid} {self.num(v, kinds.get(tid, 'level'))}" for tid, v in run["values"].items()])
                lines.append(self.t("disc_check", what=self.t(key), values=values,
                                    case=self.t("disc_case") if run["is_case"] else self.t("disc_not_case")))
            out.append(self.bullets(lines + list(d.get("notes", []))))
        return "".join(out)

    def assumptions_section(self) -> str:
        from sim.specs.scenario_text import lever_rows

        rows_all = lever_rows(self.model, include_uncertain=True)
        n_levers = sum(1 for r in rows_all if r["kind"] == "lever")
        out = [self.para(self.t("assume_intro", levers=n_levers, uncertain=len(rows_all) - n_levers))]
        if self.lang == "zh":
            out.append(self.para(self.t("assume_desc_note"), "small"))
        rows, classes = [], []
        for r in sorted(rows_all, key=lambda r: (r["kind"] != "lever", r["name"])):
            kind = self.t("lever_kind") if r["kind"] == "lever" else self.t("uncertain_kind")
            rows.append([r["name"], r.get("chinese", ""), kind, display_unit(r["units"], self.lang),
                         f"[{format_number(r['lower'])}, {format_number(r['upper'])}]", format_number(r["default"]),
                         r.get("description", ""), r.get("source", "")])
            classes.append([None, None, "lever" if r["kind"] == "lever" else None, None, None, None, "desc", "desc"])
        out.append(self.table([self.t("lever"), self.t("chinese"), self.t("kind"), self.t("units"), self.t("range"),
                               self.t("default"), self.t("description"), self.t("source")], rows, classes, "catalogue"))
        out.append(f"<h3>{escape(self.t('assume_targets'))}</h3>")
        rows, classes = [], []
        for t in self.targets.values():
            rows.append([t.id, self.description(t.id), t.section, self._test_text(t),
                         self.threshold_text({"kind": t.kind, "comparison": t.comparison, "threshold": t.threshold}),
                         t.arithmetic, self.t("yes") if t.evaluable else f"{self.t('no')}: {t.reason}"])
            classes.append([None, "desc", None, "desc", None, "desc", None if t.evaluable else "na"])
        out.append(self.table([self.t("id"), self.t("target"), self.t("section"), self.t("test"), self.t("threshold"),
                               self.t("arithmetic"), self.t("evaluable")], rows, classes, "targets"))
        return "".join(out)

    def _test_text(self, t: Target) -> str:
        v = self.variable(t.variable) if t.variable else "-"
        if self.lang == "zh":
            if t.kind == "growth":
                return f"{v} {t.base_year}–{t.year} 年均增长率"
            if t.kind == "growth_vs":
                return f"{v} {t.base_year}–{t.year} 年均增长率减去 {self.variable(t.other_variable)} 的年均增长率"
            if t.aggregate:
                return f"{v} {t.base_year + 1}–{t.year} 年{'最大值' if t.aggregate == 'max' else '最小值'}"
            return f"{v}（{t.year} 年）"
        if t.kind == "growth":
            return f"growth per year of {v}, {t.base_year}–{t.year}"
        if t.kind == "growth_vs":
            return f"growth of {v} minus growth of {t.other_variable}, {t.base_year}–{t.year}"
        if t.aggregate:
            return f"{t.aggregate} of {v} over {t.base_year + 1}–{t.year}"
        return f"{v} in {t.year}"

    def folders_section(self) -> str:
        rows = []
        for f in self.folders:
            m = f.manifest
            rows.append([self.t(f"kind_{f.kind}"), str(f.path), m.get("command_line", ""),
                         (f.model_sha or "")[:12], m.get("finished") or m.get("started") or ""])
        return self.table([self.t("kind"), self.t("folder"), self.t("command"), self.t("model"), self.t("finished")], rows,
                          css="folders")
