"""The offline provider: deterministic replies written in the scenario itself.

Which reply answers a call, in order of precedence:

1. a case's own ``responses`` answer that case's agent calls in turn — each attempt, and
   each step of a tool loop, takes the next one (the last one repeats);
2. ``{match, reply}`` rules answer any call whose user messages the regex matches (judge and
   recovery calls included; tool results count as user text, so a rule can answer what a tool
   returned), first match wins; a rule with ``trials: [...]`` answers only those trials of a
   case, so a flaky agent is scripted deterministically, and a rule with ``model:`` answers
   only calls to that model (or those models), so compared models can differ offline;
3. plain replies in ``responses`` answer agent calls by case: reply *i* answers case *i*
   (the last one answers any further cases).

A reply is text, one tool call ``{tool_use: {name, input}}``, or a list of content blocks
(DESIGN §12). Tool calls get ids from their case and their position in the conversation
(``toolu_<case>_<n>``, *n* counting the calls the request already carries), and the reply's
stop reason is ``tool_use``.

Cases run concurrently, so replies are chosen by case and trial, never by arrival order: the
same scenario always gets the same replies, and every trial of a case starts its own replies
from the first. Token usage is estimated (four characters per token,
tool calls and results counted as their JSON) so that cost budgets mean something offline.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from goalctl.errors import ProviderError
from goalctl.providers.base import (
    Block,
    CompletionRequest,
    CompletionResponse,
    Message,
    ProviderContext,
    Usage,
    content_text,
)
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
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_-]")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


@dataclass(frozen=True, slots=True)
class Scripted:
    """One scripted reply: its text and, when it calls tools, its blocks (ids not yet given)."""

    text: str
    blocks: tuple[Block, ...] = ()

    @classmethod
    def of(cls, value: Any) -> Scripted:
        """The reply a scenario wrote: text, ``{tool_use: {name, input}}`` or a block list."""
        value = _plain(value)
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and "tool_use" in value:
            blocks: tuple[Block, ...] = (_tool_use(value["tool_use"]),)
        elif isinstance(value, list | tuple) and value:
            blocks = tuple(_block(item) for item in value)
        else:
            raise ProviderError(f"scripted: {value!r} is not a reply")
        text = content_text(blocks)
        if all(block["type"] == "text" for block in blocks):
            return cls(text)  # text alone is a plain reply, as the other providers give it
        return cls(text, blocks)

    def response(self, request: CompletionRequest, latency_s: float) -> CompletionResponse:
        content = self._numbered(request)
        prompt = request.system + "".join(_message_text(m) for m in request.messages)
        prompt += "".join(_json(tool) for tool in request.tools)
        usage = Usage(estimate_tokens(prompt), estimate_tokens(_blocks_text(content) or self.text))
        stop = "tool_use" if content else "end_turn"
        return CompletionResponse(self.text, request.model, stop, usage, latency_s, content)

    def _numbered(self, request: CompletionRequest) -> tuple[Block, ...]:
        """The blocks with ids: deterministic per case and conversation, whatever the timing."""
        if not self.blocks:
            return ()
        case = _NOT_IN_ID.sub("_", request.case or "run")
        made = sum(1 for m in request.messages for b in _blocks(m) if b.get("type") == "tool_use")
        numbered: list[Block] = []
        for block in self.blocks:
            if block["type"] == "tool_use":
                made += 1
                block = {"type": "tool_use", "id": f"toolu_{case}_{made}", **block}
            numbered.append(block)
        return tuple(numbered)


CALLS_KEPT = 1000
"""How many of its last requests a scripted provider keeps."""


class ScriptedProvider:
    name = "scripted"

    def __init__(
        self,
        responses: tuple[Any, ...] = (),
        case_responses: Mapping[str, tuple[Any, ...]] | None = None,
        case_order: tuple[str, ...] = (),
        latency_ms: float = 0.0,
    ) -> None:
        self._rules: list[_Rule] = []
        self._plain: list[Scripted] = []
        for item in responses:
            rule = _rule_parts(item)
            if rule is None:
                self._plain.append(Scripted.of(item))
            else:
                self._rules.append(rule)
        self._case_replies = {
            name: [Scripted.of(reply) for reply in replies]
            for name, replies in (case_responses or {}).items()
        }
        self._case_index = {name: index for index, name in enumerate(case_order)}
        self._latency_s = latency_ms / 1000
        self._served: defaultdict[tuple[str | None, int], int] = defaultdict(int)
        self.calls: deque[CompletionRequest] = deque(maxlen=CALLS_KEPT)
        """The last requests received, in arrival order (tests and debugging); a run of
        100,000 cases keeps memory for the few it needs, not for every prompt it sent."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.calls.append(request)
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        return self._reply(request).response(request, self._latency_s)

    def _reply(self, request: CompletionRequest) -> Scripted:
        agent_call = request.purpose == "agent"
        if agent_call and request.case in self._case_replies:
            # A case's calls come one after another (an agent awaits each reply before its
            # next step), so counting them per case is deterministic under concurrency.
            replies = self._case_replies[request.case]
            turn = (request.case, request.trial)
            served = self._served[turn]
            self._served[turn] += 1
            return replies[min(served, len(replies) - 1)]
        # Every user message, so a retry (whose last message is feedback) still matches the
        # rule that answered the case's prompt; tool results too, so a rule can answer them.
        prompt = "\n".join(_message_text(m) for m in request.messages if m.role == "user")
        for rule in self._rules:
            if rule.trials is not None and request.trial not in rule.trials:
                continue
            if rule.models is not None and request.model not in rule.models:
                continue
            try:
                if search(rule.pattern, prompt):
                    return rule.reply
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


@dataclass(frozen=True, slots=True)
class _Rule:
    """A ``{match, reply}`` rule, limited to some trials or models when it says so."""

    pattern: str
    trials: frozenset[int] | None
    models: frozenset[str] | None
    reply: Scripted


def _rule_parts(item: Any) -> _Rule | None:
    item = _plain(item)
    if isinstance(item, Mapping) and "match" in item:
        trials = item.get("trials")
        only = None if trials is None else frozenset(int(t) for t in trials)
        model = item.get("model")
        models = None
        if model is not None:
            models = frozenset([model] if isinstance(model, str) else (str(m) for m in model))
        return _Rule(str(item["match"]), only, models, Scripted.of(item["reply"]))
    return None


def _plain(value: Any) -> Any:
    """Scenario models as the JSON they were written as (the provider also takes plain data)."""
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


def _tool_use(call: Any) -> Block:
    if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
        raise ProviderError(f"scripted: tool call {call!r} has no name")
    arguments = call.get("input") or {}
    if not isinstance(arguments, Mapping):
        raise ProviderError(f"scripted: the input of tool call {call['name']!r} is not a mapping")
    return {"type": "tool_use", "name": call["name"], "input": dict(arguments)}


def _block(block: Any) -> Block:
    block = _plain(block)
    if isinstance(block, Mapping) and block.get("type") == "tool_use":
        return _tool_use(block)
    if isinstance(block, Mapping) and block.get("type") == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    raise ProviderError(f"scripted: {block!r} is not a text or tool_use content block")


def _blocks(message: Message) -> Iterable[Block]:
    return () if isinstance(message.content, str) else message.content


def _message_text(message: Message) -> str:
    """What a message says, tool calls and results included (matching and token estimates)."""
    if isinstance(message.content, str):
        return message.content
    return _blocks_text(message.content)


def _blocks_text(blocks: Iterable[Block]) -> str:
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            parts.append(f"{block.get('name', '')} {_json(block.get('input'))}")
        elif kind == "tool_result":
            parts.append(_result_text(block.get("content")))
    return "\n".join(part for part in parts if part)


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return content_text(tuple(b for b in content if isinstance(b, Mapping)))
    return "" if content is None else _json(content)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def create(context: ProviderContext) -> ScriptedProvider:
    options = resolve_options("scripted", OPTIONS, context.options)
    return ScriptedProvider(
        context.responses,
        context.case_responses,
        context.case_order,
        float(options["latency_ms"]),
    )
