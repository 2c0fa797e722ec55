"""The body's markup: runs, paragraphs, blocks, header and footer, written as
WordprocessingML with lxml."""

from __future__ import annotations

import re

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from tpkit.document import BulletList, Document, Figure, Paragraph, References, Run, SubHeading, Table
from tpkit.writers import footer_line
from tpkit.writers.docx.figures import add_figure
from tpkit.writers.docx.ooxml import _E, R_ID, _W, W_VAL, XML_SPACE, safe_text
from tpkit.writers.docx.styles import _Base
from tpkit.writers.docx.tables import add_table


_SPLIT = re.compile(r"([\t\n])")


class _Builder:
    def __init__(self, doc, base: _Base, document: Document, text_width: int) -> None:
        self.doc = doc
        self.part = doc.part
        self.ids = base.ids
        self.document = document
        self.text_width = text_width
        self.body = doc.element.body
        self.anchor = self.body.find(_W["sectPr"])
        self.links: dict[str, str] = {}

    # -- inline content
    def text(self, r, text: str) -> None:
        if "\t" in text or "\n" in text:
            for piece in _SPLIT.split(text):
                if piece == "\t":
                    _E(r, _W["tab"])
                elif piece == "\n":
                    _E(r, _W["br"])
                elif piece:
                    self.text(r, piece)
            return
        t = _E(r, _W["t"])
        t.text = text
        if text[0] in " \u00a0" or text[-1] in " \u00a0" or "  " in text:
            t.set(XML_SPACE, "preserve")

    def run(self, parent, text: str, *, bold=False, italic=False, style=None, color=None, size=None,
            superscript=False):
        r = _E(parent, _W["r"])
        if bold or italic or style or color or size or superscript:
            rpr = _E(r, _W["rPr"])
            if style:
                _E(rpr, _W["rStyle"]).set(W_VAL, style)
            if bold:
                _E(rpr, _W["b"])
                _E(rpr, _W["bCs"])
            if italic:
                _E(rpr, _W["i"])
                _E(rpr, _W["iCs"])
            if color:
                _E(rpr, _W["color"]).set(W_VAL, color)
            if size:
                _E(rpr, _W["sz"]).set(W_VAL, str(size))
                _E(rpr, _W["szCs"]).set(W_VAL, str(size))
            if superscript:
                _E(rpr, _W["vertAlign"]).set(W_VAL, "superscript")
        if text:
            self.text(r, text)
        return r

    def runs(self, p, runs: tuple[Run, ...]) -> None:
        for run in runs:
            text = safe_text(run.text)
            if not text:
                continue
            if run.link:
                url = safe_text(run.link).strip()
                rid = self.links.get(url)
                if rid is None:
                    rid = self.links[url] = self.part.relate_to(url, RT.HYPERLINK, is_external=True)
                h = _E(p, _W["hyperlink"])
                h.set(R_ID, rid)
                h.set(_W["history"], "1")
                self.run(h, text, bold=run.bold, italic=run.italic, style=self.ids["hyperlink"],
                         superscript=run.superscript)
            else:
                self.run(p, text, bold=run.bold, italic=run.italic, superscript=run.superscript)

    # -- blocks
    def paragraph(self, role: str | None = None, *, jc=None, keep_next=False, parent=None):
        p = etree.Element(_W["p"]) if parent is None else _E(parent, _W["p"])
        style = self.ids[role] if role and role != "normal" else None
        if style or jc or keep_next:
            ppr = _E(p, _W["pPr"])
            if style:
                _E(ppr, _W["pStyle"]).set(W_VAL, style)
            if keep_next:
                _E(ppr, _W["keepNext"])
            if jc:
                _E(ppr, _W["jc"]).set(W_VAL, jc)
        if parent is None:
            self.anchor.addprevious(p)
        return p

    def banner(self, mark: str) -> None:
        p = etree.Element(_W["p"])
        ppr = _E(p, _W["pPr"])
        _E(ppr, _W["keepNext"])
        bdr = _E(ppr, _W["pBdr"])
        for edge in ("top", "left", "bottom", "right"):
            b = _E(bdr, _W[edge])
            b.set(W_VAL, "single")
            b.set(_W["sz"], "12")
            b.set(_W["space"], "4")
            b.set(_W["color"], "C00000")
        _E(ppr, _W["jc"]).set(W_VAL, "center")
        self.run(p, f"{safe_text(mark)} \u2014 not for distribution", bold=True, color="C00000", size=28)
        self.anchor.addprevious(p)

    def block(self, block) -> None:
        if isinstance(block, Paragraph):
            self.runs(self.paragraph(), block.runs)
        elif isinstance(block, BulletList):
            for item in block.items:
                self.runs(self.paragraph("bullet"), item.runs)
        elif isinstance(block, SubHeading):
            self.run(self.paragraph("h2"), safe_text(block.text))
        elif isinstance(block, Table):
            add_table(self, block)
        elif isinstance(block, Figure):
            add_figure(self, block)
        elif isinstance(block, References):
            for ref in block.items:
                self.runs(self.paragraph("bibliography"), ref.runs)
        else:  # pragma: no cover - the layout tree has no other blocks
            raise TypeError(f"unknown block {type(block).__name__}")

    # -- header and footer
    def _hf_paragraph(self, container, role: str, clears: tuple[int, ...]):
        p = _E(container, _W["p"])
        ppr = _E(p, _W["pPr"])
        _E(ppr, _W["pStyle"]).set(W_VAL, self.ids[role])
        tabs = _E(ppr, _W["tabs"])
        for pos in sorted(set(clears) - {self.text_width}):
            t = _E(tabs, _W["tab"])
            t.set(W_VAL, "clear")
            t.set(_W["pos"], str(pos))
        t = _E(tabs, _W["tab"])
        t.set(W_VAL, "right")
        t.set(_W["pos"], str(self.text_width))
        return p

    def header(self, container, clears) -> None:
        meta = self.document.meta
        p = self._hf_paragraph(container, "header", clears)
        self.run(p, safe_text(meta.title), bold=True)
        right = safe_text(meta.region_label)
        self.run(p, "\t" + right)
        if meta.mark:
            self.run(p, " \u00b7 ")
            self.run(p, safe_text(meta.mark), bold=True, color="C00000")

    def field(self, p, instr: str, placeholder: str) -> None:
        _E(_E(p, _W["r"]), _W["fldChar"]).set(_W["fldCharType"], "begin")
        it = _E(_E(p, _W["r"]), _W["instrText"])
        it.text = f" {instr} "
        it.set(XML_SPACE, "preserve")
        _E(_E(p, _W["r"]), _W["fldChar"]).set(_W["fldCharType"], "separate")
        self.run(p, placeholder)
        _E(_E(p, _W["r"]), _W["fldChar"]).set(_W["fldCharType"], "end")

    def footer(self, container, clears, publisher: str | None) -> None:
        meta = self.document.meta
        p = self._hf_paragraph(container, "footer", clears)
        self.run(p, safe_text(footer_line(meta, publisher)) + "\t")
        self.run(p, "Page ")
        self.field(p, "PAGE", "1")
        self.run(p, " of ")
        self.field(p, "NUMPAGES", "1")
