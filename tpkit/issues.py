"""The one problem type that every stage reports: load, schema, model and rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    path: str  # as the user named it, for file:line:col output
    line: int
    column: int
    code: str
    severity: Severity
    message: str
    pointer: str = ""  # JSON pointer of the value concerned ("" is the whole document)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple:
        # Errors first; then load and schema problems (TP0xx/TP1xx) before rule findings,
        # since fixing those often clears the rest; then reading order.
        return (self.path, self.severity != "error", self.code[:3] >= "TP2", self.line, self.column, self.code)

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "pointer": self.pointer,
        }


def pointer_from(parts) -> str:
    """RFC 6901 pointer from path parts: ("anatomy", 0, "origin") -> "/anatomy/0/origin"."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def parts_from(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]
