"""Read-only views of runs for ``status``, ``list`` and ``logs``: lines any shell can read."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from goalctl.config.prices import cost_text
from goalctl.errors import UsageError
from goalctl.excerpts import plural
from goalctl.state import RunState, RunStatus, RunStore, StoreProblem
from goalctl.state.selection import DAMAGED
from goalctl.verdict import verdict_word

ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
POLL_SECONDS = 0.2
_ANSI = {"achieved": "\x1b[32m", "not_achieved": "\x1b[31m", "error": "\x1b[31m"}
"""The colour of a verdict; ``echo`` strips it in a pipe and under NO_COLOR."""


def painted(text: str, verdict: str | None) -> str:
    """``text`` in the colour of ``verdict`` (none for a run that has no verdict yet)."""
    code = _ANSI.get(verdict or "")
    return f"{code}{text}\x1b[0m" if code else text


def table(rows: Sequence[Sequence[str]], verdicts: Sequence[str | None] = ()) -> list[str]:
    """Columns two spaces apart, each as wide as its widest cell, under an upper-case header:
    the table style of ``list``. A row's verdict (``verdicts[i]`` for ``rows[i]``)
    colours it; padding comes first, so colour never shifts a column."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        verdict = verdicts[index] if index < len(verdicts) else None
        lines.append(painted(line.rstrip(), verdict))
    return lines


def latest_run(store: RunStore) -> RunState:
    latest = store.latest()
    if latest is None:
        raise UsageError(f"no runs in {store.root}; start one with `goalctl run`")
    return latest


def status_lines(state: RunState) -> list[str]:
    verdict = verdict_word(state.verdict)
    if state.score is not None:
        verdict += f" (score {state.score * 100:.0f}%)"
    totals = state.totals or {}
    rows = [
        ("Run:", state.run_id),
        ("Goal:", f"{state.goal_id} {state.goal_version} ({state.goal_name})"),
        ("Status:", state.status.value),
        ("Phase:", state.phase or "-"),
        ("Verdict:", painted(verdict, state.verdict)),
        ("Cases:", f"{state.cases_done}/{state.cases_total}"),
        ("Agent:", f"{state.agent} via {state.provider} ({state.model})"),
        ("Started:", state.started_at or "-"),
        ("Finished:", state.finished_at or "-"),
    ]
    if totals:
        cost = float(totals.get("cost_usd", 0))
        elapsed = float(totals.get("elapsed_s", 0))
        calls = totals.get("llm_calls", 0)
        rows.append(
            ("Cost:", f"{cost_text(cost, totals)} ({plural(calls, 'call')}, {elapsed:.2f}s)")
        )
    if state.pid and state.status in ACTIVE:
        rows.append(("Worker:", f"pid {state.pid}"))
    if state.error:
        rows.append(("Error:", state.error))
    if state.rescored_from:
        rows.append(("Rescored:", f"from run {state.rescored_from}"))
    rows.append(("Scenario:", state.scenario))
    # One space after the widest label, as scripts that read `Error:    ` have always seen.
    return [f"{label:<9} {value}" for label, value in rows]


def damaged_record(problem: StoreProblem) -> dict[str, Any]:
    """A damaged run as ``list --json`` shows it."""
    return {"run_id": problem.run_id, "status": DAMAGED, "error": problem.message}


def hidden_line(older: int) -> str | None:
    """What ``list`` says (on stderr) when its limit left ``older`` runs out, or None."""
    if not older:
        return None
    return (
        f"{older:,} older {'run' if older == 1 else 'runs'} not shown "
        f"(--limit N shows the newest N, --all every run)"
    )


def list_lines(runs: Sequence[RunState], damaged: Sequence[StoreProblem] = ()) -> list[str]:
    """The table of ``list``; damaged runs come last, since their times cannot be trusted."""
    if not runs and not damaged:
        return ["no runs"]
    rows = [("RUN ID", "STATUS", "VERDICT", "CASES", "STARTED")]
    verdicts: list[str | None] = [None]
    for run in runs:
        rows.append(
            (
                run.run_id,
                run.status.value,
                verdict_word(run.verdict),
                f"{run.cases_done}/{run.cases_total}",
                (run.started_at or run.created_at)[:19].replace("T", " "),
            )
        )
        verdicts.append(run.verdict)
    rows.extend((str(problem.run_id), DAMAGED, "-", "-", "-") for problem in damaged)
    return table(rows, verdicts)


def event_line(event: dict[str, Any]) -> str:
    stamp = str(event.get("time", ""))[:19].replace("T", " ")
    level = str(event.get("level", "info"))
    phase = str(event.get("phase") or "-")
    marker = "" if level == "info" else f"{level.upper()} "
    return f"[{stamp}] {phase:<10} {marker}{event.get('message', '')}"


def follow_events(
    store: RunStore, run_id: str, *, lines: int, follow: bool
) -> Iterator[dict[str, Any]]:
    """The last ``lines`` events, then (with ``follow``) new ones until the run ends.

    Reads ``events.jsonl`` by byte offset, so it tails a run written by another process.
    The run's state is read first: the log of a damaged run is not trusted either.
    """
    store.load(run_id)
    events, offset = store.read_last_events(run_id, lines)
    yield from events
    if not follow:
        return
    while True:
        state = store.load(run_id)
        events, offset = store.read_events(run_id, offset=offset)
        yield from events
        if state.status not in ACTIVE:
            # The run ended before this read began: everything it wrote has been read.
            return
        time.sleep(POLL_SECONDS)
