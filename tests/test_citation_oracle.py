"""pandoc's citeproc as an independent oracle for tpkit's citations.

Every sample's in-text marks (in the order the handout prints them) and reference list
are rendered by tpkit and by ``pandoc --citeproc`` with the same CSL file and items, and
compared after normalising white space. Superscript is compared as ``^text^`` on both
sides, so a mark that is raised in one and not the other differs.

pandoc 2.17 (Debian's) is known wrong in two places; ``KNOWN_PANDOC_ERRORS`` corrects
exactly those in pandoc's text, with the reason, and nothing else may differ.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tpkit.citations import CitationFormatter, resolve_style
from tpkit.layout import build_document

pytestmark = pytest.mark.skipif(shutil.which("pandoc") is None, reason="pandoc is not installed")

# (style, locale): the styles tpkit is tested with (README, "Citations"). The locale is
# given, not taken from the samples' ``language`` (en-GB): pandoc 2.17 bundles older CSL
# locale data whose en-GB short terms are "ed." and "eds." where the current
# locales-en-GB.xml, which citeproc-py 0.11 ships, has "edn" and "eds" (shown by
# test_pandoc_has_older_british_terms). Cite Them Right brings its own en-GB terms.
STYLES = [
    ("apa", "en-US"),
    ("chicago-author-date", "en-US"),
    ("harvard-cite-them-right", "en-GB"),
    ("american-medical-association", "en-US"),
    ("vancouver", "en-US"),
]
# pandoc's locator labels for tpkit's CSL locator types
PANDOC_LABELS = {"page": "p.", "chapter": "chap.", "section": "sec.", "figure": "fig.", "volume": "vol.",
                 "paragraph": "para."}


def _explicit_names(style_path: str, tmp_path) -> str:
    """The style with an empty ``<name/>`` in every ``<names>`` that has none.

    CSL 1.0.2: a cs:names without cs:name behaves as if it had an empty one, inheriting
    the name options of cs:style, cs:citation and cs:bibliography. pandoc 2.17 ignores
    those inherited options for the implicit name and prints its label first: AMA and
    NLM/Vancouver came out as "1. , eds.Joseph M. Donnelly, ..." with every author of
    seven (instead of "Donnelly JM, ..., eds." and "Rushton A, Carlesso LC, Flynn T, et
    al."). The rewritten style means the same; pandoc renders it correctly. The shorthand
    cs:names inside cs:substitute is left alone: it inherits the enclosing cs:name.
    """
    from lxml import etree

    ns = "{http://purl.org/net/xbiblio/csl}"
    tree = etree.parse(style_path)
    for names in tree.iter(f"{ns}names"):
        if names.getparent().tag != f"{ns}substitute" and names.find(f"{ns}name") is None:
            names.insert(0, etree.Element(f"{ns}name"))
    path = tmp_path / ("explicit-" + style_path.rsplit("/", 1)[-1])
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
    return str(path)


def _page_range_ends_masked(text: str, items: list[dict]) -> str:
    # pandoc 2.17 ignores page-range-format="chicago" (Chicago 16 "179–89"; pandoc prints
    # "179–189"). The range's end is masked on both sides; its start and the rest must agree.
    for item in items:
        first = re.match(r"\d+", str(item.get("page", "")))
        if first:
            text = re.sub(rf"\b{first.group(0)}[–-]\d+", f"{first.group(0)}–…", text)
    return text


# style -> (correction of the style pandoc is given, correction of both texts)
KNOWN_PANDOC_ERRORS = {
    "american-medical-association": (_explicit_names, None),
    "vancouver": (_explicit_names, None),
    "chicago-author-date": (None, _page_range_ends_masked),
}


class _Recorder:
    """A formatter that remembers the clusters the layout hands over (in reading order)
    and what it made of them."""

    def __init__(self, inner: CitationFormatter):
        self.inner = inner
        self.clusters: list = []
        self.marks: list = []

    def format(self, clusters):
        self.clusters = [tuple(cluster) for cluster in clusters]
        self.marks, references = self.inner.format(clusters)
        return self.marks, references


def _marked(runs) -> str:
    return "".join(f"^{run.text}^" if run.superscript else run.text for run in runs)


def _inline_text(nodes) -> str:
    out = []
    for node in nodes:
        kind, content = node["t"], node.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif kind == "Superscript":
            out.append("^" + _inline_text(content) + "^")
        elif kind in ("Emph", "Strong", "SmallCaps", "Underline", "Strikeout", "Subscript"):
            out.append(_inline_text(content))
        elif kind in ("Span", "Link", "Cite"):
            out.append(_inline_text(content[1]))
        elif kind == "Quoted":
            single = content[0]["t"] == "SingleQuote"
            opening, closing = ("\u2018", "\u2019") if single else ("\u201c", "\u201d")
            out.append(opening + _inline_text(content[1]) + closing)
        else:
            raise AssertionError(f"pandoc printed an inline tpkit's oracle does not read: {kind}")
    return "".join(out)


def _block_texts(blocks) -> list[str]:
    texts = []
    for block in blocks:
        if block["t"] in ("Para", "Plain"):
            texts.append(_inline_text(block["c"]))
        elif block["t"] == "Div":
            texts.append(" ".join(_block_texts(block["c"][1])))
    return texts


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _pandoc(clusters, items, style_path: str, locale: str | None, tmp_path) -> tuple[list[str], list[tuple]]:
    """pandoc's rendering of the clusters (one paragraph each, in order) and its reference
    list as (key, text)."""
    def cite(ref) -> str:
        locator = f", {PANDOC_LABELS[ref.label]} {ref.locator}" if ref.locator else ""
        return f"@{ref.key}{locator}"

    markdown = "\n\n".join("[" + "; ".join(cite(ref) for ref in cluster) + "]" for cluster in clusters)
    bibliography = tmp_path / "items.json"
    bibliography.write_text(json.dumps(items), encoding="utf-8")
    command = ["pandoc", "--citeproc", "-f", "markdown", "-t", "json", "--csl", style_path,
               "--bibliography", str(bibliography)]
    if locale:
        command += ["-M", f"lang={locale}"]
    result = subprocess.run(command, input=markdown, capture_output=True, text=True, check=True)
    blocks = json.loads(result.stdout)["blocks"]
    marks = [_inline_text(block["c"]) for block in blocks if block["t"] == "Para"]
    reference_lists = [block for block in blocks if block["t"] == "Div"]
    references = [(div["c"][0][0].removeprefix("ref-"), " ".join(_block_texts(div["c"][1])))
                  for div in (reference_lists[0]["c"][1] if reference_lists else [])]
    return marks, references


def _batches(rendered: list[dict], numeric: bool) -> list[list[dict]]:
    """Entries pandoc can render in one run without changing any: a numeric style numbers
    each entry afresh, so one entry a run; author-date entries share a run when every key
    means the same work and no two works share a first author (which could make pandoc
    disambiguate across entries, as tpkit, rendering one entry, would not)."""
    if numeric:
        return [[one] for one in rendered]
    batches: list[list[dict]] = []
    for one in rendered:
        for batch in batches:
            items = {item["id"]: item for other in batch for item in other["items"]}
            firsts = {_first_author(item): key for key, item in items.items()}
            if all(items.get(item["id"], item) == item and firsts.get(_first_author(item), item["id"]) == item["id"]
                   for item in one["items"]):
                batch.append(one)
                break
        else:
            batches.append([one])
    return batches


def _first_author(item: dict) -> str:
    names = item.get("author") or item.get("editor") or [{}]
    return str(names[0].get("family") or names[0].get("literal") or item.get("title", "")).casefold()


@pytest.mark.parametrize("style, locale", STYLES, ids=[style for style, _ in STYLES])
def test_pandoc_agrees_on_every_sample(sample_entries, style, locale, tmp_path):
    fix_style, fix_texts = KNOWN_PANDOC_ERRORS.get(style, (None, None))
    style_path = fix_style(resolve_style(style), tmp_path) if fix_style else resolve_style(style)
    rendered = []
    for entry in sample_entries:
        items = [citation.to_csl() for citation in entry.citations]
        recorder = _Recorder(CitationFormatter(items, style, locale=locale))
        document = build_document(entry, style=style, formatter=recorder, locale=locale)
        (references,) = [s.blocks[0].items for s in document.sections if s.key == "references"]
        assert recorder.clusters, entry.id
        rendered.append({"id": entry.id, "items": items, "clusters": recorder.clusters,
                         "marks": [_marked(runs) for runs in recorder.marks],
                         "references": [(r.key, _marked(r.runs)) for r in references]})
    numeric = recorder.inner._style.uses_number
    differences = []
    for batch in _batches(rendered, numeric):
        items = list({item["id"]: item for one in batch for item in one["items"]}.values())
        clusters = [cluster for one in batch for cluster in one["clusters"]]
        theirs_marks, theirs_refs = _pandoc(clusters, items, style_path, locale, tmp_path)
        assert len(theirs_marks) == len(clusters)
        for one in batch:
            mine_refs = one["references"]
            cited = {key for key, _ in mine_refs}
            theirs = [(key, text) for key, text in theirs_refs if key in cited]  # pandoc's order
            assert [key for key, _ in theirs] == [key for key, _ in mine_refs], one["id"]
            pairs = [("mark", ours, pandoc) for ours, pandoc in zip(one["marks"], theirs_marks)]
            pairs += [("reference", ours, pandoc) for (_, ours), (_, pandoc) in zip(mine_refs, theirs)]
            del theirs_marks[:len(one["marks"])]
            for kind, ours, pandoc in pairs:
                ours, pandoc = _normal(ours), _normal(pandoc)
                if fix_texts:
                    ours, pandoc = fix_texts(ours, items), fix_texts(pandoc, items)
                if ours != pandoc:
                    differences.append(f"{one['id']} {kind}:\n  tpkit:  {ours}\n  pandoc: {pandoc}")
    assert not differences, "\n".join(differences)


def test_the_known_pandoc_errors_are_still_there(sample_entries, tmp_path):
    """The corrections above are not blanket excuses: each one changes what pandoc prints."""
    entry = next(e for e in sample_entries if any(c.to_csl().get("page") for c in e.citations))
    items = [citation.to_csl() for citation in entry.citations]
    recorder = _Recorder(CitationFormatter(items, "american-medical-association"))
    build_document(entry, style="american-medical-association", formatter=recorder)
    for style in ("american-medical-association", "vancouver"):
        path = resolve_style(style)
        as_shipped = _pandoc(recorder.clusters, items, path, None, tmp_path)
        assert as_shipped[1], style
        assert as_shipped != _pandoc(recorder.clusters, items, _explicit_names(path, tmp_path), None, tmp_path), style
    _, references = _pandoc(recorder.clusters, items, resolve_style("chicago-author-date"), None, tmp_path)
    assert any(_page_range_ends_masked(text, items) != text for _, text in references)


TERMS_STYLE = """<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">
  <info><title>Terms</title><id>terms</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation><layout><text term="edition" form="short"/></layout></citation>
</style>
"""


def test_pandoc_has_older_british_terms(tmp_path):
    style = tmp_path / "terms.csl"
    style.write_text(TERMS_STYLE, encoding="utf-8")
    item = {"id": "k", "type": "book", "title": "T"}
    marks, _ = _pandoc([[type("R", (), {"key": "k", "locator": None, "label": None})()]], [item], str(style),
                       "en-GB", tmp_path)
    in_text, _ = CitationFormatter([item], style, locale="en-GB").format(
        [[type("R", (), {"key": "k", "locator": None, "label": None})()]])
    assert (marks[0], "".join(run.text for run in in_text[0])) == ("ed.", "edn")
