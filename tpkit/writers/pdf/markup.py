"""Text for reportlab: every text escaped before reportlab parses it as paragraph markup
(the three run marks become ``<i>``, ``<b>`` and ``<a href>``), and the flowables that
carry text: paragraphs, headings with their bookmarks, contents lines, rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence
from xml.sax.saxutils import escape, quoteattr

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Flowable
from reportlab.platypus.paragraph import _processed_frags

from tpkit.document import Run
from tpkit.writers import safe_link
from tpkit.writers.pdf.style import INK, _LINK_HEX, RULE, SERIF


if TYPE_CHECKING:
    from tpkit.writers.pdf.page import _Canvas

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
