"""RunStore: the runs under a state dir, readable and writable from any process.

Every read-modify-write of a state.json happens under the run's lock, so concurrent goalctl
processes never lose an update; journals are appended without the lock (see ``files``).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from goalctl.errors import UsageError
from goalctl.keys import hide_secrets
from goalctl.state.files import (
    append_line,
    dumps_document,
    dumps_line,
    exclusive_lock,
    fsync_directory,
    remove_temp_files,
    shared_lock,
    touch,
    write_atomic,
    write_new,
)
from goalctl.state.ids import (
    goal_of_run_id,
    invalid_run_id_message,
    is_run_id,
    is_run_id_prefix,
    validate_run_id,
)
from goalctl.state.index import Entry, RunIndex, Signature, entry_of, signature
from goalctl.state.model import TERMINAL, RunState, RunStatus, StateFormatError, utc_now
from goalctl.state.process import is_alive, process_start_time
from goalctl.state.readers import (
    CHECKPOINT_FILE,
    EVENTS_FILE,
    LEVELS,
    STATE_FILE,
    TRANSCRIPT_FILE,
    DamagedRun,
    checkpoint_entries,
    parse_checkpoint,
    parse_events,
    parse_transcript,
    read_journal,
    read_journal_tail,
    read_state,
)

LOCK_FILE = ".lock"
LATEST_FILE = ".latest"
"""The index naming the latest run, in the state dir beside ``runs/`` (which holds only runs)."""
LATEST_LOCK = ".latest.lock"
REPORT_FILES = ("report.md", "report.json")

_JOURNALS = (EVENTS_FILE, TRANSCRIPT_FILE, CHECKPOINT_FILE)
_RESERVED = frozenset({STATE_FILE, LOCK_FILE, *_JOURNALS})
_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_MAX_LISTED_CANDIDATES = 10


class StoreProblem(NamedTuple):
    """A directory under ``runs/`` that could not be read as a run."""

    path: Path
    message: str
    run_id: str | None = None
    """Set when the directory is a run whose state is damaged (``list`` shows it)."""

    def __str__(self) -> str:
        return self.message


class RunScan(NamedTuple):
    """Every readable run, oldest first, and what was wrong with the unreadable ones."""

    runs: list[RunState]
    problems: list[StoreProblem]


class RunStore:
    """The runs kept under ``root / "runs"``; ``now`` supplies event times (tests pin it)."""

    def __init__(self, root: Path, *, now: Callable[[], str] = utc_now) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self._now = now
        self._journal_paths: dict[tuple[str, str], str] = {}
        self.index = RunIndex(self.root)
        self._written: dict[str, tuple[Signature, str]] = {}
        """The state.json this store last wrote for each run this process owns: read from
        here, not from disk, while the file is still that one (its signature says so)."""

    def run_dir(self, run_id: str) -> Path:
        """The directory of ``run_id`` (validated, not checked for existence)."""
        return self.runs_dir / validate_run_id(run_id)

    # -- state.json ---------------------------------------------------------------------

    def create(self, state: RunState, *, claimed: bool = False) -> Path:
        """Make the run's directory and its first state.json; an existing run is an error.

        The directory is filled under a hidden name and renamed into place, so no reader ever
        sees a run without its state. A ``pending`` run with no owner is owned by this process
        until a worker claims it: if this process dies first, the run reads ``interrupted``.
        ``claimed`` creates it already running in this process, as :meth:`claim` would leave
        it (``state`` is updated to match).
        """
        run_dir = self.run_dir(state.run_id)
        if claimed:
            state.status = RunStatus.RUNNING
            state.pid = os.getpid()
            state.pid_start_time = process_start_time(state.pid)
            state.started_at = state.started_at or self._now()
            state.finished_at = None
        if state.status is RunStatus.PENDING and state.pid is None:
            state.pid = os.getpid()
            state.pid_start_time = process_start_time(state.pid)
        text = hide_secrets(_state_text(state))
        building = self.runs_dir / f".{state.run_id}.{secrets.token_hex(4)}.new"
        try:
            if run_dir.exists():
                raise FileExistsError
            try:
                building.mkdir()
            except FileNotFoundError:  # the first run of this state dir
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                building.mkdir()
        except FileExistsError:
            raise UsageError(f"run {state.run_id!r} already exists ({run_dir})") from None
        except OSError as exc:
            raise UsageError(f"cannot create {run_dir}: {exc.strerror}") from None
        try:
            touch(building / LOCK_FILE)
            write_new(building / STATE_FILE, text)
            fsync_directory(building)
            # Taken before the run is visible: once renamed, another process may replace
            # the state, and an index record pairing this status with the newer file's
            # signature would be believed (so would this store's copy of it).
            written = os.stat(building / STATE_FILE)
            try:
                os.rename(building, run_dir)  # fails when a run of that id appeared meanwhile
            except OSError:
                raise UsageError(f"run {state.run_id!r} already exists ({run_dir})") from None
            fsync_directory(self.runs_dir)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        self.index.append([entry_of(state, written)])
        self._remember(state, written, text)
        with contextlib.suppress(OSError):  # a hint: latest() rebuilds it when it is off
            self._note_latest(state.run_id, state.created_at)
        return run_dir

    # -- the latest run -------------------------------------------------------------------

    def latest(self) -> RunState | None:
        """The run created last (what ``status``, ``logs`` and ``stop`` show without an id).

        Read through a small index (``.latest`` in the state dir) kept by :meth:`create`, so
        the answer costs the same for 5 runs or 5,000. The index only names the run: its state
        is read from the run itself. A missing, damaged or stale index (the run is gone or
        unreadable) is rebuilt from a scan of every run, which gives the same answer.
        """
        noted = self._read_latest()
        if noted is not None:
            with contextlib.suppress(UsageError, DamagedRun):
                return self.load(noted)
        runs = self.list()
        if not runs:
            return None
        newest = runs[-1]
        with contextlib.suppress(OSError):
            # Over what the index said: that run is gone or unreadable.
            self._note_latest(newest.run_id, newest.created_at, rebuild=True)
        return newest

    def _read_latest(self) -> str | None:
        try:
            with shared_lock(self.root / LATEST_LOCK):
                data = json.loads((self.root / LATEST_FILE).read_bytes())
            run_id = data["run_id"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return run_id if isinstance(run_id, str) and is_run_id(run_id) else None

    def _note_latest(self, run_id: str, created_at: str, *, rebuild: bool = False) -> None:
        """Name ``run_id`` in the index unless it names a run created later (a hint, not
        state: not fsynced; a crash at worst leaves it to be rebuilt).

        Rewritten in place under the lock, which readers share: a temp file and a rename per
        run cost a run of many small scenarios more than the rest of their creation. A
        writer killed mid-write leaves a file that does not parse, which is rebuilt.
        """
        key = (time_key(created_at), run_id)
        with exclusive_lock(self.root / LATEST_LOCK):
            fd = os.open(self.root / LATEST_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                try:
                    current = json.loads(os.read(fd, 4096))
                    if not rebuild and key < (time_key(current["created_at"]), current["run_id"]):
                        return
                except (ValueError, TypeError, KeyError):
                    pass  # none yet, or damaged: replaced
                data = json.dumps({"run_id": run_id, "created_at": created_at}).encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)

    def exists(self, run_id: str) -> bool:
        return (self.run_dir(run_id) / STATE_FILE).is_file()

    def load(self, run_id: str) -> RunState:
        """The run's state; a ``running`` run whose process is gone reads ``interrupted``."""
        return _live_view(self._read(run_id))

    def load_indexed(self, run_id: str) -> tuple[RunState, Entry | None]:
        """The run's state as :meth:`load` reads it, and the index record of what was read
        (None if the file could not be ``stat``-ed).

        The file is ``stat``-ed before it is read: if it is replaced in between, the record
        carries the older signature and is not believed, never the other way round.
        """
        try:
            written: os.stat_result | None = os.stat(self.run_dir(run_id) / STATE_FILE)
        except OSError:
            written = None  # reading it says what is wrong
        state = self._read(run_id)
        entry = entry_of(state, written) if written is not None else None
        return _live_view(state), entry

    def update(self, run_id: str, change: Callable[[RunState], None]) -> RunState:
        """Apply ``change`` to the current state under the lock and write the result.

        ``change`` sees the state as :meth:`load` shows it, so updating a run whose owner
        died also persists ``interrupted``. If ``change`` raises, nothing is written.
        """
        with self._locked(run_id) as run_dir:
            state = self._current(run_dir, run_id)
            before = state.status
            _live_view(state)
            change(state)
            if state.run_id != run_id:
                raise ValueError(f"a change must not rename run {run_id!r}")
            self._write_state(run_dir, state, before)
        return state

    def save(self, state: RunState) -> None:
        """Write the owner's in-memory ``state`` under the lock (no change callback).

        ``stop_requested`` is the one field other processes write while a run is owned, so
        a stop request already on disk is kept, and copied into ``state`` for the owner.
        """
        with self._locked(state.run_id) as run_dir:
            before = None
            with contextlib.suppress(UsageError):
                on_disk = self._current(run_dir, state.run_id)
                before = on_disk.status
                if on_disk.stop_requested:
                    state.stop_requested = True
            self._write_state(run_dir, state, before)

    def claim(self, run_id: str, *, pid: int | None = None) -> RunState:
        """Make process ``pid`` (default: this one) the owner of the run and mark it running.

        Refused for a finished run, or one another live process owns. The claim also drops a
        torn last line from each journal (left by a killed owner) and stray temp files, so
        new lines never land after a fragment. ``started_at`` keeps its first value, and
        ``stop_requested`` is left as it is: ``goalctl start`` clears it before resuming.
        """
        pid = os.getpid() if pid is None else pid
        start_time = process_start_time(pid)
        with self._locked(run_id) as run_dir:
            state = self._read(run_id)
            before = state.status
            _live_view(state)
            if state.status in TERMINAL:
                raise UsageError(
                    f"run {run_id!r} has already {state.status}; start a new one with `goalctl run`"
                )
            if state.status is RunStatus.RUNNING and (state.pid, state.pid_start_time) != (
                pid,
                start_time,
            ):
                raise UsageError(
                    f"run {run_id!r} is already running (pid {state.pid}); "
                    f"stop it first with `goalctl stop {run_id}`"
                )
            _repair_journals(run_dir)
            remove_temp_files(run_dir)
            state.status = RunStatus.RUNNING
            state.pid = pid
            state.pid_start_time = start_time
            state.started_at = state.started_at or self._now()
            state.finished_at = None
            self._write_state(run_dir, state, before)
        return state

    def repair_journals(self, run_id: str) -> None:
        """Cut a torn last line off each journal (as :meth:`claim` does) before appending.

        Only for a process that owns the run or knows no process does: a live owner may be
        in the middle of writing that line.
        """
        with self._locked(run_id) as run_dir:
            _repair_journals(run_dir)

    def mark_interrupted_if_dead(self, run_id: str) -> RunState:
        """Persist ``interrupted`` for a pending or running run whose process is gone."""
        with self._locked(run_id) as run_dir:
            state = self._read(run_id)
            before = state.status
            if _live_view(state).status is not before:
                self._write_state(run_dir, state, before)
        return state

    # -- journals -------------------------------------------------------------------------

    def append_event(self, run_id: str, level: str, phase: str, message: str, **extra: Any) -> None:
        """Append one log line: time, level, phase, message, then ``extra`` fields."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {sorted(LEVELS)}, got {level!r}")
        if "time" in extra:
            raise ValueError("'time' is set by the store")
        record = {"time": self._now(), "level": level, "phase": phase, "message": message}
        record.update(extra)
        self._append(run_id, EVENTS_FILE, record)

    def read_events(self, run_id: str, *, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Events in whole lines from byte ``offset`` on, and the offset to continue from.

        A last line without its newline is being written (or torn by a killed writer): it is
        left for the next call. Any whole line that is not an event means the run is damaged.
        """
        if offset < 0:
            raise ValueError("offset must be >= 0")
        data = self._read_journal(run_id, EVENTS_FILE, offset)
        end = data.rfind(b"\n") + 1
        return parse_events(data[:end], run_id), offset + end

    def read_last_events(self, run_id: str, count: int) -> tuple[list[dict[str, Any]], int]:
        """The last ``count`` events (read from the end of the log) and the offset after them.

        Only the lines read are checked; damage in them is reported as :meth:`read_events`
        reports it (with its line number), by reading the whole log.
        """
        run_dir = self.run_dir(run_id)
        if not run_dir.is_dir():
            raise UsageError(_no_run_message(run_id))
        data, start = read_journal_tail(run_dir, run_id, EVENTS_FILE, count)
        end = data.rfind(b"\n") + 1
        try:
            events = parse_events(data[:end], run_id)
        except DamagedRun:
            events, offset = self.read_events(run_id)
            return (events[-count:] if count else []), offset
        return (events[-count:] if count else []), start + end

    def append_transcript(self, run_id: str, record: dict[str, Any]) -> None:
        """Append one provider call to transcript.jsonl."""
        self._append(run_id, TRANSCRIPT_FILE, record)

    def read_transcript(self, run_id: str) -> list[dict[str, Any]]:
        """Every whole line of transcript.jsonl (a torn last line is left out)."""
        data = self._read_journal(run_id, TRANSCRIPT_FILE, 0)
        return parse_transcript(data[: data.rfind(b"\n") + 1], run_id)

    def append_checkpoint(self, run_id: str, record: dict[str, Any]) -> int:
        """Journal one finished case; ``record`` needs an int ``case`` and a str ``name``.

        Returns the byte offset of its line, where :meth:`checkpoint_path` has it.
        """
        case, name = record.get("case"), record.get("name")
        if type(case) is not int or case < 0 or not isinstance(name, str):
            raise ValueError("a checkpoint record needs 'case' (an int >= 0) and 'name' (a str)")
        return self._append(run_id, CHECKPOINT_FILE, {"case": case, "name": name, **record})

    def checkpoint_path(self, run_id: str) -> Path:
        """The run's checkpoint journal (reports read finished cases back from it)."""
        return self.run_dir(run_id) / CHECKPOINT_FILE

    def checkpoint_entries(self, run_id: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each finished case with the byte offset of its line, read one line at a time
        (the journal of a big run is never whole in memory); the same lines as
        :meth:`read_checkpoint`, with the same checks."""
        run_dir = self.run_dir(run_id)
        if not run_dir.is_dir():
            raise UsageError(_no_run_message(run_id))
        return checkpoint_entries(run_dir, run_id)

    def read_checkpoint(self, run_id: str) -> list[dict[str, Any]]:
        """The finished cases, in the order they finished (a resumed case may appear twice).

        A torn or invalid *last* line is ignored: its case simply runs again. A damaged line
        before it cannot come from a crash: the run is damaged (:class:`DamagedRun`).
        """
        data = self._read_journal(run_id, CHECKPOINT_FILE, 0)
        records, _ = parse_checkpoint(data, run_id)
        return records

    # -- reports and cleanup ---------------------------------------------------------------

    def write_report(self, run_id: str, name: str, text: str) -> Path:
        """Write a report file into the run's directory atomically and return its path."""
        return self.write_reports(run_id, {name: text})[0]

    def write_reports(self, run_id: str, files: dict[str, str | Iterable[str]]) -> list[Path]:
        """Write report files (name: text, or its chunks) atomically, under one lock and one
        directory sync."""
        for name in files:
            if name in _RESERVED or not _PLAIN_FILE_NAME.fullmatch(name):
                raise UsageError(
                    f"invalid report file name {name!r} "
                    f"(use a plain file name such as {' or '.join(REPORT_FILES)})"
                )
        paths = []
        with self._locked(run_id) as run_dir:
            for name, text in files.items():
                paths.append(run_dir / name)
                write_atomic(run_dir / name, text, sync_directory=False)
            if run_id not in self._written:
                fsync_directory(run_dir)
            # else this process is running the run, and its final state write syncs this same
            # directory: the reports are durable before the state says the run is over (until
            # then a crash leaves it unfinished, and its reports are written again).
        return paths

    def remove(self, run_id: str, *, force: bool = False) -> None:
        """Delete the run's directory; a run that is still running needs ``force``."""
        with self._locked(run_id) as run_dir:
            if not force:
                self._refuse_if_running(run_id)
            shutil.rmtree(run_dir)
        self._forget(run_id)

    def archive(self, run_id: str, dest: Path, *, force: bool = False) -> Path:
        """Move the run's directory into ``dest`` (e.g. ``state/archive/``); returns its path."""
        target = Path(dest) / validate_run_id(run_id)
        if target.exists():
            raise UsageError(f"cannot archive run {run_id!r}: {target} already exists")
        with self._locked(run_id) as run_dir:
            if not force:
                self._refuse_if_running(run_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(run_dir, target)
        self._forget(run_id)
        return target

    # -- finding runs ------------------------------------------------------------------------

    def resolve(self, text: str) -> str:
        """The run id ``text`` names, the first of: an exact run id; a goal id (its latest
        run); a unique prefix of a run id; the start of exactly one goal id (its latest run).

        A goal id wins over a prefix: ``calc`` is the latest run of goal ``calc`` even when
        runs of ``calculator`` start with it too; with no goal ``calc``, it is the latest run
        of ``calculator`` unless another goal starts with ``calc`` (then it is ambiguous).
        """
        if is_run_id(text) and (self.runs_dir / text).is_dir():
            return text
        if not is_run_id_prefix(text):
            raise UsageError(invalid_run_id_message(text))
        names = sorted(self._run_names())
        of_goal = [name for name in names if goal_of_run_id(name) == text]
        if of_goal:
            return self._latest(of_goal)
        candidates = [name for name in names if name.startswith(text)]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UsageError(f"no run matches {text!r} (`goalctl list` shows the runs)")
        goals = {goal_of_run_id(name) for name in candidates}
        if len(goals) == 1 and next(iter(goals)).startswith(text):
            return self._latest(candidates)  # the start of one goal id, not of a run's hex
        raise UsageError(_ambiguous_message(text, candidates))

    def _latest(self, run_ids: builtins.list[str]) -> str:
        """The most recently created of ``run_ids``; a damaged run cannot be dated, so it is
        passed over unless every run is damaged (then loading it reports the damage)."""
        dated: builtins.list[tuple[datetime, str]] = []
        for run_id in run_ids:
            with contextlib.suppress(DamagedRun, UsageError):
                dated.append((time_key(self.load(run_id).created_at), run_id))
        return max(dated)[1] if dated else run_ids[-1]

    def scan(self) -> RunScan:
        """Every run oldest first, plus a problem for each directory that is not a readable run."""
        runs: list[RunState] = []
        problems: list[StoreProblem] = []
        try:
            entries = sorted(os.scandir(self.runs_dir), key=lambda entry: entry.name)
        except FileNotFoundError:
            return RunScan(runs, problems)
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if not entry.is_dir() or not is_run_id(entry.name):
                problems.append(StoreProblem(path, f"{path} is not a run directory"))
                continue
            try:
                runs.append(self.load(entry.name))
            except DamagedRun as exc:
                problems.append(StoreProblem(path, str(exc), entry.name))
            except UsageError as exc:
                problems.append(StoreProblem(path, str(exc)))
        runs.sort(key=lambda state: (time_key(state.created_at), state.run_id))
        return RunScan(runs, problems)

    def list(self) -> builtins.list[RunState]:
        """Every readable run, oldest first; :meth:`scan` also reports unreadable ones."""
        return self.scan().runs

    # -- internals ---------------------------------------------------------------------------

    def _write_state(self, run_dir: Path, state: RunState, before: RunStatus | None) -> None:
        """Replace state.json (the caller holds the run's lock), durably; a new status is
        recorded in the index, with the signature of the file that holds it."""
        path = run_dir / STATE_FILE
        text = hide_secrets(_state_text(state))
        changed = state.status is not before
        write_atomic(path, text)
        try:
            written = os.stat(path)
        except OSError:
            self._written.pop(state.run_id, None)
            return
        self._remember(state, written, text)
        if changed:
            self.index.append([entry_of(state, written)])

    def _remember(self, state: RunState, written: os.stat_result, text: str) -> None:
        """Keep what was written for a run this process owns (its next update need not read
        it back); forget it once the run is another's or over."""
        if state.status in _OWNED and state.pid == os.getpid():
            self._written[state.run_id] = (signature(written), text)
        else:
            self._written.pop(state.run_id, None)

    def _current(self, run_dir: Path, run_id: str) -> RunState:
        """The run's state on disk (the caller holds its lock): this store's copy while the
        file is the one it wrote, else read."""
        remembered = self._written.get(run_id)
        if remembered is not None:
            try:
                same = signature(os.stat(run_dir / STATE_FILE)) == remembered[0]
            except OSError:
                same = False
            if same:
                return RunState.from_dict(json.loads(remembered[1]))
            del self._written[run_id]  # replaced by another process (a stop request)
        return self._read(run_id)

    @contextlib.contextmanager
    def _locked(self, run_id: str) -> Iterator[Path]:
        run_dir = self.run_dir(run_id)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(run_dir / LOCK_FILE))
            except FileNotFoundError:
                raise UsageError(_no_run_message(run_id)) from None
            yield run_dir

    def _read(self, run_id: str) -> RunState:
        run_dir = self.run_dir(run_id)
        if not run_dir.is_dir():
            raise UsageError(_no_run_message(run_id))
        return read_state(run_dir, run_id)

    def _refuse_if_running(self, run_id: str) -> None:
        try:
            state = self._read(run_id)
        except UsageError:
            return  # a damaged run has no owner we could ask; it may be removed
        if state.status is RunStatus.RUNNING and is_alive(state.pid, state.pid_start_time):
            raise UsageError(
                f"run {run_id!r} is still running (pid {state.pid}); "
                f"stop it first with `goalctl stop {run_id}`"
            )

    def _journal(self, run_id: str, name: str) -> str:
        key = (run_id, name)
        path = self._journal_paths.get(key)
        if path is None:
            path = self._journal_paths[key] = str(self.run_dir(run_id) / name)
        return path

    def _append(self, run_id: str, name: str, record: dict[str, Any]) -> int:
        try:
            return append_line(self._journal(run_id, name), dumps_line(record))
        except FileNotFoundError:
            raise UsageError(_no_run_message(run_id)) from None

    def _read_journal(self, run_id: str, name: str, offset: int) -> bytes:
        run_dir = self.run_dir(run_id)
        if not run_dir.is_dir():
            raise UsageError(_no_run_message(run_id))
        return read_journal(run_dir, run_id, name, offset)

    def _run_names(self) -> Iterator[str]:
        with contextlib.suppress(FileNotFoundError), os.scandir(self.runs_dir) as entries:
            for entry in entries:
                if is_run_id(entry.name) and entry.is_dir():
                    yield entry.name

    def _forget(self, run_id: str) -> None:
        self._written.pop(run_id, None)
        for name in _JOURNALS:
            self._journal_paths.pop((run_id, name), None)


def _ambiguous_message(text: str, candidates: builtins.list[str]) -> str:
    shown = ", ".join(candidates[:_MAX_LISTED_CANDIDATES])
    more = len(candidates) - _MAX_LISTED_CANDIDATES
    if more > 0:
        shown += f" and {more} more"
    goals = sorted({goal_of_run_id(name) for name in candidates})
    listed = ", ".join(goals[:_MAX_LISTED_CANDIDATES])
    if len(goals) > _MAX_LISTED_CANDIDATES:
        listed += f" and {len(goals) - _MAX_LISTED_CANDIDATES} more"
    return (
        f"run id {text!r} is ambiguous: it matches {shown}; "
        f"type more of it, or a goal id for its latest run: {listed}"
    )


def _no_run_message(run_id: str) -> str:
    return f"no run {run_id!r} (`goalctl list` shows the runs)"


def _state_text(state: RunState) -> str:
    data = state.to_dict()
    try:
        RunState.from_dict(data)  # never write a file this goalctl could not read back
    except StateFormatError as exc:
        message = f"refusing to write an invalid state for run {state.run_id}: {exc}"
        raise ValueError(message) from exc
    return dumps_document(data)


def _live_view(state: RunState) -> RunState:
    """A pending or running run whose owner is gone (or unprovable) reads ``interrupted``."""
    if state.status in _OWNED and not is_alive(state.pid, state.pid_start_time):
        state.status = RunStatus.INTERRUPTED
    return state


_OWNED = frozenset({RunStatus.PENDING, RunStatus.RUNNING})


def _repair_journals(run_dir: Path) -> None:
    """Cut a torn last line off each journal so that the next append starts a fresh line."""
    run_id = run_dir.name
    for name in _JOURNALS:
        path = run_dir / name
        data = read_journal(run_dir, run_id, name)
        if not data:
            continue
        if name == CHECKPOINT_FILE:
            _, keep = parse_checkpoint(data, run_id)
        else:
            keep = data.rfind(b"\n") + 1
        if keep < len(data):
            os.truncate(path, keep)


def time_key(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
