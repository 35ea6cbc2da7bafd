"""What the agents goalctl does not drive itself share (DESIGN §11): the case document they
read, the gateway session that serves their model calls, their environment and workspace.

A team's own agent — a program, a service, a Python function — calls its model through the
gateway with a key issued for its case. :class:`CaseSession` serves those calls through the
case's metered route, so they count against the case and the run's budgets, land in the
transcript and the cassette, and are scripted offline like the built-in agent's; it also
builds the case's trajectory from them. A call the run cannot afford is answered with an API
error naming the constraint, and the session remembers it so the agent stops the run; so is a
provider error every call would meet (a rejected key: :attr:`ProviderError.every_call`).

A tool call shows in the model's reply before the agent runs it, so the session screens each
call of a reply against the hard constraints over the trajectory (DESIGN §12) before the agent
sees the reply. A refused call is withheld with the whole reply: the agent gets an API error
naming the constraint instead, its tool never runs, and the case stops there and fails on that
constraint (:class:`CallRefused`) — the run goes on with the other cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalctl.agents.base import AgentContext, CaseRun, unmet_feedback
from goalctl.errors import ConfigError, ProviderError, RunError
from goalctl.evaluation import CaseOutput, ConstraintCheck
from goalctl.gateway import WireError
from goalctl.keys import remember_secret
from goalctl.metering import BudgetExceeded
from goalctl.processes import PROVIDER_VARIABLES as PROVIDER_VARIABLES
from goalctl.processes import child_environment as child_environment
from goalctl.projects import project_root
from goalctl.providers.base import CompletionRequest, CompletionResponse
from goalctl.scenario.render import RenderedCase
from goalctl.trajectory import Step, Trajectory, call_text

DOCUMENT_VERSION = 1
PRIVATE_CONFIG = frozenset({"env", "headers"})
"""Config keys that may hold secrets (``${NAME}`` expanded): never in the case document."""
EVIDENCE_CHARS = 500
"""The most of an agent's stderr quoted in a case error."""
STOP_GRACE_S = 1.0
"""How long an agent refused because the run stops may take to end on its own."""
WORKSPACE_IGNORED = (".git", ".goalctl", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class AgentFailed(RunError):
    """The agent itself failed on a case (non-zero exit, timeout, unusable output)."""


class CallRefused(Exception):
    """A hard constraint refused a tool call before it ran: the case ends at that step and
    fails on the constraint (DESIGN §12). Not a :class:`~goalctl.errors.GoalctlError`: the
    case is not in error, and the run goes on."""

    def __init__(self, check: ConstraintCheck, step: Step) -> None:
        self.check = check
        self.step = step
        self.call = call_text(step.tool, step.args)
        super().__init__(
            f"hard constraint `{check.constraint}` refused the call {self.call} at step "
            f"{step.step}, before it ran; the agent was stopped"
        )

    def wire(self) -> WireError:
        """What the agent's SDK raises: a 400 (not retried) naming the constraint."""
        return WireError(
            400,
            f"goalctl: hard constraint `{self.check.constraint}` refuses the call {self.call}; "
            f"the case fails at step {self.step.step}",
        )

    def output(self, attempt: int, trajectory: Trajectory) -> CaseOutput:
        """The case's output: nothing, the refusal as its error, the steps up to the refused
        one."""
        return CaseOutput(None, "", attempt, str(self), trajectory.to_json())


class CaseSession:
    """Serves one case's model calls through its metered route (a gateway session)."""

    def __init__(self, case: CaseRun, trajectory: Trajectory) -> None:
        self.case: str | None = case.name
        self._complete = case.complete
        self._screen = case.screen
        self.trajectory = trajectory
        self.stop: BudgetExceeded | ProviderError | None = None
        """Set when a call was refused because the run must stop: a budget, or a provider
        error every later call would meet."""
        self.refused: CallRefused | None = None
        """Set when a hard constraint refused a tool call of a reply: the case stops."""
        self.stopped = asyncio.Event()
        """Set with :attr:`stop` or :attr:`refused`: the agent must end."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        if self.stop is not None:
            raise _refusal(self.stop)
        if self.refused is not None:
            raise self.refused.wire()
        try:
            response: CompletionResponse = await self._complete(
                list(request.messages),
                system=request.system,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=request.stop,
                tools=request.tools,
            )
        except BudgetExceeded as exc:
            self.stop = exc
            self.stopped.set()
            raise _refusal(exc) from None
        except ProviderError as exc:
            if not exc.every_call:
                raise
            self.stop = exc
            self.stopped.set()
            raise _refusal(exc) from None
        # The call happened and was paid for (the meter has it) whether or not the reply
        # reaches the agent.
        self.trajectory.take_results(request)
        self.screen(response)
        return response

    def screen(self, response: CompletionResponse) -> None:
        """Add the reply's tool calls to the trajectory, each screened in order on top of the
        steps before it; at the first refused one, withhold the reply (raise the refusal's
        :class:`WireError`) and stop the case."""
        added: list[Step] = []
        for block in response.tool_calls:
            step = self.trajectory.add_call(block)
            added.append(step)
            check = self._screen(self.trajectory.to_json())
            if check is None:
                continue
            step.refuse(check.constraint, check.evidence, check.error)
            for earlier in added[:-1]:
                # Withheld with the reply that made them: the agent never saw them.
                earlier.error = f"not run: the reply that made it was withheld (step {step.step})"
            self.refused = CallRefused(check, step)
            self.stopped.set()
            raise self.refused.wire()


def _refusal(exc: BudgetExceeded | ProviderError) -> WireError:
    if isinstance(exc, ProviderError):
        return WireError(502, f"goalctl: {exc}; the run stops", "api_error")
    check = exc.check
    return WireError(
        400,
        f"goalctl: hard constraint `{check.constraint}` violated ({check.evidence}); the run stops",
    )


@dataclass(frozen=True, slots=True)
class GatewayLease:
    """One attempt's way to the run's gateway: its session, its own key, and the variables
    that carry both (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``, ``OPENAI_*``)."""

    session: CaseSession
    key: str
    environment: dict[str, str]


@contextlib.asynccontextmanager
async def gateway_lease(
    context: AgentContext, case: CaseRun, trajectory: Trajectory
) -> AsyncIterator[GatewayLease]:
    """A key of the case's own to the run's gateway for one attempt, revoked when it ends,
    however it ends: a late call of a stopped agent is refused, never served unmetered."""
    gateway = await context.open_gateway()
    session = CaseSession(case, trajectory)
    key = gateway.open(session)
    try:
        yield GatewayLease(session, key, dict(gateway.environment(key)))
    finally:
        gateway.close(key)


async def until_stopped(session: CaseSession, work: Awaitable[Any]) -> Any:
    """Await ``work``; when the session is stopped first, cancel it and raise the stop (or
    :class:`CallRefused` when a tool call was refused).

    The agent gets :data:`STOP_GRACE_S` to end on its own after its refusal, so what it says
    about it (its stderr: the SDK's error naming the constraint) reaches the run's events.
    """
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(session.stopped.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE_S)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
    if session.refused is not None:
        raise session.refused
    if session.stop is not None:
        raise session.stop
    return task.result()


async def attempts(
    context: AgentContext,
    case: CaseRun,
    attempt: Callable[[int, str | None, Trajectory], Awaitable[CaseOutput]],
) -> CaseOutput:
    """Up to ``max_attempts`` calls of ``attempt(number, feedback, trajectory)`` for one case,
    each after the first told the criteria the last one left unmet; the last output counts."""
    max_attempts = int(context.config.get("max_attempts", 1))
    trajectory = Trajectory()
    feedback: str | None = None
    result = CaseOutput(None, "", 0, "no attempt made")
    for number in range(1, max_attempts + 1):
        refused = False
        try:
            result = await attempt(number, feedback, trajectory)
        except CallRefused as exc:
            context.log(f"{case.name}: {exc}")
            result, refused = exc.output(number, trajectory), True
        except RunError as exc:
            exc.trajectory = trajectory.to_json()
            raise
        checks = await case.evaluate(result)
        unmet = [c for c in checks if not c.passed]
        if refused or not unmet or number == max_attempts:
            break  # a refused call ends the case: no retry walks around a hard constraint
        context.log(f"{case.name}: attempt {number} left {len(unmet)} criteria unmet; retrying")
        feedback = unmet_feedback(context.scenario.goal, unmet)
    return result


def case_document(
    context: AgentContext,
    case: CaseRun,
    rendered: RenderedCase,
    attempt: int,
    feedback: str | None,
) -> dict[str, Any]:
    """The JSON document an external agent reads for one case (never ``expected``)."""
    goal = context.scenario.goal
    config = {k: v for k, v in context.config.items() if k not in PRIVATE_CONFIG}
    return {
        "version": DOCUMENT_VERSION,
        "goal": {
            "id": goal.id,
            "name": goal.name,
            "description": goal.description,
            "context": goal.context,
            "output_schema": goal.output_schema,
        },
        "case": {"name": case.name, "input": case.case.input},
        "prompt": {"system": rendered.system, "user": rendered.prompt},
        "attempt": attempt,
        "feedback": feedback,
        "config": config,
    }


def expand_env(
    values: Mapping[str, Any], environ: Mapping[str, str] | None = None, *, field: str = "env"
) -> dict[str, str]:
    """Config values (of the config key ``field``) with every ``${NAME}`` replaced from
    goalctl's environment.

    A name that is not set is a :class:`ConfigError` naming it (before any case runs). The
    value of every name used is remembered as a secret: it never reaches a file the run writes.
    """
    environ = os.environ if environ is None else environ
    expanded: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ConfigError(
                f"{field}.{key}: must be text or a number, not {type(value).__name__}"
            )

        def lookup(match: re.Match[str], key: str = key) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(
                    f"{field}.{key}: ${{{name}}} is not set in goalctl's environment; "
                    "set it before running goalctl"
                )
            remember_secret(environ[name])
            return environ[name]

        expanded[str(key)] = _VARIABLE.sub(lookup, str(value))
    return expanded


def workspace_source(scenario_path: Path, value: str) -> Path | None:
    """The folder ``workspace`` names, relative to the scenario; it must stay in the project."""
    if not value:
        return None
    base = scenario_path.resolve().parent
    source = (base / value).resolve()
    root = project_root(scenario_path)
    if not source.is_relative_to(root):
        raise ConfigError(f"workspace: {value!r} is outside the scenario's project ({root})")
    if not source.is_dir():
        raise ConfigError(f"workspace: {value!r} is not a folder beside the scenario")
    return source


def make_workspace(source: Path | None, target: Path) -> Path:
    """A fresh working directory for one case: a copy of ``source``, or an empty folder."""
    if source is None:
        target.mkdir()
    else:
        shutil.copytree(
            source, target, symlinks=True, ignore=shutil.ignore_patterns(*WORKSPACE_IGNORED)
        )
    return target


def remove_scratch(workdir: Path, *files: Path) -> None:
    """Remove an attempt's working directory and scratch files, whatever the agent made of
    them; what cannot be removed goes with the run's scratch folder at cleanup."""
    shutil.rmtree(workdir, ignore_errors=True)
    for file in files:
        with contextlib.suppress(OSError):
            file.unlink(missing_ok=True)


def failure(what: str, detail: str) -> AgentFailed:
    """The error of a case whose agent failed, with the evidence (e.g. the tail of stderr).

    The evidence becomes one line (its lines joined by `` | ``), cut to its last
    :data:`EVIDENCE_CHARS` characters: a case error is shown on one console line, and the end
    of stderr is where a program says why it failed.
    """
    lines = [" ".join(line.split()) for line in detail.splitlines()]
    evidence = " | ".join(line for line in lines if line)
    if len(evidence) > EVIDENCE_CHARS:
        evidence = "…" + evidence[-(EVIDENCE_CHARS - 1) :]
    return AgentFailed(f"{what}: {evidence}" if evidence else what)
