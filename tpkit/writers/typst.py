"""PDF writer on Typst: tagged PDF/UA-1 handouts and books from the layout tree.

Public API::

    render(document, options) -> bytes                  # one handout
    render_book(documents, title, options) -> bytes     # the whole collection in one compile
    check_template(path) -> Path                        # a --pdf-template, checked before any work

Design notes

* Entry text is data, never Typst code. The document tree goes to a fixed template
  (``tpkit/templates/handout.typ`` or the publisher's ``--pdf-template``) as one JSON
  string in ``sys.inputs``; the template turns strings into text content, which Typst
  never parses as markup. Nothing from an entry is pasted into Typst source.
* The same tree as the reportlab writer, serialised generically (every dataclass field,
  each block with its class name as ``type``), so a field a later layout adds (a run's
  ``superscript``, a new section) reaches the template without a change here.
* PDF/UA-1: Typst tags headings, lists, tables (header cells), figures (with the chart's
  alt text), links, and marks page headers, footers and backgrounds as artifacts; asked
  for ``ua-1`` it refuses a document that breaks the standard, which becomes a
  ``TypstRenderError`` (exit 2) naming the entry.
* Only the DejaVu fonts shipped in ``tpkit/fonts`` and, for a publisher's template, those in
  a ``fonts/`` folder beside it (system fonts ignored); Typst's root is the template's
  folder, so a template cannot read files elsewhere.
* Typst's compiler runs threads of its own: a process forked after it has compiled hangs
  in its first compile, so pools of Typst work start their workers fresh ("spawn").
* Deterministic: the document date is ``writers.document_time`` (``SOURCE_DATE_EPOCH`` or
  the entry's ``updated``), passed to Typst as its timestamp.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from tpkit import chart
from tpkit.document import Document, Figure, Metadata
from tpkit.errors import RenderError, UsageError
from tpkit.writers import RenderOptions, document_time, footer_line, long_date, safe_link, title_details

__all__ = ["render", "render_book", "check_template", "template_fingerprint", "TypstRenderError", "DEFAULT_TEMPLATE"]

DEFAULT_TEMPLATE = Path(str(resources.files("tpkit") / "templates" / "handout.typ"))
PDF_STANDARD = "ua-1"
_PAPER = {"a4": "a4", "letter": "us-letter"}


class TypstRenderError(RenderError):
    """Typst refused to typeset a document (a template error, or PDF/UA-1 broken): exit 2."""


# ----------------------------------------------------------------------------- the data


def _plain(value: Any) -> Any:
    """A layout-tree value as JSON data: dataclasses become objects tagged with their type."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Figure):
            return _figure(value)
        data = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            data[f.name] = _plain(getattr(value, f.name))
        if "link" in data and not safe_link(data["link"]):
            data["link"] = None  # only web and mail links become links; others print as text
        elif data.get("link"):
            data["link"] = data["link"].strip()
        return data
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _figure(figure: Figure) -> dict:
    """The chart as the chart module draws it for engines that embed SVG, at its print size."""
    printed = chart.to_print_svg(figure)
    return {"type": "Figure", "svg": printed.svg.decode("utf-8"), "width_mm": printed.width_mm,
            "height_mm": printed.height_mm, "caption": figure.caption, "alt_text": figure.alt_text,
            "zones": _plain(figure.zones), "trigger_points": list(figure.trigger_points)}


def _entry(document: Document, options: RenderOptions) -> dict:
    meta = _plain(document.meta)
    meta.update(metaline=" \u00b7 ".join(title_details(document.meta)),
                footer=footer_line(document.meta, options.publisher), updated_long=long_date(document.meta.updated))
    return {"meta": meta, "sections": _plain(document.sections)}


def _language(tag: str | None) -> tuple[str, str | None]:
    """A BCP 47 tag ("en", "en-GB") as Typst's ``lang`` and ``region``."""
    parts = (tag or "en").replace("_", "-").split("-")
    lang = parts[0].lower() if parts[0].isalpha() and 2 <= len(parts[0]) <= 3 else "en"
    region = next((p.upper() for p in parts[1:] if p.isalpha() and len(p) == 2), None)
    return lang, region


def _data(documents: Sequence[Document], options: RenderOptions, book: dict | None, info: dict) -> str:
    lang, region = _language(info.pop("language"))
    data = {
        "kind": "book" if book else "handout",
        "paper": _PAPER.get((options.paper or "a4").lower(), "a4"),
        "publisher": options.publisher,
        "info": {**info, "lang": lang, "region": region},
        "book": book,
        "front-footer": (options.publisher or (book or {}).get("title", "")) if book else "",
        "entries": [_entry(d, options) for d in documents],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------- Typst


@lru_cache(maxsize=4)
def _compiler(root: str):
    """A compiler whose root is the template's folder, with tpkit's fonts and those of the
    folder's ``fonts/`` (a publisher's house fonts) and no others."""
    import typst

    fonts = [str(resources.files("tpkit") / "fonts")]
    house = Path(root) / "fonts"
    if house.is_dir() and Path(root) != DEFAULT_TEMPLATE.parent:
        fonts.append(str(house))
    # Neither the system's fonts nor those built into Typst (Libertinus, New Computer Modern,
    # DejaVu Sans Mono): a template naming a font it did not bring gets Typst's "unknown font" warning.
    book = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=fonts)
    return typst.Compiler(root=root, font_paths=book, ignore_system_fonts=True)


def prepare() -> None:
    """Nothing to load before workers start: each process makes its compiler on first use."""


def check_template(path: Path | None) -> Path:
    """The template to compile: ``path`` (a publisher's .typ file) or tpkit's own."""
    if path is None:
        return DEFAULT_TEMPLATE
    path = Path(path)
    if path.suffix.lower() != ".typ" or not path.is_file():
        raise UsageError(f"PDF template {path} is not a Typst .typ file")
    path = path.resolve()
    if path.parent == path.parent.parent:
        raise UsageError(f"PDF template {path} lies in the file system's root; Typst could read every file: "
                         "put it in a folder of its own")
    return path


TEMPLATE_FOLDER_LIMIT = 1000  # files in a template's folder: it is meant to hold the template and its assets


def template_fingerprint(path: Path | None) -> str:
    """A digest of the template and every file of its folder: what Typst may read while compiling.

    A folder with more than TEMPLATE_FOLDER_LIMIT files (a home folder, say) is refused:
    the template belongs in a folder of its own, which is also all that Typst can see.
    """
    import hashlib

    template = check_template(path)
    folder = template.parent
    files = []
    for index, file in enumerate(p for p in folder.rglob("*") if p.is_file()):
        if index >= TEMPLATE_FOLDER_LIMIT:
            raise UsageError(f"PDF template {template}: its folder {folder} holds more than "
                             f"{TEMPLATE_FOLDER_LIMIT} files; keep the template and its assets in a folder of their own")
        files.append(file)
    hasher = hashlib.sha256(template.name.encode("utf-8") + b"\0")
    for file in sorted(files):
        hasher.update(str(file.relative_to(folder)).encode("utf-8") + b"\0")
        hasher.update(hashlib.sha256(file.read_bytes()).digest())
    return hasher.hexdigest()


def _compile(data: str, options: RenderOptions, when: _dt.datetime, what: str) -> bytes:
    import typst

    template = check_template(options.pdf_template)
    compiler = _compiler(str(template.parent))
    try:
        pdf = compiler.compile(input=str(template), format="pdf", sys_inputs={"tpkit": data},
                               pdf_standards=[PDF_STANDARD], timestamp=int(when.timestamp()))
    except typst.TypstError as exc:
        raise TypstRenderError(f"{what}: Typst could not typeset it with {template.name}: "
                               f"{_describe(exc)}") from None
    return pdf


_PLACE = re.compile(r"\u250c\u2500 (\S+:\d+:\d+)")


def _describe(exc) -> str:
    """Typst's message, where in the template it arose, and its hints, on one line."""
    message = (getattr(exc, "message", None) or str(exc)).strip()
    hints = [h for h in (getattr(exc, "hints", None) or []) if h]
    text = message.splitlines()[0] if message else "failed"
    place = _PLACE.search(getattr(exc, "diagnostic", "") or "")
    if place:
        text = f"{place.group(1)}: {text}"
    if hints:
        text += " (hint: " + "; ".join(h.strip() for h in hints) + ")"
    return text


# ----------------------------------------------------------------------------- public API


def _info(title: str, authors: Sequence[str], description: str, keywords: Sequence[str], language: str,
          options: RenderOptions) -> dict:
    return {"title": title, "authors": list(authors) or [options.publisher or "tpkit"],
            "description": description, "keywords": list(keywords), "language": language}


def render(document: Document, options: RenderOptions) -> bytes:
    """One handout as tagged PDF/UA-1 bytes (byte-identical for the same document and options)."""
    meta = document.meta
    info = _info(meta.title, meta.authors, f"Myofascial trigger point handout: {meta.title} ({meta.region_label})",
                 meta.keywords, meta.language or "en", options)
    data = _data([document], options, None, info)
    return _compile(data, options, document_time(document, options), f"entry {meta.id}")


def render_book(documents: Sequence[Document], title: str, options: RenderOptions) -> bytes:
    """The collection as one book typeset in one compile: cover, linked contents, each entry
    from a right-hand page, pages numbered through. Entries print in the given order."""
    documents = list(documents)
    placeholder = Document(Metadata("book", title, "", "", "", "published", "1970-01-01", (), None, ()))
    when = max((document_time(d, options) for d in documents), default=document_time(placeholder, options))
    dated = bool(documents) or when != document_time(placeholder, RenderOptions())
    authors = list(dict.fromkeys(a for d in documents for a in d.meta.authors))
    regions = list(dict.fromkeys(d.meta.region_label for d in documents))
    info = _info(title, authors, f"Myofascial trigger point handouts: {len(documents)} entries",
                 ["trigger points", "myofascial pain", *regions],
                 documents[0].meta.language if documents else "en", options)
    book = {
        "title": title,
        "kicker": "Myofascial trigger point handouts",
        "count": f"{len(documents)} {'entry' if len(documents) == 1 else 'entries'}",
        "date": long_date(when.date().isoformat()) if dated else None,
        "regions": regions,
    }
    return _compile(_data(documents, options, book, info), options, when, f"book \"{title}\"")
