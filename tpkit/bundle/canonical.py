"""An entry's canonical bytes (``entries/<id>.json``) and the one JSON style of every bundle file."""

from __future__ import annotations

from typing import Any

from tpkit.errors import UsageError
from tpkit.models import Entry
from tpkit.schema import load_schema

from .spec import ENTRY_SCHEMA_REF


def dumps(data: Any) -> bytes:
    """The one JSON style of a bundle: UTF-8, two-space indent, LF line ends, a final newline.

    Byte for byte what ``json.dumps(data, ensure_ascii=False, indent=2)`` writes for bundle
    data (strings, whole numbers, lists, objects; tests compare the two), from pydantic-core's
    serializer: Python's json module formats indented output in pure Python, ten times slower.
    """
    from pydantic_core import PydanticSerializationError, to_json

    try:
        return to_json(data, indent=2) + b"\n"
    except PydanticSerializationError as exc:  # a lone surrogate from a "\ud800" escape
        if "surrogates not allowed" in str(exc):
            raise UsageError("text holds a character that UTF-8 cannot encode (surrogates not allowed); "
                             "fix the entry") from None
        raise


def _resolve(schema: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _schema_order(value: Any, node: Any, schema: dict, where: str) -> Any:
    """The value with every object's keys in its subschema's "properties" order."""
    node = _resolve(schema, node)
    if isinstance(value, dict):
        properties = node.get("properties", {}) if isinstance(node, dict) else {}
        unknown = [key for key in value if key not in properties]
        if unknown:
            raise UsageError(f"{where or '/'}: property {unknown[0]!r} is not in the entry schema")
        return {key: _schema_order(value[key], properties[key], schema, f"{where}/{key}")
                for key in properties if key in value}
    if isinstance(value, list):
        prefix = node.get("prefixItems", []) if isinstance(node, dict) else []
        items = node.get("items") if isinstance(node, dict) else None
        return [_schema_order(item, prefix[i] if i < len(prefix) else items, schema, f"{where}/{i}")
                for i, item in enumerate(value)]
    return value


def entry_data(entry: Entry, *, schema_ref: str | None = ENTRY_SCHEMA_REF) -> dict:
    """The entry as plain JSON data in canonical key order (see ``canonical_json``)."""
    data = entry.model_dump(by_alias=True, exclude_none=True, mode="json")
    if schema_ref is not None:
        data["$schema"] = schema_ref
    return _schema_order(data, load_schema(), load_schema(), "")


def canonical_json(entry: Entry, *, schema_ref: str | None = ENTRY_SCHEMA_REF) -> bytes:
    """The entry's canonical bytes, as bundled in ``entries/<id>.json``.

    Keys in schema order: the order of the schema's ``properties``, nested objects
    in their subschema's order (CSL citation items in the order of
    ``$defs/citation/properties``: id, type, title, issued, author, editor,
    publisher, publisher-place, container-title, URL, accessed, edition, page,
    volume, issue, DOI, ISBN). Absent optional properties are omitted, list order
    is kept. UTF-8 without escapes, two-space indent, LF line ends, a final
    newline. ``$schema`` is set to ``schema_ref`` (the bundled schema, relative
    to ``entries/``); ``None`` keeps the entry's own value.
    """
    return dumps(entry_data(entry, schema_ref=schema_ref))
