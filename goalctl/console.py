"""What ``goalctl run`` shows while it works, and the block it ends with.

On a terminal: a live progress display (an overall bar, a bar per run in flight) that is
erased when the runs end, then the verdicts and the summary, coloured by verdict. In a pipe
(CI logs): a line per run started and per case finished, then the same verdicts and summary,
word for word. ``NO_COLOR`` takes the colour away, never the progress. rich is imported only
for the terminal display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from goalctl.excerpts import plural
from goalctl.outcomes import RunOutcome, SilentObserver
from goalctl.reports.data import CaseRecord
from goalctl.run_summary import Line, Tone, case_line, started_line
from goalctl.scenario.model import Scenario

_STYLE: dict[Tone, str] = {"good": "green", "bad": "red", "warn": "yellow", "plain": ""}


class Display(Protocol):
    """An observer of the runner that also prints the block after the runs."""

    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None: ...

    def case_finished(self, run_id: str, record: CaseRecord) -> None: ...

    def run_finished(self, outcome: RunOutcome) -> None: ...

    def show(self, lines: Sequence[Line]) -> None: ...


def interactive() -> bool:
    """A live display fits: a terminal that can redraw, and not a CI log."""
    return (
        sys.stdout.isatty()
        and os.environ.get("TERM") != "dumb"
        and os.environ.get("GITHUB_ACTIONS") != "true"  # every line must pass cli's escaping
    )


class QuietDisplay(SilentObserver):
    """``run --json``: the JSON summary is the whole output."""

    def show(self, lines: Sequence[Line]) -> None:
        return None


class PlainDisplay:
    """One line per event, for logs; the verdicts wait for the summary block."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None:
        self.write(started_line(run_id, scenario, cases))

    def case_finished(self, run_id: str, record: CaseRecord) -> None:
        self.write(case_line(run_id, record).text)

    def run_finished(self, outcome: RunOutcome) -> None:
        return None

    def show(self, lines: Sequence[Line]) -> None:
        for line in lines:
            self.write(line.text)


class LiveDisplay:
    """Bars while the runs go on, erased at the end: nothing is drawn below the verdicts."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        # rich reads NO_COLOR itself: colour goes, the progress stays.
        self.console = Console(highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[problems]}", markup=False, style="red"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.overall = self.progress.add_task("cases", total=0, problems="")
        self.runs: dict[str, Any] = {}
        self.total = 0
        self.failed = 0
        self.errored = 0

    def __enter__(self) -> LiveDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None:
        self.runs[run_id] = self.progress.add_task(f"  {run_id}", total=cases, problems="")
        self.total += cases
        self.progress.update(
            self.overall, total=self.total, description=f"cases ({plural(len(self.runs), 'run')})"
        )

    def case_finished(self, run_id: str, record: CaseRecord) -> None:
        # A flaky case is reported, never a problem of the run.
        self.failed += record.status == "failed" and not record.flaky
        self.errored += record.status == "error" and not record.flaky
        parts = [f"{self.failed} failed" if self.failed else ""]
        parts.append(f"{self.errored} errored" if self.errored else "")
        problems = ", ".join(p for p in parts if p)
        self.progress.update(self.overall, advance=1, problems=problems)
        if run_id in self.runs:
            self.progress.advance(self.runs[run_id])

    def run_finished(self, outcome: RunOutcome) -> None:
        # A finished run's bar goes: a wall of full bars says nothing the verdicts do not.
        task = self.runs.get(outcome.run_id)
        if task is not None:
            self.progress.remove_task(task)

    def show(self, lines: Sequence[Line]) -> None:
        from rich.text import Text

        for line in lines:
            # Text, never markup: case names and errors come from scenario files and providers.
            self.console.print(Text(line.text, style=_STYLE[line.tone]))


@contextmanager
def display_for(quiet: bool, write: Callable[[str], None]) -> Iterator[Display]:
    """The display of ``goalctl run``: none with ``--json``, live on a terminal, else lines.

    The live display is erased when the block exits: call :meth:`Display.show` after it.
    """
    if quiet:
        yield QuietDisplay()
    elif interactive():
        with LiveDisplay() as live:
            yield live
    else:
        yield PlainDisplay(write)
