"""Safe output: every file is written to a temporary file beside it and moved into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from tpkit.errors import OutputError, TpkitError

_interrupted = False


def interrupt(signum, frame) -> None:
    """The handler of SIGINT and SIGTERM: unwind like Ctrl-C, so that atomic writes remove
    their temporary files, and remember it, so that nothing is written afterwards. Without
    the memory, an interrupt that lands inside a library's bare ``except:`` (reportlab has
    dozens) would be swallowed and the export would finish as if nothing had happened."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _stop_if_interrupted() -> None:
    if _interrupted:
        raise KeyboardInterrupt


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], None], *, durable: bool = True) -> None:
    """Write bytes so that readers see the old file or the new one, never half of either.

    ``data`` is the bytes, or a function that writes them to the stream it is given (so that
    a large output, such as a book, need not be held in memory whole). ``durable`` also waits
    until the bytes are on disk, so that a crash cannot leave an empty file behind; a cache,
    which may be lost, skips that wait.
    """
    _stop_if_interrupted()
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            if callable(data):
                data(stream)
            else:
                stream.write(data)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        _stop_if_interrupted()
        os.replace(temporary, path)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, TpkitError):
            # "No space left on device" alone does not say which of a thousand outputs failed
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; nothing of it was written, "
                              "the previous file (if any) is unchanged") from exc
        raise
