"""The report's answers: the evidence for each target and the lines that quote reach, consistency, discovery and sensitivity.
"""

from __future__ import annotations

import math
from pathlib import Path


from sim.engine.folders import ResultFolder
from sim.plan.targets import Target, format_number


from sim.present.report_page import cagr, is_missing, metric_matches, needed_rate, value_at
from sim.present.report_text import S4_VERDICTS_ZH


class AnswerSections:
    """The report's answers: the evidence for each target and the lines that quote reach, consistency, discovery and sensitivity. (a mixin of the report's page, :class:`sim.present.report_page.PageBase`)."""

    def target_evidence(self, tid: str) -> tuple[str, list[str]]:
        """The short answer and the evidence lines for one headline target."""
        target = self.targets.get(tid)
        evidence: list[str] = []
        met_runs, run_names = [], []
        rate_needed = ""
        if target is not None and target.kind == "level":
            base_rate = needed_rate(target, self._base_value(target))
            if base_rate is not None:
                rate_needed = self.t("s_needed_rate", rate=self.num(base_rate, "growth"))
        items = []
        for folder in self.of("run"):
            run = self.run(folder)
            if run.targets is None or tid not in set(run.targets["id"]):
                continue
            row = run.targets.set_index("id").loc[tid]
            run_names.append(folder.name)
            if row["met"] is True:
                met_runs.append(folder.name)
            rate = ""
            if target is not None and target.kind == "level" and target.variable in run.timeseries.columns:
                r = cagr(run.timeseries[target.variable], target.base_year, target.year)
                if r is not None:
                    rate = self.t("s_rate", rate=self.num(r, "growth"), base_year=target.base_year)
            items.append(self.t("s_run_item", name=folder.name, value=self.num(row["value"], row["kind"]), rate=rate,
                                verdict=self.verdict(row["met"])))
        if items and target is not None:
            evidence.append(self.t("s_runs", variable=self.variable(target.variable), year=target.year,
                                   items=self.join(items), threshold=self.threshold_text(
                                       {"kind": target.kind, "comparison": target.comparison, "threshold": target.threshold}),
                                   rate=rate_needed))
        sweep_facts = []
        for folder in self.of("sweep"):
            summary = self.sweep(folder).summary
            rows = summary[summary["id"] == tid]
            if rows.empty or not int(rows.iloc[0]["evaluated"]):  # a target the sweep could not evaluate
                continue
            r = rows.iloc[0]
            kind = r.get("kind") or "level"
            sweep_facts.append((folder.name, int(r["met"]), int(r["evaluated"])))
            evidence.append(self.t("s_sweep", name=folder.name, runs=f"{int(r['runs']):,}", tid=tid, met=f"{int(r['met']):,}",
                                   share=self.pct(r["share_met"], 2), median=self.num(r["q50"], kind),
                                   q95=self.num(r["q95"], kind)))
        for folder in self.of("sensitivity"):
            line = self.sensitivity_line(folder, tid)
            if line:
                evidence.append(line)
        reach_rows = []
        for folder in self.of("reach"):
            data = self.json_file(folder, "reach.json")
            if tid not in data.get("targets", []):
                continue
            reach_rows.append(data)
            evidence.append(self.reach_line(data))
        for folder in self.of("consistency"):
            line = self.consistency_line(folder, tid)
            if line:
                evidence.append(line)
        for folder in self.of("discovery"):
            data = self.json_file(folder, "discovery.json")
            if tid in [t["id"] for t in data.get("targets", [])]:
                evidence.append(self.discovery_line(data))
        # the short answer, from the strongest evidence present
        sweep_part = ""
        if sweep_facts:
            name, met, runs = sweep_facts[0]
            sweep_part = self.t("a_sweep_part", met=f"{met:,}", runs=f"{runs:,}", name=name)
        reach_alone = sorted(reach_rows, key=lambda d: len(d.get("targets", [])))
        if met_runs:
            answer = self.t("a_met_runs", names=self.join(met_runs))
        elif reach_alone:
            d = reach_alone[0]
            p = d.get("plausibility")
            if p and p["class"] not in ("unreachable", "not_classified"):
                binding = self.binding(p.get("binding"))
                if d["status"] == "met at base":
                    answer = self.t(f"a_cls_base_{p['class']}", binding=binding)
                else:
                    answer = self.t(f"a_cls_{p['class']}", sweep=sweep_part, d=f"{d['distance']:.3f}", binding=binding)
            elif d["status"] == "met at base":
                answer = self.t("a_reach_base")
            elif d["status"] == "reachable":
                changed = [r for r in d["levers"] if r.get("changed")]
                answer = self.t("a_reach", sweep=sweep_part, d=f"{d['distance']:.3f}", changed=len(changed),
                                out=len(d.get("outside_record", [])), beyond=len(d.get("beyond_plan", [])))
            else:
                chosen = {r["id"]: r for r in d.get("chosen_targets", [])}
                best = chosen.get(tid, {})
                answer = self.t("a_reach_no", sweep=sweep_part,
                                best=self.num(best.get("best_alone_value", best.get("value")), best.get("kind", "level")))
        elif sweep_facts:
            name, met, runs = sweep_facts[0]
            answer = self.t("a_sweep_only", share=self.pct(met / runs if runs else math.nan, 2))
        elif run_names:
            answer = self.t("a_missed_runs", names=self.join(run_names))
        else:
            answer = self.t("a_nothing")
        return answer, evidence

    def _base_value(self, target: Target) -> float | None:
        """The target variable's base-year value from the first folder that has it (for the needed rate)."""
        for folder in self.of("run"):
            ts = self.run(folder).timeseries
            if target.variable in ts.columns:
                return value_at(ts[target.variable], target.base_year)
        for folder in self.of("consistency"):
            values = self.json_file(folder, "consistency.json").get("base_2020_values", {})
            if target.variable in values and target.base_year == 2020:
                return float(values[target.variable])
        return None

    def binding(self, b: dict | None) -> str:
        """A binding item of :mod:`sim.analysis.plausibility` in the page's language."""
        if not b:
            return "-"
        if b["kind"] == "target":
            return self.t("b_target", name=b["id"], value=format_number(b["value"]),
                          bound=f"{b['comparison']} {format_number(b['bound'])}")
        if b["kind"] == "lever":
            bound = (format_number(b["lower"]) if b["lower"] == b["upper"]
                     else f"{format_number(b['lower'])}–{format_number(b['upper'])}")
            return self.t("b_lever", name=self.factor(b["id"]), value=format_number(b["value"]), bound=bound)
        kind = "growth" if b.get("unit") == "1/year" else "level"
        return self.t("b_quantity", name=b["name"], value=self.num(b["value"], kind), kind=self.t(f"bk_{b['bound_kind']}"),
                      bound=self.num(b["bound"], kind))

    def plausibility(self, p: dict | None) -> str:
        """`` Plausibility: <class> (<binding>).`` or nothing for a folder written before the classes."""
        if not p:
            return ""
        return self.t("s_plaus", cls=self.t(f"cls_{p['class']}"), binding=self.binding(p.get("binding")))

    def reach_line(self, d: dict) -> str:
        return self._reach_line(d) + self.plausibility(d.get("plausibility"))

    def _reach_line(self, d: dict) -> str:
        targets = " ".join(d.get("targets", []))
        base = d.get("base_name", "")
        if d["status"] == "met at base":
            return self.t("s_reach_base", targets=targets, base=base)
        if d["status"] == "unreachable":
            best = ", ".join(f"{r['id']} {self.num(r['value'], r['kind'])}" for r in d.get("chosen_targets", []))
            return self.t("s_reach_no", targets=targets, base=base, g=self.gap(d.get("worst_normalised_gap")), best=best)
        changed = sorted((r for r in d["levers"] if r.get("changed")), key=lambda r: -abs(r["change_range_units"]))
        changes = []
        for r in changed[:5]:
            bound = self.t("s_bound", side=self.t(f"bound_{r['at_bound']}")) if r.get("at_bound") else ""
            changes.append(self.t("s_change", lever=self.factor(r["lever"]), base=format_number(r["base"]),
                                  needed=format_number(r["needed"]), bound=bound))
        return self.t("s_reach_ok", targets=targets, base=base, d=f"{d['distance']:.3f}", changes=self.join(changes),
                      record=self.join(d.get("outside_record", [])), plan=self.join(d.get("beyond_plan", [])),
                      missed=self.join(d.get("missed_then", [])))

    def consistency_line(self, folder: ResultFolder, tid: str) -> str | None:
        matrix = self.csv_file(folder, "matrix.csv")
        if matrix is None:
            return None
        single = matrix[(matrix["a"] == tid) & (matrix["b"] == tid)]
        if single.empty:
            return None
        s = single.iloc[0]
        pairs = matrix[(matrix["a"] != matrix["b"]) & ((matrix["a"] == tid) | (matrix["b"] == tid))]
        bad = pairs[~pairs["feasible"].astype(bool)]
        others = [b if a == tid else a for a, b in zip(bad["a"], bad["b"])]
        can = self.t("s_can") if bool(s["feasible"]) else self.t("s_cannot")
        plaus = self.plausibility(self.json_file(folder, "consistency.json").get("plausibility_alone", {}).get(tid))
        if not others:
            return self.t("s_cons_single_all", tid=tid, can=can, g=self.gap(s["best_min_gap"])) + plaus
        return self.t("s_cons_single", tid=tid, can=can, g=self.gap(s["best_min_gap"]), pairs=self.join(others)) + plaus

    def discovery_line(self, d: dict) -> str:
        c = d["cases"]
        targets = " ".join(t["id"] for t in d["targets"])
        cases = (self.t("s_disc_met", count=f"{c['count']:,}") if c["rule"] == "met"
                 else self.t("s_disc_top", top=self.pct(c["top"], 0)))
        limits = []
        for r in d["box"][:6]:
            limits.append(f"{self.factor(r['factor'])} ∈ [{format_number(r['lower'])}, {format_number(r['upper'])}]")
        s = d["box_stats"]
        return self.t("s_disc", sweep=Path(d["sweep"]).name, targets=targets, cases=cases, box=s["box"],
                      limits=self.join(limits), coverage=self.pct(s["coverage"]), density=self.pct(s["density"]))

    def sensitivity_line(self, folder: ResultFolder, tid: str) -> str | None:
        data = self.sensitivity(folder)
        idx = data.get("indices")
        if idx is None:
            return None
        metrics = [m for m in idx["metric"].unique() if metric_matches(m, tid)]
        if not metrics:
            return None
        metric = metrics[0]
        score, conf = data["score"], data["conf"]
        rows = idx[idx["metric"] == metric].sort_values(score, ascending=False).head(3)
        items = []
        for r in rows.to_dict("records"):
            ci = f" ± {r[conf]:.2f}" if conf and not is_missing(r.get(conf)) else ""
            items.append(f"{self.factor(r['factor'])} ({score} {r[score]:.2f}{ci})")
        return self.t("s_sens", name=folder.name, metric=metric, items=self.join(items))

    def conflict_evidence(self) -> tuple[str, list[str]]:
        folders = self.of("consistency")
        if not folders:
            return self.t("a_nothing"), []
        evidence = []
        answer = ""
        for n, folder in enumerate(folders):
            d = self.json_file(folder, "consistency.json")
            alone = d.get("unreachable_alone", [])
            matrix = self.csv_file(folder, "matrix.csv")
            singles = {}
            if matrix is not None:
                for r in matrix[matrix["a"] == matrix["b"]].to_dict("records"):
                    singles[r["a"]] = r
            infeasible = d.get("infeasible_pairs", [])
            if n == 0:
                answer = (self.t("a_conflict", infeasible=len(infeasible), pairs=d.get("pairs", 0),
                                 alone=self.join(alone) if alone else "–") if infeasible else self.t("a_conflict_ok"))
            evidence.append(self.t("cons_head", feasible=d.get("feasible_pairs", 0), pairs=d.get("pairs", 0),
                                   base=d.get("base_name", ""), levers=len(d.get("levers", []))))
            if alone:
                items = []
                for tid in alone:
                    r = singles.get(tid)
                    t = self.targets.get(tid)
                    value = self.num(r["value_a"], t.kind if t else "level") if r is not None else "-"
                    need = self._target_threshold(t) if t else ""
                    items.append(f"{tid} ({value} / {need})")
                evidence.append(self.t("cons_alone", items=self.join(items)))
            rest = [p for p in infeasible if not any(a in alone for a in p.split("+"))]
            if rest:
                excluding = self.t("cons_excluding", ids=self.join(alone)) if alone else ""
                evidence.append(self.t("cons_pairs", excluding=excluding, items=self.join(rest)))
            full = d.get("full_set") or {}
            if full:
                evidence.append(self.t("s_full", n=len(full.get("targets", [])), g=self.gap(full.get("best_min_gap")),
                                       verdict=self.t("feasible") if full.get("feasible") else self.t("infeasible")))
            for line in d.get("section4", []):
                verdict = line.get("verdict", "")
                if self.lang == "zh":
                    verdict = S4_VERDICTS_ZH.get(verdict, verdict)
                targets = line.get("targets", "")
                targets = " ".join(targets) if isinstance(targets, list) else str(targets)
                claim = line.get("claim", "") if self.lang == "en" else ""
                evidence.append(self.t("s_s4", item=line.get("item"), targets=targets, verdict=verdict, claim=claim))
        return answer, evidence
