"""The run store: durable, file-backed JSON state that any shell can inspect (DESIGN §7, §10).

Layout under a state dir::

    runs/<run-id>/
        state.json        the run's state, versioned, replaced atomically under .lock
        .lock             flock target for every read-modify-write of state.json
        events.jsonl      log lines: time, level, phase, message, extra fields
        transcript.jsonl  one provider call per line
        checkpoint.jsonl  one finished case per line, for resume
        report.md, report.json

DESIGN names the checkpoint ``checkpoint.json``; it is a journal instead, because rewriting
one JSON file per finished case costs O(n²) over a 1,000-case run, while appending a line
costs microseconds. A killed writer tears at most the last line, which readers ignore and
:meth:`RunStore.claim` cuts off before the run resumes.

A ``running`` run whose owner is gone (no process with its pid, a zombie, or a pid reused by
a process with another start time) reads ``interrupted``.
"""

from goalctl.state.files import SECRET_ENV_VARS
from goalctl.state.ids import RUN_ID_PATTERN, new_run_id, validate_run_id
from goalctl.state.model import STATE_VERSION, TERMINAL, RunState, RunStatus, utc_now
from goalctl.state.process import is_alive, process_start_time
from goalctl.state.readers import (
    CHECKPOINT_FILE,
    EVENTS_FILE,
    LEVELS,
    STATE_FILE,
    TRANSCRIPT_FILE,
    DamagedRun,
)
from goalctl.state.store import RunScan, RunStore, StoreProblem

__all__ = [
    "CHECKPOINT_FILE",
    "EVENTS_FILE",
    "LEVELS",
    "RUN_ID_PATTERN",
    "SECRET_ENV_VARS",
    "STATE_FILE",
    "STATE_VERSION",
    "TERMINAL",
    "TRANSCRIPT_FILE",
    "DamagedRun",
    "RunScan",
    "RunState",
    "RunStatus",
    "RunStore",
    "StoreProblem",
    "is_alive",
    "new_run_id",
    "process_start_time",
    "utc_now",
    "validate_run_id",
]
