"""The published JSON Schema of an entry, and its errors turned into editor-friendly Issues.

Two engines validate: python-jsonschema (the reference implementation, pure Python,
everywhere) and jsonschema-rs (about ten times faster, where it ships wheels). The
default is jsonschema-rs where it is installed; ``tpkit validate --engine`` picks one.
Both report through one adapter (``SchemaError``), so each schema keyword maps to the
same stable rule code and message whichever engine found it; the tests prove they agree.

JSON Schema patterns are ECMA-262 regular expressions, which jsonschema-rs follows and
Python's ``re`` does not quite (``\\s`` holds other characters; ``$`` also matches before
a final line break): python-jsonschema gets the schema with its patterns spelt out so that
Python's ``re`` means what ECMA means (``ecma_schema``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

from tpkit.issues import pointer_from

SCHEMA_NAME = "muscle-entry.schema.json"


def schema_path(name: str = SCHEMA_NAME) -> Path:
    """Where a published schema lives: package data when installed, ``schemas/`` in a checkout."""
    package = Path(__file__).resolve().parent
    packaged = package / "schemas" / name
    if packaged.is_file():
        return packaged
    # An editable install or a plain checkout has no copy inside the package.
    return package.parent / "schemas" / name


@lru_cache(maxsize=None)
def load_schema(name: str = SCHEMA_NAME) -> dict:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


ENGINES = ("jsonschema-rs", "jsonschema")


def default_engine() -> str:
    """jsonschema-rs where it is installed (it is a dependency only where it ships wheels)."""
    return "jsonschema-rs" if find_spec("jsonschema_rs") is not None else "jsonschema"


class SchemaError(NamedTuple):
    """One schema violation as either engine reports it."""

    keyword: str  # the failing keyword; "falseSchema" for a schema that is false
    schema_path: list  # to the keyword, through the referenced definition (e.g. $defs/text/pattern)
    instance_path: list
    instance: Any
    message: str
    names: tuple[str, ...] = ()  # the property names concerned: required, the missing one; additionalProperties, those not allowed


# ECMA-262's white space and line terminators, which its \s matches (Python's differs: it
# lacks U+FEFF and adds U+001C-U+001F and U+0085).
_ECMA_WHITE_SPACE_CLASS = r"\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")


def ecma_pattern(pattern: str) -> str:
    """A schema pattern rewritten so that Python's ``re.search`` matches what ECMA-262 matches.

    Only the constructs tpkit's schemas use are rewritten; any other construct whose meaning
    differs between the two (\\d, \\w, \\b, \\s outside a class...) is refused, so that the
    python-jsonschema engine can never silently disagree with jsonschema-rs.
    """
    rewritten = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "[":
            end = _CLASS.match(pattern, position).end()
            body = pattern[position:end]
            _refuse_differing(pattern, body.replace("\\s", ""))
            rewritten.append(body.replace("\\s", _ECMA_WHITE_SPACE_CLASS))
        elif char == "\\":
            end = position + 2
            _refuse_differing(pattern, pattern[position:end])
            rewritten.append(pattern[position:end])
        else:
            end = position + 1
            # ECMA's $ (without the m flag) is the end of the text only; Python's also matches before a final "\n".
            rewritten.append("\\Z" if char == "$" else char)
        position = end
    return "".join(rewritten)


def _refuse_differing(pattern: str, part: str) -> None:
    for construct in ("\\s", "\\S", "\\d", "\\D", "\\w", "\\W", "\\b", "\\B"):
        if construct in part:
            raise ValueError(f"schema pattern {pattern!r} uses {construct}, which Python and ECMA-262 read differently")


def ecma_schema(node: Any) -> Any:
    """The schema with every ``pattern`` rewritten by ``ecma_pattern``."""
    if isinstance(node, dict):
        return {key: ecma_pattern(value) if key == "pattern" and isinstance(value, str) else ecma_schema(value)
                for key, value in node.items()}
    if isinstance(node, list):
        return [ecma_schema(value) for value in node]
    return node


class _RustValidator:
    def __init__(self, schema: dict):
        import jsonschema_rs

        self._validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)

    def is_valid(self, data: Any) -> bool:
        return self._validator.is_valid(data)

    def errors(self, data: Any) -> Iterator[SchemaError]:
        for error in self._validator.iter_errors(data):
            keyword = error.kind.name
            names = {"additionalProperties": lambda: tuple(error.kind.unexpected),
                     "required": lambda: (error.kind.property,)}.get(keyword, tuple)()
            yield SchemaError(keyword, list(error.schema_path), list(error.instance_path), error.instance,
                              error.message, names)


class _PythonValidator:
    def __init__(self, schema: dict):
        import jsonschema

        self._schema = schema
        self._validator = jsonschema.Draft202012Validator(
            ecma_schema(schema), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def is_valid(self, data: Any) -> bool:
        return self._validator.is_valid(data)

    def errors(self, data: Any) -> Iterator[SchemaError]:
        for error in self._validator.iter_errors(data):
            yield from self._flatten(error)

    def _flatten(self, error) -> Iterator[SchemaError]:
        keyword = error.validator
        if keyword is False or keyword is None:
            keyword = "falseSchema"
        names: tuple[str, ...] = ()
        if keyword == "additionalProperties":
            allowed = _resolve(self._schema, _subschema_through_refs(self._schema, list(error.schema_path)[:-1]))
            names = tuple(name for name in error.instance if name not in allowed.get("properties", {}))
        elif keyword == "required":
            # One error per missing name, which only its message gives: "'URL' is a required property"
            names = tuple(name for name in error.validator_value
                          if name not in error.instance and error.message == f"{name!r} is a required property")
        yield SchemaError(keyword, _absolute_path(self._schema, list(error.schema_path)), list(error.absolute_path),
                          error.instance, error.message, names)


def _subschema_through_refs(schema: dict, path: list) -> Any:
    return _subschema(schema, _absolute_path(schema, path))


def _absolute_path(schema: dict, path: list) -> list:
    """python-jsonschema's schema path passes through a ``$ref`` without naming it; the path as
    jsonschema-rs gives it goes on from the referenced definition (["$defs", "text", "pattern"])."""
    absolute: list = []
    node: Any = schema
    for part in path:
        while isinstance(node, dict) and "$ref" in node and part not in node:
            absolute = node["$ref"][2:].split("/")
            node = _subschema(schema, absolute)
        absolute.append(part)
        node = node[part] if isinstance(node, (dict, list)) and not isinstance(part, bool) else None
    return absolute


@lru_cache(maxsize=None)
def validator(name: str = SCHEMA_NAME, engine: str | None = None):
    """A compiled validator of a published schema on an engine (default: ``default_engine()``)."""
    engine = engine or default_engine()
    if engine == "jsonschema-rs":
        if find_spec("jsonschema_rs") is None:
            from tpkit.errors import UsageError

            raise UsageError("the jsonschema-rs engine is not installed here (it has no wheel for this platform); "
                             "use --engine jsonschema")
        return _RustValidator(load_schema(name))
    if engine == "jsonschema":
        return _PythonValidator(load_schema(name))
    raise ValueError(f"unknown schema engine {engine!r}; use one of {', '.join(ENGINES)}")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number"}.get(type(value), "a value")


def _subschema(schema: dict, path: list) -> Any:
    node: Any = schema
    for part in path:
        node = node[part]
    return node


def _resolve(schema: dict, node: Any) -> Any:
    """Follow local ``$ref``s, keeping the referring node's own title and description."""
    while isinstance(node, dict) and "$ref" in node:
        target = _subschema(schema, node["$ref"][2:].split("/"))
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _keyword_node(schema: dict, error) -> dict:
    """The schema object holding the failing keyword (for its enum values, limits, ...)."""
    return _resolve(schema, _subschema(schema, list(error.schema_path)[:-1]))


def _field_title(schema: dict, instance_path: list) -> str | None:
    """The title of the property the failing value sits in, found by walking the instance path."""
    node: Any = schema
    for part in instance_path:
        node = _resolve(schema, node)
        if isinstance(part, int):
            prefix = node.get("prefixItems", [])
            node = prefix[part] if part < len(prefix) else node.get("items")
        else:
            node = node.get("properties", {}).get(part)
        if not isinstance(node, dict):
            return None
    node = _resolve(schema, node)
    return node.get("title")


def _lower(title: str | None, default: str) -> str:
    """A title inside a sentence: "Body region" -> "body region", but "URL" stays "URL"."""
    if not title:
        return default
    return title if title[:2].isupper() else title[0].lower() + title[1:]


def _enum_hint(values: list) -> str:
    if len(values) <= 8:
        return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values[:6]) + f", … ({len(values)} codes; see `tpkit rules TP104`)"


def _close_matches(word: str, options: list[str]) -> str:
    import difflib

    near = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(json.dumps(n) for n in near)}?)" if near else ""


def _text_problem(value: str) -> str:
    if not value:
        return "text is empty; write something or remove the property"
    if value != value.strip():
        return "text has leading or trailing white space; remove it"
    return "text contains a control character such as a tab or line break; remove it (one paragraph per text)"


# One function per keyword: (error, schema, title) -> (code, message, pointer suffix or None), or a list of them
def _required(error, schema, title):
    missing = error.names[0] if error.names else error.message
    return "TP101", f"add the required property \"{missing}\"", None


def _additional(error, schema, title):
    unexpected = list(error.names)
    node = _keyword_node(schema, error)
    allowed = list(node.get("properties", {}))
    return [("TP102", f"unknown property \"{name}\"{_close_matches(name, allowed)}; remove it or fix its spelling", [name])
            for name in unexpected]


def _type(error, schema, title):
    node = _keyword_node(schema, error)
    expected = node.get("type", "")
    words = {"string": "text", "array": "a list", "object": "an object", "integer": "a whole number", "number": "a number", "boolean": "true or false"}
    return "TP103", f"{title or 'value'} must be {words.get(expected, expected)}, not {_describe(error.instance)}", None


def _enum(error, schema, title):
    node = _keyword_node(schema, error)
    values = node.get("enum") or [node.get("const")]
    hint = _close_matches(error.instance, [v for v in values if isinstance(v, str)]) if isinstance(error.instance, str) else ""
    return "TP104", f"{json.dumps(error.instance, ensure_ascii=False)} is not a valid {_lower(title, 'value')}{hint}; use one of {_enum_hint(values)}", None


def _pattern(error, schema, title):
    node = _keyword_node(schema, error)
    if list(error.schema_path) == ["$defs", "text", "pattern"]:
        return "TP105", f"{title or 'text'}: {_text_problem(error.instance)}", None
    examples = {
        "Slug": "lower-case letters, digits and single hyphens, e.g. \"gluteus-minimus\"",
        "Schema version": "\"1.1\" (or \"1.0\" for an entry without language and precautions)",
        "Language": "a BCP 47 language tag in its usual case, such as \"en\", \"en-GB\", \"de\" or \"pt-BR\"",
        "Updated": "a date written YYYY-MM-DD",
        "URL": "an address starting http:// or https://",
        "DOI": "a DOI such as \"10.1000/xyz123\" without https://doi.org/",
        "ISBN": "an ISBN of 10 or 13 digits",
        "License": "an SPDX identifier such as \"CC-BY-4.0\"",
    }
    wanted = examples.get(title or "") or examples.get(node.get("title", ""), f"the pattern {node.get('pattern')}")
    return "TP106", f"{json.dumps(error.instance, ensure_ascii=False)} is not a valid {_lower(title, 'value')}; write {wanted}", None


def _format(error, schema, title):
    return "TP106", f"{json.dumps(error.instance, ensure_ascii=False)} is not a real date; write an existing date as YYYY-MM-DD", None


def _min_length(error, schema, title):
    return "TP105", f"{title or 'text'}: text is empty; write something or remove the property", None


def _max_length(error, schema, title):
    node = _keyword_node(schema, error)
    return "TP108", f"{title or 'value'} is longer than {node.get('maxLength')} characters; shorten it", None


def _min_items(error, schema, title):
    node = _keyword_node(schema, error)
    count = node.get("minItems", 1)
    return "TP107", f"{title or 'list'} needs at least {count} item{'s' if count != 1 else ''}; add {'one' if count == 1 else 'more'}", None


def _max_items(error, schema, title):
    node = _keyword_node(schema, error)
    return "TP107", f"{title or 'list'} holds at most {node.get('maxItems')} items; remove the extra ones", None


def _range(error, schema, title):
    return "TP108", f"{title or 'number'} {error.instance} is out of range; {error.message}", None


def _false_schema(error, schema, title):
    return "TP107", "this list has too many items; remove the extra ones", None


def _any_of(error, schema, title):
    node = _keyword_node(schema, error)
    options = node.get("anyOf", [])
    if all(set(option) == {"required"} for option in options):
        names = " or ".join(f"\"{option['required'][0]}\"" for option in options)
        return "TP101", f"add {names}", None
    return "TP103", f"{title or 'value'} must be text or a positive whole number, not {_describe(error.instance)}", None


_KEYWORDS: dict[str, Callable] = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "const": _enum,
    "pattern": _pattern,
    "format": _format,
    "minLength": _min_length,
    "maxLength": _max_length,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minimum": _range,
    "maximum": _range,
    "falseSchema": _false_schema,
    "items": _false_schema,
    "anyOf": _any_of,
}


def schema_problems(data: Any, name: str = SCHEMA_NAME, engine: str | None = None) -> list[tuple[str, str, str]]:
    """Schema errors of a document as (code, message, pointer); empty when valid."""
    checker = validator(name, engine)
    if checker.is_valid(data):
        return []
    schema = load_schema(name)
    problems = []
    for error in checker.errors(data):
        keyword = error.keyword
        title = _field_title(schema, list(error.instance_path))
        handler = _KEYWORDS.get(keyword)
        found = handler(error, schema, title) if handler else ("TP109", f"{title or 'value'}: {error.message}", None)
        for code, message, suffix in [found] if isinstance(found, tuple) else found:
            problem = (code, message, pointer_from(list(error.instance_path) + (suffix or [])))
            if problem not in problems:  # e.g. minLength and pattern both reject an empty text
                problems.append(problem)
    return problems
