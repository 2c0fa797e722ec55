"""The prepared base package: a template (or python-docx's default) cleaned, its styles
completed with the ones tpkit uses and, without a template, tuned to the handout look;
prepared once per (template, paper)."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from lxml import etree

from tpkit.writers import RenderOptions
from tpkit.writers.docx.ooxml import (
    _LRU, PAPER, TABLE_STYLE, TABLE_STYLE_FALLBACK, _W, W_VAL, _get_pr, _set_props, _sort_children,
)


_BASES = _LRU(8)  # (template key, paper) -> _Base


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
