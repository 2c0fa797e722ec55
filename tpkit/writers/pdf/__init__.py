"""PDF writer: a laid-out ``Document`` (or a book of them) typeset with reportlab platypus.

Public API::

    render(document, options) -> bytes            # one handout
    render_book(documents, title, options, chapters=None) -> bytes  # cover, contents, the handouts
    markup(runs) -> str                            # the only way text reaches a reportlab Paragraph

The package, by job (as pandoc splits its DOCX writer): this module assembles handouts and
books; ``style`` holds fonts, colours and paragraph styles; ``markup`` escapes text and
holds the text flowables; ``page`` the canvas, page template, headers and footers;
``figures`` the body chart; ``tables`` the tables.

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

import io
from pathlib import Path
from typing import BinaryIO, Sequence

from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import NextPageTemplate, PageBreak, Spacer

from tpkit.document import BulletList, Document, Figure, Metadata, Paragraph, References, SubHeading, Table
from tpkit.writers import document_time, long_date, pdfbook, RenderOptions, title_details
from tpkit.writers.pdf.figures import _chart, _FigureBlock
from tpkit.writers.pdf.markup import _Heading, _heading, markup, _Para, plain, _Rule, _TocLine
from tpkit.writers.pdf.page import _Canvas, _DocTemplate
from tpkit.writers.pdf.style import ACCENT, FOOTER_SIZE, SANS, SANS_BOLD, prepare, _register_fonts, _styles
from tpkit.writers.pdf.tables import _table

__all__ = ["render", "render_book", "write_book", "markup", "plain", "prepare"]


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
