"""Property-based fuzzing: hostile edits of real entries, and entries generated from the schema itself.

Two families of properties (hypothesis):

* Mutations of the sample entries (``entries/*.json``): a key deleted or renamed, a value of
  the wrong type, unknown keys, strings replaced by random or markup-looking text, the file
  truncated at a random byte, random bytes inserted, a key written twice, deep nesting, odd
  encodings. ``tpkit validate --format json`` must answer every one without an exception,
  with exit 0 or 1, a located issue with a known code for every problem, and the same verdict
  as an independent reference (Python's json module and python-jsonschema on the real schema).
* Documents generated from ``schemas/muscle-entry.schema.json`` with hypothesis-jsonschema
  (see ``schema_documents`` for why not ``from_schema(load_schema())`` directly), made to obey
  the rules the schema cannot state, then exported to DOCX, PDF, a book and the bundle, and
  read back with python-docx, pypdf and ``tpkit.bundle``.

The ci profile is derandomized (the same examples on every run, so CI is reproducible);
the long one explores at random. Example counts come from a hypothesis profile chosen with ``TPKIT_FUZZ_PROFILE``: ``ci``
(the default: 10-25 examples per test, the file runs in well under a minute) or ``long``
(``TPKIT_FUZZ_EXAMPLES`` per test, default 500; ``python bench/fuzz.py`` runs it).

Bugs the fuzzing found are fixed; each has a regression test at the end of this file.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("hypothesis_jsonschema")
pytest.importorskip("pypdf")
pytest.importorskip("docx")

import jsonschema  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis_jsonschema import from_schema  # noqa: E402

from conftest import CASES, ENTRIES, TODAY  # noqa: E402
from tpkit.cli import cli  # noqa: E402
from tpkit.rules import RULES  # noqa: E402
from tpkit.schema import ecma_schema, load_schema  # noqa: E402

# --------------------------------------------------------------------------- profiles

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=20, deadline=None, database=None, print_blob=True, derandomize=True,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("long", max_examples=int(os.environ.get("TPKIT_FUZZ_EXAMPLES", "500")), deadline=None,
                          database=None, print_blob=True, suppress_health_check=_SUPPRESS)
PROFILE = os.environ.get("TPKIT_FUZZ_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"TPKIT_FUZZ_PROFILE={PROFILE!r}: use ci or long")
FUZZ = settings.get_profile(PROFILE)


def fuzz(ci_examples: int, *, shrink: bool = True) -> settings:
    """This test's settings: ``ci_examples`` in the ci profile, the profile's count in the long one.

    ``shrink=False`` skips shrinking in the ci profile, for tests whose examples are slow (hypothesis
    would spend its five-minute shrink budget; the failure is reported with a reproduce blob instead).
    The profile is not loaded globally, so other test modules keep hypothesis' defaults.
    """
    if PROFILE != "ci":
        return FUZZ
    phases = tuple(FUZZ.phases) if shrink else tuple(p for p in FUZZ.phases if p not in (Phase.shrink, Phase.explain))
    return settings(FUZZ, max_examples=ci_examples, phases=phases)


# --------------------------------------------------------------------------- the reference verdict

SCHEMA = load_schema()

# JSON Schema patterns are ECMA-262 regular expressions, whose \s is not Python's: it also holds
# U+FEFF and leaves out U+001C-U+001F and U+0085, and whose $ does not match before a final line
# break. jsonschema-rs follows ECMA; python-jsonschema hands the pattern to Python's re. The
# reference and the generator below use the schema as tpkit's python-jsonschema engine gets it,
# with each pattern spelt out the ECMA way (tpkit.schema.ecma_schema, tested in test_schema.py).
ECMA_WHITE_SPACE = ("\t\n\x0b\x0c\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                    + "\u2028\u2029\u202f\u205f\u3000\ufeff")
ECMA_SCHEMA = ecma_schema(SCHEMA)
REFERENCE = jsonschema.Draft202012Validator(ECMA_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


class _Duplicate(ValueError):
    pass


def _pairs(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Duplicate()
    return dict(pairs)


def _constant(name):
    raise ValueError(name)


def reference_load(raw: bytes) -> tuple[str, Any]:
    """What a careful reader makes of the bytes: ("ok", data) or (the TP0xx code expected, None).

    Written apart from tpkit.load on purpose, with the standard library only.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "TP002", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "TP002", None
    if not text.strip():
        return "TP003", None
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except RecursionError:
        return "TP007", None
    except _Duplicate:
        try:  # a syntax error anywhere in the file is the more basic problem
            json.loads(text, parse_constant=_constant)
        except json.JSONDecodeError:
            return "TP003", None
        except (RecursionError, ValueError):
            pass
        return "TP004", None
    except ValueError:
        return "TP003", None
    if _holds_lone_surrogate(data):
        return "TP002", None  # text that cannot be stored as UTF-8
    if not isinstance(data, dict):
        return "TP005", None
    return "ok", data


def _holds_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# --------------------------------------------------------------------------- mutations of real entries

SAMPLES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(ENTRIES.glob("*.json"))}

MARKUP = [
    '<font color="red">', '<a href="javascript:alert(1)">x</a>', "&amp;", "]]>", "<![CDATA[x]]>", "<b>", "</para>",
    "<br/>", "&#0;", "&nbsp;", "&", "<", "*", "**", "[@", "[@missing]", "[@x, p. 1]", "[@ bad key]", "\\", '"',
    "%s", "{0}", "${x}", "\u202e", "\u200b", "\ufeff", "\ufffe", "\uffff", "\U0001f600", "Zo\u00eb", "\u2013",
    "\u2028", "\x00", "\x07", "\x1b[31m", "\t", "\r\n", "\x7f", "\x85", "\u00a0", "  ", "",
]
# Lone surrogates: escaped by json.dumps(ensure_ascii=True) as \ud800, written raw (invalid UTF-8) otherwise.
LONE_SURROGATES = ["\ud800", "x\udc00y", "\udbff"]
nasty_text = st.one_of(
    st.text(),
    st.sampled_from(MARKUP),
    st.sampled_from(LONE_SURROGATES),
    st.lists(st.one_of(st.sampled_from(MARKUP), st.text(max_size=6)), min_size=1, max_size=6).map("".join),
)
# No whole-number floats here (2.0 is an integer to JSON Schema): test_regression_integral_float covers them.
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                         st.floats(-2.0 ** 51, 2.0 ** 51).map(lambda f: f + 0.5 if f.is_integer() else f),
                         nasty_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(nasty_text, inner, max_size=3), max_leaves=8)

_DEEP = "\x00tpkit-fuzz-deep\x00"


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, path + (key,)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, path + (index,)))
    return found


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def _set(root: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def serialize(value: Any, *, indent: int | None, ensure_ascii: bool, duplicate: tuple | None = None) -> str:
    """JSON text of ``value``; ``duplicate`` = (object path, key, second value) writes that member twice."""

    def dump(node: Any, path: tuple, depth: int) -> str:
        pad = "" if indent is None else "\n" + " " * (indent * (depth + 1))
        end = "" if indent is None else "\n" + " " * (indent * depth)
        if isinstance(node, dict):
            members = [(key, child) for key, child in node.items()]
            if duplicate and duplicate[0] == path and duplicate[1] in node:
                at = list(node).index(duplicate[1])
                members.insert(at + 1, (duplicate[1], duplicate[2]))
            if not members:
                return "{}"
            parts = [f"{pad}{json.dumps(key, ensure_ascii=ensure_ascii)}: {dump(child, path + (key,), depth + 1)}"
                     for key, child in members]
            return "{" + ",".join(parts) + end + "}"
        if isinstance(node, list):
            if not node:
                return "[]"
            parts = [f"{pad}{dump(child, path + (i,), depth + 1)}" for i, child in enumerate(node)]
            return "[" + ",".join(parts) + end + "]"
        return json.dumps(node, ensure_ascii=ensure_ascii)

    return dump(value, (), 0)


@st.composite
def mutated_entries(draw) -> bytes:
    """Bytes of a sample entry after one to five structural and textual mutations."""
    name = draw(st.sampled_from(sorted(SAMPLES)))
    data = copy.deepcopy(SAMPLES[name])
    # Weighted so that about a quarter of the files fail to load and the rest reach the schema and rules.
    structural = draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3]))
    textual = draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2] if structural else [1, 1, 2]))
    duplicate = None
    deep = None
    for _ in range(structural):
        paths = _paths(data)
        objects = [p for p in paths if isinstance(_get(data, p), dict)]
        members = [p for p in paths if p and isinstance(_get(data, p[:-1]), dict)]
        kind = draw(st.sampled_from(["delete", "retype", "unknown", "text", "rename", "duplicate", "deep",
                                     "valid-text", "valid-text"]))
        if kind == "delete" and members:
            path = draw(st.sampled_from(members))
            del _get(data, path[:-1])[path[-1]]
        elif kind == "retype" and len(paths) > 1:
            path = draw(st.sampled_from(paths[1:]))
            data = _set(data, path, draw(json_values))
        elif kind == "unknown" and objects:
            path = draw(st.sampled_from(objects))
            _get(data, path)[draw(nasty_text)] = draw(json_values)
        elif kind == "text":
            strings = [p for p in paths if isinstance(_get(data, p), str)]
            if strings:
                path = draw(st.sampled_from(strings))
                old = _get(data, path)
                new = draw(nasty_text)
                how = draw(st.sampled_from(["replace", "prefix", "suffix", "middle"]))
                new = {"replace": new, "prefix": new + old, "suffix": old + new,
                       "middle": old[: len(old) // 2] + new + old[len(old) // 2:]}[how]
                data = _set(data, path, new)
        elif kind == "valid-text":
            # Still a valid text, often markup-looking: the file stays schema-valid and reaches the rules
            strings = [p for p in paths if p and isinstance(_get(data, p), str) and p[-1] not in (
                "id", "muscle", "schema_version", "status", "updated", "region", "extent", "category", "type",
                "URL", "DOI", "ISBN", "license", "$schema") and not (len(p) > 1 and p[-2] == "roots")]
            if strings:
                data = _set(data, draw(st.sampled_from(strings)), draw(text_strategy))
        elif kind == "rename" and members:
            path = draw(st.sampled_from(members))
            parent = _get(data, path[:-1])
            new_key = draw(st.one_of(nasty_text, st.just(str(path[-1]).upper()), st.just(str(path[-1]) + " ")))
            items = [(new_key if key == path[-1] else key, value) for key, value in parent.items()]
            parent.clear()
            parent.update(items)
        elif kind == "duplicate" and members:
            path = draw(st.sampled_from(members))
            second = draw(st.one_of(st.just(_get(data, path)), json_values))
            duplicate = (path[:-1], path[-1], second)
        elif kind == "deep" and deep is None:
            path = draw(st.sampled_from(paths))
            depth = draw(st.one_of(st.integers(1, 80), st.integers(60, 70), st.integers(250, 260),
                                      st.sampled_from([999, 1000, 5000, 20000])))
            deep = (depth, draw(st.sampled_from(["[", '{"a": '])))
            data = _set(data, path, _DEEP)
    if duplicate is not None:
        try:
            _get(data, duplicate[0])
        except (KeyError, IndexError, TypeError):
            duplicate = None  # a later mutation removed the object
    text = serialize(data, indent=draw(st.sampled_from([None, 0, 1, 2, 4])), ensure_ascii=draw(st.booleans()),
                     duplicate=duplicate)
    if deep is not None:
        depth, opener = deep
        closer = "]" if opener == "[" else "}"
        text = text.replace(json.dumps(_DEEP), opener * depth + "0" + closer * depth)
    if draw(st.integers(0, 9)) == 0:
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
    encoding = draw(st.sampled_from(["utf-8"] * 30 + ["utf-8-sig", "utf-16", "latin-1"]))
    raw = text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")
    for _ in range(textual):
        kind = draw(st.sampled_from(["truncate", "insert", "overwrite", "delete", "bom"]))
        if kind == "truncate":
            raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + draw(st.one_of(st.binary(min_size=1, max_size=12),
                                            st.text(min_size=1, max_size=12).map(str.encode),
                                            st.sampled_from(MARKUP).map(lambda s: s.encode("utf-8", "surrogatepass")),
                                            st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b",", b"}",
                                                             b"]", b'"', b"\\", b"\n", b"/*", b"NaN",
                                                             b"\\ud800", b"\\udfff"])))
        elif kind == "overwrite" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            chunk = draw(st.binary(min_size=1, max_size=4))
            raw = raw[:at] + chunk + raw[at + len(chunk):]
        elif kind == "delete" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw = raw[:at] + raw[at + draw(st.integers(1, 16)):]
        elif kind == "bom":
            raw = b"\xef\xbb\xbf" + raw
    return raw


def _lines_of(raw: bytes) -> list[str]:
    return raw.decode("utf-8", errors="replace").split("\n")


def run_validate(raw: bytes, *extra: str) -> tuple[Any, Path]:
    folder = Path(tempfile.mkdtemp(prefix="tpkit-fuzz-"))
    path = folder / "fuzzed.json"
    path.write_bytes(raw)
    result = CliRunner().invoke(cli, ["validate", *extra, str(path)], catch_exceptions=False)
    return result, path


def _cleanup(path: Path) -> None:
    path.unlink()
    path.parent.rmdir()


@fuzz(25)
@given(mutated_entries())
def test_mutated_entries_get_located_issues_never_a_crash(raw):
    result, path = run_validate(raw, "--format", "json")
    try:
        note(f"exit {result.exit_code}\nstdout: {result.stdout[:2000]}\nstderr: {result.stderr[:2000]}")
        assert "internal error" not in result.output and "Traceback" not in result.output
        assert result.exit_code in (0, 1), "exit 2 is for usage and I/O errors only"
        assert result.stderr == ""
        report = json.loads(result.stdout)
        assert report["files"] == 1
        issues = report["issues"]
        lines = _lines_of(raw)
        for issue in issues:
            assert issue["path"] == str(path)
            assert isinstance(issue["line"], int) and isinstance(issue["column"], int)
            assert 1 <= issue["line"] <= len(lines), issue
            assert 1 <= issue["column"] <= len(lines[issue["line"] - 1]) + 1, issue
            assert issue["code"] in RULES, issue
            assert issue["severity"] == RULES[issue["code"]].severity, issue
            assert isinstance(issue["message"], str) and issue["message"].strip(), issue
            assert issue["pointer"] == "" or issue["pointer"].startswith("/"), issue
        errors = [issue for issue in issues if issue["severity"] == "error"]
        assert report["errors"] == len(errors) and report["warnings"] == len(issues) - len(errors)
        assert result.exit_code == (1 if errors else 0)

        # The same verdict as an independent reader
        verdict, data = reference_load(raw)
        codes = {issue["code"] for issue in errors}
        schema_valid = verdict == "ok" and REFERENCE.is_valid(data)
        event(f"reference: {verdict if verdict != 'ok' else 'schema-valid' if schema_valid else 'schema-invalid'}")
        if verdict != "ok":
            assert [issue["code"] for issue in issues] == [verdict], (verdict, issues)
        elif not schema_valid:
            assert errors, "the schema rejects this file but tpkit reported no error"
            assert all(code.startswith("TP1") or code == "TP007" for code in codes), codes
        else:
            assert not any(code[:3] in ("TP0", "TP1") for code in codes), (
                "python-jsonschema accepts this file but tpkit reports a load, schema or model error", issues)
    finally:
        _cleanup(path)


@fuzz(15)
@given(mutated_entries())
def test_mutated_entries_in_every_report_format(raw):
    """The text, GitHub and JUnit reporters: one line or failure per issue, well-formed XML, exit codes agree."""
    import xml.etree.ElementTree as ET

    json_result, path = run_validate(raw, "--format", "json")
    try:
        issues = json.loads(json_result.stdout)["issues"]
        for fmt in ("text", "github", "junit"):
            result = CliRunner().invoke(cli, ["validate", "--format", fmt, str(path)], catch_exceptions=False)
            assert result.exit_code == json_result.exit_code
            out = result.stdout
            if fmt == "junit":
                root = ET.fromstring(out)
                assert len(root.findall(".//failure")) == len(issues)
            elif fmt == "github":
                lines = out.rstrip("\n").split("\n")  # the runner reads commands line by line
                assert len(lines) == len(issues) + 1, "a message broke out of its workflow command"
                assert all(line.startswith(("::error ", "::warning ")) for line in lines[:-1])
            else:
                assert out.count(f"{path}:") >= len(issues)
                assert out.rstrip("\n").split("\n")[-1].startswith("1 file checked:")
    finally:
        _cleanup(path)


# --------------------------------------------------------------------------- documents from the schema

# Why not from_schema(load_schema()): hypothesis-jsonschema 0.23 does not know draft 2020-12's
# `prefixItems` (CSL dates), so it treats date-parts items as "anything" and then rejects
# nearly every candidate with a validator filter wherever a citation has to be merged with its
# anyOf (author or editor) and allOf/if-then (publisher, container-title, URL) branches; and it
# builds every object member's strategy afresh on each draw (canonicalise, $ref resolution,
# regex compilation), about 80 times per document for the `text` pattern alone. Measured: no
# example in 25 s for one citation, and 2 s per entry even after fixing the two schema points.
#
# So the generator below is the same schema, rewritten into an equivalent form that is fast:
#   * every $ref is inlined;
#   * `prefixItems` [year, month, day] becomes draft-7 tuple `items` with additionalItems false;
#   * the citation's anyOf and three if/then rules become an anyOf of ten flat object schemas,
#     one per (type, author-or-editor) with the required properties each combination needs;
#   * `text` and `slug` become custom formats whose strategies produce exactly their patterns'
#     languages (any character but controls and surrogates, stripped; slug grammar), and
#   * objects and arrays of objects are assembled with fixed_dictionaries and lists, one
#     strategy built once per sub-schema; every leaf (enums, dates, URLs, DOIs, ISBNs, integer
#     ranges, the roots and date-parts arrays) still comes from hypothesis-jsonschema.
# Lists are capped at MAX_LIST items to keep exports quick. Every generated document is then
# checked against the REAL schema (python-jsonschema) before use.

MAX_LIST = 3
_TEXT_PATTERN = re.compile(ECMA_SCHEMA["$defs"]["text"]["pattern"])
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

# Lone surrogates are left out (test_regression_lone_surrogate_escape covers them). Citation marks are left out of the
# markup-looking pieces: a mark naming no source is a rule error (TP203, TP204) and would only be filtered away.
_TEXT_PIECES = [m for m in MARKUP if m.strip() and "[@" not in m and not re.search(r"[\x00-\x1f\x7f-\x9f]", m)]
text_strategy = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1),
    st.lists(st.one_of(st.sampled_from(_TEXT_PIECES),
                       st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)), min_size=1, max_size=6)
    .map(" ".join),
).map(lambda text: text.strip(ECMA_WHITE_SPACE)).filter(_TEXT_PATTERN.fullmatch)
slug_strategy = st.builds(
    lambda first, rest, parts: first + rest + "".join("-" + part for part in parts),
    st.sampled_from(_ALNUM[:26]), st.text(_ALNUM, max_size=12), st.lists(st.text(_ALNUM, min_size=1, max_size=10), max_size=4),
).filter(lambda slug: len(slug) <= 64)
CUSTOM_FORMATS = {"tpkit-text": text_strategy, "tpkit-slug": slug_strategy}


def _inline(node: Any, defs: dict) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


def _tuple_items(node: Any) -> Any:
    if isinstance(node, dict):
        node = dict(node)
        if "prefixItems" in node:
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = False
        return {key: _tuple_items(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_tuple_items(value) for value in node]
    return node


def _flat_citations(citation: dict) -> dict:
    """The citation schema's anyOf and if/then rules as a union of plain object schemas."""
    base = {key: value for key, value in citation.items() if key not in ("anyOf", "allOf")}
    names = [option["required"][0] for option in citation["anyOf"]]
    variants = []
    for kind in citation["properties"]["type"]["enum"]:
        needed = []
        for rule in citation["allOf"]:
            condition = rule["if"]["properties"]["type"]
            if kind in condition.get("enum", [condition.get("const")]):
                needed += rule["then"]["required"]
        for name in names:
            variant = copy.deepcopy(base)
            variant["properties"]["type"] = {"const": kind}
            variant["required"] = list(dict.fromkeys(base["required"] + needed + [name]))
            variants.append(variant)
    return {"anyOf": variants}


def generation_schema() -> dict:
    defs = copy.deepcopy(ECMA_SCHEMA["$defs"])
    assert set(defs["text"]) == {"title", "description", "type", "minLength", "pattern"}
    assert set(defs["slug"]) == {"title", "description", "type", "maxLength", "pattern"}
    defs["text"] = {"type": "string", "format": "tpkit-text"}
    defs["slug"] = {"type": "string", "format": "tpkit-slug"}
    defs["citation"] = _flat_citations(defs["citation"])
    schema = {key: value for key, value in ECMA_SCHEMA.items() if key not in ("$defs", "$id", "$schema")}
    schema = _tuple_items(_inline(schema, defs))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


def _strategy(node: dict) -> st.SearchStrategy:
    keys = set(node) - {"title", "description", "$schema"}
    if keys == {"anyOf"}:
        return st.one_of([_strategy(option) for option in node["anyOf"]])
    if node.get("type") == "object" and node.get("additionalProperties") is False and keys <= {
            "type", "additionalProperties", "properties", "required"}:
        required = node.get("required", [])
        return st.fixed_dictionaries(
            {key: _strategy(node["properties"][key]) for key in required},
            optional={key: _strategy(value) for key, value in node["properties"].items() if key not in required})
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and (items.get("type") == "object" or "anyOf" in items):
        low = node.get("minItems", 0)
        return st.lists(_strategy(items), min_size=low, max_size=min(node.get("maxItems", MAX_LIST), max(low, MAX_LIST)))
    return from_schema(node, custom_formats=CUSTOM_FORMATS)


def schema_documents() -> st.SearchStrategy[dict]:
    """Documents valid against the real schema, generated from it (see the comment above)."""
    return _strategy(generation_schema())


def _norm(text: str) -> str:
    from tpkit.rules import _norm as norm

    return norm(text)


def _unique(items: list, key) -> list:
    seen, kept = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


MARKUP_PROBE = "<b>&amp;]]>"


def obey_the_rules(doc: dict) -> dict:
    """Adjust a schema-valid document so that the rules the schema cannot state hold too.

    Stays schema-valid: only removes repeated list items (never the first), reorders roots,
    clamps `updated`, marks the first zone essential and cites every source in the conclusion.
    """
    from tpkit.vocabulary import SPINAL_SEGMENTS, spinal_order

    doc = copy.deepcopy(doc)
    doc["updated"] = min(doc["updated"], TODAY.isoformat())
    zones = _unique(doc["referral_pattern"]["zones"], lambda z: z["region"])
    zones[0]["extent"] = "essential"
    doc["referral_pattern"]["zones"] = zones
    for key in ("indications", "symptoms"):
        doc[key] = _unique(doc[key], _norm)
    for key, field in (("actions", "action"), ("perpetuating_factors", "factor"), ("differential_diagnosis", "condition"),
                       ("anatomy", "muscle"), ("examination", "name"), ("authors", "name")):
        if key in doc:
            doc[key] = _unique(doc[key], lambda item, field=field: _norm(item[field]))
    if "trigger_points" in doc:
        doc["trigger_points"] = _unique(doc["trigger_points"], lambda p: (_norm(p["location"]), p["region"]))
    doc["corrective_actions"] = _unique(doc["corrective_actions"], lambda g: g["category"])
    for group in doc["corrective_actions"]:
        group["items"] = _unique(group["items"], lambda item: _norm(item["name"]))
    doc["citations"] = _unique(doc["citations"], lambda c: c["id"])
    links = _unique([a for a in doc["associated_trigger_points"] if a["muscle"] != doc["id"]], lambda a: a["muscle"])
    doc["associated_trigger_points"] = links or [{"muscle": "other-muscle" if doc["id"] != "other-muscle"
                                                  else "another-muscle", "note": "Often together."}]
    for row in doc["anatomy"]:
        roots = row["innervation"]["roots"]
        cranial = list(dict.fromkeys(r for r in roots if spinal_order(r) is None))
        spinal = sorted({spinal_order(r) for r in roots if spinal_order(r) is not None})
        row["innervation"]["roots"] = cranial + (list(SPINAL_SEGMENTS[spinal[0]: spinal[-1] + 1]) if spinal else [])
    keys = "; ".join(f"@{c['id']}" for c in doc["citations"])
    doc["conclusion"] = f"{MARKUP_PROBE} {doc['conclusion']} [{keys}]"
    return doc


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def _pdf_text(path: Path) -> str:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@fuzz(12, shrink=False)
@given(schema_documents())
def test_schema_generated_entries_validate_and_export_to_every_format(doc):
    from tpkit import bundle
    from tpkit.export import Settings, run_export
    from tpkit.validate import Options, validate_paths

    assert REFERENCE.is_valid(doc), next(REFERENCE.iter_errors(doc)).message  # the generator is faithful
    doc = obey_the_rules(doc)
    assert REFERENCE.is_valid(doc), next(REFERENCE.iter_errors(doc)).message
    raw = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="tpkit-fuzz-") as folder:
        folder = Path(folder)
        path = folder / f"{doc['id']}.json"
        path.write_bytes(raw)
        report = validate_paths([path], Options(today=TODAY))
        issues = report.issues
        note("\n".join(f"{i.code} {i.pointer} {i.message}" for i in issues))
        # The schema accepts the file, so the loader, the schema check and the typed model must too
        assert not [i for i in issues if i.code[:3] in ("TP0", "TP1")], issues
        # Rule findings left after obey_the_rules are chance hits (a stray "[@x]" in random text)
        assume(not report.failed())
        [entry] = report.entries()

        out = folder / "out"
        run_export([entry], Settings(out=out, formats=("docx", "pdf", "bundle"), book_title="Fuzz <Book> & ]]>"))
        docx_text = _docx_text(out / "docx" / f"{entry.id}.docx")
        assert MARKUP_PROBE in docx_text
        pdf_text = _pdf_text(out / "pdf" / f"{entry.id}.pdf")
        assert MARKUP_PROBE in _squeeze(pdf_text)
        assert MARKUP_PROBE in _squeeze(_pdf_text(out / "pdf" / "fuzz-book.pdf"))
        assert bundle.verify(out / "bundle") == []
        assert bundle.verify(out / "tpkit-entries-0.1.0.zip") == []
        [loaded] = bundle.load(out / "bundle")
        assert loaded.model_dump(exclude={"schema_"}) == entry.model_dump(exclude={"schema_"})
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


@fuzz(20)
@given(schema_documents())
def test_schema_generated_documents_are_valid_for_both_validators(doc):
    """The generator's output against the real schema in python-jsonschema and jsonschema-rs alike."""
    from tpkit.schema import ENGINES, schema_problems, validator

    assert REFERENCE.is_valid(doc), next(REFERENCE.iter_errors(doc)).message
    for engine in ENGINES:
        assert validator(engine=engine).is_valid(doc)
        assert schema_problems(doc, engine=engine) == []


# --------------------------------------------------------------------------- regressions: bugs fuzzing found, now fixed

BASE = json.loads((CASES / "valid" / "minimal-entry.json").read_text(encoding="utf-8"))


def _entry_bytes(**changes) -> bytes:
    data = copy.deepcopy(BASE)
    data["id"] = "fuzzed"
    data.update(changes)
    return json.dumps(data, indent=2).encode("utf-8")


def _citation_with(**changes) -> list:
    citations = copy.deepcopy(BASE["citations"])
    citations[0].update(changes)
    return citations


@pytest.mark.parametrize("raw", [
    _entry_bytes(conclusion="Lone \ud800 surrogate."),
    _entry_bytes(**{"x\udc00": 1}),
    _entry_bytes(status="\udfff"),
], ids=["in-a-text", "in-an-unknown-key", "in-an-enum-value"])
def test_regression_lone_surrogate_escape(raw):
    assert b"\\ud" in raw
    result, path = run_validate(raw, "--format", "json")
    _cleanup(path)
    assert result.exit_code == 1 and "internal error" not in result.output
    assert json.loads(result.stdout)["errors"] >= 1


@pytest.mark.parametrize("raw", [
    b'{"k": {"a": 1, "a": 2}, "\\q": 1}',
    b'{"k": {"a": 1, "a": 2}, "x\ny": 1}',
    b'{"k": {"a": 1, "a": 2}, "b": "x',
], ids=["invalid-escape", "raw-newline", "unterminated-string"])
def test_regression_key_after_a_duplicate(raw):
    result, path = run_validate(raw, "--format", "json")
    _cleanup(path)
    assert result.exit_code == 1 and "internal error" not in result.output
    assert [i["code"] for i in json.loads(result.stdout)["issues"]][:1] in (["TP003"], ["TP004"])


@pytest.mark.parametrize("raw", [
    _entry_bytes(citations=_citation_with(edition=2.0)),
    _entry_bytes(citations=_citation_with(issued={"date-parts": [[1999.0]]})),
], ids=["edition", "year"])
def test_regression_integral_float(raw):
    data = json.loads(raw)
    assert REFERENCE.is_valid(data), "JSON Schema counts 2.0 as an integer"
    result, path = run_validate(raw, "--format", "json")
    _cleanup(path)
    assert "TP120" not in result.output


@pytest.mark.parametrize("field, value", [("URL", "https://example.org/a\x85b"), ("DOI", "10.1234/a\x85b")])
def test_regression_nel_in_url(field, value):
    citations = copy.deepcopy(BASE["citations"])
    citations[1][field] = value
    raw = _entry_bytes(citations=citations)
    assert not REFERENCE.is_valid(json.loads(raw)), "the schema leaves C1 control characters out of URLs and DOIs"
    result, path = run_validate(raw, "--format", "json")
    _cleanup(path)
    assert "TP120" not in result.output and "TP106" in result.output


@pytest.mark.parametrize("depth", [256, 300, 900])
def test_regression_depth_between_256_and_the_parser_limit(depth):
    raw = b'{"a": ' * depth + b"0" + b"}" * depth
    result, path = run_validate(raw, "--format", "json")
    _cleanup(path)
    assert result.exit_code == 1 and "internal error" not in result.output
    assert [i["code"] for i in json.loads(result.stdout)["issues"]] == ["TP007"]


def test_regression_bundle_of_an_entry_updated_before_the_year_1000(tmp_path):
    (tmp_path / "fuzzed.json").write_bytes(_entry_bytes(updated="0999-12-31"))
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "fuzzed.json"), "--format", "bundle",
                                      "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_regression_junit_with_a_control_character_in_a_key():
    import xml.etree.ElementTree as ET

    result, path = run_validate(_entry_bytes(**{"\u0001\u001b[31m": 1}), "--format", "junit")
    _cleanup(path)
    ET.fromstring(result.stdout)
