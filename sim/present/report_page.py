"""The report's page: text, number and table helpers, chart embedding, and reading the folders' files.

:class:`PageBase` is what every section of the report uses (``page.t``,
``page.num``, ``page.table``, ``page.image``, ``page.run(folder)``...); the
sections are mixins in :mod:`sim.present.report_answers`,
:mod:`sim.present.report_evidence` and :mod:`sim.present.report_questions`.
Module-level helpers read result-folder tables for several sections.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import logging
import math
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from sim.errors import InputError, SimError
from sim.present.fonts import chart_family
from sim.engine.folders import ResultFolder, read_manifest
from sim.engine.results import read_run
from sim.plan.targets import Target, format_number, headline_ids, load_targets
from sim.plan.targets import cagr as targets_cagr
from sim.plan.targets import value_at as targets_value_at

from sim.present.report_text import TERMS, TEXT, VARIABLE_ZH

log = logging.getLogger(__name__)

#: Resolution of the charts embedded in the page.
DPI = 100


class Raw(str):
    """Text that is already HTML (escaped where needed); :func:`escape` leaves it alone."""


def escape(text) -> str:
    """Escaped HTML text of ``text`` (a :class:`Raw` is kept as it is)."""
    if isinstance(text, Raw):
        return str(text)
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return html.escape(str(text), quote=True)


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def slug_of(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def table_cell(value) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def position_class(position: str) -> str | None:
    return {"inside": "met", "above": "missed", "below": "missed"}.get(position)


def value_at(series: pd.Series, year: float) -> float | None:
    """The value of ``series`` at ``year`` as the targets read it (:func:`sim.plan.targets.value_at`), None when
    there is none."""
    try:
        return targets_value_at(series.dropna(), year)
    except LookupError:
        return None


def cagr(series: pd.Series, start: int, end: int) -> float | None:
    """The growth per year of ``series`` from ``start`` to ``end`` (:func:`sim.plan.targets.cagr`), None when
    undefined."""
    try:
        return targets_cagr(series.dropna(), start, end, str(series.name))
    except LookupError:
        return None


def needed_rate(target: Target, base_value: float | None) -> float | None:
    """The growth per year a level target needs from its base-year value."""
    if base_value is None or base_value <= 0 or target.threshold <= 0 or target.comparison not in (">=", ">"):
        return None
    return (target.threshold / base_value) ** (1 / (target.year - target.base_year)) - 1


def metric_matches(metric, tid: str) -> bool:
    return bool(re.match(rf"^{re.escape(tid)}(?![0-9A-Za-z])", str(metric)))


def ordered_metrics(metrics: list) -> list:
    """Metrics about the headline targets first (``headline = true``: T1, T7), then T3, the rest in their order."""
    first = [m for tid in (*headline_ids(), "T3") for m in metrics if metric_matches(m, tid)]
    return list(dict.fromkeys(first + list(metrics)))


def read_sensitivity_tables(folder: Path) -> dict:
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


def discovery_labels(lang: str) -> dict:
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


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise SimError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


class PageBase:
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
        if is_missing(x):
            return "-"
        return f"{float(x) * 100:.{digits}f}{'%' if self.lang == 'zh' else ' %'}"

    def gap(self, g) -> str:
        return "-" if is_missing(g) else f"{float(g):+.3f}"

    def join(self, items: Sequence[str]) -> str:
        items = [str(i) for i in items if str(i)]
        if not items:
            return "–"
        return ("、" if self.lang == "zh" else ", ").join(items)

    def verdict(self, met) -> str:
        if is_missing(met):
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
        base = slug_of(base)
        name, i = base, 2
        while name in self._ids:
            name, i = f"{base}-{i}", i + 1
        self._ids.add(name)
        return name

    def table(self, headers: Sequence[str], rows: Sequence[Sequence], classes: Sequence[Sequence[str | None]] | None = None,
              css: str = "") -> str:
        terms = self.new_terms(" ".join(str(h) for h in headers))  # a term first met as a column heading
        out = [f'<p class="small">{escape(" ".join(terms))}</p>' if terms else ""]
        out += [f'<table class="{escape(css)}">' if css else "<table>", "<thead><tr>"]
        out += [f"<th>{escape(h)}</th>" for h in headers]
        out.append("</tr></thead><tbody>")
        for i, row in enumerate(rows):
            cells = []
            for j, cell in enumerate(row):
                cls = classes[i][j] if classes is not None and j < len(classes[i]) else None
                cells.append(f'<td class="{escape(cls)}">{escape(cell)}</td>' if cls else f"<td>{escape(cell)}</td>")
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
        return f'<p class="{escape(css)}">{escape(text)}</p>' if css else f"<p>{escape(text)}</p>"

    def bullets(self, items: Sequence) -> str:
        items = [self.explain(i) for i in items if i]
        if not items:
            return ""
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"

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
        width, height = png_size(png)
        self.images += 1
        data = base64.b64encode(png).decode("ascii")
        cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}" width="{width}" '
                f'height="{height}" loading="eager">{cap}</figure>')

    def of(self, kind: str) -> list[ResultFolder]:
        return [f for f in self.folders if f.kind == kind]

    def _check_models(self) -> None:
        other = [f for f in self.folders if f.model_sha and f.model_sha != self.model.sha256]
        if other:
            shas = sorted({f.model_sha[:12] + "…" for f in other})
            self.notes.append(self.t("model_mismatch", n=len(other), shas=", ".join(shas),
                                     sha=self.model.sha256[:12] + "…", folders=", ".join(str(f.path) for f in other)))

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
            self._cache[key] = read_sensitivity_tables(folder.path)
        return self._cache[key]

    def summary(self) -> str:
        out = []
        # the summary's two questions, about the headline targets in the targets file's order (T1, then T7)
        headline = [tid for tid, t in self.targets.items() if t.headline]
        for key, tid in zip(("q_industry", "q_income"), headline):
            answer, evidence = self.target_evidence(tid)
            out.append(f"<h3>{escape(self.t(key))}</h3>")
            out.append(f'<p class="answer"><strong>{escape(self.t("answer"))}:</strong> {escape(self.explain(answer))}</p>')
            out.append(self.bullets(evidence))
        answer, evidence = self.conflict_evidence()
        out.append(f"<h3>{escape(self.t('q_conflict'))}</h3>")
        out.append(f'<p class="answer"><strong>{escape(self.t("answer"))}:</strong> {escape(self.explain(answer))}</p>')
        out.append(self.bullets(evidence))
        return "".join(out)
