"""Reading a bundle, a folder or a zip, one file at a time and within limits.

Nothing is extracted and nothing is read whole before its size is known: a member's size
from the zip's central directory (and then a read of at most that many bytes plus one) or a
file's from the file system is checked against the limit of its kind (``spec.MAX_*``) first.
Folders are walked with an explicit stack, so no depth of nesting exhausts Python's recursion.

One small part of the zip format is read here rather than by ``zipfile``: the end of central
directory record (and its ZIP64 counterpart), for the size of the central directory and the
number of members. ``zipfile`` reads the whole central directory into objects as it opens an
archive, so a few megabytes of forged directory would cost hundreds of megabytes before any
check could run; tests compare these numbers with what ``zipfile`` finds.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from . import spec
from .spec import Problem

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_ENTRY_MIN = 46  # bytes of a central directory entry without name, extra field and comment
_CHUNK = 1024 * 1024


class Problems:
    """The problems of one inspection: the first ``spec.MAX_PROBLEMS`` kept, the rest counted."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, file: str, message: str) -> None:
        if len(self.items) < spec.MAX_PROBLEMS:
            self.items.append(Problem(file, message))
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def about(self, file: str) -> bool:
        return any(problem.file == file for problem in self.items)

    def sorted(self, label: str) -> list[Problem]:
        # Grouped by file (stable: within a file, in the order the checks ran).
        found = sorted(self.items, key=lambda problem: problem.file)
        if self.dropped:
            found.append(Problem(label, f"… and {self.dropped:,} more problems"))
        return found


def safe_member(name: str) -> str | None:
    """Why a path inside a bundle is unsafe, or None."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"[A-Za-z]:", name):
        return "absolute or Windows-style path"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "path with an empty, '.' or '..' part"
    if any(ord(ch) < 32 for ch in name):
        return "path with a control character"
    return None


class BundleFiles:
    """The regular files of a bundle: ``sizes`` maps each relative POSIX path to its size."""

    def __init__(self, label: str, problems: Problems):
        self.label = label
        self.problems = problems
        self.sizes: dict[str, int] = {}

    def read(self, name: str, limit: int) -> bytes | None:
        """A file's bytes, or None after a Problem (over ``limit``, unreadable, damaged)."""
        size = self.sizes[name]
        if size > limit:
            self.problems.add(name, f"is {size:,} bytes, over the {limit:,}-byte limit for this file; refused unread")
            return None
        try:
            with self._open(name) as stream:
                data = stream.read(size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            self.problems.add(name, f"cannot be read (damaged?): {exc}")
            return None
        if len(data) != size:
            self.problems.add(name, f"holds {'more' if len(data) > size else 'fewer'} bytes than its size "
                                    f"({size:,}) says; refused")
            return None
        return data

    def digest(self, name: str) -> str | None:
        """``sha256:<hex>`` of a file, read in chunks (any size), or None after a Problem."""
        hasher = hashlib.sha256()
        total = 0
        try:
            with self._open(name) as stream:
                while chunk := stream.read(_CHUNK):
                    total += len(chunk)
                    if total > self.sizes[name]:
                        break
                    hasher.update(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            self.problems.add(name, f"cannot be read (damaged?): {exc}")
            return None
        if total != self.sizes[name]:
            self.problems.add(name, f"holds other than its {self.sizes[name]:,} bytes; refused")
            return None
        return f"sha256:{hasher.hexdigest()}"

    def _open(self, name: str) -> BinaryIO:
        # Only the subclasses hold files; this class alone is the empty bundle of a path that is
        # neither a folder nor a zip (its ``sizes`` is empty, so nothing asks it for a file).
        raise FileNotFoundError(2, "no such file in the bundle", name)

    def close(self) -> None:
        pass

    def __enter__(self) -> "BundleFiles":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FolderFiles(BundleFiles):
    def __init__(self, root: Path, problems: Problems):
        super().__init__(str(root), problems)
        self.root = root
        stack = [(root, "")]
        while stack:  # depth first, sorted; iterative, so that any depth of nesting is safe
            folder, prefix = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    found = sorted(listing, key=lambda item: item.name)
            except OSError as exc:
                problems.add(prefix or str(root), f"cannot be listed: {exc.strerror or exc}")
                continue
            folders = []
            for item in found:
                relative = f"{prefix}{item.name}"
                if item.is_symlink():
                    problems.add(relative, "is a symbolic link; a bundle holds regular files only")
                elif item.is_dir(follow_symlinks=False):
                    folders.append((Path(item.path), f"{relative}/"))
                elif not item.is_file(follow_symlinks=False):
                    problems.add(relative, "is not a regular file")
                elif len(self.sizes) >= spec.MAX_MEMBERS:
                    problems.add(str(root), f"holds more than {spec.MAX_MEMBERS:,} files; refused")
                    self.sizes.clear()
                    return
                else:
                    try:
                        self.sizes[relative] = item.stat(follow_symlinks=False).st_size
                    except OSError as exc:
                        problems.add(relative, f"cannot be read: {exc.strerror or exc}")
            stack.extend(reversed(folders))

    def _open(self, name: str) -> BinaryIO:
        # O_NOFOLLOW: a file swapped for a link after the walk is not followed out of the bundle
        descriptor = os.open(self.root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        stream = os.fdopen(descriptor, "rb")
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            stream.close()
            raise OSError(f"{name} is not a regular file")
        return stream


def central_directory(handle: BinaryIO) -> tuple[int, int] | None:
    """(members, bytes) of a zip's central directory as its end records state them, or None."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_size = min(size, _END.size + 0xFFFF + _ZIP64_LOCATOR.size)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        return None
    _, _, _, _, count, directory_size, _, _ = _END.unpack_from(tail, at)
    if count == 0xFFFF or directory_size == 0xFFFFFFFF:
        locator = at - _ZIP64_LOCATOR.size
        if locator < 0 or tail[locator:locator + 4] != b"PK\x06\x07":
            return None
        offset = _ZIP64_LOCATOR.unpack_from(tail, locator)[2]
        handle.seek(offset)
        record = handle.read(_ZIP64_END.size)
        if len(record) < _ZIP64_END.size or record[:4] != b"PK\x06\x06":
            return None
        *_, count, directory_size, _ = _ZIP64_END.unpack(record)
    return count, directory_size


class ZipFiles(BundleFiles):
    def __init__(self, path: Path, problems: Problems):
        super().__init__(str(path), problems)
        self.archive: zipfile.ZipFile | None = None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        where = str(path)
        try:
            with open(path, "rb") as handle:
                directory = central_directory(handle)
            most = spec.MAX_MEMBERS * (_CENTRAL_ENTRY_MIN + 2 * 1024)  # names are short; 2 KB is generous
            if directory is not None and (directory[0] > spec.MAX_MEMBERS or directory[1] > most):
                problems.add(where, f"lists {directory[0]:,} members in {directory[1]:,} bytes of central directory, "
                                    f"over the limit of {spec.MAX_MEMBERS:,} members; refused unread")
                return
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
            problems.add(where, f"is not a readable zip file: {exc}")
            return
        seen: set[str] = set()
        for info in self.archive.infolist():
            name = info.filename
            unsafe = safe_member(name)
            if unsafe:
                problems.add(name, f"unsafe zip member ({unsafe}); refused")
                continue
            if name in seen:
                problems.add(name, "appears more than once in the zip")
                continue
            seen.add(name)
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.add(name, "is a symbolic link; a bundle holds regular files only")
                continue
            if info.flag_bits & 0x1:
                problems.add(name, "is encrypted; a bundle holds plain files only")
                continue
            self.infos[name] = info
            self.sizes[name] = info.file_size
        if len(self.sizes) > spec.MAX_MEMBERS:
            problems.add(where, f"holds more than {spec.MAX_MEMBERS:,} files; refused")
            self.sizes.clear()

    def _open(self, name: str) -> BinaryIO:
        assert self.archive is not None
        return self.archive.open(self.infos[name])

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def open_bundle(path: Path, problems: Problems) -> BundleFiles:
    """The files of a bundle folder or zip; their sizes together within ``spec.MAX_BUNDLE_BYTES``.

    Raises FileNotFoundError when the path does not exist."""
    path = Path(path)
    if path.is_dir():
        files: BundleFiles = FolderFiles(path, problems)
    elif path.is_file():
        files = ZipFiles(path, problems)
    elif not path.exists():
        raise FileNotFoundError(2, "no such bundle folder or zip", str(path))
    else:
        problems.add(str(path), "is neither a folder nor a zip file")
        return BundleFiles(str(path), problems)
    total = sum(files.sizes.values())
    if total > spec.MAX_BUNDLE_BYTES:
        what = "members add up to" if isinstance(files, ZipFiles) else "files add up to"
        problems.add(str(path), f"{what} {total:,} bytes uncompressed, over the {spec.MAX_BUNDLE_BYTES:,}-byte limit; "
                                "refused (zip bomb?)")
        files.sizes.clear()
    return files
