"""A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI Chat Completions API.

The same server as :mod:`tests.support.messages_server` — the same plans (:class:`Reply`,
:class:`Status`, :class:`Delay`, :class:`Trickle`, :class:`Stall`, :class:`Malformed`,
:class:`Reset`) and the same bounded waits — answering ``POST /v1/chat/completions`` in the
Chat Completions wire format, so the ``openai`` provider is tested with the real SDK::

    with ChatServer([Status(429), Reply(text="hi")]) as server:
        ...  # point OPENAI_BASE_URL at server.url + "/v1"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.messages_server import (
    MessagesServer,
    RecordedRequest,
    Reply,
    _Handler,
    text_of,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "model_not_found",
    429: "rate_limit_exceeded",
}
FINISH_REASONS = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(code, "server_error")
    return {
        "error": {
            "message": message or kind.replace("_", " "),
            "type": "invalid_request_error" if code < 500 else "server_error",
            "param": None,
            "code": kind,
        }
    }


def validation_error(body: Any) -> str | None:
    """Why the API would refuse this body with 400, or None; deliberately minimal."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' is a required property"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in {
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        }:
            return f"invalid message: {message!r}"
    return None


class _ChatHandler(_Handler):
    api_path = "/v1/chat/completions"

    def error_body(self, code: int, message: str | None = None) -> dict[str, Any]:
        return error_body(code, message)

    def validation_error(self, body: Any, headers: Mapping[str, str]) -> str | None:
        return validation_error(body)

    def _message(self, reply: Reply, recorded: RecordedRequest) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        calls = [b for b in reply.content or [] if b.get("type") == "tool_use"]
        if calls:
            message["content"] = reply.text or None
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": json.dumps(call["input"])},
                }
                for call in calls
            ]
        return {
            "id": f"chatcmpl-test{next(self.server.owner._ids):06d}",
            "object": "chat.completion",
            "created": 1_800_000_000,
            "model": reply.model or recorded.body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": FINISH_REASONS.get(reply.stop_reason, reply.stop_reason),
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }


def echo(request: RecordedRequest) -> Reply:
    """The default responder: a deterministic reply derived from the last user message."""
    messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    text = f"echo: {users[-1] if users else ''}"
    words_in = sum(len(text_of(m.get("content")).split()) for m in messages)
    return Reply(text=text, input_tokens=words_in, output_tokens=len(text.split()))


@dataclass
class ChatServer(MessagesServer):
    """A Chat Completions server on 127.0.0.1 with an ephemeral port, in a background thread."""

    responder: Any = echo

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` should be: the server's URL with the API's ``/v1``."""
        return f"{self.url}/v1"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _ChatHandler
