"""The validation pipeline: find files, load, JSON Schema, typed model, rules, collection rules.

``validate_paths`` is what ``tpkit validate`` and every export call first. It
never raises for bad content: every problem becomes an ``Issue``. Usage errors
(a path that does not exist) raise ``UsageError``.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tpkit.issues import Issue
from tpkit.load import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, LoadedFile, LoadError, check_depth, load_file

if TYPE_CHECKING:
    from tpkit.models import Entry


class UsageError(Exception):
    """A problem with how tpkit was called, not with the content (exit 2)."""


@dataclass
class Options:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    today: _dt.date | None = None  # tests pin it; None means the real today


@dataclass
class Result:
    """One file's outcome; ``entry`` is set when the file passed schema and model."""

    path: Path
    display: str
    issues: list[Issue] = field(default_factory=list)
    entry: "Entry | None" = None
    loaded: LoadedFile | None = None

    @property
    def ok(self) -> bool:
        return self.entry is not None and not any(issue.is_error for issue in self.issues)


@dataclass
class Report:
    results: list[Result]

    @property
    def issues(self) -> list[Issue]:
        found = [issue for result in self.results for issue in result.issues]
        return sorted(found, key=Issue.sort_key)

    @property
    def errors(self) -> int:
        return sum(issue.is_error for result in self.results for issue in result.issues)

    @property
    def warnings(self) -> int:
        return sum(not issue.is_error for result in self.results for issue in result.issues)

    @property
    def io_failed(self) -> bool:
        return any(issue.code == "TP001" for result in self.results for issue in result.issues)

    def entries(self) -> list["Entry"]:
        return [result.entry for result in self.results if result.entry is not None]

    def failed(self, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def discover(paths: Iterable[str | os.PathLike]) -> list[tuple[Path, str]]:
    """Entry files under the given files and folders, as (path, display name), sorted, each once.

    Folders are searched for ``*.json`` recursively, following symbolic links but
    never entering the same real folder twice (so link loops end).
    """
    found: list[tuple[Path, str]] = []
    seen_files: set[str] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise UsageError(f"path does not exist: {given}")
        if root.is_file():
            key = os.path.realpath(root)
            if key not in seen_files:
                seen_files.add(key)
                found.append((root, str(given)))
            continue
        visited: set[tuple[int, int]] = set()
        collected = []
        for folder, dirs, files in os.walk(root, followlinks=True):
            try:
                stat = os.stat(folder)
            except OSError:
                dirs[:] = []
                continue
            if (stat.st_dev, stat.st_ino) in visited:
                dirs[:] = []
                continue
            visited.add((stat.st_dev, stat.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.endswith(".json") and not name.startswith("."):
                    path = Path(folder) / name
                    key = os.path.realpath(path)
                    if key not in seen_files:
                        seen_files.add(key)
                        collected.append(path)
        found.extend((path, str(path)) for path in sorted(collected))
    return found


def check_file(path: Path, display: str, options: Options) -> Result:
    """Load and validate one file on its own (no collection rules)."""
    result = Result(path, display)
    try:
        loaded = load_file(path, display, max_bytes=options.max_bytes, max_depth=options.max_depth)
    except LoadError as exc:
        result.issues.append(exc.issue)
        return result
    result.loaded = loaded

    from tpkit.schema import schema_problems

    problems = schema_problems(loaded.data)
    if problems:
        try:
            check_depth(loaded, options.max_depth)
        except LoadError as exc:
            result.issues.append(exc.issue)
            return result
        result.issues.extend(loaded.issue(code, "error", message, pointer) for code, message, pointer in problems)
        return result

    from pydantic import ValidationError

    from tpkit.models import Entry

    try:
        entry = Entry.model_validate(loaded.data)
    except ValidationError as exc:
        for error in exc.errors():
            pointer = "".join(f"/{part}" for part in error["loc"] if not str(part).startswith("function-"))
            result.issues.append(loaded.issue("TP120", "error", f"{error['msg']}", pointer))
        return result

    from tpkit.rules import RULES, check_entry

    today = options.today or _dt.date.today()
    for code, message, pointer in check_entry(entry, path, today):
        result.issues.append(loaded.issue(code, RULES[code].severity, message, pointer))
    result.entry = entry
    return result


def check_collection(results: list[Result]) -> None:
    """Rules across files: unique ids, links between entries."""
    by_id: dict[str, Result] = {}
    for result in results:
        if result.loaded is None:
            continue
        entry_id = result.entry.id if result.entry else result.loaded.data.get("id")
        if not isinstance(entry_id, str):
            continue
        if entry_id in by_id:
            first = by_id[entry_id].display
            result.issues.append(result.loaded.issue(
                "TP202", "error", f"id \"{entry_id}\" is also used by {first}; ids must be unique", "/id"))
        else:
            by_id[entry_id] = result
    for result in results:
        if result.entry is None:
            continue
        for i, item in enumerate(result.entry.associated_trigger_points):
            if item.muscle not in by_id and item.muscle != result.entry.id:
                result.issues.append(result.loaded.issue(
                    "TP211", "warning",
                    f"associated muscle \"{item.muscle}\" has no entry in the collection yet; write "
                    f"{item.muscle}.json or fix the id", f"/associated_trigger_points/{i}/muscle"))


def validate_paths(paths: Iterable[str | os.PathLike], options: Options | None = None) -> Report:
    options = options or Options()
    results = [check_file(path, display, options) for path, display in discover(paths)]
    check_collection(results)
    return Report(results)
