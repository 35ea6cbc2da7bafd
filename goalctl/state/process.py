"""Is a run's owner still alive? A pid alone cannot tell: pids are reused.

The owner records its pid and its start time; a run is live only while a process with that
pid exists, is not a zombie, and started at that time. Start times come from field 22 of
``/proc/<pid>/stat`` (clock ticks after boot), so they are exact and immune to wall-clock
changes. A pid recorded without its start time proves nothing (the pid may have been reused
by any process), so such an owner is never alive and is never signalled; only where ``/proc``
is missing, and start times cannot be known at all, does the pid check alone decide.
"""

from __future__ import annotations

import functools
import os

MAX_PID = 2**31 - 1
"""The largest value a pid can take (``pid_t`` is a signed 32-bit integer)."""


def process_start_time(pid: int) -> float | None:
    """Seconds after boot at which ``pid`` started, or None if unknown (no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    parsed = parse_proc_stat(stat)
    return None if parsed is None else parsed[1]


def parse_proc_stat(stat: bytes) -> tuple[str, float] | None:
    """``(state, start time in seconds)`` from the text of ``/proc/<pid>/stat``.

    Field 2, the command name, is wrapped in parentheses and may itself hold spaces and
    parentheses, so the fields after it are found from the *last* ``)``.
    """
    _, paren, rest = stat.rpartition(b")")
    after = rest.split()
    # after[0] is field 3 (state); field 22 (starttime) is 19 further.
    if not paren or len(after) < 20:
        return None
    try:
        ticks = int(after[19])
    except ValueError:
        return None
    return after[0].decode("ascii", "replace"), ticks / _clock_ticks()


def is_alive(pid: int | None, start_time: float | None) -> bool:
    """True if ``pid`` runs and started at ``start_time``.

    Without a start time the answer is False wherever start times can be known: a bare pid
    may belong to any unrelated process.
    """
    if pid is None or not 0 < pid <= MAX_PID:
        return False
    if start_time is None and _have_proc():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process, but it exists
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            parsed = parse_proc_stat(file.read())
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # no /proc at all: trust the pid
    except OSError:
        return True
    if parsed is None:
        return True
    state, started = parsed
    if state in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    return start_time is None or abs(started - start_time) < 1e-6


@functools.cache
def _have_proc() -> bool:
    return os.path.isdir("/proc/self")


@functools.cache
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")
