"""PDF books: which books an export makes (one book, or one volume per body region) and how each is written.

With the reportlab engine a book is assembled from the entries' handouts already written
under ``pdf/`` (``writers.pdfbook``); with Typst the whole book is typeset in one compile
from the entries' layout trees, which holds the whole book in memory (about 1 GB per 100
eight-page entries). Volumes bound that: each is made in a worker process of its own,
started fresh ("spawn") and ended after its one volume, so the memory of one volume is
returned before the next starts and no worker inherits Typst's threads from a parent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from tpkit.write import write_atomic

if TYPE_CHECKING:
    from tpkit.export import Settings
    from tpkit.models import Entry

VOLUMES = ("region",)  # --book-volumes choices


@dataclass(frozen=True)
class Book:
    relpath: str  # under --out, e.g. "pdf/trigger-point-handouts.pdf"
    title: str
    entries: tuple["Entry", ...]  # in print order


def plan(entries: Sequence["Entry"], title: str, volumes: str | None) -> list[Book]:
    """The books to make: one of all entries, or with ``volumes="region"`` one per body region
    ("Title — Head and Neck"), in the collection's order."""
    from tpkit.export import slugify
    from tpkit.layout import collection_order
    from tpkit.vocabulary import REGION_LABELS

    ordered = collection_order(entries)
    if volumes is None:
        groups = [(title, ordered)]
    elif volumes == "region":
        by_region: dict[str, list["Entry"]] = {}
        for entry in ordered:
            by_region.setdefault(entry.region, []).append(entry)
        groups = [(f"{title} \u2014 {REGION_LABELS[region]}", members) for region, members in by_region.items()]
    else:
        raise ValueError(f"book volumes must be one of {', '.join(VOLUMES)}, not {volumes!r}")
    return [Book(f"pdf/{slugify(name)}.pdf", name, tuple(members)) for name, members in groups]


def write_book(out: Path, book: Book, names: dict[str, str], settings: "Settings") -> None:
    """One book, written atomically to ``out / book.relpath``."""
    from tpkit.document import Document
    from tpkit.layout import metadata_of

    path = out / book.relpath
    if settings.render.pdf_engine == "typst":
        from tpkit.export import build_entry_document
        from tpkit.writers.typst import render_book

        documents = [build_entry_document(e, names, settings) for e in book.entries]
        write_atomic(path, render_book(documents, book.title, settings.render))
        return
    from tpkit.writers.pdf import write_book as write_reportlab_book

    documents = [Document(metadata_of(e, settings.default_license), ()) for e in book.entries]
    chapters = [path.parent / f"{entry.id}.pdf" for entry in book.entries]
    write_atomic(path, lambda stream: write_reportlab_book(stream, documents, book.title, settings.render, chapters))


def _start_volume_worker(parent: int) -> None:
    """Ctrl-C is the parent's to report; SIGTERM (the parent stopping the pool) unwinds like an
    interrupt, so a volume being written leaves no temporary file and nothing is written after;
    a parent killed outright takes the worker with it (as every pool worker of tpkit)."""
    import signal

    from tpkit.workers import die_with_parent
    from tpkit.write import interrupt

    die_with_parent(parent)

    def stop(signum, frame) -> None:
        try:
            interrupt(signum, frame)  # remembered: nothing is written afterwards
        except KeyboardInterrupt:
            raise SystemExit(130) from None  # a worker that ends quietly, without a traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)


def _volume_task(args: tuple[Path, Book, dict[str, str], "Settings"]) -> str:
    out, book, names, settings = args
    write_book(out, book, names, settings)
    return book.relpath


def write_books(out: Path, books: Sequence[Book], names: dict[str, str], settings: "Settings",
                done: Callable[[str], None]) -> None:
    """Write ``books``: a single book here, volumes each in a fresh worker process (``settings.jobs`` at once)."""
    if not books:
        return
    if settings.book_volumes is None:
        for book in books:
            write_book(out, book, names, settings)
            done(book.relpath)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Not multiprocessing.Pool: with a worker per volume (maxtasksperchild=1) its termination
    # could deadlock on the task queue's lock held by an idle replacement worker (seen in the
    # tests). The executor replaces workers safely (max_tasks_per_child); on an interrupt its
    # workers are stopped outright instead of finishing a volume that may take minutes.
    executor = ProcessPoolExecutor(max(1, min(settings.jobs, len(books))),
                                   mp_context=multiprocessing.get_context("spawn"), initializer=_start_volume_worker,
                                   initargs=(os.getpid(),), max_tasks_per_child=1)
    try:
        for relpath in executor.map(_volume_task, [(out, book, names, settings) for book in books]):
            done(relpath)
    except BaseException:
        workers = list((executor._processes or {}).values())  # the executor has no public way to stop them
        executor.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        raise
    executor.shutdown()
