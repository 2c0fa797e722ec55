"""The published schema is valid draft 2020-12, and the schema and the models agree on every document."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import CASES, ENTRIES, ROOT
from tpkit.load import LoadError, load_file
from tpkit.schema import fast_validator, load_schema

DOCUMENTS = sorted(CASES.glob("*/*.json")) + sorted(ENTRIES.glob("*.json"))


def reference_validator():
    schema = load_schema()
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_schema_is_valid_draft_2020_12():
    schema = json.loads((ROOT / "schemas" / "muscle-entry.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


def test_every_property_has_title_and_description():
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "title" not in sub or "description" not in sub:
                    missing.append(f"{where}/properties/{name}")
            for key, value in node.items():
                if key != "if":  # conditions test a value; they describe nothing an editor writes
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(load_schema(), "#")
    assert missing == []


def test_objects_forbid_additional_properties():
    loose = []

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                loose.append(where)
            for key, value in node.items():
                if key != "if":
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(load_schema(), "#")
    assert loose == []


def test_vocabularies_match_the_code():
    from tpkit.vocabulary import BODY_REGIONS, CATEGORIES, REGIONS, SEGMENTS

    defs = load_schema()["$defs"]
    assert tuple(defs["body_region"]["enum"]) == BODY_REGIONS
    assert tuple(defs["segment"]["enum"]) == SEGMENTS
    assert tuple(load_schema()["properties"]["region"]["enum"]) == REGIONS
    category = load_schema()["properties"]["corrective_actions"]["items"]["properties"]["category"]["enum"]
    assert tuple(category) == CATEGORIES


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_schema_model_and_fast_validator_agree(path):
    from pydantic import ValidationError

    from tpkit.models import Entry

    try:
        data = load_file(path).data
    except LoadError:
        pytest.skip("not a JSON object; never reaches the schema")
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
