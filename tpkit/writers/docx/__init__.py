"""DOCX writer: a laid-out :class:`~tpkit.document.Document` as a Word handout.

``render(document, options) -> bytes`` is the whole public API (plus
:func:`clear_caches` for tests).  The result is an ordinary Word document
that a clinic can print and a publisher can restyle:

* Only built-in style names: Title, Subtitle, Heading 1, Heading 2, Normal,
  List Bullet (real Word bullets through the style's numbering), Caption,
  Bibliography, Hyperlink (character style), Header, Footer and a built-in
  table style for the innervation table.  Styles a template lacks are added
  (copied from python-docx's default template, or defined here for
  Bibliography and Hyperlink), never renamed.
* ``options.template`` is a publisher's .docx used like pandoc's
  ``--reference-doc``: its styles, page setup (``options.paper`` is then
  ignored), header and footer are kept verbatim, its body content is dropped,
  and nothing else of it is taken (``tpkit.writers.docx_template``).
  A template without a header (footer) gets tpkit's: the muscle name and
  region (page numbers "Page N of M", licence, publisher, date).
* Deterministic: the same document gives byte-identical files.  ``zipfile``
  writes the package with a fixed entry order, time stamp, system and compression,
  core properties carry :func:`tpkit.writers.document_time`, drawing ids
  are sequential.

The package, by job (as pandoc splits its DOCX writer): this module assembles a
document; ``styles`` prepares the base package and its styles; ``markup`` writes runs,
paragraphs, blocks, header and footer; ``tables`` and ``figures`` the innervation table and
the body chart; ``package`` the core properties and the zip; ``ooxml`` holds what they share.

Speed
-----
Everything that does not depend on the document is prepared once per
(template, paper) and cached: the template is opened, cleaned and completed
once, its style ids are resolved once, and it is saved as a small "base"
package whose ``styles.xml`` is a stub.  Per document python-docx then only
opens that small package (no 400 kB styles parse), the body is built with
lxml directly, and at write time the real ``styles.xml`` goes back in.  Chart
PNGs are cached by content; images are stored in the zip, not deflated again.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape as xml_escape

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import nsdecls
from docx.oxml.parser import parse_xml
from lxml import etree

from tpkit.document import Document
from tpkit.writers import document_time, RenderOptions, title_details
from tpkit.writers.docx.figures import _CHARTS
from tpkit.writers.docx.markup import _Builder
from tpkit.writers.docx.ooxml import (
    CHART_MAX_HEIGHT_IN, PAPER, TABLE_STYLE, TABLE_STYLE_FALLBACK, _W, _clear, safe_text, _sort_children,
)
from tpkit.writers.docx.package import _core_properties, _package_bytes, _utc
from tpkit.writers.docx.styles import _APP_XML, _BASES, _base, _styles_for

__all__ = ["render", "clear_caches", "safe_text", "TABLE_STYLE", "TABLE_STYLE_FALLBACK", "CHART_MAX_HEIGHT_IN"]


def clear_caches() -> None:
    """Forget prepared templates and charts (tests; a template edited in place)."""
    for cache in (_BASES, _CHARTS):
        cache.clear()


def render(document: Document, options: RenderOptions | None = None) -> bytes:
    """The document as the bytes of a .docx file."""
    options = options or RenderOptions()
    base = _base(options)
    meta = document.meta
    moment = _utc(document_time(document, options))
    doc = docx.Document(io.BytesIO(base.package))
    sect = doc.element.body.find(_W["sectPr"])
    section = doc.sections[-1]

    if base.apply_paper:
        width, height, margin, distance = PAPER[(options.paper or "a4").lower()]
        pgsz = sect.find(_W["pgSz"])
        if pgsz is None:
            pgsz = etree.Element(_W["pgSz"])
            sect.insert(0, pgsz)
        pgsz.attrib.clear()
        pgsz.set(_W["w"], str(width))
        pgsz.set(_W["h"], str(height))
        pgmar = sect.find(_W["pgMar"])
        if pgmar is None:
            pgmar = etree.Element(_W["pgMar"])
            pgsz.addnext(pgmar)
        for k, v in (("top", margin), ("right", margin), ("bottom", margin), ("left", margin),
                     ("header", distance), ("footer", distance), ("gutter", 0)):
            pgmar.set(_W[k], str(v))
    pgsz, pgmar = sect.find(_W["pgSz"]), sect.find(_W["pgMar"])
    try:
        text_width = int(pgsz.get(_W["w"])) - int(pgmar.get(_W["left"])) - int(pgmar.get(_W["right"]))
    except (AttributeError, TypeError, ValueError):
        text_width = 9638

    b = _Builder(doc, base, document, text_width)

    # header and footer (a template's own win); the first page has the title instead of a header
    if not base.keep_header:
        if not base.keep_footer:
            section.different_first_page_header_footer = True
            first = section.first_page_header
            first.is_linked_to_previous = False
            _clear(first._element)
            p = b._hf_paragraph(first._element, "header", ())
            ppr = p.find(_W["pPr"])  # no rule under an empty header
            ppr.append(parse_xml(f'<w:pBdr {nsdecls("w")}><w:bottom w:val="nil"/></w:pBdr>'))
            _sort_children(ppr)
        header = section.header
        header.is_linked_to_previous = False
        _clear(header._element)
        b.header(header._element, base.tab_clears.get("header", ()))
    if not base.keep_footer:
        footers = [section.footer]
        if section.different_first_page_header_footer and not base.keep_header:
            footers.append(section.first_page_footer)
        for footer in footers:
            footer.is_linked_to_previous = False
            _clear(footer._element)
            b.footer(footer._element, base.tab_clears.get("footer", ()), options.publisher)

    # body
    if meta.mark:
        b.banner(meta.mark)
    b.run(b.paragraph("title"), safe_text(meta.title))
    if meta.subtitle:
        b.run(b.paragraph("subtitle"), safe_text(meta.subtitle))
    b.run(b.paragraph("subtitle"), safe_text(" \u00b7 ".join(title_details(meta))))
    for section_ in document.sections:
        b.run(b.paragraph("h1"), safe_text(section_.heading))
        for block in section_.blocks:
            b.block(block)

    _core_properties(doc, document, moment)
    if options.publisher:
        for rel in doc.part.package.rels.values():
            if rel.reltype == RT.EXTENDED_PROPERTIES:
                company = f"<Company>{xml_escape(safe_text(options.publisher))}</Company>"
                rel.target_part._blob = _APP_XML.replace("{company}", company).encode()
    return _package_bytes(doc, base, _styles_for(base, meta.language), moment)
