"""A publisher's DOCX template, read for what a template is for and nothing else.

A template gives handouts their styles, list numbering, theme, fonts, page setup, and header
and footer (with their images). Everything else a .docx can carry -- comments, custom
properties, an attached template or mail-merge source (often external ``file://`` links),
macros, glossaries, custom XML, document protection -- would otherwise be copied into every
handout, so it is dropped here before the writer uses the template.

The package is checked before python-docx opens it: parts must be well-formed XML without a
document type declaration (Word never writes one; a DTD's entities are how XML attacks and
corrupt handouts begin), within size limits, and the parts the writer needs must be there.
A template that fails any check is a ``RenderError`` naming the template and the part.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from tpkit.errors import RenderError

# A template is styles and a few pages of header art: far below these.
MAX_PART_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_PARTS = 1_000

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# Relationships of the main document part that a template is used for (by type's last segment).
_DOCUMENT_PARTS = {"styles", "numbering", "theme", "fontTable", "settings", "header", "footer"}
# ... of the package: the document and the two property parts tpkit rewrites.
_PACKAGE_PARTS = {"officeDocument", "core-properties", "extended-properties"}
# ... of a header, footer, theme, numbering or font table: its images and embedded fonts.
_ART_PARTS = {"image", "font"}
# Settings that shape layout, kept; the rest (attachedTemplate, mailMerge, docVars, protection,
# revision ids...) goes.
_SETTINGS_KEPT = {"defaultTabStop", "evenAndOddHeaders", "mirrorMargins", "gutterAtTop", "bookFoldPrinting",
                  "characterSpacingControl", "compat", "themeFontLang", "clrSchemeMapping", "decimalSymbol",
                  "listSeparator", "autoHyphenation", "consecutiveHyphenLimit", "hyphenationZone",
                  "doNotHyphenateCaps", "embedTrueTypeFonts", "embedSystemFonts", "saveSubsetFonts",
                  "defaultTableStyle", "mathPr", "shapeDefaults", "titlePg"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _fail(template: Path, problem: str) -> RenderError:
    return RenderError(f"template {template}: {problem}; save it again from Word or use another template")


def check_package(template: Path) -> None:
    """Refuse a template whose package is broken, oversized or declares a DTD."""
    try:
        archive = zipfile.ZipFile(template)
    except (OSError, zipfile.BadZipFile) as exc:
        raise _fail(template, f"not a Word .docx file ({exc})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_PARTS:
            raise _fail(template, f"{len(members):,} parts, more than the {MAX_PARTS:,} a template may hold")
        if sum(member.file_size for member in members) > MAX_TOTAL_BYTES:
            raise _fail(template, f"more than {MAX_TOTAL_BYTES // 2**20} MB unpacked")
        names = {member.filename for member in members}
        for needed in ("[Content_Types].xml", "_rels/.rels"):
            if needed not in names:
                raise _fail(template, f"the package has no {needed}")
        for member in members:
            if member.file_size > MAX_PART_BYTES:
                raise _fail(template, f"{member.filename} unpacks to more than {MAX_PART_BYTES // 2**20} MB")
            if not member.filename.endswith((".xml", ".rels")):
                continue
            try:
                data = archive.read(member)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                raise _fail(template, f"{member.filename} cannot be unpacked ({exc})") from None
            _check_xml(template, member.filename, data)
            if member.filename.endswith(".rels"):
                _check_relationships(template, member.filename, data, names)


def _check_xml(template: Path, name: str, data: bytes) -> None:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _fail(template, f"{name} is not well-formed XML ({exc})") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _fail(template, f"{name} declares a document type (<!DOCTYPE ...>) with its entities; "
                              "tpkit refuses DTDs and entities in templates")


def _check_relationships(template: Path, name: str, data: bytes, names: set[str]) -> None:
    """Internal relationships of the parts tpkit takes must point at parts of the package."""
    folder = name.rsplit("_rels/", 1)[0].rstrip("/")  # word/_rels/document.xml.rels -> word
    for rel in etree.fromstring(data, _PARSER).iter(f"{{{_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        if kind not in _DOCUMENT_PARTS | _PACKAGE_PARTS | _ART_PARTS:
            continue  # dropped anyway
        target = rel.get("Target") or ""
        resolved = _resolve(folder, target)
        if resolved is None or resolved not in names:
            raise _fail(template, f"{name} points {kind} at {target!r}, which is not a part of the package")


def _resolve(folder: str, target: str) -> str | None:
    """A relationship target as a member name; None if it climbs out of the package."""
    parts = [] if target.startswith("/") else [p for p in folder.split("/") if p]
    for piece in target.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)


def open_template(template: Path):
    """The template checked, opened with python-docx and reduced to what a template is for."""
    import docx

    check_package(template)
    try:
        doc = docx.Document(str(template))
    except Exception as exc:  # python-docx reports broken packages with many types (KeyError, ValueError...)
        raise _fail(template, f"cannot be opened as a Word document ({type(exc).__name__}: {exc})") from None
    _keep_only(doc.part.package.rels, _PACKAGE_PARTS)
    _keep_only(doc.part.rels, _DOCUMENT_PARTS)
    for rel in doc.part.rels.values():
        kind = rel.reltype.rsplit("/", 1)[-1]
        # Headers and footers show images, a theme may fill with one, numbering may use picture
        # bullets, a font table embeds fonts; settings and styles need no part of their own.
        kept = _ART_PARTS if kind in ("header", "footer", "fontTable", "theme", "numbering") else set()
        _keep_only(rel.target_part.rels, kept, element=getattr(rel.target_part, "_element", None))
    settings = doc.settings.element
    for child in list(settings):
        if etree.QName(child).localname not in _SETTINGS_KEPT:
            settings.remove(child)
    return doc


def _keep_only(rels, kinds: set[str], element=None) -> None:
    """Drop every relationship not of the given kinds, and every external one; in ``element``,
    unwrap the hyperlinks and drop the runs that pointed at a dropped relationship."""
    dropped = set()
    for rel_id, rel in list(rels.items()):
        if rel.is_external or rel.reltype.rsplit("/", 1)[-1] not in kinds:
            rels.pop(rel_id)
            dropped.add(rel_id)
    if element is None or not dropped:
        return
    for node in list(element.iter()):
        if not any(name.startswith(f"{{{_REL}}}") and value in dropped for name, value in node.attrib.items()):
            continue
        if node.tag == f"{{{_W_NS}}}hyperlink":
            parent = node.getparent()
            index = parent.index(node)
            for offset, child in enumerate(list(node)):
                parent.insert(index + offset, child)
            parent.remove(node)
            continue
        holder = node
        while holder is not None and holder.tag != f"{{{_W_NS}}}r":
            holder = holder.getparent()
        target = holder if holder is not None else node
        if target.getparent() is not None:
            target.getparent().remove(target)
