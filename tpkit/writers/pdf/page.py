"""The pages: reportlab's canvas and document template as tpkit uses them. Texts known
only at save time ("Page X of Y", the contents' page numbers) are form XObjects defined
then; every page gets its running header, footer and watermark here."""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Sequence

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

from tpkit.document import Metadata
from tpkit.writers import footer_line, RenderOptions
from tpkit.writers.pagenumbers import page_form, page_text, TocLink
from tpkit.writers.pdf.style import (
    ACCENT, FOOTER_GAP, FOOTER_SIZE, HEADER_GAP, INK, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_X, MUTED, RULE, SANS,
    SANS_BOLD, SERIF, WATERMARK,
)


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
