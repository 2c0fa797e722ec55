"""JSON bundles: validated entries as a versioned, verifiable Frictionless Data Package.

A bundle is a folder (or a zip of the same files, at its root)::

    datapackage.json                  Frictionless Data Package v2 descriptor
    index.json                        one row per entry (schemas/bundle-index.json)
    entries/<id>.json                 each entry in canonical form
    entries/<id>.jsonld               each entry as schema.org JSON-LD, context inline
    schemas/muscle-entry.json         the entry schema the bundle was built with
    schemas/bundle-index.json         the index schema

``docs/bundle-format.md`` documents every file and field and the versioning
promise. This module is the library: ``build_bundle`` (bytes in memory),
``write_bundle`` (folder and zip on disk), ``verify``, ``load``, ``diff`` and
``format_diff``. It never prints and never exits; the CLI wires it up.

The same entries, name, version, title, license and ``SOURCE_DATE_EPOCH`` give
byte-identical files and zip (with the same tpkit version, whose version is
recorded in ``datapackage.json``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

from tpkit import __version__, marks
from tpkit.errors import BundleError
from tpkit.layout import SECTIONS, collection_order
from tpkit.models import Entry
from tpkit.schema import load_schema, schema_path
from tpkit.vocabulary import format_segments
from tpkit.write import write_atomic

# -- constants of bundle format 1 ------------------------------------------------------------------

BUNDLE_FORMAT = "1.0"
"""Version of the bundle layout (files, datapackage.json and index.json fields); see docs/bundle-format.md."""

CONTENT_MODEL_VERSION = "1.0"
"""The content model (schema_version) that tpkit's entry schema describes."""

DATAPACKAGE = "datapackage.json"
INDEX = "index.json"
ENTRY_SCHEMA = "muscle-entry.schema.json"
INDEX_SCHEMA = "bundle-index.schema.json"
# Inside the bundle the schemas drop the ".schema" infix: frictionless-py takes any file named
# "*schema.json" for a Frictionless Table Schema and would report the bundle invalid.
ENTRY_SCHEMA_PATH = "schemas/muscle-entry.json"
INDEX_SCHEMA_PATH = "schemas/bundle-index.json"
ENTRY_SCHEMA_REF = f"../{ENTRY_SCHEMA_PATH}"  # "$schema" of every bundled entry, relative to entries/
INDEX_SCHEMA_REF = INDEX_SCHEMA_PATH  # "$schema" of index.json, relative to the bundle root
DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
DEFAULT_TITLE = "Myofascial trigger point entries"
JSONLD_VOCAB = "http://schema.org/"  # the namespace schema.org's own JSON-LD context maps terms to
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # verify refuses bundles whose files add up to more (zip bombs)

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*", re.ASCII)
NAME_MAX = 100
SEMVER_PATTERN = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
_LICENSE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*", re.ASCII)
_SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*", re.ASCII)
_RFC3339_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", re.ASCII)
_HASH = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_ENTRY_FILE = re.compile(r"entries/([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.(json|jsonld)", re.ASCII)

# Titles of common SPDX licenses, for datapackage.json "licenses" (others get no title).
LICENSE_TITLES = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0 International",
    "CC-BY-SA-4.0": "Creative Commons Attribution Share Alike 4.0 International",
    "CC-BY-NC-4.0": "Creative Commons Attribution Non Commercial 4.0 International",
    "CC-BY-NC-SA-4.0": "Creative Commons Attribution Non Commercial Share Alike 4.0 International",
    "CC-BY-ND-4.0": "Creative Commons Attribution No Derivatives 4.0 International",
    "CC-BY-NC-ND-4.0": "Creative Commons Attribution Non Commercial No Derivatives 4.0 International",
    "CC0-1.0": "Creative Commons Zero v1.0 Universal",
    "MIT": "MIT License",
    "Apache-2.0": "Apache License 2.0",
}

# What each file kind is, for datapackage.json resources: (format, mediatype)
_MEDIA = {
    "entry": ("json", "application/json"),
    "jsonld": ("jsonld", "application/ld+json"),
    "index": ("json", "application/json"),
    "schema": ("json", "application/schema+json"),
}

# Entry properties that are not sections: reported by their own key in diffs.
METADATA_KEYS = ("schema_version", "name", "status", "updated", "region", "authors", "license")
# Entry properties printed inside another section (layout.SECTIONS key).
_PROPERTY_SECTION = {"trigger_points": "referral_pattern", "citations": "references"}
_IGNORED_IN_DIFF = ("$schema", "id")


@dataclass(frozen=True, order=True)
class Problem:
    """One verification failure: the file it concerns (a path inside the bundle, or the bundle itself), and what."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "message": self.message}


# -- canonical entry JSON ---------------------------------------------------------------------------

def _dumps(data: Any) -> bytes:
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
            raise ValueError("text holds a character that UTF-8 cannot encode (surrogates not allowed); "
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
            raise ValueError(f"{where or '/'}: property {unknown[0]!r} is not in the entry schema")
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
    return _dumps(entry_data(entry, schema_ref=schema_ref))


# -- schema.org JSON-LD -----------------------------------------------------------------------------

def muscle_iri(entry_id: str) -> str:
    """The JSON-LD ``@id`` of an entry's muscle: ``urn:tpkit:muscle:<id>``."""
    return f"urn:tpkit:muscle:{entry_id}"


def _unique(items: Iterable[dict]) -> list[dict]:
    seen: list[dict] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _license_url(expression: str | None) -> str | None:
    if expression and _SPDX_ID.fullmatch(expression):
        return f"https://spdx.org/licenses/{expression}.html"
    return None


def to_jsonld(entry: Entry, names: Mapping[str, str] | None = None, *, default_license: str | None = None) -> dict:
    """The entry as a schema.org ``Muscle`` in JSON-LD, with its context inline (no network needed).

    ``names`` maps entry ids to names, to name associated muscles that have an
    entry; ``default_license`` stands for an entry that names no license. Texts
    are plain (marks removed). The mapping is documented in
    docs/bundle-format.md; ``origin`` is absent because schema.org's Muscle has
    no such property.
    """
    names = names or {}
    P = marks.plain
    nerves = _unique(
        {"@type": "Nerve", "name": P(row.innervation.nerve),
         "description": f"Roots: {format_segments(row.innervation.roots)}"}
        for row in entry.anatomy
    )
    insertions = _unique({"@type": "AnatomicalStructure", "name": P(row.insertion)} for row in entry.anatomy)
    associated = []
    for item in entry.associated_trigger_points:
        node = {"@type": "Muscle", "@id": muscle_iri(item.muscle), "identifier": item.muscle}
        if item.muscle in names:
            node["name"] = P(names[item.muscle])
        node["description"] = P(item.note)
        associated.append(node)
    work: dict[str, Any] = {
        "@type": "CreativeWork",
        "name": f"{P(entry.name)}: myofascial trigger points",
        "dateModified": entry.updated.isoformat(),
        "creativeWorkStatus": entry.status,
    }
    license_url = _license_url(entry.license or default_license)
    if license_url:
        work["license"] = license_url
    return {
        "@context": {"@vocab": JSONLD_VOCAB, "license": {"@type": "@id"}},
        "@type": "Muscle",
        "@id": muscle_iri(entry.id),
        "identifier": entry.id,
        "name": P(entry.name),
        "description": P(entry.summary),
        "bodyLocation": P(entry.area),
        "muscleAction": [P(action.action) for action in entry.actions],
        "nerve": nerves,
        "insertion": insertions,
        "connectedTo": associated,
        "relatedCondition": [
            {"@type": "MedicalCondition", "name": P(d.condition), "description": P(d.distinguishing_features)}
            for d in entry.differential_diagnosis
        ],
        "relatedTherapy": [
            {"@type": "MedicalTherapy", "name": P(item.name), "description": P(item.instructions)}
            for group in entry.corrective_actions for item in group.items
        ],
        "subjectOf": work,
    }


# -- building ---------------------------------------------------------------------------------------

def check_name(name: str) -> str:
    """A bundle name: Frictionless-valid and safe as a file name; raise ValueError otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > NAME_MAX:
        raise ValueError(
            f"bundle name {name!r} is not valid: use lower-case letters, digits, '.', '-' and '_', "
            f"starting with a letter or digit, at most {NAME_MAX} characters (e.g. \"tpkit-entries\")")
    return name


def check_version(version: str) -> str:
    """A content version: SemVer 2.0.0 (e.g. "1.4.0", "2.0.0-rc.1"); raise ValueError otherwise."""
    if not isinstance(version, str) or not SEMVER_PATTERN.fullmatch(version):
        raise ValueError(
            f"bundle version {version!r} is not a SemVer version: write MAJOR.MINOR.PATCH such as \"1.4.0\" "
            "(optionally with a pre-release such as \"-rc.1\"); see https://semver.org")
    return version


def created_time(entries: Sequence[Entry]) -> _dt.datetime:
    """The bundle's ``created`` time: SOURCE_DATE_EPOCH if set, else the newest ``updated`` at 00:00 UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    newest = max(entry.updated for entry in entries)
    return _dt.datetime(newest.year, newest.month, newest.day, tzinfo=_dt.timezone.utc)


def _rfc3339(moment: _dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("created must be a timezone-aware datetime")
    # isoformat, not strftime("%Y"): strftime drops the leading zeros of years before 1000
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _licenses(entries: Sequence[Entry], license: str | None) -> list[dict]:
    if license is not None and not _LICENSE_PATTERN.fullmatch(license):
        raise ValueError(f"license {license!r} is not an SPDX identifier or expression such as \"CC-BY-4.0\"")
    chosen = sorted({e.license or license for e in entries} - {None})
    out = []
    for expression in chosen:
        item: dict[str, str] = {"name": expression}
        url = _license_url(expression)
        if url:
            item["path"] = url
        if expression in LICENSE_TITLES:
            item["title"] = LICENSE_TITLES[expression]
        out.append(item)
    return out


def _sources(entries: Sequence[Entry]) -> list[dict]:
    """The works the entries cite, each once: Data Package ``sources``."""
    found: dict[tuple, dict] = {}
    for entry in entries:
        for c in entry.citations:
            people = c.author or c.editor or []
            who = ", ".join(p.family for p in people[:3]) + (" et al." if len(people) > 3 else "")
            item = {"title": f"{who} ({c.issued.year}). {c.title}"}
            if c.DOI:
                item["path"] = f"https://doi.org/{c.DOI}"
            elif c.URL:
                item["path"] = c.URL
            key = (c.title.casefold(), c.issued.year, item.get("path"))
            found.setdefault(key, item)
    return sorted(found.values(), key=lambda item: (item["title"].casefold(), item["title"], item.get("path", "")))


def _schema_bytes(name: str) -> bytes:
    return schema_path(name).read_bytes().replace(b"\r\n", b"\n")


def _resource_name(path: str) -> str:
    return path.replace("/", "-")


def build_bundle(entries: Sequence[Entry], *, name: str, version: str, title: str | None = None,
                 license: str | None = None, created: _dt.datetime | None = None) -> dict[str, bytes]:
    """Every file of the bundle, as {relative POSIX path: bytes}, ``datapackage.json`` first, the rest sorted.

    ``entries`` must be validated entries with unique ids. ``license`` (an SPDX
    id or expression) stands for entries that name none: the package's
    ``licenses`` are the distinct licenses of the entries, counting ``license``
    for those that name none, and their JSON-LD carries it. The entry files
    themselves are never changed. ``created`` overrides SOURCE_DATE_EPOCH and
    the newest ``updated``. Raises ValueError on an invalid name, version or
    license, no entries, or a duplicate id.
    """
    check_name(name)
    check_version(version)
    entries = sorted(entries, key=lambda e: e.id)  # the order they are given in never shows
    if not entries:
        raise ValueError("no entries to bundle")
    for first, second in zip(entries, entries[1:]):
        if first.id == second.id:
            raise ValueError(f"entry id {first.id!r} is given more than once; ids must be unique in a bundle")
    moment = created if created is not None else created_time(entries)
    names = {e.id: e.name for e in entries}

    files: dict[str, bytes] = {}
    titles: dict[str, str] = {}
    for entry in entries:
        files[f"entries/{entry.id}.json"] = canonical_json(entry)
        files[f"entries/{entry.id}.jsonld"] = _dumps(to_jsonld(entry, names, default_license=license))
        titles[f"entries/{entry.id}.json"] = marks.plain(entry.name)
        titles[f"entries/{entry.id}.jsonld"] = f"{marks.plain(entry.name)} (schema.org JSON-LD)"
    files[INDEX] = _dumps(build_index(entries, name=name, version=version))
    titles[INDEX] = "Index of the entries"
    for schema_name, path in ((ENTRY_SCHEMA, ENTRY_SCHEMA_PATH), (INDEX_SCHEMA, INDEX_SCHEMA_PATH)):
        files[path] = _schema_bytes(schema_name)
        titles[path] = load_schema(schema_name).get("title", schema_name)

    resources = []
    for path in sorted(files):
        kind = ("jsonld" if path.endswith(".jsonld") else "entry") if path.startswith("entries/") else (
            "schema" if path.startswith("schemas/") else "index")
        fmt, mediatype = _MEDIA[kind]
        data = files[path]
        resources.append({
            "name": _resource_name(path),
            "title": titles[path],
            "path": path,
            "format": fmt,
            "mediatype": mediatype,
            "encoding": "utf-8",
            "bytes": len(data),
            "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
        })
    descriptor: dict[str, Any] = {
        "$schema": DATAPACKAGE_PROFILE,
        "name": name,
        "title": title or DEFAULT_TITLE,
        "version": version,
        "created": _rfc3339(moment),
    }
    licenses = _licenses(entries, license)
    if licenses:
        descriptor["licenses"] = licenses
    sources = _sources(entries)
    if sources:
        descriptor["sources"] = sources
    descriptor["tpkit"] = {
        "version": __version__, "schema_version": CONTENT_MODEL_VERSION, "bundle_format": BUNDLE_FORMAT,
    }
    descriptor["resources"] = resources
    return {DATAPACKAGE: _dumps(descriptor), **{path: files[path] for path in sorted(files)}}


def build_index(entries: Sequence[Entry], *, name: str, version: str) -> dict:
    """index.json as data: one row per entry, in collection order."""
    return {
        "$schema": INDEX_SCHEMA_REF,
        "name": name,
        "version": version,
        "schema_version": CONTENT_MODEL_VERSION,
        "entries": [_index_row(entry) for entry in collection_order(entries)],
    }


def _index_row(entry: Entry) -> dict:
    return {
        "id": entry.id,
        "name": entry.name,
        "region": entry.region,
        "status": entry.status,
        "updated": entry.updated.isoformat(),
        "associated": [item.muscle for item in entry.associated_trigger_points],
        "files": {"json": f"entries/{entry.id}.json", "jsonld": f"entries/{entry.id}.jsonld"},
    }


def _zip_time(created: str) -> tuple[int, int, int, int, int, int]:
    moment = _dt.datetime.fromisoformat(created.removesuffix("Z"))
    low, high = _dt.datetime(1980, 1, 1), _dt.datetime(2107, 12, 31, 23, 59, 58)
    moment = min(max(moment, low), high)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP_VERSION = 20  # 2.0: deflate


def _reusable_members(previous: bytes | None) -> dict[str, tuple[int, bytes]]:
    """{name: (CRC, raw deflated bytes)} of the members of an earlier zip of the bundle."""
    if not previous:
        return {}
    found = {}
    try:
        with zipfile.ZipFile(io.BytesIO(previous)) as archive:
            for info in archive.infolist():
                if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
                    continue
                header = _LOCAL_HEADER.unpack_from(previous, info.header_offset)
                if header[0] != b"PK\x03\x04":
                    continue
                start = info.header_offset + _LOCAL_HEADER.size + header[10] + header[11]
                found[info.filename] = (info.CRC, previous[start:start + info.compress_size])
    except (zipfile.BadZipFile, struct.error, ValueError, OverflowError):
        return {}
    return found


def build_zip(files: Mapping[str, bytes], previous: bytes | None = None) -> bytes:
    """The zip of a built bundle: files at the root, ``datapackage.json`` first then sorted paths,
    every member dated ``created`` (clamped to 1980–2107), deflated at level 9, mode 0644, no
    directory entries; the layout Python's ``zipfile`` writes (a test holds them equal).

    ``previous``, an earlier zip of the bundle, lends the compressed bytes of every member whose
    content has not changed (checked by inflating them), which spares most of the deflating when
    one entry of many changed.
    """
    descriptor = json.loads(files[DATAPACKAGE])
    date_time = _zip_time(descriptor["created"])
    order = [DATAPACKAGE] + sorted(p for p in files if p != DATAPACKAGE)
    if len(files) >= 0xFFFF or sum(map(len, files.values())) >= 0xFFFFFFFF // 2:
        return _zip64(files, order, date_time)  # beyond the classic format's counts and offsets
    year, month, day, hour, minute, second = date_time
    dos_time, dos_date = hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day
    reusable = _reusable_members(previous)
    parts: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for path in order:
        data = files[path]
        crc = zlib.crc32(data)
        old = reusable.get(path)
        raw = None
        if old is not None and old[0] == crc:
            try:
                if zlib.decompress(old[1], -15) == data:
                    raw = old[1]
            except zlib.error:
                pass
        if raw is None:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            raw = compressor.compress(data) + compressor.flush()
        name = path.encode("utf-8")
        flags = 0 if path.isascii() else 0x800  # UTF-8 names
        parts.append(_LOCAL_HEADER.pack(b"PK\x03\x04", _ZIP_VERSION, 0, flags, zipfile.ZIP_DEFLATED, dos_time,
                                        dos_date, crc, len(raw), len(data), len(name), 0) + name)
        parts.append(raw)
        # made on Unix (3), so that the external attributes mean the same everywhere: a 0644 file
        central.append(_CENTRAL_HEADER.pack(b"PK\x01\x02", _ZIP_VERSION, 3, _ZIP_VERSION, 0, flags,
                                            zipfile.ZIP_DEFLATED, dos_time, dos_date, crc, len(raw), len(data),
                                            len(name), 0, 0, 0, 0, (stat.S_IFREG | 0o644) << 16, offset) + name)
        offset += _LOCAL_HEADER.size + len(name) + len(raw)
    directory = b"".join(central)
    end = _END_RECORD.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join(parts) + directory + end


def _zip64(files: Mapping[str, bytes], order: list[str], date_time: tuple[int, ...]) -> bytes:
    """The same members through ``zipfile``, which adds ZIP64 records where sizes need them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in order:
            info = zipfile.ZipInfo(path, date_time=date_time)
            info.create_system = 3  # Unix, so that the external attributes mean the same everywhere
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[path], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def zip_name(name: str, version: str) -> str:
    return f"{check_name(name)}-{check_version(version)}.zip"


def write_bundle(entries: Sequence[Entry], out_dir: Path, *, name: str, version: str, title: str | None = None,
                 license: str | None = None, created: _dt.datetime | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/bundle/`` and ``out_dir/<name>-<version>.zip``; return both paths.

    The folder is built beside the old one and swapped in (so no stale file
    survives, and a failure leaves the old folder as it was); the zip is written
    atomically. Raises ValueError as ``build_bundle`` does, OSError on I/O failure.
    """
    files = build_bundle(entries, name=name, version=version, title=title, license=license, created=created)
    out_dir = Path(out_dir)
    zip_path = out_dir / zip_name(name, version)
    archive = build_zip(files, previous=_previous_zip(zip_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "bundle"
    if target.exists() and not target.is_dir():
        raise FileExistsError(17, "exists and is not a folder; move it away", str(target))
    fresh = Path(tempfile.mkdtemp(prefix=".bundle.new.", dir=out_dir))
    old: Path | None = None
    try:
        for path, data in files.items():
            destination = fresh / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            if _link_if_unchanged(target / path, destination, data):
                continue
            with open(destination, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(destination, 0o644)
        for folder in sorted({p.parent for p in fresh.rglob("*")} | {fresh}):
            os.chmod(folder, 0o755)
        # Two renames: the old folder is moved aside, the new one moved in. Python has no atomic
        # exchange of two folders, so for an instant there is no bundle/; there is never a mix.
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=".bundle.old.", dir=out_dir))
            os.replace(target, old / "bundle")
        try:
            os.replace(fresh, target)
        except BaseException:
            if old is not None:
                os.replace(old / "bundle", target)
            raise
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        if old is not None and not (old / "bundle").exists():
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    write_atomic(zip_path, archive)
    return target, zip_path


def _previous_zip(path: Path) -> bytes | None:
    """The bundle's zip as an earlier build left it, to lend ``build_zip`` its compressed members."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return path.read_bytes()
    except OSError:
        return None


def _link_if_unchanged(old: Path, new: Path, data: bytes) -> bool:
    """Give ``new`` the earlier build's file ``old`` (a hard link) if that holds ``data`` already.

    A bundle of a thousand entries is two thousand files; when one entry changed, linking the
    rest spares writing them again and waiting for each to reach the disk (they are there).
    """
    try:
        status = os.lstat(old)
        if (not stat.S_ISREG(status.st_mode) or stat.S_IMODE(status.st_mode) != 0o644 or status.st_nlink != 1
                or status.st_size != len(data)):
            return False
        if old.read_bytes() != data:
            return False
        os.link(old, new, follow_symlinks=False)
        return True
    except OSError:  # no earlier file, or a file system without hard links
        return False


# -- reading a bundle (folder or zip) ---------------------------------------------------------------

def _safe_member(name: str) -> str | None:
    """Why a path inside a bundle is unsafe, or None."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"[A-Za-z]:", name):
        return "absolute or Windows-style path"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "path with an empty, '.' or '..' part"
    if any(ord(ch) < 32 for ch in name):
        return "path with a control character"
    return None


def _read_folder(root: Path, problems: list[Problem], limit: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    sizes: list[tuple[str, Path, int]] = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        here = Path(folder)
        for name in sorted(dirs + names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                problems.append(Problem(relative, "is a symbolic link; a bundle holds regular files only"))
                if name in dirs:
                    dirs.remove(name)
                continue
            if name in names:
                if not path.is_file():
                    problems.append(Problem(relative, "is not a regular file"))
                    continue
                sizes.append((relative, path, path.stat().st_size))
    total = sum(size for _, _, size in sizes)
    if total > limit:
        problems.append(Problem(str(root), f"files add up to {total:,} bytes, over the {limit:,}-byte limit"))
        return {}
    for relative, path, _ in sizes:
        try:
            files[relative] = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(relative, f"cannot be read: {exc.strerror or exc}"))
    return files


def _read_zip(path: Path, problems: list[Problem], limit: int) -> dict[str, bytes]:
    where = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.append(Problem(where, f"is not a readable zip file: {exc}"))
        return {}
    files: dict[str, bytes] = {}
    with archive:
        members = []
        seen: set[str] = set()
        for info in archive.infolist():
            name = info.filename
            unsafe = _safe_member(name)
            if unsafe:
                problems.append(Problem(name, f"unsafe zip member ({unsafe}); refused"))
                continue
            if name in seen:
                problems.append(Problem(name, "appears more than once in the zip"))
                continue
            seen.add(name)
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.append(Problem(name, "is a symbolic link; a bundle holds regular files only"))
                continue
            if info.flag_bits & 0x1:
                problems.append(Problem(name, "is encrypted; a bundle holds plain files only"))
                continue
            members.append(info)
        total = sum(info.file_size for info in members)
        if total > limit:
            problems.append(Problem(where, f"members add up to {total:,} bytes uncompressed, over the "
                                           f"{limit:,}-byte limit; refused (zip bomb?)"))
            return {}
        budget = limit
        for info in members:
            try:
                with archive.open(info) as stream:
                    data = stream.read(min(info.file_size, budget) + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                problems.append(Problem(info.filename, f"cannot be read from the zip (damaged?): {exc}"))
                continue
            if len(data) > info.file_size:
                problems.append(Problem(info.filename, "holds more bytes than its zip header says; refused"))
                continue
            budget -= len(data)
            files[info.filename] = data
    return files


def _read_bundle(path: Path, problems: list[Problem], limit: int | None = None) -> dict[str, bytes]:
    path = Path(path)
    limit = MAX_BUNDLE_BYTES if limit is None else limit
    if path.is_dir():
        return _read_folder(path, problems, limit)
    if path.is_file():
        return _read_zip(path, problems, limit)
    if not path.exists():
        raise FileNotFoundError(2, "no such bundle folder or zip", str(path))
    problems.append(Problem(str(path), "is neither a folder nor a zip file"))
    return {}


# -- verification -----------------------------------------------------------------------------------

class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def _parse_json(path: str, data: bytes, problems: list[Problem]) -> Any:
    """Strict JSON (UTF-8, no BOM, no duplicate keys, no NaN); None after a Problem."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            raise ValueError("starts with a byte order mark")
        return _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, f"is not UTF-8: invalid byte at offset {exc.start}"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(path, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"))
    except (ValueError, RecursionError) as exc:
        problems.append(Problem(path, f"is not valid JSON: {exc}"))
    return None


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts) or "/"


def _schema_validator(path: str, files: Mapping[str, bytes], problems: list[Problem]):
    if path not in files:
        return None
    schema = _parse_json(path, files[path], problems)
    if schema is None:
        return None
    import jsonschema_rs

    def refuse(uri: str) -> Any:
        # A bundle is untrusted input: its schema may not make verify fetch URLs or read local files.
        raise ValueError(f"the bundled schema refers to {uri}; a bundle's schemas must be self-contained")

    try:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, retriever=refuse)
    except Exception as exc:  # jsonschema_rs raises ValidationError / ValueError for a broken schema
        problems.append(Problem(path, f"is not a usable JSON Schema: {str(exc).splitlines()[0]}"))
        return None


def _schema_errors(validator, data: Any, file: str, problems: list[Problem], what: str) -> bool:
    errors = list(validator.iter_errors(data))
    for error in errors[:20]:
        where = _pointer(error.instance_path)
        problems.append(Problem(file, f"does not match the bundled {what} at {where}: {error.message}"))
    if len(errors) > 20:
        problems.append(Problem(file, f"… and {len(errors) - 20} more schema errors"))
    return not errors


@dataclass
class _Inspection:
    problems: list[Problem] = field(default_factory=list)
    descriptor: dict = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)  # id -> entry, in path order


def _check_descriptor(files: Mapping[str, bytes], result: _Inspection) -> dict[str, dict]:
    """datapackage.json itself and its resources against the files; returns the valid resources by path."""
    problems = result.problems
    if DATAPACKAGE not in files:
        problems.append(Problem(DATAPACKAGE, "is missing; every bundle starts with it"))
        return {}
    descriptor = _parse_json(DATAPACKAGE, files[DATAPACKAGE], problems)
    if not isinstance(descriptor, dict):
        if descriptor is not None:
            problems.append(Problem(DATAPACKAGE, "must hold one JSON object"))
        return {}
    result.descriptor = descriptor

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(Problem(DATAPACKAGE, message))

    need(descriptor.get("$schema") == DATAPACKAGE_PROFILE, f"\"$schema\" must be \"{DATAPACKAGE_PROFILE}\"")
    name = descriptor.get("name")
    need(isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)), f"\"name\" {name!r} is not a valid bundle name")
    version = descriptor.get("version")
    need(isinstance(version, str) and bool(SEMVER_PATTERN.fullmatch(version)), f"\"version\" {version!r} is not SemVer")
    created = descriptor.get("created")
    need(isinstance(created, str) and bool(_RFC3339_UTC.fullmatch(created)),
         f"\"created\" {created!r} is not an RFC 3339 UTC time such as \"2026-11-12T00:00:00Z\"")
    resources = descriptor.get("resources")
    if not isinstance(resources, list):
        need(False, "\"resources\" must be a list")
        return {}
    listed: dict[str, dict] = {}
    names: set[str] = set()
    for i, resource in enumerate(resources):
        label = f"resources[{i}]"
        if not isinstance(resource, dict):
            need(False, f"{label} must be an object")
            continue
        path, rname = resource.get("path"), resource.get("name")
        if not isinstance(path, str) or _safe_member(path) or path == DATAPACKAGE:
            need(False, f"{label} has an invalid \"path\" {path!r}")
            continue
        label = f"resource {path!r}"
        if path in listed:
            need(False, f"{label} is listed more than once")
            continue
        if not isinstance(rname, str) or not NAME_PATTERN.fullmatch(rname):
            need(False, f"{label} has an invalid \"name\" {rname!r}")
        elif rname in names:
            need(False, f"{label} has the \"name\" {rname!r} of another resource")
        else:
            names.add(rname)
        size, digest = resource.get("bytes"), resource.get("hash")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            need(False, f"{label} has an invalid \"bytes\" {size!r}")
            size = None
        if not isinstance(digest, str) or not _HASH.fullmatch(digest):
            need(False, f"{label} has an invalid \"hash\" {digest!r}; write \"sha256:\" and 64 lower-case hex digits")
            digest = None
        listed[path] = resource
        if path not in files:
            problems.append(Problem(path, "is listed in datapackage.json but missing from the bundle"))
            continue
        data = files[path]
        if size is not None and len(data) != size:
            problems.append(Problem(path, f"has {len(data):,} bytes; datapackage.json says {size:,}"))
        if digest is not None and f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            problems.append(Problem(path, "sha256 does not match the hash in datapackage.json (changed or damaged)"))
    for path in sorted(files):
        if path != DATAPACKAGE and path not in listed:
            problems.append(Problem(path, "is not listed in datapackage.json; remove it or rebuild the bundle"))
    return listed


def _inspect(path: Path) -> _Inspection:
    result = _Inspection()
    problems = result.problems
    files = _read_bundle(Path(path), problems)
    if not files and problems:
        return result
    listed = _check_descriptor(files, result)

    for required in (INDEX, ENTRY_SCHEMA_PATH, INDEX_SCHEMA_PATH):
        if required not in files and required not in listed:
            problems.append(Problem(required, "is missing; every bundle has it"))
    entry_validator = _schema_validator(ENTRY_SCHEMA_PATH, files, problems)
    index_validator = _schema_validator(INDEX_SCHEMA_PATH, files, problems)

    from pydantic import ValidationError

    jsonld_ids: set[str] = set()
    for file in sorted(files):
        match = _ENTRY_FILE.fullmatch(file)
        if not match:
            if file.startswith("entries/") and file.endswith((".json", ".jsonld")):
                problems.append(Problem(file, "is not a valid entry file name; write entries/<id>.json or "
                                              "entries/<id>.jsonld with a lower-case slug id"))
            continue
        entry_id, kind = match.groups()
        if kind == "jsonld":
            jsonld_ids.add(entry_id)
            data = _parse_json(file, files[file], problems)
            iri = muscle_iri(entry_id)
            if data is not None and (not isinstance(data, dict) or data.get("@type") != "Muscle"
                                     or data.get("@id") != iri or not isinstance(data.get("@context"), dict)):
                problems.append(Problem(file, f"is not the JSON-LD of entry {entry_id!r} (needs an inline "
                                              f"\"@context\", \"@type\": \"Muscle\" and \"@id\": \"{iri}\")"))
            continue
        data = _parse_json(file, files[file], problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(file, "must hold one JSON object"))
            continue
        if entry_validator is not None and not _schema_errors(entry_validator, data, file, problems, "entry schema"):
            continue
        try:
            entry = Entry.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors()[:20]:
                where = _pointer(part for part in error["loc"] if not str(part).startswith("function-"))
                problems.append(Problem(file, f"is not a valid entry at {where}: {error['msg']}"))
            continue
        if entry.id != entry_id:
            problems.append(Problem(file, f"holds id {entry.id!r}; the file must be named entries/{entry.id}.json"))
            continue
        try:
            canonical = canonical_json(entry)
        except ValueError as exc:
            problems.append(Problem(file, str(exc)))
            continue
        if canonical != files[file]:
            problems.append(Problem(file, "is not in canonical form (key order, indent, escapes, line ends or "
                                          "final newline differ from what tpkit writes)"))
        result.entries[entry_id] = entry
    entry_ids = {m.group(1) for m in map(_ENTRY_FILE.fullmatch, files) if m and m.group(2) == "json"}
    for entry_id in sorted(entry_ids - jsonld_ids):
        if f"entries/{entry_id}.jsonld" not in listed:  # else already reported as listed but missing
            problems.append(Problem(f"entries/{entry_id}.jsonld", "is missing; every entry has its JSON-LD"))
    for entry_id in sorted(jsonld_ids - entry_ids):
        problems.append(Problem(f"entries/{entry_id}.jsonld", f"has no entry entries/{entry_id}.json"))
    if not entry_ids and files:
        problems.append(Problem("entries/", "holds no entries"))

    if INDEX in files:
        index = _parse_json(INDEX, files[INDEX], problems)
        if index is not None and (index_validator is None
                                  or _schema_errors(index_validator, index, INDEX, problems, "index schema")):
            _check_index(index, result, entry_ids)
    # Grouped by file (stable: within a file, in the order the checks ran).
    result.problems.sort(key=lambda problem: problem.file)
    return result


def _check_index(index: dict, result: _Inspection, entry_ids: set[str]) -> None:
    problems = result.problems
    descriptor = result.descriptor
    for key in ("name", "version"):
        if key in descriptor and index.get(key) != descriptor.get(key):
            problems.append(Problem(INDEX, f"\"{key}\" is {index.get(key)!r}; "
                                           f"datapackage.json says {descriptor.get(key)!r}"))
    rows: dict[str, dict] = {}
    for row in index.get("entries", []):
        if row["id"] in rows:
            problems.append(Problem(INDEX, f"lists entry {row['id']!r} more than once"))
        rows[row["id"]] = row
    for entry_id in sorted(set(rows) - entry_ids):
        problems.append(Problem(INDEX, f"lists entry {entry_id!r}, but the bundle has no entries/{entry_id}.json"))
    for entry_id in sorted(entry_ids - set(rows)):
        problems.append(Problem(INDEX, f"has no row for entries/{entry_id}.json"))
    for entry_id, entry in result.entries.items():
        row = rows.get(entry_id)
        if row is None:
            continue
        expected = _index_row(entry)
        for key in expected:
            if key != "id" and row.get(key) != expected[key]:
                found, wanted = (json.dumps(v, ensure_ascii=False) for v in (row.get(key), expected[key]))
                problems.append(Problem(INDEX, f"row {entry_id!r}: \"{key}\" is {found}; "
                                               f"entries/{entry_id}.json says {wanted}"))


def verify(path: str | os.PathLike) -> list[Problem]:
    """Every problem of a bundle folder or zip; empty when it is intact and valid.

    Checks: datapackage.json is present and well-formed; every listed file exists
    with the listed size and sha256; no file is unlisted; every entry matches the
    bundled entry schema and tpkit's entry model, is named by its id and is in
    canonical form; every entry has its JSON-LD; index.json matches the bundled
    index schema and agrees with the entries. Zip members with absolute or '..'
    paths are refused, and so is a bundle over 512 MB uncompressed. Raises
    FileNotFoundError when the path does not exist.
    """
    return _inspect(Path(path)).problems


def load(path: str | os.PathLike) -> list[Entry]:
    """Verify a bundle and return its entries (sorted by id); raise BundleError listing every problem."""
    result = _inspect(Path(path))
    if result.problems:
        raise BundleError(result.problems, path)
    return [result.entries[key] for key in sorted(result.entries)]


# -- diff -------------------------------------------------------------------------------------------

_HEADINGS = dict(SECTIONS)


@dataclass(frozen=True)
class SectionChange:
    key: str  # a layout.SECTIONS key ("symptoms", "references") or a metadata property ("status")
    title: str  # its heading ("Signs and Symptoms") or the property's title ("Status")
    old: Any = None  # for scalar metadata (status, updated, ...): the values before and after
    new: Any = None

    def as_dict(self) -> dict:
        out = {"key": self.key, "title": self.title}
        if self.old is not None or self.new is not None:
            out.update(old=self.old, new=self.new)
        return out


@dataclass(frozen=True)
class EntryRef:
    id: str
    name: str

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class EntryChange:
    id: str
    name: str
    sections: tuple[SectionChange, ...]

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "sections": [s.as_dict() for s in self.sections]}


@dataclass(frozen=True)
class BundleDiff:
    old: dict  # {"name": ..., "version": ...} of the old bundle
    new: dict
    added: tuple[EntryRef, ...] = ()
    removed: tuple[EntryRef, ...] = ()
    changed: tuple[EntryChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "added": [e.as_dict() for e in self.added],
            "removed": [e.as_dict() for e in self.removed],
            "changed": [e.as_dict() for e in self.changed],
        }


def _section_of(key: str) -> tuple[str, str]:
    """(diff key, title) of an entry property."""
    if key in METADATA_KEYS:
        return key, load_schema()["properties"][key].get("title", key)
    section = _PROPERTY_SECTION.get(key, key)
    return section, _HEADINGS[section]


def entry_changes(old: Entry, new: Entry) -> tuple[SectionChange, ...]:
    """Which metadata fields and sections differ between two versions of an entry, in schema order."""
    before, after = entry_data(old, schema_ref=None), entry_data(new, schema_ref=None)
    changes: dict[str, SectionChange] = {}
    for key in load_schema()["properties"]:
        if key in _IGNORED_IN_DIFF or before.get(key) == after.get(key):
            continue
        section, title = _section_of(key)
        if section in changes:
            continue
        old, new = before.get(key), after.get(key)
        if key in METADATA_KEYS and not isinstance(old, (list, dict)) and not isinstance(new, (list, dict)):
            changes[section] = SectionChange(section, title, old, new)
        else:
            changes[section] = SectionChange(section, title)
    return tuple(changes.values())


def diff_entries(old: Iterable[Entry], new: Iterable[Entry], *, old_info: dict | None = None,
                 new_info: dict | None = None) -> BundleDiff:
    """Added, removed and changed entries between two collections (by id)."""
    before = {e.id: e for e in old}
    after = {e.id: e for e in new}
    changed = []
    for entry_id in sorted(set(before) & set(after)):
        sections = entry_changes(before[entry_id], after[entry_id])
        if sections:
            changed.append(EntryChange(entry_id, after[entry_id].name, sections))
    return BundleDiff(
        old=old_info or {},
        new=new_info or {},
        added=tuple(EntryRef(i, after[i].name) for i in sorted(set(after) - set(before))),
        removed=tuple(EntryRef(i, before[i].name) for i in sorted(set(before) - set(after))),
        changed=tuple(changed),
    )


def diff(old: str | os.PathLike, new: str | os.PathLike) -> BundleDiff:
    """Compare two bundles (folders or zips); both are verified first (BundleError on any problem)."""
    results = []
    for path in (old, new):
        result = _inspect(Path(path))
        if result.problems:
            raise BundleError(result.problems, path)
        results.append(result)
    info = [{"name": r.descriptor.get("name"), "version": r.descriptor.get("version")} for r in results]
    return diff_entries(results[0].entries.values(), results[1].entries.values(), old_info=info[0], new_info=info[1])


def _section_text(change: SectionChange) -> str:
    if change.old is not None or change.new is not None:
        old, new = ("none" if value is None else value for value in (change.old, change.new))
        return f"{change.title} ({old} → {new})"
    return change.title


def format_diff(d: BundleDiff, fmt: Literal["text", "json"] = "text") -> str:
    """The diff for people (Markdown lists, ready for release notes) or as JSON (for sync jobs)."""
    if fmt == "json":
        return json.dumps(d.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt != "text":
        raise ValueError(f"unknown diff format {fmt!r}; use \"text\" or \"json\"")

    def label(info: dict, with_name: bool = True) -> str:
        keys = ("name", "version") if with_name else ("version",)
        return " ".join(str(info[k]) for k in keys if info.get(k)) or "?"

    counts = f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed"
    if d.old.get("name") and d.old.get("name") == d.new.get("name"):
        heading = f"{d.old['name']} {label(d.old, False)} → {label(d.new, False)}"
    else:
        heading = f"{label(d.old)} → {label(d.new)}"
    lines = [f"{heading}: {counts}"]
    if d.added:
        lines += ["", "Added:"] + [f"- {e.name} ({e.id})" for e in d.added]
    if d.removed:
        lines += ["", "Removed:"] + [f"- {e.name} ({e.id})" for e in d.removed]
    if d.changed:
        lines += ["", "Changed:"] + [f"- {c.name} ({c.id}): {', '.join(_section_text(s) for s in c.sections)}"
                                    for c in d.changed]
    if d.empty:
        lines += ["", "No changes."]
    return "\n".join(lines) + "\n"
