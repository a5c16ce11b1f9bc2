"""`shuangta report`: one self-contained HTML page from result folders of every kind.

The folders are made by the real commands' library functions under tmp_path
(two scenario runs, a small sweep, a small sensitivity study, reach T1 and
T7, consistency and discovery on few levers and samples), so the page is
tested against the files those commands write. Expectations come from the
folders themselves (numbers read back from their CSV/JSON and looked for in
the page), from the PNG format (every image decodes to the size its tag
states), from an HTML parser (tags balanced, nothing external) and, where
Debian's chromium is installed, from the browser: it renders the page, every
image decodes (naturalWidth > 0) and every table row is in the DOM.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import SCENARIOS
from sim.cli import cli
from sim.errors import InputError
from test_discovery import PRIM, write_spec

PNG = b"\x89PNG\r\n\x1a\n"
#: Few levers and samples keep reach and consistency to about a second each.
LEVERS = ["Industrial Demand Index", "Realisation Improvement", "Outside Capital Target", "Plan Project List",
          "Park Investment Realisation", "Consumer Demand Index", "Household Transfer Growth"]
SENSITIVITY = """
schema_version = 1
name = "report_small"
description = "Tiny Sobol' study for the report tests"
base = "plan"
seed = 3
method = "sobol"
n = 16

[[factor]]
name = "Realisation Improvement"
bounds = [0.5, 2.5]

[[factor]]
name = "Capital Elasticity"
bounds = [0.3, 0.5]

[[factor]]
name = "Inflation Rate"
bounds = [0.0, 0.03]

[[metric]]
target = "T1"

[[metric]]
target = "T7"
"""


# --------------------------------------------------------------------------- result folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory, model):
    from sim.analysis.consistency import check_consistency, write_consistency
    from sim.analysis.reach import reach
    from sim.analysis.reach_output import write_reach
    from sim.engine.run import run_scenarios
    from sim.engine.sweep import run_sweep

    root = tmp_path_factory.mktemp("report")
    out = {"root": root}
    runs = run_scenarios([SCENARIOS / "baseline.toml", SCENARIOS / "plan.toml"], out=root / "runs",
                         command=["shuangta", "run"])
    out["runs"] = [r.folder for r in runs]
    out["sweep"] = run_sweep(write_spec(root), root / "sweeps" / "discovery_small", workers=1).folder
    out["reach"] = []
    for tid in ("T1", "T7"):
        result = reach(model, [tid], LEVERS, samples=64, starts=2)
        out["reach"].append(write_reach(result, root / "reach" / tid, ["shuangta", "reach", tid]))
    result = check_consistency(model, LEVERS, target_ids=["T1", "T3", "T7", "T8", "T14"], samples=64, starts=1)
    out["consistency"] = write_consistency(result, root / "consistency", ["shuangta", "consistency"])
    if PRIM:
        from sim.analysis.discovery import discover
        from sim.analysis.discovery_output import write_discovery

        result = discover(out["sweep"], ["T1", "T7"], model=model)
        out["discovery"] = write_discovery(result, root / "discovery" / "small_T1_T7", ["shuangta", "discover"])
    try:
        from sim.analysis.sensitivity import run_sensitivity
    except ImportError:  # pragma: no cover - the sensitivity module is optional for the report
        out["sensitivity"] = None
    else:
        spec = root / "report_small.toml"
        spec.write_text(SENSITIVITY, encoding="utf-8")
        out["sensitivity"] = run_sensitivity(spec, root / "sensitivity" / "report_small", workers=1).folder
    return out


def all_folders(f: dict) -> list[Path]:
    paths = [*f["runs"], f["sweep"], *f["reach"], f["consistency"]]
    paths += [f[k] for k in ("discovery", "sensitivity") if f.get(k)]
    return paths


@pytest.fixture(scope="module")
def english(folders, tmp_path_factory):
    from sim.present.report import build_report, write_report

    report = build_report(all_folders(folders), lang="en")
    path = write_report(report, tmp_path_factory.mktemp("page") / "report.html")
    return report, path


# --------------------------------------------------------------------------- reading the page back


class Page(HTMLParser):
    """Tags (checked balanced), tables (rows of cell texts), images, links, ids, visible text."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[dict] = []
        self.hrefs: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.doctype = None
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if "style" not in self.stack[-1:]:
            self.text.append(data)

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())

    def table_with(self, *headers: str) -> list[list[str]]:
        for table in self.tables:
            if table and all(h in table[0] for h in headers):
                return table
        raise AssertionError(f"no table with headers {headers}")


def check_images(page: Page) -> None:
    assert page.images, "no images"
    for img in page.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,"), src[:40]
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == PNG and data[12:16] == b"IHDR"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (int(img["width"]), int(img["height"])) == (width, height)
        assert width > 100 and height > 100
        assert img.get("alt")


def check_self_contained(text: str, page: Page) -> None:
    assert page.doctype is not None and page.doctype.lower() == "doctype html"
    assert page.problems == []
    assert page.tags[:3] == ["html", "head", "meta"] and '<meta charset="utf-8">' in text
    assert "<script" not in text and "<link" not in text
    assert text.count("url(") == text.count("url(data:font/woff;base64,")  # only the embedded glyphs
    assert all(h.startswith("#") for h in page.hrefs)
    assert all(h[1:] in page.ids for h in page.hrefs)
    assert len(page.ids) == len(set(page.ids))


# --------------------------------------------------------------------------- the English page


def test_english_page_is_valid_and_self_contained(english):
    report, path = english
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    check_images(page)
    assert len(page.images) == report.images
    assert '<html lang="en">' in text
    wanted = {"summary", "run", "sweep", "reach", "consistency", "assumptions", "folders"}
    if PRIM:
        wanted.add("discovery")
    assert wanted <= set(page.ids)


def test_english_page_numbers_come_from_the_folders(folders, english):
    from sim.engine.results import read_targets_csv
    from sim.engine.sweep_folder import read_sweep
    from sim.plan.targets import format_number

    report, path = english
    page = Page(path.read_text(encoding="utf-8"))
    plain = page.plain
    # verdict table: every scenario's value of every target, formatted from targets.csv
    table = page.table_with("baseline", "plan")
    rows = {r[0]: r for r in table[1:]}
    for j, folder in enumerate(folders["runs"]):
        for r in read_targets_csv(folder / "targets.csv").to_dict("records"):
            cell = rows[r["id"]][3 + j]
            if r["met"] is None:
                assert cell == "n.a."
            else:
                assert cell == f"{format_number(r['value'], r['kind'])} · {'MET' if r['met'] else 'MISSED'}"
    # sweep: runs meeting T1 and T7
    summary = read_sweep(folders["sweep"]).summary.set_index("id")
    for tid in ("T1", "T7"):
        assert f"{tid} is met in {int(summary.at[tid, 'met']):,} runs" in plain
    # reach: the distance and the status of each folder
    for folder in folders["reach"]:
        d = json.loads((folder / "reach.json").read_text(encoding="utf-8"))
        tid = d["targets"][0]
        if d["status"] == "reachable":
            assert f"reach {tid} from plan: reachable inside the lever ranges, distance {d['distance']:.3f}" in plain
        else:
            assert d["status"] == "unreachable"
            assert (f"reach {tid} from plan: NOT reachable inside the lever ranges; the best reachable worst "
                    f"normalised gap is {d['worst_normalised_gap']:+.3f}") in plain
        assert f"distance {d['distance']:.4f} in range units" in plain
    needed = [t for t in page.tables if t and "needed" in t[0]]
    assert len(needed) == len(folders["reach"])
    for table, folder in zip(needed, folders["reach"]):
        changed = pd.read_csv(folder / "reach.csv").query("changed")
        assert [r[0] for r in table[1:]] == list(changed["lever"])
    # consistency: pairs, those infeasible, the full set
    d = json.loads((folders["consistency"] / "consistency.json").read_text(encoding="utf-8"))
    assert f"{d['feasible_pairs']} of {d['pairs']} pairs can be met together" in plain
    assert d["unreachable_alone"], "the test's consistency folder should hold a target that cannot be met alone"
    line = plain.split("Cannot be met even alone: ", 1)[1].split(". ", 1)[0]
    assert re.findall(r"(T\d+[A-Z]?) \(", line) == d["unreachable_alone"]
    matrix = pd.read_csv(folders["consistency"] / "matrix.csv")
    from sim.plan.targets import format_number, load_targets

    by_id = {t.id: t for t in load_targets()}
    for tid in d["unreachable_alone"]:  # the best value alone, against the threshold
        alone = matrix[(matrix["a"] == tid) & (matrix["b"] == tid)].iloc[0]
        assert f"{tid} ({format_number(alone['value_a'], by_id[tid].kind)} / " in line
    # discovery: the chosen box and the "no run meets" warning
    if PRIM:
        d = json.loads((folders["discovery"] / "discovery.json").read_text(encoding="utf-8"))
        assert f"Chosen box {d['chosen_box']}" in plain and "NO RUN MEETS T1 T7" in plain
    # sensitivity: the ranking names the factor with the largest ST for T1
    if folders.get("sensitivity"):
        idx = pd.read_csv(folders["sensitivity"] / "indices.csv")
        top = idx[idx["metric"] == "T1"].sort_values("ST", ascending=False).iloc[0]
        ranking = page.table_with("rank", "factor")
        assert ranking[1][1] == top["factor"] or ranking[1][1].startswith(top["factor"])
        assert "Sensitivity (" in plain


def test_assumptions_list_every_lever_and_target(english, model):
    from sim.plan.targets import load_targets

    _, path = english
    page = Page(path.read_text(encoding="utf-8"))
    catalogue = page.table_with("lever", "Chinese term", "range", "source")
    names = {r[0] for r in catalogue[1:]}
    assert names == set(model.catalogue)
    row = next(r for r in catalogue[1:] if r[0] == "Outside Capital Target")
    lev = model.catalogue["Outside Capital Target"]
    assert row[1] == lev.chinese and row[7] == " ".join(lev.source.split())
    targets = page.table_with("id", "arithmetic", "evaluable")
    assert [r[0] for r in targets[1:]] == [t.id for t in load_targets()]


# --------------------------------------------------------------------------- Chinese


def test_chinese_page_without_a_cjk_font(folders, tmp_path):
    from sim.present.report import build_report, write_report
    from sim.present.report_text import TEXT

    report = build_report(all_folders(folders), lang="zh", font=None)
    text = write_report(report, tmp_path / "zh.html").read_text(encoding="utf-8")
    page = Page(text)
    check_self_contained(text, page)
    check_images(page)
    notice = f'{TEXT["zh"]["font_missing"]} / {TEXT["en"]["font_missing"]}'  # in both languages
    assert report.font is None and notice in report.notes
    assert '<html lang="zh-CN">' in text and notice in page.plain
    for heading in ("摘要", "情景运行结果", "假设与来源", TEXT["zh"]["q_industry"]):
        assert heading in page.plain
    assert "计划到 2025 年底，规模以上实现产值 165 亿元" in page.plain  # T1's description_zh
    assert "京津冀招商" in page.plain  # a Chinese term of the lever catalogue
    if PRIM:
        d = json.loads((folders["discovery"] / "discovery.json").read_text(encoding="utf-8"))
        assert d["rule"] in ("densest", "last_reaching")
        assert TEXT["zh"][f"disc_rule_{d['rule']}"].split("{")[0] in page.plain


def test_chinese_page_with_a_cjk_font(folders, tmp_path):
    from sim.present.fonts import covers, find_cjk_font, packaged_font
    from sim.present.report import build_report, write_report
    from sim.present.report_text import TEXT

    font = find_cjk_font()
    assert font is not None and font == packaged_font()  # a dependency ships it: no system font needed
    assert covers(font)
    report = build_report(all_folders(folders), lang="zh")
    text = write_report(report, tmp_path / "zh.html").read_text(encoding="utf-8")
    assert report.font == font
    assert TEXT["zh"]["font_missing"] not in text
    assert f'{TEXT["zh"]["font_ok"].format(font="Noto Sans CJK SC")} / ' in text
    assert TEXT["en"]["font_ok"].format(font="Noto Sans CJK SC") in text
    check_images(Page(text))


def test_a_latin_font_is_not_taken_for_a_cjk_font():
    from matplotlib import font_manager

    from sim.present.fonts import covers

    dejavu = font_manager.findfont("DejaVu Sans", fallback_to_default=False)
    assert not covers(dejavu)
    with pytest.raises(InputError, match="no Chinese glyphs"):
        from sim.present.report import build_report

        build_report([], lang="zh", font=dejavu)


# --------------------------------------------------------------------------- folders and escaping


def test_collect_folders(folders, tmp_path):
    from sim.present.report import collect_folders

    found = collect_folders([folders["root"]])
    kinds = sorted({f.kind for f in found})
    expected = {"run", "sweep", "reach", "consistency"} | ({"discovery"} if PRIM else set())
    expected |= {"sensitivity"} if folders.get("sensitivity") else set()
    assert set(kinds) == expected
    assert len(found) == len({f.path.resolve() for f in found})
    again = collect_folders([folders["runs"][0], folders["root"]])
    assert len(again) == len(found) and again[0].path == folders["runs"][0]
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError) as err:
        collect_folders([tmp_path / "missing", tmp_path / "empty", tmp_path / "file.txt"])
    message = str(err.value)
    assert "no such folder" in message and "holds none" in message and "not a folder" in message


def test_text_is_escaped(folders, tmp_path):
    from sim.present.report import build_report

    odd = tmp_path / 'x<b>&"y'
    shutil.copytree(folders["runs"][1], odd)
    text = build_report([folders["runs"][0], odd]).html
    assert "<b>" not in text and 'x&lt;b&gt;&amp;&quot;y' in text
    assert Page(text).problems == []


def test_cli(folders, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r" / "report.html"
    result = runner.invoke(cli, ["report", str(folders["root"]), "--lang", "zh", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert runner.invoke(cli, ["report", str(folders["root"])]).exit_code == 2  # --out is required
    result = runner.invoke(cli, ["report", str(tmp_path / "missing"), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no such folder" in result.output
    assert not (tmp_path / "x.html").exists()


# --------------------------------------------------------------------------- in a browser

CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var rows = document.querySelectorAll('table tbody tr').length;
  var m = document.createElement('div');
  m.id = 'render-check';
  m.textContent = 'IMAGES ' + ok + '/' + imgs.length + ' ROWS ' + rows;
  document.body.appendChild(m);
});
</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", *args],
                          capture_output=True, timeout=180, check=False)


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed (apt-get install chromium); "
                                              "the page is checked with html.parser in the other tests")
def test_page_renders_in_chromium(english, tmp_path):
    report, path = english
    text = path.read_text(encoding="utf-8")
    rows = sum(len(t) - 1 for t in Page(text).tables)  # every table has one header row
    checked = tmp_path / "checked.html"
    checked.write_text(text.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    exe = chromium()
    done = browser(exe, tmp_path / "profile", "--virtual-time-budget=15000", "--dump-dom", checked.as_uri())
    dom = done.stdout.decode("utf-8", "replace")
    found = re.search(r'id="render-check">IMAGES (\d+)/(\d+) ROWS (\d+)<', dom)
    assert found, f"no render check in the DOM (exit {done.returncode}): {done.stderr.decode()[-800:]}"
    ok, total, dom_rows = (int(g) for g in found.groups())
    assert ok == total == report.images
    assert dom_rows == rows
    assert "Executive summary" in dom and "T1" in dom
    # a screenshot of the page itself is not blank
    shot = tmp_path / "shot.png"
    browser(exe, tmp_path / "profile", "--window-size=1280,2400", f"--screenshot={shot}", path.as_uri())
    assert shot.is_file() and shot.read_bytes()[:8] == PNG
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 2400 and float(np.std(pixels[..., :3])) > 0.05


# --------------------------------------------------------------------------- Chinese glyphs on any machine


@pytest.fixture(scope="module")
def chinese(folders, tmp_path_factory):
    from sim.present.report import build_report, write_report

    report = build_report(all_folders(folders), lang="zh")
    return report, write_report(report, tmp_path_factory.mktemp("zh") / "zh.html")


def embedded_css(text: str) -> str:
    found = re.search(r"@font-face\{[^}]*\}", text)
    assert found, "no embedded font"
    return found.group(0)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_embeds_every_chinese_glyph_it_uses(lang, chinese, english):
    from sim.present.fonts import EMBEDDED_FAMILY, embedded_glyphs

    _, path = chinese if lang == "zh" else english
    text = path.read_text(encoding="utf-8")
    plain = Page(text).plain
    needed = {c for c in plain if 0x2E80 <= ord(c) <= 0x9FFF or 0xFF00 <= ord(c) <= 0xFFEF}
    assert len(needed) > (200 if lang == "zh" else 10)  # headings, descriptions, the catalogue's Chinese terms
    css = embedded_css(text)
    assert needed <= embedded_glyphs(css)
    assert f'font-family:"{EMBEDDED_FAMILY}",' in text  # the embedded face comes first
    assert "Traceback" not in text


def test_charts_use_a_simplified_chinese_face_of_normal_weight():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from sim.present.fonts import chart_family, packaged_font

    font = packaged_font()
    face = FT2Font(str(font))
    assert (face.family_name, face.style_name) == ("Noto Sans CJK SC", "Regular")
    family = chart_family(font)
    found = font_manager.findfont(font_manager.FontProperties(family=family, weight="normal"))
    assert Path(found).resolve() == font.resolve()
    assert font_manager.FontProperties(fname=found).get_weight() in (400, "normal", "regular")


FONT_SCRIPT = """<script>
window.addEventListener('load', function () {
  document.fonts.ready.then(function () {
    var faces = [];
    document.fonts.forEach(function (f) { faces.push(f.family.replace(/"/g, '') + ':' + f.status); });
    var m = document.createElement('div');
    m.id = 'font-check';
    m.textContent = 'FACES ' + faces.join(',') + ' CHECK ' + document.fonts.check('16px "Shuangta CJK"', '双塔区');
    document.body.appendChild(m);
  });
});
</script>"""


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed (apt-get install chromium); "
                                              "the embedded glyph set is checked without it")
def test_chinese_page_renders_its_own_glyphs_in_chromium(chinese, tmp_path):
    _, path = chinese
    checked = tmp_path / "checked.html"
    checked.write_text(path.read_text(encoding="utf-8").replace("</body>", FONT_SCRIPT + "</body>"), encoding="utf-8")
    done = browser(chromium(), tmp_path / "profile", "--virtual-time-budget=15000", "--dump-dom", checked.as_uri())
    dom = done.stdout.decode("utf-8", "replace")
    found = re.search(r'id="font-check">FACES ([^<]*) CHECK (\w+)<', dom)
    assert found, f"no font check in the DOM (exit {done.returncode}): {done.stderr.decode()[-800:]}"
    assert "Shuangta CJK:loaded" in found.group(1) and found.group(2) == "true"


# --------------------------------------------------------------------------- Morris heat map and terms


def test_heat_values_divide_mu_star_by_each_metric_largest():
    from sim.present.plots_sensitivity import heat_values

    table = pd.DataFrame({"T1": [2.0, 8.0, 4.0], "T7": [300.0, 100.0, 0.0], "flat": [0.0, 0.0, 0.0]},
                         index=["a", "b", "c"])
    relative = heat_values(table, "mu_star")
    assert relative["T1"].tolist() == [0.25, 1.0, 0.5] and relative["T7"].tolist() == [1.0, 1 / 3, 0.0]
    assert relative["flat"].isna().all()
    assert heat_values(table, "ST") is table  # shares of variance are comparable as they are


def test_report_mu_star_heat_map_is_relative_per_metric(model, tmp_path, monkeypatch):
    from sim.present.report import _Page, build_report
    from sim.present.report_text import TEXT
    from sim.analysis.sensitivity import run_sensitivity

    spec = tmp_path / "morris_small.toml"
    spec.write_text(SENSITIVITY.replace('name = "report_small"', 'name = "morris_small"')
                    .replace('method = "sobol"\nn = 16', 'method = "morris"\nn = 4'), encoding="utf-8")
    folder = run_sensitivity(spec, tmp_path / "morris_small", workers=1).folder
    drawn = []
    original = _Page._heat_figure

    def spy(self, table, score):
        fig = original(self, table, score)
        drawn.append((table, score, fig))
        return fig

    monkeypatch.setattr(_Page, "_heat_figure", spy)
    report = build_report([folder], lang="en")
    (table, score, fig), = drawn
    assert score == "mu_star"
    shown = np.full(table.shape, np.nan)
    for text in fig.axes[0].texts:
        x, y = text.get_position()
        shown[int(round(y)), int(round(x))] = float(text.get_text())
    expected = (table / table.max(axis=0)).to_numpy(dtype=float)  # by hand: each metric's column over its largest
    assert np.allclose(shown, expected, atol=0.006, equal_nan=True)
    assert np.allclose(np.nanmax(shown, axis=0), 1.0)
    plain = Page(report.html).plain
    assert TEXT["en"]["sens_heat_relative"].format(score="mu*") in plain
    assert "mu_star" not in plain.split("Assumptions")[0]


def test_terms_are_explained_once_where_they_first_appear(english, chinese):
    from sim.present.report_text import TERMS

    for lang, (_, path) in (("en", english), ("zh", chinese)):
        plain = Page(path.read_text(encoding="utf-8")).plain
        for term, sentence in TERMS[lang]:
            if term in plain.replace(sentence, ""):  # a term the page uses is explained once, where first used
                assert plain.count(sentence) == 1, (lang, term)
                first = plain.replace(sentence, "\0" * len(sentence)).find(term)  # its first use, not the sentence
                # beside its paragraph, bullet or table: the sentence follows the line that first uses the term, and one
                # evidence line of reach (its lever changes listed) runs to about 700 characters in Chinese
                assert abs(first - plain.index(sentence)) < 900, (lang, term)
