"""Every provider call of a run, counted: tokens, cost, latency, per case and per run.

The meter is also where budgets live (DESIGN §6): hard ``time``/``cost`` constraints are
checked after every call against the run's totals, and the first violation stops the run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from goalctl.config.prices import CostBasis, PriceTable
from goalctl.evaluation import ConstraintCheck, Evaluator, Metrics
from goalctl.goal import Constraint
from goalctl.providers.base import (
    Block,
    CompletionRequest,
    CompletionResponse,
    Message,
    Provider,
    content_json,
)
from goalctl.redaction import Redactor


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class BudgetExceeded(Exception):
    """A budget (hard time/cost constraint) was violated: the run stops."""

    def __init__(self, check: ConstraintCheck) -> None:
        self.check = check
        super().__init__(f"budget {check.constraint!r} exceeded: {check.evidence}")


@dataclass(frozen=True)
class Route:
    provider: Provider
    model: str


class Meter:
    """Makes the run's model calls and keeps its books."""

    def __init__(
        self,
        agent: Route,
        judge: Route,
        budgets: Sequence[Constraint],
        evaluator: Evaluator,
        clock: Clock,
        record: Callable[[dict[str, Any]], None],
        prices: PriceTable | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.agent = agent
        self.judge = judge
        self.budgets = list(budgets)
        self.evaluator = evaluator
        self.clock = clock
        self.record = record
        self.redactor = redactor or Redactor()
        self.totals = Metrics()
        self.started = clock.monotonic()
        self.violation: ConstraintCheck | None = None
        self.prices = prices or PriceTable.for_run()
        self.unpriced: dict[str, None] = {}
        """Models whose calls had no price (an ordered set): their cost is unknown, not 0."""
        self.simulated = False
        """Whether a cost was computed from a scripted provider's estimated tokens."""

    @property
    def cost_basis(self) -> CostBasis:
        if self.unpriced:
            return "unknown"
        return "simulated" if self.simulated else "priced"

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    async def complete(
        self,
        messages: Sequence[Message] | str,
        *,
        system: str = "",
        max_tokens: int = 1024,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        purpose: str = "agent",
        case: str | None = None,
        metrics: Metrics | None = None,
        tools: Sequence[Block] = (),
        trial: int = 1,
    ) -> CompletionResponse:
        if self.violation is not None:
            raise BudgetExceeded(self.violation)
        route = self.judge if purpose == "judge" else self.agent
        if isinstance(messages, str):
            messages = [Message("user", messages)]
        request = CompletionRequest(
            route.model,
            tuple(messages),
            system,
            max_tokens,
            temperature,
            tuple(stop),
            purpose,
            case,
            tuple(tools),
            trial,
        )
        started = self.clock.monotonic()
        response = await route.provider.complete(request)
        if self.redactor:
            # Redacted as it arrives: the agent, the criteria and every file see the reply a
            # cassette keeps, so a replayed run reaches the verdict of the run that recorded it.
            response = dataclasses.replace(
                response,
                text=self.redactor.text(response.text),
                content=self.redactor.blocks(response.content),
            )
        latency = self.clock.monotonic() - started
        # A dated id the server reports may be missing from a table that has the requested name.
        cost = self.prices.cost_usd(response.usage, response.model, request.model)
        if cost is None:
            self.unpriced[request.model] = None
        elif route.provider.name == "scripted":
            self.simulated = True
        for bucket in (self.totals, metrics):
            if bucket is not None:
                bucket.llm_calls += 1
                bucket.input_tokens += response.usage.input_tokens
                bucket.output_tokens += response.usage.output_tokens
                bucket.cost_usd += cost or 0.0
        self.record(
            {
                "time": self.clock.now().isoformat(),
                "case": case,
                **({"trial": trial} if trial > 1 else {}),
                "purpose": purpose,
                "provider": route.provider.name,
                "model": request.model,
                "key": self.redactor.key(request),
                "system": request.system,
                "messages": [
                    {"role": m.role, "content": content_json(m.content)} for m in request.messages
                ],
                "response": response.text,
                **({"content": [dict(b) for b in response.content]} if response.content else {}),
                "stop_reason": response.stop_reason,
                "usage": {
                    "input_tokens": response.usage.input_tokens,
                    "output_tokens": response.usage.output_tokens,
                },
                "cost_usd": None if cost is None else round(cost, 8),
                "latency_s": round(latency, 6),
            }
        )
        self.check_budgets()
        return response

    def check_budgets(self) -> list[ConstraintCheck]:
        """Check every budget against the totals; raise on the first violation."""
        names = self.totals.names() | {"elapsed_s": self.elapsed()}
        checks = [self.evaluator.check_expression(budget, names) for budget in self.budgets]
        for check in checks:
            if not check.satisfied and self.violation is None:
                self.violation = check
                raise BudgetExceeded(check)
        return checks
