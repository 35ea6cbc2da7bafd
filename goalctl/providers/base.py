"""The provider protocol: one async ``complete(request) -> response`` over any LLM backend.

Requests are plain values so that a cassette can key them (``CompletionRequest.key``) and a
transcript can store them. Nothing in a request or response may hold a secret.

Content is either plain text or a tuple of content blocks in the Anthropic Messages shape —
the neutral form every provider and the gateway translate to and from:
``{"type": "text", "text"}``, ``{"type": "tool_use", "id", "name", "input"}`` and
``{"type": "tool_result", "tool_use_id", "content", "is_error"}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from goalctl.providers.limiter import RouteLimits

Role = Literal["user", "assistant"]
Block = Mapping[str, Any]
"""One content block (JSON), in the neutral Anthropic shape."""
Content = str | tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: Content

    @property
    def text(self) -> str:
        """The message's text: the string itself, or its text blocks joined."""
        return content_text(self.content)


def content_text(content: Content) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(b.get("text", "")) for b in content if b.get("type") == "text")


def content_json(content: Content) -> str | list[dict[str, Any]]:
    return content if isinstance(content, str) else [dict(b) for b in content]


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What is sent to a model. ``purpose`` and ``case`` are metadata, never sent."""

    model: str
    messages: tuple[Message, ...]
    system: str = ""
    max_tokens: int = 1024
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    purpose: str = "agent"
    """Why the call is made: ``agent``, ``judge``, ``recovery``, ``report``."""
    case: str | None = None
    """The case the call belongs to (scripted per-case replies, transcripts)."""
    tools: tuple[Block, ...] = ()
    """Tools the model may call: ``{"name", "description", "input_schema"}`` each."""
    trial: int = 1
    """The trial of the case the call belongs to (1 is the first): part of the cassette key
    from the second trial on, so a replay reproduces each trial (metadata, never sent)."""

    def canonical(self) -> dict[str, Any]:
        """The request as sent, in a stable form (the cassette key is its hash).

        ``tools`` appear only when there are some, so requests without tools keep the keys
        they had before tools existed and old cassettes still replay.
        """
        canonical: dict[str, Any] = {
            "model": self.model,
            "system": self.system,
            "messages": [
                {"role": m.role, "content": content_json(m.content)} for m in self.messages
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": list(self.stop),
        }
        if self.tools:
            canonical["tools"] = [dict(tool) for tool in self.tools]
        return canonical

    def key(self) -> str:
        keyed = self.canonical()
        if self.trial > 1:
            # The first trial keeps the key of a run without trials: cassettes recorded before
            # a scenario had trials still replay it.
            keyed["trial"] = self.trial
        text = json.dumps(keyed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class CompletionResponse:
    text: str
    model: str
    stop_reason: str | None = "end_turn"
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    content: tuple[Block, ...] = ()
    """The reply's content blocks when it has more than text (tool calls); else empty."""

    @property
    def blocks(self) -> tuple[Block, ...]:
        """The reply as content blocks: ``content``, or one text block made of ``text``."""
        if self.content:
            return self.content
        return ({"type": "text", "text": self.text},) if self.text else ()

    @property
    def tool_calls(self) -> tuple[Block, ...]:
        """The reply's ``tool_use`` blocks, in order."""
        return tuple(b for b in self.content if b.get("type") == "tool_use")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "model": self.model,
            "stop_reason": self.stop_reason,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
            },
            "latency_s": round(self.latency_s, 6),
        }
        if self.content:
            data["content"] = [dict(b) for b in self.content]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompletionResponse:
        usage = data.get("usage") or {}
        return cls(
            text=str(data["text"]),
            model=str(data.get("model", "")),
            stop_reason=data.get("stop_reason"),
            usage=Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
            latency_s=float(data.get("latency_s", 0.0)),
            content=tuple(data.get("content") or ()),
        )


@dataclass(frozen=True)
class ProviderContext:
    """What a provider factory may use: the scenario it serves and its options."""

    scenario_path: Path
    model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    """``provider_options`` of the scenario, e.g. ``latency_ms``, ``timeout_s``."""
    responses: tuple[Any, ...] = ()
    """Scripted replies of the scenario: replies (text, ``{tool_use}``, block lists) or
    ``{match, reply}`` rules."""
    case_responses: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Scripted replies per case name."""
    case_order: tuple[str, ...] = ()
    """The scenario's case names in order (scripted plain replies answer case *i*)."""
    redact: tuple[str, ...] = ()
    """The scenario's ``redact`` patterns (the replay provider keys requests with them)."""
    concurrency: int = 256
    """The command's ceiling on requests in flight to one route (``--concurrency``)."""
    limits: RouteLimits | None = None
    """The command's adaptive limits per route, shared by its scenarios (None: the provider's
    own)."""


@runtime_checkable
class Provider(Protocol):
    """An LLM backend. Implementations raise :class:`goalctl.errors.ProviderError` on failure."""

    name: str

    async def complete(self, request: CompletionRequest) -> CompletionResponse: ...

    async def aclose(self) -> None: ...
