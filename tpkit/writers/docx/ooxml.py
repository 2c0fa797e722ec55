"""What every part of the DOCX writer shares: WordprocessingML names and sizes, text that
XML can hold, property elements in schema order, and a small cache."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from docx.oxml.ns import qn
from lxml import etree


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
_E = etree.SubElement


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



def _clear(container) -> None:
    for child in list(container):
        container.remove(child)
