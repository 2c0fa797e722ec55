"""The .docx package: core properties and the zip, both fixed by the document alone."""

from __future__ import annotations

import datetime as _dt
import io
import zipfile

from docx.opc.pkgwriter import _ContentTypesItem

from tpkit.document import Document
from tpkit.writers.docx.ooxml import _clear, safe_text
from tpkit.writers.docx.styles import _Base


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
