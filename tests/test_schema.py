"""The published schema is valid draft 2020-12, and the schema and the models agree on every document."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import CASES, ENTRIES, ROOT
from tpkit.load import LoadError, load_file
from tpkit.schema import ENGINES, load_schema, schema_problems, validator



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
    for engine in ENGINES:
        assert validator(engine=engine).is_valid(data) == LANGUAGE_TAGS[tag], engine
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
    for engine in ENGINES:
        assert validator(engine=engine).is_valid(data) == schema_ok, f"{engine} disagrees with python-jsonschema"
    try:
        Entry.model_validate(data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert model_ok == schema_ok, "the pydantic model and the JSON Schema disagree"


def test_installed_package_finds_its_schema():
    from tpkit.schema import schema_path

    assert schema_path().is_file()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_both_engines_report_the_same_problems(path):
    """Same codes, messages and places whichever engine validates (the adapter in tpkit.schema)."""
    data = load_file(path).data
    rust, python = (sorted(schema_problems(data, engine=engine)) for engine in ENGINES)
    assert rust == python


@pytest.mark.parametrize("text", ["abc\n", "abc\ufeff", "\ufeffabc"])
def test_the_python_engine_reads_patterns_as_ecma_262_does(text):
    # Python's $ matches before a final line break and its \s lacks U+FEFF; ECMA's do not.
    data = load_file(CASES / "valid" / "minimal-entry.json").data
    data["name"] = text
    data["license"] = "MIT" + text if text.startswith("abc") else text
    rust, python = (sorted(schema_problems(data, engine=engine)) for engine in ENGINES)
    assert rust == python and rust


def test_ecma_pattern_refuses_what_it_cannot_translate():
    from tpkit.schema import ecma_pattern

    with pytest.raises(ValueError, match=r"\\d"):
        ecma_pattern(r"^\d+$")
    assert ecma_pattern(r"^[^\s]+$") .endswith(r"\ufeff]+\Z")


def test_validate_engine_option(tmp_path):
    from click.testing import CliRunner

    from tpkit.cli import cli

    outputs = {engine: CliRunner().invoke(cli, ["validate", "--engine", engine, "--no-cache", "--format", "json",
                                                str(CASES / "invalid")]) for engine in ENGINES}
    assert {r.exit_code for r in outputs.values()} == {1}
    assert len({r.output for r in outputs.values()}) == 1
