"""Is a run's owner still alive? A pid alone cannot tell: pids are reused.

The owner records its pid and its start time; a run is live only while a process with that
pid exists, is not a zombie, and started at that time. Start times come from field 22 of
``/proc/<pid>/stat`` (clock ticks after boot), so they are exact and immune to wall-clock
changes. Where ``/proc`` is missing the pid check alone decides.
"""

from __future__ import annotations

import functools
import os


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
    """True if ``pid`` runs and, when ``start_time`` is known, started at that time."""
    if pid is None or pid <= 0:
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
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")
