"""The report's sections on scenario runs, sweeps and sensitivity studies, with their charts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.present.plots import shade_plan_period
from sim.plan.targets import DEFAULT_BASE_YEAR, format_number
from sim.present.unit_names import variable_unit


from sim.present.report_page import escape, is_missing, ordered_metrics, table_cell, value_at
from sim.present.report_text import SCORE_NAMES
from sim.present.style import REPORT_VARIABLES


class EvidenceSections:
    """The report's sections on scenario runs, sweeps and sensitivity studies, with their charts. (a mixin of the report's page, :class:`sim.present.report_page.PageBase`)."""

    def runs_section(self) -> str:
        folders = self.of("run")
        runs = [self.run(f) for f in folders]
        ids: list[str] = []
        defs: dict[str, dict] = {}
        for run in runs:
            if run.targets is None:
                continue
            for r in run.targets.to_dict("records"):
                if r["id"] not in defs:
                    ids.append(r["id"])
                    defs[r["id"]] = r
        headers = [self.t("id"), self.t("target"), self.t("threshold")] + [f.name for f in folders]
        rows, classes = [], []
        for tid in ids:
            d = defs[tid]
            row = [tid, self.description(tid, d.get("description", "")),
                   self.threshold_text({"kind": d.get("kind"), "comparison": d.get("comparison"), "threshold": d.get("target")})]
            cls: list[str | None] = [None, "desc", None]
            for run in runs:
                r = None
                if run.targets is not None:
                    match = run.targets[run.targets["id"] == tid]
                    r = match.iloc[0].to_dict() if not match.empty else None
                if r is None or is_missing(r.get("met")):
                    row.append(self.t("n.a."))
                    cls.append("na")
                else:
                    row.append(f"{self.num(r['value'], r.get('kind') or 'level')} · {self.verdict(r['met'])}")
                    cls.append("met" if r["met"] else "missed")
            rows.append(row)
            classes.append(cls)
        out = [self.para(self.t("run_intro", n=len(folders))), self.table(headers, rows, classes, "verdicts")]
        charts = []
        for variable in REPORT_VARIABLES:
            present = [(f.name, run) for f, run in zip(folders, runs) if variable in run.timeseries.columns]
            if not present:
                continue
            trows = [d for d in defs.values() if d.get("variable") == variable and d.get("kind") in ("level", "growth")
                     and not d.get("aggregate")]
            charts.append(self.image(lambda v=variable, p=present, tr=trows: self._runs_figure(v, p, tr),
                                     alt=self.variable(variable), caption=self.variable(variable)))
        if charts:
            out.append(self.para(self.t("run_charts")))
            out.append('<div class="charts">' + "".join(charts) + "</div>")
        return "".join(out)

    def _unit(self, variable: str, chart: bool = True) -> str:
        return variable_unit(variable, self.chart_lang if chart else self.lang)

    def _runs_figure(self, variable: str, present, target_rows):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=(6.4, 3.9), layout="constrained")
        ax = fig.add_subplot()
        shade_plan_period(ax, self.ct("c_plan_period"))
        first = None
        for label, run in present:
            s = run.timeseries[variable].dropna()
            ax.plot(s.index.to_numpy(dtype=float), s.to_numpy(dtype=float), linewidth=2, label=label)
            first = first if first is not None else s
        self._draw_targets(ax, target_rows, first)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(self.ct("c_year"))
        unit = self._unit(variable)
        ax.set_ylabel(unit)
        ax.set_title(self.variable(variable, chart=True) + (f" [{unit}]" if unit else ""))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        return fig

    def _draw_targets(self, ax, rows, series) -> None:
        for row in rows:
            kind = row.get("kind")
            threshold = float(row.get("target", row.get("threshold")))
            year = float(row.get("year"))
            symbol = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(str(row.get("comparison")), "")
            base_year = row.get("base_year")
            base_year = float(DEFAULT_BASE_YEAR) if is_missing(base_year) else float(base_year)
            aggregate = None if is_missing(row.get("aggregate")) else row.get("aggregate") or None
            if kind == "level" and aggregate:  # e.g. "max": the threshold holds in every year of its window
                ax.hlines(threshold, base_year + 1, year, colors="black", linestyles="--", linewidth=1.2, zorder=3,
                          label=f"{row['id']} {aggregate} {symbol} {format_number(threshold)} "
                                f"({base_year + 1:.0f}–{year:.0f})")
            elif kind == "level":
                ax.plot([year], [threshold], marker="^" if symbol in ("≥", ">") else "v", color="black", markersize=8,
                        linestyle="none", zorder=5, label=f"{row['id']} {symbol} {format_number(threshold)} ({year:.0f})")
            elif kind == "growth" and series is not None:
                v0 = value_at(series, base_year)
                if v0 is None or v0 <= 0:
                    continue
                years = np.linspace(base_year, year, 26)
                ax.plot(years, v0 * (1 + threshold) ** (years - base_year), linestyle=":", color="black", linewidth=1.4,
                        zorder=3, label=f"{row['id']} {threshold * 100:+.1f} %/{'年' if self.chart_lang == 'zh' else 'yr'}")

    def sweeps_section(self) -> str:
        from sim.engine.sweep_folder import read_outcomes

        out = []
        for folder in self.of("sweep"):
            sweep = self.sweep(folder)
            spec = (sweep.manifest.get("extra") or {}).get("sweep") or {}
            content = spec.get("content") or {}
            anchor = self.anchor(f"sweep-{folder.name}")
            out.append(f'<h3 id="{escape(anchor)}">{escape(folder.name)}</h3>')
            ok = sweep.ok
            out.append(self.para(self.t("sweep_intro", name=folder.name, runs=f"{len(ok):,}", failed=f"{int((~ok).sum()):,}",
                                        method=spec.get("method", "?"), seed=spec.get("seed", "?"),
                                        base=content.get("base", "?"), description=content.get("description", ""))))
            factors = spec.get("factors") or []
            if factors:
                rows = [[self.factor(f["name"]), self._kind_word(f["name"]), f.get("design", "")] for f in factors]
                out.append(f"<h4>{escape(self.t('sweep_factors'))}</h4>")
                out.append(self.table([self.t("factor"), self.t("kind"), self.t("sweep_range")], rows))
            rows, classes = [], []
            for r in sweep.summary.to_dict("records"):
                if is_missing(r.get("id")) or not r.get("id"):
                    continue
                kind = r.get("kind") or "level"
                share = r.get("share_met")
                rows.append([r["id"], self.description(r["id"], r.get("description", "")), self.threshold_text(r),
                             self.pct(share, 2), self.num(r.get("q50"), kind),
                             f"{self.num(r.get('q05'), kind)} – {self.num(r.get('q95'), kind)}"])
                classes.append([None, "desc", None, "met" if not is_missing(share) and share >= 0.5 else
                                ("missed" if not is_missing(share) else "na"), None, None])
            out.append(self.table([self.t("id"), self.t("target"), self.t("threshold"), self.t("share_met"),
                                   self.t("median"), self.t("range90")], rows, classes, "verdicts"))
            charts = []
            targets = sweep.targets
            for variable in [v for v in REPORT_VARIABLES if v in sweep.variables]:
                frame = read_outcomes(folder.path, [variable])
                ids_ok = set(sweep.experiments["run_id"].to_numpy()[ok].tolist())
                if not ok.all():
                    frame = frame[frame["run_id"].isin(ids_ok)]
                frame = frame[np.isfinite(frame[variable].to_numpy(dtype=float))]
                if frame.empty:
                    continue
                q = frame.groupby("year")[variable].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
                q.index = q.index.astype(float)
                trows = [dict(d, target=d.get("threshold")) for d in targets
                         if d.get("variable") == variable and d.get("kind") in ("level", "growth") and not d.get("aggregate")]
                charts.append(self.image(lambda v=variable, q=q, tr=trows, n=int(ok.sum()): self._fan_figure(v, q, tr, n),
                                         alt=self.variable(variable), caption=self.variable(variable)))
            if charts:
                out.append(self.para(self.t("sweep_fans")))
                out.append('<div class="charts">' + "".join(charts) + "</div>")
        return "".join(out)

    def _kind_word(self, name: str) -> str:
        lev = self.model.catalogue.get(name)
        if lev is None:
            return ""
        return self.t("lever_kind") if lev.kind == "lever" else self.t("uncertain_kind")

    def _fan_figure(self, variable: str, q: pd.DataFrame, target_rows, runs: int):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        years = q.index.to_numpy(dtype=float)
        fig = Figure(figsize=(6.4, 3.9), layout="constrained")
        ax = fig.add_subplot()
        shade_plan_period(ax, self.ct("c_plan_period"))
        colour = "#1f5f9f"
        ax.fill_between(years, q[0.05], q[0.95], color=colour, alpha=0.18, linewidth=0, label=self.ct("c_band90"))
        ax.fill_between(years, q[0.25], q[0.75], color=colour, alpha=0.35, linewidth=0, label=self.ct("c_band50"))
        ax.plot(years, q[0.5], color=colour, linewidth=2, label=self.ct("c_median"))
        self._draw_targets(ax, target_rows, pd.Series(q[0.5].to_numpy(), index=years))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(self.ct("c_year"))
        unit = self._unit(variable)
        ax.set_ylabel(unit)
        ax.set_title(f"{self.variable(variable, chart=True)} – {self.ct('c_runs', n=f'{runs:,}')}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        return fig

    def sensitivity_section(self) -> str:
        out = []
        for folder in self.of("sensitivity"):
            data = self.sensitivity(folder)
            anchor = self.anchor(f"sensitivity-{folder.name}")
            out.append(f'<h3 id="{escape(anchor)}">{escape(folder.name)}</h3>')
            runs = (folder.manifest.get("extra") or {}).get("runs") or {}
            what = self.t("sens_what", method=data.get("method") or "?", n=data.get("n") or "?",
                          runs=f"{runs.get('total'):,}" if isinstance(runs.get("total"), int) else "?",
                          factors=len(self._sens_factors(data)), metrics=len(data["metrics"]))
            out.append(self.para(self.t("sens_intro", name=folder.name, what=what)))
            if data["metrics"]:
                rows = [[m.get("name", ""), m.get("description", "")] for m in data["metrics"]]
                out.append(self.table([self.t("metric"), self.t("description")], rows))
            if data["warnings"]:
                out.append(self.bullets(data["warnings"]))
            idx = data.get("indices")
            if idx is not None and not idx[data["score"]].isna().all():
                score, conf = data["score"], data["conf"]
                metrics = ordered_metrics([m for m in idx["metric"].unique()
                                            if not idx.loc[idx["metric"] == m, score].isna().all()])[:8]
                wide = idx[idx["metric"].isin(metrics)]
                table = wide.pivot_table(index="factor", columns="metric", values=score, aggfunc="first")
                table = table.reindex(columns=metrics)
                order = table.max(axis=1).sort_values(ascending=False).index
                confs = (wide.pivot_table(index="factor", columns="metric", values=conf, aggfunc="first")
                         .reindex(columns=metrics) if conf else None)
                rows = []
                for i, f in enumerate(order, start=1):
                    row = [i, self.factor(f), self._kind_word(f)]
                    for m in metrics:
                        v = table.at[f, m]
                        c = confs.at[f, m] if confs is not None and f in confs.index else math.nan
                        row.append("-" if is_missing(v) else f"{v:.3f}" + ("" if is_missing(c) else f" ± {c:.3f}"))
                    rows.append(row)
                shown = SCORE_NAMES.get(score, score)
                out.append(self.para(self.t("sens_rank", score=shown)))
                out.append(self.table([self.t("rank"), self.t("factor"), self.t("kind"), *metrics], rows, css="ranking"))
                heat = self.t("sens_heat_relative" if score == "mu_star" else "sens_heat", score=shown)
                out.append(self.image(lambda t=table.loc[order], s=score: self._heat_figure(t, s), alt=heat, caption=heat))
            oat = data.get("oat")
            if oat is not None:
                charts = []
                ordered = ordered_metrics(list(oat["metric"].unique()))
                ordered = sorted(ordered, key=lambda m: "gap" in str(m))  # a gap swings as its value does
                for metric in ordered[:3]:
                    sub = oat[(oat["metric"] == metric) & oat[["low", "high"]].notna().all(axis=1)]
                    if sub.empty:
                        continue
                    charts.append(self.image(lambda s=sub, m=metric: self._tornado_figure(s, m),
                                             alt=f"{self.t('sens_tornado')}: {metric}",
                                             caption=f"{self.t('sens_tornado')}: {metric}"))
                if charts:
                    out.append(f"<h4>{escape(self.t('sens_tornado'))}</h4>")
                    out.append('<div class="charts">' + "".join(charts) + "</div>")
            embedded = data.get("pngs", [])
            if embedded:
                out.append(f"<h4>{escape(self.t('sens_embedded'))}</h4>")
                out.append('<div class="charts">' + "".join(
                    self.image(None, alt=p.name, caption=p.name, png=p.read_bytes()) for p in embedded) + "</div>")
            conv = data.get("convergence")
            if conv is not None and {"flagged", "matters"} <= set(conv.columns):
                out.append(f"<h4>{escape(self.t('sens_convergence'))}</h4>")
                flagged = conv[conv["flagged"].astype(bool)]
                relevant = flagged[flagged["matters"].astype(bool)]
                if "measure" in relevant.columns:
                    relevant = relevant.sort_values("measure", ascending=False)
                limit = conv["threshold"].iloc[0] if "threshold" in conv.columns and len(conv) else "?"
                out.append(self.para(self.t("sens_conv_head", flagged=len(flagged), total=len(conv),
                                            relevant=len(relevant), threshold=limit)))
                if len(relevant):
                    cols = [c for c in ("metric", "factor", "statistic", "index", "conf", "measure", "n", "n_needed",
                                        "runs_needed") if c in relevant.columns]
                    shown = relevant.head(15)
                    out.append(self.table(cols, [[table_cell(v) for v in r] for r in shown[cols].itertuples(index=False)]))
        return "".join(out)

    def _sens_factors(self, data: dict) -> list[str]:
        idx = data.get("indices")
        if idx is not None:
            return list(dict.fromkeys(idx["factor"]))
        oat = data.get("oat")
        return list(dict.fromkeys(oat["factor"])) if oat is not None else []

    def _heat_figure(self, table: pd.DataFrame, score: str):
        from matplotlib.figure import Figure

        from sim.present.plots_sensitivity import heat_values

        values = heat_values(table, score).to_numpy(dtype=float)
        fig = Figure(figsize=(max(5.5, 1.6 + 0.9 * values.shape[1]), 1.2 + 0.34 * values.shape[0]), layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(np.nan_to_num(values, nan=0.0), cmap="viridis", aspect="auto", vmin=0,
                       vmax=max(1.0, float(np.nanmax(values))) if score == "ST" else 1.0)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if values[i, j] < 0.6 * np.nanmax(values) else "black")
        ax.set_xticks(range(values.shape[1]), list(table.columns), fontsize=8, rotation=30, ha="right")
        ax.set_yticks(range(values.shape[0]), [self.factor(f, chart=True) for f in table.index], fontsize=7)
        fig.colorbar(im, ax=ax, label=self.ct("c_mu_relative") if score == "mu_star" else score)
        return fig

    def _tornado_figure(self, sub: pd.DataFrame, metric: str):
        from matplotlib.figure import Figure

        sub = sub.assign(_swing=(sub["high"] - sub["low"]).abs()).sort_values("_swing")
        fig = Figure(figsize=(6.4, 1.2 + 0.32 * len(sub)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(sub))
        base = sub["base"].to_numpy(dtype=float) if "base" in sub.columns else np.zeros(len(sub))
        ax.barh(y, sub["low"].to_numpy(dtype=float) - base, color="#c0392b", alpha=0.8, label=self.ct("c_low"))
        ax.barh(y, sub["high"].to_numpy(dtype=float) - base, color="#1f5f9f", alpha=0.8, label=self.ct("c_high"))
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [self.factor(f, chart=True) for f in sub["factor"]], fontsize=7)
        ax.set_xlabel(self.ct("c_swing"))
        ax.set_title(str(metric))
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(True, axis="x", alpha=0.3)
        return fig
