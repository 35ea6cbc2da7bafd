"""Running one case: its workspace, the agent's attempts, their evaluation, its record.

The :class:`CaseExecutor` of a scenario run gives each case what the agent calls back into
(render, complete, evaluate, screen) with the case's name and metrics bound, makes and removes
the case's workspace, and turns whatever happens into a :class:`CaseRecord`. The runner
journals the records; only a budget, a stop, or an error every case would meet
(:class:`EveryCaseFails`) reach it as exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.errors import GoalctlError, ProviderError, RunError
from goalctl.evaluation import CaseOutput, Check, ConstraintCheck, Evaluator, Metrics
from goalctl.metering import BudgetExceeded, Clock, Meter
from goalctl.planning import Plan
from goalctl.reports.data import CaseRecord
from goalctl.scenario.render import case_context, render_case
from goalctl.workspaces import CaseWorkspaces


class EveryCaseFails(Exception):
    """A case met an error that every other case would meet too (see ProviderError.every_call)."""

    def __init__(self, record: CaseRecord, error: ProviderError) -> None:
        super().__init__(str(error))
        self.case = record.name
        self.record = record
        """The case that met the error: it ran and errored, unlike the cases left unrun."""


class CaseExecutor:
    """Runs the cases of one scenario run, under the concurrency limit of the command."""

    def __init__(
        self,
        plan: Plan,
        evaluator: Evaluator,
        meter: Meter,
        clock: Clock,
        semaphore: asyncio.Semaphore,
    ) -> None:
        self.scenario = plan.scenario
        self.config = plan.config
        self.evaluator = evaluator
        self.meter = meter
        self.clock = clock
        self.semaphore = semaphore
        self.halted = False
        """A case met an error every case would meet: cases that have not started never do."""
        self.goal_context = self.scenario.goal.to_prompt_context()
        self.workspaces = CaseWorkspaces(self.scenario)

    async def run(self, agent: PhasedAgent, index: int, trial: int = 1) -> CaseRecord:
        """Run trial ``trial`` of case ``index`` once a slot is free; an agent's failure is an
        errored record. Every trial is independent: its own workspace, metrics and replies.

        Raises :class:`BudgetExceeded`, :class:`asyncio.CancelledError` (also for a case that
        would start after the run halted) and :class:`EveryCaseFails`.
        """
        async with self.semaphore:
            if self.halted:
                raise asyncio.CancelledError
            scenario = self.scenario
            case = scenario.cases[index]
            name = scenario.case_name(index)
            metrics = Metrics()
            started = self.clock.monotonic()
            context = case_context(
                scenario.goal,
                self.config,
                case,
                name,
                scenario.spec.phase_instructions,
                goal_context=self.goal_context,
            )
            tries: list[tuple[CaseOutput, Sequence[Check]]] = []

            async def judge(prompt: str) -> str:
                reply = await self.meter.complete(
                    prompt, purpose="judge", case=name, metrics=metrics, trial=trial
                )
                return reply.text

            async def evaluate(output: CaseOutput) -> Sequence[Check]:
                # The workspace is the runner's to give: an agent's output never names one.
                seen = output if workspace is None else replace(output, workspace=workspace)
                checks = await self.evaluator.check_case(context, seen, metrics, judge)
                tries.append((output, checks))
                return checks

            def render(attempt: int = 1, feedback: str | None = None) -> Any:
                names = {**context, "attempt": attempt, "feedback": feedback}
                return render_case(scenario.templates, names, name)

            async def complete(messages: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("purpose", "agent")
                return await self.meter.complete(
                    messages, case=name, metrics=metrics, trial=trial, **kwargs
                )

            def screen(trajectory: Sequence[Mapping[str, Any]]) -> ConstraintCheck | None:
                return self.evaluator.screen_call(context, trajectory, metrics)

            workspace: Path | None = None
            try:
                workspace = await self.workspaces.make()
                run = CaseRun(
                    index, name, case, render, complete, evaluate, screen, workspace=workspace
                )
                output = await agent.execute(run)
                metrics.attempts = output.attempts
                if not tries or tries[-1][0] is not output:
                    await evaluate(output)
                # The output the agent returns is the one that counts; earlier evaluations
                # are its earlier attempts.
                *earlier, (_, checks) = tries
                metrics.elapsed_s = self.clock.monotonic() - started
                constraints = await self.evaluator.check_constraints(
                    context, output, metrics, judge
                )
            except (BudgetExceeded, asyncio.CancelledError):
                raise
            except GoalctlError as exc:
                metrics.elapsed_s = self.clock.monotonic() - started
                steps = exc.trajectory if isinstance(exc, RunError) else ()
                record = CaseRecord.errored(index, name, case, metrics, str(exc), steps, trial)
                if isinstance(exc, ProviderError) and exc.every_call:
                    # Set before the semaphore is released, so no waiting case starts.
                    self.halted = True
                    raise EveryCaseFails(record, exc) from None
                return record
            except Exception as exc:
                metrics.elapsed_s = self.clock.monotonic() - started
                message = f"agent {scenario.spec.agent!r} failed: {type(exc).__name__}: {exc}"
                return CaseRecord.errored(index, name, case, metrics, message, trial=trial)
            finally:
                await self.workspaces.remove(workspace)
            return CaseRecord.finished(
                index, name, case, output, metrics, checks, constraints, earlier, trial
            )

    async def close(self) -> None:
        """Remove every workspace the run's cases left, whatever happened to them."""
        await self.workspaces.close()
