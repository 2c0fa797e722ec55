"""PDF writer: a laid-out ``Document`` (or a book of them) typeset with reportlab platypus.

Public API::

    render(document, options) -> bytes            # one handout
    render_book(documents, title, options, chapters=None) -> bytes  # cover, contents, the handouts
    markup(runs) -> str                            # the only way text reaches a reportlab Paragraph

Design notes

* Every text is escaped by :func:`markup` / :func:`plain` before reportlab parses it
  as paragraph markup; the three run marks become ``<i>``, ``<b>`` and ``<a href>``.
* Only the shipped DejaVu TrueType fonts are used (embedded subsets); the canvas's
  initial font is DejaVu too, so no Helvetica reference ends up in the file.
* One layout pass. "Page X of Y" and the page numbers of the book's table of contents
  are PDF form XObjects that the page content references by name and that are
  defined when the total is known, at save time.
* A book is its cover and contents, typeset here, followed by the entries' handouts
  page for page: ``writers.pdfbook`` joins them and renumbers the pages through their
  page-number forms, so no entry is typeset twice.
* Deterministic: reportlab's invariant mode, and the info dictionary's dates come
  from ``writers.document_time`` (``SOURCE_DATE_EPOCH`` or the entry's ``updated``).
"""

from __future__ import annotations

import datetime as _dt
import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Sequence
from xml.sax.saxutils import escape, quoteattr

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate, Flowable, Frame, NextPageTemplate, PageBreak, PageTemplate, Spacer,
)
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus.paragraph import _processed_frags
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle

from tpkit import fonts
from tpkit.document import (
    BulletList, Document, Figure, Metadata, Paragraph, References, Run, SubHeading, Table,
)
from tpkit.writers import RenderOptions, document_time, footer_line, long_date, pdfbook, safe_link, title_details
from tpkit.writers.pagenumbers import TocLink, page_form, page_text

__all__ = ["render", "render_book", "write_book", "markup", "plain"]

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


# ----------------------------------------------------------------------------- escaping


def plain(text: str) -> str:
    """A plain text as reportlab paragraph markup: ``&``, ``<``, ``>`` escaped, nothing interpreted."""
    return escape(text)


def markup(runs: Sequence[Run]) -> str:
    """Runs as reportlab paragraph markup. Every character of every text prints literally.

    The text of each run is XML-escaped; only the run's own marks become tags
    (``<i>``, ``<b>``, ``<super>``, ``<a href>``), and a link target is a quoted, escaped
    attribute. Links that are not http(s)/mailto/ftp print as text only.
    """
    parts: list[str] = []
    for run in runs:
        text = escape(run.text)
        if run.italic:
            text = f"<i>{text}</i>"
        if run.bold:
            text = f"<b>{text}</b>"
        if run.superscript:
            text = f"<super>{text}</super>"
        if run.link and safe_link(run.link):
            text = f'<a href={quoteattr(run.link.strip())} color="{_LINK_HEX}">{text}</a>'
        parts.append(text)
    return "".join(parts)


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


# ----------------------------------------------------------------------------- flowables


class _Para(RLParagraph):
    """A Paragraph that remembers its line breaks for the last width.

    Platypus wraps most paragraphs twice (once inside the KeepTogether that
    keepWithNext builds, once when the frame adds them); breaking lines is the
    largest cost of a render, and it depends only on the width.
    """

    _tp_memo: tuple | None = None

    def wrap(self, availWidth, availHeight):
        memo = self._tp_memo
        if memo is not None and memo[0] == availWidth:
            _, self.width, self.height, self.blPara, self._wrapWidths = memo
            return self.width, self.height
        width, height = super().wrap(availWidth, availHeight)
        if hasattr(self, "blPara"):
            self._tp_memo = (availWidth, width, height, self.blPara, self._wrapWidths)
        return width, height

    def split(self, availWidth, availHeight):
        """reportlab makes the part that goes on to the next page a new paragraph, which breaks
        its lines again: a paragraph of P pages was broken P times, quadratic in its length
        (800,000 characters: 37 s). The rest keeps its lines from this break instead: they
        were broken at the width of every line after the first, which is the width of the
        rest's lines (reportlab gives the rest no first-line indent). The part that stays keeps
        its lines too. The bytes written do not change."""
        parts = super().split(availWidth, availHeight)
        memo = self._tp_memo
        fixed_leading = getattr(self, "autoLeading", getattr(self.style, "autoLeading", "")) in ("", "off")
        if len(parts) == 2 and memo is not None and memo[0] == availWidth and fixed_leading \
                and (self.blPara.kind == 0 or _processed_frags(self.frags)):
            first, rest = parts
            kept = len(first.blPara.lines)
            # The part that stays on this page has this break's first lines, at the same widths.
            first._tp_memo = (availWidth, availWidth, kept * first.style.leading,
                              self.blPara.clone(lines=self.blPara.lines[:kept]), memo[4])
            lines = self.blPara.lines[kept:]
            if self.blPara.kind == 1:
                # A styled line knows where its words start in the paragraph's fragments, and the
                # rest's fragments start at the rest's first line.
                start = lines[0].sFW
                lines = [line.clone(sFW=line.sFW - start) for line in lines]
            width = memo[4][-1]
            rest._tp_memo = (availWidth, availWidth, len(lines) * rest.style.leading,
                             self.blPara.clone(lines=lines), [width, width])
        return parts


class _Heading(_Para):
    """A heading that drops a PDF bookmark (and outline entry) where it is drawn."""

    _tp_outline: tuple[str, str, int, bool] | None = None  # (key, title, level, closed)

    def draw(self) -> None:
        super().draw()
        outline = self._tp_outline
        if outline is not None:
            key, title, level, closed = outline
            canvas = self.canv
            canvas.bookmarkHorizontal(key, 0, self.height + 4)
            canvas.addOutlineEntry(title, key, level=level, closed=closed)
            self._tp_outline = None  # once, even if reportlab draws a copy


def _heading(text: str, style: ParagraphStyle, key: str, level: int, closed: bool = False) -> _Heading:
    h = _Heading(plain(text), style)
    h._tp_outline = (key, text, level, closed)
    return h


class _TocLine(Flowable):
    """One line of the table of contents: entry name, dot leaders, page number (a form filled at save)."""

    NUMBER_W = 28.0

    def __init__(self, name: str, key: str, style: ParagraphStyle):
        super().__init__()
        self.key = key
        self.style = style
        self.para = RLParagraph(plain(name), style)

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        _, h = self.para.wrap(availWidth - self.NUMBER_W - 24, availHeight)
        self.height = h
        return availWidth, h

    def draw(self) -> None:
        canvas = self.canv
        para, style = self.para, self.style
        para.drawOn(canvas, 0, 0)
        lines = para.blPara.lines
        used = style.leftIndent
        if lines:  # where the last line of the name ends: its available width less its slack
            last = lines[-1]
            slack = last[0] if isinstance(last, tuple) else last.extraSpace
            used += para._wrapWidths[0 if len(lines) == 1 else 1] - slack
        baseline = para.height - style.fontSize - (len(lines) - 1) * style.leading
        # dot leaders from the end of the name to the number column, on a fixed grid so rows line up
        canvas.saveState()
        canvas.setFont(style.fontName, style.fontSize)
        canvas.setFillColor(RULE)
        step = 5.0
        x = (int((used + 8) / step) + 1) * step
        end = self.width - self.NUMBER_W
        count = int((end - x) / step) + 1 if x < end else 0
        if count:
            text = canvas.beginText(x, baseline)
            text.setFont(style.fontName, style.fontSize)
            text.setCharSpace(step - pdfmetrics.stringWidth(".", style.fontName, style.fontSize))
            text.textOut("." * count)
            canvas.drawText(text)
        canvas.restoreState()
        pdf_canvas: _Canvas = canvas  # type: ignore[assignment]
        pdf_canvas.deferred_text(f"toc-{self.key}", self.width, baseline, SERIF, style.fontSize, INK,
                                 "{" + self.key + "}")
        pdf_canvas.toc_link(int(self.key[1:]) - 1, self.width, self.height)


# ----------------------------------------------------------------------------- canvas and template


_SAVE_LOCK = threading.Lock()


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class _Canvas(Canvas):
    """A canvas whose late-known texts (page totals, TOC numbers) are forms defined at save time.

    For a book's front matter, ``chapter_pages`` are the page counts of the chapters that
    will follow it: they make the total and the contents' page numbers (``{e1}``, ...).
    """

    def __init__(self, *args, chapter_pages: Sequence[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._tp_deferred: list[tuple[str, str, float, object, str]] = []
        self._tp_values = _Values()  # late values by name: "total", and each book entry's first page
        self._tp_pages = 0
        self._tp_chapter_pages = list(chapter_pages)
        self.toc_links: list[TocLink] = []

    def toc_link(self, chapter: int, width: float, height: float) -> None:
        """Mark the current flowable's box (``width`` x ``height``) as a link to a chapter."""
        left, bottom = self.absolutePosition(0, 0)
        right, top = self.absolutePosition(width, height)
        self.toc_links.append(TocLink(self.getPageNumber() - 1, (left, bottom, right, top), chapter))

    def deferred_text(self, name: str, x_right: float, y: float, font: str, size: float, color, template: str):
        """Draw, right-aligned at (x_right, y), ``template`` formatted with the values known at save time.

        ``template`` is our own text (never an entry's), e.g. "Page 3 of {total}" or "{e12}".
        """
        self.saveState()
        self.translate(x_right, y)
        self.doForm(name)
        self.restoreState()
        self._tp_deferred.append((name, font, size, color, template))

    def showPage(self):
        self._tp_pages += 1
        super().showPage()

    def save(self):
        values = self._tp_values
        first = self._tp_pages + 1
        for number, pages in enumerate(self._tp_chapter_pages, 1):
            values[f"e{number}"] = str(first)
            first += pages
        values["total"] = str(first - 1)
        for name, font, size, color, template in self._tp_deferred:
            text = template.format_map(values)
            self.beginForm(name, lowerx=-400, lowery=-size, upperx=2, uppery=2 * size)
            self.setFont(font, size)
            self.setFillColor(color)
            self.drawRightString(0, 0, text)
            self.endForm()
        # Page streams are Flate-compressed; reportlab would also ASCII85-encode them (a pure-Python
        # loop that costs a fifth of the render time and makes files 8 % larger). The switch is
        # global, so it is flipped only around our own save, under a lock.
        with _SAVE_LOCK:
            saved = rl_config.useA85
            rl_config.useA85 = 0
            try:
                super().save()
            finally:
                rl_config.useA85 = saved


class _DocTemplate(BaseDocTemplate):
    def __init__(self, buffer, *, options: RenderOptions, when: _dt.datetime, info: dict, book_title: str | None,
                 current: Metadata | None, cover: bool = False):
        pagesize = LETTER if (options.paper or "a4").lower() == "letter" else A4
        super().__init__(
            buffer, pagesize=pagesize, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM, invariant=1, pageCompression=1, initialFontName=SERIF,
            initialFontSize=10, initialLeading=12, creator="tpkit", allowSplitting=1, **info,
        )
        self.options = options
        self.when = when
        self.book_title = book_title
        self.current = current  # the handout's entry; None in a book's front matter
        self.opening_page = 1 if current is not None else 0  # its title block replaces the running header
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="text",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        main = PageTemplate("main", [frame], onPage=self._decorate, pagesize=pagesize)
        cover_page = PageTemplate("cover", [frame], onPage=self._decorate_cover, pagesize=pagesize)
        self.addPageTemplates([cover_page, main] if cover else [main, cover_page])

    # reportlab hooks -------------------------------------------------------
    def beforeDocument(self):
        stamp = self.when.astimezone(_dt.timezone.utc).strftime("D:%Y%m%d%H%M%S+00'00'")
        self.canv.setDateFormatter(lambda *_: stamp)
        self.canv.showOutline()

    # page decoration --------------------------------------------------------
    def _decorate(self, canvas: _Canvas, doc) -> None:
        width, height = self.pagesize
        meta = self.current
        canvas.saveState()
        if meta is not None and meta.mark:
            _watermark(canvas, meta.mark, width, height)
        left_x, right_x = self.leftMargin, width - self.rightMargin
        # running header (not on an entry's opening page, whose title block says the same)
        if self.page != self.opening_page:
            if meta is not None:
                left, right = meta.title, meta.region_label
            else:
                left, right = self.book_title or "", "Contents"
            y = height - self.topMargin + HEADER_GAP
            right = _fit(right, SANS, 8, self.width * 0.3)
            left = _fit(left, SANS_BOLD, 8, self.width - pdfmetrics.stringWidth(right, SANS, 8) - 18)
            canvas.setFont(SANS_BOLD, 8)
            canvas.setFillColor(ACCENT)
            canvas.drawString(left_x, y, left)
            canvas.setFont(SANS, 8)
            canvas.setFillColor(MUTED)
            canvas.drawRightString(right_x, y, right)
            canvas.setStrokeColor(RULE)
            canvas.setLineWidth(0.5)
            canvas.line(left_x, y - 5, right_x, y - 5)
        # footer
        y = self.bottomMargin - FOOTER_GAP
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(left_x, y + 10, right_x, y + 10)
        canvas.setFont(SANS, FOOTER_SIZE)
        canvas.setFillColor(MUTED)
        canvas.drawString(left_x, y, _fit(_footer_line(meta, self.options, self.book_title), SANS, FOOTER_SIZE,
                                          self.width - 90))
        canvas.deferred_text(page_form(self.page), right_x, y, SANS, FOOTER_SIZE, MUTED,
                             page_text(self.page, "{total}"))
        canvas.restoreState()

    def _decorate_cover(self, canvas: _Canvas, doc) -> None:
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, height - 1.2 * cm, width, 1.2 * cm, stroke=0, fill=1)
        y = self.bottomMargin
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(self.leftMargin, y + 16, width - self.rightMargin, y + 16)
        if self.options.publisher:
            canvas.setFont(SANS_BOLD, 10.5)
            canvas.setFillColor(INK)
            canvas.drawString(self.leftMargin, y, _fit(self.options.publisher, SANS_BOLD, 10.5, self.width))
        canvas.restoreState()


def _watermark(canvas: Canvas, mark: str, width: float, height: float) -> None:
    canvas.saveState()
    canvas.setFillColor(WATERMARK)
    diagonal = (width ** 2 + height ** 2) ** 0.5
    size = min(130.0, 0.62 * diagonal / max(pdfmetrics.stringWidth(mark, SANS_BOLD, 1), 1))
    canvas.setFont(SANS_BOLD, size)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(_degrees(width, height))
    canvas.drawCentredString(0, -size * 0.35, mark)
    canvas.restoreState()


def _degrees(width: float, height: float) -> float:
    import math

    return math.degrees(math.atan2(height, width))


def _footer_line(meta: Metadata | None, options: RenderOptions, book_title: str | None) -> str:
    parts: list[str] = []
    if options.publisher:
        parts.append(options.publisher)
    if meta is None:
        if book_title and not options.publisher:
            parts.append(book_title)
        return " \u00b7 ".join(parts)
    return footer_line(meta, options.publisher)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text``, cut with an ellipsis if it is wider than ``width``."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


# ----------------------------------------------------------------------------- story


def _chart(figure: Figure, frame_width: float) -> Flowable:
    """The body chart, centred, at its print size (``chart.print_size``), narrowed to the text width."""
    from tpkit import chart

    width = min(frame_width, chart.print_size(figure)[0] * mm)
    scene = _chart_scene(figure, round(width, 3))
    if scene is None:  # a drawing this renderer does not know: let reportlab draw it
        drawing = chart.to_drawing(figure, width)
        if drawing.height > CHART_MAX_HEIGHT:
            drawing = chart.to_drawing(figure, drawing.width * CHART_MAX_HEIGHT / drawing.height)
        _substitute_fonts(drawing)
        drawing.initialFontName = SANS  # else reportlab's renderer selects Helvetica first
        drawing.initialFontSize = 8
        drawing.hAlign = "CENTER"
        return drawing
    return _ChartFlowable(*scene)


def _substitute_fonts(node) -> None:
    """Point any standard-14 font names in a drawing at the embedded DejaVu faces."""
    name = getattr(node, "fontName", None)
    if name in _FONT_SUBSTITUTES:
        node.fontName = _FONT_SUBSTITUTES[name]
    for child in getattr(node, "contents", ()) or ():
        _substitute_fonts(child)


class _FigureBlock(Flowable):
    """The chart with its caption below, kept together; shrinks (down to MIN_SCALE) to end a page.

    A full-size chart that misses the page by a few lines would otherwise leave a
    third of the page blank.
    """

    MIN_SCALE = 0.7
    GAP = 3.0

    def __init__(self, chart: Flowable, caption: RLParagraph):
        super().__init__()
        self.chart, self.caption = chart, caption
        self.spaceBefore, self.spaceAfter = 6, 8
        self.scale = 1.0
        self.caption_height = 0.0

    def wrap(self, availWidth, availHeight):
        chart_w, chart_h = self.chart.wrap(availWidth, availHeight)
        _, self.caption_height = self.caption.wrap(availWidth, availHeight)
        rest = self.GAP + self.caption_height
        self.scale = 1.0
        if chart_h + rest > availHeight and chart_h > 0:
            fitted = (availHeight - rest) / chart_h
            if fitted >= self.MIN_SCALE:
                self.scale = fitted - 1e-6
        self.width = availWidth
        self.height = chart_h * self.scale + rest
        self.chart_size = (chart_w, chart_h)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        self.caption.drawOn(canvas, 0, 0)
        chart_w, _ = self.chart_size
        canvas.saveState()
        canvas.translate((self.width - chart_w * self.scale) / 2, self.caption_height + self.GAP)
        canvas.scale(self.scale, self.scale)
        self.chart.drawOn(canvas, 0, 0)
        canvas.restoreState()


class _ChartFlowable(Flowable):
    """The chart as cached PDF path operators plus its few labels (drawn through the canvas, so fonts embed)."""

    def __init__(self, width: float, height: float, parts: tuple):
        super().__init__()
        self.width, self.height, self.parts = width, height, parts
        self.hAlign = "CENTER"

    def wrap(self, availWidth, availHeight):
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        for part in self.parts:
            if isinstance(part, str):
                canvas.addLiteral(part)  # self-contained: wrapped in q ... Q
            else:
                x, y, text, font, size, color, anchor = part
                canvas.setFont(font, size)
                canvas.setFillColor(color)
                if anchor == "middle":
                    canvas.drawCentredString(x, y, text)
                elif anchor == "end":
                    canvas.drawRightString(x, y, text)
                else:
                    canvas.drawString(x, y, text)


_KAPPA = 0.5522847498


@lru_cache(maxsize=64)
def _chart_scene(figure: Figure, width: float):
    """(width, height, parts) of the chart, or None if the drawing uses something not handled here.

    reportlab's own renderer formats every coordinate in pure Python (~50 ms a chart);
    this emits the same shapes as one pre-formatted operator string per run of shapes,
    cached per figure and width. ``parts`` holds strings (operators) and label tuples.
    """
    from tpkit import chart

    shapes = chart.reportlab_shapes()
    Circle, Drawing, Group, PolyLine, Polygon, String = (
        shapes.Circle, shapes.Drawing, shapes.Group, shapes.PolyLine, shapes.Polygon, shapes.String)
    drawing = chart.to_drawing(figure, width)
    k = min(1.0, CHART_MAX_HEIGHT / drawing.height) if drawing.height else 1.0
    parts: list = []
    ops: list[str] = []

    def num(v: float) -> str:
        return "%.2f" % (v * k)

    def rgb(color) -> str:
        return "%.4f %.4f %.4f" % (color.red, color.green, color.blue)

    def flush() -> None:
        if ops:
            parts.append("q\n" + "\n".join(ops) + "\nQ")
            ops.clear()

    def supported(node) -> bool:
        if getattr(node, "strokeDashArray", None):
            return False
        for attr in ("fillOpacity", "strokeOpacity"):
            if getattr(node, attr, None) not in (None, 1, 1.0):
                return False
        return True

    def paint(node, fill_mode_even_odd: bool, closed: bool) -> str | None:
        fill = getattr(node, "fillColor", None)
        stroke = getattr(node, "strokeColor", None)
        width_ = getattr(node, "strokeWidth", 1) or 0
        if stroke is not None and width_ > 0:
            ops.append(f"{rgb(stroke)} RG {num(width_)} w {int(getattr(node, 'strokeLineJoin', 0) or 0)} j "
                       f"{int(getattr(node, 'strokeLineCap', 0) or 0)} J")
        if fill is not None:
            ops.append(f"{rgb(fill)} rg")
        do_fill = fill is not None
        do_stroke = stroke is not None and width_ > 0
        if do_fill and do_stroke:
            return "b*" if fill_mode_even_odd else "b" if closed else "B"
        if do_fill:
            return "f*" if fill_mode_even_odd else "f"
        if do_stroke:
            return "s" if closed else "S"
        return None

    def walk(node) -> bool:
        if not supported(node):
            return False
        if isinstance(node, (Drawing, Group)):
            transform = tuple(getattr(node, "transform", (1, 0, 0, 1, 0, 0)))
            if transform != (1, 0, 0, 1, 0, 0):
                return False
            return all(walk(child) for child in node.contents)
        if isinstance(node, (Polygon, PolyLine)):
            closed = isinstance(node, Polygon)
            points = node.points
            if len(points) < 4:
                return True
            op = paint(node, closed and getattr(node, "fillMode", 0) == 0 and node.fillColor is not None, closed)
            if op is None:
                return True
            coords = [num(v) for v in points]
            path = [f"{coords[0]} {coords[1]} m"]
            path.extend(f"{coords[i]} {coords[i + 1]} l" for i in range(2, len(coords), 2))
            path.append(op)
            ops.append(" ".join(path) if len(path) < 8 else "\n".join(path))
            return True
        if isinstance(node, Circle):
            fill, stroke = node.fillColor, node.strokeColor
            if fill is not None and (stroke is None or not node.strokeWidth):
                # A filled dot (the stipple) is a zero-length line with a round cap: a fifth of the bytes.
                ops.append(f"{rgb(fill)} RG {num(2 * node.r)} w 1 J {num(node.cx)} {num(node.cy)} m "
                           f"{num(node.cx)} {num(node.cy)} l S")
                return True
            op = paint(node, False, True)
            if op is None:
                return True
            cx, cy, r = node.cx, node.cy, node.r
            c = r * _KAPPA
            ops.append(
                f"{num(cx + r)} {num(cy)} m "
                f"{num(cx + r)} {num(cy + c)} {num(cx + c)} {num(cy + r)} {num(cx)} {num(cy + r)} c "
                f"{num(cx - c)} {num(cy + r)} {num(cx - r)} {num(cy + c)} {num(cx - r)} {num(cy)} c "
                f"{num(cx - r)} {num(cy - c)} {num(cx - c)} {num(cy - r)} {num(cx)} {num(cy - r)} c "
                f"{num(cx + c)} {num(cy - r)} {num(cx + r)} {num(cy - c)} {num(cx + r)} {num(cy)} c {op}")
            return True
        if isinstance(node, String):
            if getattr(node, "textRenderMode", 0) not in (0, None) or node.fillColor is None:
                return False
            flush()
            font = _FONT_SUBSTITUTES.get(node.fontName, node.fontName)
            if font not in _FONT_FILES:
                font = SANS
            parts.append((round(node.x * k, 2), round(node.y * k, 2), node.text, font, round(node.fontSize * k, 2),
                          node.fillColor, node.textAnchor))
            return True
        return False

    if not walk(drawing):
        return None
    flush()
    return round(drawing.width * k, 2), round(drawing.height * k, 2), tuple(parts)


def _table(table: Table, frame_width: float, st: _Styles) -> Flowable:
    head = [_Para(plain(h), st.cell_head) for h in table.header]
    rows = [[_Para(markup(cell), st.cell) for cell in row] for row in table.rows]
    widths = [w * frame_width for w in table.widths] if table.widths else None
    t = RLTable([head] + rows, colWidths=widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), SERIF, 8.6, 11.4),  # reportlab's cell default is Helvetica
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), TINT),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, GRID),
        ("LINEBEFORE", (1, 0), (-1, -1), 0.4, GRID),
        ("LEFTPADDING", (0, 0), (-1, -1), 4.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4.5),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4.5),
    ]))
    return t


def _entry_story(document: Document, frame_width: float, *, key: str) -> list:
    """The flowables of one handout (a book's chapters are handouts too: see ``pdfbook``)."""
    st = _styles()
    meta = document.meta
    base = 0
    story: list = []
    story.append(_Heading(plain(meta.title), st.title))
    story.append(_Para(plain(meta.subtitle), st.subtitle))
    line = plain(" \u00b7 ".join(title_details(meta)))
    if meta.mark:
        line += f' \u00b7 <font name="{SANS_BOLD}" color="#b3261e">{plain(meta.mark)}</font>'
    story.append(_Para(line, st.metaline))
    story.append(_Rule(frame_width, 0.8, ACCENT, space_before=7, space_after=2))
    for section in document.sections:
        section_key = f"{key}/{section.key}"
        story.append(_heading(section.heading, st.h1, section_key, base, closed=True))
        sub = 0
        for block in section.blocks:
            if isinstance(block, Paragraph):
                story.append(_Para(markup(block.runs), st.body))
            elif isinstance(block, BulletList):
                items = [_Para(markup(item.runs), st.bullet, bulletText="\u2022") for item in block.items]
                if len(items) >= 3:
                    items[-2].keepWithNext = 1  # never a lone last item at the top of a page
                story.extend(items)
                story.append(Spacer(1, 2.5))
            elif isinstance(block, SubHeading):
                sub += 1
                story.append(_heading(block.text, st.h2, f"{section_key}/{sub}", base + 1))
            elif isinstance(block, Table):
                table = _table(block, frame_width, st)
                table.spaceBefore, table.spaceAfter = 2, 6  # no Spacer: the heading must keep with the table
                story.append(table)
            elif isinstance(block, Figure):
                story.append(_FigureBlock(_chart(block, frame_width), _Para(plain(block.caption), st.caption)))
            elif isinstance(block, References):
                for ref in block.items:
                    story.append(_Para(markup(ref.runs), st.reference))
            else:  # pragma: no cover - the layout tree has no other blocks
                raise TypeError(f"unknown block {type(block).__name__}")
    return story


class _Rule(Flowable):
    def __init__(self, width: float, thickness: float, color, space_before: float = 0, space_after: float = 0):
        super().__init__()
        self.rule_width = width
        self.thickness = thickness
        self.color = color
        self.spaceBefore = space_before
        self.spaceAfter = space_after

    def wrap(self, availWidth, availHeight):
        self.rule_width = min(self.rule_width, availWidth)
        return self.rule_width, self.thickness

    def draw(self):
        self.canv.setStrokeColor(self.color)
        self.canv.setLineWidth(self.thickness)
        self.canv.line(0, self.thickness / 2, self.rule_width, self.thickness / 2)


def _info(title: str, author: str, subject: str, keywords: Sequence[str], language: str) -> dict:
    return {"title": title, "author": author, "subject": subject, "keywords": ", ".join(keywords),
            "lang": language}


# ----------------------------------------------------------------------------- public API


def render(document: Document, options: RenderOptions) -> bytes:
    """One handout as PDF bytes (byte-identical for the same document and options)."""
    _register_fonts()
    meta = document.meta
    info = _info(
        meta.title,
        ", ".join(meta.authors) or options.publisher or "tpkit",
        f"Myofascial trigger point handout: {meta.title} ({meta.region_label})",
        meta.keywords,
        meta.language or "en",
    )
    buffer = io.BytesIO()
    doc = _DocTemplate(buffer, options=options, when=document_time(document, options), info=info, book_title=None,
                       current=meta)
    doc.build(_entry_story(document, doc.width, key=meta.id), canvasmaker=_Canvas)
    return buffer.getvalue()


def render_book(documents: Sequence[Document], title: str, options: RenderOptions,
                chapters: Sequence[bytes | Path] | None = None) -> bytes:
    """Many handouts as one book: cover, contents with page numbers, one chapter per entry.

    Entries print in the given order (callers use ``layout.collection_order``). Each chapter
    is the entry's handout: ``chapters`` are their PDFs (``render(document, options)``), as
    bytes or files, when the caller has them already, as an export does; otherwise they are
    rendered here.
    """
    out = io.BytesIO()
    write_book(out, documents, title, options, chapters)
    return out.getvalue()


def write_book(out: BinaryIO, documents: Sequence[Document], title: str, options: RenderOptions,
               chapters: Sequence[bytes | Path] | None = None) -> None:
    """``render_book``, written to a stream instead of returned (a book can be large)."""
    _register_fonts()
    st = _styles()
    documents = list(documents)
    if chapters is None:
        chapters = [render(d, options) for d in documents]
    if len(chapters) != len(documents):
        raise ValueError("render_book needs one chapter per document")
    # The book's date: SOURCE_DATE_EPOCH or options.timestamp if set, else the newest entry's.
    placeholder = Document(Metadata("book", title, "", "", "", "published", "1970-01-01", (), None, ()))
    when = max((document_time(d, options) for d in documents), default=document_time(placeholder, options))
    dated = bool(documents) or when != document_time(placeholder, RenderOptions())
    authors = list(dict.fromkeys(a for d in documents for a in d.meta.authors))
    regions = list(dict.fromkeys(d.meta.region_label for d in documents))
    info = _info(
        title,
        ", ".join(authors) or options.publisher or "tpkit",
        f"Myofascial trigger point handouts: {len(documents)} entries",
        ["trigger points", "myofascial pain", *regions],
        documents[0].meta.language if documents else "en",
    )
    buffer = io.BytesIO()
    doc = _DocTemplate(buffer, options=options, when=when, info=info, book_title=title, current=None, cover=True)
    story: list = [Spacer(1, 6.5 * cm)]
    story.append(_Para("Myofascial trigger point handouts".upper(), st.cover_kicker))
    story.append(_Para(plain(title), st.cover_title))
    story.append(_Rule(2.2 * cm, 2.5, ACCENT, space_after=14))
    count = f"{len(documents)} {'entry' if len(documents) == 1 else 'entries'}"
    story.append(_Para(plain(count), st.cover_line))
    if dated:
        story.append(_Para(plain(long_date(when.date().isoformat())), st.cover_line))
    if regions:
        story.append(Spacer(1, 6))
        story.append(_Para(plain(" \u00b7 ".join(regions)), st.cover_small))
    story.append(NextPageTemplate("main"))
    story.append(PageBreak())
    contents = _Heading("Contents", st.contents)
    contents._tp_outline = ("contents", "Contents", 0, False)
    story.append(contents)
    region = None
    for number, d in enumerate(documents, 1):
        if d.meta.region_label != region:
            region = d.meta.region_label
            story.append(_Para(plain(region), st.toc_region))
        story.append(_TocLine(d.meta.title, f"e{number}", st.toc_entry))
    canvases: list[_Canvas] = []
    sources = pdfbook.chapter_sources(chapters)
    chapter_pages = [source.page_count for source in sources]

    def canvas(*args, **kwargs) -> _Canvas:
        made = _Canvas(*args, chapter_pages=chapter_pages, **kwargs)
        canvases.append(made)
        return made

    doc.build(story, canvasmaker=canvas)
    pdfbook.assemble(out, buffer.getvalue(), canvases[-1].toc_links, sources, [d.meta.title for d in documents],
                     number_width=lambda text: pdfmetrics.stringWidth(text, SANS, FOOTER_SIZE))
