"""The DOCX writer: goldens, structure read back with python-docx, determinism, safe text, templates, LibreOffice."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from lxml import etree

from tpkit.document import Paragraph, Run, SubHeading
from tpkit.layout import SECTIONS, TABLE_HEADER, build_document
from tpkit.writers import RenderOptions, document_time
from tpkit.writers import docx as docx_writer
from tpkit.writers.docx import styles as docx_styles

GOLDENS = Path(__file__).resolve().parent / "goldens" / "docx"
GOLDEN_ENTRY = "gluteus-minimus"
HEADINGS = [heading for _, heading in SECTIONS]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dcterms": "http://purl.org/dc/terms/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


@pytest.fixture(scope="module")
def documents(sample_entries):
    names = {e.id: e.name for e in sample_entries}
    return {e.id: build_document(e, names=names) for e in sample_entries}


@pytest.fixture(scope="module")
def rendered(documents):
    return {key: docx_writer.render(doc, RenderOptions()) for key, doc in documents.items()}


def part(blob: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return z.read(name)


def pretty(xml: bytes) -> str:
    return etree.tostring(etree.fromstring(xml), pretty_print=True, encoding="unicode")


def reopen(blob: bytes):
    return docx.Document(io.BytesIO(blob))


def style_chain_numpr(style):
    while style is not None:
        ppr = style.element.find(qn("w:pPr"))
        if ppr is not None and ppr.find(qn("w:numPr")) is not None:
            return ppr.find(qn("w:numPr"))
        style = style.base_style
    return None


def is_bullet_num(document, num_id: str) -> bool:
    numbering = document.part.numbering_part.element
    for num in numbering.findall(qn("w:num")):
        if num.get(qn("w:numId")) == num_id:
            aid = num.find(qn("w:abstractNumId")).get(qn("w:val"))
            for absn in numbering.findall(qn("w:abstractNum")):
                if absn.get(qn("w:abstractNumId")) == aid:
                    lvl = absn.find(qn("w:lvl"))
                    return lvl.find(qn("w:numFmt")).get(qn("w:val")) == "bullet"
    return False


# --------------------------------------------------------------------------- goldens


def tpkit_styles(xml: bytes) -> bytes:
    """styles.xml without what python-docx's default template brings and tpkit leaves alone:
    the document defaults (tpkit sets the language) and the styles tpkit defines or changes."""
    root = etree.fromstring(xml)
    ours = {name.lower() for name in (*docx_styles._ROLES.values(), docx_writer.TABLE_STYLE)}  # Word: "heading 1"
    for child in list(root):
        if child.tag == f"{W}latentStyles" or (
                child.tag == f"{W}style" and child.find(f"{W}name").get(f"{W}val").lower() not in ours):
            root.remove(child)
    assert {style.find(f"{W}name").get(f"{W}val").lower() for style in root.iter(f"{W}style")} == ours
    return etree.tostring(root)


@pytest.mark.parametrize("name", ["word/document.xml", "word/styles.xml"])
def test_golden_parts(rendered, golden, name):
    xml = part(rendered[GOLDEN_ENTRY], name)
    golden(GOLDENS / f"{GOLDEN_ENTRY}.{Path(name).name}", pretty(tpkit_styles(xml) if name.endswith("styles.xml") else xml))


# --------------------------------------------------------------------------- structure


def test_every_sample_reads_back(documents, rendered):
    for key, blob in rendered.items():
        document = documents[key]
        d = reopen(blob)
        paragraphs = d.paragraphs
        assert paragraphs[0].style.name == "Title" and paragraphs[0].text == document.meta.title
        assert paragraphs[1].style.name == "Subtitle" and paragraphs[1].text == document.meta.subtitle
        headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
        assert headings == HEADINGS, key
        sub = [p.text for p in paragraphs if p.style.name == "Heading 2"]
        assert sub == [b.text for section in document.sections for b in section.blocks if isinstance(b, SubHeading)]

        # the innervation table: header row repeats, widths follow the layout's
        assert len(d.tables) == 1
        table = d.tables[0]
        assert tuple(c.text for c in table.rows[0].cells) == TABLE_HEADER
        assert table.rows[0]._tr.find(f"{W}trPr/{W}tblHeader") is not None
        assert all(r._tr.find(f"{W}trPr/{W}tblHeader") is None for r in table.rows[1:])
        assert len(table.rows) == 1 + len(next(s for s in document.sections if s.key == "anatomy").blocks[0].rows)
        assert table.style is not None and table.style.name == docx_writer.TABLE_STYLE
        grid = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert grid[1] > grid[0]  # 0.28 vs 0.2 of the text width

        # the chart: one inline picture with alt text, a centred paragraph, the caption below in Caption style
        figure = next(b for s in document.sections for b in s.blocks if type(b).__name__ == "Figure")
        assert len(d.inline_shapes) == 1
        doc_pr = d.inline_shapes[0]._inline.find(qn("wp:docPr"))
        assert doc_pr.get("descr") == figure.alt_text
        assert doc_pr.get("title") and doc_pr.get("id") == "1"
        pic_index = next(i for i, p in enumerate(paragraphs) if p._p.find(f".//{W}drawing") is not None)
        assert paragraphs[pic_index].alignment == 1  # centre
        assert paragraphs[pic_index + 1].style.name == "Caption"
        assert paragraphs[pic_index + 1].text == figure.caption

        # references
        refs = [p for p in paragraphs if p.style.name == "Bibliography"]
        references = document.sections[-1].blocks[0].items
        assert len(refs) == len(references) and refs
        assert refs[0].text == "".join(r.text for r in references[0].runs)
        bib = d.styles["Bibliography"]
        assert bib.paragraph_format.first_line_indent < 0  # hanging indent

        # bullets are real Word list paragraphs, no typed bullet characters
        bullets = [p for p in paragraphs if p.style.name == "List Bullet"]
        assert len(bullets) > 10
        numpr = style_chain_numpr(d.styles["List Bullet"])
        assert numpr is not None and is_bullet_num(d, numpr.find(qn("w:numId")).get(qn("w:val")))
        assert not any(p.text.lstrip().startswith(("\u2022", "-", "*")) for p in bullets)

        # header and footer
        section = d.sections[0]
        assert document.meta.title in section.header.paragraphs[0].text
        footer_xml = etree.tostring(section.footer._element, encoding="unicode")
        assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml and 'w:fldCharType="begin"' in footer_xml
        assert f"License {document.meta.license}" in section.footer.paragraphs[0].text
        assert section.page_width == 11906 * 635  # A4

        xml = part(blob, "word/document.xml").decode()
        assert "[@" not in xml
        names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
        assert "docProps/thumbnail.jpeg" not in names and "word/stylesWithEffects.xml" not in names


def test_hyperlinks_are_real(documents, rendered):
    key = next(k for k, doc in documents.items()
               if any(r.link for ref in doc.sections[-1].blocks[0].items for r in ref.runs))
    url = next(r.link for ref in documents[key].sections[-1].blocks[0].items for r in ref.runs if r.link)
    d = reopen(rendered[key])
    links = d.element.body.findall(f".//{W}hyperlink")
    assert links
    rel = d.part.rels[links[0].get(qn("r:id"))]
    assert rel.is_external and rel.target_ref == url
    assert links[0].find(f"{W}r/{W}rPr/{W}rStyle").get(qn("w:val")) == d.styles["Hyperlink"].style_id


def test_core_properties(documents, rendered):
    document = documents[GOLDEN_ENTRY]
    props = reopen(rendered[GOLDEN_ENTRY]).core_properties
    meta = document.meta
    assert props.title == meta.title
    assert props.author == "; ".join(meta.authors)
    assert props.subject == meta.subtitle
    assert props.keywords == ", ".join(meta.keywords)
    assert props.language == meta.language
    assert props.revision == 1
    when = document_time(document, RenderOptions())  # the entry's date unless SOURCE_DATE_EPOCH is set
    assert props.created == props.modified == props.last_printed == when
    core = part(rendered[GOLDEN_ENTRY], "docProps/core.xml").decode()
    app = part(rendered[GOLDEN_ENTRY], "docProps/app.xml").decode()
    assert "python-docx" not in core and "python-docx" not in app and "Macintosh" not in app


def test_paper_sizes(documents):
    letter = reopen(docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(paper="letter")))
    assert (letter.sections[0].page_width, letter.sections[0].page_height) == (12240 * 635, 15840 * 635)
    assert letter.sections[0].left_margin == 1152 * 635
    with pytest.raises(ValueError):
        docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(paper="a5"))


def test_publisher_in_footer(documents):
    d = reopen(docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(publisher="Clinic & Co <Press>")))
    assert "Clinic & Co <Press>" in d.sections[0].footer.paragraphs[0].text


def test_language_reaches_styles_and_properties(documents):
    document = documents[GOLDEN_ENTRY]
    german = dataclasses.replace(document, meta=dataclasses.replace(document.meta, language="de-DE"))
    blob = docx_writer.render(german, RenderOptions())
    styles = etree.fromstring(part(blob, "word/styles.xml"))
    assert styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS).get(qn("w:val")) == "de-DE"
    assert reopen(blob).core_properties.language == "de-DE"
    # The template's "en-US" stands where the entry's tag covers it, and gives way where not.
    for language, expected in (("en", "en-US"), ("en-US", "en-US"), ("en-GB", "en-GB"), ("pt-BR", "pt-BR")):
        changed = dataclasses.replace(document, meta=dataclasses.replace(document.meta, language=language))
        styles = etree.fromstring(part(docx_writer.render(changed, RenderOptions()), "word/styles.xml"))
        assert styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS).get(qn("w:val")) == expected, language
    assert b"proofState" not in part(blob, "word/settings.xml")


# --------------------------------------------------------------------------- determinism


def test_byte_identical(documents, rendered):
    document = documents[GOLDEN_ENTRY]
    again = docx_writer.render(document, RenderOptions())
    assert again == rendered[GOLDEN_ENTRY]
    docx_writer.clear_caches()
    assert docx_writer.render(document, RenderOptions()) == rendered[GOLDEN_ENTRY]
    with zipfile.ZipFile(io.BytesIO(again)) as z:
        assert z.testzip() is None
        infos = z.infolist()
        assert infos[0].filename == "[Content_Types].xml"
        when = document_time(document, RenderOptions()).astimezone(_dt.timezone.utc)
        assert {i.date_time for i in infos} == {(when.year, when.month, when.day, when.hour, when.minute,
                                                 when.second // 2 * 2)}
        # images are deflate inside already: stored; every XML part deflated
        assert {i.filename: i.compress_type for i in infos if i.compress_type != zipfile.ZIP_DEFLATED} == {
            "word/media/image1.png": zipfile.ZIP_STORED}
        assert {(i.create_system, i.external_attr) for i in infos} == {(0, infos[0].external_attr)}


def test_byte_identical_across_processes(rendered, tmp_path):
    script = (
        "import sys\n"
        "from tpkit.validate import Options, validate_paths\n"
        "from tpkit.layout import build_document\n"
        "from tpkit.writers import RenderOptions\n"
        "from tpkit.writers.docx import render\n"
        "import datetime\n"
        f"report = validate_paths([{str(Path(__file__).resolve().parents[1] / 'entries')!r}], "
        "Options(today=datetime.date(2026, 11, 21)))\n"
        "entries = report.entries()\n"
        "names = {e.id: e.name for e in entries}\n"
        f"entry = next(e for e in entries if e.id == {GOLDEN_ENTRY!r})\n"
        "sys.stdout.buffer.write(render(build_document(entry, names=names), RenderOptions()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = "12345"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=120, check=True)
    if out.stdout != rendered[GOLDEN_ENTRY]:
        here = zipfile.ZipFile(io.BytesIO(rendered[GOLDEN_ENTRY]))
        there = zipfile.ZipFile(io.BytesIO(out.stdout))
        differing = [i.filename for i in here.infolist() if here.read(i) != there.read(i.filename)]
        pytest.fail(f"another process wrote different bytes; parts differing: {differing}")


def test_source_date_epoch(documents, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    blob = docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions())
    props = reopen(blob).core_properties
    expected = _dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=_dt.timezone.utc)
    assert props.created == props.modified == props.last_printed == expected
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    assert docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions()) == blob


# --------------------------------------------------------------------------- safe text and marks


def test_text_is_literal(documents):
    document = documents[GOLDEN_ENTRY]
    nasty = (
        Run("<b>not bold</b> A & B "),
        Run('"quotes" \'single\' ]]> <font color="red">', italic=True),
        Run(" &amp; <![CDATA[x]]> \x01\x0b\x1f\ufffe gone", bold=True),
    )
    intro = dataclasses.replace(document.sections[0], blocks=(Paragraph(nasty),))
    meta = dataclasses.replace(document.meta, title="Muscle <i>&</i>")
    doc = dataclasses.replace(document, meta=meta, sections=(intro,) + document.sections[1:])
    d = reopen(docx_writer.render(doc, RenderOptions()))
    assert d.paragraphs[0].text == "Muscle <i>&</i>"
    intro_p = next(p for i, p in enumerate(d.paragraphs) if d.paragraphs[i - 1].text == "Introduction")
    assert intro_p.text == ('<b>not bold</b> A & B "quotes" \'single\' ]]> <font color="red">'
                            " &amp; <![CDATA[x]]>  gone")
    assert [r.italic for r in intro_p.runs] == [None, True, None]
    assert [r.bold for r in intro_p.runs] == [None, None, True]
    assert d.core_properties.title == "Muscle <i>&</i>"


def test_safe_text_helper():
    assert docx_writer.safe_text("a\x00b\x08c\td\ne\x0cf\x7f") == "abc\td\nef\x7f"
    assert docx_writer.safe_text("x\r\ny\rz") == "x\ny\nz"
    assert docx_writer.safe_text("\ud800ok\uffff") == "ok"


def test_draft_banner(documents):
    document = documents[GOLDEN_ENTRY]
    draft = dataclasses.replace(document, meta=dataclasses.replace(document.meta, mark="DRAFT", status="draft"))
    d = reopen(docx_writer.render(draft, RenderOptions()))
    first = d.paragraphs[0]
    assert first.text == "DRAFT \u2014 not for distribution"
    assert first.runs[0].bold and str(first.runs[0].font.color.rgb) == "C00000"
    assert d.paragraphs[1].style.name == "Title"
    assert "DRAFT" in d.sections[0].header.paragraphs[0].text
    published = reopen(docx_writer.render(document, RenderOptions()))
    assert "DRAFT" not in "".join(p.text for p in published.paragraphs)


# --------------------------------------------------------------------------- templates


def make_template(path: Path, *, drop_styles=(), header_text=None, letter_1in=False) -> Path:
    d = docx.Document()
    h1 = d.styles["Heading 1"]
    h1.font.color.rgb = docx.shared.RGBColor(0xAA, 0x11, 0x22)
    h1.font.size = docx.shared.Pt(20)
    for name in drop_styles:
        el = d.styles[name].element
        el.getparent().remove(el)
    d.add_paragraph("TEMPLATE BODY TEXT")
    d.add_table(rows=1, cols=2)
    if header_text:
        d.sections[0].header.paragraphs[0].text = header_text
    if letter_1in:
        s = d.sections[0]
        s.page_width, s.page_height = docx.shared.Inches(8.5), docx.shared.Inches(11)
        s.left_margin = s.right_margin = docx.shared.Inches(1)
    d.save(path)
    return path


def test_template_styles_and_page_setup(documents, tmp_path):
    template = make_template(tmp_path / "publisher.docx", letter_1in=True, header_text="Publisher Press")
    blob = docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(template=template))
    styles = etree.fromstring(part(blob, "word/styles.xml"))
    h1 = styles.find(".//w:style[@w:styleId='Heading1']", NS)
    assert h1.find("w:rPr/w:color", NS).get(qn("w:val")) == "AA1122"
    assert h1.find("w:rPr/w:sz", NS).get(qn("w:val")) == "40"
    d = reopen(blob)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "TEMPLATE BODY TEXT" not in text and len(d.tables) == 1
    assert d.styles["Bibliography"].base_style.name == "Normal"
    assert d.sections[0].page_width == docx.shared.Inches(8.5)  # the template's page setup wins
    assert d.sections[0].left_margin == docx.shared.Inches(1)
    assert d.sections[0].header.paragraphs[0].text == "Publisher Press"  # and its header
    assert "PAGE" in etree.tostring(d.sections[0].footer._element, encoding="unicode")  # no footer: ours
    assert [p.text for p in d.paragraphs if p.style.name == "Heading 1"] == HEADINGS
    # the tuned look of tpkit's own base is not forced on a template
    assert d.styles["Caption"].font.italic is None


def test_template_missing_styles_are_added(documents, tmp_path):
    template = make_template(tmp_path / "sparse.docx",
                             drop_styles=("List Bullet", "Caption", "Light Grid Accent 1", "Title"))
    blob = docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(template=template))
    d = reopen(blob)
    for name in ("List Bullet", "Caption", "Title", "Bibliography", "Hyperlink"):
        assert name in [s.name for s in d.styles], name
    assert d.tables[0].style.name == docx_writer.TABLE_STYLE_FALLBACK
    numpr = style_chain_numpr(d.styles["List Bullet"])
    assert numpr is not None and is_bullet_num(d, numpr.find(qn("w:numId")).get(qn("w:val")))
    assert [p.text for p in d.paragraphs if p.style.name == "Heading 1"] == HEADINGS
    # a second render reuses the prepared template and gives the same bytes
    assert docx_writer.render(documents[GOLDEN_ENTRY], RenderOptions(template=template)) == blob


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="libreoffice is not installed")
def test_libreoffice_renders_every_sample(rendered, tmp_path):
    paths = []
    for key, blob in rendered.items():
        path = tmp_path / f"{key}.docx"
        path.write_bytes(blob)
        paths.append(path)
    profile = tmp_path / "lo-profile"
    out = tmp_path / "pdf"
    subprocess.run(
        ["libreoffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, paths)],
        capture_output=True, timeout=180, check=True,
    )
    for path in paths:
        pdf = out / f"{path.stem}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 10_000, pdf
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) >= 2
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                  timeout=60, check=True).stdout
            flat = " ".join(text.split())
            for heading in HEADINGS:
                assert heading in flat, (path.stem, heading)
            assert "Page 1 of" in flat
