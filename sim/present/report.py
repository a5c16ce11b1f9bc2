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

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from sim.errors import InputError
from sim.present.report_calibration import calibration_section
from sim.present.report_hindcast import hindcast_section
from sim.present.fonts import EMBEDDED_FAMILY, embedded_face_css, find_cjk_font
from sim.engine.folders import KINDS, ResultFolder, collect_folders, folder_kind
from sim.engine.results import atomic_write_text

from sim.present.report_answers import AnswerSections
from sim.present.report_evidence import EvidenceSections
from sim.present.report_page import PageBase, escape
from sim.present.report_questions import QuestionSections
from sim.present.report_text import CSS, TEXT

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

#: The page's ``<meta name="generator">``: how a file is recognised as a report (:func:`is_report`).
GENERATOR = "shuangta report"


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


# --------------------------------------------------------------------------- helpers


class _Page(AnswerSections, EvidenceSections, QuestionSections, PageBase):
    """The whole page: every section, in the order :meth:`render` puts them."""

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
        from sim.model.files import announce_if_slow

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
            f"<title>{escape(self.t('title'))}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{escape(self.t('title'))}</h1>",
            self.para(self.t("subtitle"), "subtitle"),
            self.para(self.t("generated", date=date, n=len(self.folders), kinds=kinds, sha=self.model.sha256[:12] + "…"),
                      "meta"),
            "</header>",
        ]
        nav = ["<nav>", f"<h2>{escape(self.t('contents'))}</h2>", "<ol>"]
        nav += [f'<li><a href="#{escape(sid)}">{escape(title)}</a></li>' for sid, title, _ in sections]
        nav += ["</ol>", "</nav>"]
        body = ["<main>"]
        if self.notes:
            body.append(f'<aside class="notes"><h2>{escape(self.t("notes"))}</h2>{self.bullets(self.notes)}</aside>')
        for sid, title, content in sections:
            body.append(f'<section id="{escape(sid)}"><h2>{escape(title)}</h2>{content}</section>')
        body.append("</main>")
        page = "\n".join(head + nav + body + ["</body>", "</html>", ""])
        font = self.font or find_cjk_font()
        face = embedded_face_css(page, font) if font is not None else ""
        if face:  # the glyphs of the page's Chinese characters, first in the font list
            css = CSS.replace("font-family:", f'font-family:"{EMBEDDED_FAMILY}",', 1)
            page = page.replace(f"<style>{CSS}</style>", f"<style>{face}\n{css}</style>", 1)
        return page
