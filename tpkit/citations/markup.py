"""citeproc-py's marked-up output -> runs of the layout tree.

citeproc-py is given a private formatter whose italic/bold/... wrappers emit
private-use marker characters instead of HTML tags and whose ``preformat``
escapes nothing. Every other character of the output is therefore literal text
(``&``, ``<`` and ``>`` in titles print as themselves, no entity decoding is
needed, and nothing in a title can be mistaken for markup). The bundled HTML
formatter is unusable for this: it escapes terms (``&amp;``) but not field
values (``<`` stays raw).

The conversion then fixes seams citeproc-py cannot see: punctuation doubled
across a markup boundary, punctuation outside closing quotes in US locales,
stray spaces. Superscript (numeric styles such as AMA) becomes
``Run.superscript``; subscript, which no style tpkit is tested with prints, is
written with Unicode subscript characters where one exists.
"""

from __future__ import annotations

import re

from tpkit.document import Run

class LazyRegex:
    """A regular expression compiled on first use (keeps the import cheap)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, *args):
        self._args = args
        self._compiled = None

    def __getattr__(self, name):
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


# Private-use characters stand for the opening and closing of each kind of
# markup citeproc-py can produce. They never reach the output: the conversion
# consumes them, and any that occur in the input data are removed before
# rendering.
_ITALIC, _BOLD, _LIGHT, _UNDERLINE, _SUP, _SUB, _SMALLCAPS = range(7)
_MARK_BASE = 0xF8D0
_OPEN = {kind: chr(_MARK_BASE + 2 * kind) for kind in range(7)}
_CLOSE = {kind: chr(_MARK_BASE + 2 * kind + 1) for kind in range(7)}
_MARKERS = {c: (kind, +1) for kind, c in _OPEN.items()}
_MARKERS.update({c: (kind, -1) for kind, c in _CLOSE.items()})
MARKER_RE = LazyRegex("[" + "".join(_MARKERS) + "]")

_SUBSCRIPT = str.maketrans("0123456789+-\u2013\u2212=()", "₀₁₂₃₄₅₆₇₈₉₊₋₋₋₌₍₎")


def _make_formatter():
    """A citeproc formatter (module-like object) that emits marker characters."""
    from citeproc.formatter import html

    def wrapper(kind: int, base=html.TagWrapper):
        opening, closing = _OPEN[kind], _CLOSE[kind]

        class Marker(base):
            @classmethod
            def _wrap(cls, text):
                return opening + str(text) + closing

        Marker.__name__ = f"Marker{kind}"
        return Marker

    class Formatter:
        @staticmethod
        def preformat(text):
            return str(text)

        Italic = wrapper(_ITALIC)
        Oblique = wrapper(_ITALIC)
        Bold = wrapper(_BOLD)
        Light = wrapper(_LIGHT)
        Underline = wrapper(_UNDERLINE)
        Superscript = wrapper(_SUP)
        Subscript = wrapper(_SUB)
        SmallCaps = wrapper(_SMALLCAPS)

    return Formatter


_formatter_singleton = None


def formatter():
    global _formatter_singleton
    if _formatter_singleton is None:
        _formatter_singleton = _make_formatter()
    return _formatter_singleton


def clean_value(value):
    """Remove marker characters from every string inside a CSL-JSON value."""
    if isinstance(value, str):
        return MARKER_RE.sub("", value)
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {k: clean_value(v) for k, v in value.items()}
    return value


def to_runs(text: str, *, punctuation_in_quote: bool, close_quote: str, citation: bool = False,
            item: dict | None = None) -> tuple[Run, ...]:
    """Marked-up text from citeproc-py as runs; URLs and DOIs of ``item`` become links."""
    chars = _tidy(_parse_markers(text), punctuation_in_quote, close_quote)
    links = _find_links("".join(c for c, _ in chars), item) if item is not None else []
    return _group_runs(chars, links, citation)


# A character with its look: (char, (italic, bold, superscript))
_Char = tuple


def _parse_markers(text: str) -> list[_Char]:
    depth = [0] * 7
    chars: list[_Char] = []
    for c in text:
        marker = _MARKERS.get(c)
        if marker is not None:
            kind, step = marker
            depth[kind] = max(0, depth[kind] + step)
            continue
        if depth[_SUB] and not depth[_SUP]:
            c = c.translate(_SUBSCRIPT)
        # Nested italics flip back to roman (CSL "flip-flop"); light cancels bold.
        italic = depth[_ITALIC] % 2 == 1
        bold = depth[_BOLD] > 0 and not depth[_LIGHT]
        chars.append((c, (italic, bold, depth[_SUP] > 0)))
    return chars


_CLOSING_QUOTES = "\u201d\u2019\"'"


def _tidy(chars: list[_Char], punctuation_in_quote: bool, close_quote: str) -> list[_Char]:
    """Fix whitespace and punctuation at the seams citeproc-py cannot see."""
    # 1. white space: one space between words, none at the ends
    out: list[_Char] = []
    for c, look in chars:
        if c in "\t\n\r\f\v":
            c = " "
        if c == " " and (not out or out[-1][0] == " "):
            continue
        out.append((c, look))
    while out and out[-1][0] == " ":
        out.pop()

    # 2. US punctuation: "Title". -> "Title."
    if punctuation_in_quote and close_quote:
        i = 0
        while i < len(out) - 1:
            if out[i][0] == close_quote and out[i + 1][0] in ".,":
                punct = out[i + 1]
                del out[i + 1]
                before = out[i - 1][0] if i else None
                if before in ("?", "!") or (before == "." and punct[0] == "."):
                    pass  # the title's own mark ends the sentence
                else:
                    out.insert(i, (punct[0], out[i - 1][1] if i else punct[1]))
                    i += 1
            i += 1

    # 3. doubled punctuation where two pieces meet ("Inc.</i>." or "Why?.")
    result: list[_Char] = []
    for c, look in out:
        if result and c in ".,;:":
            j = len(result) - 1
            while j > 0 and result[j][0] in _CLOSING_QUOTES:
                j -= 1
            prev, prev_look = result[j]
            seam = j != len(result) - 1 or prev_look != look
            if c == "." and prev in ("?", "!"):
                continue
            if c == prev and (seam or c != "."):
                continue
        if c == " " and result and result[-1][0] == " ":
            continue
        result.append((c, look))
    while result and result[0][0] == " ":
        result.pop(0)
    while result and result[-1][0] == " ":
        result.pop()
    return result


_URL_RE = LazyRegex(r"(?:https?|ftp)://[^\s<>\"\u201c\u201d]+", re.I)


def _find_links(text: str, item: dict | None) -> list[tuple[int, int, str]]:
    """Spans (start, end, href) of URLs and DOIs in a bibliography entry."""
    spans: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in spans)

    if item:
        url = item.get("URL")
        if isinstance(url, str) and url.strip():
            url = url.strip()
            for match in re.finditer(re.escape(url), text):
                if free(match.start(), match.end()):
                    spans.append((match.start(), match.end(), url))
        doi = item.get("DOI")
        if isinstance(doi, str) and doi.strip():
            href = "https://doi.org/" + doi.strip()
            pattern = re.compile(
                r"(?:https?://(?:dx\.)?doi\.org/|doi:\s?)?" + re.escape(doi.strip()), re.I
            )
            for match in pattern.finditer(text):
                if free(match.start(), match.end()):
                    spans.append((match.start(), match.end(), href))
    for match in _URL_RE.finditer(text):
        start, end = match.start(), match.end()
        while end > start and text[end - 1] in ".,;:!?'":
            end -= 1
        if end > start and text[end - 1] == ")" and text[start:end].count("(") < text[start:end].count(")"):
            end -= 1
        if free(start, end):
            spans.append((start, end, text[start:end]))
    return sorted(spans)


def _group_runs(chars: list[_Char], links: list[tuple[int, int, str]], citation: bool) -> tuple[Run, ...]:
    link_at: dict[int, str] = {}
    for start, end, href in links:
        for i in range(start, end):
            link_at[i] = href
    runs: list[Run] = []
    buffer: list[str] = []
    current = None

    def flush() -> None:
        italic, bold, superscript, link = current
        runs.append(Run("".join(buffer), italic=italic, bold=bold, link=link, citation=citation,
                        superscript=superscript))

    for index, (c, look) in enumerate(chars):
        look = (*look, link_at.get(index))
        if look != current and buffer:
            flush()
            buffer = []
        current = look
        buffer.append(c)
    if buffer:
        flush()
    return tuple(runs)
