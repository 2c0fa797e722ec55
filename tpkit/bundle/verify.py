"""Verifying a bundle: integrity (every file as the manifest lists it), meaning (every entry
passes tpkit's full validation; JSON-LD, index, licenses and sources are what tpkit derives from
the entries; the schemas are the ones tpkit published) and, when keys are trusted, who signed it.

``verify`` lists every problem; ``load`` returns the entries of a bundle that has none.
Files are read one at a time within the limits of ``spec`` (see ``read``), and an entry's typed
model is kept only when the caller wants the entries: ``verify`` keeps a few facts per entry
and reads an entry again when its JSON-LD is checked, so its memory does not grow with the
bundle's content.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tpkit.errors import BundleError, LoadError
from tpkit.load import LoadedFile, load_bytes
from tpkit.models import Entry
from tpkit.validate import Options, Result, check_collection, check_loaded

from . import spec
from .build import index_row, licenses_of, merge_sources, source_items
from .canonical import canonical_json, dumps
from .jsonld import muscle_iri, to_jsonld
from .read import BundleFiles, Problems, open_bundle, safe_member
from .spec import (DATAPACKAGE, ENTRY_FILE, ENTRY_SCHEMA_PATH, HASH, INDEX, INDEX_SCHEMA, INDEX_SCHEMA_PATH,
                   NAME_PATTERN, SEMVER_PATTERN, SIGNATURE, Problem)

_SCHEMA_ERRORS_SHOWN = 20


@dataclass
class Facts:
    """What the checks across files need of one valid entry."""

    name: str
    license: str | None
    row: dict  # its index.json row as tpkit derives it
    sources: list[tuple[tuple, dict]]
    digest: str  # sha256 of its canonical bytes


@dataclass
class Inspection:
    problems: Problems = field(default_factory=Problems)
    descriptor: dict = field(default_factory=dict)
    facts: dict[str, Facts] = field(default_factory=dict)  # id -> facts, valid entries only
    entries: dict[str, Entry] = field(default_factory=dict)  # id -> entry, when kept
    listed: dict[str, dict] = field(default_factory=dict)  # path -> resource of datapackage.json
    hashed: set[str] = field(default_factory=set)  # files whose hash has been checked


@dataclass
class _MemberResult(Result):
    """A bundled entry's validation result; its text is read again from the bundle when a
    collection rule needs a position (never from a path on disk)."""

    reload: Callable[[], LoadedFile] | None = None

    def add_issues(self, found: list[tuple[str, str, str, str]], options: Options) -> None:
        if self.loaded is None and self.reload is not None:
            self.loaded = self.reload()
        super().add_issues(found, options)


def parse(files: BundleFiles, name: str, limit: int) -> tuple[bytes, Any] | None:
    """A JSON file of the bundle read within ``limit`` and parsed by tpkit's strict loader."""
    raw = files.read(name, limit)
    if raw is None:
        return None
    try:
        return raw, load_bytes(raw, Path(name), name).data
    except LoadError as exc:
        issue = exc.issue
        if issue.code == "TP005":
            files.problems.add(name, "must hold one JSON object {...}")
        else:
            files.problems.add(name, f"is not valid JSON ({issue.code}) at line {issue.line}, column {issue.column}: "
                                     f"{issue.message}")
        return None


def _check_hash(inspection: Inspection, name: str, data: bytes) -> None:
    inspection.hashed.add(name)
    resource = inspection.listed.get(name)
    if resource is not None and isinstance(resource.get("hash"), str) and spec.sha256(data) != resource["hash"]:
        inspection.problems.add(name, "sha256 does not match the hash in datapackage.json (changed or damaged)")


def _check_descriptor(files: BundleFiles, inspection: Inspection) -> bytes | None:
    """datapackage.json and its resources against the files; returns its bytes (for the signature)."""
    problems = inspection.problems
    if DATAPACKAGE not in files.sizes:
        problems.add(DATAPACKAGE, "is missing; every bundle starts with it")
        return None
    parsed = parse(files, DATAPACKAGE, spec.MAX_DESCRIPTOR_BYTES)
    if parsed is None:
        return None
    raw, descriptor = parsed
    inspection.descriptor = descriptor

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.add(DATAPACKAGE, message)

    need(descriptor.get("$schema") == spec.DATAPACKAGE_PROFILE, f"\"$schema\" must be \"{spec.DATAPACKAGE_PROFILE}\"")
    name = descriptor.get("name")
    need(isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)), f"\"name\" {name!r} is not a valid bundle name")
    version = descriptor.get("version")
    need(isinstance(version, str) and bool(SEMVER_PATTERN.fullmatch(version)), f"\"version\" {version!r} is not SemVer")
    created = descriptor.get("created")
    need(isinstance(created, str) and bool(spec.RFC3339_UTC.fullmatch(created)),
         f"\"created\" {created!r} is not an RFC 3339 UTC time such as \"2026-11-12T00:00:00Z\"")
    tpkit = descriptor.get("tpkit")
    if not isinstance(tpkit, dict):
        need(False, "\"tpkit\" must be an object with \"schema_version\" and \"bundle_format\"; "
                    "a tpkit bundle names its content model and format")
    else:
        fmt = tpkit.get("bundle_format")
        need(fmt in spec.KNOWN_BUNDLE_FORMATS, f"\"tpkit.bundle_format\" {fmt!r} is not a bundle format this tpkit "
                                               f"knows ({', '.join(spec.KNOWN_BUNDLE_FORMATS)}); upgrade tpkit")
        need(isinstance(tpkit.get("schema_version"), str), "\"tpkit.schema_version\" must be a version such as \"1.1\"")
        default = tpkit.get("default_license")
        need(default is None or (isinstance(default, str) and bool(spec.LICENSE_PATTERN.fullmatch(default))),
             f"\"tpkit.default_license\" {default!r} is not an SPDX identifier or expression")
    resources = descriptor.get("resources")
    if not isinstance(resources, list):
        need(False, "\"resources\" must be a list")
        return raw
    names: set[str] = set()
    for i, resource in enumerate(resources):
        label = f"resources[{i}]"
        if not isinstance(resource, dict):
            need(False, f"{label} must be an object")
            continue
        path, rname = resource.get("path"), resource.get("name")
        if not isinstance(path, str) or safe_member(path) or path in (DATAPACKAGE, SIGNATURE):
            need(False, f"{label} has an invalid \"path\" {path!r}")
            continue
        label = f"resource {path!r}"
        if path in inspection.listed:
            need(False, f"{label} is listed more than once")
            continue
        if not isinstance(rname, str) or not NAME_PATTERN.fullmatch(rname):
            need(False, f"{label} has an invalid \"name\" {rname!r}")
        elif rname in names:
            need(False, f"{label} has the \"name\" {rname!r} of another resource")
        else:
            names.add(rname)
        size, digest = resource.get("bytes"), resource.get("hash")
        checked = dict(resource)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            need(False, f"{label} has an invalid \"bytes\" {size!r}")
            checked["bytes"] = None
        if not isinstance(digest, str) or not HASH.fullmatch(digest):
            need(False, f"{label} has an invalid \"hash\" {digest!r}; write \"sha256:\" and 64 lower-case hex digits")
            checked["hash"] = None
        inspection.listed[path] = checked
        if path not in files.sizes:
            problems.add(path, "is listed in datapackage.json but missing from the bundle")
        elif checked["bytes"] is not None and files.sizes[path] != size:
            problems.add(path, f"has {files.sizes[path]:,} bytes; datapackage.json says {size:,}")
    for path in sorted(files.sizes):
        if path not in (DATAPACKAGE, SIGNATURE) and path not in inspection.listed:
            problems.add(path, "is not listed in datapackage.json; remove it or rebuild the bundle")
    return raw


def _check_schemas(files: BundleFiles, inspection: Inspection, trust_bundled_schema: bool):
    """Whether the entries can be checked with tpkit's own validation ("tpkit"), with the bundled
    schema only ("bundled", a validator), or not at all (None)."""
    problems = inspection.problems
    for required in (INDEX, ENTRY_SCHEMA_PATH, INDEX_SCHEMA_PATH):
        if required not in files.sizes and required not in inspection.listed:
            problems.add(required, "is missing; every bundle has it")
    if INDEX_SCHEMA_PATH in files.sizes:
        raw = files.read(INDEX_SCHEMA_PATH, spec.MAX_SCHEMA_BYTES)
        if raw is not None:
            _check_hash(inspection, INDEX_SCHEMA_PATH, raw)
            if raw != spec.schema_bytes(INDEX_SCHEMA):
                problems.add(INDEX_SCHEMA_PATH, "is not the index schema tpkit publishes (changed or replaced); "
                                                "index.json is checked with tpkit's own")
    tpkit = inspection.descriptor.get("tpkit")
    version = tpkit.get("schema_version") if isinstance(tpkit, dict) else None
    if ENTRY_SCHEMA_PATH not in files.sizes or not isinstance(version, str):
        return None
    raw = files.read(ENTRY_SCHEMA_PATH, spec.MAX_SCHEMA_BYTES)
    if raw is None:
        return None
    _check_hash(inspection, ENTRY_SCHEMA_PATH, raw)
    published = spec.published_entry_schemas()
    if version in published:
        if spec.sha256(raw) not in published[version]:
            problems.add(ENTRY_SCHEMA_PATH, f"is not the entry schema tpkit published for content model {version} "
                                            "(changed or replaced); entries are checked with tpkit's own")
        return "tpkit"
    if not trust_bundled_schema:
        problems.add(ENTRY_SCHEMA_PATH, f"is for content model {version!r}, which this tpkit does not know "
                                        f"({', '.join(sorted(published))}); upgrade tpkit, or trust the bundled "
                                        "schema (--trust-bundled-schema) to check the entries against it")
        return None
    return _bundled_validator(raw, problems)


def _bundled_validator(raw: bytes, problems: Problems):
    try:
        schema = load_bytes(raw, Path(ENTRY_SCHEMA_PATH), ENTRY_SCHEMA_PATH).data
    except LoadError as exc:
        problems.add(ENTRY_SCHEMA_PATH, f"is not valid JSON: {exc.issue.message}")
        return None
    import jsonschema_rs

    def refuse(uri: str) -> Any:
        # A bundle is untrusted input: its schema may not make verify fetch URLs or read local files.
        raise ValueError(f"the bundled schema refers to {uri}; a bundle's schemas must be self-contained")

    try:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, retriever=refuse)
    except Exception as exc:  # jsonschema_rs raises ValidationError / ValueError for a broken schema
        problems.add(ENTRY_SCHEMA_PATH, f"is not a usable JSON Schema: {str(exc).splitlines()[0]}")
        return None


def _issue_text(issue) -> str:
    return f"{issue.code} at line {issue.line}, column {issue.column} ({issue.pointer or '/'}): {issue.message}"


def _check_entries(files: BundleFiles, inspection: Inspection, checker, today: _dt.date | None,
                   keep: bool) -> set[str]:
    """Every entries/<id>.json: hash, tpkit's full validation (or the trusted bundled schema),
    canonical form; then the collection rules. Returns the ids of all entry files."""
    problems = inspection.problems
    options = Options(today=today)
    results: list[_MemberResult] = []
    entry_ids: set[str] = set()
    for name in sorted(files.sizes):
        match = ENTRY_FILE.fullmatch(name)
        if not match:
            if name.startswith("entries/") and name.endswith((".json", ".jsonld")):
                problems.add(name, "is not a valid entry file name; write entries/<id>.json or "
                                   "entries/<id>.jsonld with a lower-case slug id")
            continue
        if match.group(2) != "json":
            continue
        entry_ids.add(match.group(1))
        raw = files.read(name, spec.MAX_ENTRY_BYTES)
        if raw is None:
            continue
        _check_hash(inspection, name, raw)
        try:
            loaded = load_bytes(raw, Path(name), name)
        except LoadError as exc:
            problems.add(name, _issue_text(exc.issue))
            continue
        if checker is None:
            continue
        if checker != "tpkit":
            errors = list(itertools.islice(checker.iter_errors(loaded.data), _SCHEMA_ERRORS_SHOWN))
            for error in errors:
                where = "".join(f"/{part}" for part in error.instance_path) or "/"
                problems.add(name, f"does not match the bundled entry schema at {where}: {error.message}")
            continue
        result = _MemberResult(Path(name), name, reload=lambda name=name: load_bytes(
            files.read(name, spec.MAX_ENTRY_BYTES) or b"{}", Path(name), name))
        check_loaded(result, loaded, options)
        result.loaded = None  # its text and data: read again from the bundle if a collection rule needs them
        results.append(result)
        entry, result.entry = result.entry, None  # kept below only if wanted
        if result.ok and entry is not None:
            try:
                canonical = canonical_json(entry)
            except Exception as exc:  # noqa: BLE001 - a text UTF-8 cannot hold
                problems.add(name, str(exc))
                continue
            if canonical != raw:
                problems.add(name, "is not in canonical form (key order, indent, escapes, line ends or "
                                   "final newline differ from what tpkit writes)")
            inspection.facts[entry.id] = Facts(entry.name, entry.license, index_row(entry), source_items(entry),
                                               spec.sha256(raw))
            if keep:
                inspection.entries[entry.id] = entry
    check_collection(results, options)
    for result in results:
        for issue in result.issues:
            if issue.is_error:
                problems.add(result.display, _issue_text(issue))
                inspection.facts.pop(result.display.removeprefix("entries/").removesuffix(".json"), None)
    return entry_ids


def read_entry(files: BundleFiles, inspection: Inspection, entry_id: str) -> Entry | None:
    """A valid entry of the bundle: the one kept, or read and parsed again."""
    if entry_id in inspection.entries:
        return inspection.entries[entry_id]
    raw = files.read(f"entries/{entry_id}.json", spec.MAX_ENTRY_BYTES)
    return None if raw is None else Entry.model_validate_json(raw)  # it passed validation as these bytes


def _derived(inspection: Inspection) -> tuple[str, list[str | None]]:
    """The bundle's format and the default licenses its JSON-LD may have used for unlicensed entries."""
    tpkit = inspection.descriptor.get("tpkit", {})
    fmt = tpkit.get("bundle_format", spec.BUNDLE_FORMAT)
    if fmt != "1.0":
        return fmt, [tpkit.get("default_license")]
    # Format 1.0 did not record the default license: any license the package names may be it.
    named = [item.get("name") for item in inspection.descriptor.get("licenses", []) if isinstance(item, dict)]
    return fmt, [None] + [name for name in named if isinstance(name, str) and spec.LICENSE_PATTERN.fullmatch(name)]


def _check_jsonld(files: BundleFiles, inspection: Inspection, entry_ids: set[str], complete: bool) -> None:
    """Every entries/<id>.jsonld: present for each entry, and exactly what tpkit derives from it."""
    problems = inspection.problems
    fmt, defaults = _derived(inspection)
    names = {entry_id: facts.name for entry_id, facts in inspection.facts.items()}
    jsonld_ids = set()
    for name in sorted(files.sizes):
        match = ENTRY_FILE.fullmatch(name)
        if not match or match.group(2) != "jsonld":
            continue
        entry_id = match.group(1)
        jsonld_ids.add(entry_id)
        if entry_id not in entry_ids:
            problems.add(name, f"has no entry entries/{entry_id}.json")
            continue
        raw = files.read(name, spec.MAX_JSONLD_BYTES)
        if raw is None:
            continue
        _check_hash(inspection, name, raw)
        if entry_id not in inspection.facts or not complete:
            continue  # the entry's own problems are reported; its JSON-LD cannot be derived
        entry = read_entry(files, inspection, entry_id)
        if entry is None:
            continue
        options = defaults if entry.license is None else [None]
        if not any(raw == dumps(to_jsonld(entry, names, default_license=default, bundle_format=fmt))
                   for default in options):
            problems.add(name, f"is not the JSON-LD tpkit derives from entries/{entry_id}.json (\"@id\" "
                               f"{muscle_iri(entry_id)}, context inline): a name, text, link or context "
                               "contradicts the entry")
    for entry_id in sorted(entry_ids - jsonld_ids):
        if f"entries/{entry_id}.jsonld" not in inspection.listed:  # else already reported as listed but missing
            problems.add(f"entries/{entry_id}.jsonld", "is missing; every entry has its JSON-LD")


def _check_index(files: BundleFiles, inspection: Inspection, entry_ids: set[str]) -> None:
    problems = inspection.problems
    if INDEX not in files.sizes:
        return
    parsed = parse(files, INDEX, spec.MAX_INDEX_BYTES)
    if parsed is None:
        return
    raw, index = parsed
    _check_hash(inspection, INDEX, raw)
    import jsonschema

    from tpkit.schema import load_schema

    validator = jsonschema.Draft202012Validator(load_schema(INDEX_SCHEMA), format_checker=jsonschema.FormatChecker())
    errors = list(itertools.islice(validator.iter_errors(index), _SCHEMA_ERRORS_SHOWN))  # lazily: never all of them
    for error in errors:
        where = "".join(f"/{part}" for part in error.absolute_path) or "/"
        problems.add(INDEX, f"does not match the index schema at {where}: {error.message[:300]}")
    if errors:
        return
    descriptor = inspection.descriptor
    tpkit = descriptor.get("tpkit") if isinstance(descriptor.get("tpkit"), dict) else {}
    for key, expected in (("name", descriptor.get("name")), ("version", descriptor.get("version")),
                          ("schema_version", tpkit.get("schema_version"))):
        if index.get(key) != expected:
            problems.add(INDEX, f"\"{key}\" is {index.get(key)!r}; datapackage.json says {expected!r}")
    rows: dict[str, dict] = {}
    for row in index["entries"]:
        if row["id"] in rows:
            problems.add(INDEX, f"lists entry {row['id']!r} more than once")
        rows[row["id"]] = row
    for entry_id in sorted(set(rows) - entry_ids):
        problems.add(INDEX, f"lists entry {entry_id!r}, but the bundle has no entries/{entry_id}.json")
    for entry_id in sorted(entry_ids - set(rows)):
        problems.add(INDEX, f"has no row for entries/{entry_id}.json")
    import json

    for entry_id, facts in inspection.facts.items():
        row = rows.get(entry_id)
        if row is None:
            continue
        expected = facts.row
        for key in expected:
            if key != "id" and row.get(key) != expected[key]:
                found, wanted = (json.dumps(v, ensure_ascii=False) for v in (row.get(key), expected[key]))
                problems.add(INDEX, f"row {entry_id!r}: \"{key}\" is {found}; entries/{entry_id}.json says {wanted}")


def _check_package_metadata(inspection: Inspection) -> None:
    """datapackage.json's licenses and sources are what tpkit derives from the entries."""
    descriptor = inspection.descriptor
    facts = [inspection.facts[key] for key in sorted(inspection.facts)]
    fmt, defaults = _derived(inspection)
    if descriptor.get("sources", []) != merge_sources(pair for fact in facts for pair in fact.sources):
        inspection.problems.add(DATAPACKAGE, "\"sources\" are not the works the entries cite")
    if fmt != "1.0" and descriptor.get("licenses", []) != licenses_of((f.license for f in facts), defaults[0]):
        inspection.problems.add(DATAPACKAGE, "\"licenses\" are not the entries' licenses (with \"tpkit.default_license\" "
                                             "for entries that name none)")


def _check_other_files(files: BundleFiles, inspection: Inspection) -> None:
    """The hash of every listed file not read for another check, read in chunks."""
    for name in sorted(inspection.listed):
        if name in files.sizes and name not in inspection.hashed and not inspection.problems.about(name):
            digest = files.digest(name)
            if digest is not None and inspection.listed[name]["hash"] not in (None, digest):
                inspection.problems.add(name, "sha256 does not match the hash in datapackage.json (changed or damaged)")


def inspect(path: str | os.PathLike, *, trusted_keys: Sequence[str | os.PathLike] = (),
            trust_bundled_schema: bool = False, today: _dt.date | None = None, keep: bool = False) -> Inspection:
    """Every check of ``verify``; with ``keep``, the valid entries' models too (``load``)."""
    inspection = Inspection()
    problems = inspection.problems
    with open_bundle(Path(path), problems) as files:
        if not files.sizes and problems:
            return inspection
        descriptor_bytes = _check_descriptor(files, inspection)
        if descriptor_bytes is None:
            return inspection  # without the manifest nothing else can be checked against it
        if trusted_keys:
            from .sign import check_signature

            check_signature(Path(path), files, descriptor_bytes, trusted_keys, problems)
        checker = _check_schemas(files, inspection, trust_bundled_schema)
        entry_ids = _check_entries(files, inspection, checker, today, keep)
        complete = checker == "tpkit" and len(inspection.facts) == len(entry_ids)
        _check_jsonld(files, inspection, entry_ids, complete)
        if not entry_ids and files.sizes:
            problems.add("entries/", "holds no entries")
        _check_index(files, inspection, entry_ids)
        if complete and inspection.descriptor:
            _check_package_metadata(inspection)
        _check_other_files(files, inspection)
    return inspection


def verify(path: str | os.PathLike, *, trusted_keys: Sequence[str | os.PathLike] = (),
           trust_bundled_schema: bool = False) -> list[Problem]:
    """Every problem of a bundle folder or zip; empty when it is intact, valid and (with
    ``trusted_keys``, paths of public keys) signed by one of those keys.

    See docs/bundle-format.md ("What `tpkit bundle verify` checks"). Raises
    FileNotFoundError when the path does not exist.
    """
    inspection = inspect(path, trusted_keys=trusted_keys, trust_bundled_schema=trust_bundled_schema)
    return inspection.problems.sorted(str(path))


def load(path: str | os.PathLike, *, trusted_keys: Sequence[str | os.PathLike] = ()) -> list[Entry]:
    """Verify a bundle and return its entries (sorted by id); raise BundleError listing every problem.

    With ``trusted_keys`` the bundle must be signed by one of them. Only content models this
    tpkit knows can be loaded (its entries become ``tpkit.models.Entry``)."""
    inspection = inspect(path, trusted_keys=trusted_keys, keep=True)
    if inspection.problems:
        raise BundleError(inspection.problems.sorted(str(path)), path)
    return [inspection.entries[key] for key in sorted(inspection.entries)]
