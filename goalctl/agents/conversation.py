"""One conversation of the ``llm`` agent: model → tool calls → results → model, turn by turn.

A turn sends one user message and loops until the model ends its turn (a reply without tool
calls), ``max_steps`` model calls, or a budget (:class:`~goalctl.errors.BudgetExceeded`
propagates). Every call of a reply is screened, in order, by the hard constraints over the
trajectory before anything runs: the calls before a refused one run and are recorded, the
refused one is recorded as refused, the ones after it neither run nor are recorded, and the
case ends there. Accepted calls of one reply run concurrently; their results go back in the
order of the calls, one ``tool_result`` block each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from goalctl.agents.base import CaseRun
from goalctl.evaluation import ConstraintCheck
from goalctl.providers.base import Block, Message
from goalctl.tools.toolbox import ToolBox, ToolOutcome
from goalctl.trajectory import Step, Trajectory


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """How a turn ended: the model's answer, or why the case must end now."""

    text: str
    """The final answer; when the turn was cut short, the text the model wrote so far."""
    error: str | None = None
    """Why the turn never reached an answer (``max_steps``); None otherwise."""
    refused: ConstraintCheck | None = None
    """The hard constraint that refused a call; the case ends with it."""

    @property
    def final(self) -> bool:
        """Whether the model ended its turn itself."""
        return self.error is None and self.refused is None


@dataclass(frozen=True, slots=True)
class Settings:
    """What every model call of a case's conversation shares."""

    max_tokens: int
    stop: tuple[str, ...]
    max_steps: int


class Conversation:
    """The messages of one case's conversation, its tools and its trajectory."""

    def __init__(
        self, case: CaseRun, toolbox: ToolBox, trajectory: Trajectory, settings: Settings
    ) -> None:
        self.case = case
        self.toolbox = toolbox
        self.trajectory = trajectory
        self.settings = settings
        self.messages: list[Message] = []
        self._tools = toolbox.definitions()
        self._names: Mapping[str, Any] = {
            "input": case.case.input,
            "case": {"name": case.name, "description": case.case.description},
        }

    async def turn(self, user: str, *, system: str) -> TurnEnd:
        """Send ``user`` and loop on tool calls until the model answers."""
        self.messages.append(Message("user", user))
        texts: list[str] = []
        for _ in range(self.settings.max_steps):
            response = await self.case.complete(
                self.messages,
                system=system,
                max_tokens=self.settings.max_tokens,
                stop=self.settings.stop,
                tools=self._tools,
            )
            if response.text:
                texts.append(response.text)
            calls = response.tool_calls
            if not calls:
                self.messages.append(Message("assistant", response.text))
                return TurnEnd(response.text)
            self.messages.append(Message("assistant", response.blocks))
            results, refused = await self._run(calls)
            if refused is not None:
                return TurnEnd("\n".join(texts), refused=refused)
            self.messages.append(Message("user", tuple(results)))
        steps = self.settings.max_steps
        return TurnEnd(
            "\n".join(texts),
            error=f"the model was still calling tools after {steps} model call"
            f"{'' if steps == 1 else 's'} in one turn (max_steps: {steps})",
        )

    async def _run(self, calls: Sequence[Block]) -> tuple[list[Block], ConstraintCheck | None]:
        """Screen the calls in order, run the accepted ones, record every step; the result
        blocks in call order, and the refusal that ends the case, if any."""
        proposed = self.trajectory.to_json()
        accepted: list[Block] = []
        refusal: tuple[Block, ConstraintCheck] | None = None
        for call in calls:
            shown = _step(call, len(proposed) + 1).to_json()
            check = self.case.screen([*proposed, shown])
            if check is not None:
                refusal = (call, check)
                break
            proposed.append(shown)
            accepted.append(call)
        outcomes = await self._call_all(accepted)
        for call, outcome in zip(accepted, outcomes, strict=True):
            step = _step(call, 0)
            step.result, step.error = outcome.result, outcome.error
            step.elapsed_s = round(outcome.elapsed_s, 6)
            self.trajectory.record(step)
        if refusal is not None:
            call, check = refusal
            refused = _step(call, 0)
            refused.refuse(check.constraint, check.evidence, check.error)
            self.trajectory.record(refused)
            return [], check
        return [
            outcome.block(str(call.get("id", "")))
            for call, outcome in zip(accepted, outcomes, strict=True)
        ], None

    async def _call_all(self, calls: Sequence[Block]) -> list[ToolOutcome]:
        # Every call runs to its end before a setup failure of one of them ends the case:
        # none is left running behind the case's back.
        settled = await asyncio.gather(
            *(
                self.toolbox.call(
                    str(call.get("name", "")),
                    call.get("input"),
                    workspace=self.case.workspace,
                    context=self._names,
                )
                for call in calls
            ),
            return_exceptions=True,
        )
        outcomes: list[ToolOutcome] = []
        for item in settled:
            if isinstance(item, BaseException):
                raise item
            outcomes.append(item)
        return outcomes


def _step(call: Block, number: int) -> Step:
    return Step(
        step=number,
        tool=str(call.get("name", "")),
        args=call.get("input"),
        id=str(call.get("id") or "") or None,
    )
