"""The offline provider: deterministic replies written in the scenario itself.

Which reply answers a call, in order of precedence:

1. a case's own ``responses`` answer that case's agent calls, one per attempt (the last
   one repeats);
2. ``{match, reply}`` rules answer any call whose user messages the regex matches (judge and
   recovery calls included), first match wins;
3. plain strings in ``responses`` answer agent calls by case: string *i* answers case *i*
   (the last one answers any further cases).

Cases run concurrently, so replies are chosen by case, never by arrival order: the same
scenario always gets the same replies. Token usage is estimated (four characters per token)
so that cost budgets mean something offline.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from goalctl.errors import ProviderError
from goalctl.providers.base import CompletionRequest, CompletionResponse, ProviderContext, Usage
from goalctl.providers.options import declare, resolve_options
from goalctl.regexes import PatternError, search

MAX_LATENCY_MS = 60_000
OPTIONS = declare(
    latency_ms={
        "type": "number",
        "default": 0,
        "min": 0,
        "max": MAX_LATENCY_MS,
        "description": "Milliseconds each reply takes, to rehearse concurrency offline.",
    },
)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


class ScriptedProvider:
    name = "scripted"

    def __init__(
        self,
        responses: tuple[Any, ...] = (),
        case_responses: Mapping[str, tuple[str, ...]] | None = None,
        case_order: tuple[str, ...] = (),
        latency_ms: float = 0.0,
    ) -> None:
        self._rules: list[tuple[str, str]] = []
        self._plain: list[str] = []
        for item in responses:
            if isinstance(item, str):
                self._plain.append(item)
            else:
                match, reply = _rule_parts(item)
                self._rules.append((match, reply))
        self._case_replies = {
            name: list(replies) for name, replies in (case_responses or {}).items()
        }
        self._case_index = {name: index for index, name in enumerate(case_order)}
        self._latency_s = latency_ms / 1000
        self._attempts: defaultdict[str | None, int] = defaultdict(int)
        self.calls: list[CompletionRequest] = []
        """Every request received, in arrival order (tests and debugging)."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.calls.append(request)
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        text = self._reply(request)
        prompt = request.system + "".join(m.text for m in request.messages)
        usage = Usage(estimate_tokens(prompt), estimate_tokens(text))
        return CompletionResponse(text, request.model, "end_turn", usage, self._latency_s)

    def _reply(self, request: CompletionRequest) -> str:
        agent_call = request.purpose == "agent"
        if agent_call and request.case in self._case_replies:
            replies = self._case_replies[request.case]
            attempt = self._attempts[request.case]
            self._attempts[request.case] += 1
            return replies[min(attempt, len(replies) - 1)]
        # Every user message, so a retry (whose last message is feedback) still matches the
        # rule that answered the case's prompt.
        prompt = "\n".join(m.text for m in request.messages if m.role == "user")
        for pattern, reply in self._rules:
            try:
                if search(pattern, prompt):
                    return reply
            except PatternError as exc:
                raise ProviderError(f"scripted: {exc}") from None
        if agent_call and self._plain:
            index = self._case_index.get(request.case or "", 0)
            return self._plain[min(index, len(self._plain) - 1)]
        case = f" for case {request.case!r}" if request.case else ""
        preview = " ".join(prompt.split())[:80]
        raise ProviderError(
            f"scripted: no reply{case} ({request.purpose} call; prompt starts: {preview!r}); "
            "add a `responses` rule whose `match` finds it"
        )

    async def aclose(self) -> None:
        return None


def _rule_parts(item: Any) -> tuple[str, str]:
    if isinstance(item, Mapping):
        return str(item["match"]), str(item["reply"])
    return str(item.match), str(item.reply)


def create(context: ProviderContext) -> ScriptedProvider:
    options = resolve_options("scripted", OPTIONS, context.options)
    return ScriptedProvider(
        context.responses,
        context.case_responses,
        context.case_order,
        float(options["latency_ms"]),
    )
