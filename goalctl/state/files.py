"""File primitives of the run store: atomic replace, whole-line append, an exclusive lock.

They are what makes the state dir survive ``kill -9`` at any moment (DESIGN §10):

- :func:`write_atomic` writes a temp file in the same directory, fsyncs it, renames it over
  the target and fsyncs the directory (or leaves that to the caller's next write in it), so
  readers see the old file or the new one, never a mix, and no crash — not even a power
  loss — leaves a torn file; a crash leaves at most a hidden ``.*.tmp`` file behind.
- :func:`append_line` writes one whole line with a single ``write`` on an ``O_APPEND``
  descriptor: the kernel appends it atomically with respect to other writers, and a killed
  process leaves at most a torn *last* line, which readers ignore. Lines are not fsynced:
  the page cache survives a killed process, and an fsync per line would cost more than a case.
- :func:`exclusive_lock` is ``flock`` on a lock file; it is released by the kernel when its
  holder dies, so a crashed process never leaves a run locked.

Every write passes :func:`hide_secrets` first: a secret that reached the data is replaced,
never written, and never a reason to lose the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from goalctl.keys import SECRET_ENV_VARS as SECRET_ENV_VARS  # goalctl.state re-exports it
from goalctl.keys import hide_secrets

_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
WRITE_BATCH = 256 * 1024
"""Characters of chunked text gathered before one write (and one pass hiding secrets)."""


def dumps_line(record: dict[str, Any]) -> str:
    """One JSON Lines record with its newline; NaN and infinities are refused (not JSON)."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


def dumps_document(data: dict[str, Any]) -> str:
    """An indented JSON document for people and ``jq``; keys keep their given order."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=2) + "\n"


def write_atomic(path: Path, text: str | Iterable[str], *, sync_directory: bool = True) -> None:
    """Replace ``path`` with ``text`` so that no reader and no crash ever sees a torn file.

    ``text`` may come in chunks (a report of many cases, never whole in memory), written a
    batch of whole chunks at a time; secrets are hidden batch by batch, so a chunk should end
    where a JSON value or a line does.
    ``sync_directory=False`` leaves the directory's fsync to the caller, who writes several
    files of one directory and syncs it once after the last.
    """
    chunks = [text] if isinstance(text, str) else text
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            pending: list[str] = []
            size = 0
            for chunk in chunks:
                pending.append(chunk)
                size += len(chunk)
                if size >= WRITE_BATCH:
                    _write_all(fd, hide_secrets("".join(pending)).encode("utf-8"))
                    pending.clear()
                    size = 0
            if pending:
                _write_all(fd, hide_secrets("".join(pending)).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if sync_directory:
        fsync_directory(path.parent)


def write_new(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, fsynced, in a directory no reader can see yet (a run
    being created under a hidden name): there, a temp file and a rename would protect no one.
    The caller syncs the directory."""
    data = hide_secrets(text).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def touch(path: Path) -> None:
    """Create ``path`` empty if it does not exist (a lock file)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666))


def append_line(path: str, line: str) -> int:
    """Append ``line`` (which ends with a newline) as a whole, with one ``write`` call; the
    offset it starts at is returned (where a reader finds it again)."""
    data = hide_secrets(line).encode("utf-8")
    fd = os.open(path, _APPEND_FLAGS, 0o666)
    try:
        _write_all(fd, data)
        # O_APPEND moved the offset to the end before the write: the line ends here.
        return os.lseek(fd, 0, os.SEEK_CUR) - len(data)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    Raises FileNotFoundError when the directory of ``path`` does not exist.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def shared_lock(path: Path) -> Iterator[None]:
    """Hold a shared ``flock`` on ``path``: for readers of a file that its writers rewrite in
    place under :func:`exclusive_lock`. Without a lock file (never written, or a state dir
    this process may not write), nothing is held."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def remove_temp_files(directory: Path) -> None:
    """Delete temp files left by writers that crashed; call only while holding the lock."""
    for entry in os.scandir(directory):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written == len(data):
        return
    view = memoryview(data)
    while written < len(data):  # short writes are rare (full disk, signals); finish the line
        written += os.write(fd, view[written:])
