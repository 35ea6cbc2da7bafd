"""Chat Completions messages ⇄ goalctl's neutral content blocks, in both directions.

The ``openai`` provider sends neutral requests as Chat Completions and reads replies back; the
gateway does the reverse for agents that speak Chat Completions. One module keeps the two
directions inverse to each other:

- assistant ``tool_calls`` ⇄ ``tool_use`` blocks (``arguments`` is a JSON string on the wire);
- ``tool`` role messages ⇄ ``tool_result`` blocks in a user message (consecutive results of
  one turn travel in one user message);
- ``system`` / ``developer`` messages ⇄ the request's system prompt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from goalctl.providers.base import Block, CompletionRequest, Message, content_text

FINISH_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""Chat Completions ``finish_reason`` in the neutral (Messages API) vocabulary."""
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""The reverse of :data:`FINISH_REASONS`."""


class ChatFormatError(ValueError):
    """A Chat Completions message that has no neutral form; the text says which and why."""


def chat_messages(request: CompletionRequest) -> list[dict[str, Any]]:
    """The request's system prompt and messages as Chat Completions messages."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        messages.extend(_to_chat(message))
    return messages


def chat_tools(tools: Iterable[Block]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("input_schema", {"type": "object"}),
            },
        }
        for tool in tools
    ]


def neutral_tools(tools: Any) -> tuple[Block, ...]:
    """Chat Completions ``tools`` as neutral tool definitions."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise ChatFormatError("tools: must be a list")
    neutral: list[Block] = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ChatFormatError(f"tools[{index}]: must be a function with a name")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise ChatFormatError(f"tools[{index}].function.parameters: must be an object")
        kept: dict[str, Any] = {"name": function["name"], "input_schema": parameters}
        if isinstance(function.get("description"), str):
            kept["description"] = function["description"]
        neutral.append(kept)
    return tuple(neutral)


def neutral_messages(messages: Any) -> tuple[str, tuple[Message, ...]]:
    """Chat Completions messages as a system prompt and neutral messages."""
    if not isinstance(messages, list) or not messages:
        raise ChatFormatError("messages: must be a non-empty list")
    system: list[str] = []
    neutral: list[Message] = []
    results: list[Block] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ChatFormatError(f"messages[{index}]: must be an object")
        role = message.get("role")
        if role != "tool" and results:
            neutral.append(Message("user", tuple(results)))
            results = []
        if role in ("system", "developer"):
            system.append(_text(message.get("content"), f"messages[{index}].content"))
        elif role == "user":
            neutral.append(Message("user", _text(message.get("content"), f"messages[{index}]")))
        elif role == "assistant":
            neutral.append(Message("assistant", _assistant_content(message, index)))
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise ChatFormatError(
                    f"messages[{index}].tool_call_id: required for a tool message"
                )
            content = _text(message.get("content"), f"messages[{index}].content")
            results.append({"type": "tool_result", "tool_use_id": call_id, "content": content})
        else:
            raise ChatFormatError(f"messages[{index}].role: unknown role {role!r}")
    if results:
        neutral.append(Message("user", tuple(results)))
    return "\n\n".join(system), tuple(neutral)


def reply_blocks(content: Any, tool_calls: Any) -> tuple[str, tuple[Block, ...]]:
    """A Chat Completions assistant message's text, and its blocks when it calls tools."""
    text = content if isinstance(content, str) else ""
    if not tool_calls:
        return text, ()
    blocks: list[Block] = [{"type": "text", "text": text}] if text else []
    blocks.extend(_tool_use(call, f"tool_calls[{i}]") for i, call in enumerate(tool_calls))
    return text, tuple(blocks)


def chat_tool_calls(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Neutral ``tool_use`` blocks as Chat Completions ``tool_calls``."""
    return [
        {
            "id": block.get("id", ""),
            "type": "function",
            "function": {
                "name": block.get("name", ""),
                "arguments": json.dumps(block.get("input", {}), ensure_ascii=False),
            },
        }
        for block in blocks
        if block.get("type") == "tool_use"
    ]


def _to_chat(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    if message.role == "assistant":
        chat: dict[str, Any] = {
            "role": "assistant",
            "content": content_text(message.content) or None,
        }
        calls = chat_tool_calls(message.content)
        if calls:
            chat["tool_calls"] = calls
        return [chat]
    out: list[dict[str, Any]] = []
    text = content_text(message.content)
    for block in message.content:
        if block.get("type") == "tool_result":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id", ""),
                    "content": _result_text(block.get("content", "")),
                }
            )
    if text:
        out.append({"role": "user", "content": text})
    return out


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return json.dumps(content, ensure_ascii=False)


def _assistant_content(message: Mapping[str, Any], index: int) -> str | tuple[Block, ...]:
    text = message.get("content")
    text = _text(text, f"messages[{index}].content") if text is not None else ""
    calls = message.get("tool_calls")
    if not calls:
        return text
    if not isinstance(calls, list):
        raise ChatFormatError(f"messages[{index}].tool_calls: must be a list")
    blocks: list[Block] = [{"type": "text", "text": text}] if text else []
    blocks.extend(_tool_use(c, f"messages[{index}].tool_calls[{i}]") for i, c in enumerate(calls))
    return tuple(blocks)


def _tool_use(call: Any, where: str) -> Block:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise ChatFormatError(f"{where}: must be a function call with a name")
    arguments = function.get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        raise ChatFormatError(f"{where}.function.arguments: not valid JSON") from None
    return {
        "type": "tool_use",
        "id": str(call.get("id") or ""),
        "name": function["name"],
        "input": parsed if isinstance(parsed, dict) else {"value": parsed},
    }


def _text(content: Any, where: str) -> str:
    """Text content: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" for p in content
    ):
        return "".join(str(p.get("text", "")) for p in content)
    raise ChatFormatError(f"{where}: only text content is supported")
