"""Writers: plain functions from a laid-out ``Document`` to the bytes of one file.

The registry names each writer's module and function instead of importing it,
so that ``tpkit validate`` never pays for python-docx or reportlab.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable

from tpkit.document import Document, Metadata

# format -> (module, function, file suffix)
WRITERS: dict[str, tuple[str, str, str]] = {
    "docx": ("tpkit.writers.docx", "render", ".docx"),
    "pdf": ("tpkit.writers.pdf", "render", ".pdf"),
    "pdf-typst": ("tpkit.writers.typst", "render", ".pdf"),
}
# PDF engines: --pdf-engine NAME -> the registry's writer for "pdf"
PDF_ENGINES = {"reportlab": "pdf", "typst": "pdf-typst"}
_LINK_SCHEMES = ("http://", "https://", "mailto:", "ftp://")


@dataclass(frozen=True)
class RenderOptions:
    paper: str = "a4"  # "a4" or "letter"
    template: Path | None = None  # a publisher's .docx whose styles, page setup, header and footer are used
    publisher: str | None = None  # printed in footers and on book covers
    timestamp: _dt.datetime | None = None  # the document date; see document_time()
    pdf_engine: str = "reportlab"  # a name of PDF_ENGINES
    pdf_template: Path | None = None  # a publisher's Typst template (the typst engine); None: tpkit's own


def document_time(document: Document, options: RenderOptions) -> _dt.datetime:
    """The date written into file metadata: SOURCE_DATE_EPOCH if set, else the entry's ``updated`` (UTC midnight).

    Never the clock: the same entries must give byte-identical files.
    """
    if options.timestamp is not None:
        return options.timestamp
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    return _dt.datetime.fromisoformat(document.meta.updated).replace(tzinfo=_dt.timezone.utc)


def long_date(iso: str) -> str:
    """A YYYY-MM-DD date as printed: "6 November 2026"."""
    try:
        day = _dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {day.strftime('%B')} {day.year}"


# The title block and the footer, in the words every writer prints them, so that a
# DOCX and a PDF of one entry say the same thing.
def title_details(meta: Metadata) -> list[str]:
    """The line under an entry's title: update date, authors, licence."""
    details = [f"Updated {long_date(meta.updated)}"]
    if meta.authors:
        details.append(", ".join(meta.authors))
    if meta.license:
        details.append(meta.license)
    return details


def footer_line(meta: Metadata, publisher: str | None) -> str:
    """The footer of an entry's pages (before "Page N of M")."""
    parts = [publisher] if publisher else []
    if meta.license:
        parts.append(f"License {meta.license}")
    parts.append(f"Updated {long_date(meta.updated)}")
    if meta.mark:
        parts.append(f"Status: {meta.status}")
    return " \u00b7 ".join(parts)


def safe_link(url: str | None) -> bool:
    """Whether a run's link may become a live link (web and mail addresses); others print as text."""
    return bool(url) and url.strip().lower().startswith(_LINK_SCHEMES) and not any(c.isspace() for c in url)


def writer_name(fmt: str, options: RenderOptions | None = None) -> str:
    """The registry's name of the writer that makes ``fmt`` with these options (the PDF engine)."""
    if fmt == "pdf" and options is not None:
        return PDF_ENGINES[options.pdf_engine]
    return fmt


def get_writer(fmt: str, options: RenderOptions | None = None) -> Callable[[Document, RenderOptions], bytes]:
    module, function, _ = WRITERS[writer_name(fmt, options)]
    return getattr(import_module(module), function)


def prepare_writer(fmt: str, options: RenderOptions | None = None) -> None:
    """Import a writer and load what each of its calls needs (the PDF fonts), so that worker
    processes forked afterwards start with them instead of each loading its own."""
    module = import_module(WRITERS[writer_name(fmt, options)][0])
    getattr(module, "prepare", lambda: None)()


def suffix(fmt: str) -> str:
    return WRITERS[fmt][2]
