"""What the PDF writer and the book linker share: how a page draws its number, and the
contents' links.

A handout draws "Page X of Y" on every page through a form XObject of its own, defined at
save time when Y is known (``pdf.page._Canvas.deferred_text``). The book linker
(``writers.pdfbook``) finds each page's form by its name and rewrites its text with the
book's page number and total. Both take the name and the text from here, so that neither
imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# reportlab names a form "<name>" in a page's resources "/FormXob.<name>".
_FORM_RESOURCE_PREFIX = "FormXob."
PAGE_TEXT = "Page {page} of {total}"


def page_form(page: int) -> str:
    """The name of the form that draws page ``page``'s number (1-based)."""
    return f"page-{page}"


def page_form_resource(page: int) -> bytes:
    """How a page's resources name that form, as a PDF name."""
    return f"/{_FORM_RESOURCE_PREFIX}{page_form(page)}".encode("ascii")


def page_text(page: int | str, total: int | str) -> str:
    return PAGE_TEXT.format(page=page, total=total)


# The text operator of a page-number form as reportlab writes it (pdf.page._Canvas.save):
# "BT 1 0 0 1 <x> 0 Tm /<font> 7.5 Tf 9 TL (Page 1 of 5) Tj T* ET"
PAGE_TEXT_OPERATOR = re.compile(
    rb"1 0 0 1 (-?[0-9.]+) 0 Tm (/\S+ [0-9.]+ Tf [0-9.]+ TL )\(("
    + re.escape(PAGE_TEXT).encode("ascii").replace(rb"\{page\}", rb"[0-9]+").replace(rb"\{total\}", rb"[0-9]+")
    + rb")\) Tj")


@dataclass(frozen=True)
class TocLink:
    """A contents line: where it is on the front matter's pages, and which chapter it opens."""

    page: int  # 0-based page of the front matter
    rect: tuple[float, float, float, float]
    chapter: int  # 0-based
