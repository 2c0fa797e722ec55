"""Reading entry files: bytes -> UTF-8 text -> JSON data, with positions for messages.

Valid files take the fast path (the C JSON parser). Positions are worked out only
when a problem needs one: ``LoadedFile.locate_many`` walks down to the values concerned
in one pass, letting the C parser skip every value off their paths, and maps each JSON
pointer to the line and column where its value (or member name) starts. Load failures
become ``LoadError`` carrying a ready ``Issue``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from tpkit.errors import LoadError
from tpkit.issues import Issue, parts_from, pointer_from

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64


class _DuplicateKey(Exception):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey()
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


@dataclass
class LoadedFile:
    path: Path
    display: str  # the path as the user should read it
    text: str
    data: Any
    _positions: dict[str, tuple[int, int]] | None = field(default=None, repr=False)

    def locate(self, pointer: str) -> tuple[int, int]:
        """Line and column (1-based) of the value at a pointer, or of its nearest existing parent."""
        return self.locate_many([pointer])[pointer]

    def locate_many(self, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
        """``locate`` for several pointers with one pass over the text for those not yet known."""
        if self._positions is None:
            self._positions = {}
        pointers = list(pointers)
        wanted = [p for p in pointers if p not in self._positions]
        if wanted:
            self._positions.update(locate_pointers(self.text, wanted))
        located = {}
        for pointer in pointers:
            nearest = pointer
            while nearest not in self._positions and nearest:
                nearest = nearest[: nearest.rfind("/")]
            located[pointer] = self._positions.get(nearest, (1, 1))
        return located

    def issue(self, code: str, severity: str, message: str, pointer: str = "") -> Issue:
        line, column = self.locate(pointer)
        return Issue(self.display, line, column, code, severity, message, pointer)

    def issues(self, found: Iterable[tuple[str, str, str, str]]) -> list[Issue]:
        """Located issues from (code, severity, message, pointer) tuples, all placed in one pass."""
        found = list(found)
        where = self.locate_many(pointer for *_, pointer in found)
        return [Issue(self.display, *where[pointer], code, severity, message, pointer)
                for code, severity, message, pointer in found]


class NotRegularFile(OSError):
    """The path is a FIFO, a socket or a device: reading it could wait forever or never end."""


def open_regular(path: str | os.PathLike):
    """Open a file for binary reading if it is a regular file, else raise NotRegularFile.

    The check is made on the opened file, so that nothing can swap the file between a check
    and the read. Opening does not wait (``O_NONBLOCK``): a FIFO opened the ordinary way blocks
    until someone writes to it."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"not a regular file ({file_kind(mode)})")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_at_most(handle, limit: int, expected: int) -> bytes:
    """The file's bytes, but no more than ``limit`` + 1 (one more tells that the limit was passed).

    Asks for what the file holds (``expected``, from fstat), not for the limit: a read of n bytes
    reserves n bytes first, so a limit of a terabyte would fail. A file that grows meanwhile is
    read on in 1 MB steps."""
    chunks: list[bytes] = []
    total, wanted = 0, min(expected, limit) + 1
    while total <= limit:
        chunk = handle.read(wanted)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        wanted = min(1 << 20, limit + 1 - total)
    return b"".join(chunks)


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def load_file(path: Path, display: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
              max_depth: int = DEFAULT_MAX_DEPTH) -> LoadedFile:
    """Read and parse one entry file; raise LoadError with a located Issue on any failure."""
    display = display if display is not None else str(path)

    def fail(code: str, message: str, line: int = 1, column: int = 1) -> LoadError:
        return LoadError(Issue(display, line, column, code, "error", message))

    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                # Answered from the size alone: a hostile file is never read into memory.
                raise fail("TP006", f"file is {size:,} bytes, over the {max_bytes:,}-byte limit; split it or raise the limit")
            raw = read_at_most(handle, max_bytes, size)
    except NotRegularFile as exc:
        raise LoadError(Issue(display, 1, 1, "TP015", "warning", f"skipped: {exc}; only regular files are read")) from None
    except OSError as exc:
        raise fail("TP001", f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise fail("TP006", f"file is over the {max_bytes:,}-byte limit; split it or raise the limit")
    return load_bytes(raw, path, display, max_depth=max_depth)


def load_bytes(raw: bytes, path: Path, display: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> LoadedFile:
    """Parse bytes already read (a file, a bundle member) as ``load_file`` does: strict JSON
    (UTF-8 without BOM, no duplicate keys, no NaN, no lone surrogates), one object."""

    def fail(code: str, message: str, line: int = 1, column: int = 1) -> LoadError:
        return LoadError(Issue(display, line, column, code, "error", message))

    if raw.startswith(b"\xef\xbb\xbf"):
        raise fail("TP002", "file starts with a byte order mark (BOM); save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column_of_bytes(raw, exc.start)
        raise fail("TP002", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}; save the file as UTF-8", line, column) from None
    if not text.strip():
        raise fail("TP003", "file is empty; an entry is one JSON object")
    try:
        data = _DECODER.decode(text)
    except _DuplicateKey:
        # The hook stops at the first duplicate; a syntax error further on is the more basic problem.
        try:
            json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise fail("TP003", f"not valid JSON: {_explain_syntax(exc)}", exc.lineno, exc.colno) from None
        except (RecursionError, ValueError):
            pass
        _, duplicate = scan_positions(text)
        pointer, key, line, column = duplicate or ("", "?", 1, 1)
        raise LoadError(Issue(display, line, column, "TP004", "error",
                              f"duplicate key \"{key}\"; remove or rename one of them", pointer)) from None
    except json.JSONDecodeError as exc:
        raise fail("TP003", f"not valid JSON: {_explain_syntax(exc)}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise fail("TP007", f"JSON nested too deeply (more than {max_depth} levels)") from None
    except ValueError as exc:  # NaN / Infinity
        raise fail("TP003", f"not valid JSON: {exc}") from None
    if "\\u" in text:
        lone = _lone_surrogate(text)
        if lone is not None:
            line, column = _line_column_of_text(text, lone.start())
            raise fail("TP002", f"{lone.group()} is half of a UTF-16 surrogate pair without its partner; "
                                "such text cannot be stored as UTF-8: remove or fix the escape", line, column)
    loaded = LoadedFile(path, display, text, data)
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        raise LoadError(loaded.issue("TP005", "error", f"the file holds {kind}; an entry must be one JSON object {{...}}"))
    return loaded


def check_depth(loaded: LoadedFile, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise LoadError if the data nests deeper than allowed.

    Only needed for documents the schema rejects: a schema-valid entry is a few levels deep.
    """
    if _depth_exceeds(loaded.data, max_depth):
        raise LoadError(loaded.issue("TP007", "error", f"JSON nested more than {max_depth} levels deep"))


def _depth_exceeds(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if isinstance(child, (dict, list)))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if isinstance(child, (dict, list)))
    return False


# A literal prefix the regex engine finds fast; only text that has one needs the full search.
_SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _lone_surrogate(text: str) -> "re.Match[str] | None":
    """The first \\uD800–\\uDFFF escape that is not a high surrogate directly followed by a low one."""
    if not _SURROGATE_HINT.search(text):
        return None
    matches = list(_SURROGATE_ESCAPE.finditer(text))
    index = 0
    while index < len(matches):
        high = matches[index].group(2)[1].lower() in "89ab"
        following = matches[index + 1] if index + 1 < len(matches) else None
        if high and following and following.start() == matches[index].end() and not following.group(1) \
                and following.group(2)[1].lower() in "cdef":
            index += 2
            continue
        return matches[index]
    return None


def _line_column_of_text(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _line_column_of_bytes(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def _explain_syntax(exc: json.JSONDecodeError) -> str:
    doc, pos = exc.doc, exc.pos
    before = doc[:pos].rstrip()
    if exc.msg.startswith("Expecting property name") and before.endswith(","):
        return "trailing comma before '}'; remove it"
    if exc.msg.startswith("Expecting value") and before.endswith(",") and doc[pos:pos + 1] == "]":
        return "trailing comma before ']'; remove it"
    if exc.msg.startswith("Invalid control character"):
        return "control character inside a string; remove it or write it as an escape such as \\n"
    if exc.msg.startswith("Extra data"):
        return "more content after the JSON object; an entry file holds exactly one object"
    return exc.msg[0].lower() + exc.msg[1:]


# --- the position scanner -------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
# Possessive: a plain alternation saves a backtracking point per character, 600 MB for a 5 MB string.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")


def scan_positions(text: str) -> tuple[dict[str, tuple[int, int]], tuple[str, str, int, int] | None]:
    """Map each JSON pointer to (line, column) of its member name or array item.

    Also returns the first duplicate key found, as (pointer, key, line, column).
    Iterative, so that depth is no danger; stops quietly at the first syntax error
    (callers reach here only for text the JSON parser has accepted, or to place a duplicate).
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(offset: int) -> tuple[int, int]:
        index = bisect_right(line_starts, offset) - 1
        return index + 1, offset - line_starts[index] + 1

    positions: dict[str, tuple[int, int]] = {}
    duplicates: list[tuple[str, str, int, int]] = []

    def first(found: list):
        return found[0] if found else None
    # Each frame: [kind, pointer, keys seen or next index]
    stack: list[list] = []
    pos = _WS.match(text, 0).end()
    pending_pointer = ""
    positions[""] = where(pos)
    try:
        while True:
            pos = _WS.match(text, pos).end()
            # Read a value at pos for pending_pointer.
            char = text[pos]
            if char == "{":
                pos = _WS.match(text, pos + 1).end()
                if text[pos] == "}":
                    pos += 1
                else:
                    stack.append(["object", pending_pointer, set()])
                    pending_pointer, pos = _member_name(text, pos, stack[-1], positions, where, duplicates)
                    if pending_pointer is None:
                        return positions, first(duplicates)
                    continue
            elif char == "[":
                pos = _WS.match(text, pos + 1).end()
                if text[pos] == "]":
                    pos += 1
                else:
                    stack.append(["array", pending_pointer, 0])
                    pending_pointer = f"{pending_pointer}/0"
                    positions[pending_pointer] = where(pos)
                    continue
            elif char == '"':
                pos = _STRING.match(text, pos).end()
            else:
                match = _SCALAR.match(text, pos)
                if not match:
                    return positions, first(duplicates)
                pos = match.end()
            # After a value: close containers or move to the next member/item.
            while True:
                if not stack:
                    return positions, first(duplicates)
                pos = _WS.match(text, pos).end()
                frame = stack[-1]
                char = text[pos]
                if char == ",":
                    pos = _WS.match(text, pos + 1).end()
                    if frame[0] == "array":
                        frame[2] += 1
                        pending_pointer = f"{frame[1]}/{frame[2]}"
                        positions[pending_pointer] = where(pos)
                    else:
                        pending_pointer, pos = _member_name(text, pos, frame, positions, where, duplicates)
                        if pending_pointer is None:
                            return positions, first(duplicates)
                    break
                if char in "}]":
                    stack.pop()
                    pos += 1
                    continue
                return positions, first(duplicates)
    except (IndexError, AttributeError, ValueError):
        # Text the parser has not fully accepted (a syntax error past a duplicate key): keep what was read.
        return positions, first(duplicates)


def _member_name(text, pos, frame, positions, where, duplicates):
    """Read a member name at pos; record its position (or, if repeated, the duplicate). Returns (pointer, pos)."""
    match = _STRING.match(text, pos)
    if not match:
        return None, pos
    key = _string_value(match.group(0))
    pointer = frame[1] + pointer_from([key])
    line_column = where(pos)
    pos = _WS.match(text, match.end()).end()
    if text[pos:pos + 1] != ":":
        return None, pos
    pos += 1
    if key in frame[2]:
        duplicates.append((pointer, key, *line_column))
    else:
        frame[2].add(key)
        positions[pointer] = line_column
    return pointer, pos


def _string_value(literal: str) -> str:
    """The value of a JSON string literal the parser has accepted; only escapes need decoding."""
    return json.loads(literal) if "\\" in literal else literal[1:-1]


_SKIPPER = json.JSONDecoder()  # to step over a value: the C parser, which finds its end fastest


class _AllFound(Exception):
    pass


def locate_pointers(text: str, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Line and column of each pointer's member name or array item, in text the parser has
    accepted, with those of every existing ancestor; pointers that do not exist are left out.

    One pass that only descends along the wanted paths: a value off them is skipped by the C
    parser (``raw_decode``), so the cost is about one parse of the text, whatever its size
    and however many pointers, instead of a Python step per member. It stops once every
    pointer is found.
    """
    wanted: dict = {}
    remaining = 0
    for pointer in set(pointers):
        node = wanted
        for part in parts_from(pointer):
            if part not in node:
                remaining += 1
                node[part] = {}
            node = node[part]
    found: dict[str, int] = {}  # pointer -> offset; lines and columns are counted once at the end

    def visit(pos: int, pointer: str, node: dict) -> int:
        """Record the wanted members of the value at ``pos``; return where the value ends."""
        nonlocal remaining
        if not node:
            return _SKIPPER.raw_decode(text, pos)[1]
        opening = text[pos]
        if opening not in "{[":
            return _SKIPPER.raw_decode(text, pos)[1]
        pos = _WS.match(text, pos + 1).end()
        if text[pos] in "}]":
            return pos + 1
        index = 0
        while True:
            start = pos
            if opening == "{":
                name = _STRING.match(text, pos)
                key = _string_value(name.group(0))
                pos = _WS.match(text, name.end()).end() + 1  # past the colon
                pos = _WS.match(text, pos).end()
            else:
                key = str(index)
                index += 1
            child = node.get(key)
            if child is None:
                pos = _SKIPPER.raw_decode(text, pos)[1]
            else:
                child_pointer = pointer + pointer_from([key])
                found[child_pointer] = start
                remaining -= 1
                if remaining == 0:
                    raise _AllFound
                pos = visit(pos, child_pointer, child)
            pos = _WS.match(text, pos).end()
            if text[pos] != ",":
                return pos + 1
            pos = _WS.match(text, pos + 1).end()

    start = _WS.match(text, 0).end()
    found[""] = start
    try:
        if remaining:
            visit(start, "", wanted)
    except _AllFound:
        pass
    except (IndexError, AttributeError, ValueError):
        pass  # text the parser did not accept (only reached to place an error in it): keep what was found
    return _lines_and_columns(text, found)


def _lines_and_columns(text: str, offsets: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Offsets to 1-based (line, column), counting the text's line breaks once in all."""
    located = {}
    line, line_start, counted_to = 1, 0, 0
    for pointer, offset in sorted(offsets.items(), key=lambda item: item[1]):
        breaks = text.count("\n", counted_to, offset)
        if breaks:
            line += breaks
            line_start = text.rfind("\n", counted_to, offset) + 1
        counted_to = offset
        located[pointer] = (line, offset - line_start + 1)
    return located
