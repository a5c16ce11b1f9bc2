"""The report's section "Calibration: what the data can and cannot tell": a calibration folder rendered.

A folder written by :func:`sim.analysis.calibrate.write_calibration` holds the fitted
quantities with their profile and Fisher intervals and status
(``parameters.csv``), the fit statistics per series (``fit.csv``: MAPE,
Theil's U_M, U_S, U_C), the correlation of the estimates
(``correlation.csv``) and the history-against-model chart. The section states
the number of data points against fitted quantities, lists what is and is
not identified, and shows the statistics. Kept apart from :mod:`sim.present.report`,
which only detects the folder kind and calls :func:`calibration_section`.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from sim.analysis.identification import strong_correlations

TEXT = {
    "en": {
        "sec_calibration": "Calibration: what the data can and cannot tell",
        "kind_calibration": "calibration",
        "cal_intro": ("{spec}: {points} history figures against {fitted} fitted quantities; "
                      "{identified} identified, {unidentified} not (kept at their prior, swept in the sensitivity "
                      "analysis and the hindcast band), {bound} pushed to a bound of their plausible range "
                      "(a sign the model's structure, not the value, is off)."),
        "cal_quantity": "quantity", "cal_role": "role", "cal_value": "value", "cal_prior": "prior",
        "cal_profile": "95 % profile range", "cal_fisher": "95 % Fisher range", "cal_status": "status",
        "cal_series": "series", "cal_n": "n", "cal_mape": "MAPE",
        "cal_stats": ("Fit per series: MAPE and Theil's inequality statistics (U_M bias, U_S unequal variation, "
                      "U_C unequal co-variation; they add to 1; with one figure U_M is 1 by definition)."),
        "cal_corr": "Strongly correlated estimates (the data fix a combination, not each): {pairs}.",
        "cal_none": "not identified",
    },
    "zh": {
        "sec_calibration": "校准：数据能说明什么、不能说明什么",
        "kind_calibration": "校准",
        "cal_intro": ("{spec}：{points} 个历史数据对 {fitted} 个待估量；{identified} 个可识别，{unidentified} 个不可识别"
                      "（保持先验值，纳入敏感性分析和回溯检验区间），{bound} 个被推到合理范围的边界（说明模型结构而非参数值有偏差）。"),
        "cal_quantity": "待估量", "cal_role": "类型", "cal_value": "估计值", "cal_prior": "先验值",
        "cal_profile": "95% 剖面区间", "cal_fisher": "95% Fisher 区间", "cal_status": "状态",
        "cal_series": "序列", "cal_n": "数据个数", "cal_mape": "平均绝对百分比误差",
        "cal_stats": "各序列拟合统计：MAPE 与 Theil 不等系数（U_M 偏差、U_S 方差差异、U_C 协变差异，三者之和为1）。",
        "cal_corr": "高度相关的估计（数据只确定其组合）：{pairs}。",
        "cal_none": "不可识别",
    },
}


def _t(page, key: str, **kw) -> str:
    text = TEXT.get(page.lang, TEXT["en"]).get(key, TEXT["en"][key])
    return text.format(**kw) if kw else text


def calibration_section(page, folders) -> str:
    """HTML of the section for calibration ``folders`` (:class:`sim.present.report.ResultFolder` of kind calibration)."""
    parts = []
    for folder in folders:
        params = page.csv_file(folder, "parameters.csv")
        stats = page.csv_file(folder, "fit.csv")
        if params is None or stats is None:
            continue
        extra = folder.manifest.get("extra") or {}
        if len(folders) > 1:
            parts.append(f"<h3>{html.escape(folder.name)}</h3>")
        status = params["status"].value_counts()
        points = extra.get("data_points", "?")
        parts.append(page.para(_t(page, "cal_intro", spec=folder.name, points=points, fitted=len(params),
                                  identified=int(status.get("identified", 0)),
                                  unidentified=int(status.get("not identified", 0)),
                                  bound=int(status.get("at bound", 0)))))
        rows = []
        for r in params.itertuples(index=False):
            fisher = (f"{r.fisher_low:.4g} – {r.fisher_high:.4g}"
                      if "se" in params.columns and math.isfinite(r.se) else _t(page, "cal_none"))
            rows.append([r.name, r.role, f"{r.value:.4g}", f"{r.prior:.4g}", f"{r.range_low:.4g} – {r.range_high:.4g}",
                         fisher, r.status])
        parts.append(page.table([_t(page, k) for k in ("cal_quantity", "cal_role", "cal_value", "cal_prior",
                                                       "cal_profile", "cal_fisher", "cal_status")], rows))
        parts.append(page.para(_t(page, "cal_stats")))
        parts.append(page.table([_t(page, "cal_series"), _t(page, "cal_n"), _t(page, "cal_mape"), "U_M", "U_S", "U_C"],
                                [[page.variable(r.series), int(r.n), page.pct(r.mape, 2), _u(r.u_m), _u(r.u_s), _u(r.u_c)]
                                 for r in stats.itertuples(index=False)]))
        corr = page.csv_file(folder, "correlation.csv")
        if corr is not None and len(corr):
            pairs = strong_correlations(corr.set_index("name"))
            if pairs:
                parts.append(page.para(_t(page, "cal_corr", pairs=page.join(f"{a} ~ {b} (r = {c:+.2f})"
                                                                            for a, b, c in pairs))))
        png = folder.path / "history_vs_model.png"
        if png.is_file():
            parts.append(page.image(None, "history against the model", png=png.read_bytes()))
    return "".join(parts)


def _u(x) -> str:
    return "-" if pd.isna(x) else f"{float(x):.2f}"
