"""Writing a bundle to disk: the folder ``bundle/`` and the zip ``<name>-<version>.zip``.

The zip is written by Python's ``zipfile``. (An earlier own zip writer reused the compressed
bytes of unchanged members and hard-linked unchanged files; it ran in the bundle worker beside
the book and saved little wall time: bench/README.md has the figures.)
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

from tpkit.models import Entry
from tpkit.write import write_atomic

from .build import build_bundle
from .spec import DATAPACKAGE, zip_name


def zip_time(created: str) -> tuple[int, int, int, int, int, int]:
    """A zip member's date from ``created``, clamped to the years a zip can hold (1980–2107)."""
    moment = _dt.datetime.fromisoformat(created.removesuffix("Z"))
    low, high = _dt.datetime(1980, 1, 1), _dt.datetime(2107, 12, 31, 23, 59, 58)
    moment = min(max(moment, low), high)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def build_zip(files: Mapping[str, bytes]) -> bytes:
    """The zip of a built bundle: files at the root, ``datapackage.json`` first then sorted paths,
    every member dated ``created`` (clamped to 1980–2107), deflated at level 9, mode 0644, no
    directory entries; past 65,535 members or 4 GB, with ZIP64 records."""
    date_time = zip_time(json.loads(files[DATAPACKAGE])["created"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in [DATAPACKAGE] + sorted(p for p in files if p != DATAPACKAGE):
            info = zipfile.ZipInfo(path, date_time=date_time)
            info.create_system = 3  # Unix, so that the external attributes mean the same everywhere
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[path], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


_WRITERS = 8


def _write_file(job: tuple[Path, bytes]) -> None:
    destination, data = job
    with open(destination, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(destination, 0o644)


def _remove(folder: Path) -> None:
    """Delete an earlier bundle folder. Freeing 2,000 files one after the other takes seconds;
    from several threads the file system does it together. What is left (folders, anything
    deeper than a bundle's two levels) goes by rmtree."""
    files = []
    stack = [folder]
    for _ in range(3):  # the bundle/ beside old/, and its entries/ and schemas/
        found = []
        for parent in stack:
            try:
                with os.scandir(parent) as listing:
                    for item in listing:
                        if item.is_dir(follow_symlinks=False):
                            found.append(item.path)
                        else:
                            files.append(item.path)
            except OSError:
                continue
        stack = found
    with ThreadPoolExecutor(_WRITERS) as pool:
        for _ in pool.map(_unlink, files):
            pass
    shutil.rmtree(folder, ignore_errors=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # rmtree tries again and ignores what it cannot remove


def write_bundle(entries: Sequence[Entry], out_dir: Path, *, name: str, version: str, title: str | None = None,
                 license: str | None = None, created: _dt.datetime | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/bundle/`` and ``out_dir/<name>-<version>.zip``; return both paths.

    The folder is built beside the old one and swapped in (so no stale file
    survives, and a failure leaves the old folder as it was); the zip is written
    atomically. Raises UsageError as ``build_bundle`` does, OSError on I/O failure.
    """
    files = build_bundle(entries, name=name, version=version, title=title, license=license, created=created)
    out_dir = Path(out_dir)
    zip_path = out_dir / zip_name(name, version)
    archive = build_zip(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "bundle"
    if target.exists() and not target.is_dir():
        raise FileExistsError(17, "exists and is not a folder; move it away", str(target))
    fresh = Path(tempfile.mkdtemp(prefix=".bundle.new.", dir=out_dir))
    old: Path | None = None
    try:
        for folder in sorted({(fresh / path).parent for path in files}):
            folder.mkdir(parents=True, exist_ok=True)
        # Each file waits until it is on disk, so that a crash cannot leave empty files behind.
        # Waited for one after the other, 2,000 files take 12 s on this project's machines; from
        # several threads the file system commits them together (0.8 s).
        with ThreadPoolExecutor(_WRITERS) as pool:
            for _ in pool.map(_write_file, [(fresh / path, data) for path, data in files.items()]):
                pass
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
        _remove(old)
    write_atomic(zip_path, archive)
    return target, zip_path
