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

import copy
import datetime as _dt
import io
import re
import struct
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import docx
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import _ContentTypesItem
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from lxml import etree

from tpkit.document import (
    BulletList, Document, Figure, Paragraph, References, Run, SubHeading, Table,
)
from tpkit.writers import RenderOptions, document_time, footer_line, title_details

__all__ = ["render", "clear_caches", "safe_text", "TABLE_STYLE", "CHART_MAX_HEIGHT_IN"]

# ---------------------------------------------------------------------------
# constants

TABLE_STYLE = "Light Grid Accent 1"  # built-in, present in python-docx's default template
TABLE_STYLE_FALLBACK = "Table Grid"
CHART_MAX_HEIGHT_IN = 5.9  # the chart shows at its print size (tpkit.chart.print_size), narrowed to the text width

# page setup in twentieths of a point: (width, height, margin, header/footer distance)
PAPER = {
    "a4": (11906, 16838, 1134, 567),  # 2 cm margins, 1 cm to header/footer
    "letter": (12240, 15840, 1152, 576),  # 0.8 in margins, 0.4 in
}

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

_W = {name: qn(f"w:{name}") for name in (
    "p", "pPr", "pStyle", "keepNext", "keepLines", "jc", "r", "rPr", "rStyle", "b", "bCs", "i", "iCs", "t",
    "tab", "br", "hyperlink", "val", "history", "tabs", "pos", "color", "sz", "szCs", "pBdr", "top", "bottom",
    "left", "right", "space", "spacing", "before", "after", "fldChar", "fldCharType", "instrText", "tbl",
    "tblPr", "tblStyle", "tblW", "w", "type", "tblLayout", "tblLook", "firstRow", "lastRow", "firstColumn",
    "lastColumn", "noHBand", "noVBand", "tblGrid", "gridCol", "tr", "trPr", "tblHeader", "cantSplit", "tc",
    "tcPr", "tcW", "drawing", "lang", "rPrDefault", "docDefaults", "style", "styleId", "name", "basedOn",
    "link", "rsid", "numPr", "numId", "ilvl", "num", "abstractNum", "abstractNumId", "lvl", "numFmt",
    "lvlText", "start", "lvlJc", "ind", "hanging", "rFonts", "ascii", "hAnsi", "hint", "u", "uiPriority",
    "unhideWhenUsed", "qFormat", "semiHidden", "pgSz", "h", "pgMar", "header", "footer", "gutter", "orient",
    "sectPr", "headerReference", "footerReference", "titlePg", "color", "themeColor", "sz", "multiLevelType",
    "nsid", "tmpl", "contextualSpacing", "body", "caps", "line", "lineRule", "shd", "fill", "vertAlign",
)}
R_ID = qn("r:id")
W_VAL = _W["val"]

# ---------------------------------------------------------------------------
# safe text

# Characters XML 1.0 cannot hold (tab, newline and carriage return can); lone
# surrogates and the two non-characters U+FFFE/U+FFFF are refused by lxml too.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (validation forbids them anyway).

    Carriage returns are dropped too (a "\\r\\n" becomes a line break); tabs and
    newlines stay and become ``w:tab`` / ``w:br``.  Everything else, ``<``, ``&``,
    quotes and ``]]>`` included, is literal text that lxml escapes.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text)


# ---------------------------------------------------------------------------
# small caches


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


_BASES = _LRU(8)  # (template key, paper) -> _Base
_CHARTS = _LRU(64)  # (figure, width) -> png bytes


def clear_caches() -> None:
    """Forget prepared templates and charts (tests; a template edited in place)."""
    for cache in (_BASES, _CHARTS):
        cache.clear()


# ---------------------------------------------------------------------------
# the prepared base package


@dataclass
class _Base:
    package: bytes  # the cleaned template, saved with a stub styles.xml
    styles_partname: str
    styles_blob: bytes  # the real styles.xml
    default_lang: str | None
    ids: dict[str, str]  # role -> style id
    tab_clears: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "header"/"footer" -> tab positions
    keep_header: bool = False  # the template has its own header ...
    keep_footer: bool = False  # ... or footer; keep them
    apply_paper: bool = True  # no template: page size and margins from options.paper
    lang_blobs: dict[str, bytes] = field(default_factory=dict)  # language -> styles.xml with that default


# style role -> built-in style name
_ROLES = {
    "title": "Title",
    "subtitle": "Subtitle",
    "h1": "Heading 1",
    "h2": "Heading 2",
    "normal": "Normal",
    "bullet": "List Bullet",
    "caption": "Caption",
    "bibliography": "Bibliography",
    "hyperlink": "Hyperlink",
    "header": "Header",
    "footer": "Footer",
}

_BIBLIOGRAPHY_XML = (
    f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="{{id}}">'
    '<w:name w:val="Bibliography"/><w:basedOn w:val="{normal}"/><w:uiPriority w:val="37"/>'
    '<w:unhideWhenUsed/><w:pPr><w:spacing w:after="120"/><w:ind w:left="567" w:hanging="567"/></w:pPr>'
    '<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr></w:style>'
)
_HYPERLINK_XML = (
    f'<w:style {nsdecls("w")} w:type="character" w:styleId="{{id}}">'
    '<w:name w:val="Hyperlink"/><w:basedOn w:val="{font}"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
    '<w:rPr><w:color w:val="0563C1" w:themeColor="hyperlink"/><w:u w:val="single"/></w:rPr></w:style>'
)
_BULLET_ABSTRACT_XML = (
    f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{{aid}}"><w:nsid w:val="{{nsid}}"/>'
    '<w:multiLevelType w:val="singleLevel"/><w:tmpl w:val="7C0A6E2A"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:pStyle w:val="{style}"/>'
    '<w:lvlText w:val="\u2022"/><w:lvlJc w:val="left"/>'
    '<w:pPr><w:ind w:left="360" w:hanging="360"/></w:pPr></w:lvl></w:abstractNum>'
)
_STUB_STYLES = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles {nsdecls("w")}/>'.encode()
_APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<Application>tpkit</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
    "{company}<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
    "<HyperlinksChanged>false</HyperlinksChanged></Properties>"
)


def _template_key(template: Path | None):
    if template is None:
        return None
    path = Path(template).resolve()
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _base(options: RenderOptions) -> _Base:
    tkey = _template_key(options.template)
    paper = (options.paper or "a4").lower()
    if paper not in PAPER:
        raise ValueError(f"unknown paper size {options.paper!r}: use 'a4' or 'letter'")
    key = (tkey, None if tkey else paper)
    base = _BASES.get(key)
    if base is None:
        base = _prepare(options.template, paper)
        _BASES.put(key, base)
    return base


_default_styles_el = None


def _default_style(name: str):
    """A copy of built-in style ``name`` from python-docx's default template, or None."""
    global _default_styles_el
    if _default_styles_el is None:
        _default_styles_el = docx.Document().styles.element
    for style in _default_styles_el.iterchildren(_W["style"]):
        n = style.find(_W["name"])
        if n is not None and n.get(W_VAL).lower() == name.lower():
            return copy.deepcopy(style)
    return None


def _style_by_name(styles_el, name: str):
    lower = name.lower()
    for style in styles_el.iterchildren(_W["style"]):
        n = style.find(_W["name"])
        if n is not None and n.get(W_VAL, "").lower() == lower:
            return style
    return None


def _free_style_id(styles_el, wanted: str) -> str:
    used = {s.get(_W["styleId"]) for s in styles_el.iterchildren(_W["style"])}
    candidate, n = wanted, 1
    while candidate in used:
        n += 1
        candidate = f"{wanted}{n}"
    return candidate


def _default_id(styles_el, kind: str) -> str | None:
    for style in styles_el.iterchildren(_W["style"]):
        if style.get(_W["type"]) == kind and style.get(qn("w:default")) in ("1", "true", "on"):
            return style.get(_W["styleId"])
    return None


def _ensure_style(styles_el, name: str, ids: dict[str, str]):
    """The style element named ``name``, added to ``styles_el`` if the template lacks it."""
    style = _style_by_name(styles_el, name)
    if style is not None:
        return style
    wanted = name.replace(" ", "")
    if name == "Bibliography":
        style = parse_xml(_BIBLIOGRAPHY_XML.replace("{id}", _free_style_id(styles_el, wanted))
                          .replace("{normal}", ids.get("normal") or "Normal"))
    elif name == "Hyperlink":
        font = _default_id(styles_el, "character") or "DefaultParagraphFont"
        style = parse_xml(_HYPERLINK_XML.replace("{id}", _free_style_id(styles_el, wanted)).replace("{font}", font))
    else:
        style = _default_style(name)
        if style is None:
            raise ValueError(f"no built-in style {name!r}")
        style.set(_W["styleId"], _free_style_id(styles_el, style.get(_W["styleId"])))
        style.attrib.pop(qn("w:default"), None)
        existing = {s.get(_W["styleId"]) for s in styles_el.iterchildren(_W["style"])}
        for tag in ("link", "rsid", "next"):
            for child in style.findall(qn(f"w:{tag}")):
                if tag != "next" or child.get(W_VAL) not in existing:
                    style.remove(child)
        based = style.find(_W["basedOn"])
        if based is not None and based.get(W_VAL) not in existing:
            if style.get(_W["type"]) == "paragraph" and ids.get("normal"):
                based.set(W_VAL, ids["normal"])
            else:
                style.remove(based)
        if name == "List Bullet":  # its numbering is the template's business (below)
            ppr = style.find(_W["pPr"])
            if ppr is not None:
                for numpr in ppr.findall(_W["numPr"]):
                    ppr.remove(numpr)
    styles_el.append(style)
    return style


def _ensure_bullet_numbering(doc, bullet_style) -> None:
    """Make List Bullet's own numbering a bullet, adding a definition if the template has none."""
    part = doc.part
    try:
        numbering = part.part_related_by(RT.NUMBERING)
    except KeyError:
        from docx.parts.numbering import NumberingPart

        blob = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:numbering {nsdecls("w")}/>'.encode()
        numbering = NumberingPart.load(PackURI("/word/numbering.xml"), CT.WML_NUMBERING, blob, part.package)
        part.relate_to(numbering, RT.NUMBERING)
    root = numbering.element
    ppr = bullet_style.find(_W["pPr"])
    num_id = None
    if ppr is not None and ppr.find(_W["numPr"]) is not None:
        el = ppr.find(_W["numPr"]).find(_W["numId"])
        num_id = el.get(W_VAL) if el is not None else None
    if num_id is not None:
        for num in root.iterchildren(_W["num"]):
            if num.get(_W["numId"]) == num_id:
                aid = num.find(_W["abstractNumId"]).get(W_VAL)
                for absn in root.iterchildren(_W["abstractNum"]):
                    if absn.get(_W["abstractNumId"]) == aid:
                        for lvl in absn.iterchildren(_W["lvl"]):
                            fmt = lvl.find(_W["numFmt"])
                            if lvl.get(_W["ilvl"]) == "0" and fmt is not None and fmt.get(W_VAL) == "bullet":
                                return
    # add a bullet definition and point the style at it
    aids = [int(a.get(_W["abstractNumId"])) for a in root.iterchildren(_W["abstractNum"])]
    nids = [int(n.get(_W["numId"])) for n in root.iterchildren(_W["num"])]
    aid, nid = max(aids, default=-1) + 1, max(nids, default=0) + 1
    absn = parse_xml(_BULLET_ABSTRACT_XML.replace("{aid}", str(aid)).replace("{nsid}", f"7C0A{aid:04X}")
                     .replace("{style}", bullet_style.get(_W["styleId"])))
    last_abs = list(root.iterchildren(_W["abstractNum"]))
    if last_abs:
        last_abs[-1].addnext(absn)
    else:
        root.insert(0, absn)
    num = parse_xml(f'<w:num {nsdecls("w")} w:numId="{nid}"><w:abstractNumId w:val="{aid}"/></w:num>')
    nums = list(root.iterchildren(_W["num"]))
    if nums:
        nums[-1].addnext(num)
    else:
        root.append(num)
    if ppr is None:
        ppr = etree.SubElement(bullet_style, _W["pPr"])
        rpr = bullet_style.find(_W["rPr"])
        if rpr is not None:
            rpr.addprevious(ppr)
    numpr = ppr.find(_W["numPr"])
    if numpr is None:
        numpr = etree.Element(_W["numPr"])
        anchor = ppr.find(_W["pStyle"])
        for tag in ("keepNext", "keepLines"):
            anchor = ppr.find(_W[tag]) if ppr.find(_W[tag]) is not None else anchor
        if anchor is not None:
            anchor.addnext(numpr)
        else:
            ppr.insert(0, numpr)
    for child in list(numpr):
        numpr.remove(child)
    etree.SubElement(numpr, _W["numId"]).set(W_VAL, str(nid))


# schema order (CT_PPrBase, CT_RPr) of the children of w:pPr and w:rPr
_PPR_ORDER = tuple(qn(f"w:{t}") for t in (
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
    "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
    "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
    "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange").split())
_RPR_ORDER = tuple(qn(f"w:{t}") for t in (
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof "
    "snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u effect bdr shd "
    "fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath").split())


def _sort_children(el) -> None:
    order = _PPR_ORDER if el.tag == _W["pPr"] else _RPR_ORDER
    rank = {tag: i for i, tag in enumerate(order)}
    children = list(el)
    ordered = sorted(children, key=lambda c: rank.get(c.tag, len(order)))  # stable: unknown ones last
    if ordered != children:
        for c in children:
            el.remove(c)
        el.extend(ordered)


def _set_props(parent, tag: str, attrs: dict[str, str]):
    """Set child ``w:tag`` of ``parent`` (a pPr or rPr) to exactly these ``w:`` attributes, in schema order."""
    for old in parent.findall(qn(f"w:{tag}")):
        parent.remove(old)
    el = etree.SubElement(parent, qn(f"w:{tag}"))
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), v)
    _sort_children(parent)
    return el


def _get_pr(style, tag: str):
    """The style's w:pPr or w:rPr (in CT_Style they come after the name/basedOn/... flags, pPr first)."""
    pr = style.find(_W[tag])
    if pr is None:
        pr = etree.SubElement(style, _W[tag])
        if tag == "pPr" and style.find(_W["rPr"]) is not None:
            style.find(_W["rPr"]).addprevious(pr)
        else:  # before tblPr/trPr/tcPr/tblStylePr, which follow rPr
            for later in ("tblPr", "trPr", "tcPr", "tblStylePr"):
                nxt = style.find(qn(f"w:{later}"))
                if nxt is not None:
                    nxt.addprevious(pr)
                    break
    return pr


def _tune_default_styles(styles_el, ids: dict[str, str]) -> None:
    """The handout look of tpkit's own base (no template): expressed in the styles, so it stays restylable."""
    def style(role):
        return _style_by_name(styles_el, _ROLES[role])

    # Header and footer: small grey type, a hairline rule under the header / over the footer.
    for role, edge in (("header", "bottom"), ("footer", "top")):
        st = style(role)
        rpr = _get_pr(st, "rPr")
        _set_props(rpr, "color", {"val": "595959"})
        _set_props(rpr, "sz", {"val": "17"})
        _set_props(rpr, "szCs", {"val": "17"})
        ppr = _get_pr(st, "pPr")
        for old in ppr.findall(_W["pBdr"]):
            ppr.remove(old)
        ppr.append(parse_xml(f'<w:pBdr {nsdecls("w")}><w:{edge} w:val="single" w:sz="4" w:space="4" '
                             'w:color="A6A6A6"/></w:pBdr>'))
        _sort_children(ppr)
    # Headings: a little less air above (the Word 2010 defaults are generous for a 2-4 page handout).
    _set_props(_get_pr(style("h1"), "pPr"), "spacing", {"before": "360", "after": "80"})
    _set_props(_get_pr(style("h2"), "pPr"), "spacing", {"before": "200", "after": "40"})
    # Title without the space-eating spacing; caption centred, under the centred chart.
    _set_props(_get_pr(style("title"), "pPr"), "spacing", {"after": "120"})
    cap_ppr = _get_pr(style("caption"), "pPr")
    _set_props(cap_ppr, "spacing", {"before": "60", "after": "240", "line": "240", "lineRule": "auto"})
    _set_props(cap_ppr, "jc", {"val": "center"})
    cap_rpr = _get_pr(style("caption"), "rPr")  # quiet italic instead of bold accent blue
    for tag in ("b", "bCs"):
        for el in cap_rpr.findall(_W[tag]):
            cap_rpr.remove(el)
    _set_props(cap_rpr, "i", {})
    _set_props(cap_rpr, "iCs", {})
    _set_props(cap_rpr, "color", {"val": "404040"})
    # Subtitle: the default template's carries a stray numPr without numId; drop it.
    sub_ppr = style("subtitle").find(_W["pPr"])
    if sub_ppr is not None:
        for numpr in sub_ppr.findall(_W["numPr"]):
            sub_ppr.remove(numpr)
        if len(sub_ppr) == 0:
            style("subtitle").remove(sub_ppr)
    _set_props(_get_pr(style("subtitle"), "pPr"), "spacing", {"after": "240"})


def _prepare(template: Path | None, paper: str) -> _Base:
    if template is None:
        doc = docx.Document()
    else:
        from tpkit.writers.docx_template import open_template

        doc = open_template(template)  # checked, and reduced to what a template is for
    part = doc.part
    package = part.package
    body = doc.element.body
    # 1. the template's body content goes; its last section properties (page setup, header/footer) stay
    sect = body.find(_W["sectPr"])
    for child in list(body):
        if child is not sect:
            body.remove(child)
    if sect is None:
        sect = etree.SubElement(body, _W["sectPr"])
    # 2. styles
    styles_part = part._styles_part
    styles_el = styles_part.element
    ids: dict[str, str] = {}
    normal = _style_by_name(styles_el, "Normal")
    if normal is not None:
        ids["normal"] = normal.get(_W["styleId"])
    found: dict[str, object] = {}
    for role in ("normal", "title", "subtitle", "h1", "h2", "caption", "header", "footer", "bullet",
                 "hyperlink", "bibliography"):
        found[role] = _ensure_style(styles_el, _ROLES[role], ids)
        ids[role] = found[role].get(_W["styleId"])
    table = _style_by_name(styles_el, TABLE_STYLE)
    if table is None and template is not None:
        table = _style_by_name(styles_el, TABLE_STYLE_FALLBACK)
    if table is None:
        table = _ensure_style(styles_el, TABLE_STYLE, ids)
    ids["table"] = table.get(_W["styleId"])
    _ensure_bullet_numbering(doc, found["bullet"])
    if template is None:
        _tune_default_styles(styles_el, ids)
    tab_clears = {}
    for role in ("header", "footer"):
        tabs = found[role].find(f"{_W['pPr']}/{_W['tabs']}")
        tab_clears[role] = tuple(int(t.get(_W["pos"])) for t in tabs) if tabs is not None else ()
    lang_el = styles_el.find(f"{_W['docDefaults']}/{_W['rPrDefault']}/{_W['rPr']}/{_W['lang']}")
    default_lang = lang_el.get(W_VAL) if lang_el is not None else None
    styles_blob = styles_part.blob
    # 3. parts a generated document must not inherit: stale Word 2010 style copy, the template's
    #    thumbnail, its app properties (application name, company, page counts)
    for rel in list(part.rels.values()):
        if rel.reltype == "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects":
            part.rels.pop(rel.rId)
    for rel in list(package.rels.values()):
        if rel.reltype == RT.THUMBNAIL:
            package.rels.pop(rel.rId)
        elif rel.reltype == RT.EXTENDED_PROPERTIES:
            rel.target_part._blob = _APP_XML.replace("{company}", "").encode()
    # a template saved as "proofed" would stop Word from checking the spelling of what we write
    settings = doc.settings.element
    for el in settings.findall(qn("w:proofState")):
        settings.remove(el)
    keep_header = sect.find(_W["headerReference"]) is not None
    keep_footer = sect.find(_W["footerReference"]) is not None
    # 4. the base package: styles as a stub (they go back in, pre-deflated, at write time)
    styles_part._element = parse_xml(_STUB_STYLES)
    out = io.BytesIO()
    doc.save(out)
    return _Base(
        package=out.getvalue(),
        styles_partname=str(styles_part.partname),
        styles_blob=styles_blob,
        default_lang=default_lang,
        ids=ids,
        tab_clears=tab_clears,
        keep_header=keep_header,
        keep_footer=keep_footer,
        apply_paper=template is None,
    )


def _styles_for(base: _Base, language: str | None) -> bytes:
    """styles.xml, with the document language as default unless the template's already is.

    The template's tag stands when the entry's is a range that covers it (BCP 47 prefix
    matching): "en" keeps a template's "en-US", "en-GB" replaces it."""
    template = (base.default_lang or "").lower()
    if not language or template == language.lower() or template.startswith(language.lower() + "-"):
        return base.styles_blob
    blob = base.lang_blobs.get(language)
    if blob is None:
        root = etree.fromstring(base.styles_blob)
        defaults = root.find(_W["docDefaults"])
        if defaults is None:
            defaults = etree.Element(_W["docDefaults"])
            root.insert(0, defaults)
        rpr_default = defaults.find(_W["rPrDefault"])
        if rpr_default is None:
            rpr_default = etree.Element(_W["rPrDefault"])
            defaults.insert(0, rpr_default)
        rpr = rpr_default.find(_W["rPr"])
        if rpr is None:
            rpr = etree.SubElement(rpr_default, _W["rPr"])
        lang = rpr.find(_W["lang"])
        if lang is None:
            lang = etree.SubElement(rpr, _W["lang"])
        lang.set(W_VAL, language)
        blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        base.lang_blobs[language] = blob
    return blob


# ---------------------------------------------------------------------------
# the chart


def _chart_png(figure: Figure) -> bytes:
    key = figure
    png = _CHARTS.get(key)
    if png is None:
        from tpkit import chart

        png = chart.to_png(figure)  # 300 dpi at its print width
        _CHARTS.put(key, png)
    return png


def _png_size(png: bytes) -> tuple[int, int]:
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("chart.to_png did not return a PNG")
    return struct.unpack(">II", png[16:24])


# ---------------------------------------------------------------------------
# building the body

_SPLIT = re.compile(r"([\t\n])")
_E = etree.SubElement


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
            self.table(block)
        elif isinstance(block, Figure):
            self.figure(block)
        elif isinstance(block, References):
            for ref in block.items:
                self.runs(self.paragraph("bibliography"), ref.runs)
        else:  # pragma: no cover - the layout tree has no other blocks
            raise TypeError(f"unknown block {type(block).__name__}")

    def table(self, table: Table) -> None:
        n = len(table.header)
        widths = list(table.widths) if len(table.widths) == n else [1 / n] * n
        total = sum(widths) or 1.0
        cols = [int(self.text_width * w / total) for w in widths]
        tbl = etree.Element(_W["tbl"])
        tpr = _E(tbl, _W["tblPr"])
        _E(tpr, _W["tblStyle"]).set(W_VAL, self.ids["table"])
        tw = _E(tpr, _W["tblW"])
        tw.set(_W["w"], str(sum(cols)))
        tw.set(_W["type"], "dxa")
        _E(tpr, _W["tblLayout"]).set(_W["type"], "fixed")
        look = _E(tpr, _W["tblLook"])
        for k, v in (("val", "04A0"), ("firstRow", "1"), ("lastRow", "0"), ("firstColumn", "1"),
                     ("lastColumn", "0"), ("noHBand", "0"), ("noVBand", "1")):
            look.set(_W[k], v)
        grid = _E(tbl, _W["tblGrid"])
        for w in cols:
            _E(grid, _W["gridCol"]).set(_W["w"], str(w))

        def row(cells, header: bool) -> None:
            tr = _E(tbl, _W["tr"])
            trpr = _E(tr, _W["trPr"])
            _E(trpr, _W["cantSplit"])
            if header:
                _E(trpr, _W["tblHeader"])
            for w, cell in zip(cols, cells):
                tc = _E(tr, _W["tc"])
                tcpr = _E(tc, _W["tcPr"])
                tcw = _E(tcpr, _W["tcW"])
                tcw.set(_W["w"], str(w))
                tcw.set(_W["type"], "dxa")
                p = self.paragraph(parent=tc)
                if header:
                    self.run(p, safe_text(cell))
                else:
                    self.runs(p, cell)

        row(table.header, True)
        for cells in table.rows:
            row(tuple(cells) + ((),) * (n - len(cells)), False)
        self.anchor.addprevious(tbl)

    def figure(self, figure: Figure) -> None:
        from docx.shared import Emu

        png = _chart_png(figure)
        px_w, px_h = _png_size(png)
        max_w = min(px_w / 300, self.text_width / 1440)
        width_in = min(max_w, CHART_MAX_HEIGHT_IN * px_w / px_h)
        cx = round(width_in * 914400)
        cy = round(cx * px_h / px_w)
        p = self.paragraph(jc="center", keep_next=True)
        inline = self.part.new_pic_inline(io.BytesIO(png), Emu(cx), Emu(cy))
        doc_pr = inline.docPr
        doc_pr.set("name", f"Body chart {doc_pr.get('id')}")
        doc_pr.set("descr", safe_text(figure.alt_text))
        doc_pr.set("title", safe_text(f"Referral pattern of {self.document.meta.title}"))
        r = _E(p, _W["r"])
        _E(r, _W["drawing"]).append(inline)
        self.run(self.paragraph("caption"), safe_text(figure.caption))

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


def _clear(container) -> None:
    for child in list(container):
        container.remove(child)


# ---------------------------------------------------------------------------
# core properties

def _utc(moment: _dt.datetime) -> _dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _core_properties(doc, document: Document, moment: _dt.datetime) -> None:
    meta = document.meta
    props = doc.core_properties
    _clear(props._element)  # nothing of the template's (or python-docx's) properties survives
    for name, value in (
        ("title", meta.title), ("subject", meta.subtitle), ("author", "; ".join(meta.authors)),
        ("keywords", ", ".join(meta.keywords)), ("category", meta.region_label), ("language", meta.language),
        ("identifier", meta.id), ("content_status", meta.status),
    ):
        value = safe_text(value or "")
        if value:
            setattr(props, name, value[:255])  # core properties hold at most 255 characters
    props.revision = 1
    props.created = moment
    props.modified = moment
    props.last_printed = moment


# ---------------------------------------------------------------------------
# the package


# Media are compressed already (PNG is deflate inside); deflating them again gains a few per cent
# for as long as the XML parts take together.
_STORED_SUFFIXES = (".png", ".jpeg", ".jpg", ".gif")


def _zip(entries: list[tuple[str, bytes]], moment: _dt.datetime) -> bytes:
    """A zip archive of ``entries`` in order, written by ``zipfile``: a fixed time stamp and
    system, so that the bytes depend on nothing but the entries."""
    year = min(max(moment.year, 1980), 2107)
    stamp = (year, 1, 1, 0, 0, 0) if year != moment.year else moment.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 0  # else the platform tpkit runs on, which would change the bytes
            stored = name.lower().endswith(_STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=None if stored else 6)
    return buffer.getvalue()


def _package_bytes(doc, base: _Base, styles_blob: bytes, moment: _dt.datetime) -> bytes:
    package = doc.part.package
    parts = list(package.iter_parts())
    entries: list[tuple[str, bytes]] = [("[Content_Types].xml", _ContentTypesItem.from_parts(parts).blob),
                                        ("_rels/.rels", package.rels.xml)]
    for part in parts:
        name = str(part.partname)
        blob = styles_blob if name == base.styles_partname else part.blob
        entries.append((name[1:], blob))
        if len(part.rels):
            entries.append((part.partname.rels_uri.membername, part.rels.xml))
    return _zip(entries, moment)


# ---------------------------------------------------------------------------
# render


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
