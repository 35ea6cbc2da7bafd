"""One bounded reader for every file goalctl reads (DESIGN §7, §10).

Files come from strangers (scenarios, data, cassettes in a pull request) or from disk that may
be damaged or tampered with (state, journals, reports). Every read goes through here, so the
same guarantees hold for all of them: only regular files (a FIFO blocks, a device never ends),
a size limit per kind of file checked before and while reading, strict UTF-8 with the offset
of a bad byte, and JSON with a bound on nesting (deep JSON raises ``RecursionError`` in the
parser and in every walker after it).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from goalctl.errors import UsageError

KIB: Final = 1024
MIB: Final = 1024 * KIB

LIMITS: Final[dict[str, int]] = {
    "scenario": 1 * MIB,
    "config": 1 * MIB,
    "data": 512 * MIB,
    "cassette": 256 * MIB,
    "state": 16 * MIB,
    "journal": 1024 * MIB,
    "report": 256 * MIB,
    "junit": 64 * MIB,
    "baseline": 64 * MIB,
    "trajectory": 64 * MIB,
    "workspace": 16 * MIB,
}
"""The largest file of each kind goalctl reads, in bytes."""

MAX_JSON_DEPTH: Final = 64
"""The deepest nesting of arrays and objects accepted in any JSON goalctl parses."""

_O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, which has no FIFOs


CAUSES: Final = ("unreadable", "not regular", "too large", "encoding", "syntax", "nesting")
"""Why a file could not be read, as :attr:`ReadError.cause` says it."""


class ReadError(UsageError):
    """A file that cannot be read as the kind of file it should be (exit 2).

    ``offset`` is the byte offset of the problem when there is one (bad UTF-8, bad JSON);
    ``line`` and ``col`` are 1-based positions of it, else 1. ``detail`` says what is wrong
    without naming the file, for callers that name it their own way (``file:line:col``);
    ``cause`` is one of :data:`CAUSES`, for callers that add their own remedy.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        line: int = 1,
        col: int = 1,
        detail: str | None = None,
        cause: str = "",
    ):
        super().__init__(message)
        self.reason = message
        self.offset = offset
        self.line = line
        self.col = col
        self.detail = message if detail is None else detail
        self.cause = cause


def special_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_bytes(path: Path, kind: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, refused when it is anything else or too large.

    ``kind`` names the kind of file for messages and picks the size limit from :data:`LIMITS`
    unless ``limit`` is given. The type is checked before opening (opening a FIFO blocks until
    a writer comes) and again on the open descriptor (the path may change in between); the
    size is checked on the descriptor and while reading (a file may grow, or lie: /proc).
    """
    limit = LIMITS[kind] if limit is None else limit
    with open_regular(path, kind, limit) as file:
        size = os.fstat(file.fileno()).st_size
        # Sized by the file, not the limit: a buffer of the limit would be allocated whole.
        chunks = [file.read(size + 1)]
        total = len(chunks[0])
        while total <= limit and len(chunks[-1]) > 0 and total > size:
            chunks.append(file.read(min(limit + 1 - total, 1 * MIB)))  # it grew, or lied
            total += len(chunks[-1])
    if total > limit:
        raise too_large(path, kind, limit, total)
    return b"".join(chunks) if len(chunks) > 1 else chunks[0]


@contextlib.contextmanager
def open_regular(path: Path, kind: str, limit: int | None = None) -> Iterator[BinaryIO]:
    """``path`` opened for reading once it is known to be a regular file within the size
    limit of ``kind`` (see :func:`read_bytes`); a caller that reads it in pieces counts its
    own bytes against the limit (:func:`too_large`)."""
    limit = LIMITS[kind] if limit is None else limit
    try:
        what = special_kind(os.stat(path).st_mode)
        if what is None:
            fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            file = os.fdopen(fd, "rb")
    except OSError as exc:
        raise _unreadable(path, kind, exc) from None
    if what is not None:
        raise ReadError(
            f"{kind} file {path} is not a regular file: it is {what}",
            detail=f"not a regular file: {what}",
            cause="not regular",
        )
    with file:
        try:
            info = os.fstat(file.fileno())
        except OSError as exc:
            raise _unreadable(path, kind, exc) from None
        what = special_kind(info.st_mode)
        if what is not None:
            raise ReadError(
                f"{kind} file {path} is not a regular file: it is {what}",
                detail=f"not a regular file: {what}",
                cause="not regular",
            )
        if info.st_size > limit:
            raise too_large(path, kind, limit, info.st_size)
        try:
            yield file
        except OSError as exc:
            raise _unreadable(path, kind, exc) from None


def _unreadable(path: Path, kind: str, exc: OSError) -> ReadError:
    reason = exc.strerror or str(exc)
    return ReadError(
        f"cannot read {kind} file {path}: {reason}",
        detail=f"cannot read file: {reason}",
        cause="unreadable",
    )


def too_large(path: Path, kind: str, limit: int, size: int) -> ReadError:
    """The error of a ``kind`` file found to hold ``size`` bytes or more, over ``limit``."""
    return ReadError(
        f"{kind} file {path} is too large (over {limit:,} bytes; it has {size:,} or more)",
        detail=f"file is too large ({size:,} bytes; the limit is {limit:,})",
        cause="too large",
    )


def decode(raw: bytes, what: str) -> str:
    """``raw`` as strict UTF-8 (a leading BOM dropped); the error names the bad byte's place."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ReadError(
            f"{what} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            f"(line {line}, column {col})",
            offset=exc.start,
            line=line,
            col=col,
            detail=f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            cause="encoding",
        ) from None


def read_text(path: Path, kind: str, limit: int | None = None) -> str:
    """The text of the regular file ``path`` (see :func:`read_bytes` and :func:`decode`)."""
    return decode(read_bytes(path, kind, limit), f"{kind} file {path}")


def json_depth_exceeds(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets in ``text`` nest deeper than ``max_depth``.

    Brackets inside strings count too, so this may say True for a harmless string full of
    brackets; that only costs an exact check. It is exact whenever it says False.
    """
    if isinstance(text, str):
        opening = text.count("[") + text.count("{")
    else:
        opening = text.count(b"[") + text.count(b"{")
    if opening <= max_depth:
        return False
    return _nesting_depth(text if isinstance(text, str) else text.decode("utf-8", "replace")) > (
        max_depth
    )


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text``, outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_json(text: str | bytes, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON ``text`` with bounded nesting, and no NaN or Infinity.

    Every failure is a :class:`ReadError` that names ``what`` and where the problem is.
    """
    if json_depth_exceeds(text, max_depth):
        detail = f"nested too deeply (more than {max_depth} levels)"
        raise ReadError(f"{what} is {detail}", detail=detail, cause="nesting")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ReadError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            offset=exc.pos,
            line=exc.lineno,
            col=exc.colno,
            detail=f"{exc.msg} at line {exc.lineno}, column {exc.colno}",
            cause="syntax",
        ) from None
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{what} is not valid UTF-8 at offset {exc.start}",
            offset=exc.start,
            detail=f"invalid UTF-8 at offset {exc.start}",
            cause="encoding",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ReadError(
            f"{what} is not valid JSON: {exc}", detail=f"not valid JSON: {exc}"
        ) from None


def read_json(
    path: Path, kind: str, limit: int | None = None, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """The JSON document in the regular file ``path``, read and parsed within bounds."""
    return loads_json(read_text(path, kind, limit), f"{kind} file {path}", max_depth)


def read_bytes_from(path: Path, kind: str, offset: int, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` from byte ``offset`` on (for tailing journals).

    The same checks as :func:`read_bytes`; ``limit`` bounds the bytes read, not the offset.
    """
    if offset < 0:
        raise ValueError("offset must be >= 0")
    limit = LIMITS[kind] if limit is None else limit
    try:
        what = special_kind(os.stat(path).st_mode)
        if what is None:
            fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as file:
                what = special_kind(os.fstat(file.fileno()).st_mode)
                if what is None:
                    file.seek(offset)
                    raw = file.read(limit + 1)
                    if len(raw) <= limit:
                        return raw
    except OSError as exc:
        raise ReadError(f"cannot read {kind} file {path}: {exc.strerror or exc}") from None
    if what is not None:
        raise ReadError(f"{kind} file {path} is not a regular file: it is {what}")
    raise ReadError(f"{kind} file {path} is too large (over {limit:,} bytes from offset {offset})")
