"""What ``goalctl run`` shows while it works: rich progress on a terminal, plain lines otherwise.

Plain lines are the default whenever stdout is not a TTY or ``NO_COLOR`` is set, so CI logs
stay readable and greppable. rich is imported only for the interactive display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from goalctl.config.prices import cost_text
from goalctl.reports.data import CaseRecord
from goalctl.runner import Observer, RunOutcome, SilentObserver
from goalctl.scenario.model import Scenario
from goalctl.state import RunStatus
from goalctl.verdict import verdict_of

_MARK = {"passed": "ok", "failed": "FAIL", "error": "ERROR"}
_VERDICT = {"achieved": "achieved", "not_achieved": "NOT ACHIEVED", "error": "ERROR"}


def interactive() -> bool:
    return (
        sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
        and os.environ.get("GITHUB_ACTIONS") != "true"  # every line must pass cli's escaping
    )


def outcome_line(outcome: RunOutcome) -> str:
    report = outcome.report
    if outcome.status is RunStatus.STOPPED:
        return (
            f"{outcome.run_id}: stopped — {report['cases_done']}/{report['cases']} cases finished"
        )
    totals = report["totals"]
    verdict = verdict_of(report)
    line = f"{outcome.run_id}: {_VERDICT.get(verdict.verdict, verdict.verdict)}"
    explanation = verdict.explanation()
    if explanation:
        line += f" — {explanation}"
    line += " — "
    if verdict.scored:
        line += f"score {report['score'] * 100:.0f}% (needs 90%), "
    cases = f"{totals['cases_passed']}/{totals['cases']} cases passed"
    return line + f"{cases}, " + cost_text(totals["cost_usd"], totals)


class PlainObserver:
    """One line per event, for logs."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None:
        noun = "case" if cases == 1 else "cases"
        self.write(f"{run_id}: running {scenario.path} ({cases} {noun})")

    def case_finished(self, run_id: str, record: CaseRecord) -> None:
        detail = f" — {record.error}" if record.error else ""
        self.write(f"{run_id}: {_MARK.get(record.status, record.status)} {record.name}{detail}")

    def run_finished(self, outcome: RunOutcome) -> None:
        self.write(outcome_line(outcome))


class RichObserver:
    """A progress bar per run; the outcome line when it ends."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> RichObserver:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None:
        self.tasks[run_id] = self.progress.add_task(run_id, total=cases)

    def case_finished(self, run_id: str, record: CaseRecord) -> None:
        self.progress.advance(self.tasks[run_id])
        if record.status != "passed":
            detail = f" — {record.error}" if record.error else ""
            style = "red" if record.status == "error" else "yellow"
            self.console.print(
                self._text(f"{run_id}: {record.status} {record.name}{detail}", style)
            )

    def run_finished(self, outcome: RunOutcome) -> None:
        style = "green" if outcome.verdict == "achieved" else "red"
        self.console.print(self._text(outcome_line(outcome), style))

    @staticmethod
    def _text(line: str, style: str) -> Any:
        # Text, never markup: case names and errors come from scenario files and providers.
        from rich.text import Text

        return Text(line, style=style)


@contextmanager
def observer_for(quiet: bool, write: Callable[[str], None]) -> Iterator[Observer]:
    """The display for ``goalctl run``: none with ``--json``, rich on a terminal, else lines."""
    if quiet:
        yield SilentObserver()
    elif interactive():
        with RichObserver() as rich_observer:
            yield rich_observer
    else:
        yield PlainObserver(write)
