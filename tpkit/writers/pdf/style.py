"""The look of tpkit's PDFs: the shipped fonts, colours, page geometry and paragraph styles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from tpkit import fonts


# ----------------------------------------------------------------------------- fonts

SERIF = "tpkit-Serif"
SERIF_BOLD = "tpkit-Serif-Bold"
SERIF_ITALIC = "tpkit-Serif-Italic"
SERIF_BOLD_ITALIC = "tpkit-Serif-BoldItalic"
SANS = "tpkit-Sans"
SANS_BOLD = "tpkit-Sans-Bold"
_FONT_FILES = {
    SERIF: fonts.SERIF[0], SERIF_BOLD: fonts.SERIF[1], SERIF_ITALIC: fonts.SERIF[2],
    SERIF_BOLD_ITALIC: fonts.SERIF[3], SANS: fonts.SANS[0], SANS_BOLD: fonts.SANS[1],
}
# Fonts that other code (the body chart) may name; drawn with the shipped faces instead.
_FONT_SUBSTITUTES = {
    "Helvetica": SANS, "Helvetica-Bold": SANS_BOLD, "Helvetica-Oblique": SANS, "Helvetica-BoldOblique": SANS_BOLD,
    "Times-Roman": SERIF, "Times-Bold": SERIF_BOLD, "Times-Italic": SERIF_ITALIC,
    "Times-BoldItalic": SERIF_BOLD_ITALIC,
}


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    """Register the shipped DejaVu faces once per process (parsing a TTF costs ~10 ms each)."""
    from reportlab.pdfbase.pdfmetrics import registerFontFamily

    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, filename in _FONT_FILES.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(fonts.font_path(filename))))
    # <b> and <i> inside a paragraph resolve through these families (DejaVu Sans ships no italic here).
    registerFontFamily(SERIF, normal=SERIF, bold=SERIF_BOLD, italic=SERIF_ITALIC, boldItalic=SERIF_BOLD_ITALIC)
    registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)


def prepare() -> None:
    _register_fonts()


# ----------------------------------------------------------------------------- look

_ACCENT_HEX = "#1d4f6e"
_LINK_HEX = "#1d5f8e"
ACCENT = colors.HexColor(_ACCENT_HEX)
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#5c6670")
RULE = colors.HexColor("#9aa7b1")
GRID = colors.HexColor("#c3ccd3")
TINT = colors.HexColor("#e7eef3")
WATERMARK = colors.HexColor("#f3c9c6")

MARGIN_X = 2.0 * cm
MARGIN_TOP = 2.3 * cm
MARGIN_BOTTOM = 2.1 * cm
HEADER_GAP = 0.85 * cm  # running header baseline above the text block
FOOTER_GAP = 1.0 * cm  # footer baseline below the text block
FOOTER_SIZE = 7.5
CHART_MAX_HEIGHT = 15 * cm  # the tallest chart (about 12 cm) and its caption stay on one page


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    metaline: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    bullet: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    caption: ParagraphStyle
    reference: ParagraphStyle
    cover_kicker: ParagraphStyle
    cover_title: ParagraphStyle
    cover_line: ParagraphStyle
    cover_small: ParagraphStyle
    contents: ParagraphStyle
    toc_region: ParagraphStyle
    toc_entry: ParagraphStyle


@lru_cache(maxsize=1)
def _styles() -> _Styles:
    _register_fonts()
    body = ParagraphStyle("tp-body", fontName=SERIF, fontSize=9.8, leading=14, textColor=INK, spaceAfter=5,
                          alignment=TA_LEFT, allowWidows=0, allowOrphans=0)
    return _Styles(
        title=ParagraphStyle("tp-title", fontName=SANS_BOLD, fontSize=23, leading=27, textColor=ACCENT,
                             spaceAfter=3),
        subtitle=ParagraphStyle("tp-subtitle", fontName=SANS, fontSize=11.5, leading=15, textColor=MUTED,
                                spaceAfter=5),
        metaline=ParagraphStyle("tp-meta", fontName=SANS, fontSize=8, leading=11, textColor=MUTED, spaceAfter=0),
        h1=ParagraphStyle("tp-h1", fontName=SANS_BOLD, fontSize=12.5, leading=16, textColor=ACCENT, spaceBefore=13,
                          spaceAfter=4, keepWithNext=1),
        h2=ParagraphStyle("tp-h2", fontName=SANS_BOLD, fontSize=10, leading=13, textColor=INK, spaceBefore=7,
                          spaceAfter=3, keepWithNext=1),
        body=body,
        bullet=ParagraphStyle("tp-bullet", parent=body, leftIndent=14, bulletIndent=3, spaceAfter=2.5,
                              bulletFontName=SERIF, bulletFontSize=9.8),
        cell=ParagraphStyle("tp-cell", parent=body, fontSize=8.6, leading=11.4, spaceAfter=0),
        cell_head=ParagraphStyle("tp-cell-head", fontName=SANS_BOLD, fontSize=8.6, leading=11, textColor=ACCENT),
        caption=ParagraphStyle("tp-caption", fontName=SERIF_ITALIC, fontSize=8.3, leading=11, textColor=MUTED,
                               alignment=TA_CENTER, leftIndent=24, rightIndent=24),
        reference=ParagraphStyle("tp-ref", parent=body, fontSize=8.8, leading=12, leftIndent=16,
                                 firstLineIndent=-16, spaceAfter=3.5),
        cover_kicker=ParagraphStyle("tp-cover-kicker", fontName=SANS_BOLD, fontSize=10, leading=14,
                                    textColor=MUTED, spaceAfter=10),
        cover_title=ParagraphStyle("tp-cover-title", fontName=SANS_BOLD, fontSize=32, leading=38, textColor=ACCENT,
                                   spaceAfter=14),
        cover_line=ParagraphStyle("tp-cover-line", fontName=SANS, fontSize=12.5, leading=18, textColor=INK),
        cover_small=ParagraphStyle("tp-cover-small", fontName=SANS, fontSize=9, leading=13, textColor=MUTED),
        contents=ParagraphStyle("tp-contents", fontName=SANS_BOLD, fontSize=20, leading=24, textColor=ACCENT,
                                spaceAfter=16),
        toc_region=ParagraphStyle("tp-toc-region", fontName=SANS_BOLD, fontSize=10, leading=13, textColor=ACCENT,
                                  spaceBefore=10, spaceAfter=3, keepWithNext=1),
        toc_entry=ParagraphStyle("tp-toc-entry", fontName=SERIF, fontSize=10, leading=14, textColor=INK,
                                 leftIndent=12),
    )
