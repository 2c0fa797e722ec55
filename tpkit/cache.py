"""Validation results kept between runs, so that a file that has not changed is not checked again.

One file, ``.tpkit_cache/validate.json`` in the project (the folder of ``tpkit.toml``, else
the working folder; ``TPKIT_CACHE_DIR`` moves it, ``--no-cache`` bypasses it). It holds, for
each file checked, the digest of the bytes that were checked and what checking them found.
A record is used only while everything else its result depends on is the same: the file's
place and the name it is shown by, the options, today's date (rules compare dates with it)
and tpkit's own code, data and schema, so a new or edited tpkit never reuses an old result.
Collection rules (unique ids, links) depend on all files and always run afresh.

The cache is an optimisation only: a cache that cannot be read is ignored, one that cannot
be written is not written, and neither is ever reported as a problem with the content.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from tpkit.issues import Issue

FOLDER_NAME = ".tpkit_cache"
FILE_NAME = "validate.json"
FORMAT = 1


def default_folder() -> Path:
    """Where the cache lives unless told: ``TPKIT_CACHE_DIR``, else beside ``tpkit.toml``, else here."""
    configured = os.environ.get("TPKIT_CACHE_DIR")
    if configured:
        return Path(configured)
    from tpkit.config import find_config

    project = find_config()
    return (project.parent if project is not None else Path.cwd()) / FOLDER_NAME


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_code_fingerprint: str | None = None


def code_fingerprint() -> str:
    """tpkit's version and the size and time of every file of the package (code, fonts, data)
    and of the schema: an upgraded tpkit, or an edited checkout, is a new tpkit (as for
    Python's .pyc files)."""
    global _code_fingerprint
    if _code_fingerprint is None:
        from tpkit import __version__
        from tpkit.schema import schema_path

        package = Path(__file__).resolve().parent
        files = sorted(p for p in package.rglob("*") if "__pycache__" not in p.parts and p.is_file())
        stats = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in [*files, schema_path()]]
        _code_fingerprint = digest(json.dumps([__version__, stats]).encode())
    return _code_fingerprint


class ResultCache:
    """The records of one cache folder, for one set of options and one day."""

    def __init__(self, folder: Path, settings: list, today: str):
        """``settings``: every option the results depend on (JSON-serialisable)."""
        self.path = Path(folder) / FILE_NAME
        self.context = digest(json.dumps([FORMAT, code_fingerprint(), settings, today]).encode())
        self.records: dict[str, dict] = {}
        self.changed = False
        self._cwd = os.getcwd()
        try:
            stored = json.loads(self.path.read_bytes())
            if stored.get("context") == self.context and isinstance(stored.get("files"), dict):
                self.records = stored["files"]
        except (OSError, ValueError, AttributeError):
            pass  # no cache yet, or one from an older tpkit or another day: start afresh

    def _name(self, path: Path, display: str) -> str:
        return f"{os.path.join(self._cwd, path)}\n{display}"

    def result(self, path: Path, display: str, read: Callable[[], bytes | None]) -> "tuple[dict[str, Any], bytes] | None":
        """The stored result of checking this file as it is now (the fields of a
        ``validate.Result``), and the bytes it was found for; None if there is none. ``read``
        gives the file's bytes (or None): only a file with a record is read."""
        record = self.records.get(self._name(path, display))
        if record is None:
            return None
        data = read()
        if data is None or record.get("digest") != digest(data):
            return None
        try:
            issues = [Issue(display, *issue) for issue in record["issues"]]
            positions = {pointer: (line, column) for pointer, (line, column) in record.get("positions", {}).items()}
            return dict(issues=issues, entry_id=record["entry_id"], links=tuple(record["links"]), valid=record["valid"],
                        digest=record["digest"], positions=positions), data
        except (KeyError, TypeError, ValueError):
            return None

    def store(self, result) -> None:
        """Keep a result checked just now (before collection rules added anything to it)."""
        if result.digest is None:  # the file could not be read: nothing to key it by
            return
        self.records[self._name(result.path, result.display)] = {
            "digest": result.digest,
            "issues": [[i.line, i.column, i.code, i.severity, i.message, i.pointer] for i in result.issues],
            "entry_id": result.entry_id,
            "links": list(result.links),
            "valid": result.valid,
        }
        self.changed = True

    def keep_positions(self, result) -> None:
        """Remember where the file's collection findings were placed (its bytes are unchanged while
        its record is used), so that a later run reports them without reading the file again."""
        record = self.records.get(self._name(result.path, result.display))
        if record is None or record.get("digest") != result.digest or not result.positions:
            return
        positions = {pointer: list(place) for pointer, place in result.positions.items()}
        if record.get("positions") != positions:
            record["positions"] = positions
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        from tpkit.write import write_atomic

        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # As ruff and pytest do: a cache folder that version control leaves alone by itself.
            if not (folder / ".gitignore").exists():
                (folder / ".gitignore").write_text("# Created by tpkit; safe to delete.\n*\n", encoding="utf-8")
            write_atomic(self.path, json.dumps({"context": self.context, "files": self.records},
                                               ensure_ascii=False, separators=(",", ":")).encode("utf-8"), durable=False)
        except OSError:
            pass  # a read-only project is validated all the same, only not faster next time
