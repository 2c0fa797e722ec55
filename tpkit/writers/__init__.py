"""Writers: plain functions from a laid-out ``Document`` to the bytes of one file.

The registry names each writer's module and function instead of importing it,
so that ``tpkit validate`` never pays for python-docx or reportlab.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable

from tpkit.document import Document

# format -> (module, function, file suffix)
WRITERS: dict[str, tuple[str, str, str]] = {
    "docx": ("tpkit.writers.docx", "render", ".docx"),
    "pdf": ("tpkit.writers.pdf", "render", ".pdf"),
}


@dataclass(frozen=True)
class RenderOptions:
    paper: str = "a4"  # "a4" or "letter"
    template: Path | None = None  # a publisher's .docx whose styles, page setup, header and footer are used
    publisher: str | None = None  # printed in footers and on book covers
    timestamp: _dt.datetime | None = None  # the document date; see document_time()


def document_time(document: Document, options: RenderOptions) -> _dt.datetime:
    """The date written into file metadata: SOURCE_DATE_EPOCH if set, else the entry's ``updated`` (UTC midnight).

    Never the clock: the same entries must give byte-identical files.
    """
    if options.timestamp is not None:
        return options.timestamp
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    return _dt.datetime.fromisoformat(document.meta.updated).replace(tzinfo=_dt.timezone.utc)


def get_writer(fmt: str) -> Callable[[Document, RenderOptions], bytes]:
    module, function, _ = WRITERS[fmt]
    return getattr(import_module(module), function)


def prepare_writer(fmt: str) -> None:
    """Import a writer and load what each of its calls needs (the PDF fonts), so that worker
    processes forked afterwards start with them instead of each loading its own."""
    module = import_module(WRITERS[fmt][0])
    getattr(module, "prepare", lambda: None)()


def suffix(fmt: str) -> str:
    return WRITERS[fmt][2]
