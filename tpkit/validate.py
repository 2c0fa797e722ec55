"""The validation pipeline: find files, load, JSON Schema, typed model, rules, collection rules.

``validate_paths`` is what ``tpkit validate`` and every export call first. It
never raises for bad content: every problem becomes an ``Issue``. Usage errors
(a path that does not exist) raise ``UsageError``.
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
import stat as _stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tpkit.errors import UsageError
from tpkit.issues import Issue
from tpkit.load import (DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, LoadedFile, LoadError, check_depth, file_kind, load_file,
                        open_regular, read_at_most)

if TYPE_CHECKING:
    from tpkit.models import Entry


@dataclass
class Options:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    today: _dt.date | None = None  # tests pin it; None means the real today
    follow_symlinks: bool = False  # links found in folders that point outside them (TP016)
    cache: Path | None = None  # folder of the result cache (see tpkit.cache); None: check every file
    engine: str | None = None  # JSON Schema engine (tpkit.schema.ENGINES); None: the default one

    def day(self) -> _dt.date:
        return self.today or _dt.date.today()


@dataclass
class Result:
    """One file's outcome; ``entry`` is set when the file passed schema and model."""

    path: Path
    display: str
    issues: list[Issue] = field(default_factory=list)
    entry: "Entry | None" = None
    loaded: LoadedFile | None = None
    # What collection rules need, kept even when entry and loaded are dropped (parallel validation)
    entry_id: str | None = None
    links: tuple[str, ...] = ()
    valid: bool = False  # passed schema and model
    digest: str | None = None  # of the bytes checked, when results are cached
    # Places already found for collection rules (kept in the result cache), by JSON pointer
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add_issues(self, found: list[tuple[str, str, str, str]], options: "Options") -> None:
        """Add (code, severity, message, pointer) findings of collection rules, located in one
        pass; the file is re-read only if its text was not kept and a place is not yet known."""
        unknown = [pointer for *_, pointer in found if pointer not in self.positions]
        if unknown:
            if self.loaded is None:
                self.loaded = load_file(self.path, self.display, max_bytes=options.max_bytes)
            self.positions.update(self.loaded.locate_many(unknown))
        self.issues.extend(Issue(self.display, *self.positions[pointer], code, severity, message, pointer)
                           for code, severity, message, pointer in found)

    @property
    def ok(self) -> bool:
        return self.valid and not any(issue.is_error for issue in self.issues)


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


def discover(paths: Iterable[str | os.PathLike], *, follow_symlinks: bool = False
             ) -> tuple[list[tuple[Path, str]], list[Issue]]:
    """Entry files under the given files and folders, as (path, display name), sorted, each once;
    and a warning for each path found in a folder and skipped.

    Folders are searched for ``*.json`` without recursion (1,100 nested folders are fine), leaving
    out hidden files and folders. Only regular files are taken: anything else is skipped with
    TP015. Symbolic links are followed while their target lies inside the folder given; others
    are skipped with TP016 unless ``follow_symlinks``. No real folder is entered twice, so link
    loops end. A path named directly must be a regular file or a folder (else ``UsageError``).
    """
    found: list[tuple[Path, str]] = []
    skipped: list[Issue] = []
    seen_files: set[tuple[int, int]] = set()  # (device, inode): a file reached twice is checked once

    def first_time(path: str | os.PathLike) -> bool:
        try:
            stat = os.stat(path)
        except OSError:
            return True  # unreadable: checking it reports why
        if (stat.st_dev, stat.st_ino) in seen_files:
            return False
        seen_files.add((stat.st_dev, stat.st_ino))
        return True

    for given in paths:
        try:
            mode = os.stat(given).st_mode
        except OSError:
            raise UsageError(f"path does not exist: {given}") from None
        if _stat.S_ISREG(mode):
            if first_time(given):
                found.append((Path(given), str(given)))
            continue
        if not _stat.S_ISDIR(mode):
            raise UsageError(f"{given} is {file_kind(mode)}, not an entry file or a folder; only regular files are read")
        collected = _walk(os.fspath(given), follow_symlinks, skipped)
        found.extend((Path(path), path) for path in sorted(collected, key=Path) if first_time(path))
    return found, skipped


def _walk(root: str, follow_symlinks: bool, skipped: list[Issue]) -> list[str]:
    """The ``*.json`` paths under a folder, with an explicit stack instead of recursion."""
    base = os.path.realpath(root)
    visited: set[tuple[int, int]] = set()
    collected: list[str] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            stat = os.stat(folder)
            if (stat.st_dev, stat.st_ino) in visited:
                continue
            visited.add((stat.st_dev, stat.st_ino))
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError:
            continue  # a folder that vanished or cannot be listed holds nothing to check
        subfolders = []
        for item in items:
            if item.name.startswith("."):
                continue
            is_json = item.name.endswith(".json")
            try:
                mode = os.stat(item.path).st_mode
            except OSError:
                mode = None  # a dangling link: if named *.json, reading it reports TP001
            if item.is_symlink() and not follow_symlinks and (is_json or (mode and _stat.S_ISDIR(mode))):
                target = os.path.realpath(item.path)
                if os.path.commonpath([target, base]) != base:
                    skipped.append(Issue(item.path, 1, 1, "TP016", "warning",
                                         f"symbolic link to {target}, outside {root}; not followed "
                                         "(--follow-symlinks reads it)"))
                    continue
            if mode is not None and _stat.S_ISDIR(mode):
                subfolders.append(item.path)
            elif is_json:
                if mode is None or _stat.S_ISREG(mode):
                    collected.append(item.path)
                else:
                    skipped.append(Issue(item.path, 1, 1, "TP015", "warning",
                                         f"skipped: {file_kind(mode)}, not a regular file; only regular files are read"))
        folders.extend(reversed(subfolders))
    return collected


def check_file(path: Path, display: str, options: Options) -> Result:
    """Load and validate one file on its own (no collection rules)."""
    result = Result(path, display)
    try:
        loaded = load_file(path, display, max_bytes=options.max_bytes, max_depth=options.max_depth)
    except LoadError as exc:
        result.issues.append(exc.issue)
        return result
    return check_loaded(result, loaded, options)


def check_loaded(result: Result, loaded: LoadedFile, options: Options) -> Result:
    """Validate a document already loaded (from a file, or a bundle's member): the JSON Schema,
    the typed model and the rules of one entry; fills in and returns ``result``."""
    result.loaded = loaded
    if options.cache is not None:
        from tpkit.cache import digest

        result.digest = digest(loaded.text.encode("utf-8"))  # the file's bytes: UTF-8 decodes them exactly
    if isinstance(loaded.data.get("id"), str):
        result.entry_id = loaded.data["id"]

    from tpkit.schema import schema_problems

    def too_deep() -> bool:
        # Only documents the schema rejects can be deep; then depth is the problem to report.
        try:
            check_depth(loaded, options.max_depth)
        except LoadError as exc:
            result.issues.append(exc.issue)
            return True
        return False

    try:
        problems = schema_problems(loaded.data, engine=options.engine)
    except ValueError:
        # jsonschema-rs refuses data nested deeper than its recursion limit (~256 levels)
        if too_deep():
            return result
        raise
    if problems:
        if too_deep():
            return result
        result.issues.extend(loaded.issues((code, "error", message, pointer) for code, message, pointer in problems))
        return result

    from pydantic import ValidationError

    from tpkit.models import Entry

    try:
        entry = Entry.model_validate(loaded.data)
    except ValidationError as exc:
        result.issues.extend(loaded.issues(
            ("TP120", "error", f"{error['msg']}",
             "".join(f"/{part}" for part in error["loc"] if not str(part).startswith("function-")))
            for error in exc.errors()))
        return result

    from tpkit.rules import RULES, check_entry

    result.issues.extend(loaded.issues((code, RULES[code].severity, message, pointer)
                                       for code, message, pointer in check_entry(entry, result.path, options.day(),
                                                                                 loaded.text)))
    result.entry = entry
    result.valid = True
    result.links = tuple(item.muscle for item in entry.associated_trigger_points)
    # Where collection rules would report (a link to a muscle without an entry, a shared id),
    # found here, in the worker, while the text is at hand: one skip-parse of the file, instead
    # of the parent reading and parsing it again for every file that gets such a warning.
    result.positions = loaded.locate_many(
        ["/id", *(f"/associated_trigger_points/{index}/muscle" for index in range(len(result.links)))])
    return result


def check_collection(results: list[Result], options: Options | None = None) -> None:
    """Rules across files: unique ids, links between entries."""
    options = options or Options()
    by_id: dict[str, Result] = {}
    found: dict[int, list[tuple[str, str, str, str]]] = {}
    for index, result in enumerate(results):
        if result.entry_id is None:
            continue
        if result.entry_id in by_id:
            first = by_id[result.entry_id].display
            found.setdefault(index, []).append(
                ("TP202", "error", f"id \"{result.entry_id}\" is also used by {first}; ids must be unique", "/id"))
        else:
            by_id[result.entry_id] = result
    for index, result in enumerate(results):
        for i, muscle in enumerate(result.links):
            if muscle not in by_id and muscle != result.entry_id:
                found.setdefault(index, []).append((
                    "TP211", "warning",
                    f"associated muscle \"{muscle}\" has no entry in the collection yet; write "
                    f"{muscle}.json or fix the id", f"/associated_trigger_points/{i}/muscle"))
    for index, findings in found.items():
        results[index].add_issues(findings, options)


def _check_light(args: tuple[Path, str, Options]) -> Result:
    """check_file for a worker process: sends back only what reports and collection rules need."""
    result = check_file(*args)
    result.entry = None
    result.loaded = None
    return result


# Below this many files per process, starting workers costs more than it saves.
FILES_PER_WORKER = 100


def validate_paths(paths: Iterable[str | os.PathLike], options: Options | None = None, *, jobs: int = 1,
                   entries: bool = True) -> Report:
    """Validate files and folders.

    With ``entries`` (what exports need), every valid file's result carries its typed entry.
    Without, results carry only what reports need, and with ``jobs`` > 1 and enough files,
    files are checked in worker processes: that is ``tpkit validate``. With ``options.cache``,
    files whose result is in the cache (see ``tpkit.cache``) are not checked again.
    """
    options = options or Options()
    files, skipped = discover(paths, follow_symlinks=options.follow_symlinks)
    results: list[Result | None] = [None] * len(files)
    cache = None
    checked_bytes: dict[int, bytes] = {}  # of valid cached files whose entry is wanted
    if options.cache is not None and files:
        from tpkit.cache import ResultCache

        cache = ResultCache(options.cache, [options.max_bytes, options.max_depth, options.engine],
                            options.day().isoformat())
        for index, (path, display) in enumerate(files):
            found = cache.result(path, display, lambda: _read_within(path, options.max_bytes))
            if found is not None:
                fields, data = found
                results[index] = Result(path, display, **fields)
                if entries and results[index].valid:
                    checked_bytes[index] = data
    todo = [index for index, result in enumerate(results) if result is None]
    if todo:
        _build_checkers(options.engine)
        workers = 1 if entries else min(jobs, len(todo) // FILES_PER_WORKER)
        with _fewer_collections():
            for index, result in zip(todo, _check_files([files[index] for index in todo], options, workers)):
                results[index] = result
                if cache is not None:
                    cache.store(result)  # before collection rules add to it: those are never cached
    if checked_bytes:
        from tpkit.models import Entry

        for index, data in checked_bytes.items():
            # The very bytes the cached result was found for: schema, model and rules passed them.
            results[index].entry = Entry.model_validate_json(data)
    report = Report(results + [Result(Path(issue.path), issue.path, [issue]) for issue in skipped])
    check_collection(report.results, options)
    if cache is not None:
        for result in report.results:
            cache.keep_positions(result)  # so that the next run places collection findings without reading
        cache.save()
    return report


def _read_within(path: Path, max_bytes: int) -> bytes | None:
    """The file's bytes, or None if it cannot be read or is over the limit (checking reports why)."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                return None
            return read_at_most(handle, max_bytes, size)
    except OSError:
        return None


def _build_checkers(engine: str | None) -> None:
    """Import the models and rules and compile the schema once, before any worker is forked,
    so that workers share them instead of each building its own."""
    from tpkit import models, rules
    from tpkit.schema import validator

    validator(engine=engine)
    del models, rules  # imported for their side effect: the models are built on import


@contextmanager
def _fewer_collections():
    """Checking allocates many short-lived objects that reference counting frees; cyclic
    collections would mostly re-scan what the imports built. Freezing that (which also keeps
    forked workers from copying it) and collecting the youngest generation less often saves
    about a twentieth of the time. Both are restored on the way out."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_files(files: list[tuple[Path, str]], options: Options, workers: int) -> list[Result]:
    if workers > 1:
        import multiprocessing

        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        from tpkit.workers import start_worker

        pool = context.Pool(workers, initializer=start_worker, initargs=(os.getpid(),))
        try:
            chunk = max(1, len(files) // (workers * 4))
            results = pool.map(_check_light, [(path, display, options) for path, display in files], chunksize=chunk)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    else:
        results = [check_file(path, display, options) for path, display in files]
    return results
