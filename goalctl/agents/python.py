"""The ``python`` agent: a team's own agent as a Python function of its project (DESIGN §11).

``config: {callable: module:function}`` names a function marked ``@goalctl.agent``, found in
the scenario's project by path and refused before anything is imported when it is outside it
(:mod:`goalctl.projects`). Per case it is called with the keyword arguments it names —
``input``, ``prompt``, ``system``, ``goal``, ``config``, ``case``, ``attempt``, ``feedback``,
``gateway``, ``workspace`` (the case's folder, a Path, or None) — and returns the output, or
:class:`goalctl.AgentResult` with steps for the trajectory.

Every call runs in a thread of its own, an async function on an event loop of its own there:
the gateway that serves the function's model calls lives on goalctl's loop, which must keep
turning even when the function blocks (a synchronous SDK client inside an ``async def``), and
a timeout must be able to give up on a function that never returns. The thread is a daemon,
so such a function does not keep goalctl alive after the run. Its model calls reach the
gateway through the ``gateway`` argument, or through ``os.environ`` when cases run one at a
time (:mod:`goalctl.agents.lent_environment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.agents.external import (
    CallRefused,
    attempts,
    case_document,
    failure,
    gateway_lease,
    until_stopped,
)
from goalctl.agents.lent_environment import lent_environment
from goalctl.agents.marking import MARK, AgentResult, GatewayAccess
from goalctl.config_schema import ConfigIssue
from goalctl.errors import ConfigError
from goalctl.evaluation import CaseOutput
from goalctl.metering import BudgetExceeded
from goalctl.projects import (
    ProjectError,
    call_by_name,
    inspect_reference,
    load_marked,
    parse_reference,
    project_root,
)
from goalctl.trajectory import Trajectory, TrajectoryError

AGENT_ARGUMENTS: Final = frozenset(
    {
        "input",
        "prompt",
        "system",
        "goal",
        "config",
        "case",
        "attempt",
        "feedback",
        "gateway",
        "workspace",
    }
)
"""The keyword arguments a python agent's function may name."""
_KEY_WORDS: Final = ("api_key", "api key", "authentication")
REFERENCE_REMEDY: Final = (
    "name a function of this scenario's project (its folder up to pyproject.toml or .git) "
    "marked @goalctl.agent"
)


class PythonAgent(PhasedAgent):
    """Calls the project's ``callable`` once per case (and per attempt)."""

    manifest_resource = "python.yaml"

    @classmethod
    def config_problems(cls, config: Mapping[str, Any], scenario: Path) -> list[ConfigIssue]:
        reference = parse_reference(str(config.get("callable", "")))
        if reference is None:
            return [ConfigIssue("callable", "must be module:function", REFERENCE_REMEDY)]
        problem = inspect_reference(
            project_root(scenario), reference, "goalctl.agent", AGENT_ARGUMENTS
        )
        return [ConfigIssue("callable", problem, REFERENCE_REMEDY)] if problem else []

    async def initialize(self) -> None:
        # Loaded once, before any case: a function that is missing, unmarked or outside the
        # project fails the run at once, and importing the module happens only here.
        source = str(self.config["callable"])
        reference = parse_reference(source)
        if reference is None:
            raise ConfigError(f"callable: {source!r} is not module:function ({REFERENCE_REMEDY})")
        self.reference = str(reference)
        root = project_root(self.context.scenario.path)
        try:
            self.function = load_marked(root, reference, MARK, "goalctl.agent")
        except ProjectError as exc:
            raise ConfigError(f"callable: {exc}") from None
        self.timeout_s = float(self.config.get("timeout_s", 300))
        self.shared_environment = self.context.concurrency == 1

    async def execute(self, case: CaseRun) -> CaseOutput:
        return await attempts(self.context, case, lambda *args: self._attempt(case, *args))

    async def _attempt(
        self, case: CaseRun, attempt: int, feedback: str | None, trajectory: Trajectory
    ) -> CaseOutput:
        rendered = case.render(attempt=attempt, feedback=feedback)
        document = case_document(self.context, case, rendered, attempt, feedback)
        async with gateway_lease(self.context, case, trajectory) as lease:
            arguments = {
                "input": case.case.input,
                "prompt": rendered.prompt,
                "system": rendered.system,
                "goal": document["goal"],
                "config": document["config"],
                "case": document["case"],
                "attempt": attempt,
                "feedback": feedback,
                "workspace": case.workspace,
                "gateway": GatewayAccess(
                    base_url=lease.environment["ANTHROPIC_BASE_URL"],
                    openai_base_url=lease.environment["OPENAI_BASE_URL"],
                    api_key=lease.key,
                    environment=lease.environment,
                ),
            }
            try:
                with lent_environment(lease.environment if self.shared_environment else {}):
                    returned = await until_stopped(
                        lease.session, call_in_thread(self.function, arguments, self.timeout_s)
                    )
            except (BudgetExceeded, CallRefused):
                raise  # the run stops, or the case fails on a constraint: not this case's error
            except TimeoutError:
                raise failure(
                    f"{self.reference} did not return within {self.timeout_s:g}s", ""
                ) from None
            except ProjectError as exc:
                raise failure(f"{self.reference} cannot be called", str(exc)) from None
            except Exception as exc:
                raise failure(
                    f"{self.reference} raised {type(exc).__name__}", str(exc) + self._hint(exc)
                ) from None
        return self._output(returned, attempt, trajectory)

    def _hint(self, exc: Exception) -> str:
        """Why an SDK built with no arguments found no key, when that is what happened."""
        text = str(exc).lower()
        if self.shared_environment or not any(w in text for w in _KEY_WORDS):
            return ""
        return (
            f" (cases run concurrently (concurrency {self.context.concurrency}), so "
            "ANTHROPIC_API_KEY and OPENAI_API_KEY are unset while python agents run: build the "
            "SDK client from the `gateway` argument, or run with --concurrency 1)"
        )

    def _output(self, returned: Any, attempt: int, trajectory: Trajectory) -> CaseOutput:
        output = returned
        if isinstance(returned, AgentResult):
            output = returned.output
            try:
                trajectory.extend_reported(returned.trajectory)
            except (TrajectoryError, TypeError, AttributeError) as exc:
                raise failure(f"{self.reference} returned a malformed step", str(exc)) from None
        if isinstance(output, str):
            return CaseOutput(output, output, attempt, None, trajectory.to_json())
        try:
            text = json.dumps(output, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise failure(
                f"{self.reference} returned {type(output).__name__}, which is not JSON data",
                str(exc),
            ) from None
        return CaseOutput(output, text, attempt, None, trajectory.to_json())


async def call_in_thread(
    function: Callable[..., Any], arguments: Mapping[str, Any], timeout_s: float
) -> Any:
    """``function`` called by name with ``arguments`` in a daemon thread (awaited on an event
    loop of that thread when it is async); :class:`TimeoutError` after ``timeout_s``, when an
    async function is cancelled and a sync one is left to finish on its own."""
    loop = asyncio.get_running_loop()
    settled: asyncio.Future[Any] = loop.create_future()
    cancels: list[Callable[[], None]] = []

    def settle(setter: Callable[[Any], None], value: Any) -> None:
        if not settled.done():
            setter(value)

    def work() -> None:
        try:
            value = call_by_name(function, arguments)
            if inspect.isawaitable(value):
                value = _await_in_own_loop(value, cancels)
        except Exception as exc:
            _threadsafe(loop, settle, settled.set_exception, exc)
        except BaseException as exc:  # SystemExit, a cancelled task: the case's error, too
            error = RuntimeError(f"{type(exc).__name__}: {exc}".rstrip(": "))
            _threadsafe(loop, settle, settled.set_exception, error)
        else:
            _threadsafe(loop, settle, settled.set_result, value)

    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(work,), daemon=True, name="goalctl-python-agent"
    )
    thread.start()
    try:
        return await asyncio.wait_for(asyncio.shield(settled), timeout_s)
    except BaseException:
        settled.cancel()  # what the thread settles later is nobody's concern
        for cancel in cancels:
            cancel()
        raise


def _await_in_own_loop(awaitable: Any, cancels: list[Callable[[], None]]) -> Any:
    async def main() -> Any:
        task = asyncio.ensure_future(awaitable)
        own = asyncio.get_running_loop()
        cancels.append(lambda: _threadsafe(own, task.cancel))
        return await task

    return asyncio.run(main())


def _threadsafe(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    # A closed loop raises RuntimeError: nobody is waiting there any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)
