"""Export engine: validated entries -> files under ``--out``, shared by ``tpkit export`` and ``tpkit build``.

Each output is a job with a fingerprint of everything that made it: the entry and the
names it links to, the options, tpkit's code (``cache.code_fingerprint``: every file of the
package, the shipped fonts too), the versions of the libraries that shape its bytes
(``outputs.LIBRARIES``), and the resolved CSL file and template. ``build`` keeps those
fingerprints, with the size and SHA-256 of every file written, in a manifest and skips
outputs whose fingerprint has not changed and whose files are as tpkit wrote them;
``export`` simply makes everything it is asked for. Both hold the output folder's lock
and first remove what a killed run left there (``tpkit.outputs``).

Entry jobs can run in a process pool; every writer is deterministic, so the bytes do not
depend on the number of processes. Every file is written atomically, and output paths
come only from validated ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from tpkit import __version__
from tpkit.errors import UsageError
from tpkit.outputs import (
    Manifest, digests_of, files_under, library_versions, locked, remove_leftovers, sha256_of,
)
from tpkit.write import write_atomic
from tpkit.writers import RenderOptions, get_writer, prepare_writer, suffix

if TYPE_CHECKING:
    from tpkit.models import Entry

FORMATS = ("docx", "pdf", "bundle")


@dataclass(frozen=True)
class Settings:
    out: Path
    formats: tuple[str, ...] = ("docx",)
    render: RenderOptions = field(default_factory=RenderOptions)
    style: str = "apa"  # CSL style name or path
    locale: str | None = None  # citation locale; None: each entry's language, then the style's
    default_license: str | None = None
    book_title: str | None = None  # set: also write one PDF book of all entries
    book_volumes: str | None = None  # "region": one book per body region instead of one book
    bundle_name: str = "tpkit-entries"
    bundle_version: str = "0.1.0"
    bundle_title: str | None = None
    jobs: int = 1
    incremental: bool = False  # keep a manifest and skip unchanged outputs
    force: bool = False


@dataclass
class Outcome:
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # temporary files of a killed run, deleted
    seconds: float = 0.0


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")
    return slug[:64].strip("-") or "book"


def prepare_out(out: Path) -> None:
    """Make sure ``out`` is a writable folder, or raise UsageError (exit 2)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out folder {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to --out folder {out}")


def _file_digest(path: str | os.PathLike | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return f"unreadable {path}"


def _options_signature(settings: Settings) -> str:
    from tpkit.cache import code_fingerprint
    from tpkit.citations import resolve_style

    render = settings.render
    try:
        csl = _file_digest(resolve_style(settings.style))  # a style name: the file it names today
    except ValueError:
        csl = f"unknown style {settings.style}"  # refused later, when an entry is laid out
    return json.dumps([
        code_fingerprint(), render.paper, render.publisher, render.timestamp.isoformat() if render.timestamp else None,
        os.environ.get("SOURCE_DATE_EPOCH"), settings.style, csl, settings.locale, _file_digest(render.template),
        settings.default_license, *_engine_signature(render),
    ])


def _engine_signature(render: RenderOptions) -> list[str]:
    """The PDF engine, and for Typst its template and every file of the template's folder (what it may read)."""
    if render.pdf_engine == "reportlab":
        return []  # the reportlab output's signature, as before engines existed
    from tpkit.writers.typst import template_fingerprint

    return [render.pdf_engine, template_fingerprint(render.pdf_template)]


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()


# --- rendering, in this process or a worker ---------------------------------------


def build_entry_document(entry: "Entry", names: dict[str, str], settings: Settings):
    from tpkit.layout import build_document

    return build_document(entry, names=names, style=settings.style, default_license=settings.default_license,
                          locale=settings.locale)


def _render_entry(entry: "Entry", formats: tuple[str, ...], names: dict[str, str], settings: Settings) -> dict[str, bytes]:
    document = build_entry_document(entry, names, settings)
    return {fmt: get_writer(fmt, settings.render)(document, settings.render) for fmt in formats}


def _pool_context(settings: Settings):
    """Forked workers, except for Typst: a child forked after its compiler ran in the parent
    (as in a test session) inherits locks of threads it does not have, and hangs."""
    if settings.render.pdf_engine != "typst":
        return None
    import multiprocessing

    return multiprocessing.get_context("spawn")


# What every task of a pool shares, handed to each worker once when it starts: a forked
# worker inherits it without pickling, so a task is only an index. (Pickling a thousand
# entries for the bundle's task cost about a second.)
_shared: tuple[Sequence["Entry"], dict[str, str], Settings] | None = None


def _start_worker(parent: int, entries: Sequence["Entry"], names: dict[str, str], settings: Settings) -> None:
    from tpkit.workers import start_worker

    global _shared
    start_worker(parent)
    _shared = (entries, names, settings)


def _render_entry_task(task: tuple[int, tuple[str, ...]]) -> dict[str, bytes]:
    entries, names, settings = _shared
    index, formats = task
    return _render_entry(entries[index], formats, names, settings)


def _write_bundle_task() -> dict[str, str]:
    entries, _, settings = _shared
    return _write_bundle(entries, settings)


def _write_bundle(entries: Sequence["Entry"], settings: Settings) -> dict[str, str]:
    """The bundle folder and zip; for a build, the SHA-256 of each of their files (read back
    where the bundle was written: in a worker, beside the book)."""
    from tpkit import bundle

    bundle.write_bundle(list(entries), settings.out, name=settings.bundle_name, version=settings.bundle_version,
                        title=settings.bundle_title, license=settings.default_license)
    if not settings.incremental:
        return {}
    return digests_of(settings.out, [*files_under(settings.out, "bundle"), _zip_name(settings)])


def _zip_name(settings: Settings) -> str:
    return f"{settings.bundle_name}-{settings.bundle_version}.zip"


# --- the engine ------------------------------------------------------------------

def run_export(entries: Sequence["Entry"], settings: Settings, *, names: dict[str, str] | None = None,
               progress: Callable[[str, str], None] | None = None) -> Outcome:
    """Write the outputs of ``entries`` under ``settings.out``; return what was built, skipped, removed.

    ``names`` maps every known entry id to its name (also of entries filtered out), for links.
    Raises OutputError (exit 2) at once if another tpkit is writing to the same folder.
    """
    started = time.perf_counter()
    prepare_out(settings.out)
    with locked(settings.out):
        outcome = _export_locked(entries, settings, names if names is not None else {e.id: e.name for e in entries},
                                 progress or (lambda action, path: None))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _export_locked(entries: Sequence["Entry"], settings: Settings, names: dict[str, str],
                   progress: Callable[[str, str], None]) -> Outcome:
    out = settings.out
    outcome = Outcome()
    for relpath in remove_leftovers(out, ("docx", "pdf")):
        outcome.leftovers.append(relpath)
        progress("removed leftover", relpath)
    incremental = settings.incremental
    manifest = Manifest(out, read=incremental)  # with --force too: it names what removed entries left
    from tpkit.cache import code_fingerprint

    signature = _options_signature(settings)
    versions = {fmt: "\n".join(library_versions(fmt)) for fmt in FORMATS}

    entry_prints = {
        e.id: _digest(e.model_dump_json(by_alias=True), json.dumps(
            sorted((a.muscle, names.get(a.muscle, "")) for a in e.associated_trigger_points)), signature)
        for e in entries
    }
    fingerprints: dict[str, str] = {}

    def fresh(key: str, fingerprint: str, paths: list[str]) -> bool:
        fingerprints[key] = fingerprint
        return incremental and not settings.force and manifest.fresh(key, fingerprint, paths)

    def made(key: str, paths: list[str], digests: dict[str, str]) -> None:
        if incremental:
            manifest.record(key, fingerprints[key], paths, digests)

    # Per-entry files
    entry_formats = tuple(f for f in settings.formats if f in ("docx", "pdf"))
    todo: list[tuple["Entry", tuple[str, ...]]] = []
    for entry in entries:
        needed = []
        for fmt in entry_formats:
            relpath = f"{fmt}/{entry.id}{suffix(fmt)}"
            if fresh(relpath, _digest(fmt, entry_prints[entry.id], versions[fmt]), [relpath]):
                outcome.up_to_date.append(relpath)
            else:
                needed.append(fmt)
        if needed:
            todo.append((entry, tuple(needed)))
    for fmt in entry_formats:
        (out / fmt).mkdir(exist_ok=True)

    def store(entry: "Entry", rendered: dict[str, bytes]) -> None:
        for fmt, data in rendered.items():
            relpath = f"{fmt}/{entry.id}{suffix(fmt)}"
            write_atomic(out / relpath, data)
            made(relpath, [relpath], {relpath: hashlib.sha256(data).hexdigest()} if incremental else {})
            outcome.built.append(relpath)
            progress("built", relpath)

    # The book (or its volumes): every entry, by region and name, made once the handouts
    # are written (the reportlab book reuses them; see tpkit.books).
    book: list = []
    if settings.book_title and "pdf" in settings.formats and entries:
        from tpkit import books

        for volume in books.plan(entries, settings.book_title, settings.book_volumes):
            relpath = volume.relpath
            if any(relpath == f"pdf/{e.id}.pdf" for e in entries):
                raise UsageError(f"the book title \"{volume.title}\" would overwrite {relpath}; choose another title")
            fingerprint = _digest("book", volume.title, versions["pdf"], *(entry_prints[e.id] for e in volume.entries))
            if fresh(relpath, fingerprint, [relpath]):
                outcome.up_to_date.append(relpath)
            else:
                book.append(volume)

    # The bundle: a folder and a zip of the same files
    bundle_paths: list[str] = []
    if "bundle" in settings.formats:
        paths = ["bundle", _zip_name(settings)]
        fingerprint = _digest("bundle", settings.bundle_name, settings.bundle_version, settings.bundle_title or "",
                              settings.default_license or "", os.environ.get("SOURCE_DATE_EPOCH", ""), code_fingerprint(),
                              versions["bundle"],
                              *(e.model_dump_json(by_alias=True) for e in sorted(entries, key=lambda e: e.id)))
        if fresh("bundle", fingerprint, paths):
            outcome.up_to_date.append("bundle")
        else:
            bundle_paths = paths

    pool = None
    if settings.jobs > 1 and (len(todo) > 1 or (book and bundle_paths)):
        # Loaded once here, inherited by every worker the pool forks.
        for fmt in sorted({fmt for _, fmts in todo for fmt in fmts} | ({"pdf"} if book else set())):
            prepare_writer(fmt, settings.render)
        pool = ProcessPoolExecutor(max_workers=settings.jobs, initializer=_start_worker,
                                   initargs=(os.getpid(), list(entries), names, settings),
                                   mp_context=_pool_context(settings))
    try:
        # The book and the bundle need every entry but not each other: with a pool, a worker
        # writes the bundle (which needs no handout) from the start, and this process
        # assembles the book once the handouts are written.
        bundle_job = pool.submit(_write_bundle_task) if pool and bundle_paths and book else None
        if pool and todo:
            index_of = {id(entry): index for index, entry in enumerate(entries)}
            tasks = [(index_of[id(entry)], fmts) for entry, fmts in todo]
            chunk = max(1, len(tasks) // (settings.jobs * 8))
            for (entry, _), rendered in zip(todo, pool.map(_render_entry_task, tasks, chunksize=chunk)):
                store(entry, rendered)
        else:
            for entry, fmts in todo:
                store(entry, _render_entry(entry, fmts, names, settings))
        if book:
            def book_done(relpath: str) -> None:
                made(relpath, [relpath], {relpath: sha256_of(out / relpath)} if incremental else {})
                outcome.built.append(relpath)
                progress("built", relpath)

            books.write_books(out, book, names, settings, book_done)
        if bundle_paths:
            digests = bundle_job.result() if bundle_job else _write_bundle(list(entries), settings)
            made("bundle", bundle_paths, digests)
            outcome.built.extend(bundle_paths)
            progress("built", "bundle/")
            progress("built", bundle_paths[1])
    except BaseException:
        if pool:
            pool.shutdown(wait=False, cancel_futures=True)  # an interrupt must not wait for queued work
        raise
    if pool:
        pool.shutdown()

    if incremental:
        for relpath in manifest.stale_paths():
            if _remove_output(out, relpath):
                outcome.removed.append(relpath)
                progress("removed", relpath)
        manifest.save(__version__)
    return outcome


def _remove_output(out: Path, relpath: str) -> bool:
    """Delete an output the manifest recorded, never anything outside ``out``."""
    target = (out / relpath).resolve()
    if out.resolve() not in target.parents:
        return False
    if target.is_dir():
        import shutil

        shutil.rmtree(target)
        return True
    if target.exists():
        target.unlink()
        return True
    return False
