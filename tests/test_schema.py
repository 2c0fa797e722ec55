"""The published schema is valid draft 2020-12, and the schema and the models agree on every document."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import CASES, ENTRIES, ROOT
from tpkit.load import LoadError, load_file
from tpkit.schema import fast_validator, load_schema



def _is_object(path) -> bool:
    try:
        load_file(path)
    except LoadError:
        return False  # not a JSON object: never reaches the schema (tests/test_cases.py covers it)
    return True


DOCUMENTS = [p for p in sorted(CASES.glob("*/*.json")) + sorted(ENTRIES.glob("*.json")) if _is_object(p)]


def reference_validator():
    schema = load_schema()
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_schema_is_valid_draft_2020_12():
    schema = json.loads((ROOT / "schemas" / "muscle-entry.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


def subschemas(node, where="#"):
    """Every schema object below node, with its location; `if` conditions are skipped (they describe nothing)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key != "if":
                yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from subschemas(value, f"{where}/{index}")


def test_every_property_has_title_and_description():
    missing = [f"{where}/properties/{name}" for where, node in subschemas(load_schema())
               for name, sub in node.get("properties", {}).items() if "title" not in sub or "description" not in sub]
    assert missing == []


def test_objects_forbid_additional_properties():
    loose = [where for where, node in subschemas(load_schema())
             if "properties" in node and node.get("additionalProperties") is not False]
    assert loose == []


def test_vocabularies_match_the_code():
    from tpkit.vocabulary import BODY_REGIONS, CATEGORIES, REGIONS, SEGMENTS

    defs = load_schema()["$defs"]
    assert tuple(defs["body_region"]["enum"]) == BODY_REGIONS
    assert tuple(defs["segment"]["enum"]) == SEGMENTS
    assert tuple(load_schema()["properties"]["region"]["enum"]) == REGIONS
    assert tuple(defs["category"]["enum"]) == CATEGORIES
    properties = load_schema()["properties"]
    for used in (properties["corrective_actions"]["items"]["properties"]["category"],
                 properties["precautions"]["items"]["properties"]["applies_to"]):
        assert used["$ref"] == "#/$defs/category"


# BCP 47 (RFC 5646) tags in their usual case, and near misses; the schema and the model decide alike.
LANGUAGE_TAGS = {
    "en": True, "en-GB": True, "de": True, "pt-BR": True, "es-419": True, "zh-Hant-TW": True, "sr-Latn-RS": True,
    "zh-yue-HK": True, "de-CH-1901": True, "sl-rozaj-biske": True, "en-US-x-twain": True, "de-DE-u-co-phonebk": True,
    "haw": True,
    "": False, "e": False, "english": False, "en_GB": False, "en-gb": False, "EN": False, "en-GB-": False,
    "en--GB": False, "en-Latn-gb": False, "zh-hant": False, "x-private": False, "i-klingon": False, "en-GB ": False,
    "en-x": False, "en-a": False, "12": False, "en-GBR": False,
}


@pytest.mark.parametrize("tag", LANGUAGE_TAGS, ids=lambda tag: repr(tag))
def test_language_tags(tag):
    from pydantic import ValidationError

    from tpkit.models import Entry

    data = json.loads((CASES / "valid" / "language-and-precautions.json").read_text(encoding="utf-8"))
    data["language"] = tag
    assert reference_validator().is_valid(data) == LANGUAGE_TAGS[tag]
    assert fast_validator().is_valid(data) == LANGUAGE_TAGS[tag]
    try:
        Entry.model_validate(data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert model_ok == LANGUAGE_TAGS[tag]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_schema_model_and_fast_validator_agree(path):
    from pydantic import ValidationError

    from tpkit.models import Entry

    data = load_file(path).data
    schema_ok = reference_validator().is_valid(data)
    assert fast_validator().is_valid(data) == schema_ok, "jsonschema-rs disagrees with python-jsonschema"
    try:
        Entry.model_validate(data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert model_ok == schema_ok, "the pydantic model and the JSON Schema disagree"


def test_installed_package_finds_its_schema():
    from tpkit.schema import schema_path

    assert schema_path().is_file()
