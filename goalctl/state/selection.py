"""The runs ``list`` shows: the newest that match its filters, found through the run index.

Only the runs shown are read: the runs that exist come from one directory listing, their
order and goal from the index (a run's id and creation time never change), which at 5,000
runs costs about 20 ms instead of reading 5,000 states. The runs shown are always read, so
what ``list`` prints is the state itself, never the index's copy of it. A filter on status
needs every run's status: the index's is taken where the run's state.json still has the
signature recorded with it (one ``stat``), and the state is read otherwise, as it is for a
run the index does not know (an index that is missing, damaged, or older than some runs).

Whatever a listing had to read goes back into the index, so the next one need not; an
index mostly made of outdated or damaged records is rewritten.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from goalctl.errors import UsageError
from goalctl.state.ids import goal_of_run_id, is_run_id
from goalctl.state.index import Entry, signature
from goalctl.state.model import RunState, RunStatus
from goalctl.state.readers import STATE_FILE, DamagedRun
from goalctl.state.store import RunStore, StoreProblem, time_key

DAMAGED = "damaged"
"""The status ``list`` gives a run whose state cannot be read."""
STATUSES = frozenset({*(status.value for status in RunStatus), DAMAGED})
_OWNED = frozenset({RunStatus.PENDING.value, RunStatus.RUNNING.value})
"""Statuses that depend on a live process: such a run is always read (its owner checked)."""
_REWRITE_SLACK = 64
"""Outdated records tolerated before the index is rewritten (beyond one per run)."""


class RunSelection(NamedTuple):
    runs: list[RunState]
    """The selected runs, oldest first."""
    damaged: list[StoreProblem]
    """Damaged runs met on the way that the filters select (their times cannot be trusted)."""
    older: int
    """Runs that match the filters but were left out by the limit (older than those shown)."""


def select_runs(
    store: RunStore,
    *,
    statuses: Collection[str] = (),
    goals: Collection[str] = (),
    limit: int | None = None,
) -> RunSelection:
    """The newest ``limit`` runs (all with None) with one of ``statuses`` (any if empty) and
    of one of ``goals`` (any if empty); ``damaged`` in ``statuses`` selects damaged runs."""
    unknown = sorted(s for s in statuses if s not in STATUSES)
    if unknown:
        raise UsageError(f"unknown status {unknown[0]!r} (statuses: {', '.join(sorted(STATUSES))})")
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    every = _run_names(store)
    names = [name for name in every if not goals or goal_of_run_id(name) in goals]
    index = store.index.read()
    loaded: dict[str, RunState] = {}
    damaged: dict[str, StoreProblem] = {}
    fresh: list[Entry] = []

    def read(run_id: str) -> RunState | None:
        try:
            state, entry = store.load_indexed(run_id)
        except DamagedRun as exc:
            damaged[run_id] = StoreProblem(store.runs_dir / run_id, str(exc), run_id)
            return None
        except UsageError:
            return None  # removed meanwhile, or written by a newer goalctl: not listed
        loaded[run_id] = state
        if entry is not None and entry != index.entries.get(run_id):
            fresh.append(entry)
        return state

    wanted = {s for s in statuses if s != DAMAGED}
    candidates: list[tuple[datetime, str]] = []  # (creation time, run id): a scan's order
    for name in names:
        entry = index.entries.get(name)
        if entry is None or (statuses and not _current(store, entry)):
            state = read(name)
            if state is None:
                continue
            created, status = state.created_at, state.status.value
        else:
            created, status = entry.created_at, entry.status
        if statuses and status not in wanted:
            continue
        candidates.append((time_key(created), name))
    candidates.sort()

    shown: list[RunState] = []
    left = len(candidates)
    while left and (limit is None or len(shown) < limit):
        left -= 1
        name = candidates[left][1]
        state = loaded.get(name) or read(name)
        if state is not None and (not wanted or state.status.value in wanted):
            shown.append(state)
    shown.sort(key=lambda state: (time_key(state.created_at), state.run_id))
    _refresh(store, index.entries, index.records, fresh, every)
    problems = [
        problem for _, problem in sorted(damaged.items()) if not statuses or DAMAGED in statuses
    ]
    return RunSelection(shown, problems, left)


def _run_names(store: RunStore) -> list[str]:
    """The run directories, from one listing (``d_type``, no ``stat`` per entry)."""
    with contextlib.suppress(FileNotFoundError), os.scandir(store.runs_dir) as entries:
        return [entry.name for entry in entries if is_run_id(entry.name) and entry.is_dir()]
    return []


def _current(store: RunStore, entry: Entry) -> bool:
    """Whether the index's status of the run is its status now: recorded from the state.json
    that is there now, and not one that depends on whether its owner still lives."""
    if entry.status in _OWNED:
        return False
    try:
        stat = os.stat(store.runs_dir / entry.run_id / STATE_FILE)
    except OSError:
        return False
    return signature(stat) == entry.signature


def _refresh(
    store: RunStore, entries: dict[str, Entry], records: int, fresh: list[Entry], runs: list[str]
) -> None:
    """Give the index what this listing read; rewrite it once outdated records (superseded,
    damaged, of removed runs) outnumber the runs."""
    existing = set(runs)
    outdated = records - len(entries) + len(entries.keys() - existing)
    if outdated <= len(existing) + _REWRITE_SLACK:
        store.index.append(fresh)
        return
    merged = dict(entries)
    merged.update((entry.run_id, entry) for entry in fresh)
    store.index.rewrite(entry for run_id, entry in merged.items() if run_id in existing)
