"""The planners' report: one self-contained HTML page from result folders of any kind.

:func:`build_report` reads result folders, never re-simulating: scenario runs
(``shuangta run``), sweeps (``shuangta sweep``), sensitivity studies
(``shuangta sensitivity``), ``reach``, ``consistency`` and ``discover``
folders, or folders holding them (``results/``). It draws every chart again
from the folders' data with matplotlib (Agg, no global backend) and embeds
it as a base64 PNG data URI, so the page needs no other file, no script and
no network. The page opens with an executive summary answering the headline
questions with numbers taken from the folders:

* is 24.5 %/yr industrial growth (T1) reachable, and what would it take;
* is income doubling (T7) reachable, and what would it take;
* which targets contradict each other;

then one section per kind of folder, and ends with "Assumptions and sources"
(the model's lever catalogue, as ``shuangta levers --all`` lists it, and the
targets' arithmetic) and the list of folders used (command lines, model
SHA-256).

``lang="zh"`` gives Chinese headings, labels and sentences (target
descriptions from ``description_zh``, the catalogue's Chinese terms); charts
are drawn with Noto Sans CJK SC Regular from the ``mplfonts`` package
(:func:`sim.present.fonts.find_cjk_font`). The page embeds the glyphs of every Chinese
character it uses as a subset web font (:func:`sim.present.fonts.embedded_face_css`),
so it reads the same on a machine with no CJK font. Should no font be found,
charts keep English labels and the page says so, in Chinese and in English.

Every text is escaped with :func:`html.escape`; the page is HTML5 with
``<meta charset="utf-8">``. Nothing here prints; errors are
:class:`sim.errors.InputError`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import io
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.errors import InputError, SimError
from sim.present.report_calibration import TEXT as CALIBRATION_TEXT
from sim.present.report_calibration import calibration_section
from sim.present.report_hindcast import TEXT as HINDCAST_TEXT
from sim.present.report_hindcast import hindcast_section
from sim.present.fonts import EMBEDDED_FAMILY, chart_family, embedded_face_css, find_cjk_font
from sim.engine.folders import KINDS, ResultFolder, collect_folders, read_manifest, folder_kind
from sim.present.plots import shade_plan_period
from sim.engine.results import MANIFEST, atomic_write_text, read_run
from sim.plan.targets import Target, format_number, load_targets
from sim.present.unit_names import display_unit, variable_unit

log = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "Report",
    "ResultFolder",
    "build_report",
    "collect_folders",
    "find_cjk_font",
    "folder_kind",
    "short_answer",
    "write_report",
]

#: Variables charted for scenario runs and sweeps, when the folders have them.
KEY_VARIABLES = ("Above Scale Industrial Output", "Urban Disposable Income per Capita", "GDP",
                 "Fixed Asset Investment")
#: The headline targets: industrial output 165 in 2025 (24.5 %/yr) and income doubling.
INDUSTRY, INCOME = "T1", "T7"
DPI = 100
#: The page's ``<meta name="generator">``: how a file is recognised as a report (:func:`is_report`).
GENERATOR = "shuangta report"
COLOURS = {True: "#2e8b57", False: "#c0392b", None: "#9e9e9e"}


# --------------------------------------------------------------------------- language

TEXT = {
    "en": {
        "title": "Shuangta District's 14th Five-Year Plan: can the targets be reached?",
        "subtitle": "A system-dynamics model of the district's economy (model/shuangta.mdl), 2020–2035",
        "generated": "Generated {date} by shuangta report from {n} result folders ({kinds}); model SHA-256 {sha}.",
        "contents": "Contents",
        "notes": "Notes on this page",
        "summary": "Executive summary",
        "q_industry": "Is 24.5 %/yr industrial growth reachable, and what would it take?",
        "q_income": "Is income doubling reachable, and what would it take?",
        "q_conflict": "Which targets contradict each other?",
        "answer": "Short answer",
        "sec_run": "Scenario runs",
        "sec_sweep": "Sweeps: how likely is each target?",
        "sec_sensitivity": "Sensitivity: which factors decide the targets?",
        "sec_reach": "What it would take: lever values that meet a target",
        "sec_consistency": "Which targets can hold together",
        "sec_discovery": "Scenario discovery: where the targets are (nearly) met",
        "sec_loops": "Why: the feedback loops behind the headline targets", "kind_loops": "loops",
        "sec_assumptions": "Assumptions and sources",
        "sec_folders": "Result folders used",
        "none_given": "No {kind} folder was given.",
        "kind_run": "scenario run", "kind_sweep": "sweep", "kind_sensitivity": "sensitivity",
        "kind_reach": "reach", "kind_consistency": "consistency", "kind_discovery": "discovery", "kind_other": "other",
        # tables
        "id": "id", "target": "target", "threshold": "threshold", "value": "value", "verdict": "verdict",
        "scenario": "scenario", "share_met": "met in", "median": "median", "range90": "5–95 %",
        "lever": "lever", "base": "base", "needed": "needed", "change": "change", "change_units": "change (range units)",
        "record": "2016–2020 record", "plan": "what the plan states", "factor": "factor", "kind": "kind",
        "lower": "lower", "upper": "upper", "qp": "quasi-p (lower / upper)", "units": "units", "range": "range",
        "default": "default", "source": "source", "description": "description", "chinese": "Chinese term",
        "section": "plan section", "test": "test", "arithmetic": "arithmetic", "evaluable": "evaluable",
        "folder": "folder", "command": "command line", "model": "model SHA-256", "finished": "finished",
        "item": "item", "claim": "claim", "finding": "finding", "sweep_range": "range in the sweep",
        "model_default": "model default", "in_base": "in the base scenario", "then": "then", "best_alone": "best alone", "alone": "alone",
        "metric": "metric", "rank": "rank", "significant": "significant",
        "MET": "MET", "MISSED": "MISSED", "n.a.": "n.a.", "yes": "yes", "no": "no",
        "inside": "inside", "outside": "outside", "above": "above", "below": "below", "no reference": "no reference",
        "bound_upper": "upper", "bound_lower": "lower",
        "at_bound": "at its {side} bound", "lever_kind": "lever", "uncertain_kind": "uncertain parameter",
        "reachable": "REACHABLE", "unreachable": "NOT REACHABLE", "met at base": "MET AT BASE",
        # runs
        "run_intro": "Target verdicts of {n} scenario runs in 2025 (value and verdict; green met, red missed, grey no verdict).",
        "run_charts": "Key variables, scenarios overlaid; markers and dotted lines are the plan's targets.",
        # sweeps
        "sweep_intro": "{name}: {runs} runs ({failed} failed), {method}, seed {seed}, base scenario {base}. {description}",
        "sweep_factors": "Factors varied",
        "sweep_fans": "Fan charts: median, 50 % and 90 % of runs by year; the plan's targets marked.",
        # sensitivity
        "sens_intro": "{name}: {what}.",
        "sens_what": "{method} indices with N = {n} ({runs} runs), {factors} factors, {metrics} metrics",
        "sens_conv_head": "{flagged} of {total} confidence intervals are wider than {threshold}; {relevant} of them on factors that matter (listed, widest first, with the N that would narrow them).",
        "sens_rank": "Ranking of factors by {score} (± its confidence half-width), metrics as columns.",
        "sens_heat": "Heat map of {score}",
        "sens_heat_relative": "Heat map of {score}, each metric's column divided by its largest {score} (1 = the metric's most influential factor), so metrics in different units can be compared",
        "sens_tornado": "One-at-a-time swings (tornado)",
        "sens_convergence": "Convergence",
        "sens_embedded": "Chart from the folder",
        # reach
        "reach_head": "reach {targets} from {base}: {status}",
        "reach_distance": "distance {d} in range units (Euclidean norm of the lever changes, each in units of its range); worst normalised gap {g}.",
        "reach_levers": "Changed levers: the value needed against the 2016–2020 record and what the plan states.",
        "reach_unchanged": "Unchanged: {levers}.",
        "reach_chosen": "The chosen targets at the base and at the found point",
        "reach_then": "Then met: {met}. Then missed: {missed}.",
        "reach_chart": "Plausibility: each changed lever on its range (0 = lower, 1 = upper bound).",
        # consistency
        "cons_head": "{feasible} of {pairs} pairs can be met together inside the lever ranges (base {base}, {levers} levers searched).",
        "cons_alone": "Cannot be met even alone: {items}.",
        "cons_pairs": "Pairs that cannot hold together{excluding}: {items}.",
        "cons_excluding": " (leaving out those with {ids})",
        "cons_full": "All targets together: {verdict} (best worst normalised gap {g}; binding: {binding}).",
        "cons_matrix": "Best worst normalised gap of each pair (diagonal: the target alone); green: can be met together.",
        "cons_s4": "The contradictions listed in docs/plan.md §4, checked",
        # discovery
        "disc_head": "PRIM on sweep {sweep} for {targets}: {cases}",
        "disc_cases_met": "the cases are the {count} runs ({share}) that meet every chosen target",
        "disc_cases_top": "NO RUN MEETS {targets}: the cases are the {count} runs ({share}) in the top {top} by the worst normalised gap (≥ {cut}; best run {best}); the boxes describe where the runs come closest, not where they succeed",
        "disc_box": "Chosen box {box} ({reason}): coverage {coverage}, density {density}, {n} runs ({mass} of the sweep), {res_dim} factors restricted.",
        "disc_first": "The first box reaching density {threshold} is box {box} (coverage {coverage}, density {density}).",
        "disc_check": "Its midpoint run once, {what}: {values} ({case}).",
        "disc_case": "a case", "disc_not_case": "not a case",
        "disc_check_scenario": "with the box's levers at its midpoint and the uncertain parameters at the model's defaults (the scenario file)",
        "disc_check_world": "with the box's uncertain parameters at its midpoint too",
        # assumptions
        "assume_intro": "The model's {levers} policy levers and {uncertain} uncertain parameters, as the model file declares them (shuangta levers --all): units, allowed range, default and source.",
        "assume_targets": "The plan's targets and their arithmetic",
        "assume_desc_note": "",
        # summary sentences
        "s_runs": "In the scenario runs, {variable} in {year}: {items} (needed: {threshold}{rate}).",
        "s_run_item": "{name} {value}{rate} – {verdict}",
        "s_rate": " ({rate} from {base_year})",
        "s_needed_rate": ", i.e. {rate}",
        "s_sweep": "Sweep {name} ({runs} runs): {tid} is met in {met} runs ({share}); median {median}, 95th percentile {q95}.",
        "s_sens": "Sensitivity ({name}, metric {metric}): the factors that matter most are {items}.",
        "s_reach_ok": "reach {targets} from {base}: reachable inside the lever ranges, distance {d} (range units). Largest changes: {changes}. Outside the 2016–2020 record: {record}; beyond what the plan states: {plan}. Then missed: {missed}.",
        "s_reach_base": "reach {targets} from {base}: already met by the base scenario.",
        "s_reach_no": "reach {targets} from {base}: NOT reachable inside the lever ranges; the best reachable worst normalised gap is {g} ({best}).",
        "s_change": "{lever} {base} → {needed}{bound}",
        "s_bound": " (its {side} bound)",
        "s_cons_single": "Consistency: {tid} alone {can} be met (best worst normalised gap {g}); it cannot be met together with {pairs}.",
        "s_cons_single_all": "Consistency: {tid} alone {can} be met (best worst normalised gap {g}) and can be met together with every other target.",
        "s_can": "can", "s_cannot": "cannot",
        "s_disc": "Scenario discovery on {sweep} ({targets}): {cases}; box {box}: {limits} (coverage {coverage}, density {density}).",
        "s_disc_met": "{count} runs meet them",
        "s_disc_top": "no run meets them, the box describes the top {top} of runs by worst gap",
        "a_met_runs": "Yes in the scenario runs {names}.",
        "a_reach": "Not with the plan's levers as written{sweep}; the model reaches it inside the lever ranges only with the changes below (distance {d} in range units, {out} of {changed} changed levers outside the 2016–2020 record, {beyond} beyond what the plan states).",
        "a_reach_no": "No: not reachable inside the lever ranges{sweep}; the best reachable value is {best}.",
        "a_reach_base": "Yes: the base scenario of reach already meets it.",
        "a_cls_within_record": "Yes, within the 2016–2020 record{sweep}: the model meets it with the changes below (distance {d} in range units); binding: {binding}.",
        "a_cls_beyond_record_within_analogues": "Only beyond the 2016–2020 record, though within what comparable Chinese districts achieved{sweep}: the model meets it with the changes below (distance {d} in range units); binding: {binding}.",
        "a_cls_beyond_analogues": "Only beyond anything comparable Chinese districts achieved{sweep}: the model meets it inside the lever ranges with the changes below (distance {d} in range units), but {binding}.",
        "a_cls_base_within_record": "Yes: the base scenario of reach already meets it, within the 2016–2020 record (binding: {binding}).",
        "a_cls_base_beyond_record_within_analogues": "Yes, the base scenario of reach already meets it, but only beyond the 2016–2020 record, within what comparable Chinese districts achieved (binding: {binding}).",
        "a_cls_base_beyond_analogues": "The base scenario of reach meets it only beyond anything comparable Chinese districts achieved: {binding}.",
        "cls_within_record": "within the 2016–2020 record",
        "cls_beyond_record_within_analogues": "beyond the 2016–2020 record, within comparable districts",
        "cls_beyond_analogues": "beyond any comparable district",
        "cls_unreachable": "unreachable",
        "cls_not_classified": "not classified (nothing to measure)",
        "s_plaus": " Plausibility: {cls} ({binding}).",
        "b_quantity": "{name} {value} against the {kind} {bound}",
        "b_lever": "lever {name} at {value}, outside its 2016–2020 record {bound}",
        "b_target": "target {name} reaches only {value} against {bound}",
        "bk_record": "2016–2020 record", "bk_analogue": "analogue bound",
        "a_sweep_only": "In the sweep it is met in {share} of runs; no reach folder says what it would take.",
        "a_sweep_part": " (met in {met} of {runs} runs of sweep {name})",
        "a_missed_runs": "Missed in every scenario run given ({names}); no reach or sweep folder says more.",
        "a_nothing": "No folder given answers this.",
        "a_conflict": "{infeasible} of {pairs} pairs of targets cannot be met together; {alone} cannot be met even alone, and the full set cannot be met at once.",
        "a_conflict_ok": "Every pair can be met together inside the lever ranges.",
        "s_s4": "docs/plan.md §4 item {item} ({targets}), {claim}: {verdict}.",
        "s_full": "The full set of {n} targets: best worst normalised gap {g} ({verdict}).",
        "feasible": "can be met together", "infeasible": "cannot be met together",
        # fonts
        "font_ok": "Chinese text is set in {font}, drawn into the charts and embedded in this page, so no font needs to be installed to read it.",
        "font_missing": "No Chinese font was found (the package mplfonts provides one: pip install mplfonts), so the charts keep English labels.",
        "model_mismatch": "{n} folders were computed with another version of the model (SHA-256 {shas}) than the one whose catalogue is listed here ({sha}): {folders}.",
        "other_folders": "Folders of a kind this report does not read (listed under result folders only): {folders}.",
        "english_details": "",
        # chart labels
        "c_year": "year", "c_plan_period": "plan period 2021–2025", "c_median": "median", "c_band50": "50 % of runs",
        "c_band90": "90 % of runs", "c_runs": "{n} runs", "c_range_units": "position in the lever's range",
        "c_record": "2016–2020 record", "c_plan": "plan", "c_base": "base", "c_needed": "needed",
        "c_swing": "change of the metric from its base value", "c_low": "factor at its low value",
        "c_high": "factor at its high value", "c_mu_relative": "mu* / largest mu* of the metric", "c_gap_matrix": "best worst normalised gap",
    },
    "zh": {
        "title": "双塔区“十四五”规划目标能否实现？",
        "subtitle": "双塔区经济系统动力学模型（model/shuangta.mdl），2020–2035 年",
        "generated": "生成于 {date}，由 shuangta report 根据 {n} 个结果文件夹（{kinds}）生成；模型 SHA-256 {sha}。",
        "contents": "目录",
        "notes": "说明",
        "summary": "摘要",
        "q_industry": "规上工业产值年均增长 24.5% 能否实现？需要什么条件？",
        "q_income": "居民收入翻番能否实现？需要什么条件？",
        "q_conflict": "哪些目标相互矛盾？",
        "answer": "简要回答",
        "sec_run": "情景运行结果",
        "sec_sweep": "参数扫描：各目标实现的可能性",
        "sec_sensitivity": "敏感性分析：哪些因素决定目标能否实现",
        "sec_reach": "目标反推：实现目标所需的政策杠杆取值",
        "sec_consistency": "哪些目标可以同时实现",
        "sec_discovery": "情景发现：目标（接近）实现的因素取值区域",
        "sec_loops": "原因：决定核心目标的反馈回路", "kind_loops": "反馈回路",
        "sec_assumptions": "假设与来源",
        "sec_folders": "所用结果文件夹",
        "none_given": "未提供{kind}结果文件夹。",
        "kind_run": "情景运行", "kind_sweep": "参数扫描", "kind_sensitivity": "敏感性分析",
        "kind_reach": "目标反推", "kind_consistency": "一致性检验", "kind_discovery": "情景发现", "kind_other": "其他",
        "id": "编号", "target": "目标", "threshold": "目标值", "value": "数值", "verdict": "判定",
        "scenario": "情景", "share_met": "实现比例", "median": "中位数", "range90": "5%–95% 区间",
        "lever": "政策杠杆", "base": "基准值", "needed": "所需值", "change": "变化", "change_units": "变化（取值范围单位）",
        "record": "2016–2020 年实绩", "plan": "规划所述", "factor": "因素", "kind": "类型",
        "lower": "下限", "upper": "上限", "qp": "拟 p 值（下限 / 上限）", "units": "单位", "range": "取值范围",
        "default": "默认值", "source": "来源", "description": "说明（英文）", "chinese": "中文术语",
        "section": "规划章节", "test": "检验方式", "arithmetic": "算式", "evaluable": "可否评估",
        "folder": "文件夹", "command": "命令", "model": "模型 SHA-256", "finished": "完成时间",
        "item": "条目", "claim": "所述矛盾", "finding": "检验结果（英文）", "sweep_range": "扫描范围",
        "model_default": "模型默认值", "in_base": "基准情景取值", "then": "调整后", "best_alone": "单独最优", "alone": "单独",
        "metric": "指标", "rank": "排序", "significant": "显著",
        "MET": "实现", "MISSED": "未实现", "n.a.": "无法判定", "yes": "是", "no": "否",
        "inside": "在区间内", "outside": "不在区间内", "above": "高于", "below": "低于", "no reference": "无参照",
        "bound_upper": "上限", "bound_lower": "下限",
        "at_bound": "达到{side}", "lever_kind": "政策杠杆", "uncertain_kind": "不确定参数",
        "reachable": "可实现", "unreachable": "不可实现", "met at base": "基准情景已实现",
        "run_intro": "{n} 个情景 2025 年的目标判定（数值与判定；绿色为实现，红色为未实现，灰色为无法判定）。",
        "run_charts": "主要变量，各情景叠加；标记与虚线为规划目标。",
        "sweep_intro": "{name}：{runs} 次运行（{failed} 次失败），抽样方法 {method}，随机种子 {seed}，基准情景 {base}。{description}",
        "sweep_factors": "变动的因素",
        "sweep_fans": "扇形图：各年份运行结果的中位数、50% 与 90% 区间；标出规划目标。",
        "sens_intro": "{name}：{what}。",
        "sens_what": "{method} 指数，N = {n}（{runs} 次运行），{factors} 个因素，{metrics} 个指标",
        "sens_conv_head": "{total} 个置信区间中有 {flagged} 个宽于 {threshold}；其中 {relevant} 个涉及有影响的因素（按宽度从大到小列出，并给出使其收窄所需的 N）。",
        "sens_rank": "按 {score}（± 置信区间半宽）对因素排序，各列为指标。",
        "sens_heat": "{score} 热力图",
        "sens_heat_relative": "{score} 热力图：每个指标一列，除以该列最大的 {score}（1 = 对该指标影响最大的因素），使单位不同的指标可以比较",
        "sens_tornado": "单因素高低值变动（龙卷风图）",
        "sens_convergence": "收敛情况",
        "sens_embedded": "结果文件夹中的图",
        "reach_head": "从 {base} 出发反推 {targets}：{status}",
        "reach_distance": "距离 {d}（取值范围单位：各杠杆变化量按其取值范围归一后的欧氏范数）；最差归一化差距 {g}。",
        "reach_levers": "需调整的杠杆：所需取值与 2016–2020 年实绩及规划所述的比较。",
        "reach_unchanged": "未调整：{levers}。",
        "reach_chosen": "所选目标在基准情景与调整后的数值",
        "reach_then": "调整后实现：{met}。调整后未实现：{missed}。",
        "reach_chart": "合理性：各调整杠杆在其取值范围中的位置（0 为下限，1 为上限）。",
        "cons_head": "在杠杆取值范围内，{pairs} 对目标中有 {feasible} 对可以同时实现（基准情景 {base}，搜索 {levers} 个杠杆）。",
        "cons_alone": "单独也无法实现：{items}。",
        "cons_pairs": "无法同时实现的目标对{excluding}：{items}。",
        "cons_excluding": "（不含涉及 {ids} 的目标对）",
        "cons_full": "全部目标同时实现：{verdict}（最优的最差归一化差距 {g}；约束最紧的目标：{binding}）。",
        "cons_matrix": "各目标对的最优最差归一化差距（对角线为单个目标）；绿色表示可同时实现。",
        "cons_s4": "对 docs/plan.md 第 4 节所列矛盾的检验",
        "disc_head": "在参数扫描 {sweep} 上对 {targets} 运用 PRIM：{cases}",
        "disc_cases_met": "关注样本为同时实现所选目标的 {count} 次运行（{share}）",
        "disc_cases_top": "没有任何一次运行实现 {targets}：关注样本为最差归一化差距最好的前 {top} 的 {count} 次运行（{share}，差距 ≥ {cut}；最好一次为 {best}）；所得区域描述的是最接近目标的运行，而不是实现目标的运行",
        "disc_box": "选定区域 {box}（{reason}）：覆盖率 {coverage}，密度 {density}，{n} 次运行（占扫描的 {mass}），限定 {res_dim} 个因素。",
        "disc_first": "第一个密度达到 {threshold} 的区域是 {box}（覆盖率 {coverage}，密度 {density}）。",
        "disc_check": "区域中点运行一次，{what}：{values}（{case}）。",
        "disc_rule_asked": "按 --box 指定",
        "disc_rule_last_reaching": "剥离轨迹上最后一个密度达到 {threshold} 的区域",
        "disc_rule_densest": "没有区域的密度达到 {threshold}（最高为 {highest}）：取密度最高的区域",
        "disc_case": "属于关注样本", "disc_not_case": "不属于关注样本",
        "disc_check_scenario": "区域内的政策杠杆取中点、不确定参数取模型默认值（即生成的情景文件）",
        "disc_check_world": "区域限定的不确定参数也取中点",
        "assume_intro": "模型文件声明的 {levers} 个政策杠杆和 {uncertain} 个不确定参数（shuangta levers --all）：单位、允许范围、默认值与来源。",
        "assume_targets": "规划目标及其算式",
        "assume_desc_note": "说明与来源按模型文件原文（英文）列出。",
        "s_runs": "情景运行中，{variable} {year} 年：{items}（目标：{threshold}{rate}）。",
        "s_run_item": "{name} {value}{rate}，{verdict}",
        "s_rate": "（{base_year} 年起 {rate}）",
        "s_needed_rate": "，即 {rate}",
        "s_sweep": "参数扫描 {name}（{runs} 次运行）：{tid} 在 {met} 次运行中实现（{share}）；中位数 {median}，第 95 百分位数 {q95}。",
        "s_sens": "敏感性分析（{name}，指标 {metric}）：影响最大的因素为 {items}。",
        "s_reach_ok": "从 {base} 出发反推 {targets}：在杠杆取值范围内可以实现，距离 {d}（取值范围单位）。变化最大的杠杆：{changes}。超出 2016–2020 年实绩的：{record}；超出规划所述的：{plan}。调整后仍未实现：{missed}。",
        "s_reach_base": "从 {base} 出发反推 {targets}：基准情景已经实现。",
        "s_reach_no": "从 {base} 出发反推 {targets}：在杠杆取值范围内无法实现；可达到的最优最差归一化差距为 {g}（{best}）。",
        "s_change": "{lever} {base} → {needed}{bound}",
        "s_bound": "（达到{side}）",
        "s_cons_single": "一致性检验：{tid} 单独{can}实现（最优最差归一化差距 {g}）；它无法与 {pairs} 同时实现。",
        "s_cons_single_all": "一致性检验：{tid} 单独{can}实现（最优最差归一化差距 {g}），并可与其他每个目标同时实现。",
        "s_can": "可以", "s_cannot": "无法",
        "s_disc": "情景发现（{sweep}，{targets}）：{cases}；区域 {box}：{limits}（覆盖率 {coverage}，密度 {density}）。",
        "s_disc_met": "{count} 次运行实现了这些目标",
        "s_disc_top": "没有运行实现这些目标，区域描述的是最差差距最好的前 {top} 的运行",
        "a_met_runs": "在情景 {names} 中可以实现。",
        "a_reach": "按规划所列杠杆取值无法实现{sweep}；模型中只有在杠杆取值范围内作出下列调整才能实现（距离 {d}，{changed} 个调整杠杆中有 {out} 个超出 2016–2020 年实绩，{beyond} 个超出规划所述）。",
        "a_reach_no": "不能：在杠杆取值范围内无法实现{sweep}；可达到的最优值为 {best}。",
        "a_reach_base": "能：目标反推的基准情景已经实现。",
        "a_cls_within_record": "能，且在 2016–2020 年实绩范围内{sweep}：模型在作出下列调整后实现（距离 {d}）；约束项：{binding}。",
        "a_cls_beyond_record_within_analogues": "只有超出 2016–2020 年实绩才能实现，但仍在可比地区达到过的范围内{sweep}：模型在作出下列调整后实现（距离 {d}）；约束项：{binding}。",
        "a_cls_beyond_analogues": "只有超出任何可比地区达到过的水平才能实现{sweep}：模型在杠杆取值范围内作出下列调整后实现（距离 {d}），但{binding}。",
        "a_cls_base_within_record": "能：目标反推的基准情景已经实现，且在 2016–2020 年实绩范围内（约束项：{binding}）。",
        "a_cls_base_beyond_record_within_analogues": "能，目标反推的基准情景已经实现，但超出 2016–2020 年实绩，仍在可比地区达到过的范围内（约束项：{binding}）。",
        "a_cls_base_beyond_analogues": "目标反推的基准情景只有超出任何可比地区达到过的水平才能实现：{binding}。",
        "cls_within_record": "在 2016–2020 年实绩范围内",
        "cls_beyond_record_within_analogues": "超出 2016–2020 年实绩、在可比地区范围内",
        "cls_beyond_analogues": "超出任何可比地区",
        "cls_unreachable": "不可实现",
        "cls_not_classified": "未分类（无可度量的量）",
        "s_plaus": " 合理性：{cls}（{binding}）。",
        "b_quantity": "{name} 为 {value}，{kind}为 {bound}",
        "b_lever": "杠杆 {name} 取 {value}，超出其 2016–2020 年实绩 {bound}",
        "b_target": "目标 {name} 最多达到 {value}，要求 {bound}",
        "bk_record": "2016–2020 年实绩", "bk_analogue": "可比地区上限",
        "a_sweep_only": "参数扫描中 {share} 的运行实现该目标；没有目标反推结果说明需要什么条件。",
        "a_sweep_part": "（参数扫描 {name} 的 {runs} 次运行中仅 {met} 次实现）",
        "a_missed_runs": "所给的所有情景（{names}）均未实现；没有目标反推或参数扫描结果可提供更多信息。",
        "a_nothing": "所给结果文件夹无法回答这一问题。",
        "a_conflict": "{pairs} 对目标中有 {infeasible} 对无法同时实现；{alone} 单独也无法实现，全部目标无法同时实现。",
        "a_conflict_ok": "在杠杆取值范围内，每一对目标都可以同时实现。",
        "s_s4": "docs/plan.md 第 4 节第 {item} 条（{targets}）：{verdict}。{claim}",
        "s_full": "全部 {n} 个目标：最优最差归一化差距 {g}（{verdict}）。",
        "feasible": "可以同时实现", "infeasible": "无法同时实现",
        "font_ok": "中文使用 {font} 字体，已绘入图表并嵌入本页，阅读时无需安装任何字体。",
        "font_missing": "未找到中文字体（mplfonts 软件包提供该字体：pip install mplfonts），因此图表保留英文标注。",
        "model_mismatch": "有 {n} 个结果文件夹所用模型版本（SHA-256 {shas}）与本页所列参数目录的模型（{sha}）不同：{folders}。",
        "other_folders": "本报告不读取的结果文件夹类型（仅在文件夹列表中列出）：{folders}。",
        "english_details": "详细文字按命令输出原文（英文）列出。",
        "c_year": "年份", "c_plan_period": "规划期 2021–2025", "c_median": "中位数", "c_band50": "50% 的运行",
        "c_band90": "90% 的运行", "c_runs": "{n} 次运行", "c_range_units": "在杠杆取值范围中的位置",
        "c_record": "2016–2020 年实绩", "c_plan": "规划", "c_base": "基准值", "c_needed": "所需值",
        "c_swing": "指标相对基准值的变化", "c_low": "因素取低值", "c_high": "因素取高值", "c_mu_relative": "mu* / 该指标最大的 mu*", "c_gap_matrix": "最优最差归一化差距",
    },
}
for _lang in TEXT:   # the own texts of the sections kept in their modules
    TEXT[_lang].update(CALIBRATION_TEXT[_lang])
    TEXT[_lang].update(HINDCAST_TEXT[_lang])

#: Chinese names of the variables the report charts or quotes (the plan's terms, docs/plan.md §1).
VARIABLE_ZH = {
    "GDP": "地区生产总值",
    "Above Scale Industrial Output": "规模以上工业总产值",
    "Urban Disposable Income per Capita": "城镇常住居民人均可支配收入",
    "Rural Disposable Income per Capita": "农村常住居民人均可支配收入",
    "Real Urban Disposable Income per Capita": "城镇常住居民人均可支配收入（实际）",
    "Fixed Asset Investment": "固定资产投资",
    "General Public Budget Revenue": "一般公共预算收入",
    "Retail Sales": "社会消费品零售总额",
    "Tertiary Value Added": "第三产业增加值",
    "Unemployment Rate": "城镇登记失业率",
    "Energy Intensity Index": "单位 GDP 能耗指数",
    "Carbon Intensity Index": "单位 GDP 二氧化碳排放指数",
}
#: Terms explained in one plain sentence where they first appear on the page: (what to look for, sentence).
TERMS = {
    "en": (
        ("normalised gap", "The normalised gap of a target is the model's shortfall (negative) or margin (positive) "
                           "divided by the threshold: −0.25 means 25 % short, 0 or more means met; the worst "
                           "normalised gap of several targets is the smallest of theirs."),
        ("range units", "A lever's change in range units is the change divided by the width of its allowed range, "
                        "so 0.5 means half the range."),
        ("mu*", "mu* (Morris) is the average size of the change in a metric when one factor moves by a step of its "
                "range: the larger, the more the metric depends on that factor."),
        ("ST", "ST (total-order Sobol' index) is the share of a metric's variance that a factor causes, alone or "
               "together with others: 0 means the factor does not matter."),
        ("quasi-p", "A quasi-p-value says how likely a box limit this tight would arise by chance: small values mean "
                    "the limit is real."),
    ),
    "zh": (
        ("归一化差距", "某目标的归一化差距是模型值相对目标值的缺口（负）或余量（正）除以目标值："
                   "−0.25 表示差 25%，大于等于 0 表示实现；多个目标的最差归一化差距取其中最小者。"),
        ("取值范围单位", "以取值范围单位计的杠杆变化量，是变化量除以该杠杆允许取值范围的宽度，0.5 即半个范围。"),
        ("mu*", "mu*（Morris 方法）是某一因素按其取值范围移动一步时指标变化幅度的平均值：越大，指标越依赖该因素。"),
        ("ST", "ST（Sobol' 总效应指数）是某一因素单独或与其他因素共同造成的指标方差所占的比例：0 表示该因素无关紧要。"),
        ("拟 p 值", "拟 p 值表示如此窄的区域边界偶然出现的可能性：数值越小，边界越可信。"),
    ),
}
#: How index columns are named on the page.
SCORE_NAMES = {"mu_star": "mu*"}
S4_VERDICTS_ZH = {"confirmed": "证实", "refuted by the model": "被模型否定",
                  "not a contradiction as inequalities": "作为不等式并不矛盾"}
STATUS_KEYS = {"reachable": "reachable", "unreachable": "unreachable", "met at base": "met at base"}


class Raw(str):
    """Text that is already HTML (escaped where needed); :func:`_h` leaves it alone."""


def _h(text) -> str:
    """Escaped HTML text of ``text`` (a :class:`Raw` is kept as it is)."""
    if isinstance(text, Raw):
        return str(text)
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return html.escape(str(text), quote=True)


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


# --------------------------------------------------------------------------- folders




# --------------------------------------------------------------------------- the report


@dataclass
class Report:
    """A built report: the page's ``html``, the folders read, notes, the CJK font used (zh)."""

    html: str
    lang: str
    folders: list[ResultFolder]
    notes: list[str] = field(default_factory=list)
    font: Path | None = None
    images: int = 0

    def kinds(self) -> list[str]:
        return [k for k in (*KINDS, "other") if any(f.kind == k for f in self.folders)]


def build_report(paths: Sequence[str | Path], lang: str = "en", model_path: str | Path | None = None,
                 font: str | Path | None = "auto") -> Report:
    """Build the report page from result folders at ``paths`` (see :func:`collect_folders`).

    ``lang``: ``en`` or ``zh``. ``font`` (zh only): ``"auto"`` finds a CJK font
    (:func:`find_cjk_font`), a path uses that font file, ``None`` uses none
    (charts then keep English labels). ``model_path``: the model whose lever
    catalogue is listed (default: the project's model).
    """
    if lang not in TEXT:
        raise InputError(f"--lang {lang!r}: allowed: {', '.join(TEXT)}")
    skipped: list[str] = []
    folders = collect_folders(paths, skipped)
    from sim.model.loader import DEFAULT_MODEL, load_model

    model = load_model(model_path or DEFAULT_MODEL)
    font_path = None
    if lang == "zh" and font is not None:
        if font == "auto":
            font_path = find_cjk_font()
        else:
            font_path = Path(font)
            if not font_path.is_file():
                raise InputError(f"{font_path}: no such font file")
    page = _Page(lang, folders, model, font_path)
    page.notes += skipped
    text = page.render()
    return Report(text, lang, folders, page.notes, font_path, page.images)


def short_answer(folders: Sequence[ResultFolder], tid: str, lang: str = "en", model=None) -> tuple[str, list[str]]:
    """The report's short answer for target ``tid`` and its evidence lines, from ``folders`` (as the
    page states them; ``model`` defaults to the project's)."""
    if model is None:
        from sim.model.loader import load_model

        model = load_model()
    return _Page(lang, list(folders), model, None).target_evidence(tid)
def is_report(path: str | Path) -> bool:
    """True for a file this module wrote (its head names :data:`GENERATOR`): a later report may replace it."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    return head.lstrip().lower().startswith("<!doctype html") and f'content="{GENERATOR}"' in head


def write_report(report: Report, out: str | Path) -> Path:
    """Write the page to ``out`` (atomically; the folder is created)."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise InputError(f"--out: {out} is a folder; give a file name such as report.html")
    return atomic_write_text(out, report.html)


class _Page:
    """Builds the page: language, chart font, sections; collects notes."""

    def __init__(self, lang: str, folders: list[ResultFolder], model, font: Path | None):
        self.lang = lang
        self.folders = folders
        self.model = model
        self.font = font
        self.family = chart_family(font) if font is not None else None
        #: Language of chart labels: Chinese only with a CJK font.
        self.chart_lang = "zh" if lang == "zh" and self.family else "en"
        self.notes: list[str] = []
        self.images = 0
        self.targets = {t.id: t for t in load_targets()}
        self._ids: set[str] = set()
        self._cache: dict = {}
        #: Terms of :data:`TERMS` already explained on the page.
        self.explained: set[str] = set()

    # ------------------------------------------------------------------ text helpers

    def t(self, key: str, **kw) -> str:
        text = TEXT[self.lang].get(key, TEXT["en"].get(key, key))
        return text.format(**kw) if kw else text

    def ct(self, key: str, **kw) -> str:
        """A chart label in the charts' language."""
        text = TEXT[self.chart_lang].get(key, TEXT["en"].get(key, key))
        return text.format(**kw) if kw else text

    def num(self, value, kind: str = "level") -> str:
        text = format_number(value, kind)
        if self.lang == "zh":
            text = text.replace(" %/yr", "%/年").replace(" pt", " 个百分点")
        return text

    def pct(self, x, digits: int = 1) -> str:
        if _missing(x):
            return "-"
        return f"{float(x) * 100:.{digits}f}{'%' if self.lang == 'zh' else ' %'}"

    def gap(self, g) -> str:
        return "-" if _missing(g) else f"{float(g):+.3f}"

    def join(self, items: Sequence[str]) -> str:
        items = [str(i) for i in items if str(i)]
        if not items:
            return "–"
        return ("、" if self.lang == "zh" else ", ").join(items)

    def verdict(self, met) -> str:
        if _missing(met):
            return self.t("n.a.")
        return self.t("MET") if bool(met) else self.t("MISSED")

    def description(self, tid: str, fallback: str = "") -> str:
        t = self.targets.get(tid)
        if t is None:
            return fallback
        return t.description_zh if self.lang == "zh" and t.description_zh else t.description

    def variable(self, name: str, chart: bool = False) -> str:
        lang = self.chart_lang if chart else self.lang
        return VARIABLE_ZH.get(name, name) if lang == "zh" else name

    def factor(self, name: str, chart: bool = False) -> str:
        lang = self.chart_lang if chart else self.lang
        lev = self.model.catalogue.get(name)
        if lang == "zh" and lev is not None and lev.chinese:
            return f"{name}（{lev.chinese}）"
        return name

    def threshold_text(self, row: dict) -> str:
        kind = row.get("kind") or "level"
        symbol = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(str(row.get("comparison")), str(row.get("comparison", "")))
        value = row.get("threshold", row.get("target"))
        return f"{symbol} {self.num(value, kind)}"

    def _target_threshold(self, t: Target) -> str:
        return self.threshold_text({"kind": t.kind, "comparison": t.comparison, "threshold": t.threshold})

    def anchor(self, base: str) -> str:
        base = _slug(base)
        name, i = base, 2
        while name in self._ids:
            name, i = f"{base}-{i}", i + 1
        self._ids.add(name)
        return name

    # ------------------------------------------------------------------ HTML helpers

    def table(self, headers: Sequence[str], rows: Sequence[Sequence], classes: Sequence[Sequence[str | None]] | None = None,
              css: str = "") -> str:
        terms = self.new_terms(" ".join(str(h) for h in headers))  # a term first met as a column heading
        out = [f'<p class="small">{_h(" ".join(terms))}</p>' if terms else ""]
        out += [f'<table class="{_h(css)}">' if css else "<table>", "<thead><tr>"]
        out += [f"<th>{_h(h)}</th>" for h in headers]
        out.append("</tr></thead><tbody>")
        for i, row in enumerate(rows):
            cells = []
            for j, cell in enumerate(row):
                cls = classes[i][j] if classes is not None and j < len(classes[i]) else None
                cells.append(f'<td class="{_h(cls)}">{_h(cell)}</td>' if cls else f"<td>{_h(cell)}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
        return "".join(out)

    def new_terms(self, text) -> list[str]:
        """The sentences of the :data:`TERMS` terms that ``text`` uses and the page has not explained yet
        (marked explained now). A Latin term counts as a whole word only (ST, not STATUS)."""
        text = "" if text is None else str(text)
        found = []
        for term, sentence in TERMS[self.lang]:
            pattern = rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])" if term.isascii() else re.escape(term)
            if term not in self.explained and re.search(pattern, text):
                self.explained.add(term)
                found.append(sentence)
        return found

    def explain(self, text) -> str:
        """``text`` followed by the plain sentence of each term it is the first on the page to use."""
        text = "" if text is None else str(text)
        return (" " if self.lang == "en" else "").join([text, *self.new_terms(text)])

    def para(self, text, css: str = "") -> str:
        text = self.explain(text)
        return f'<p class="{_h(css)}">{_h(text)}</p>' if css else f"<p>{_h(text)}</p>"

    def bullets(self, items: Sequence) -> str:
        items = [self.explain(i) for i in items if i]
        if not items:
            return ""
        return "<ul>" + "".join(f"<li>{_h(i)}</li>" for i in items) + "</ul>"

    @contextlib.contextmanager
    def chart_context(self):
        import matplotlib

        rc = {"font.size": 9, "axes.titlesize": 10}
        if self.family:
            rc.update({"font.family": "sans-serif", "font.sans-serif": [self.family, "DejaVu Sans"],
                       "axes.unicode_minus": False})
        with matplotlib.rc_context(rc):
            yield

    def image(self, draw, alt: str, caption: str = "", png: bytes | None = None) -> str:
        """A figure with the PNG drawn by ``draw()`` (a matplotlib Figure, made in the chart font) embedded."""
        if png is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            with self.chart_context():
                fig = draw()
                FigureCanvasAgg(fig)
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", dpi=DPI)
            png = buffer.getvalue()
        width, height = _png_size(png)
        self.images += 1
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{_h(caption)}</figcaption>" if caption else ""
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{_h(alt)}" width="{width}" '
                f'height="{height}" loading="eager">{cap}</figure>')

    # ------------------------------------------------------------------ page

    def of(self, kind: str) -> list[ResultFolder]:
        return [f for f in self.folders if f.kind == kind]

    def render(self) -> str:
        self._check_models()
        others = self.of("other")
        if others:
            self.notes.append(self.t("other_folders", folders=", ".join(str(f.path) for f in others)))
        if self.lang == "zh":
            key = "font_ok" if self.family else "font_missing"
            self.notes.append(" / ".join(dict.fromkeys([self.t(key, font=self.family), TEXT["en"][key].format(font=self.family)])))
        from sim.present.report_why import why_section

        sections = [("summary", self.t("summary"), self.summary())]
        builders = {"run": self.runs_section, "sweep": self.sweeps_section, "sensitivity": self.sensitivity_section,
                    "reach": self.reach_section, "consistency": self.consistency_section,
                    "discovery": self.discovery_section, "loops": lambda: why_section(self),
                    "calibration": lambda: calibration_section(self, self.of("calibration")),
                    "hindcast": lambda: hindcast_section(self, self.of("hindcast"))}
        from sim.model.loader import announce_if_slow

        for kind in KINDS:
            if self.of(kind):  # a section that takes seconds (many charts) is announced
                with announce_if_slow(f"report: {len(self.of(kind))} {kind} folder(s) ..."):
                    sections.append((kind, self.t(f"sec_{kind}"), builders[kind]()))
        sections.append(("assumptions", self.t("sec_assumptions"), self.assumptions_section()))
        sections.append(("folders", self.t("sec_folders"), self.folders_section()))
        date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        kinds = ", ".join(self.t(f"kind_{k}") for k in (*KINDS, "other") if self.of(k))
        head = [
            "<!DOCTYPE html>",
            f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="{GENERATOR}">',
            f"<title>{_h(self.t('title'))}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{_h(self.t('title'))}</h1>",
            self.para(self.t("subtitle"), "subtitle"),
            self.para(self.t("generated", date=date, n=len(self.folders), kinds=kinds, sha=self.model.sha256[:12] + "…"),
                      "meta"),
            "</header>",
        ]
        nav = ["<nav>", f"<h2>{_h(self.t('contents'))}</h2>", "<ol>"]
        nav += [f'<li><a href="#{_h(sid)}">{_h(title)}</a></li>' for sid, title, _ in sections]
        nav += ["</ol>", "</nav>"]
        body = ["<main>"]
        if self.notes:
            body.append(f'<aside class="notes"><h2>{_h(self.t("notes"))}</h2>{self.bullets(self.notes)}</aside>')
        for sid, title, content in sections:
            body.append(f'<section id="{_h(sid)}"><h2>{_h(title)}</h2>{content}</section>')
        body.append("</main>")
        page = "\n".join(head + nav + body + ["</body>", "</html>", ""])
        font = self.font or find_cjk_font()
        face = embedded_face_css(page, font) if font is not None else ""
        if face:  # the glyphs of the page's Chinese characters, first in the font list
            css = CSS.replace("font-family:", f'font-family:"{EMBEDDED_FAMILY}",', 1)
            page = page.replace(f"<style>{CSS}</style>", f"<style>{face}\n{css}</style>", 1)
        return page

    def _check_models(self) -> None:
        other = [f for f in self.folders if f.model_sha and f.model_sha != self.model.sha256]
        if other:
            shas = sorted({f.model_sha[:12] + "…" for f in other})
            self.notes.append(self.t("model_mismatch", n=len(other), shas=", ".join(shas),
                                     sha=self.model.sha256[:12] + "…", folders=", ".join(str(f.path) for f in other)))

    # ------------------------------------------------------------------ data access (cached)

    def run(self, folder: ResultFolder):
        key = ("run", folder.path)
        if key not in self._cache:
            self._cache[key] = read_run(folder.path)
        return self._cache[key]

    def sweep(self, folder: ResultFolder):
        from sim.engine.sweep_folder import read_sweep

        key = ("sweep", folder.path)
        if key not in self._cache:
            self._cache[key] = read_sweep(folder.path)
        return self._cache[key]

    def json_file(self, folder: ResultFolder, name: str) -> dict:
        key = ("json", folder.path, name)
        if key not in self._cache:
            try:
                self._cache[key] = json.loads((folder.path / name).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{folder.path / name}: unreadable: {exc}") from None
        return self._cache[key]

    def csv_file(self, folder: ResultFolder, name: str) -> pd.DataFrame | None:
        path = folder.path / name
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable: {exc}") from None

    def sensitivity(self, folder: ResultFolder) -> dict:
        key = ("sens", folder.path)
        if key not in self._cache:
            self._cache[key] = _read_sensitivity(folder.path)
        return self._cache[key]

    # ================================================================== executive summary

    def summary(self) -> str:
        out = []
        for key, tid in (("q_industry", INDUSTRY), ("q_income", INCOME)):
            answer, evidence = self.target_evidence(tid)
            out.append(f"<h3>{_h(self.t(key))}</h3>")
            out.append(f'<p class="answer"><strong>{_h(self.t("answer"))}:</strong> {_h(self.explain(answer))}</p>')
            out.append(self.bullets(evidence))
        answer, evidence = self.conflict_evidence()
        out.append(f"<h3>{_h(self.t('q_conflict'))}</h3>")
        out.append(f'<p class="answer"><strong>{_h(self.t("answer"))}:</strong> {_h(self.explain(answer))}</p>')
        out.append(self.bullets(evidence))
        return "".join(out)

    def target_evidence(self, tid: str) -> tuple[str, list[str]]:
        """The short answer and the evidence lines for one headline target."""
        target = self.targets.get(tid)
        evidence: list[str] = []
        met_runs, run_names = [], []
        rate_needed = ""
        if target is not None and target.kind == "level":
            base_rate = _needed_rate(target, self._base_value(target))
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
                r = _cagr(run.timeseries[target.variable], target.base_year, target.year)
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
                return _value_at(ts[target.variable], target.base_year)
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
        metrics = [m for m in idx["metric"].unique() if _metric_matches(m, tid)]
        if not metrics:
            return None
        metric = metrics[0]
        score, conf = data["score"], data["conf"]
        rows = idx[idx["metric"] == metric].sort_values(score, ascending=False).head(3)
        items = []
        for r in rows.to_dict("records"):
            ci = f" ± {r[conf]:.2f}" if conf and not _missing(r.get(conf)) else ""
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

    # ================================================================== scenario runs

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
                if r is None or _missing(r.get("met")):
                    row.append(self.t("n.a."))
                    cls.append("na")
                else:
                    row.append(f"{self.num(r['value'], r.get('kind') or 'level')} · {self.verdict(r['met'])}")
                    cls.append("met" if r["met"] else "missed")
            rows.append(row)
            classes.append(cls)
        out = [self.para(self.t("run_intro", n=len(folders))), self.table(headers, rows, classes, "verdicts")]
        charts = []
        for variable in KEY_VARIABLES:
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
            if kind == "level":
                ax.plot([year], [threshold], marker="^" if symbol in ("≥", ">") else "v", color="black", markersize=8,
                        linestyle="none", zorder=5, label=f"{row['id']} {symbol} {format_number(threshold)} ({year:.0f})")
            elif kind == "growth" and series is not None:
                base_year = row.get("base_year")
                base_year = 2020.0 if _missing(base_year) else float(base_year)
                v0 = _value_at(series, base_year)
                if v0 is None or v0 <= 0:
                    continue
                years = np.linspace(base_year, year, 26)
                ax.plot(years, v0 * (1 + threshold) ** (years - base_year), linestyle=":", color="black", linewidth=1.4,
                        zorder=3, label=f"{row['id']} {threshold * 100:+.1f} %/{'年' if self.chart_lang == 'zh' else 'yr'}")

    # ================================================================== sweeps

    def sweeps_section(self) -> str:
        from sim.engine.sweep_folder import read_outcomes

        out = []
        for folder in self.of("sweep"):
            sweep = self.sweep(folder)
            spec = (sweep.manifest.get("extra") or {}).get("sweep") or {}
            content = spec.get("content") or {}
            anchor = self.anchor(f"sweep-{folder.name}")
            out.append(f'<h3 id="{_h(anchor)}">{_h(folder.name)}</h3>')
            ok = sweep.ok
            out.append(self.para(self.t("sweep_intro", name=folder.name, runs=f"{len(ok):,}", failed=f"{int((~ok).sum()):,}",
                                        method=spec.get("method", "?"), seed=spec.get("seed", "?"),
                                        base=content.get("base", "?"), description=content.get("description", ""))))
            factors = spec.get("factors") or []
            if factors:
                rows = [[self.factor(f["name"]), self._kind_word(f["name"]), f.get("design", "")] for f in factors]
                out.append(f"<h4>{_h(self.t('sweep_factors'))}</h4>")
                out.append(self.table([self.t("factor"), self.t("kind"), self.t("sweep_range")], rows))
            rows, classes = [], []
            for r in sweep.summary.to_dict("records"):
                if _missing(r.get("id")) or not r.get("id"):
                    continue
                kind = r.get("kind") or "level"
                share = r.get("share_met")
                rows.append([r["id"], self.description(r["id"], r.get("description", "")), self.threshold_text(r),
                             self.pct(share, 2), self.num(r.get("q50"), kind),
                             f"{self.num(r.get('q05'), kind)} – {self.num(r.get('q95'), kind)}"])
                classes.append([None, "desc", None, "met" if not _missing(share) and share >= 0.5 else
                                ("missed" if not _missing(share) else "na"), None, None])
            out.append(self.table([self.t("id"), self.t("target"), self.t("threshold"), self.t("share_met"),
                                   self.t("median"), self.t("range90")], rows, classes, "verdicts"))
            charts = []
            targets = sweep.targets
            for variable in [v for v in KEY_VARIABLES if v in sweep.variables]:
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

    # ================================================================== sensitivity

    def sensitivity_section(self) -> str:
        out = []
        for folder in self.of("sensitivity"):
            data = self.sensitivity(folder)
            anchor = self.anchor(f"sensitivity-{folder.name}")
            out.append(f'<h3 id="{_h(anchor)}">{_h(folder.name)}</h3>')
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
                metrics = _ordered_metrics([m for m in idx["metric"].unique()
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
                        row.append("-" if _missing(v) else f"{v:.3f}" + ("" if _missing(c) else f" ± {c:.3f}"))
                    rows.append(row)
                shown = SCORE_NAMES.get(score, score)
                out.append(self.para(self.t("sens_rank", score=shown)))
                out.append(self.table([self.t("rank"), self.t("factor"), self.t("kind"), *metrics], rows, css="ranking"))
                heat = self.t("sens_heat_relative" if score == "mu_star" else "sens_heat", score=shown)
                out.append(self.image(lambda t=table.loc[order], s=score: self._heat_figure(t, s), alt=heat, caption=heat))
            oat = data.get("oat")
            if oat is not None:
                charts = []
                ordered = _ordered_metrics(list(oat["metric"].unique()))
                ordered = sorted(ordered, key=lambda m: "gap" in str(m))  # a gap swings as its value does
                for metric in ordered[:3]:
                    sub = oat[(oat["metric"] == metric) & oat[["low", "high"]].notna().all(axis=1)]
                    if sub.empty:
                        continue
                    charts.append(self.image(lambda s=sub, m=metric: self._tornado_figure(s, m),
                                             alt=f"{self.t('sens_tornado')}: {metric}",
                                             caption=f"{self.t('sens_tornado')}: {metric}"))
                if charts:
                    out.append(f"<h4>{_h(self.t('sens_tornado'))}</h4>")
                    out.append('<div class="charts">' + "".join(charts) + "</div>")
            embedded = data.get("pngs", [])
            if embedded:
                out.append(f"<h4>{_h(self.t('sens_embedded'))}</h4>")
                out.append('<div class="charts">' + "".join(
                    self.image(None, alt=p.name, caption=p.name, png=p.read_bytes()) for p in embedded) + "</div>")
            conv = data.get("convergence")
            if conv is not None and {"flagged", "matters"} <= set(conv.columns):
                out.append(f"<h4>{_h(self.t('sens_convergence'))}</h4>")
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
                    out.append(self.table(cols, [[_cell(v) for v in r] for r in shown[cols].itertuples(index=False)]))
        return "".join(out)

    def _sens_factors(self, data: dict) -> list[str]:
        idx = data.get("indices")
        if idx is not None:
            return list(dict.fromkeys(idx["factor"]))
        oat = data.get("oat")
        return list(dict.fromkeys(oat["factor"])) if oat is not None else []

    def _heat_figure(self, table: pd.DataFrame, score: str):
        from matplotlib.figure import Figure

        from sim.present.plots import heat_values

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

    # ================================================================== reach

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
            out.append(f'<h3 id="{_h(anchor)}">{_h(head)}</h3>')
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
                classes.append([None, None, None, None, None, _position_class(r["record_position"]),
                                _position_class(r["plan_position"])])
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
                out.append(f"<h4>{_h(self.t('reach_chosen'))}</h4>")
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

    # ================================================================== consistency

    def consistency_section(self) -> str:
        out = []
        for folder in self.of("consistency"):
            d = self.json_file(folder, "consistency.json")
            anchor = self.anchor(f"consistency-{folder.name}")
            out.append(f'<h3 id="{_h(anchor)}">{_h(folder.name)}</h3>')
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
                out.append(f"<h4>{_h(self.t('cons_s4'))}</h4>")
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

    # ================================================================== discovery

    def discovery_section(self) -> str:
        from sim.analysis.discovery import LABELS, box_figure, read_discovery, tradeoff_figure

        out = []
        for folder in self.of("discovery"):
            data = read_discovery(folder.path)
            d = data["json"]
            traj = data["trajectory"]
            c = d["cases"]
            targets = " ".join(t["id"] for t in d["targets"])
            anchor = self.anchor(f"discovery-{folder.name}")
            out.append(f'<h3 id="{_h(anchor)}">{_h(folder.name)}</h3>')
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
            chart_labels = {**LABELS, **_discovery_labels(self.chart_lang)}
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
                qp = " / ".join(("-" if _missing(q) else (f"{q:.1e}" if q < 0.001 else f"{q:.3f}"))
                                for q in (r["qp_lower"], r["qp_upper"]))
                base = r.get("base", r.get("default"))
                inside = r.get("base_inside", r.get("default_inside"))
                where = self.t("inside") if inside else self.t("outside")
                default = "-" if _missing(base) else f"{format_number(base)} ({where})"
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

    # ================================================================== assumptions

    def assumptions_section(self) -> str:
        from sim.specs.scenario import lever_rows

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
        out.append(f"<h3>{_h(self.t('assume_targets'))}</h3>")
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


# --------------------------------------------------------------------------- helpers


def _cell(value) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def _position_class(position: str) -> str | None:
    return {"inside": "met", "above": "missed", "below": "missed"}.get(position)


def _value_at(series: pd.Series, year: float) -> float | None:
    s = series.dropna()
    if s.empty:
        return None
    times = s.index.to_numpy(dtype=float)
    if not times[0] - 1e-6 <= year <= times[-1] + 1e-6:
        return None
    return float(np.interp(year, times, s.to_numpy(dtype=float)))


def _cagr(series: pd.Series, start: int, end: int) -> float | None:
    a, b = _value_at(series, start), _value_at(series, end)
    if a is None or b is None or a <= 0 or b < 0:
        return None
    return (b / a) ** (1 / (end - start)) - 1


def _needed_rate(target: Target, base_value: float | None) -> float | None:
    """The growth per year a level target needs from its base-year value."""
    if base_value is None or base_value <= 0 or target.threshold <= 0 or target.comparison not in (">=", ">"):
        return None
    return (target.threshold / base_value) ** (1 / (target.year - target.base_year)) - 1


def _metric_matches(metric, tid: str) -> bool:
    return bool(re.match(rf"^{re.escape(tid)}(?![0-9A-Za-z])", str(metric)))


def _ordered_metrics(metrics: list) -> list:
    """Metrics about the headline targets first (T1, T7, T3), the rest in their order."""
    first = [m for tid in (INDUSTRY, INCOME, "T3") for m in metrics if _metric_matches(m, tid)]
    return list(dict.fromkeys(first + list(metrics)))


def _read_sensitivity(folder: Path) -> dict:
    """A sensitivity study folder (:mod:`sim.analysis.sensitivity`) read for the report.

    ``indices`` (``metric``, ``factor`` and the score: ``ST`` with ``ST_conf``
    for Sobol' and FAST, ``mu_star`` with ``mu_star_conf`` for Morris; second-order
    rows dropped), ``score``/``conf`` (those column names), ``oat`` (long:
    ``metric, factor, low, high, base`` from ``oat.csv``'s one-at-a-time runs),
    ``convergence`` (``convergence.csv``), ``metrics`` (the manifest's
    definitions), ``method``, ``n``, ``warnings`` and the folder's PNGs to embed
    where a chart cannot be drawn again from the data.
    """
    manifest = read_manifest(folder) or {}
    settings = ((manifest.get("extra") or {}).get("sensitivity") or {}) if isinstance(manifest.get("extra"), dict) else {}
    out: dict = {"indices": None, "score": None, "conf": None, "oat": None, "convergence": None, "pngs": [],
                 "metrics": list(settings.get("metrics") or []), "method": settings.get("method"),
                 "n": settings.get("n"), "warnings": list(settings.get("warnings") or [])}

    def read(name: str, **kw) -> pd.DataFrame | None:
        path = folder / name
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path, **kw)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable: {exc}") from None

    idx = read("indices.csv")
    if idx is not None and {"metric", "factor"} <= set(idx.columns):
        if "other_factor" in idx.columns:
            idx = idx[idx["other_factor"].isna()]
        score = next((c for c in ("ST", "mu_star", "S1") if c in idx.columns), None)
        if score is not None:
            idx = idx.copy()
            idx[score] = pd.to_numeric(idx[score], errors="coerce")
            conf = f"{score}_conf" if f"{score}_conf" in idx.columns else None
            out.update(indices=idx, score=score, conf=conf)
    oat = read("oat.csv", keep_default_na=False, na_values=[""])
    if oat is not None and {"factor", "setting"} <= set(oat.columns):
        oat["factor"] = oat["factor"].fillna("")
        fixed = {"factor", "setting", "value", "base_value", "error"}
        metric_columns = [c for c in oat.columns if c not in fixed]
        base = oat[oat["setting"] == "base"]
        rows = []
        for metric in metric_columns:
            b = float(pd.to_numeric(base[metric], errors="coerce").iloc[0]) if not base.empty else math.nan
            for factor, group in oat[oat["factor"] != ""].groupby("factor", sort=False):
                values = {r["setting"]: pd.to_numeric(pd.Series([r[metric]]), errors="coerce").iloc[0]
                          for r in group.to_dict("records")}
                rows.append({"metric": metric, "factor": factor, "low": values.get("low", math.nan),
                             "high": values.get("high", math.nan), "base": b})
        if rows:
            out["oat"] = pd.DataFrame(rows)
    out["convergence"] = read("convergence.csv")
    wanted = []
    if out["oat"] is None:
        wanted.append("tornado")
    if out["indices"] is None:
        wanted += ["heatmap", "indices_", "morris_"]
    out["pngs"] = [p for p in sorted(folder.glob("*.png")) if any(w in p.name.lower() for w in wanted)][:6]
    return out


def _discovery_labels(lang: str) -> dict:
    if lang != "zh":
        return {}
    return {
        "tradeoff_title": "PRIM 剥离轨迹：覆盖率与密度",
        "coverage": "覆盖率（关注样本落在区域内的比例）",
        "density": "密度（区域内运行属于关注样本的比例）",
        "res_dim": "限定的因素个数",
        "threshold": "密度阈值",
        "chosen": "选定区域",
        "box_title": "区域 {box}：覆盖率 {coverage}，密度 {density}",
        "position": "在扫描范围中的位置",
        "qp": "拟 p 值",
        "lever": "政策杠杆",
        "uncertain": "不确定参数",
    }


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise SimError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1180px;padding:0 1.2em 3em;color:#1d1d1d;line-height:1.45;font-size:15px}
header{border-bottom:3px solid #1f5f9f;margin-bottom:1em}
h1{font-size:1.7em;margin:.8em 0 .2em}h2{font-size:1.35em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1.12em;margin-top:1.4em}h4{font-size:1em;margin:1.1em 0 .4em}
.subtitle{color:#444;margin:.2em 0}.meta,.small{color:#666;font-size:.85em}
nav ol{columns:2;font-size:.95em}
.notes{background:#fff8e1;border:1px solid #f0d98a;padding:.3em 1em;margin:1em 0}
.answer{background:#eef4fb;border-left:4px solid #1f5f9f;padding:.5em .8em}
.warning{background:#fdecea;border-left:4px solid #c0392b;padding:.5em .8em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.84em;width:100%}
th,td{border:1px solid #d5d5d5;padding:.25em .45em;vertical-align:top;text-align:left}
th{background:#f1f3f6}
td.met{background:#dff1e4}td.missed{background:#f9dedb}td.na{background:#eeeeee;color:#555}
td.lever{font-weight:600}td.desc{max-width:28em}
table.catalogue td.desc{font-size:.92em;color:#333}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:.8em}
figure{margin:.4em 0}figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.82em;color:#555}
"""
