"""The PDF book assembled from handouts: front matter, then every entry's handout pages.

A book chapter is the entry's handout, typeset once: the same pages, running headers,
footers and watermark. Only three things differ, and they are mended here with pikepdf
(qpdf) instead of typesetting the entry again:

* "Page X of Y": each handout page draws its number through a form XObject of its own
  (``/FormXob.page-N``, see ``pdf._Canvas.deferred_text``); the book gives each page a
  copy of that form with the book's page number and total.
* The outline: each entry becomes a top-level item over its handout's section items.
* The contents lines link to the first page of their entry.

So the book costs no typesetting beyond its cover and contents, and a build that keeps
999 handouts of 1,000 re-assembles the book from them in seconds.
"""

from __future__ import annotations

import hashlib
import io
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator, Sequence, Union

import pikepdf

if TYPE_CHECKING:
    from tpkit.writers.pdf import TocLink

# The text operator of a page-number form as reportlab writes it (pdf._Canvas.save):
# "BT 1 0 0 1 <x> 0 Tm /<font> 7.5 Tf 9 TL (Page 1 of 5) Tj T* ET"
_NUMBER_TEXT = re.compile(rb"1 0 0 1 (-?[0-9.]+) 0 Tm (/\S+ [0-9.]+ Tf [0-9.]+ TL )\((Page [0-9]+ of [0-9]+)\) Tj")


Chapter = Union[bytes, Path]  # a handout's PDF, or the file that holds it


@contextmanager
def opened(chapters: Sequence[Chapter]) -> Iterator[list[pikepdf.Pdf]]:
    """The chapters as pikepdf documents, open until the book is saved (qpdf copies their
    streams lazily). qpdf reads a file as it needs it and keeps it open; past the process's
    limit of open files, chapters are read into memory instead."""
    import resource

    budget = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64
    sources: list[pikepdf.Pdf] = []
    try:
        for chapter in chapters:
            if isinstance(chapter, Path) and len(sources) >= budget:
                chapter = chapter.read_bytes()
            sources.append(pikepdf.open(chapter if isinstance(chapter, Path) else io.BytesIO(chapter)))
        yield sources
    finally:
        for source in sources:
            source.close()


def assemble(out: BinaryIO, front: bytes, toc_links: Sequence["TocLink"], sources: Sequence[pikepdf.Pdf],
             titles: Sequence[str], number_width: Callable[[str], float]) -> None:
    """Write to ``out`` the book: the pages of ``front`` then of every chapter (``sources``,
    from ``opened``), numbered through, with one outline.

    ``front`` carries the book's info dictionary and its own outline ("Contents"); its page
    numbers are already the book's. ``number_width`` measures a "Page X of Y" text as the
    handouts draw it, to keep it right-aligned.
    """
    with pikepdf.open(io.BytesIO(front)) as front_pdf, pikepdf.new() as book:
        # Pages are copied onto the book's page tree directly: going through ``book.pages``
        # costs twice as much, qpdf updating its page list at every insertion. The book is a
        # new document so that qpdf lists its pages only once they are all there.
        tree = book.Root.Pages
        _append_pages(book, front_pdf)
        # The front's catalogue (outline, page mode, language) and info are the book's; copied
        # after its pages, so that the outline's destinations are the book's copies of them.
        for key, value in front_pdf.Root.items():
            if key not in ("/Type", "/Pages"):
                book.Root[key] = book.copy_foreign(value) if value.is_indirect else value
        book.trailer.Info = book.copy_foreign(front_pdf.trailer.Info)
        front_pages = len(tree.Kids)
        total = front_pages + sum(len(source.pages) for source in sources)
        first_pages = []  # 0-based index in the book of each chapter's first page
        outlines: list[pikepdf.Dictionary | None] = []
        before = front_pages
        for source in sources:
            first_pages.append(before)
            for own, page in enumerate(source.pages, 1):
                _renumber(page, own, before + own, total, number_width)
            before += len(source.pages)
            _append_pages(book, source)
            outlines.append(book.copy_foreign(source.Root.Outlines) if "/Outlines" in source.Root else None)
        tree.Count = len(tree.Kids)
        _share_fonts(book)
        _add_outline(book, first_pages, titles, outlines)
        for link in toc_links:
            _add_link(book, link, book.pages[first_pages[link.chapter]])
        # The handouts' streams are compressed already and are copied as they are (asking qpdf
        # to compress streams costs ten times the rest of the save for no smaller file).
        book.save(out, deterministic_id=True, compress_streams=False, min_version=front_pdf.pdf_version)


def _append_pages(book: pikepdf.Pdf, source: pikepdf.Pdf) -> None:
    tree = book.Root.Pages
    kids = tree.Kids
    for page in source.pages:
        copy = book.copy_foreign(page.obj)
        copy.Parent = tree
        kids.append(copy)


def _renumber(page: pikepdf.Page, own: int, number: int, total: int, number_width: Callable[[str], float]) -> None:
    """Make handout page ``own``'s page-number form read "Page ``number`` of ``total``"."""
    form = page.obj.Resources.XObject[f"/FormXob.page-{own}"]
    content = form.read_bytes()
    match = _NUMBER_TEXT.search(content)
    if match is None:
        raise ValueError(f"the page-number form of handout page {own} has an unexpected form")
    text = f"Page {number} of {total}"
    x = f"{-number_width(text):.5f}".rstrip("0").rstrip(".")
    form.write(content[:match.start()] + b"1 0 0 1 %s 0 Tm %s(%s) Tj" % (x.encode(), match.group(2), text.encode())
               + content[match.end():])


def _share_fonts(book: pikepdf.Pdf) -> None:
    """Make pages use one copy of each distinct embedded font.

    Every handout embeds its own font subsets; where two chapters' subsets are the same
    (the sans faces of headings and footers usually are), the book keeps one of them and
    qpdf leaves the copies out when it saves.
    """
    digests: dict[tuple[int, int], bytes] = {}  # by object: the digest of each font, once
    first: dict[bytes, pikepdf.Object] = {}

    def share(resources) -> None:
        fonts = resources.get("/Font") if resources is not None else None
        if fonts is None:
            return
        for name, font in list(fonts.items()):
            kept = first.setdefault(_digest(book, font, digests), font)
            if kept.objgen != font.objgen:
                fonts[name] = kept

    for page in book.pages:
        resources = page.obj.get("/Resources")
        share(resources)
        for xobject in (resources.get("/XObject", {}) if resources is not None else {}).values():
            share(xobject.get("/Resources"))


_REFERENCE = re.compile(rb"([0-9]+) ([0-9]+) R")
_STRING_OR_REFERENCE = re.compile(rb"\((?:[^\\()]|\\.)*\)|([0-9]+) ([0-9]+) R", re.S)


def _digest(book: pikepdf.Pdf, obj: pikepdf.Object, memo: dict) -> bytes:
    """A digest of an indirect object and everything it refers to (for a font, four objects):
    its PDF syntax with each reference replaced by the digest of what it refers to."""
    found = memo.get(obj.objgen)
    if found is not None:
        return found
    hasher = hashlib.sha256()
    if isinstance(obj, pikepdf.Stream):
        hasher.update(obj.read_raw_bytes())
        text = obj.stream_dict.unparse()
    else:
        text = obj.unparse(resolved=True)

    def referred(number: bytes, generation: bytes) -> bytes:
        return _digest(book, book.get_object(int(number), int(generation)), memo)

    if b"(" in text:  # a string might hold text that reads like a reference
        hasher.update(_STRING_OR_REFERENCE.sub(
            lambda m: m.group(0) if m.group(1) is None else b"@" + referred(m.group(1), m.group(2)), text))
    else:
        # Only the text up to the last reference is searched: a font's long /Widths array
        # comes after its references (qpdf writes keys in order) and is hashed as it is.
        end = text.rfind(b" R") + 2 if b" R" in text else 0
        parts = _REFERENCE.split(text[:end])
        hasher.update(b"@".join(parts[::3]) + text[end:])
        for index in range(1, len(parts), 3):
            hasher.update(referred(parts[index], parts[index + 1]))
    digest = memo[obj.objgen] = hasher.digest()
    return digest


def _add_outline(book: pikepdf.Pdf, first_pages: list[int], titles: Sequence[str],
                 outlines: list[pikepdf.Dictionary | None]) -> None:
    """After the front matter's items, one closed item per entry over its handout's items.

    The handouts' outline trees are reused as copied (their items keep their destinations);
    only their top items get the entry's item as parent.
    """
    root = book.Root.Outlines
    previous = root.Last
    for first, title, tree in zip(first_pages, titles, outlines):
        item = book.make_indirect(pikepdf.Dictionary(
            Title=pikepdf.String(title), Parent=root, Prev=previous,
            Dest=[book.pages[first].obj, pikepdf.Name.XYZ, None, None, 0],
        ))
        previous.Next = item
        previous = item
        if tree is not None and "/First" in tree:
            item.First, item.Last = tree.First, tree.Last
            child = tree.First
            count = 0
            while True:
                child.Parent = item
                count += 1
                if "/Next" not in child:
                    break
                child = child.Next
            item.Count = -count  # closed
    root.Last = previous
    root.Count = int(root.Count) + len(titles)


def _add_link(book: pikepdf.Pdf, link: "TocLink", target: pikepdf.Page) -> None:
    page = book.pages[link.page]
    annotation = book.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=list(link.rect), Border=[0, 0, 0],
        Dest=[target.obj, pikepdf.Name.XYZ, None, None, 0],
    ))
    if "/Annots" not in page.obj:
        page.obj.Annots = book.make_indirect(pikepdf.Array())
    page.obj.Annots.append(annotation)
