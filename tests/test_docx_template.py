"""Hostile and broken DOCX templates: tpkit takes styles, numbering, theme, fonts, page setup,
header and footer with their images, and nothing else; broken ones get a clear error."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from conftest import ENTRIES
from tpkit.cli import cli
from tpkit.errors import RenderError
from tpkit.writers import RenderOptions
from tpkit.writers import docx as docx_writer



def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (170, 17, 34)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch):
    monkeypatch.delenv("TPKIT_DEBUG", raising=False)  # `tpkit --debug` in another test sets it for the process
    docx_writer.clear_caches()
    yield
    docx_writer.clear_caches()


def plain_template(path: Path, *, header_image: bool = False, header_link: bool = False) -> Path:
    d = docx.Document()
    d.add_paragraph("TEMPLATE BODY TEXT")
    header = d.sections[0].header.paragraphs[0]
    header.text = "Publisher Press"
    if header_image:
        header.add_run().add_picture(io.BytesIO(png()))
    d.save(path)
    if header_link:
        rewrite(path, header_link=True)
    return path


def rewrite(path: Path, replace: dict[str, bytes | None] | None = None, header_link: bool = False,
            rels: dict[str, str] | None = None) -> Path:
    """Rewrite members of a .docx: new bytes, None to delete; extra relationships appended to rels files."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    for name, data in (replace or {}).items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    for name, extra in (rels or {}).items():
        text = members.get(name, b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                                 b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>')
        members[name] = text.replace(b"</Relationships>", extra.encode() + b"</Relationships>")
    if header_link:
        header_name = next(n for n in members if n.startswith("word/header") and n.endswith(".xml"))
        members[header_name] = members[header_name].replace(
            b"<w:r>", b'<w:hyperlink r:id="rIdLink9"><w:r><w:t>link</w:t></w:r></w:hyperlink><w:r>', 1)
        rels_name = f"word/_rels/{header_name.split('/')[-1]}.rels"
        members[rels_name] = members.get(rels_name, b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                         b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                         b'relationships"></Relationships>').replace(
            b"</Relationships>", b'<Relationship Id="rIdLink9" Type="http://schemas.openxmlformats.org/officeDocument/'
                                 b'2006/relationships/hyperlink" Target="file:///etc/passwd" TargetMode="External"/>'
                                 b"</Relationships>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


@pytest.fixture(scope="module")
def document():
    from tpkit.layout import build_document
    from tpkit.validate import Options, validate_paths

    from conftest import TODAY

    entry = validate_paths([ENTRIES / "piriformis.json"], Options(today=TODAY)).entries()[0]
    return build_document(entry)


def render(document, template: Path) -> bytes:
    return docx_writer.render(document, RenderOptions(template=template))


def names_in(blob: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return set(archive.namelist())


def all_text(blob: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return b"\n".join(archive.read(name) for name in archive.namelist())


ENTITY_STYLES = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE w:styles [<!ENTITY press "Publisher Press">]>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="&press;"/></w:style></w:styles>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol3;</w:styles>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE w:settings SYSTEM "file:///etc/passwd">
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>"""


@pytest.mark.parametrize("part, data", [
    ("word/styles.xml", ENTITY_STYLES),
    ("word/styles.xml", LAUGHS),
    ("word/settings.xml", EXTERNAL),
], ids=["internal-entity", "billion-laughs", "external-dtd"])
def test_a_template_with_a_dtd_is_refused(document, tmp_path, part, data):
    template = rewrite(plain_template(tmp_path / "t.docx"), {part: data})
    with pytest.raises(RenderError, match=rf"{part} declares a document type"):
        render(document, template)


def test_a_refused_template_stops_export_before_anything_is_written(tmp_path):
    template = rewrite(plain_template(tmp_path / "t.docx"), {"word/styles.xml": ENTITY_STYLES})
    out = tmp_path / "out"
    (out / "docx").mkdir(parents=True)
    (out / "docx" / "piriformis.docx").write_bytes(b"the good handout of yesterday")
    result = CliRunner().invoke(cli, ["export", "--no-cache", "--template", str(template), "--out", str(out),
                                      str(ENTRIES)])
    assert result.exit_code == 2
    assert "tpkit: error: template" in result.output and "document type" in result.output
    assert "internal error" not in result.output
    assert (out / "docx" / "piriformis.docx").read_bytes() == b"the good handout of yesterday"
    assert sorted(p.name for p in out.rglob("*")) == ["docx", "piriformis.docx"]


ATTACHED = ('<Relationship Id="rIdT1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'attachedTemplate" Target="file:///srv/share/evil.dotm" TargetMode="External"/>')
COMMENTS_REL = ('<Relationship Id="rIdC1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'comments" Target="comments.xml"/>')
CUSTOM_REL = ('<Relationship Id="rIdP1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'custom-properties" Target="docProps/custom.xml"/>')
COMMENTS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="http://schemas.'
            b'openxmlformats.org/wordprocessingml/2006/main"><w:comment w:id="0" w:author="Editor"><w:p><w:r>'
            b'<w:t>SECRET REVIEW NOTE</w:t></w:r></w:p></w:comment></w:comments>')
CUSTOM = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties xmlns="http://schemas.openxmlformats'
          b'.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
          b'2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Client">'
          b'<vt:lpwstr>SECRET CLIENT</vt:lpwstr></property></Properties>')


def with_extras(path: Path) -> Path:
    template = plain_template(path, header_image=True, header_link=True)
    content_types = member(template, "[Content_Types].xml").replace(
        b"</Types>", b'<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument'
                     b'.wordprocessingml.comments+xml"/><Override PartName="/docProps/custom.xml" ContentType="applic'
                     b'ation/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>')
    settings = member(template, "word/settings.xml").replace(
        b"</w:settings>", b'<w:attachedTemplate r:id="rIdT1"/><w:docVars><w:docVar w:name="x" w:val="SECRET VAR"/>'
                          b'</w:docVars><w:documentProtection w:edit="readOnly" w:enforcement="1"/></w:settings>')
    if b"xmlns:r=" not in settings[:2000]:
        settings = settings.replace(b"<w:settings ", b'<w:settings xmlns:r="http://schemas.openxmlformats.org/'
                                                     b'officeDocument/2006/relationships" ', 1)
    return rewrite(template, {"[Content_Types].xml": content_types, "word/comments.xml": COMMENTS,
                              "docProps/custom.xml": CUSTOM, "word/settings.xml": settings},
                   rels={"word/_rels/settings.xml.rels": ATTACHED, "word/_rels/document.xml.rels": COMMENTS_REL,
                         "_rels/.rels": CUSTOM_REL})


def test_only_what_a_template_is_for_reaches_the_handout(document, tmp_path):
    template = with_extras(tmp_path / "extras.docx")
    assert docx.Document(str(template)).part.package  # python-docx itself opens the hostile template
    blob = render(document, template)
    names = names_in(blob)
    assert "word/comments.xml" not in names and "docProps/custom.xml" not in names
    text = all_text(blob)
    for leaked in (b"SECRET REVIEW NOTE", b"SECRET CLIENT", b"SECRET VAR", b"attachedTemplate", b"file://",
                   b"documentProtection", b"evil.dotm", b"TEMPLATE BODY TEXT"):
        assert leaked not in text, leaked
    # what a template is for stays: header text and its image, styles, page setup
    assert b"Publisher Press" in text
    assert any(name.startswith("word/media/") for name in names)
    reopened = docx.Document(io.BytesIO(blob))
    assert reopened.sections[0].header.paragraphs[0].text.startswith("link")  # the hyperlink's text, unwrapped
    assert "Publisher Press" in reopened.sections[0].header.paragraphs[0].text


def _missing(name):
    return lambda path: rewrite(path, {name: None})


BROKEN = {
    "missing-styles-part": _missing("word/styles.xml"),
    "missing-document": _missing("word/document.xml"),
    "missing-content-types": _missing("[Content_Types].xml"),
    "missing-package-rels": _missing("_rels/.rels"),
    "not-well-formed": lambda path: rewrite(path, {"word/styles.xml": b"<w:styles"}),
    "rel-to-etc-passwd": lambda path: rewrite(path, rels={"word/_rels/document.xml.rels":
        '<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'numbering" Target="../../etc/passwd"/>'}),
    "comments-rel-to-etc-passwd": lambda path: rewrite(path, rels={"word/_rels/document.xml.rels":
        '<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'comments" Target="../../etc/passwd"/>'}),
    "header-rel-to-missing-part": lambda path: rewrite(path, rels={"word/_rels/document.xml.rels":
        '<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'header" Target="header99.xml"/>'}),
    "not-a-zip": lambda path: (path.write_bytes(b"PK\x03\x04 but not really a zip"), path)[1],
    "empty-zip": lambda path: (zipfile.ZipFile(path, "w").close(), path)[1],
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_template_is_a_clear_error(document, tmp_path, name):
    template = BROKEN[name](plain_template(tmp_path / "broken.docx"))
    with pytest.raises(RenderError) as caught:
        render(document, template)
    assert str(caught.value).startswith(f"template {template}: ")
    result = CliRunner().invoke(cli, ["export", "--no-cache", "--template", str(template), "--out",
                                      str(tmp_path / "out"), str(ENTRIES / "piriformis.json")])
    assert result.exit_code == 2
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert "template" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.docx"))


@pytest.mark.parametrize("variant", ["plain", "header-image", "extras"])
def test_every_handout_from_a_template_reopens(document, tmp_path, variant):
    path = tmp_path / f"{variant}.docx"
    template = {"plain": lambda: plain_template(path), "header-image": lambda: plain_template(path, header_image=True),
                "extras": lambda: with_extras(path)}[variant]()
    blob = render(document, template)
    reopened = docx.Document(io.BytesIO(blob))
    assert any("Piriformis" in p.text for p in reopened.paragraphs)
    if shutil.which("libreoffice") is None:
        return
    handout = tmp_path / "handout.docx"
    handout.write_bytes(blob)
    profile = tmp_path / "profile"
    subprocess.run(["libreoffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(handout)], capture_output=True, timeout=180, check=True)
    assert (tmp_path / "handout.pdf").stat().st_size > 1000
