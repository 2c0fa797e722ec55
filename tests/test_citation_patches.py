"""Each correction to citeproc-py shows the bug it fixes, and a changed citeproc-py stops tpkit.

Every test renders once with the correction and once with citeproc-py's original put back
(``patches.suspended``): the output must change from the documented wrong text to the
right one. The caches show that the second rendering no longer repeats citeproc-py's work.
"""

from __future__ import annotations

import types

import pytest

from test_citations import ITEMS, Ref, marked
from tpkit.citations import CitationFormatter, clear_style_cache, patches
from tpkit.errors import RenderError

BALDRY = [{
    "id": "baldry2005", "type": "book", "title": "Acupuncture, trigger points and musculoskeletal pain",
    "editor": [{"family": "Baldry", "given": "Peter"}], "edition": 3, "publisher": "Churchill Livingstone",
    "issued": {"date-parts": [[2005]]},
}]
ACCENTED = [
    {"id": "zorn", "type": "book", "title": "Zeta", "publisher": "P", "author": [{"family": "Zorn", "given": "A."}],
     "issued": {"date-parts": [[2001]]}},
    {"id": "abel", "type": "book", "title": "Alpha", "publisher": "P", "author": [{"family": "Ábel", "given": "B."}],
     "issued": {"date-parts": [[2001]]}},
]
SYMBOL_LABEL_STYLE = """<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0" default-locale="en-US">
  <info><title>Symbol label</title><id>symbol-label</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation>
    <layout prefix="(" suffix=")">
      <text variable="title"/>
      <group prefix=", " delimiter=" ">
        <label variable="locator" form="symbol"/>
        <text variable="locator"/>
      </group>
    </layout>
  </citation>
</style>
"""


def render(style, clusters, items=ITEMS) -> list[str]:
    clear_style_cache()
    in_text, references = CitationFormatter(items, style).format(clusters)
    return [marked(runs) for runs in in_text] + [marked(r.runs) for r in references]


def fixed_and_buggy(name: str, style, clusters, items=ITEMS) -> tuple[list[str], list[str]]:
    fixed = render(style, clusters, items)
    with patches.suspended(name):
        buggy = render(style, clusters, items)
    clear_style_cache()
    return fixed, buggy


def test_locator_is_numeric():
    fixed, buggy = fixed_and_buggy("locator-is-numeric", "apa", [[Ref("smith2018", "2", "chapter")]])
    assert (fixed[0], buggy[0]) == ("(Smith, 2018, Chapter 2)", "(Smith, 2018, 2)")


def test_disambiguate_is_false():
    fixed, buggy = fixed_and_buggy("disambiguate-is-false", "modern-language-association", [[Ref("smith2018")]])
    assert (fixed[0], buggy[0]) == ("(Smith)", "(Smith, *Musculoskeletal Conditions Report*)")


def test_term_form_fallback(tmp_path):
    style = tmp_path / "symbol-label.csl"
    style.write_text(SYMBOL_LABEL_STYLE, encoding="utf-8")
    fixed, buggy = fixed_and_buggy("term-form-fallback", style, [[Ref("smith2018", "2", "figure")]])
    # en-US has no symbol for "figure": CSL falls back to the short form
    assert (fixed[0], buggy[0]) == ("(Musculoskeletal conditions report, fig. 2)",
                                    "(Musculoskeletal conditions report, 2)")


def test_label_text_case():
    fixed, buggy = fixed_and_buggy("label-text-case", "apa", [[Ref("dommerholt2009")]])
    assert "Arendt-Nielsen (Eds.)," in fixed[1] and "Arendt-Nielsen (eds.)," in buggy[1]


def test_initialize_false():
    fixed, buggy = fixed_and_buggy("initialize-false", "chicago-author-date", [[Ref("travell1983")]])
    assert fixed[1].startswith("Travell, Janet G., and David G. Simons. 1983.")
    assert buggy[1].startswith("Travell, J. G., and D. G. Simons. 1983.")


def test_substitute_names():
    fixed, buggy = fixed_and_buggy("substitute-names", "apa", [[Ref("baldry2005")]], BALDRY)
    assert fixed[1] == ("Baldry, P. (Ed.). (2005). *Acupuncture, trigger points and musculoskeletal pain* "
                        "(3rd ed.). Churchill Livingstone.")
    assert "(P. Baldry, Ed.; 3rd ed.)" in buggy[1]  # the editor printed twice


def test_plain_sort_keys():
    fixed, buggy = fixed_and_buggy("plain-sort-keys", "apa", [[Ref("zorn")], [Ref("abel")]], ACCENTED)
    assert [text[:5] for text in fixed[2:]] == ["Ábel,", "Zorn,"]
    assert [text[:5] for text in buggy[2:]] == ["Zorn,", "Ábel,"]  # "Á" sorted after "Z"


def test_cites_in_written_order():
    clusters = [[Ref("travell1983"), Ref("donnelly2019")]]
    fixed, buggy = fixed_and_buggy("cites-in-written-order", "chicago-author-date", clusters)
    assert fixed[0] == "(Travell and Simons 1983; Donnelly et al. 2019)"  # no <sort>: as written
    assert buggy[0] == "(Donnelly et al. 2019; Travell and Simons 1983)"
    # a style whose <citation> sorts still sorts
    assert render("apa", clusters)[0] == "(Donnelly et al., 2019; Travell & Simons, 1983)"


CACHES = [p for p in patches.PATCHES if p.why == "speed"]


@pytest.mark.parametrize("patch", CACHES, ids=[p.name for p in CACHES])
def test_caches_remove_repeated_work(patch):
    """With the cache, a second rendering calls citeproc-py's original less than without."""
    from citeproc import model

    clusters = [[Ref("dommerholt2009", "3", "page")], [Ref("donnelly2019")], [Ref("shah2015")]]

    def calls_on_second_render(cached: bool) -> tuple[int, list[str]]:
        calls = [0]
        owner = getattr(model, patch.owner)

        def counting(*args, **kwargs):
            calls[0] += 1
            return patch.original(*args, **kwargs)

        with patches.suspended(patch.name):
            setattr(owner, patch.attribute, patch.make(counting) if cached else counting)
            try:
                formatter = CitationFormatter(ITEMS, "chicago-author-date")
                formatter.format(clusters)
                formatter._style.memo.clear()  # tpkit's own memo would hide citeproc-py's work
                calls[0] = 0
                in_text, references = formatter.format(clusters)
            finally:
                setattr(owner, patch.attribute, patch.original)
        return calls[0], [marked(runs) for runs in in_text] + [marked(r.runs) for r in references]

    clear_style_cache()
    uncached_calls, uncached_text = calls_on_second_render(False)
    cached_calls, cached_text = calls_on_second_render(True)
    clear_style_cache()
    assert cached_text == uncached_text
    assert uncached_calls > 0 and cached_calls < uncached_calls, (uncached_calls, cached_calls)


def test_every_patch_names_what_it_fixes():
    names = [p.name for p in patches.PATCHES]
    assert len(names) == len(set(names))
    for patch in patches.PATCHES:
        if patch not in CACHES:
            assert f"test_{patch.name.replace('-', '_')}" in globals(), f"no test shows the bug {patch.name!r} fixes"


@pytest.mark.parametrize("patch", patches.PATCHES, ids=[p.name for p in patches.PATCHES])
def test_a_changed_citeproc_stops_with_its_version(patch, monkeypatch):
    # What the patch replaces is gone: a class without the method.
    fake = types.SimpleNamespace(**{patch.owner: type(patch.owner, (), {})})
    monkeypatch.setattr(patches, "citeproc_version", lambda: "9.9")
    with pytest.raises(RenderError, match=rf"citeproc-py 9\.9 has no {patch.owner}\.{patch.attribute}"):
        patches.check(patch, fake)
    if patch.relies_on:
        # ... or it is there but no longer reads as the correction assumes.
        def rewritten(*args, **kwargs):  # pragma: no cover - never called
            return None

        fake = types.SimpleNamespace(**{patch.owner: type(patch.owner, (), {patch.attribute: rewritten})})
        with pytest.raises(RenderError, match=r"citeproc-py 9\.9 changed .*no longer contains"):
            patches.check(patch, fake)


def test_the_installed_citeproc_passes_every_check():
    patches.apply()
    for patch in patches.PATCHES:
        original = types.SimpleNamespace(**{patch.owner: type(patch.owner, (), {patch.attribute: patch.original})})
        patches.check(patch, original)
