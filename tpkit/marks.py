r"""The inline marks of entry texts: ``*italic*``, ``**bold**`` and citations ``[@key, p. 231]``.

Every other character is literal. A mark that is not closed is not a mark: its
characters print as written, so "5 * 3" or "a ** b" stay plain text.

Emphasis is read by a scanner of its own rather than a regular expression: the expression
that states the rule (``\*\*(?=\S)(.+?)(?<=\S)\*\*|\*(?=[^\s*])(.+?)(?<=[^\s*])\*``, kept
in the tests as the reference) searches the rest of the line from every unclosed star, which
is quadratic: 40,000 unclosed stars took minutes. The scanner finds each star's closer with
pointers that only move forward, so its work is linear in the text. The tests check it
against the expression on generated text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, Union

# Locator labels editors write, mapped to CSL locator types.
LOCATOR_LABELS = {
    "p.": "page", "pp.": "page", "page": "page", "pages": "page",
    "chap.": "chapter", "ch.": "chapter", "chapter": "chapter",
    "sec.": "section", "section": "section",
    "fig.": "figure", "figs.": "figure", "figure": "figure",
    "vol.": "volume", "para.": "paragraph",
}

_CITATION = re.compile(r"\[(@[^\[\]]*)\]")
# Possessive, and the locator stripped afterwards: a lazy locator followed by ``\s*$`` is
# quadratic in a long run of spaces.
_CITE_REF = re.compile(r"\s*+@([a-z][a-z0-9]*+(?:-[a-z0-9]++)*+)\s*+(?:,([^\n]*+))?\s*+")
_LOCATOR = re.compile(r"^(?:([A-Za-z]+\.?)\s+)?(\S.*)$")
_STAR = re.compile(r"\*")


class CiteRef(NamedTuple):  # a tuple: rules build one per citation of every entry, and tuples are cheap
    key: str
    locator: str | None = None
    label: str | None = None  # CSL locator type, e.g. "page"


@dataclass(frozen=True)
class Cite:
    refs: tuple[CiteRef, ...]
    source: str  # the mark as written, for messages


@dataclass(frozen=True)
class Span:
    text: str
    italic: bool = False
    bold: bool = False


Inline = Union[Span, Cite]


def parse_cite(inner: str) -> tuple[CiteRef, ...] | None:
    """Parse the inside of ``[...]``; None when it is not a citation mark."""
    refs = []
    for part in inner.split(";"):
        match = _CITE_REF.fullmatch(part)
        if not match:
            return None
        key, locator_text = match.group(1), (match.group(2) or "").strip() or None
        locator = label = None
        if locator_text:
            loc = _LOCATOR.fullmatch(locator_text)
            word = loc.group(1) if loc else None
            if word and word.lower() in LOCATOR_LABELS:
                label, locator = LOCATOR_LABELS[word.lower()], loc.group(2)
            else:
                label, locator = "page", locator_text
        refs.append(CiteRef(key, locator, label))
    return tuple(refs)


def citation_marks(text: str) -> list[tuple[str, tuple[CiteRef, ...] | None]]:
    """Every ``[@...]`` of a text as (the mark as written, its references or None when it cannot be read)."""
    return [(match.group(0), parse_cite(match.group(1))) for match in _CITATION.finditer(text)]


def parse(text: str) -> list[Inline]:
    """Split a text into spans (with emphasis) and citation marks, in order."""
    result: list[Inline] = []
    position = 0
    for match in _CITATION.finditer(text):
        refs = parse_cite(match.group(1))
        if refs is None:
            continue
        result.extend(_emphasis(text[position:match.start()]))
        result.append(Cite(refs, match.group(0)))
        position = match.end()
    result.extend(_emphasis(text[position:]))
    return result


def _emphasis(text: str) -> list[Span]:
    """Spans of ``**bold**``, ``*italic*`` and plain text, as the reference expression (module
    docstring) would cut them: from left to right, at each star the bold reading first, then
    the italic one, each closed at the nearest closer on the same line."""
    length = len(text)
    stars = [match.start() for match in _STAR.finditer(text)]
    # A closer's star must follow a character that is not white space; an italic one also not a star.
    bold_closers = [q for q in stars if 0 < q < length - 1 and text[q + 1] == "*" and not text[q - 1].isspace()]
    italic_closers = [q for q in stars if q > 0 and text[q - 1] != "*" and not text[q - 1].isspace()]
    spans: list[Span] = []
    position = 0  # the end of the last mark: stars before it are inside that mark
    next_bold = next_italic = 0  # indexes into the closers; they only move forward
    line_end = -1
    last_closer = max(bold_closers[-1:] + italic_closers[-1:], default=-1)

    def closer(closers: list[int], index: int, earliest: int) -> tuple[int | None, int]:
        while index < len(closers) and closers[index] < earliest:
            index += 1
        if index < len(closers) and closers[index] < line_end:
            return closers[index], index
        return None, index

    for star in stars:
        if star >= last_closer:
            break  # no mark can close after here
        if star < position:
            continue
        if line_end < star:
            line_end = text.find("\n", star)
            line_end = length if line_end < 0 else line_end
        mark = None
        if text.startswith("**", star) and star + 2 < length and not text[star + 2].isspace():
            end, next_bold = closer(bold_closers, next_bold, star + 3)
            if end is not None:
                mark = Span(text[star + 2:end], bold=True), end + 2
        if mark is None and star + 1 < length and text[star + 1] != "*" and not text[star + 1].isspace():
            end, next_italic = closer(italic_closers, next_italic, star + 2)
            if end is not None:
                mark = Span(text[star + 1:end], italic=True), end + 1
        if mark is None:
            continue
        if star > position:
            spans.append(Span(text[position:star]))
        spans.append(mark[0])
        position = mark[1]
    if position < length:
        spans.append(Span(text[position:]))
    return spans


def plain(text: str) -> str:
    """The text without marks: emphasis unwrapped, citations removed (for search, alt text, comparisons)."""
    out = []
    for inline in parse(text):
        if isinstance(inline, Span):
            out.append(inline.text)
    return re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", "".join(out))).strip()
