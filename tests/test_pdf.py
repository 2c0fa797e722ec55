"""The PDF writer: content, escaping, fonts, determinism, page setup, outline, links and books."""

from __future__ import annotations

import datetime as _dt
import io
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

pypdf = pytest.importorskip("pypdf")

from tpkit.document import (  # noqa: E402
    BulletItem, BulletList, Document, Figure, Metadata, Paragraph, Reference, References, Run, Section,
    SubHeading, Table, Zone,
)
from tpkit.layout import SECTIONS, build_document, collection_order  # noqa: E402
from tpkit.writers import RenderOptions  # noqa: E402
from tpkit.writers import pdf  # noqa: E402

HEADINGS = [heading for _, heading in SECTIONS]
NASTY = ["<40 mm", "A & B", "<b>", "AT&T", "x<y>z", "a <b", "]]>", "<font>", '<a href="javascript:alert(1)">',
         "&amp;", "&lt;b&gt;", "<br/>", "<para>", "&#65;", "<onDraw name=x/>"]
UNICODE = ["α β γ", "en – dash", "em — dash", "“curly”", "‘single’", "left → right", "• bullet", "é ü ñ ø", "½ °",
           "±", "≤ ≥"]


@pytest.fixture(scope="module")
def documents(sample_entries):
    names = {e.id: e.name for e in sample_entries}
    return [build_document(e, names=names) for e in collection_order(sample_entries)]


@pytest.fixture(scope="module")
def rendered(documents):
    return {d.meta.id: pdf.render(d, RenderOptions()) for d in documents}


@pytest.fixture(scope="module")
def rendered_texts(rendered):
    return {key: page_texts(data) for key, data in rendered.items()}


def reader(data: bytes):
    return pypdf.PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in reader(data).pages]


def all_text(data: bytes) -> str:
    return "\n".join(page_texts(data))


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def meta(**changes) -> Metadata:
    base = Metadata(id="test-muscle", title="Test Muscle", subtitle="Trigger Points \u00b7 Trunk", region="trunk",
                    region_label="Trunk", status="published", updated="2026-01-15", authors=("A. Author",),
                    license="CC-BY-4.0", keywords=("Test Muscle", "trigger points"))
    return replace(base, **changes)


def texts_document(texts: list[str], **meta_changes) -> Document:
    """A document that puts every text in every kind of block, one text per paragraph or bullet."""
    runs = lambda t: (Run(t),)  # noqa: E731
    sections = (
        Section("summary", "Introduction", tuple(Paragraph(runs(t)) for t in texts)),
        Section("indications", "Indications",
                (BulletList(tuple(BulletItem((Run(t, bold=True), Run(": "), Run(t, italic=True))) for t in texts)),)),
        Section("corrective_actions", "Corrective Actions",
                tuple(b for t in texts for b in (SubHeading(t), BulletList((BulletItem(runs(t)),))))),
        Section("anatomy", "Anatomy and Innervation",
                (Table(("Muscle", "Origin", "Insertion", "Innervation"),
                       tuple((runs(t), runs(t), runs("x"), runs("y")) for t in texts), (0.25, 0.25, 0.25, 0.25)),)),
        Section("references", "References",
                (References(tuple(Reference(f"k{i}", (Run(t), Run(" "), Run(t, italic=True)))
                                  for i, t in enumerate(texts))),)),
    )
    return Document(meta(**meta_changes), sections)


# ----------------------------------------------------------------------------- handouts


def test_every_sample_renders_with_sections_in_order(rendered, rendered_texts, documents):
    for document in documents:
        data = rendered[document.meta.id]
        assert data.startswith(b"%PDF-")
        texts = rendered_texts[document.meta.id]
        assert 2 <= len(texts) <= 12
        found = [line for line in lines("\n".join(texts)) if line in HEADINGS]
        assert found == HEADINGS, document.meta.id
        assert f"Page 1 of {len(texts)}" in texts[0]
        assert f"Page {len(texts)} of {len(texts)}" in texts[-1]
        assert document.meta.title in texts[0]
        assert "[@" not in "\n".join(texts)


def test_running_header_names_muscle_and_region(rendered_texts, documents):
    document = documents[0]
    texts = rendered_texts[document.meta.id]
    for text in texts[1:]:
        assert document.meta.title in text and document.meta.region_label in text


def test_nasty_strings_print_literally():
    data = pdf.render(texts_document(NASTY, title="Title <b>&amp; AT&T"), RenderOptions())
    text = all_text(data)
    for nasty in NASTY:
        # every block kind prints it: paragraph, bold lead, italic body, sub-heading, table cell, reference
        assert text.count(nasty) >= 6, (nasty, text.count(nasty))
    assert "Title <b>&amp; AT&T" in text
    assert "alert(1)" in text
    annots = [a.get_object() for page in reader(data).pages for a in page.get("/Annots") or ()]
    assert not any("javascript" in str(a.get("/A", {}).get("/URI", "")).lower() for a in annots)


@pytest.mark.parametrize("text", NASTY)
def test_markup_escapes_every_text(text):
    from reportlab.platypus import Paragraph as RLParagraph

    from tpkit.writers.pdf import _styles, markup

    for run in (Run(text), Run(text, italic=True), Run(text, bold=True, italic=True),
                Run(text, link="https://example.org/?a=1&b=<2>")):
        para = RLParagraph(markup([run]), _styles().body)
        assert "".join(frag.text for frag in para.frags) == text


def test_bold_and_italic_map_to_the_dejavu_faces():
    from reportlab.platypus import Paragraph as RLParagraph

    from tpkit.writers.pdf import _styles, markup

    runs = [Run("a"), Run("b", bold=True), Run("c", italic=True), Run("d", bold=True, italic=True)]
    faces = [frag.fontName for frag in RLParagraph(markup(runs), _styles().body).frags]
    assert faces == ["tpkit-Serif", "tpkit-Serif-Bold", "tpkit-Serif-Italic", "tpkit-Serif-BoldItalic"]


def test_unicode_round_trips():
    data = pdf.render(texts_document(UNICODE), RenderOptions())
    text = all_text(data)
    for sample in UNICODE:
        assert sample in text, sample


def test_draft_watermark_on_every_page(documents):
    document = documents[0]
    draft = replace(document, meta=replace(document.meta, status="draft", mark="DRAFT"))
    texts = page_texts(pdf.render(draft, RenderOptions()))
    assert all("DRAFT" in text for text in texts)
    review = replace(document, meta=replace(document.meta, status="review", mark="REVIEW"))
    assert all("REVIEW" in text for text in page_texts(pdf.render(review, RenderOptions())))


def test_published_has_no_watermark(rendered_texts):
    for texts in rendered_texts.values():
        text = "\n".join(texts)
        assert "DRAFT" not in text and "REVIEW" not in text


def _fonts(data: bytes) -> list:
    """Every font dictionary reachable from the pages, including inside form XObjects."""
    found: dict[int, object] = {}

    def visit(resources) -> None:
        if resources is None:
            return
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            found[id(font.get_object())] = font.get_object()
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form":
                visit(xobject.get("/Resources"))

    for page in reader(data).pages:
        visit(page.get("/Resources"))
    return list(found.values())


def test_all_fonts_embedded_truetype(rendered):
    for data in rendered.values():
        fonts = _fonts(data)
        assert fonts
        for font in fonts:
            base = str(font["/BaseFont"])
            assert not re.search(r"Helvetica|Times|Courier|Symbol|ZapfDingbats", base), base
            assert font["/Subtype"] == "/TrueType", base
            assert "/FontFile2" in font["/FontDescriptor"].get_object(), base


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_pdffonts_reports_every_font_embedded(rendered, tmp_path):
    path = tmp_path / "handout.pdf"
    path.write_bytes(next(iter(rendered.values())))
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert rows
    for row in rows:
        assert "DejaVu" in row and " yes yes yes " in row, row


def test_byte_identical_renders(documents, rendered, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    document = documents[0]
    first = pdf.render(document, RenderOptions())
    assert first == pdf.render(document, RenderOptions())
    assert first == rendered[document.meta.id]


def test_byte_identical_across_processes(documents, tmp_path):
    document_id = documents[0].meta.id
    script = (
        "import sys\n"
        "from tpkit.validate import validate_paths\n"
        "from tpkit.layout import build_document\n"
        "from tpkit.writers import RenderOptions\n"
        "from tpkit.writers.pdf import render\n"
        f"entries = validate_paths([{str(_entries_dir())!r}]).entries()\n"
        "names = {e.id: e.name for e in entries}\n"
        f"entry = [e for e in entries if e.id == {document_id!r}][0]\n"
        "sys.stdout.buffer.write(render(build_document(entry, names=names), RenderOptions()))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1700000000"}
        outputs.append(subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                                      env=env, timeout=120).stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b"%PDF-")


def _entries_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "entries"


def test_metadata_dates_follow_document_time(documents, monkeypatch):
    document = documents[0]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    info = reader(pdf.render(document, RenderOptions())).metadata
    assert info.creation_date.date() == _dt.date.fromisoformat(document.meta.updated)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    data = pdf.render(document, RenderOptions())
    info = reader(data).metadata
    expected = _dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=_dt.timezone.utc)
    assert info.creation_date == expected and info.modification_date == expected
    assert data == pdf.render(document, RenderOptions())


def test_document_metadata(rendered, documents):
    document = documents[0]
    info = reader(rendered[document.meta.id]).metadata
    assert info.title == document.meta.title
    assert info.creator == "tpkit"
    assert info.author == ", ".join(document.meta.authors)
    assert all(k in info["/Keywords"] for k in document.meta.keywords)
    assert document.meta.title in info.subject


@pytest.mark.parametrize(("paper", "size"), [("a4", (595.28, 841.89)), ("letter", (612.0, 792.0))])
def test_paper_size(documents, paper, size):
    data = pdf.render(documents[0], RenderOptions(paper=paper))
    for page in reader(data).pages:
        box = page.mediabox
        assert (round(float(box.width), 2), round(float(box.height), 2)) == size


def test_outline_has_sections(rendered, documents):
    document = documents[0]
    outline = reader(rendered[document.meta.id]).outline
    titles = [item["/Title"] for item in outline if not isinstance(item, list)]
    assert titles == HEADINGS
    nested = [item for item in outline if isinstance(item, list)]
    assert nested and all(not isinstance(i, list) for i in nested[0])  # corrective-action categories


def test_reference_urls_are_links():
    url = "https://example.org/trigger-points?a=1&b=2"
    document = Document(meta(), (
        Section("references", "References", (References((
            Reference("web", (Run("Example, A. (2020). A page. "), Run(url, link=url))),
            Reference("bad", (Run("javascript:alert(1)", link="javascript:alert(1)"),)),
        )),)),
    ))
    data = pdf.render(document, RenderOptions())
    uris = [a.get_object()["/A"].get("/URI") for page in reader(data).pages for a in page.get("/Annots") or ()
            if a.get_object().get("/Subtype") == "/Link" and "/A" in a.get_object()]
    assert uris == [url]
    assert url in all_text(data)


def test_chart_is_drawn_with_caption(rendered_texts, documents):
    document = documents[0]
    caption = next(b.caption for s in document.sections for b in s.blocks if isinstance(b, Figure))
    text = " ".join(" ".join(rendered_texts[document.meta.id]).split())
    assert caption in text


def test_figure_without_trigger_points_and_letter_paper():
    document = Document(meta(), (
        Section("referral_pattern", "Trigger Point Referral Pattern", (
            Paragraph((Run("Pain spreads."),)),
            Figure((Zone("lumbar", "essential"), Zone("gluteal", "spillover")), (), "Caption here.", "Alt."),
        )),
    ))
    data = pdf.render(document, RenderOptions(paper="letter"))
    assert "Caption here." in all_text(data)


# ----------------------------------------------------------------------------- books


def _variants(documents: list[Document]) -> list[Document]:
    """Extra entries for the book: another region, a draft, and a long name that wraps in the contents."""
    base = documents[0]
    extra = []
    for number, (title, region, label, mark) in enumerate([
        ("Masseter", "head-neck", "Head and Neck", None),
        ("Upper Trapezius", "head-neck", "Head and Neck", "DRAFT"),
        ("Extensor Digitorum & <Extensor Indicis> of the Forearm with a Rather Long Name That Wraps", "forearm-hand",
         "Forearm and Hand", None),
    ]):
        extra.append(replace(base, meta=replace(base.meta, id=f"variant-{number}", title=title, region=region,
                                                 region_label=label, mark=mark,
                                                 status="draft" if mark else "published")))
    return extra


@pytest.fixture(scope="module")
def book(documents):
    extra = _variants(documents)
    order = [extra[0], extra[1], extra[2], *documents]
    data = pdf.render_book(order, "Clinic Handbook <2026> & Co", RenderOptions(publisher="Example Clinic"))
    return order, data, page_texts(data)


def test_book_cover(book):
    order, data, texts = book
    cover = texts[0]
    assert "Clinic Handbook <2026> & Co" in " ".join(cover.split())
    assert f"{len(order)} entries" in cover
    assert "Example Clinic" in cover
    info = reader(data).metadata
    assert info.title == "Clinic Handbook <2026> & Co"


def test_book_contents_lists_entries_with_page_numbers(book):
    order, data, texts = book
    contents = " ".join(texts[1].split())
    assert "Contents" in contents
    starts = []
    for document in order:
        title = " ".join(document.meta.title.split())
        match = re.search(re.escape(title) + r"\s*\.*\s*(\d+)", contents)
        assert match, title
        starts.append(int(match.group(1)))
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for document, start in zip(order, starts):
        opening = texts[start - 1]
        # each entry opens its own page: the title block and Introduction are there, the previous entry's
        # references are not
        assert " ".join(document.meta.title.split()) in " ".join(opening.split())
        assert "Introduction" in opening
        assert "References" not in opening.split("Introduction")[0]
    assert len(texts) > starts[-1]


def test_book_outline_nests_sections_under_entries(book):
    order, data, _ = book
    outline = reader(data).outline
    top = [item["/Title"] for item in outline if not isinstance(item, list)]
    assert top == ["Contents", *(d.meta.title for d in order)]
    children = [item for item in outline if isinstance(item, list)]
    assert len(children) == len(order)
    for nested in children:
        titles = [item["/Title"] for item in nested if not isinstance(item, list)]
        assert titles == HEADINGS


def test_book_running_headers_and_watermarks(book):
    order, data, texts = book
    contents = " ".join(texts[1].split())
    starts = [int(re.search(re.escape(" ".join(d.meta.title.split())) + r"\s*\.*\s*(\d+)", contents).group(1))
              for d in order]
    ends = [s - 1 for s in starts[1:]] + [len(texts)]
    for document, start, end in zip(order, starts, ends):
        for number in range(start, end + 1):
            text = texts[number - 1]
            assert f"Page {number} of {len(texts)}" in text
            if number > start:
                assert document.meta.region_label in text
                assert document.meta.title.split()[0] in text
            assert ("DRAFT" in text) == (document.meta.mark == "DRAFT"), (document.meta.title, number)


def test_book_chapters_are_the_handouts_page_for_page(book):
    """The book reuses each handout's pages (see writers.pdfbook): same content streams, new numbers."""
    import pikepdf

    order, data, texts = book
    options = RenderOptions(publisher="Example Clinic")
    with pikepdf.open(io.BytesIO(data)) as whole:
        book_pages = list(whole.pages)
        first = len(book_pages) - sum(len(reader(pdf.render(d, options)).pages) for d in order)
        links = [annotation for page in book_pages[:first] for annotation in page.obj.get("/Annots", [])]
        assert len(links) == len(order)
        for document, link in zip(order, links):
            handout = pikepdf.open(io.BytesIO(pdf.render(document, options)))
            assert link.Dest[0].objgen == book_pages[first].obj.objgen  # the contents line opens the chapter
            for own, page in enumerate(handout.pages):
                assert book_pages[first + own].obj.Contents.read_bytes() == page.obj.Contents.read_bytes()
                assert f"Page {first + own + 1} of {len(texts)}" in texts[first + own]
            first += len(handout.pages)
        assert first == len(book_pages)


def _pike_digest(obj, memo: dict) -> bytes:
    """An independent digest of a PDF object and all it refers to, through pikepdf (qpdf)."""
    import hashlib

    import pikepdf

    if not isinstance(obj, pikepdf.Object):  # numbers, booleans and null come as Python values
        return hashlib.sha256(repr(obj).encode()).digest()
    if obj.is_indirect and obj.objgen in memo:
        return memo[obj.objgen]
    hasher = hashlib.sha256()
    if isinstance(obj, pikepdf.Stream):
        hasher.update(b"stream" + obj.read_raw_bytes())
        items = obj.stream_dict.items()
    elif isinstance(obj, pikepdf.Dictionary):
        items = obj.items()
    else:
        items = None
    if items is not None:
        for key, value in sorted(items):
            if key != "/Length":
                hasher.update(key.encode() + b"=" + _pike_digest(value, memo))
    elif isinstance(obj, pikepdf.Array):
        for value in obj:
            hasher.update(b"," + _pike_digest(value, memo))
    else:
        hasher.update(repr(obj).encode())
    digest = hasher.digest()
    if obj.is_indirect:
        memo[obj.objgen] = digest
    return digest


def test_book_embeds_each_distinct_font_once(book):
    import pikepdf

    _, data, _ = book
    with pikepdf.open(io.BytesIO(data)) as whole:
        fonts = [obj for obj in whole.objects if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font"]
        memo: dict = {}
        digests = [_pike_digest(font, memo) for font in fonts]
        assert len(set(digests)) == len(digests)  # no two copies of the same subset
        assert all("DejaVu" in str(font.BaseFont) for font in fonts)
        programs = [obj for obj in whole.objects if isinstance(obj, pikepdf.Stream) and "/Length1" in obj.stream_dict]
        assert len({p.read_raw_bytes() for p in programs}) == len(programs)


def test_font_digest_follows_references_not_object_numbers():
    from tpkit.writers import pdfbook

    pdf_ = pdfbook._Pdf.__new__(pdfbook._Pdf)
    pdf_.name, pdf_.objects = "test", {}

    def add(head: bytes, tail: bytes = b"") -> int:
        number = len(pdf_.objects) + 1
        pdf_.objects[number] = pdfbook._Object(head, tail)
        return number

    def font(program: bytes, widths: bytes, note: bytes = b"") -> int:
        file = add(b"<< /Length %d >>" % len(program), b"\nstream\n" + program + b"endstream\n")
        descriptor = add(b"<< /Flags 4 /FontFile2 %d 0 R >>\n" % file)
        return add(b"<< /FontDescriptor %d 0 R /Note (%s) /Type /Font /Widths [ %s ] >>\n" % (descriptor, note, widths))

    def digest(number: int) -> bytes:
        return pdfbook._digest(pdf_, number, {})

    same = [font(b"glyphs", b"500 600"), font(b"glyphs", b"500 600")]
    assert same[0] != same[1] and digest(same[0]) == digest(same[1])
    assert digest(font(b"other glyphs", b"500 600")) != digest(same[0])  # the program, two objects away
    assert digest(font(b"glyphs", b"500 601")) != digest(same[0])
    # a string that reads like a reference is text, not a reference
    assert digest(font(b"glyphs", b"500", b"see 1 0 R")) != digest(font(b"glyphs", b"500", b"see 2 0 R"))


def test_damaged_chapters_are_refused_with_a_book_error(documents):
    """However a chapter is damaged, the linker refuses it with a BookError, or the damage lies
    in bytes it copies as they are and the book it writes is whole (read back by pypdf)."""
    import random

    from tpkit.errors import BookError
    from tpkit.writers import pdfbook

    data = pdf.render(documents[0], RenderOptions())
    front = pdf.render_book([documents[0]], "B", RenderOptions())
    pages = len(reader(front).pages) + len(reader(data).pages)

    def link(chapter: bytes) -> bytes:
        out = io.BytesIO()
        pdfbook.assemble(out, front, [], pdfbook.chapter_sources([chapter]), ["t"], number_width=len)
        return out.getvalue()

    assert len(reader(link(data)).pages) == pages  # the undamaged chapter links
    for cut in (0, 10, len(data) // 2, len(data) - 40, len(data) - 2):  # (- 1 drops only the last newline)
        with pytest.raises(BookError):
            link(data[:cut])
    rng = random.Random(7)
    refused = 0
    for _ in range(60):
        at = rng.randrange(len(data))
        try:
            book = link(data[:at] + bytes([rng.randrange(256)]) * rng.randint(1, 12) + data[at + 1:])
        except BookError:
            refused += 1
            continue
        assert len(pypdf.PdfReader(io.BytesIO(book), strict=True).pages) == pages, f"damage at byte {at}"
    assert refused >= 30, refused  # bytes inserted before the cross-reference table move every later object


def test_the_book_linker_does_not_import_the_pdf_writer():
    """pdf -> pdfbook only: what both need (the page-number form) lives in writers.pagenumbers."""
    code = ("import sys, tpkit.writers.pdfbook; "
            "assert 'tpkit.writers.pdf' not in sys.modules and 'reportlab' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("head", [
    b"<< /Type /Page /Parent 3 0 R /Resources << /Font 1 0 R >> /Annots [ 10 0 R 11 0 R ] >>",
    b"<< /Widths [ 600 600 0 0 600 ] /FontDescriptor 14 0 R /FirstChar 0 >>",
    b"<< /Title (Chapter 3 0 R \\) and 4 0 R) /Dest [ 7 0 R /XYZ 0 0 0 ] >>",  # a string that reads like one
    b"[ 0 R 5 0 R ]",  # " 0 R" with no number before it: not a reference, the slow path decides
    b"1 0 R5 0 R 12 0 R",
    b"<< /Length 5 >>",
])
def test_reference_split_agrees_with_the_pdf_grammar(head):
    from tpkit.writers import pdfbook

    texts, numbers = pdfbook._split_references(head)
    expected = [int(m.group(1)) for m in pdfbook._STRING_OR_REFERENCE.finditer(head) if m.group(1)]
    assert numbers == expected
    assert pdfbook._join_references(texts, [b"%d 0 R" % n for n in numbers]) == head


@pytest.mark.parametrize("original, changed, named", [
    (b"/PageMode /UseOutlines", b"/PageLabels 1 0 R     ", "/PageLabels"),  # the catalogue: the book's replaces it
    (b" /Type /Pages\n>>", b" /Rotate 90 /Q>>", "/Q, /Rotate"),  # the page tree: pages would lose what they inherit
])
def test_a_chapter_holding_what_the_book_would_drop_is_refused(documents, original, changed, named):
    from tpkit.writers import pdfbook

    data = pdf.render(documents[0], RenderOptions())
    assert len(original) == len(changed)  # so that the cross-reference table still points at every object
    altered = data.replace(original, changed, 1)
    assert altered != data
    with pytest.raises(pdfbook.BookError, match=named):
        pdf.render_book([documents[0]], "B", RenderOptions(), chapters=[altered])


def test_a_chapter_whose_page_tree_miscounts_is_refused(documents):
    import re

    from tpkit.writers import pdfbook

    data = pdf.render(documents[0], RenderOptions())
    count = int(re.search(rb"/Count ([0-9]) /Kids", data).group(1))
    altered = data.replace(b"/Count %d /Kids" % count, b"/Count %d /Kids" % (count + 1), 1)
    with pytest.raises(pdfbook.BookError, match=f"{count} pages, where its page tree counted {count + 1}"):
        pdf.render_book([documents[0]], "B", RenderOptions(), chapters=[altered])


def test_book_is_deterministic(book):
    order, data, _ = book
    assert data == pdf.render_book(order, "Clinic Handbook <2026> & Co", RenderOptions(publisher="Example Clinic"))


def test_empty_book(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    texts = page_texts(pdf.render_book([], "Empty <book>", RenderOptions()))
    assert len(texts) == 2
    assert "Empty <book>" in texts[0] and "0 entries" in texts[0] and "1970" not in texts[0]
    assert "Contents" in texts[1]


def test_book_date_is_newest_entry(book, monkeypatch):
    order = book[0][:4]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    data = pdf.render_book(order, "Book", RenderOptions())
    newest = max(_dt.date.fromisoformat(d.meta.updated) for d in order)
    assert reader(data).metadata.creation_date.date() == newest
    assert f"{newest.day} {newest.strftime('%B')} {newest.year}" in reader(data).pages[0].extract_text()


def test_book_from_handout_files_even_past_the_open_file_limit(documents, tmp_path, monkeypatch):
    """Chapters may be files: they are read one at a time, never all kept open."""
    import resource

    order = list(documents)[:3]
    options = RenderOptions()
    files = []
    for document in order:
        path = tmp_path / f"{document.meta.id}.pdf"
        path.write_bytes(pdf.render(document, options))
        files.append(path)
    expected = pdf.render_book(order, "Files", options)
    assert pdf.render_book(order, "Files", options, chapters=files) == expected
    monkeypatch.setattr(resource, "getrlimit", lambda which: (65, 65))
    assert pdf.render_book(order, "Files", options, chapters=files) == expected


def test_the_chart_is_never_shrunk_to_end_a_page(documents):
    # Its views are chosen for their print size (every essential zone >= 40 mm^2 there): a chart
    # that does not fit the rest of a page moves whole to the next one instead of shrinking.
    from tpkit.document import Figure
    from tpkit.writers.pdf.figures import _chart, _FigureBlock
    from tpkit.writers.pdf.markup import _Para
    from tpkit.writers.pdf import style

    figure = next(block for document in documents for section in document.sections for block in section.blocks
                  if isinstance(block, Figure))
    chart = _chart(figure, 160 * 72 / 25.4)
    _, chart_height = chart.wrap(1000, 10_000)
    block = _FigureBlock(chart, _Para(figure.caption, style._styles().caption))
    _, roomy = block.wrap(1000, 10_000)
    _, tight = block.wrap(1000, roomy * 0.8)  # 80 % of what it needs is left on the page
    assert tight == roomy > chart_height
