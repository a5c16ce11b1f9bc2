"""Chinese glyphs for reports: a Simplified Chinese font for charts, and the page's glyphs embedded.

A report must read the same on a machine without any CJK font. Two things
make sure of that:

* charts (PNGs) are drawn with Noto Sans CJK SC Regular, the Simplified
  Chinese face of normal weight that the ``mplfonts`` package ships
  (:func:`packaged_font`); only when that package is missing is a system font
  looked for (:func:`find_cjk_font`, Simplified Chinese faces of normal
  weight first);
* the page carries the glyphs of every non-ASCII character it uses as a
  subset web font (WOFF, base64 in an ``@font-face`` rule:
  :func:`embedded_face_css`), so the browser needs no font of its own for
  them.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import re
import shutil
import subprocess
from pathlib import Path

from sim.errors import InputError

#: The font the ``mplfonts`` distribution ships in its ``fonts`` folder: Noto Sans CJK SC, weight 400.
PACKAGED_FONT = ("mplfonts", "fonts", "NotoSansCJKsc-Regular.otf")
#: Family name of the embedded subset in the page's CSS.
EMBEDDED_FAMILY = "Shuangta CJK"
#: Families tried first when the packaged font is missing (matplotlib font manager names): Simplified first.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "SimHei", "Heiti SC", "STHeiti", "Droid Sans Fallback",
    "Noto Serif CJK SC", "AR PL UMing CN", "AR PL UKai CN", "Noto Sans CJK TC", "Noto Sans CJK JP",
)
#: Characters a CJK font must have to be used.
CJK_PROBE = "双塔区规划目标实现年份产值收入"
#: A CJK ideograph, CJK punctuation or a full-width form: what needs a Chinese font.
CJK_CHARACTER = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff"
                           r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def covers(path: str | Path, text: str = CJK_PROBE) -> bool:
    """True when the font file at ``path`` has a glyph for every character of ``text``."""
    try:
        from matplotlib.ft2font import FT2Font

        charmap = FT2Font(str(path)).get_charmap()
    except Exception:  # unreadable or unsupported font file
        return False
    return all(ord(c) in charmap for c in text if not c.isspace())


def packaged_font() -> Path | None:
    """Noto Sans CJK SC Regular from the ``mplfonts`` distribution, or None when it is not installed.

    Located without importing ``mplfonts`` (its import configures matplotlib).
    """
    spec = importlib.util.find_spec(PACKAGED_FONT[0])
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder).joinpath(*PACKAGED_FONT[1:])
        if path.is_file():
            return path
    return None


def _fontconfig_candidates() -> list[str]:
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, ":lang=zh-cn:weight=80", "file"], capture_output=True, text=True, timeout=20,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]


def find_cjk_font() -> Path | None:
    """A font file with Chinese glyphs: the packaged one (:func:`packaged_font`), else a system font, else None.

    System fonts are looked for in matplotlib's font manager by family
    (:data:`CJK_FAMILIES`, normal weight only), then fontconfig's regular
    Simplified Chinese faces; every candidate must have the glyphs of
    :data:`CJK_PROBE`.
    """
    packaged = packaged_font()
    if packaged is not None:
        return packaged
    from matplotlib import font_manager

    by_family: dict[str, list[str]] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.weight in (400, "normal", "regular", "book") and entry.style == "normal":
            by_family.setdefault(entry.name, []).append(entry.fname)
    for family in CJK_FAMILIES:
        for fname in by_family.get(family, []):
            if covers(fname):
                return Path(fname)
    for fname in _fontconfig_candidates():
        if Path(fname).is_file() and covers(fname):
            return Path(fname)
    return None


def chart_family(path: Path) -> str:
    """Register the font file ``path`` with matplotlib; return the family name charts ask for.

    Raises InputError when the name would find another file (e.g. a bold face of the same family).
    """
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    if not covers(path):
        raise InputError(f"{path}: the font has no Chinese glyphs")
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    found = font_manager.findfont(font_manager.FontProperties(family=family, weight="normal"), fallback_to_default=False)
    if Path(found).resolve() != Path(path).resolve():  # another copy of the family (a system font) may serve
        other = font_manager.FontProperties(fname=found)
        if other.get_name() != family or font_manager.ttfFontProperty(FT2Font(found)).weight not in (400, "normal"):
            raise InputError(f"{path}: matplotlib resolves its family {family!r} to another face, {found}")
    return family


def page_characters(text: str) -> str:
    """The distinct characters of ``text`` that need a Chinese font (:data:`CJK_CHARACTER`), sorted."""
    return "".join(sorted(set(CJK_CHARACTER.findall(text))))


def embedded_face_css(text: str, path: Path | None = None) -> str:
    """An ``@font-face`` rule embedding the glyphs of every character of ``text`` that needs a Chinese font
    (:func:`page_characters`), from the font at ``path`` (default :func:`find_cjk_font`), as a base64 WOFF
    subset named :data:`EMBEDDED_FAMILY`; other characters keep the browser's fonts.

    Empty when ``text`` has no character needing a Chinese font. InputError when no font is available or
    the font lacks one of them.
    """
    needed = page_characters(text)
    if not needed:
        return ""
    path = path or find_cjk_font()
    if path is None:
        raise InputError("no Chinese font: install the package's dependencies (pip install mplfonts)")
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=0)
    cmap = font.getBestCmap()
    missing = [c for c in needed if ord(c) not in cmap]
    if missing:
        raise InputError(f"{path}: the font lacks glyphs for {''.join(missing)}")
    wanted = sorted(ord(c) for c in needed)
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.notdef_outline = True
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff"
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'@font-face{{font-family:"{EMBEDDED_FAMILY}";font-style:normal;font-weight:400;'
            f'src:url(data:font/woff;base64,{data}) format("woff")}}')


def embedded_glyphs(css: str) -> set[str]:
    """The characters whose glyphs an ``@font-face`` rule of :func:`embedded_face_css` embeds."""
    from fontTools.ttLib import TTFont

    match = re.search(r"base64,([A-Za-z0-9+/=]+)", css)
    if match is None:
        return set()
    font = TTFont(io.BytesIO(base64.b64decode(match.group(1))))
    return {chr(code) for code in font.getBestCmap()}
