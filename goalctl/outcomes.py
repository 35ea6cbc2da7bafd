"""What a run tells whoever watches it: the observer protocol and a run's outcome.

Kept apart from :mod:`goalctl.runner` so that the console, the API's results and the pytest
plugin can name a run's outcome without importing the machinery that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from goalctl.reports.data import CaseRecord
    from goalctl.scenario.model import Scenario
    from goalctl.state import RunStatus


class Observer(Protocol):
    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None: ...

    def case_finished(self, run_id: str, record: CaseRecord) -> None: ...

    def run_finished(self, outcome: RunOutcome) -> None: ...


class SilentObserver:
    def run_started(self, run_id: str, scenario: Scenario, cases: int) -> None:
        return None

    def case_finished(self, run_id: str, record: CaseRecord) -> None:
        return None

    def run_finished(self, outcome: RunOutcome) -> None:
        return None


@dataclass
class RunOutcome:
    run_id: str
    scenario: Scenario
    status: RunStatus
    verdict: str | None
    report: dict[str, Any]
    report_paths: list[Path] = field(default_factory=list)
    model: str = ""
    """The model the agent ran with."""

    @property
    def error(self) -> str | None:
        value = self.report.get("error")
        return str(value) if value else None
