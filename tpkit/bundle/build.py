"""Building a bundle in memory: every file as bytes, from validated entries."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any, Iterable, Sequence

from tpkit import __version__, marks
from tpkit.errors import UsageError
from tpkit.layout import collection_order
from tpkit.models import Entry
from tpkit.schema import load_schema

from .canonical import canonical_json, dumps
from .jsonld import to_jsonld
from . import spec
from .spec import (BUNDLE_FORMAT, DATAPACKAGE, DATAPACKAGE_PROFILE, DEFAULT_TITLE, ENTRY_SCHEMA, ENTRY_SCHEMA_PATH,
                   INDEX, INDEX_SCHEMA, INDEX_SCHEMA_PATH, INDEX_SCHEMA_REF, LICENSE_PATTERN, check_name,
                   check_version, content_model_version, license_url, schema_bytes, sha256)

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


def created_time(entries: Sequence[Entry]) -> _dt.datetime:
    """The bundle's ``created`` time: SOURCE_DATE_EPOCH if set, else the newest ``updated`` at 00:00 UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    newest = max(entry.updated for entry in entries)
    return _dt.datetime(newest.year, newest.month, newest.day, tzinfo=_dt.timezone.utc)


def _rfc3339(moment: _dt.datetime) -> str:
    if moment.tzinfo is None:
        raise UsageError("created must be a timezone-aware datetime")
    # isoformat, not strftime("%Y"): strftime drops the leading zeros of years before 1000
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def check_license(license: str | None) -> str | None:
    if license is not None and not LICENSE_PATTERN.fullmatch(license):
        raise UsageError(f"license {license!r} is not an SPDX identifier or expression such as \"CC-BY-4.0\"")
    return license


def licenses(entries: Sequence[Entry], license: str | None) -> list[dict]:
    """datapackage.json "licenses": the entries' distinct licenses, ``license`` standing for none."""
    return licenses_of((e.license for e in entries), license)


def source_items(entry: Entry) -> list[tuple[tuple, dict]]:
    """(key, item) of each work one entry cites; equal keys are one source (see ``sources``)."""
    found = []
    for c in entry.citations:
        people = c.author or c.editor or []
        who = ", ".join(p.family for p in people[:3]) + (" et al." if len(people) > 3 else "")
        item = {"title": f"{who} ({c.issued.year}). {c.title}"}
        if c.DOI:
            item["path"] = f"https://doi.org/{c.DOI}"
        elif c.URL:
            item["path"] = c.URL
        found.append(((c.title.casefold(), c.issued.year, item.get("path")), item))
    return found


def merge_sources(items: Iterable[tuple[tuple, dict]]) -> list[dict]:
    """Data Package ``sources`` from (key, item) pairs in entry-id order: each work once, sorted."""
    found: dict[tuple, dict] = {}
    for key, item in items:
        found.setdefault(key, item)
    return sorted(found.values(), key=lambda item: (item["title"].casefold(), item["title"], item.get("path", "")))


def sources(entries: Sequence[Entry]) -> list[dict]:
    """The works the entries cite, each once: Data Package ``sources``."""
    return merge_sources(pair for entry in sorted(entries, key=lambda e: e.id) for pair in source_items(entry))


def licenses_of(own: Iterable[str | None], license: str | None) -> list[dict]:
    """datapackage.json "licenses" from the entries' own licenses, ``license`` standing for none."""
    chosen = sorted({value or license for value in own} - {None})
    out = []
    for expression in chosen:
        item: dict[str, str] = {"name": expression}
        url = license_url(expression)
        if url:
            item["path"] = url
        if expression in LICENSE_TITLES:
            item["title"] = LICENSE_TITLES[expression]
        out.append(item)
    return out


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
    the newest ``updated``. Raises UsageError on an invalid name, version or
    license, no entries, or a duplicate id.
    """
    check_name(name)
    check_version(version)
    check_license(license)
    entries = sorted(entries, key=lambda e: e.id)  # the order they are given in never shows
    if not entries:
        raise UsageError("no entries to bundle")
    for first, second in zip(entries, entries[1:]):
        if first.id == second.id:
            raise UsageError(f"entry id {first.id!r} is given more than once; ids must be unique in a bundle")
    moment = created if created is not None else created_time(entries)
    names = {e.id: e.name for e in entries}

    files: dict[str, bytes] = {}
    titles: dict[str, str] = {}
    for entry in entries:
        files[f"entries/{entry.id}.json"] = canonical_json(entry)
        files[f"entries/{entry.id}.jsonld"] = dumps(to_jsonld(entry, names, default_license=license))
        titles[f"entries/{entry.id}.json"] = marks.plain(entry.name)
        titles[f"entries/{entry.id}.jsonld"] = f"{marks.plain(entry.name)} (schema.org JSON-LD)"
    files[INDEX] = dumps(build_index(entries, name=name, version=version))
    _within_limits(files)
    titles[INDEX] = "Index of the entries"
    for schema_name, path in ((ENTRY_SCHEMA, ENTRY_SCHEMA_PATH), (INDEX_SCHEMA, INDEX_SCHEMA_PATH)):
        files[path] = schema_bytes(schema_name)
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
            "hash": sha256(data),
        })
    descriptor: dict[str, Any] = {
        "$schema": DATAPACKAGE_PROFILE,
        "name": name,
        "title": title or DEFAULT_TITLE,
        "version": version,
        "created": _rfc3339(moment),
    }
    found_licenses = licenses(entries, license)
    if found_licenses:
        descriptor["licenses"] = found_licenses
    found_sources = sources(entries)
    if found_sources:
        descriptor["sources"] = found_sources
    descriptor["tpkit"] = {
        "version": __version__, "schema_version": content_model_version(), "bundle_format": BUNDLE_FORMAT,
    }
    if license is not None:
        descriptor["tpkit"]["default_license"] = license  # what the JSON-LD of unlicensed entries names
    descriptor["resources"] = resources
    return {DATAPACKAGE: dumps(descriptor), **{path: files[path] for path in sorted(files)}}


def _within_limits(files: dict[str, bytes]) -> None:
    """Refuse to build a bundle that verify would refuse unread (see spec's limits)."""
    if len(files) + 3 > spec.MAX_MEMBERS:
        raise UsageError(f"{len(files) // 2:,} entries are more than a bundle holds "
                         f"({(spec.MAX_MEMBERS - 4) // 2:,}); split the collection")
    for path, data in files.items():
        limit = (spec.MAX_JSONLD_BYTES if path.endswith(".jsonld") else spec.MAX_ENTRY_BYTES) \
            if path.startswith("entries/") else spec.MAX_INDEX_BYTES
        if len(data) > limit:
            raise UsageError(f"{path} would be {len(data):,} bytes, over the {limit:,}-byte limit of a bundle's "
                             f"{'entries' if path.startswith('entries/') else 'index'}; shorten or split it")


def build_index(entries: Sequence[Entry], *, name: str, version: str) -> dict:
    """index.json as data: one row per entry, in collection order."""
    return {
        "$schema": INDEX_SCHEMA_REF,
        "name": name,
        "version": version,
        "schema_version": content_model_version(),
        "entries": [index_row(entry) for entry in collection_order(entries)],
    }


def index_row(entry: Entry) -> dict:
    return {
        "id": entry.id,
        "name": entry.name,
        "region": entry.region,
        "status": entry.status,
        "updated": entry.updated.isoformat(),
        "associated": [item.muscle for item in entry.associated_trigger_points],
        "files": {"json": f"entries/{entry.id}.json", "jsonld": f"entries/{entry.id}.jsonld"},
    }
