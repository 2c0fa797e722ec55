"""Corrections to citeproc-py 0.11, applied once per process before the first style is parsed.

citeproc-py is the well-kept CSL processor for Python, but 0.11 renders common styles
wrongly in the ways listed in ``PATCHES``. Each correction replaces one method of
citeproc-py's ``model`` module. Before any is applied, every one checks that what it
replaces is there and still reads as expected (a line of the original's source it relies
on): a citeproc-py that changed stops tpkit with a message naming the installed version,
rather than rendering citations some untested way. ``suspended(name)`` puts one original
back for a moment; the tests use it to show the bug each correction fixes.

The last corrections are caches (XPath answers, macros, terms, ``calls_variable``), valid
because rendering never changes a parsed style.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from tpkit.citations.markup import MARKER_RE, LazyRegex
from tpkit.errors import RenderError

_MEMO_LIMIT = 50_000
# CSL 1.0.2: numeric content is numbers with optional letter affixes, separated by commas,
# hyphens or ampersands ("2", "2b", "2-4", "2, 4 & 7").
_CSL_NUMERIC = LazyRegex(r"^\s*[A-Za-z]*\d+[A-Za-z]*(?:\s*[-\u2013,&]\s*[A-Za-z]*\d+[A-Za-z]*)*\s*$")
_TERM_FORM_FALLBACK = {"symbol": "short", "verb-short": "verb", "short": None, "verb": None}
_SORT_IGNORED = LazyRegex("[\u201c\u201d\u2018\u2019\"\u00ab\u00bb]")

# Keyed by lxml element proxies (holding them keeps lxml returning the same proxy for a
# node); emptied by clear_caches().
_macro_cache: dict = {}
_calls_variable_cache: dict = {}
_term_cache: dict = {}
_xpath_cache: dict = {}
_sort_key_cache: dict = {}
_MISSING = object()
# The works being rendered by this thread: id(citeproc Reference) -> fingerprint.
render_state = threading.local()


def clear_caches() -> None:
    for cache in (_macro_cache, _calls_variable_cache, _term_cache, _xpath_cache, _sort_key_cache):
        cache.clear()


@dataclass
class Patch:
    """One replaced method: ``make(original)`` returns the replacement."""

    name: str
    owner: str  # class name in citeproc.model
    attribute: str
    make: Callable[[Any], Any]
    relies_on: str | None  # a line of the original's source the correction assumes
    why: str
    original: Any = None


def _is_numeric(original):
    from citeproc.source import VariableError

    def is_numeric(self, item):
        results = []
        for var in self.get("is-numeric").split():
            if var == "locator":
                value = item.locator.identifier if item.has_locator else None
            else:
                try:
                    value = item.reference[var.replace("-", "_")]
                except VariableError:
                    value = None
            results.append(value is not None and bool(_CSL_NUMERIC.fullmatch(str(value))))
        return results

    return is_numeric


def _if_render(original):
    from citeproc.model import ConditionFailed

    other_tests = ("type", "variable", "is-numeric", "is-uncertain-date", "locator", "position")

    def render(self, item, context=None, delimiter="", **kwargs):
        if self.get("disambiguate", "").lower() == "true":
            # Only true when it would tell two identical citations apart, which
            # citeproc-py never works out: treat it as false.
            match = self.get("match", "all").lower()
            if match == "all" or (match == "any" and not any(t in self.attrib for t in other_tests)):
                raise ConditionFailed
        return original(self, item, context=context, delimiter=delimiter, **kwargs)

    return render


def _get_term(original):
    def get_term(self, name, form=None, *args, **kwargs):
        term = original(self, name, form, *args, **kwargs)
        while term is None and form in _TERM_FORM_FALLBACK:
            form = _TERM_FORM_FALLBACK[form]
            term = original(self, name, form, *args, **kwargs)
        return term

    return get_term


def _case(original):
    def case(self, text, language=None):
        if language is None:
            language = (self.get_root().get("default-locale") or "en")[:2]
        return original(self, text, language)

    return case


def _name_get_option(original):
    def get_option(self, name, context=None, sort_options=None):
        if name == "initialize-with" and _initialize_is_false(self, context):
            return None
        return original(self, name, context, sort_options)

    return get_option


def _names_process(original):
    def process(self, item, names_context=None, context=None, **kwargs):
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
                    # Render the rest only; the attribute is restored at once (the
                    # style lock keeps other threads out).
                    self.set("variable", " ".join(remaining))
                    try:
                        return original(self, item, names_context=names_context, context=context, **kwargs)
                    finally:
                        self.set("variable", variables)
        text = original(self, item, names_context=names_context, context=context, **kwargs)
        if in_substitute and text:
            _repress(self, context)
        return text

    return process


def _sort_keys(original):
    def sort_keys(self, items, context):
        fingerprints = getattr(render_state, "fingerprints", None)
        if not fingerprints or self.get("variable") == "citation-number":
            return [_plain_sort_key(key) for key in original(self, items, context)]
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
            fresh = iter(original(self, todo, context))
            for index, item in enumerate(items):
                if keys[index] is _MISSING:
                    keys[index] = _plain_sort_key(next(fresh))
                    fingerprint = fingerprints.get(id(item.reference))
                    if fingerprint:
                        _sort_key_cache[(self, fingerprint)] = keys[index]
        return keys

    return sort_keys


def _render_citation(original):
    from citeproc.source import VariableError

    def render_citation(self, citation, callback):
        # citeproc-py first sorted the cites into bibliography order; CSL (and
        # citeproc-js, pandoc) keep the order written unless cs:citation has a cs:sort.
        good_cites = [cite for cite in citation.cites if not cite.is_bad()]
        bad_cites = [cite for cite in citation.cites if cite.is_bad()]
        if self.getparent().sort is not None:
            good_cites = self.getparent().sort.sort(good_cites, self)
        out = []
        for item in good_cites:
            self.repressed = {}
            prefix = item.get("prefix", "")
            suffix = item.get("suffix", "")
            try:
                output = self.render_children(item)
                if output is not None:
                    out.append(prefix + output + suffix)
                    self.getparent().cites.append(item)
            except VariableError:
                pass
        for item in bad_cites:
            out.append(callback(item) or "{}?".format(item.key))
        return self.format(self.wrap(self.join(out)))

    return render_citation


def _get_macro(original):
    # citeproc-py looked every macro up with an XPath query, on every render.
    def get_macro(self, name):
        root = self.get_root()
        key = (root, name)
        macro = _macro_cache.get(key)
        if macro is None:
            macro = _macro_cache[key] = root.xpath_search(f"cs:macro[@name='{name}'][1]")[0]
        return macro

    return get_macro


def _xpath_search(original):
    # Every query is about the structure of the style or locale tree, which rendering
    # does not change (citeproc-py only ever adds a default cs:name under a cs:names
    # that has none, and no query looks for one), so its answer can be kept.
    def xpath_search(self, expression):
        key = (self, expression)
        result = _xpath_cache.get(key)
        if result is None:
            result = _xpath_cache[key] = tuple(original(self, expression))
        return list(result)

    return xpath_search


def _locale_get_term(original):
    missing = object()

    def get_term(self, name, form=None, zero_padded=False):
        key = (self, name, form, zero_padded)
        term = _term_cache.get(key)
        if term is None:
            try:
                term = original(self, name, form, zero_padded)
            except IndexError:
                term = missing
            _term_cache[key] = term
        if term is missing:
            raise IndexError(name)
        return term

    return get_term


def _calls_variable(original):
    # citeproc-py re-walked whole subtrees on every render to learn this.
    def calls_variable(self):
        result = _calls_variable_cache.get(self)
        if result is None:
            result = _calls_variable_cache[self] = bool(original(self))
        return result

    return calls_variable


PATCHES = (
    Patch("locator-is-numeric", "If", "_is_numeric", _is_numeric, "item.reference",
          'is-numeric="locator" never matched and "12-14" never counted as numeric, so APA and '
          "Chicago lost the label of [@key, chap. 3]"),
    Patch("disambiguate-is-false", "If", "render", _if_render, None,
          'disambiguate="true" conditions were always true (MLA printed the title in every cite)'),
    Patch("term-form-fallback", "CitationStylesElement", "get_term", _get_term, None,
          "term forms did not fall back (symbol -> short -> long, verb-short -> verb -> long)"),
    Patch("label-text-case", "TextCased", "case", _case, "language != 'en'",
          'text-case on cs:label was ignored: APA printed "(eds.)" for "(Eds.)"'),
    Patch("initialize-false", "Name", "get_option", _name_get_option, None,
          'initialize="false" was ignored, so Chicago printed initials instead of given names'),
    Patch("substitute-names", "Names", "process", _names_process, "names_context",
          "a <names> shorthand inside cs:choose in cs:substitute lost the original cs:name, and a "
          "substituted variable printed twice"),
    Patch("plain-sort-keys", "Key", "sort_keys", _sort_keys, None,
          'sort keys kept markup, quotes, accents and case: italic titles sorted last, "Á" after "Z"'),
    Patch("cites-in-written-order", "Layout", "render_citation", _render_citation,
          "bibliography.keys.index(item.key)",
          "cites of one citation were put in bibliography order even where cs:citation has no cs:sort"),
    Patch("cache-macros", "CitationStylesElement", "get_macro", _get_macro, "xpath_search", "speed"),
    Patch("cache-xpath", "CitationStylesElement", "xpath_search", _xpath_search, "self.xpath(", "speed"),
    Patch("cache-locale-terms", "Locale", "get_term", _locale_get_term, None, "speed"),
    Patch("cache-calls-variable-parent", "Parent", "calls_variable", _calls_variable, None, "speed"),
    Patch("cache-calls-variable-text", "Text", "calls_variable", _calls_variable, None, "speed"),
)

_applied = False
_lock = threading.Lock()


def citeproc_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeproc-py")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "of unknown version"


def check(patch: Patch, model) -> None:
    """Raise RenderError unless citeproc-py still has what ``patch`` replaces, as expected."""
    owner = getattr(model, patch.owner, None)
    original = owner.__dict__.get(patch.attribute) if isinstance(owner, type) else None
    problem = None
    if original is None:
        problem = f"has no {patch.owner}.{patch.attribute}"
    elif patch.relies_on:
        try:
            source = inspect.getsource(original)
        except (OSError, TypeError):
            source = ""
        if patch.relies_on not in source:
            problem = f"changed {patch.owner}.{patch.attribute} (it no longer contains {patch.relies_on!r})"
    if problem:
        raise RenderError(
            f"citeproc-py {citeproc_version()} {problem}, which tpkit's correction {patch.name!r} replaces; "
            "tpkit is tested with citeproc-py 0.11: pip install 'citeproc-py>=0.11,<0.12'"
        )


def apply() -> None:
    """Check every correction, then apply them all (once per process)."""
    global _applied
    if _applied:
        return
    with _lock:
        if _applied:
            return
        from citeproc import model

        for patch in PATCHES:
            check(patch, model)
        for patch in PATCHES:
            patch.original = getattr(model, patch.owner).__dict__[patch.attribute]
            setattr(getattr(model, patch.owner), patch.attribute, patch.make(patch.original))
        _applied = True


@contextlib.contextmanager
def suspended(name: str) -> Iterator[None]:
    """Put citeproc-py's original back while the block runs (tests show each bug with it)."""
    apply()
    from citeproc import model

    patch = next(p for p in PATCHES if p.name == name)
    owner = getattr(model, patch.owner)
    replacement = owner.__dict__[patch.attribute]
    setattr(owner, patch.attribute, patch.original)
    clear_caches()
    try:
        yield
    finally:
        setattr(owner, patch.attribute, replacement)
        clear_caches()


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


def _plain_sort_key(key):
    """A sort key without markup, quotes, accents or case."""
    if key is None or isinstance(key, (int, float)):
        return key
    import unicodedata

    text = _SORT_IGNORED.sub("", MARKER_RE.sub("", str(key)))
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()


def _initialize_is_false(name_element, context) -> bool:
    value = name_element.get("initialize")
    if value is None:
        scope = (context if context is not None else name_element).xpath_search(
            "./ancestor::*[self::cs:citation or self::cs:bibliography][1]"
        )
        for element in list(scope) + [name_element.get_root()]:
            value = element.get("initialize")
            if value is not None:
                break
    return (value or "true").strip().lower() == "false"
