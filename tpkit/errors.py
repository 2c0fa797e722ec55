"""tpkit's exception family: every error a user can cause is one of these types.

Library code raises them; the CLI's last guard prints ``tpkit: error: <message>`` in one
line and exits with the type's ``exit_code``. Anything else that reaches the guard is a
bug in tpkit, reported as such (with the traceback under ``--debug`` or ``TPKIT_DEBUG=1``).

Exit codes: 1 content problems (an entry or a bundle is not what the contract says),
2 usage, configuration, input/output and rendering problems, 130 interrupted.

Content problems found by validation are not exceptions: they are ``Issue`` values in a
report (``tpkit.issues``), so that every problem of every file is reported at once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from tpkit.issues import Issue

EXIT_CONTENT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class TpkitError(Exception):
    """The base of every error tpkit raises on purpose; its message says what to change."""

    exit_code = EXIT_USAGE


class UsageError(TpkitError):
    """A bad option, path or combination of them (click shows it with the command's usage)."""


class ConfigError(TpkitError):
    """A bad tpkit.toml: the message names the file and line."""


class OutputError(TpkitError):
    """An output cannot be written or made from what lies in the output folder; the message
    names the file and what to do."""


class BookError(OutputError):
    """A chapter PDF is not what tpkit's PDF writer wrote, so it cannot be linked into a book."""


class RenderError(TpkitError):
    """A writer or engine could not render an entry (a template or engine refused it)."""


class LoadError(TpkitError):
    """One entry file could not be read as JSON; carries a located ``Issue`` for the report."""

    exit_code = EXIT_CONTENT

    def __init__(self, issue: "Issue"):
        super().__init__(issue.message)
        self.issue = issue


class BundleError(TpkitError):
    """A bundle failed verification; ``problems`` lists every failure."""

    exit_code = EXIT_CONTENT

    def __init__(self, problems: Sequence, path: str | os.PathLike | None = None):
        self.problems = list(problems)
        where = f"{path}: " if path is not None else ""
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f"; and {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
        count = len(self.problems)
        plural = "s" if count != 1 else ""
        super().__init__(f"{where}bundle failed verification ({count} problem{plural}): {shown}{more}")


def debug_enabled() -> bool:
    return os.environ.get("TPKIT_DEBUG", "").strip() not in ("", "0")
