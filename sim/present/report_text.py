"""The report's words and style: every label and sentence in English and Chinese, the terms it explains, its CSS.

Kept apart from the sections (:mod:`sim.present.report` and the ``report_*``
modules) so that a translation is one file. The calibration and hindcast
sections keep their own texts in their modules; :data:`TEXT` includes them.
"""

from __future__ import annotations

from sim.present.report_calibration import TEXT as CALIBRATION_TEXT
from sim.present.report_hindcast import TEXT as HINDCAST_TEXT

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
