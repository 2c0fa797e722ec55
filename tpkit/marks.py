"""The inline marks of entry texts: ``*italic*``, ``**bold**`` and citations ``[@key, p. 231]``.

Every other character is literal. A mark that is not closed is not a mark: its
characters print as written, so "5 * 3" or "a ** b" stay plain text.
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
_CITE_REF = re.compile(r"^\s*@([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\s*(?:,\s*(.*?))?\s*$")
_LOCATOR = re.compile(r"^(?:([A-Za-z]+\.?)\s+)?(\S.*)$")
_EMPHASIS = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|\*(?=[^\s*])(.+?)(?<=[^\s*])\*")


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
        match = _CITE_REF.match(part)
        if not match:
            return None
        key, locator_text = match.groups()
        locator = label = None
        if locator_text:
            loc = _LOCATOR.match(locator_text)
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
    spans: list[Span] = []
    position = 0
    for match in _EMPHASIS.finditer(text):
        if match.start() > position:
            spans.append(Span(text[position:match.start()]))
        if match.group(1) is not None:
            spans.append(Span(match.group(1), bold=True))
        else:
            spans.append(Span(match.group(2), italic=True))
        position = match.end()
    if position < len(text):
        spans.append(Span(text[position:]))
    return spans


def plain(text: str) -> str:
    """The text without marks: emphasis unwrapped, citations removed (for search, alt text, comparisons)."""
    out = []
    for inline in parse(text):
        if isinstance(inline, Span):
            out.append(inline.text)
    return re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", "".join(out))).strip()
