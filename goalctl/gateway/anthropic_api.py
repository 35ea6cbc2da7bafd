"""The Anthropic Messages API on the wire: requests in, replies and SSE events out.

The neutral form of goalctl's providers *is* the Messages API's content-block shape, so
requests map almost one to one; what this module adds is validation (a body from an agent is
untrusted input) and the exact event sequence the SDK's stream reader expects::

    message_start, (content_block_start, content_block_delta…, content_block_stop)…,
    message_delta, message_stop
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from goalctl.gateway.errors import WireError, invalid
from goalctl.providers.base import Block, CompletionRequest, CompletionResponse, Message

DEFAULT_MAX_TOKENS = 4096
BLOCK_TYPES = frozenset({"text", "tool_use", "tool_result", "image", "document", "thinking"})


def parse_request(body: Any, *, case: str | None) -> tuple[CompletionRequest, bool]:
    """The neutral request in a Messages API body, and whether the agent asked to stream."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    max_tokens = body.get("max_tokens", DEFAULT_MAX_TOKENS)
    if not _is_int(max_tokens) or max_tokens < 1:
        raise invalid("max_tokens: must be a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: Field required")
    stop = body.get("stop_sequences") or []
    if not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise invalid("stop_sequences: must be a list of strings")
    tools = body.get("tools") or []
    if not (isinstance(tools, list) and all(_is_tool(t) for t in tools)):
        raise invalid("tools: each tool needs a name and an input_schema object")
    temperature = body.get("temperature", 0.0)
    if not isinstance(temperature, int | float) or isinstance(temperature, bool):
        raise invalid("temperature: must be a number")
    request = CompletionRequest(
        model=model,
        messages=tuple(_message(m, i) for i, m in enumerate(messages)),
        system=_system(body.get("system", "")),
        max_tokens=max_tokens,
        temperature=float(temperature),
        stop=tuple(stop),
        purpose="agent",
        case=case,
        tools=tuple(_tool(t) for t in tools),
    )
    return request, body.get("stream") is True


def reply(response: CompletionResponse, message_id: str) -> dict[str, Any]:
    """A non-streaming Messages API reply."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": [dict(b) for b in response.blocks],
        "stop_reason": response.stop_reason or "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
        },
    }


def events(response: CompletionResponse, message_id: str) -> Iterator[bytes]:
    """The reply as server-sent events, in the order the SDK's stream reader expects."""
    start = reply(response, message_id)
    start.update(content=[], stop_reason=None)
    start["usage"] = {"input_tokens": response.usage.input_tokens, "output_tokens": 0}
    yield _event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(response.blocks):
        yield from _block_events(index, block)
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": response.stop_reason or "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": response.usage.output_tokens},
        },
    )
    yield _event("message_stop", {"type": "message_stop"})


def error_body(error: WireError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error.kind, "message": error.message}}


def _block_events(index: int, block: Block) -> Iterator[bytes]:
    if block.get("type") == "tool_use":
        opening: dict[str, Any] = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))}
    else:
        opening = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": str(block.get("text", ""))}
    yield _event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": opening},
    )
    yield _event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )
    yield _event("content_block_stop", {"type": "content_block_stop", "index": index})


def _event(name: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _message(message: Any, index: int) -> Message:
    where = f"messages.{index}"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise invalid(f"{where}.role: must be 'user' or 'assistant'")
    content = message.get("content")
    if isinstance(content, str):
        return Message(message["role"], content)
    if not isinstance(content, list) or not all(_is_block(b) for b in content):
        raise invalid(f"{where}.content: must be a string or a list of content blocks")
    return Message(message["role"], tuple(content))


def _system(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list) and all(_is_block(b) and b["type"] == "text" for b in system):
        return "".join(str(b.get("text", "")) for b in system)
    raise invalid("system: must be a string or a list of text blocks")


def _tool(tool: Mapping[str, Any]) -> Block:
    kept = {"name": tool["name"], "input_schema": tool["input_schema"]}
    if isinstance(tool.get("description"), str):
        kept["description"] = tool["description"]
    return kept


def _is_tool(tool: Any) -> bool:
    return (
        isinstance(tool, dict)
        and isinstance(tool.get("name"), str)
        and isinstance(tool.get("input_schema"), dict)
    )


def _is_block(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") in BLOCK_TYPES


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["WireError", "error_body", "events", "parse_request", "reply"]
