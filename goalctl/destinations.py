"""Where goalctl writes: every destination is checked before any work starts.

A report directory under a file, in ``/proc`` or on ``/dev/full`` used to fail only once the
run had finished (an internal error, exit 4), and a bad report directory kept in a run's state
made it impossible to resume. :func:`check_destination` is the one check every writer's
destination goes through first (``--report-dir``, ``--junit``, ``--state-dir``, ``report
--output``, ``schema --out``, ``init --dir``): a destination goalctl cannot write is a usage
error (exit 2) that names the option and the reason, and nothing has run yet.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

from goalctl.errors import UsageError
from goalctl.reading import special_kind

SYSTEM_DIRECTORIES: Final = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Pseudo file systems: never a place for goalctl's files, never walked for scenarios."""

DISK_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
"""Errors that mean the disk (or the user's quota) is full."""


def system_directory(path: Path | str) -> Path | None:
    """The pseudo file system ``path`` is in (once links are resolved), or None."""
    real = Path(os.path.realpath(path))
    return next((root for root in SYSTEM_DIRECTORIES if real.is_relative_to(root)), None)


def check_destination(path: Path, what: str, *, directory: bool) -> Path:
    """``path`` when goalctl can write there (a directory, or else a file), creating nothing;
    otherwise :class:`UsageError` naming ``what`` (``"--report-dir"``) and why."""
    root = system_directory(path)
    if root is not None:
        raise UsageError(f"{what} {path} is in {root}, a system directory; choose a path on disk")
    try:
        mode: int | None = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror}") from None
    if mode is not None:
        _check_kind(path, what, mode, directory=directory)
        parent = path if directory else path.absolute().parent
    else:
        parent = _nearest_existing(path, what)
    _probe(parent, path, what)
    return path


def _check_kind(path: Path, what: str, mode: int, *, directory: bool) -> None:
    if directory and not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else special_kind(mode)
        raise UsageError(f"{what} {path} is {kind}, not a directory")
    if not directory and not stat.S_ISREG(mode):
        raise UsageError(f"{what} {path} is {special_kind(mode)}, not a regular file")


def _nearest_existing(path: Path, what: str) -> Path:
    """The nearest existing directory above ``path``, which goalctl would create under."""
    for ancestor in path.absolute().parents:
        try:
            mode = os.stat(ancestor).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise UsageError(f"{what} {path}: {ancestor}: {exc.strerror}") from None
        if not stat.S_ISDIR(mode):
            raise UsageError(f"{what} {path} is under {ancestor}, which is a file, not a directory")
        return ancestor
    raise UsageError(f"{what} {path}: no existing directory above it")  # pragma: no cover


def _probe(directory: Path, path: Path, what: str) -> None:
    """Create and remove an empty file in ``directory``: permissions, read-only file systems
    and ACLs are only known by trying (``os.access`` answers yes to root everywhere)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".goalctl-probe-", dir=directory)
    except OSError as exc:
        reason = "the disk is full" if exc.errno in DISK_FULL else exc.strerror
        raise UsageError(f"{what} {path}: cannot write there ({reason})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
