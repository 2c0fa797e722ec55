"""The entry rules' fast paths against plain reference implementations.

``tpkit.rules`` takes shortcuts for speed (the near-duplicate rule screens items by section
vocabulary; the font rule checks the whole file text at once). These tests hold each shortcut
to a slow, obviously correct version of the same rule on many generated entries.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
from pathlib import Path

import pytest

from tpkit import rules
from tpkit.models import Entry

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "entries" / "gluteus-minimus.json").read_text(encoding="utf-8"))
TODAY = _dt.date(2026, 11, 21)

# Few words, so that generated items often share most of them.
VOCABULARY = ["pain", "hip", "lateral", "thigh", "deep", "ache", "walking", "lying", "on", "the", "side",
              "night", "buttock", "L4–S1", "Pain", "sciatica", "calf", "ankle", "[@travell-simons-1992]"]


def reference_near_duplicates(entry: Entry) -> list[rules.Finding]:
    """Every pair of items from different sections, compared word set against word set."""
    items = []
    for section, pointer, text in rules._comparable_items(entry):
        words = rules._words(rules._CITATION_MARK.sub(" ", text).encode().translate(rules._WORD_BYTES))
        if len(words) >= 4:
            items.append((section, pointer, words))
    found: dict[str, str] = {}
    for (section, pointer, words), (other_section, other_pointer, other_words) in itertools.combinations(items, 2):
        dice = 2 * len(words & other_words) / (len(words) + len(other_words))
        if section != other_section and dice >= 0.8 - 1e-12:
            first, second = sorted((pointer, other_pointer), key=rules._reading_order)
            if second not in found or rules._reading_order(first) < rules._reading_order(found[second]):
                found[second] = first
    return [("TP212", f"this item repeats {found[second]} almost word for word; reword one or remove it", second)
            for second in sorted(found, key=rules._reading_order)]


@st.composite
def related_sentences(draw) -> list[str]:
    """Sentences that are a common base with a word or two dropped, added or repeated: near
    duplicates sit right at the 0.8 boundary (say 4 shared words of 5)."""
    base = draw(st.lists(st.sampled_from(VOCABULARY), min_size=3, max_size=8, unique=True))
    sentences = []
    for _ in range(draw(st.integers(4, 9))):
        words = [word for word in base if draw(st.integers(0, 5))]
        words += draw(st.lists(st.sampled_from(VOCABULARY), max_size=2))
        sentences.append(" ".join(words or base))
    return sentences


@settings(max_examples=200, deadline=None, derandomize=True)
@given(related_sentences(), st.data())
def test_near_duplicates_match_all_pairs(sentences, data):
    pick = st.lists(st.sampled_from(sentences), min_size=1, max_size=4, unique=True)
    indications, symptoms = data.draw(pick), data.draw(pick)
    exam_name, factor = data.draw(st.sampled_from(sentences)), data.draw(st.sampled_from(sentences))
    data = json.loads(json.dumps(SAMPLE))
    data["indications"] = indications
    data["symptoms"] = symptoms
    data["examination"][0]["name"] = exam_name
    data["perpetuating_factors"][0]["factor"] = factor
    entry = Entry.model_validate(data)
    assert list(rules._near_duplicates(entry)) == reference_near_duplicates(entry)


def test_near_duplicate_words_ignore_case_punctuation_and_citations():
    def words(text: str) -> set[bytes]:
        return rules._words(rules._CITATION_MARK.sub(" ", text).encode().translate(rules._WORD_BYTES))

    assert words("Pain at L4–S1, (deep) “ache” [@travell-simons-1992, p. 12]") == {
        b"pain", b"at", b"l4", b"s1", b"deep", b"ache"}
    assert words("Érable ache") == {"Érable".encode(), b"ache"}


def test_near_duplicates_found_in_a_real_entry():
    data = json.loads(json.dumps(SAMPLE))
    data["symptoms"].append(data["indications"][0] + " today")
    entry = Entry.model_validate(data)
    found = list(rules._near_duplicates(entry))
    assert found == reference_near_duplicates(entry)
    assert [pointer for _, _, pointer in found] == [f"/symptoms/{len(data['symptoms']) - 1}"]


@pytest.mark.parametrize("text", ["Pain at the hip", "Pain – not 😀 here", "Tab\u00a0space ×2", "Ω ≥ ∞ ⟂"])
def test_font_shortcut_agrees_with_the_walk(tmp_path, text):
    data = json.loads(json.dumps(SAMPLE))
    data["summary"] = text
    data["conclusion"] = text
    path = tmp_path / f"{data['id']}.json"
    for ensure_ascii in (False, True):
        raw = json.dumps(data, ensure_ascii=ensure_ascii)
        entry = Entry.model_validate(json.loads(raw))
        with_text = rules.check_entry(entry, path, TODAY, raw)
        walked = rules.check_entry(entry, path, TODAY)
        assert with_text == walked
    assert any(code == "TP213" for code, _, _ in walked) == (text not in ("Pain at the hip", "Tab\u00a0space ×2"))


@pytest.mark.parametrize("text", ["Take 5 mg \u202e10\u202c daily", "An \u2066isolate\u2069 here", "Plain – text"])
def test_bidi_controls_found_written_or_escaped(tmp_path, text):
    data = json.loads(json.dumps(SAMPLE))
    data["conclusion"] = text
    path = tmp_path / f"{data['id']}.json"
    for ensure_ascii in (False, True):
        raw = json.dumps(data, ensure_ascii=ensure_ascii)
        entry = Entry.model_validate(json.loads(raw))
        with_text = rules.check_entry(entry, path, TODAY, raw)
        assert with_text == rules.check_entry(entry, path, TODAY)
        codes = {code for code, _, pointer in with_text if pointer == "/conclusion"}
        # a bidirectional control is reported once, as such, not also as a character the fonts lack
        assert codes == ({"TP215"} if text != "Plain – text" else set())


def test_one_point_oh_properties_and_dry_needling_caution(tmp_path):
    data = json.loads(json.dumps(SAMPLE))
    data["schema_version"] = "1.0"
    data.pop("language", None)
    data.pop("precautions", None)
    assert any(group["category"] == "dry-needling" for group in data["corrective_actions"])
    path = tmp_path / f"{data['id']}.json"

    def codes(data):
        return sorted(code for code, _, _ in rules.check_entry(Entry.model_validate(data), path, TODAY)
                      if code in ("TP216", "TP217"))

    assert codes(data) == ["TP217"]
    caution = {"kind": "caution", "text": "Needling risks.", "applies_to": "dry-needling"}
    assert codes({**data, "precautions": [caution]}) == ["TP216"]
    assert codes({**data, "precautions": [caution], "language": "en"}) == ["TP216", "TP216"]
    for version in ("1.1", "1.2", "1.10"):
        assert codes({**data, "schema_version": version, "precautions": [caution], "language": "en"}) == []
    other = {**caution, "applies_to": "manual-therapy"}
    assert codes({**data, "schema_version": "1.1", "precautions": [other]}) == ["TP217"]
