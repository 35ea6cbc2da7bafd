"""The OpenAI Chat Completions API on the wire: requests in, completions and SSE chunks out.

Streaming follows the API: ``data: {chunk}`` lines — the role first, then the content, then
each tool call (id, name and arguments), then one chunk with the ``finish_reason`` — closed by
``data: [DONE]``; with ``stream_options.include_usage`` a last chunk carries the usage and no
choices, as the SDK expects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from goalctl.gateway.errors import WireError, invalid
from goalctl.providers.base import CompletionRequest, CompletionResponse
from goalctl.providers.chat import (
    STOP_REASONS,
    ChatFormatError,
    chat_tool_calls,
    neutral_messages,
    neutral_tools,
)

DEFAULT_MAX_TOKENS = 4096
ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


class ChatRequest:
    """A parsed Chat Completions request: the neutral request and how to answer it."""

    __slots__ = ("include_usage", "request", "stream")

    def __init__(self, request: CompletionRequest, stream: bool, include_usage: bool) -> None:
        self.request = request
        self.stream = stream
        self.include_usage = include_usage


def parse_request(body: Any, *, case: str | None) -> ChatRequest:
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens", DEFAULT_MAX_TOKENS))
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid("max_completion_tokens: must be a positive integer")
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise invalid("stop: must be a string or a list of strings")
    temperature = body.get("temperature", 0.0)
    if temperature is None:
        temperature = 0.0
    if not isinstance(temperature, int | float) or isinstance(temperature, bool):
        raise invalid("temperature: must be a number")
    try:
        system, messages = neutral_messages(body.get("messages"))
        tools = neutral_tools(body.get("tools"))
    except ChatFormatError as exc:
        raise invalid(str(exc)) from None
    if not messages:
        raise invalid("messages: at least one user or assistant message is required")
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    request = CompletionRequest(
        model=model,
        messages=messages,
        system=system,
        max_tokens=max_tokens,
        temperature=float(temperature),
        stop=tuple(stop),
        purpose="agent",
        case=case,
        tools=tools,
    )
    return ChatRequest(request, body.get("stream") is True, include_usage)


def completion(response: CompletionResponse, completion_id: str, created: int) -> dict[str, Any]:
    """A non-streaming ``chat.completion``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "message": _message(response),
                "finish_reason": _finish(response),
                "logprobs": None,
            }
        ],
        "usage": _usage(response),
    }


def chunks(
    response: CompletionResponse, completion_id: str, created: int, include_usage: bool
) -> Iterator[bytes]:
    """The completion as ``chat.completion.chunk`` server-sent events, then ``[DONE]``."""

    def chunk(delta: Mapping[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": dict(delta), "finish_reason": finish, "logprobs": None}
        return _data(_chunk(response, completion_id, created, [choice]))

    yield chunk({"role": "assistant", "content": ""})
    if response.text:
        yield chunk({"content": response.text})
    for index, call in enumerate(chat_tool_calls(response.blocks)):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, _finish(response))
    if include_usage:
        yield _data({**_chunk(response, completion_id, created, []), "usage": _usage(response)})
    yield b"data: [DONE]\n\n"


def error_body(error: WireError) -> dict[str, Any]:
    return {
        "error": {
            "message": error.message,
            "type": error.kind,
            "param": None,
            "code": ERROR_CODES.get(error.status),
        }
    }


def _message(response: CompletionResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text, "refusal": None}
    calls = chat_tool_calls(response.blocks)
    if calls:
        message["tool_calls"] = calls
        message["content"] = response.text or None
    return message


def _finish(response: CompletionResponse) -> str:
    return STOP_REASONS.get(response.stop_reason or "end_turn", "stop")


def _usage(response: CompletionResponse) -> dict[str, int]:
    usage = response.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _chunk(
    response: CompletionResponse, completion_id: str, created: int, choices: list[Any]
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": response.model,
        "choices": choices,
    }


def _data(payload: Mapping[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()
