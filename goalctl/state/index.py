"""The index of runs: ``.runs-index.jsonl`` in the state dir (beside ``runs/``, which holds
only runs), so ``list`` need not read every run's state.

One record per state write that changes a run's status (and one when the run is created)::

    \\n[1, "<run id>", "<created_at>", "<status>", <inode>, <mtime ns>, <size>]

The last record of a run wins. The three numbers are the signature of the state.json the
record was made from: a status from the index is trusted only while the run's state.json
still has that signature (one ``stat``), so an index that is stale — a state written by a
goalctl that predates the index, by hand, or by a process killed between its state write and
its record — can delay nothing but an extra read. A run's id and creation time never change,
which is what ``list`` orders and filters by without a ``stat`` at all.

The index is a cache, never the truth: ``runs/`` says which runs exist, the state files what
they are. Records are appended with one ``write`` each and no lock (concurrent writers never
interleave within a write on ``O_APPEND``). Each record *starts* with its newline, so a
record torn by ``kill -9`` ends at the next record's newline as a line of its own, which
readers skip, instead of swallowing that record. A missing, damaged, or differently
versioned index is made whole again by whoever reads it, with a whole-file atomic replace; an append
racing that replace may be lost, which again costs a read, not a wrong answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from goalctl.state.model import RunState, RunStatus

INDEX_FILE = ".runs-index.jsonl"
INDEX_VERSION = 1
"""The first field of every record; records of another version are skipped (their runs are
read from their state and indexed again)."""

Signature = tuple[int, int, int]
_STATUSES = frozenset(status.value for status in RunStatus)
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class Entry(NamedTuple):
    """What the index knows about one run."""

    run_id: str
    created_at: str
    status: str
    """The status on disk when ``signature`` was taken (not the live view of a dead owner)."""
    signature: Signature


class IndexContents(NamedTuple):
    entries: dict[str, Entry]
    """The last valid record of each run."""
    records: int
    """Records read (valid or not): how much a rewrite would save."""
    damaged: int
    """Lines that were not a valid record (torn, edited, another version)."""


def signature(stat: os.stat_result) -> Signature:
    """Changes whenever state.json is replaced: each write is a new file (inode), and its
    modification time and size are those of its one write."""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def entry_of(state: RunState, stat: os.stat_result) -> Entry:
    return Entry(state.run_id, state.created_at, state.status.value, signature(stat))


class RunIndex:
    """The index file of one state dir."""

    def __init__(self, root: Path) -> None:
        self.path = root / INDEX_FILE

    def append(self, entries: Iterable[Entry]) -> None:
        """Add records with one ``write``; a failure (read-only state dir, full disk) is
        ignored, since the index is only a cache."""
        data = "".join(_record(entry) for entry in entries).encode("utf-8")
        if not data:
            return
        with contextlib.suppress(OSError):
            fd = os.open(self.path, _APPEND_FLAGS, 0o666)
            try:
                os.write(fd, data)  # a short write is a torn record: skipped by readers
            finally:
                os.close(fd)

    def read(self) -> IndexContents:
        """Every valid record, last one per run; a missing index is an empty one."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return IndexContents({}, 0, 0)
        lines = [line for line in text.split("\n") if line]
        try:
            # One parse for the whole file, as a JSON array of records: a line at a time costs
            # several times as much at thousands of runs. Any bad line: a line at a time.
            parsed: list[Any] = json.loads("[" + ",".join(lines) + "]")
        except ValueError:
            parsed = [_loads(line) for line in lines]
        if len(parsed) != len(lines):  # a line held more than one value (`1,2`)
            parsed = [_loads(line) for line in lines]
        entries: dict[str, Entry] = {}
        damaged = 0
        for fields in parsed:
            entry = _entry(fields)
            if entry is None:
                damaged += 1
            else:
                entries[entry.run_id] = entry
        return IndexContents(entries, len(lines), damaged)

    def rewrite(self, entries: Iterable[Entry]) -> None:
        """Replace the index with one record per entry (atomically; not fsynced: a crash at
        worst leaves an index to rebuild). Failures are ignored, as for :meth:`append`."""
        temp = self.path.with_name(f"{INDEX_FILE}.{secrets.token_hex(4)}.tmp")
        try:
            temp.write_text("".join(_record(entry) for entry in entries), encoding="utf-8")
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()


def _record(entry: Entry) -> str:
    run_id, created_at, status, (inode, mtime, size) = entry
    fields = [INDEX_VERSION, run_id, created_at, status, inode, mtime, size]
    return "\n" + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _loads(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _entry(fields: Any) -> Entry | None:
    """The record's entry, or None. The run id is not checked here: an entry is only ever
    looked up by the name of a run directory that passed that check."""
    if type(fields) is not list or len(fields) != 7 or fields[0] != INDEX_VERSION:
        return None
    version, run_id, created_at, status, inode, mtime, size = fields
    if (
        type(version) is not int
        or type(run_id) is not str
        or type(created_at) is not str
        or status not in _STATUSES
        or type(inode) is not int
        or type(mtime) is not int
        or type(size) is not int
    ):
        return None
    # tuple.__new__: a NamedTuple's own __new__ is Python code, a third of a listing's time
    # at thousands of runs.
    return _new_entry(Entry, (run_id, created_at, status, (inode, mtime, size)))


_new_entry = tuple.__new__
