"""The PDF book assembled from handouts: front matter, then every entry's handout pages.

A book chapter is the entry's handout, typeset once: the same pages, running headers,
footers and watermark. Only three things differ, and they are mended here, at the level of
PDF objects, instead of typesetting the entry again:

* "Page X of Y": each handout page draws its number through a form XObject of its own
  (named in ``writers.pagenumbers``, which the PDF writer shares); the book gives each page
  a copy of that form with the book's page number and total.
* The outline: each entry becomes a top-level item over its handout's section items.
* The contents lines link to the first page of their entry.

Identical embedded font subsets (the sans faces of headings and footers usually are) are
kept once.

This is a linker for the PDFs that tpkit's own writer makes (reportlab: a classic xref
table, generation 0 only, literal strings with their parentheses escaped), not a general
PDF library: each object is copied as it is, its references renumbered. Anything else is
refused with ``BookError`` rather than guessed at. Nothing is parsed beyond the few
dictionaries that change, so joining 1,000 handouts (5,000 pages, 30 MB) takes about 0.7 s and
150 MB, where qpdf, which tpkit used before, needed 4.6 s and 790 MB.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Sequence, Union

from tpkit.errors import BookError
from tpkit.writers.pagenumbers import PAGE_TEXT_OPERATOR, TocLink, page_form_resource, page_text

_STARTXREF = re.compile(rb"startxref\s+([0-9]+)\s+%%EOF\s*$")
_XREF = re.compile(rb"xref\s+0 ([0-9]+)\s*?\n")
_HEADER = re.compile(rb"([0-9]+) 0 obj\s")
# A literal string (reportlab escapes the parentheses inside) or a reference: references are
# renumbered, strings copied, so that text which reads like "3 0 R" is never taken for one.
_STRING_OR_REFERENCE = re.compile(rb"\((?:[^\\()]|\\.)*\)|([0-9]+) 0 R", re.S)
_DIGITS = b"0123456789"
_FONT_RESOURCE = re.compile(rb"/Font ([0-9]+) 0 R")
# The names a handout's catalogue holds (keys and values): all the book replaces with its own.
_CHAPTER_CATALOG = {b"Type", b"Catalog", b"Pages", b"Outlines", b"PageMode", b"UseOutlines", b"UseNone", b"Lang"}

Chapter = Union[bytes, Path]  # a handout's PDF, or the file that holds it


@dataclass
class _Object:
    head: bytes  # the object's value (for a stream: its dictionary)
    tail: bytes  # b"\nstream\n...endstream\n" of a stream, else b""


class _Pdf:
    """The objects of one PDF by number, with its catalogue and info.

    ``whole=False`` reads only the cross-reference table, the catalogue and the root of the
    page tree: enough for ``page_count``, at a fraction of the cost of every object.
    """

    def __init__(self, data: bytes, name: str, whole: bool = True):
        self.name = name
        self.objects: dict[int, _Object] = {}
        try:
            self._parse(data, whole)
        except (ValueError, IndexError, RecursionError) as exc:  # numbers that are not, offsets past the end
            raise BookError(f"{name}: damaged ({type(exc).__name__}: {exc})") from None

    def _parse(self, data: bytes, whole: bool) -> None:
        name = self.name
        found = _STARTXREF.search(data[-64:])
        table = _XREF.match(data, int(found.group(1))) if found else None
        if table is None:
            raise BookError(f"{name}: no classic cross-reference table")
        count, start = int(table.group(1)), table.end()
        offsets = []
        for number in range(1, count):
            entry = data[start + 20 * number:start + 20 * number + 20]
            if entry[17:18] == b"n":
                offsets.append((int(entry[:10]), number))
        offsets.sort()
        ends = [offset for offset, _ in offsets[1:]] + [int(found.group(1))]
        self._data = data
        self._spans = {number: (offset, end) for (offset, number), end in zip(offsets, ends)}
        if whole:
            for number in self._spans:
                self._load(number)
        trailer = data[start + 20 * count:]
        self.root = self._ref(trailer, b"Root")
        self.info = self._ref(trailer, b"Info")
        catalog = self.head(self.root)
        self.pages_node = self._ref(catalog, b"Pages")
        self.outlines = self._ref(catalog, b"Outlines", required=False)
        self.page_tree_nodes: list[int] = []
        self.pages: list[int] = []
        if whole:
            self._collect_pages(self.pages_node, 0)
            self.page_count = len(self.pages)
        else:
            counted = re.search(rb"/Count ([0-9]+)", self.head(self.pages_node))
            if counted is None:
                raise BookError(f"{name}: the page tree does not count its pages")
            self.page_count = int(counted.group(1))

    def _load(self, number: int) -> _Object:
        offset, end = self._spans[number]
        header = _HEADER.match(self._data, offset)
        stop = self._data.rfind(b"endobj", offset, end)
        if header is None or int(header.group(1)) != number or stop < 0:
            raise BookError(f"{self.name}: object {number} is not where the cross-reference table says")
        body = self._data[header.end():stop]
        split = body.find(b"\nstream\n")
        obj = self.objects[number] = _Object(body, b"") if split < 0 else _Object(body[:split], body[split:])
        return obj

    def head(self, number: int) -> bytes:
        found = self.objects.get(number)
        if found is not None:
            return found.head
        if number in self._spans:
            return self._load(number).head
        raise BookError(f"{self.name}: object {number} is missing")

    def _ref(self, text: bytes, key: bytes, required: bool = True) -> int | None:
        found = re.search(rb"/" + key + rb" ([0-9]+) 0 R", text)
        if found is None and required:
            raise BookError(f"{self.name}: no /{key.decode()} where expected")
        return int(found.group(1)) if found else None

    def _collect_pages(self, node: int, depth: int) -> None:
        if depth > 32:
            raise BookError(f"{self.name}: page tree too deep")
        self.page_tree_nodes.append(node)
        head = self.head(node)
        kids = re.search(rb"/Kids \[([^\]]*)\]", head)
        if kids is None:
            raise BookError(f"{self.name}: page tree node {node} has no /Kids")
        inherited = set(re.findall(rb"/([A-Za-z]+)", head)) - {b"Type", b"Pages", b"Kids", b"Count", b"Parent"}
        if inherited:  # a media box or resources its pages inherit: lost when they move to the book's tree
            raise BookError(f"{self.name}: page tree node {node} holds /{b', /'.join(sorted(inherited)).decode()}")
        for kid in _split_references(kids.group(1))[1]:
            if re.search(rb"/Type /Pages\b", self.head(kid)):
                self._collect_pages(kid, depth + 1)
            else:
                self.pages.append(kid)

    def top_outline_items(self) -> list[int]:
        if self.outlines is None:
            return []
        items = []
        item = self._ref(self.head(self.outlines), b"First", required=False)
        while item is not None and len(items) <= len(self.objects):
            items.append(item)
            item = self._ref(self.head(item), b"Next", required=False)
        return items


class _Source:
    """A chapter, read when it is needed (a book's chapters together may be large)."""

    def __init__(self, chapter: Chapter, index: int):
        self.chapter = chapter
        self.name = str(chapter) if isinstance(chapter, Path) else f"chapter {index + 1}"
        self.page_count = self._read(whole=False).page_count

    def parsed(self) -> _Pdf:
        return self._read(whole=True)

    def _read(self, whole: bool) -> _Pdf:
        if not isinstance(self.chapter, Path):
            return _Pdf(self.chapter, self.name, whole)
        try:
            return _Pdf(self.chapter.read_bytes(), self.name, whole)
        except BookError as exc:
            raise BookError(f"{exc}; the handout was changed after tpkit wrote it: "
                            "export again with --force to rewrite it") from None


def chapter_sources(chapters: Sequence[Chapter]) -> list[_Source]:
    """The chapters, each with its ``page_count``, for ``assemble``. A file is read once to
    count its pages (from the root of its page tree) and once more, whole, when it is joined,
    so that no more than one is held at a time; nothing stays open in between."""
    return [_Source(chapter, index) for index, chapter in enumerate(chapters)]


def _pdf_string(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return b"<feff" + text.encode("utf-16-be").hex().encode() + b">"
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _with_key(head: bytes, entry: bytes) -> bytes:
    """A dictionary's text with one more entry (a key the dictionary does not have)."""
    opening = head.find(b"<<")
    if opening < 0:
        raise BookError("expected a dictionary")
    return head[:opening + 2] + b" " + entry + b" " + head[opening + 2:]


def _split_references(head: bytes) -> tuple[list[bytes], list[int]]:
    """``head`` cut at its references: texts t0..tk and numbers n1..nk such that ``head`` is
    t0 + "n1 0 R" + t1 + ... + tk. Text inside literal strings is never a reference.

    Splitting at " 0 R" is four times as fast as the regular expression, which tries every
    digit of the long number arrays (glyph widths) that font dictionaries hold; the
    expression remains for strings and for anything the split cannot read.
    """
    if b"(" not in head:
        texts = head.split(b" 0 R")
        numbers = []
        for index in range(len(texts) - 1):
            text = texts[index]
            before = text.rstrip(_DIGITS)
            if len(before) == len(text):
                break  # " 0 R" without a number before it: not for the fast path
            numbers.append(int(text[len(before):]))
            texts[index] = before
        else:
            return texts, numbers
    texts, numbers, last = [], [], 0
    for match in _STRING_OR_REFERENCE.finditer(head):
        if match.group(1) is not None:
            texts.append(head[last:match.start()])
            numbers.append(int(match.group(1)))
            last = match.end()
    texts.append(head[last:])
    return texts, numbers


def _join_references(texts: list[bytes], references: list[bytes]) -> bytes:
    parts = [texts[0]]
    for reference, text in zip(references, texts[1:]):
        parts.append(reference)
        parts.append(text)
    return b"".join(parts)


class _Writer:
    """Numbers objects and writes them out, keeping each one's offset for the xref table."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.offsets: dict[int, int] = {}
        self.position = 0
        self.count = 0
        self.checksum = hashlib.md5(usedforsecurity=False)
        self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def number(self) -> int:
        self.count += 1
        return self.count

    def _emit(self, data: bytes) -> None:
        self.out.write(data)
        self.checksum.update(data)
        self.position += len(data)

    def write(self, number: int, head: bytes, tail: bytes = b"") -> None:
        self.offsets[number] = self.position
        self._emit(b"%d 0 obj\n%s%sendobj\n" % (number, head if head.endswith(b"\n") or tail else head + b"\n", tail))

    def finish(self, root: int, info: int) -> None:
        missing = [n for n in range(1, self.count + 1) if n not in self.offsets]
        if missing:
            raise BookError(f"objects numbered but never written: {missing[:5]}")
        table = self.position
        identifier = self.checksum.hexdigest().encode()
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % (self.count + 1)]
        lines.extend(b"%010d 00000 n \n" % self.offsets[n] for n in range(1, self.count + 1))
        lines.append(b"trailer\n<<\n/ID [<%s><%s>] /Info %d 0 R /Root %d 0 R /Size %d\n>>\nstartxref\n%d\n%%%%EOF\n"
                     % (identifier, identifier, info, root, self.count + 1, table))
        self._emit(b"".join(lines))


def _renumbered(head: bytes, numbers: dict[int, int], name: str) -> bytes:
    if b" R" not in head:
        return head
    texts, found = _split_references(head)
    try:
        return _join_references(texts, [b"%d 0 R" % numbers[number] for number in found])
    except KeyError as missing:
        raise BookError(f"{name}: a reference to object {missing}, which is not there") from None


def _font_objects(pdf: _Pdf) -> list[int]:
    """The font resource dictionaries of the pages and their forms: where fonts hang."""
    found: set[int] = set()
    for obj in pdf.objects.values():
        if b"/Font " in obj.head:
            found.update(int(number) for number in _FONT_RESOURCE.findall(obj.head))
    return sorted(found)


def _digest(pdf: _Pdf, number: int, memo: dict[int, bytes], depth: int = 0) -> bytes:
    """A digest of an object and everything it refers to (for a font, four objects): its
    text with each reference replaced by the digest of what it refers to, so that the same
    font has the same digest whatever its objects are numbered in each chapter."""
    found = memo.get(number)
    if found is not None:
        return found
    if depth > 16:
        raise BookError(f"{pdf.name}: fonts refer to each other too deeply")
    obj = pdf.objects.get(number)
    if obj is None:
        raise BookError(f"{pdf.name}: object {number} is missing")
    head = obj.head
    if b" R" in head:
        texts, references = _split_references(head)
        head = _join_references(texts, [b"@" + _digest(pdf, ref, memo, depth + 1) for ref in references])
    digest = memo[number] = hashlib.sha256(head + b"\0" + obj.tail).digest()
    return digest


def _subgraph(pdf: _Pdf, roots: list[int]) -> list[int]:
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        number = todo.pop()
        if number in seen:
            continue
        seen.add(number)
        todo.extend(_split_references(pdf.head(number))[1])
    return sorted(seen)


def _shared_fonts(pdf: _Pdf, numbers: dict[int, int], fonts: dict[bytes, int],
                  writer: "_Writer") -> tuple[list[int], list[int]]:
    """Number ``pdf``'s font objects in ``numbers``: one the book already has (``fonts``,
    by digest) keeps the book's number, the rest get new ones. Returns the font objects and
    those of them that are new, which the caller writes."""
    memo: dict[int, bytes] = {}
    font_graph = _subgraph(pdf, _font_objects(pdf))
    new = []
    for old in font_graph:
        digest = _digest(pdf, old, memo)
        if digest in fonts:
            numbers[old] = fonts[digest]
        else:
            numbers[old] = fonts[digest] = writer.number()
            new.append(old)
    return font_graph, new


def _renumbered_form(obj: _Object, own: int, number: int, total: int, number_width: Callable[[str], float],
                     name: str) -> _Object:
    """A page-number form reading "Page ``number`` of ``total``"."""
    tail = obj.tail
    end = tail.rfind(b"endstream")
    try:
        content = zlib.decompress(tail[len(b"\nstream\n"):end]) if b"/FlateDecode" in obj.head else tail[8:end]
    except zlib.error:
        content = b""
    match = PAGE_TEXT_OPERATOR.search(content)
    if match is None:
        raise BookError(f"{name}: the page-number form of page {own} has an unexpected form")
    text = page_text(number, total)
    x = f"{-number_width(text):.5f}".rstrip("0").rstrip(".")
    content = (content[:match.start()] + b"1 0 0 1 %s 0 Tm %s(%s) Tj" % (x.encode(), match.group(2), text.encode())
               + content[match.end():])
    data = zlib.compress(content) if b"/FlateDecode" in obj.head else content
    head = re.sub(rb"/Length [0-9]+", b"/Length %d" % len(data), obj.head, count=1)
    return _Object(head, b"\nstream\n" + data + b"endstream\n")


def assemble(out: BinaryIO, front: bytes, toc_links: Sequence[TocLink], sources: Sequence[_Source],
             titles: Sequence[str], number_width: Callable[[str], float]) -> None:
    """Write to ``out`` the book: the pages of ``front`` then of every chapter (``sources``,
    from ``chapter_sources``), numbered through, with one outline.

    ``front`` carries the book's info dictionary and its own outline ("Contents"); its page
    numbers are already the book's. ``number_width`` measures a "Page X of Y" text as the
    handouts draw it, to keep it right-aligned.
    """
    front_pdf = _Pdf(front, "front matter")
    if front_pdf.outlines is None:
        raise BookError("the front matter has no outline")
    writer = _Writer(out)
    page_tree = writer.number()
    entry_items = [writer.number() for _ in titles]
    annotations = [writer.number() for _ in toc_links]
    total = len(front_pdf.pages) + sum(source.page_count for source in sources)
    book_pages: list[int] = []

    # The front matter: its catalogue and info are the book's; its outline gains the entries.
    fonts: dict[bytes, int] = {}  # digest of a font resource or font object -> its number in the book
    numbers = {node: page_tree for node in front_pdf.page_tree_nodes}
    font_graph, new_fonts = _shared_fonts(front_pdf, numbers, fonts, writer)
    repeated_fonts = set(font_graph) - set(new_fonts)
    for old in sorted(front_pdf.objects):
        if old not in numbers:
            numbers[old] = writer.number()
    links_on: dict[int, list[int]] = {}
    for link, annotation in zip(toc_links, annotations):
        links_on.setdefault(front_pdf.pages[link.page], []).append(annotation)
    front_items = front_pdf.top_outline_items()
    for old, obj in sorted(front_pdf.objects.items()):
        if old in front_pdf.page_tree_nodes or old in repeated_fonts:
            continue
        # Renumbered first; what is added after already has the book's numbers.
        head = _renumbered(obj.head, numbers, front_pdf.name)
        if titles and old == front_pdf.outlines:
            head = re.sub(rb"/Last [0-9]+ 0 R", b"/Last %d 0 R" % entry_items[-1], head, count=1)
            head = re.sub(rb"/Count (-?[0-9]+)", lambda m: b"/Count %d" % (int(m.group(1)) + len(titles)), head,
                          count=1)
        if titles and front_items and old == front_items[-1]:
            head = _with_key(head, b"/Next %d 0 R" % entry_items[0])
        if old in links_on:
            refs = b" ".join(b"%d 0 R" % annotation for annotation in links_on[old])
            if b"/Annots [" in head:
                head = head.replace(b"/Annots [", b"/Annots [ " + refs, 1)
            else:
                head = _with_key(head, b"/Annots [ " + refs + b" ]")
        writer.write(numbers[old], head, obj.tail)
    book_pages.extend(numbers[page] for page in front_pdf.pages)
    root, info = numbers[front_pdf.root], numbers[front_pdf.info]
    outline_root = numbers[front_pdf.outlines]
    last_front_item = numbers[front_items[-1]] if front_items else None

    # The chapters, one at a time.
    first_pages: list[int] = []
    children: list[tuple[int, int, int] | None] = []  # (first, last, count) of each entry's items
    before = len(front_pdf.pages)
    for index, source in enumerate(sources):
        pdf = source.parsed()
        if len(pdf.pages) != source.page_count:
            raise BookError(f"{pdf.name}: {len(pdf.pages)} pages, where its page tree counted {source.page_count} "
                            "(a page tree that miscounts, or a file changed while the book was being made)")
        unknown = set(re.findall(rb"/([A-Za-z]+)", pdf.head(pdf.root))) - _CHAPTER_CATALOG
        if unknown:  # named destinations, page labels, forms...: the book would drop them
            raise BookError(f"{pdf.name}: its catalogue holds /{b', /'.join(sorted(unknown)).decode()}, "
                            "which the book cannot carry over")
        numbers = {node: page_tree for node in pdf.page_tree_nodes}
        if pdf.outlines is not None:
            numbers[pdf.outlines] = entry_items[index]
        skip = {pdf.root, pdf.info, *pdf.page_tree_nodes, *([pdf.outlines] if pdf.outlines else [])}
        # Fonts first: a font seen in the front matter or an earlier chapter is that object.
        font_graph, written_fonts = _shared_fonts(pdf, numbers, fonts, writer)
        skip.update(font_graph)
        forms: dict[int, tuple[int, int]] = {}  # form object -> (page in chapter, page in book)
        for own, page in enumerate(pdf.pages, 1):
            found = re.search(re.escape(page_form_resource(own)) + rb" ([0-9]+) 0 R", pdf.head(page))
            if found is None:
                raise BookError(f"{pdf.name}: page {own} has no page-number form")
            forms[int(found.group(1))] = (own, before + own)
        for old in sorted(pdf.objects):
            if old not in skip:
                numbers[old] = writer.number()
        for old in written_fonts:
            obj = pdf.objects[old]
            writer.write(numbers[old], _renumbered(obj.head, numbers, pdf.name), obj.tail)
        for old, obj in sorted(pdf.objects.items()):
            if old in skip:
                continue
            if old in forms:
                obj = _renumbered_form(obj, *forms[old], total, number_width, pdf.name)
            writer.write(numbers[old], _renumbered(obj.head, numbers, pdf.name), obj.tail)
        first_pages.append(numbers[pdf.pages[0]] if pdf.pages else page_tree)
        book_pages.extend(numbers[page] for page in pdf.pages)
        items = pdf.top_outline_items()
        children.append((numbers[items[0]], numbers[items[-1]], len(items)) if items else None)
        before += len(pdf.pages)

    # What the book adds: its page tree, one outline item per entry, the contents' links.
    writer.write(page_tree, b"<<\n/Count %d /Kids [ %s ] /Type /Pages\n>>\n"
                 % (len(book_pages), b" ".join(b"%d 0 R" % page for page in book_pages)))
    for index, (item, title) in enumerate(zip(entry_items, titles)):
        fields = [b"/Dest [ %d 0 R /XYZ null null 0 ]" % first_pages[index]]
        if children[index] is not None:
            first, last, count = children[index]
            fields.append(b"/Count %d /First %d 0 R /Last %d 0 R" % (-count, first, last))  # closed
        if index + 1 < len(entry_items):
            fields.append(b"/Next %d 0 R" % entry_items[index + 1])
        fields.append(b"/Parent %d 0 R" % outline_root)
        previous = entry_items[index - 1] if index else last_front_item
        if previous is not None:
            fields.append(b"/Prev %d 0 R" % previous)
        fields.append(b"/Title " + _pdf_string(title))
        writer.write(item, b"<<\n" + b" ".join(fields) + b"\n>>\n")
    for annotation, link in zip(annotations, toc_links):
        rect = " ".join(f"{value:.5f}".rstrip("0").rstrip(".") for value in link.rect).encode()
        writer.write(annotation, b"<<\n/Border [ 0 0 0 ] /Dest [ %d 0 R /XYZ null null 0 ] /Rect [ %s ] "
                                 b"/Subtype /Link /Type /Annot\n>>\n" % (first_pages[link.chapter], rect))
    writer.finish(root, info)
