"""The Typst PDF engine: PDF/UA-1 structure (checked with pdfua and pikepdf), entry text as data,
parity with the reportlab handout, books in one compile, volumes, templates and their root."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

pikepdf = pytest.importorskip("pikepdf")
pytest.importorskip("typst")
pypdf = pytest.importorskip("pypdf")

from click.testing import CliRunner  # noqa: E402

from tpkit.cli import cli  # noqa: E402
from tpkit.document import Figure, Paragraph, Run, Section, Table  # noqa: E402
from tpkit.layout import SECTIONS, build_document, collection_order  # noqa: E402
from tpkit.writers import RenderOptions  # noqa: E402
from tpkit.writers import pdf as reportlab_pdf  # noqa: E402
from tpkit.writers import typst as typst_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = ROOT / "entries"
HEADINGS = [heading for _, heading in SECTIONS]
TYPST = RenderOptions(pdf_engine="typst", publisher="Example Clinic")
# Texts that would be code, markup or comments if they were pasted into Typst source.
HOSTILE = ['#read("/etc/passwd")', '#import "evil.typ": *', "$x$", "a * b", "snake_case _x", "<label>",
           "@ref", "back\\slash", "// not a comment", "/* not a comment", '#eval("1+1")', "]unbalanced[ }"]


@pytest.fixture(scope="module")
def documents(sample_entries):
    names = {e.id: e.name for e in sample_entries}
    return [build_document(e, names=names) for e in collection_order(sample_entries)]


@pytest.fixture(scope="module")
def handouts(documents):
    return {d.meta.id: typst_pdf.render(d, TYPST) for d in documents}


@pytest.fixture(scope="module")
def book(documents):
    data = typst_pdf.render_book(documents, "Clinic Handbook <2026> & Co", TYPST)
    return documents, data


def structure(data: bytes) -> list[tuple[str, pikepdf.Dictionary]]:
    """Every structure element of a PDF as (type, element), depth first."""
    found: list = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        def walk(node) -> None:
            if isinstance(node, pikepdf.Array):
                for child in node:
                    walk(child)
                return
            if not isinstance(node, pikepdf.Dictionary):
                return  # a marked-content id
            if "/S" in node:
                found.append((str(node.S), node))
            if "/K" in node:
                walk(node.K)
        walk(pdf.Root.StructTreeRoot.K)
        return [(kind, pikepdf.Dictionary(dict(node.items()))) for kind, node in found]


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]


# ----------------------------------------------------------------------------- PDF/UA-1


@pytest.mark.skipif(shutil.which("pdfua") is None and not shutil.which(sys.executable), reason="pdfua missing")
def test_pdfua_finds_no_errors_in_any_sample_handout_or_the_book(handouts, book, tmp_path):
    pytest.importorskip("pdfua")
    files = []
    for name, data in [*handouts.items(), ("book", book[1])]:
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        files.append(str(path))
    result = subprocess.run([sys.executable, "-m", "pdfua", "check", "--format", "json", *files],
                            capture_output=True, text=True)
    text = result.stdout.strip()
    reports = json.loads(text) if text.startswith("[") else [json.loads(part) for part in
                                                               re.split(r"(?m)^(?=\{)", text) if part.strip()]
    assert len(reports) == len(files)
    for report in reports:
        assert report["pdfua_version"] == "PDF/UA-1"
        assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 0, report["findings"]
        assert report["summary"]["rules_run"] >= 10
    assert result.returncode == 0, result.stdout[-2000:]


def test_structure_tree_holds_headings_lists_table_figure_and_links(handouts, documents):
    for document in documents:
        tree = structure(handouts[document.meta.id])
        kinds = Counter(kind for kind, _ in tree)
        for kind in ("/H1", "/H2", "/H3", "/L", "/LI", "/Lbl", "/LBody", "/Table", "/TR", "/TH", "/TD",
                     "/Figure", "/Caption"):
            assert kinds[kind], (document.meta.id, kind)
        assert kinds["/Link"] == len(_links(document)), document.meta.id
        assert kinds["/H1"] == 1
        assert kinds["/H2"] == len(document.sections)
        assert kinds["/TH"] == 4  # Muscle, Origin, Insertion, Innervation
        figure = next(block for section in document.sections for block in section.blocks if isinstance(block, Figure))
        alts = [str(node.Alt) for kind, node in tree if kind == "/Figure"]
        assert alts == [figure.alt_text]
        for kind, node in tree:  # no empty headings (pdfua's own check of this fails on its reader)
            if kind in ("/H1", "/H2", "/H3"):
                assert "/K" in node and (not isinstance(node.K, pikepdf.Array) or len(node.K)), kind


def _links(document) -> list[str]:
    def runs(value):
        if isinstance(value, Run):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                yield from runs(item)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                yield from runs(getattr(value, name))
    return [run.link for run in runs(document.sections) if run.link]


def test_some_sample_has_links(documents):
    assert any(_links(d) for d in documents)


def test_catalog_metadata_language_and_title_display(handouts, documents):
    document = documents[0]
    with pikepdf.open(io.BytesIO(handouts[document.meta.id])) as pdf:
        assert str(pdf.Root.Lang) == document.meta.language != "en"  # the samples say en-GB
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.docinfo.Title) == document.meta.title
        assert str(pdf.docinfo.CreationDate).startswith("D:" + document.meta.updated.replace("-", ""))
        meta = pdf.open_metadata()
        assert str(meta.get("pdfuaid:part")) == "1"
        assert meta.get("dc:title") == document.meta.title


def test_language_and_region_come_from_the_entry(documents):
    document = replace(documents[0], meta=replace(documents[0].meta, language="de-AT"))
    with pikepdf.open(io.BytesIO(typst_pdf.render(document, TYPST))) as pdf:
        assert str(pdf.Root.Lang) == "de-AT"


def test_running_headers_footers_and_watermark_are_artifacts(documents):
    draft = replace(documents[0], meta=replace(documents[0].meta, mark="DRAFT", status="draft"))
    data = typst_pdf.render(draft, TYPST)
    texts = page_texts(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            artifacts = 0
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) in ("BMC", "BDC") and operands and str(operands[0]) == "/Artifact":
                    artifacts += 1
            # footer and watermark on every page, the running header after the first
            assert artifacts >= (2 if number == 1 else 3), number
            assert f"Page {number} of {len(texts)}" in texts[number - 1]
            assert "DRAFT" in texts[number - 1]
    tagged_text = " ".join(str(node.get("/Alt", "")) for _, node in structure(data))
    assert "Page 1 of" not in tagged_text


def test_links_are_tagged_and_only_web_links_are_live(documents):
    document = documents[0]
    hostile = Section("references", "References", (Paragraph((
        Run("site", link="https://example.org/a?b=1&c=<2>"), Run(" and "), Run("script", link="javascript:alert(1)"),
        Run(" and "), Run("file", link="file:///etc/passwd"))),))
    data = typst_pdf.render(replace(document, sections=(*document.sections[:-1], hostile)), TYPST)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        uris = [str(a.A.URI) for page in pdf.pages for a in page.get("/Annots", []) if "/A" in a]
    assert "https://example.org/a?b=1&c=<2>" in uris
    assert not any(u.startswith(("javascript", "file")) for u in uris)
    text = " ".join(" ".join(page_texts(data)).split())
    assert "site and script and file" in text
    assert [kind for kind, _ in structure(data)].count("/Link") >= 1


# ----------------------------------------------------------------------------- text is data


def test_entry_text_is_data_never_typst_code(tmp_path):
    entry = json.loads((ENTRIES / "piriformis.json").read_text(encoding="utf-8"))
    entry["name"] = "Piriformis #read(\"/etc/passwd\") $x$"
    entry["indications"] = HOSTILE
    entry["conclusion"] = " ".join(HOSTILE)
    entry["anatomy"][0]["origin"] = "<label> @ref // /* #import"
    source = tmp_path / "entries"
    source.mkdir()
    (source / "piriformis.json").write_text(json.dumps(entry), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", str(source), "--format", "pdf", "--pdf-engine", "typst",
                                      "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    text = "\n".join(page_texts((out / "pdf" / "piriformis.pdf").read_bytes()))
    flat = " ".join(text.split())
    for hostile in HOSTILE:
        assert flat.count(hostile) >= 2, hostile  # the bullet and the conclusion
    assert "Piriformis #read(\"/etc/passwd\") $x$" in flat
    assert "<label> @ref // /* #import" in flat
    assert "root:" not in text


def test_superscript_runs_are_raised(documents):
    """A superscript run (numeric citation marks) prints smaller and above the baseline (read by pdfminer)."""
    pdfminer = pytest.importorskip("pdfminer.high_level")
    from pdfminer.layout import LTChar

    runs = (Run("Mass"), Run("7", superscript=True), Run(" end"))
    data = typst_pdf.render(replace(documents[0], sections=(Section("summary", "Introduction", (Paragraph(runs),)),)),
                            TYPST)
    chars: list = []

    def walk(node) -> None:
        if isinstance(node, LTChar):
            chars.append(node)
        for child in getattr(node, "_objs", ()) or ():
            walk(child)

    for page in pdfminer.extract_pages(io.BytesIO(data)):
        walk(page)
    text = "".join(c.get_text() for c in chars)
    at = text.index("Mass7")
    base, raised = chars[at], chars[at + 4]
    assert raised.size < base.size * 0.8
    assert raised.y0 > base.y0 + 1


# ----------------------------------------------------------------------------- parity with reportlab


def _section_text(data: bytes, document) -> tuple[list[str], dict[str, str]]:
    """pdftotext's text of a handout: the section headings in order, and each section's characters
    without spacing or hyphens (the engines break lines differently), running header and footer removed."""
    with __import__("tempfile").NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        text = subprocess.run(["pdftotext", handle.name, "-"], capture_output=True, text=True, check=True).stdout
    meta = document.meta
    furniture = {meta.title, meta.region_label, f"{meta.title} {meta.region_label}"}
    order, sections, current = [], {}, ""
    for line in (line.strip() for line in text.splitlines()):
        if not line or line in furniture or re.fullmatch(r"Page \d+ of \d+", line) or line.startswith("Example Clinic"):
            continue
        if line in HEADINGS:
            current = line
            order.append(line)
            continue
        sections[current] = sections.get(current, "") + line
    return order, {key: re.sub(r"[\s\-\u2013]", "", value) for key, value in sections.items()}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_same_words_in_the_same_section_order_as_reportlab(handouts, documents):
    options = RenderOptions(publisher="Example Clinic")
    for document in documents:
        theirs = _section_text(reportlab_pdf.render(document, options), document)
        ours = _section_text(handouts[document.meta.id], document)
        assert ours[0] == theirs[0] == HEADINGS
        assert ours[1].keys() == theirs[1].keys()
        tables = {s.heading for s in document.sections if any(isinstance(b, Table) for b in s.blocks)}
        for heading, text in ours[1].items():
            if heading in tables:  # pdftotext reads reportlab's table cells in a different order
                assert Counter(text) == Counter(theirs[1][heading]), (document.meta.id, heading)
            else:
                assert text == theirs[1][heading], (document.meta.id, heading)


# ----------------------------------------------------------------------------- page setup, determinism


def test_paper_sizes_and_fonts(documents):
    letter = typst_pdf.render(documents[0], replace(TYPST, paper="letter"))
    with pikepdf.open(io.BytesIO(letter)) as pdf:
        assert [round(float(v)) for v in pdf.pages[0].MediaBox] == [0, 0, 612, 792]
        fonts = {str(font.BaseFont).split("+")[-1] for page in pdf.pages
                 for font in page.Resources.get("/Font", {}).values()}
    assert fonts and all(name.startswith("DejaVu") for name in fonts), fonts


def test_byte_identical_and_dated_by_source_date_epoch(documents, handouts, monkeypatch):
    document = documents[0]
    assert typst_pdf.render(document, TYPST) == handouts[document.meta.id]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = typst_pdf.render(document, TYPST)
    assert dated != handouts[document.meta.id] and dated == typst_pdf.render(document, TYPST)
    with pikepdf.open(io.BytesIO(dated)) as pdf:
        assert str(pdf.docinfo.CreationDate).startswith("D:20231114")


def test_typst_refusal_is_a_clear_error_naming_the_entry(documents):
    document = documents[0]
    no_alt = tuple(replace(s, blocks=tuple(replace(b, alt_text="") if isinstance(b, Figure) else b for b in s.blocks))
                   for s in document.sections)
    with pytest.raises(typst_pdf.TypstRenderError) as caught:
        typst_pdf.render(replace(document, sections=no_alt), TYPST)
    message = str(caught.value)
    assert document.meta.id in message and "PDF/UA-1" in message and "alt text" in message
    assert "handout.typ:" in message


# ----------------------------------------------------------------------------- templates


def test_a_template_cannot_read_outside_its_folder(tmp_path):
    folder = tmp_path / "house"
    folder.mkdir()
    template = folder / "evil.typ"
    template.write_text('#read("/etc/passwd")\n#read("../secret.txt")\n', encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", str(ENTRIES / "piriformis.json"), "--format", "pdf", "--pdf-engine",
                                      "typst", "--pdf-template", str(template), "--out", str(out), "-q"])
    assert result.exit_code == 2
    assert "evil.typ" in result.output and "Traceback" not in result.output
    assert "root" not in result.output.split("evil.typ", 1)[0]
    assert not (out / "pdf" / "piriformis.pdf").exists() and not list(out.rglob("*.tmp"))


def test_a_house_template_is_used_and_its_folder_is_in_the_fingerprint(tmp_path):
    folder = tmp_path / "house"
    folder.mkdir()
    source = typst_pdf.DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    house = source.replace('#let accent = rgb("#1d4f6e")', '#let accent = rgb(read("accent.txt").trim())')
    assert house != source
    (folder / "house.typ").write_text(house, encoding="utf-8")
    (folder / "accent.txt").write_text("#7a1f5c\n", encoding="utf-8")
    (tmp_path / "tpkit.toml").write_text('pdf_engine = "typst"\npdf_template = "house/house.typ"\n', encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tpkit", "build", str(ENTRIES / "piriformis.json"), "--jobs", "1",
               "--out", str(out), "-q"]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    handout = out / "pdf" / "piriformis.pdf"
    first = handout.read_bytes()

    def colours() -> set[tuple[float, ...]]:
        with pikepdf.open(handout) as pdf:
            stream = pdf.pages[0].Contents.read_bytes()
        return {tuple(round(float(v), 3) for v in m) for m in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) scn?\b", stream)}

    assert (round(0x7a / 255, 3), round(0x1f / 255, 3), round(0x5c / 255, 3)) in colours()  # the house accent
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    assert handout.read_bytes() == first  # nothing changed: up to date
    (folder / "accent.txt").write_text("#0a6b2f\n", encoding="utf-8")
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    assert handout.read_bytes() != first  # a file the template reads changed: rebuilt
    assert (round(0x0a / 255, 3), round(0x6b / 255, 3), round(0x2f / 255, 3)) in colours()


# ----------------------------------------------------------------------------- books


def test_book_in_one_compile(book):
    documents, data = book
    texts = page_texts(data)
    total = len(texts)
    assert "Clinic Handbook <2026> & Co" in " ".join(texts[0].split())
    assert f"{len(documents)} entries" in texts[0] and "Example Clinic" in texts[0]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = [page.obj.objgen for page in pdf.pages]
        # contents lines link to the chapters' first pages, and print their numbers
        names = pikepdf.NameTree(pdf.Root.Names.Dests) if "/Names" in pdf.Root else {}

        def target(annotation) -> int | None:
            dest = annotation.get("/Dest") or annotation.get("/A", {}).get("/D")
            if isinstance(dest, (pikepdf.String, str)) or (dest is not None and not isinstance(dest, pikepdf.Array)):
                dest = names[str(dest)]
                dest = dest.get("/D", dest) if isinstance(dest, pikepdf.Dictionary) else dest
            return pages.index(dest[0].objgen) + 1 if dest is not None else None

        contents_links = [target(a) for a in pdf.pages[1].get("/Annots", [])]
        with pdf.open_outline() as outline:
            top = [(item.title, [child.title for child in item.children]) for item in outline.root]
    assert f"Page 2 of {total}" in texts[1] and "Page 1" not in texts[0]  # the contents' footer; none on the cover
    starts = sorted(set(n for n in contents_links if n))
    assert len(starts) == len(documents)
    contents = " ".join(texts[1].split())
    for document, start in zip(documents, starts):
        assert re.search(re.escape(document.meta.title) + r"[ .]*" + str(start) + r"\b", contents), document.meta.id
        assert start % 2 == 1  # a right-hand page
        assert document.meta.title in texts[start - 1] and "Introduction" in texts[start - 1]
    assert top[0][0] == "Contents"
    assert [title for title, _ in top[1:]] == [d.meta.title for d in documents]
    assert all(children == HEADINGS for _, children in top[1:])
    ends = [s - 1 for s in starts[1:]] + [total]
    for document, start, end in zip(documents, starts, ends):
        for number in range(start, end + 1):
            text = texts[number - 1]
            if not text.strip():
                continue  # the blank left-hand page before a chapter
            assert f"Page {number} of {total}" in text
            if number > start:
                assert document.meta.title in text and document.meta.region_label in text


def test_book_and_volumes_from_the_cli(tmp_path, sample_entries):
    from tpkit.export import slugify
    from tpkit.vocabulary import REGION_LABELS

    expected = sorted(f"{slugify('Handbook ' + REGION_LABELS[e.region])}.pdf" for e in
                      {e.region: e for e in sample_entries}.values())
    assert len(expected) > 1
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(ENTRIES), "--pdf-engine", "typst", "--book-volumes", "region",
                                      "--book-title", "Handbook", "--jobs", "2", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    volumes = sorted(p.name for p in (out / "pdf").glob("handbook-*.pdf"))
    assert volumes == expected
    with pikepdf.open(out / "pdf" / "handbook-trunk.pdf") as pdf:
        assert str(pdf.docinfo.Title) == "Handbook \u2014 Trunk"
    assert not (out / "pdf" / "handbook.pdf").exists()
    # the reportlab engine makes volumes too
    result = CliRunner().invoke(cli, ["export", str(ENTRIES), "--format", "pdf", "--book", "Handbook",
                                      "--book-volumes", "region", "--out", str(tmp_path / "rl"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "rl" / "pdf").glob("handbook-*.pdf")) == volumes


def test_config_keys_are_checked(tmp_path):
    (tmp_path / "tpkit.toml").write_text('pdf_engine = "latex"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tpkit", "export", str(ENTRIES), "--format", "pdf",
                             "--out", str(tmp_path / "o")], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and "tpkit.toml:1" in result.stderr and "pdf_engine" in result.stderr


def test_a_template_in_a_crowded_folder_is_refused(tmp_path, monkeypatch):
    """Typst may read the template's whole folder, and the fingerprint covers it: a folder of its own."""
    monkeypatch.setattr(typst_pdf, "TEMPLATE_FOLDER_LIMIT", 3)
    template = tmp_path / "handout.typ"
    template.write_text(typst_pdf.DEFAULT_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    for number in range(4):
        (tmp_path / f"other-{number}.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(ENTRIES / "piriformis.json"), "--format", "pdf", "--pdf-engine",
                                      "typst", "--pdf-template", str(template), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and "folder of their own" in result.output, result.output


MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


@pytest.mark.skipif(not MONO.is_file(), reason="no DejaVu Sans Mono on this system to play a house font")
def test_house_fonts_come_from_the_templates_fonts_folder_never_the_system(documents, tmp_path):
    def fonts_of(folder: Path, with_fonts: bool) -> set[str]:
        folder.mkdir()
        source = typst_pdf.DEFAULT_TEMPLATE.read_text(encoding="utf-8")
        (folder / "house.typ").write_text(source.replace('#let sans = "DejaVu Sans"', '#let sans = "DejaVu Sans Mono"'),
                                          encoding="utf-8")
        if with_fonts:
            (folder / "fonts").mkdir()
            shutil.copy(MONO, folder / "fonts" / MONO.name)
        data = typst_pdf.render(documents[0], replace(TYPST, pdf_template=folder / "house.typ"))
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return {str(font.BaseFont).split("+")[-1] for page in pdf.pages
                    for font in page.Resources.get("/Font", {}).values()}

    assert "DejaVuSansMono" in fonts_of(tmp_path / "with", True)
    assert "DejaVuSansMono" not in fonts_of(tmp_path / "without", False)  # installed, yet not used
