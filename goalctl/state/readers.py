"""One schema-checked reader per kind of state file; damage is reported, never trusted.

A run's files may be edited by hand, tampered with, or hit by a failing disk. Every reader
here goes through :mod:`goalctl.reading` (regular files only, bounded size, strict UTF-8,
bounded JSON nesting) and checks the shape of what it parsed, so a damaged run gives one
message from every verb — what is wrong, and how to get rid of it — instead of a traceback or
a silently wrong answer. The one exception is the normal result of ``kill -9``: a torn *last*
line of a journal is not damage (readers leave it, and a resume cuts it off).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from goalctl.errors import UsageError
from goalctl.reading import ReadError, decode, loads_json, read_bytes, read_bytes_from
from goalctl.state.model import RunState, StateFormatError, is_aware_time
from goalctl.trials.counts import MAX_TRIALS

STATE_FILE: Final = "state.json"
EVENTS_FILE: Final = "events.jsonl"
TRANSCRIPT_FILE: Final = "transcript.jsonl"
CHECKPOINT_FILE: Final = "checkpoint.jsonl"
LEVELS: Final = frozenset({"info", "warning", "error"})
CASE_STATUSES: Final = frozenset({"passed", "failed", "error"})

Record = dict[str, Any]


class DamagedRun(UsageError):
    """A run whose state cannot be trusted (exit 2); the message says how to remove it."""

    def __init__(self, run_id: str, problem: str) -> None:
        self.run_id = run_id
        self.problem = problem
        super().__init__(
            f"run {run_id}'s state is damaged: {problem} — "
            f"`goalctl cleanup --force {run_id}` removes it"
        )


def read_state(run_dir: Path, run_id: str) -> RunState:
    """The run's state.json, checked field by field; a newer format is refused, not damaged."""
    path = run_dir / STATE_FILE
    if not path.exists() and not path.is_symlink():
        raise DamagedRun(run_id, f"{STATE_FILE} is missing")
    try:
        data = loads_json(decode(read_bytes(path, "state"), STATE_FILE), STATE_FILE)
        state = RunState.from_dict(data)
    except ReadError as exc:
        raise DamagedRun(run_id, exc.reason) from None
    except StateFormatError as exc:
        if exc.newer_version is not None:
            raise UsageError(
                f"run {run_id} was written by a newer goalctl "
                f"(state version {exc.newer_version}); upgrade goalctl"
            ) from None
        raise DamagedRun(run_id, f"{STATE_FILE}: {exc}") from None
    if state.run_id != run_id:
        raise DamagedRun(run_id, f"{STATE_FILE} belongs to run {state.run_id!r}")
    return state


def read_document(run_dir: Path, run_id: str, name: str, kind: str) -> Any:
    """The JSON document ``name`` kept in the run's directory (e.g. report.json).

    Raises FileNotFoundError when it does not exist (yet); any other problem is damage.
    """
    path = run_dir / name
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(path)
    try:
        return loads_json(decode(read_bytes(path, kind), name), name)
    except ReadError as exc:
        raise DamagedRun(run_id, exc.reason) from None


def read_journal(run_dir: Path, run_id: str, name: str, offset: int = 0) -> bytes:
    """The bytes of a journal from ``offset`` on; a journal not yet written is empty."""
    path = run_dir / name
    if not path.exists() and not path.is_symlink():
        return b""
    try:
        return read_bytes_from(path, "journal", offset)
    except ReadError as exc:
        raise DamagedRun(run_id, exc.reason) from None


TAIL_BLOCK = 64 * 1024
"""Bytes read at a time when a journal is read from its end."""


def read_journal_tail(run_dir: Path, run_id: str, name: str, lines: int) -> tuple[bytes, int]:
    """At least the last ``lines`` whole lines of a journal (all, if it has fewer) with any
    torn line after them, and the offset they start at: read backwards from the end, so
    ``logs`` costs the same however long the run's log is.

    A journal that is not a plain file is read as :func:`read_journal` reads it (which
    reports what is wrong with it).
    """
    path = run_dir / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return b"", 0
    except OSError:
        return read_journal(run_dir, run_id, name), 0
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return read_journal(run_dir, run_id, name), 0
        start = file.seek(0, os.SEEK_END)
        data = b""
        while start > 0:
            step = min(TAIL_BLOCK, start)
            start -= step
            file.seek(start)
            data = file.read(step) + data
            whole = data[: data.rfind(b"\n") + 1]
            if whole.count(b"\n") > lines:  # one more newline than asked: a line's start
                break
    if start > 0:
        cut = data.index(b"\n") + 1  # the first line is partial (or one too many)
        data, start = data[cut:], start + cut
    return data, start


def parse_events(data: bytes, run_id: str, first_line: int = 1) -> list[Record]:
    """The events in ``data`` (whole lines only), each checked; any other line is damage."""
    return _parse_journal(data, run_id, EVENTS_FILE, _event_problem, first_line)


def parse_transcript(data: bytes, run_id: str) -> list[Record]:
    """The provider calls in ``data`` (whole lines only); each must be a JSON object."""
    return _parse_journal(data, run_id, TRANSCRIPT_FILE, lambda record: None, 1)


def parse_checkpoint(data: bytes, run_id: str) -> tuple[list[Record], int]:
    """The finished cases, and how many bytes of ``data`` they span with their newlines.

    Text after the last newline is a torn line and is ignored; so is an invalid last whole
    line when nothing follows it (a writer killed mid-line). Damage anywhere else cannot
    come from a crash: the run is damaged.
    """
    body_end = data.rfind(b"\n") + 1
    torn = body_end < len(data)
    lines = data[:body_end].split(b"\n")[:-1]
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records: list[Record] = []
    valid_end = position = 0
    for number, line in enumerate(lines):
        position += len(line) + 1
        if not line.strip():
            continue
        record, problem = _parse_line(line, _checkpoint_problem)
        if problem is not None:
            if number == last and not torn:
                break
            raise DamagedRun(run_id, f"{CHECKPOINT_FILE} line {number + 1}: {problem}")
        records.append(record)
        valid_end = position
    return records, valid_end


def checkpoint_entries(run_dir: Path, run_id: str) -> Iterator[tuple[int, Record]]:
    """:func:`parse_checkpoint` of the run's journal one line at a time, with each record's
    byte offset: a big run's journal is never read whole."""
    path = run_dir / CHECKPOINT_FILE
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if not regular:  # never opened: a FIFO would block
        read_journal(run_dir, run_id, CHECKPOINT_FILE)  # says what is wrong with it
        raise DamagedRun(run_id, f"{CHECKPOINT_FILE} is not a regular file")
    with path.open("rb") as file:
        position = 0
        for number, line in enumerate(file, start=1):
            start, position = position, position + len(line)
            if not line.endswith(b"\n"):
                return  # torn: its case runs again
            if not line.strip():
                continue
            record, problem = _parse_line(line, _checkpoint_problem)
            if problem is not None:
                rest = file.read()
                whole = rest.endswith(b"\n") or not rest
                if whole and not any(part.strip() for part in rest.split(b"\n")):
                    return  # the invalid last line of a killed writer
                raise DamagedRun(run_id, f"{CHECKPOINT_FILE} line {number}: {problem}")
            yield start, record


def _parse_journal(
    data: bytes,
    run_id: str,
    name: str,
    check: Callable[[Record], str | None],
    first_line: int,
) -> list[Record]:
    records = []
    for number, line in enumerate(data.split(b"\n")[:-1], start=first_line):
        if not line.strip():
            continue
        record, problem = _parse_line(line, check)
        if problem is not None:
            raise DamagedRun(run_id, f"{name} line {number}: {problem}")
        records.append(record)
    return records


def _parse_line(line: bytes, check: Callable[[Record], str | None]) -> tuple[Record, str | None]:
    try:
        record = loads_json(line, "the line")
    except ReadError as exc:
        return {}, exc.reason
    if not isinstance(record, dict):
        return {}, "the line is not a JSON object"
    return record, check(record)


def _event_problem(record: Record) -> str | None:
    time = record.get("time")
    if not isinstance(time, str) or not is_aware_time(time):
        return "'time' must be an ISO-8601 time with a time zone"
    if record.get("level") not in LEVELS:
        return "'level' must be one of " + ", ".join(sorted(LEVELS))
    for key in ("phase", "message"):
        if not isinstance(record.get(key), str):
            return f"{key!r} must be a string"
    return None


_CHECKPOINT_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "text": (str,),
    "error": (str, type(None)),
    "attempts": (int,),
    "metrics": (dict,),
    "checks": (list,),
    "constraints": (list,),
    "earlier_attempts": (list,),
    "trajectory": (list,),
    "answers": (list,),
    "flaky": (bool,),
}


_CHECKPOINT_KEYS: Final = frozenset(
    {"case", "name", "status", "input", "expected", "output", "trial", *_CHECKPOINT_FIELDS}
)


def _checkpoint_problem(record: Record) -> str | None:
    """The shape of a finished case (``CaseRecord.to_json``); resume trusts every field."""
    case = record.get("case")
    if type(case) is not int or case < 0:
        return "'case' must be an integer >= 0"
    if not isinstance(record.get("name"), str):
        return "'name' must be a string"
    if record.get("status") not in CASE_STATUSES:
        return "'status' must be one of " + ", ".join(sorted(CASE_STATUSES))
    unknown = sorted(key for key in record if key not in _CHECKPOINT_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r}"
    trial = record.get("trial", 1)
    if type(trial) is not int or not 1 <= trial <= MAX_TRIALS:
        return f"'trial' must be an integer from 1 to {MAX_TRIALS}"
    missing = [key for key in ("input", "expected") if key not in record]
    if missing:
        return f"missing key {missing[0]!r}"
    for key, kinds in _CHECKPOINT_FIELDS.items():
        if key in record and type(record[key]) not in kinds:
            return f"{key!r} must be {' or '.join(kind.__name__ for kind in kinds)}"
    if any(type(value) not in (int, float) for value in record.get("metrics", {}).values()):
        return "'metrics' must hold only numbers"
    for key in ("checks", "constraints", "earlier_attempts", "trajectory"):
        if any(not isinstance(item, dict) for item in record.get(key, [])):
            return f"{key!r} must hold only objects"
    return None
