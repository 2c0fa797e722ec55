"""Valid input that must not cost hours or gigabytes: every stage is linear in the length of a text.

The project has no timed tests of speed targets (those live in bench/long_text.py). The growth
checks here measure work that does not depend on the machine where it can (how many words
reportlab measures, how many bytes Python allocates), and compare CPU-time ratios only for
the emphasis scanner, whose former quadratic cost lay inside the C regular-expression engine
where nothing countable from Python sees it.
"""

from __future__ import annotations

import io
import json
import re
import time
import tracemalloc

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from conftest import ENTRIES
from tpkit import marks
from tpkit.cli import cli
from tpkit.load import scan_positions
from tpkit.rules import MAX_TEXT_LENGTH

# The rule as a regular expression: what marks.py did before, kept as the reference its scanner must match.
REFERENCE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|\*(?=[^\s*])(.+?)(?<=[^\s*])\*")


def reference_emphasis(text: str) -> list[marks.Span]:
    spans, position = [], 0
    for match in REFERENCE.finditer(text):
        if match.start() > position:
            spans.append(marks.Span(text[position:match.start()]))
        if match.group(1) is not None:
            spans.append(marks.Span(match.group(1), bold=True))
        else:
            spans.append(marks.Span(match.group(2), italic=True))
        position = match.end()
    if position < len(text):
        spans.append(marks.Span(text[position:]))
    return spans


SOUP_ALPHABET = st.sampled_from(["*", "**", " ", "a", "b.", "\u00a0", "\n", "[@k]", "[@", "]", "***", "\u2003"])
soups = st.lists(SOUP_ALPHABET, max_size=40).map("".join)


@settings(max_examples=2000, deadline=None)
@given(soups)
def test_emphasis_scanner_reads_marks_as_the_reference_expression_does(text):
    assert marks._emphasis(text) == reference_emphasis(text)


def _cpu_seconds(function, argument, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function(argument)
        best = min(best, time.process_time() - start)
    return best


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SOUP_ALPHABET, min_size=4, max_size=30).map("".join).filter(lambda unit: "*" in unit))
def test_mark_parsing_grows_linearly_with_the_text(unit):
    """Mark soup repeated to ~20,000 and 16 times as many characters. Linear work gives a CPU-time
    ratio near 16, quadratic work near 256 (the former expression gave over 200 on " *a" soup).
    The limit, 64, leaves a factor of four for timer noise on a busy machine, and the best of
    three runs is compared, which removes most of it."""
    small = unit * (20_000 // len(unit) + 1)
    large = small * 16
    ratio = _cpu_seconds(marks.parse, large) / max(_cpu_seconds(marks.parse, small), 1e-4)
    assert ratio < 64, f"parsing 16 times the text took {ratio:.0f} times as long: {unit!r}"


def test_unclosed_stars_cost_linear_time():
    """The issue's case: 40,000 unclosed italic marks (120 KB) took 61 s to build."""
    small, large = "x" + " *a" * 10_000, "x" + " *a" * 160_000
    ratio = _cpu_seconds(marks.parse, large) / max(_cpu_seconds(marks.parse, small), 1e-4)
    assert ratio < 64
    assert marks.parse(large) == [marks.Span(large)]


def test_citation_locator_with_a_long_run_of_spaces_is_read_in_linear_time():
    inner = "@key, p." + " " * 200_000 + "5"
    start = time.process_time()
    refs = marks.parse_cite(inner)
    assert time.process_time() - start < 5  # the former lazy match took minutes; this takes milliseconds
    assert refs == (marks.CiteRef("key", "5", "page"),)


def test_position_scanner_memory_is_linear_in_a_long_string():
    """A 4.9 MB summary used 626 MB to validate: the scanner's string pattern saved a
    backtracking point for every character. Allocation is measured, not time."""
    text = json.dumps({"summary": "a" * 2_000_000, "escapes": "\\n" * 500_000})
    tracemalloc.start()
    try:
        positions, _ = scan_positions(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "/escapes" in positions
    assert peak < 2 * len(text), f"{peak:,} bytes allocated to scan {len(text):,} characters"


# ----------------------------------------------------------------------------- the limit, TP220


def entry_with(tmp_path, **fields) -> str:
    data = json.loads((ENTRIES / "piriformis.json").read_text(encoding="utf-8"))
    data.update(fields)
    path = tmp_path / "piriformis.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def codes_of(path: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, ["validate", "--no-cache", "--format", "json", path])
    return result.exit_code, json.loads(result.output)["issues"]


def test_a_text_at_the_limit_is_accepted(tmp_path):
    summary = ("Referred pain. " * (MAX_TEXT_LENGTH // 15 + 1))[:MAX_TEXT_LENGTH].strip()
    summary = summary + "x" * (MAX_TEXT_LENGTH - len(summary))
    assert len(summary) == MAX_TEXT_LENGTH
    exit_code, issues = codes_of(entry_with(tmp_path, summary=summary))
    assert "TP220" not in {issue["code"] for issue in issues}


@pytest.mark.parametrize("field", ["summary", "symptoms"])
def test_a_text_over_the_limit_is_tp220_at_its_place(tmp_path, field):
    long_text = "The muscle refers pain to the *buttock* and thigh. " * (MAX_TEXT_LENGTH // 40)
    long_text = long_text.strip()
    value = long_text if field == "summary" else ["Pain when sitting.", long_text]
    exit_code, issues = codes_of(entry_with(tmp_path, **{field: value}))
    found = [issue for issue in issues if issue["code"] == "TP220"]
    assert exit_code == 1
    assert [issue["pointer"] for issue in found] == ["/summary" if field == "summary" else "/symptoms/1"]
    assert f"{len(long_text):,} characters long" in found[0]["message"]
    assert found[0]["severity"] == "error"


def test_a_huge_entry_is_refused_by_the_limit_and_never_typeset(tmp_path):
    """The issue's 4.9 MB summary: validation refuses it (TP220), so build writes nothing."""
    path = entry_with(tmp_path, summary="x" + " *a" * 1_600_000)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", "--format", "pdf", "--out", str(out), path])
    assert result.exit_code == 1
    assert "TP220" in result.output
    assert not any(out.rglob("*.pdf")) if out.exists() else True


# ----------------------------------------------------------------------------- the PDF writer


def _long_paragraph_document(words: int, styled: bool):
    from tpkit.document import Document, Paragraph, Run, Section

    from test_pdf import meta

    run_list = []
    for i in range(words // 10):
        if styled:
            run_list += [Run(f"Sentence {i} of the muscle "), Run("refers", italic=True), Run(" pain to the back. ")]
        else:
            run_list.append(Run(f"Sentence {i} of the muscle refers pain to the back. "))
    return Document(meta(), (Section("summary", "Introduction", (Paragraph(tuple(run_list)),)),))


def _measured_words(document) -> tuple[int, bytes]:
    """How many strings reportlab measured to set the document, and the PDF."""
    from reportlab.pdfbase import ttfonts

    from tpkit.writers import RenderOptions, pdf

    counted = [0]
    original = ttfonts.TTFont.stringWidth

    def counting(self, *args, **kwargs):
        counted[0] += 1
        return original(self, *args, **kwargs)

    ttfonts.TTFont.stringWidth = counting
    try:
        data = pdf.render(document, RenderOptions())
    finally:
        ttfonts.TTFont.stringWidth = original
    return counted[0], data


@pytest.mark.parametrize("styled", [False, True], ids=["plain", "with-marks"])
def test_a_paragraph_over_many_pages_is_broken_into_lines_once(styled):
    """reportlab broke the rest of a paragraph again on every page (800,000 characters: 37 s).
    Words measured is the deterministic measure: 4 times the text must cost about 4 times
    the measuring, not 16."""
    small, _ = _measured_words(_long_paragraph_document(3_000, styled))
    large, _ = _measured_words(_long_paragraph_document(12_000, styled))
    assert large / small < 6, f"4x the text measured {large / small:.1f}x the words"


@pytest.mark.parametrize("styled", [False, True], ids=["plain", "with-marks"])
def test_keeping_line_breaks_changes_no_byte(styled, monkeypatch):
    from reportlab.platypus import Paragraph as RLParagraph

    from tpkit.writers import pdf

    document = _long_paragraph_document(4_000, styled)
    _, kept = _measured_words(document)
    monkeypatch.setattr(pdf._Para, "split", RLParagraph.split)  # reportlab's own: break the rest again
    _, broken_again = _measured_words(document)
    assert kept == broken_again
    assert len(PdfReader(io.BytesIO(kept)).pages) > 3  # the paragraph really spans pages


def test_an_unknown_key_cited_many_times_is_looked_up_once(tmp_path, monkeypatch):
    """60,000 marks of one unknown key took 37 s: a fuzzy search for a suggestion per mark."""
    from tpkit import rules

    calls = []
    original = rules._suggest
    monkeypatch.setattr(rules, "_suggest", lambda key, keys: calls.append(key) or original(key, keys))
    summary = "Pain [@travell1999]. " * 5_000 + "Also [@donely2019]."
    exit_code, issues = codes_of(entry_with(tmp_path, summary=summary))
    found = [issue for issue in issues if issue["code"] == "TP203"]
    assert len(found) == 5_001
    assert sorted(calls) == ["donely2019", "travell1999"]
    assert 'did you mean "travell1992"' in found[0]["message"]
