"""Comparing two bundles: entries added, removed and changed, with the sections that changed."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

from tpkit.errors import BundleError, UsageError
from tpkit.layout import SECTIONS
from tpkit.models import Entry
from tpkit.schema import load_schema

from .canonical import entry_data
from .read import Problems, open_bundle
from .spec import Problem
from .verify import inspect, read_entry

# Entry properties that are not sections: reported by their own key in diffs.
METADATA_KEYS = ("schema_version", "language", "name", "status", "updated", "region", "authors", "license")
# Entry properties printed inside another section (layout.SECTIONS key).
_PROPERTY_SECTION = {"trigger_points": "referral_pattern", "citations": "references"}
_IGNORED_IN_DIFF = ("$schema", "id")

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
    return section, _HEADINGS.get(section) or load_schema()["properties"][key].get("title", key)


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
    """Compare two bundles (folders or zips); both are verified first (BundleError on any problem).

    Entries whose canonical bytes are the same in both are unchanged; only the others are read
    again and compared section by section, so memory does not grow with the bundles."""
    results = []
    for path in (old, new):
        result = inspect(Path(path))
        if result.problems:
            raise BundleError(result.problems.sorted(str(path)), path)
        results.append(result)
    before, after = results[0].facts, results[1].facts
    changed = []
    differing = sorted(i for i in set(before) & set(after) if before[i].digest != after[i].digest)
    if differing:
        with open_bundle(Path(old), Problems()) as old_files, open_bundle(Path(new), Problems()) as new_files:
            for entry_id in differing:
                pair = (read_entry(old_files, results[0], entry_id), read_entry(new_files, results[1], entry_id))
                if None in pair:  # changed on disk since it was verified
                    raise BundleError([Problem(f"entries/{entry_id}.json", "changed while it was compared")])
                sections = entry_changes(*pair)
                if sections:
                    changed.append(EntryChange(entry_id, after[entry_id].name, sections))
    info = [{"name": r.descriptor.get("name"), "version": r.descriptor.get("version")} for r in results]
    return BundleDiff(
        old=info[0],
        new=info[1],
        added=tuple(EntryRef(i, after[i].name) for i in sorted(set(after) - set(before))),
        removed=tuple(EntryRef(i, before[i].name) for i in sorted(set(before) - set(after))),
        changed=tuple(changed),
    )


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
        raise UsageError(f"unknown diff format {fmt!r}; use \"text\" or \"json\"")

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
