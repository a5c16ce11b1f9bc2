"""The report's section "What happened, what the model said": a hindcast folder (:mod:`sim.analysis.hindcast`) rendered.

:func:`hindcast_section` takes the report page (for its text, table and image
helpers and language) and the hindcast result folders, and returns the
section's HTML: what the hindcast is, the table of every out-of-sample figure
with the model's value, error and band, the plan targets against what
happened, the figures without a model counterpart, and one chart per variable
(the PNGs the folder holds). Kept apart from :mod:`sim.present.report`, which only
detects the folder kind and calls this.
"""

from __future__ import annotations

import html
import math

import pandas as pd

TEXT = {
    "en": {
        "sec_hindcast": "What happened, what the model said",
        "kind_hindcast": "hindcast",
        "hc_intro": ("The model calibrated on figures up to {cutoff} only, run with the levers as they turned out "
                     "(scenario {scenario}), against every later figure found. The band is the {lo}–{hi} % range of "
                     "{members} runs over the {k} uncertain parameters the data could not identify, each over its "
                     "documented range; a figure outside it is one the model, as calibrated in {cutoff}, did not "
                     "allow for."),
        "hc_count": "{inside} of {n} figures lie inside the band.",
        "hc_figure": "figure", "hc_year": "year", "hc_actual": "what happened", "hc_model": "model",
        "hc_error": "error", "hc_band": "band", "hc_inside": "inside", "hc_growth": "growth",
        "yes": "yes", "no": "no",
        "hc_targets": ("Plan targets against what happened: the yearly rate each target needs from its 2020 figure, "
                       "and the rate a later figure shows. A target is met or missed only with a figure for its own "
                       "year; before that, a figure is on or behind the needed path."),
        "hc_needed": "needed /yr", "hc_observed": "observed /yr", "hc_status": "status",
        "on_track": "on track", "behind": "behind", "met": "met", "missed": "not met",
        "hc_unmatched": "Figures found with no model variable to compare: {items}.",
        "hc_expected": ("Figures for 2021 are the expected values (预计) of the district's work report of December 2021, "
                        "not final statistics."),
    },
    "zh": {
        "sec_hindcast": "实际发生了什么，模型当时怎么说",
        "kind_hindcast": "回溯检验",
        "hc_intro": ("模型仅用{cutoff}年及以前的数据校准，按实际发生的政策杠杆（情景 {scenario}）运行，"
                     "与之后找到的每一个数据对比。区间为数据无法识别的 {k} 个不确定参数在其文献范围内的 {members} 次运行的 "
                     "{lo}–{hi} % 范围；落在区间外的数据是{cutoff}年校准的模型未能预见的。"),
        "hc_count": "{n} 个数据中有 {inside} 个落在区间内。",
        "hc_figure": "指标", "hc_year": "年份", "hc_actual": "实际", "hc_model": "模型",
        "hc_error": "误差", "hc_band": "区间", "hc_inside": "区间内", "hc_growth": "增速",
        "yes": "是", "no": "否",
        "hc_targets": "规划目标与实际：各目标自2020年起所需的年均增速，与之后数据显示的增速。仅当有目标年份的数据时才判断是否完成。",
        "hc_needed": "所需年均", "hc_observed": "实际年均", "hc_status": "状态",
        "on_track": "符合路径", "behind": "落后", "met": "已完成", "missed": "未完成",
        "hc_unmatched": "无模型变量可比的数据：{items}。",
        "hc_expected": "2021年数据为2021年12月区政府工作报告的预计值，非最终统计。",
    },
}


def _t(page, key: str, **kw) -> str:
    text = TEXT.get(page.lang, TEXT["en"]).get(key, TEXT["en"][key])
    return text.format(**kw) if kw else text


def _value(page, value: float, measure: str) -> str:
    if measure == "growth":
        return page.pct(value)
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _error(page, row) -> str:
    if row.measure == "growth":
        return f"{row.error * 100:+.1f} pt"
    return page.pct(row.rel_error) if not math.isnan(row.rel_error) else "-"


def hindcast_section(page, folders) -> str:
    """HTML of the section for the hindcast ``folders`` (:class:`sim.present.report.ResultFolder` of kind hindcast)."""
    parts = []
    for folder in folders:
        extra = folder.manifest.get("extra") or {}
        table = page.csv_file(folder, "hindcast.csv")
        if table is None:
            continue
        params = page.csv_file(folder, "band_parameters.csv")
        band = extra.get("band") or [0.05, 0.95]
        if len(folders) > 1:
            parts.append(f"<h3>{html.escape(folder.name)}</h3>")
        parts.append(page.para(_t(page, "hc_intro", cutoff=extra.get("cutoff_year", ""), scenario=extra.get("scenario", ""),
                                  lo=round(band[0] * 100), hi=round(band[1] * 100), members=extra.get("members", 0),
                                  k=0 if params is None else len(params))))
        parts.append(page.para(_t(page, "hc_count", inside=int(table["inside"].sum()), n=len(table))))
        rows, classes = [], []
        for r in table.itertuples(index=False):
            name = page.variable(r.variable) + (f" ({_t(page, 'hc_growth')})" if r.measure == "growth" else "")
            rows.append([name, int(r.year), _value(page, r.figure, r.measure), _value(page, r.model, r.measure),
                         _error(page, r), f"{_value(page, r.band_low, r.measure)} – {_value(page, r.band_high, r.measure)}",
                         _t(page, "yes") if r.inside else _t(page, "no")])
            classes.append([None] * 6 + ["met" if r.inside else "missed"])
        parts.append(page.table([_t(page, k) for k in ("hc_figure", "hc_year", "hc_actual", "hc_model", "hc_error",
                                                       "hc_band", "hc_inside")], rows, classes))
        if (table["year"] == table["year"].min()).all() and int(table["year"].min()) == int(extra.get("cutoff_year", 0)) + 1:
            parts.append(page.para(_t(page, "hc_expected"), "note"))
        parts.append(_targets(page, page.csv_file(folder, "targets.csv")))
        unmatched = page.csv_file(folder, "unmatched.csv")
        if unmatched is not None and len(unmatched):
            items = page.join(f"{r.variable} {int(r.year)}: {r.value:g}" for r in unmatched.itertuples(index=False))
            parts.append(page.para(_t(page, "hc_unmatched", items=items)))
        for png in sorted((folder.path / "plots").glob("*.png")):
            parts.append(page.image(None, png.stem, png=png.read_bytes()))
    return "".join(parts)


def _targets(page, frame: pd.DataFrame | None) -> str:
    if frame is None or frame.empty:
        return ""
    rows = []
    for r in frame.itertuples(index=False):
        met = r.met if isinstance(r.met, bool) else (None if pd.isna(r.met) else str(r.met) == "True")
        status = (_t(page, "met") if met else _t(page, "missed")) if met is not None else (
            _t(page, "on_track") if str(r.on_track) == "True" else _t(page, "behind"))
        rows.append([r.target, page.variable(r.variable), int(r.year), _value(page, r.figure, r.measure),
                     page.pct(r.needed_rate), page.pct(r.observed_rate), status])
    head = [page.t("id"), _t(page, "hc_figure"), _t(page, "hc_year"), _t(page, "hc_actual"), _t(page, "hc_needed"),
            _t(page, "hc_observed"), _t(page, "hc_status")]
    return page.para(_t(page, "hc_targets")) + page.table(head, rows)
