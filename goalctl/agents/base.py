"""The phased agent: initialize → execute (per case) → report → cleanup.

The runner drives the phases and gives each agent an :class:`AgentContext` (the scenario, its
resolved config, a log callback) and, for each case, a :class:`CaseRun` with everything a case
needs: its prompts, a metered model call, and the evaluator (so an agent can retry on unmet
criteria). Agents never touch files, state or the terminal.
"""

from __future__ import annotations

import abc
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from goalctl.agents.manifest import AgentManifest
from goalctl.config_schema import ConfigIssue
from goalctl.evaluation import CaseOutput, Check, ConstraintCheck
from goalctl.providers.base import CompletionResponse, Message
from goalctl.scenario.model import Case, Scenario
from goalctl.scenario.render import RenderedCase
from goalctl.templates import render_builtin

if TYPE_CHECKING:
    from goalctl.gateway import Gateway
    from goalctl.goal import Goal


async def _no_gateway() -> Gateway:
    raise RuntimeError("this run has no model gateway")


@dataclass(frozen=True)
class AgentContext:
    scenario: Scenario
    config: Mapping[str, Any]
    log: Callable[[str], None]
    """Records a line in the run's events (status callback of the tutorial seed)."""
    complete: Callable[..., Awaitable[CompletionResponse]]
    """A metered model call outside any case (used by the report phase)."""
    open_gateway: Callable[[], Awaitable[Gateway]] = field(default=_no_gateway)
    """The run's model gateway, started on first use (agents whose model calls goalctl does
    not make itself: ``command``, ``http``, ``python``)."""
    concurrency: int = 1
    """How many cases the run may run at once (across its scenarios)."""
    monotonic: Callable[[], float] = time.monotonic
    """The run's clock, for durations that reach reports (a frozen one in snapshot tests)."""


@dataclass(frozen=True)
class CaseRun:
    """One case as an agent sees it."""

    index: int
    name: str
    case: Case
    render: Callable[..., RenderedCase]
    """``render(attempt=1, feedback=None)``: the case's system and user prompts."""
    complete: Callable[..., Awaitable[CompletionResponse]]
    """``complete(messages, system=..., max_tokens=..., temperature=..., stop=(), purpose=...)``:
    a model call counted against this case and the run's budgets."""
    evaluate: Callable[[CaseOutput], Awaitable[Sequence[Check]]]
    """Checks the criteria on an output; the last evaluation is the case's result."""
    screen: Callable[[Sequence[Mapping[str, Any]]], ConstraintCheck | None] = lambda trajectory: (
        None
    )
    """``screen(trajectory)``: before a tool call runs, the trajectory so far with the proposed
    call as its last step (``result`` and ``error`` None); the first hard constraint over the
    trajectory that it violates (the call must then be refused), or None (DESIGN §12)."""
    workspace: Path | None = None
    """The case's fresh workspace (a copy of the scenario's ``workspace:`` folder, or an empty
    folder when world-state criteria need one); None when the scenario has neither. The
    runner removes it after the case is evaluated."""


@dataclass(frozen=True)
class Turn:
    """A convenience for agents building conversations."""

    role: str
    content: str

    def message(self) -> Message:
        return Message("assistant" if self.role == "assistant" else "user", self.content)


def unmet_feedback(goal: Goal, unmet: Sequence[Check]) -> str:
    """What an agent is told on a retry: the criteria still unmet, and why each is."""
    items = [
        {"description": goal.criterion(c.criterion).description, "reason": c.error or c.evidence}
        for c in unmet
    ]
    return render_builtin("feedback.md.j2", unmet=items)


class PhasedAgent(abc.ABC):
    """Base of every agent. Subclasses name their manifest and implement ``execute``."""

    manifest_resource: ClassVar[str]
    """File name of the agent's manifest, beside the agent's module."""

    def __init__(self, context: AgentContext) -> None:
        self.context = context
        self.config = context.config

    @classmethod
    @functools.cache
    def manifest(cls) -> AgentManifest:
        package = cls.__module__.rpartition(".")[0] or cls.__module__
        text = resources.files(package).joinpath(cls.manifest_resource).read_text(encoding="utf-8")
        return AgentManifest.from_yaml(text, source=f"{package}/{cls.manifest_resource}")

    @classmethod
    def config_problems(cls, config: Mapping[str, Any], scenario: Path) -> list[ConfigIssue]:
        """What in ``config`` (resolved, every rule met) a run of the scenario file
        ``scenario`` would refuse, judged without running or importing anything (validate)."""
        return []

    @classmethod
    def preflight(cls, scenario: Scenario, config: Mapping[str, Any]) -> None:
        """Check what the agent needs from this machine (an environment variable, a folder)
        before any work; raise :class:`~goalctl.errors.UsageError` (exit 2). Planning calls it,
        so a detached run is refused in the shell that started it. Optional."""
        return

    async def initialize(self) -> None:  # noqa: B027 - optional phase, empty by default
        """Set up resources before any case runs."""

    @abc.abstractmethod
    async def execute(self, case: CaseRun) -> CaseOutput:
        """Pursue the goal for one case. Cases may run concurrently."""

    async def report(self, results: Sequence[Mapping[str, Any]]) -> str | None:
        """An optional summary of the run for the report, after every case."""
        return None

    async def cleanup(self) -> None:  # noqa: B027 - optional phase, empty by default
        """Release resources; runs even when a phase failed or the run was stopped."""
