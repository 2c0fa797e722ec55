"""Content model 1.1 in the exports: the Precautions section and the document language.

The section is built once in the layout; these tests read it back from each format with an
independent reader (python-docx and lxml for DOCX, pypdf and pikepdf for PDF).
"""

from __future__ import annotations

import copy
import io
import json

import pytest

from conftest import CASES
from tpkit.document import BulletList, SubHeading
from tpkit.layout import CAUTION_LEAD, RED_FLAG_LEAD, SECTIONS, build_document
from tpkit.models import Entry
from tpkit.writers import RenderOptions
from tpkit.writers import docx as docx_writer
from tpkit.writers import pdf as pdf_writer

BASE = json.loads((CASES / "valid" / "language-and-precautions.json").read_text(encoding="utf-8"))
RED_FLAGS = [p["text"] for p in BASE["precautions"] if p["kind"] == "red-flag"]
CAUTIONS = [p for p in BASE["precautions"] if p["kind"] == "caution"]
ORDER = [heading for _, heading in SECTIONS]


def entry(**changes) -> Entry:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return Entry.model_validate(data)


def plain(runs) -> str:
    return "".join(run.text for run in runs)


@pytest.fixture(scope="module")
def document():
    return build_document(entry())


@pytest.fixture(scope="module")
def docx_blob(document):
    return docx_writer.render(document, RenderOptions())


@pytest.fixture(scope="module")
def pdf_blob(document):
    return pdf_writer.render(document, RenderOptions())


# --------------------------------------------------------------------------- layout


def test_precautions_sit_between_examination_and_corrective_actions(document):
    keys = [section.key for section in document.sections]
    assert keys.index("precautions") == keys.index("examination") + 1 == keys.index("corrective_actions") - 1
    assert [section.heading for section in document.sections] == ORDER


def test_red_flags_first_under_their_lead_then_cautions_naming_their_category(document):
    section = next(s for s in document.sections if s.key == "precautions")
    lead, flags, caution_lead, cautions = section.blocks
    assert lead == SubHeading(RED_FLAG_LEAD) and caution_lead == SubHeading(CAUTION_LEAD)
    assert isinstance(flags, BulletList) and isinstance(cautions, BulletList)
    # in the entry a caution comes first; the handout still opens with the red flags, in entry order
    assert BASE["precautions"][0]["kind"] == "caution"
    assert [plain(item.runs) for item in flags.items] == RED_FLAGS
    shown = [plain(item.runs) for item in cautions.items]
    assert shown[0].startswith("Dry Needling: The superior gluteal nerve")
    assert shown[0].endswith("(Simons & Travell, 1999).")  # citation marks resolve as anywhere else
    assert shown[1] == "Stretching: " + CAUTIONS[1]["text"]
    assert cautions.items[0].runs[0].text == "Dry Needling" and cautions.items[0].runs[0].bold


def test_a_caution_for_no_category_has_no_lead_and_only_what_exists_prints():
    only_caution = [{"kind": "caution", "text": "Go gently at first."}]
    section = next(s for s in build_document(entry(precautions=only_caution)).sections if s.key == "precautions")
    assert section.blocks[0] == SubHeading(CAUTION_LEAD) and len(section.blocks) == 2
    assert [plain(item.runs) for item in section.blocks[1].items] == ["Go gently at first."]
    only_flag = [{"kind": "red-flag", "text": "Fever."}]
    section = next(s for s in build_document(entry(precautions=only_flag)).sections if s.key == "precautions")
    assert [type(b) for b in section.blocks] == [SubHeading, BulletList] and section.blocks[0].text == RED_FLAG_LEAD


def test_no_section_without_precautions():
    data = json.loads((CASES / "valid" / "minimal-entry.json").read_text(encoding="utf-8"))
    document = build_document(Entry.model_validate(data))
    assert "precautions" not in [section.key for section in document.sections]
    assert [section.heading for section in document.sections] == [h for h in ORDER if h != "Precautions"]
    assert document.meta.language == "en"  # the content model's default


def test_language_is_the_documents(document):
    assert document.meta.language == "en-GB"
    assert build_document(entry(language="pt-BR")).meta.language == "pt-BR"


# --------------------------------------------------------------------------- DOCX


def test_docx_precautions_read_back(docx_blob):
    import docx

    paragraphs = docx.Document(io.BytesIO(docx_blob)).paragraphs
    assert [p.text for p in paragraphs if p.style.name == "Heading 1"] == ORDER
    start = next(i for i, p in enumerate(paragraphs) if p.text == "Precautions")
    end = next(i for i, p in enumerate(paragraphs) if p.text == "Corrective Actions")
    body = [(p.style.name, p.text) for p in paragraphs[start + 1:end]]
    assert body[0] == ("Heading 2", RED_FLAG_LEAD)
    assert body[1:3] == [("List Bullet", text) for text in RED_FLAGS]
    assert body[3] == ("Heading 2", CAUTION_LEAD)
    assert [style for style, _ in body[4:]] == ["List Bullet", "List Bullet"]
    assert body[4][1].startswith("Dry Needling: ") and body[5][1] == "Stretching: " + CAUTIONS[1]["text"]


@pytest.mark.parametrize("language", ["en-GB", "de", "pt-BR"])
def test_docx_language_in_styles_and_properties(language):
    import docx
    from docx.oxml.ns import qn
    from lxml import etree

    blob = docx_writer.render(build_document(entry(language=language)), RenderOptions())
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as package:
        styles = etree.fromstring(package.read("word/styles.xml"))
    lang = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert lang.get(qn("w:val")) == language
    assert docx.Document(io.BytesIO(blob)).core_properties.language == language


# --------------------------------------------------------------------------- PDF


def _pdf_lines(data: bytes) -> list[str]:
    import pypdf

    text = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_pdf_precautions_in_order(pdf_blob):
    lines = _pdf_lines(pdf_blob)
    at = {heading: lines.index(heading) for heading in ("Patient Examination", "Precautions", RED_FLAG_LEAD,
                                                         CAUTION_LEAD, "Corrective Actions")}
    assert list(at.values()) == sorted(at.values())
    flow = " ".join(lines)
    positions = [flow.index(text[:40]) for text in [*RED_FLAGS, "Dry Needling: The superior gluteal", "Stretching: After"]]
    assert positions == sorted(positions)
    assert flow.index(RED_FLAG_LEAD) < positions[0] and flow.index(CAUTION_LEAD) < positions[2]


def test_pdf_outline_and_language(pdf_blob):
    import pikepdf
    import pypdf

    outline = pypdf.PdfReader(io.BytesIO(pdf_blob)).outline
    top = [item["/Title"] for item in outline if not isinstance(item, list)]
    assert top == ORDER
    nested = outline[top.index("Precautions") + 1]
    assert [item["/Title"] for item in nested] == [RED_FLAG_LEAD, CAUTION_LEAD]
    with pikepdf.open(io.BytesIO(pdf_blob)) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"
    with pikepdf.open(io.BytesIO(pdf_writer.render(build_document(entry(language=None, schema_version="1.0",
                                                                        precautions=None,
                                                                        corrective_actions=BASE["corrective_actions"][1:])),
                                                   RenderOptions()))) as pdf:
        assert str(pdf.Root.Lang) == "en"


def test_book_outline_has_the_section_and_the_language(document):
    import pikepdf
    import pypdf

    other = build_document(entry(id="other-entry", name="Another Muscle", precautions=None, language="de",
                                 corrective_actions=BASE["corrective_actions"][1:]))
    book = pdf_writer.render_book([document, other], "Precautions Test", RenderOptions())
    outline = pypdf.PdfReader(io.BytesIO(book)).outline
    chapters = [item for item in outline if isinstance(item, list)]
    first = [item["/Title"] for item in chapters[0] if not isinstance(item, list)]
    second = [item["/Title"] for item in chapters[1] if not isinstance(item, list)]
    assert first == ORDER and second == [h for h in ORDER if h != "Precautions"]
    with pikepdf.open(io.BytesIO(book)) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"  # the book's: its first entry's
