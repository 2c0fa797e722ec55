"""The handout fonts (DejaVu, shipped in ``tpkit/fonts``) and which characters they draw.

``tpkit validate`` must not import reportlab, so the set of drawable characters
is precomputed into ``tpkit/data/font-coverage.txt``; ``tests/test_fonts.py``
recomputes it from the font files so that the two cannot disagree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Family name -> (regular, bold, italic, bold italic) file names.
SERIF = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf")
SANS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
ALL_FONTS = SERIF + SANS


def font_path(name: str) -> Path:
    return Path(str(resources.files("tpkit") / "fonts" / name))


def coverage_from_fonts() -> list[tuple[int, int]]:
    """Code point ranges that every shipped font maps to a glyph (reads the font files)."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    common: set[int] | None = None
    for name in ALL_FONTS:
        mapped = set(TTFontFile(str(font_path(name))).charToGlyph)
        common = mapped if common is None else common & mapped
    return _ranges(sorted(common or ()))


def _ranges(codes: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


def write_coverage(path: Path) -> None:
    lines = [f"{start:04X}-{end:04X}" for start, end in coverage_from_fonts()]
    path.write_text("# Code points drawn by every tpkit handout font; regenerate with tpkit.fonts.write_coverage\n"
                    + "\n".join(lines) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def coverage() -> list[tuple[int, int]]:
    text = (resources.files("tpkit") / "data" / "font-coverage.txt").read_text(encoding="utf-8")
    ranges = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            start, end = line.split("-")
            ranges.append((int(start, 16), int(end, 16)))
    return ranges


@lru_cache(maxsize=1)
def _undrawable_pattern() -> re.Pattern[str]:
    allowed = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in coverage())
    return re.compile(f"[^{allowed}]")


def drawable(text: str) -> bool:
    """Whether the handout fonts draw every character of a text."""
    return _undrawable_pattern().search(text) is None


def undrawable(text: str) -> list[str]:
    """Characters of a text that the handout fonts cannot draw, each once, in order."""
    seen: dict[str, None] = {}
    for match in _undrawable_pattern().finditer(text):
        seen.setdefault(match.group(0), None)
    return list(seen)
