"""An order-status agent with tools of its own, on the official ``openai`` SDK.

goalctl runs it as a ``command`` agent (scenarios/order-status-openai.md): one JSON document
on stdin — the goal, the case input and the rendered prompts — and the answer on stdout.
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` point the SDK at goalctl's model gateway, which
speaks Chat Completions, so each call is metered and budgeted, lands in the run's transcript,
is recorded by ``--record``, and is answered offline by the scenario's scripted ``responses``.
Pointed at api.openai.com (or vLLM, Ollama, LiteLLM), the same program runs for real.

The tools run here, in the agent. goalctl sees each call in the model's reply and its result
in the next request, and keeps them as the case's trajectory.

    echo '{"prompt": {"system": "Be brief.", "user": "Where is order A-1001?"}}' \\
        | python3 openai_tool_agent.py
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionToolParam,
)

# goalctl's gateway answers with the scenario's model whatever is named here, so
# `goalctl run --model …` chooses the model under test.
MODEL = os.environ.get("AGENT_MODEL", "gpt-4o-mini")
MAX_MODEL_CALLS = 6
"""A tool loop that has not answered by then is stuck; fail rather than spend."""

ORDERS: dict[str, dict[str, Any]] = {
    "A-1001": {"item": "espresso grinder", "status": "shipped", "tracking": "1Z-88412"},
    "A-1002": {"item": "milk jug", "status": "being packed", "tracking": None},
}
PARCELS: dict[str, dict[str, Any]] = {
    "1Z-88412": {"carrier": "UPS", "last_scan": "Leipzig hub", "arrives": "2026-12-02"},
}


def lookup_order(order_id: str) -> dict[str, Any]:
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id!r}; order ids look like A-1001")
    return {"order_id": order_id, **ORDERS[order_id]}


def track_parcel(tracking_number: str) -> dict[str, Any]:
    if tracking_number not in PARCELS:
        raise LookupError(f"no parcel {tracking_number!r}")
    return {"tracking_number": tracking_number, **PARCELS[tracking_number]}


IMPLEMENTATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "lookup_order": lookup_order,
    "track_parcel": track_parcel,
}
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "An order's item, status and tracking number.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string", "description": "e.g. A-1001"}},
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "track_parcel",
            "description": "Where a shipped parcel is and when it arrives.",
            "parameters": {
                "type": "object",
                "properties": {"tracking_number": {"type": "string"}},
                "required": ["tracking_number"],
            },
        },
    },
]


def run_tool(call: ChatCompletionMessageFunctionToolCall) -> ChatCompletionToolMessageParam:
    """The call's result, or its error for the model to read (a bad id is not a crash)."""
    try:
        if call.function.name not in IMPLEMENTATIONS:
            raise LookupError(f"unknown tool {call.function.name!r}")
        args = json.loads(call.function.arguments or "{}")
        content = json.dumps(IMPLEMENTATIONS[call.function.name](**args))
    except (LookupError, TypeError, ValueError) as exc:
        content = json.dumps({"error": str(exc)})
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def answer(client: openai.OpenAI, system: str, question: str) -> str:
    """The model's final text after as many tool rounds as it asks for."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
    ]
    for _ in range(MAX_MODEL_CALLS):
        completion = client.chat.completions.create(
            model=MODEL, max_tokens=1024, tools=TOOLS, messages=messages
        )
        message = completion.choices[0].message
        calls = [
            call
            for call in message.tool_calls or []
            if isinstance(call, ChatCompletionMessageFunctionToolCall)
        ]
        if not calls:
            return message.content or ""
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.function.name,
                            "arguments": call.function.arguments,
                        },
                    }
                    for call in calls
                ],
            }
        )
        messages.extend(run_tool(call) for call in calls)
    raise RuntimeError(f"no answer after {MAX_MODEL_CALLS} model calls")


def main() -> None:
    document = json.load(sys.stdin)
    prompt = document["prompt"]
    client = openai.OpenAI()  # the base URL and key come from the environment
    try:
        print(answer(client, prompt["system"], prompt["user"]))
    except (openai.APIError, RuntimeError) as exc:
        # goalctl shows the tail of stderr as the case's error; a budget refusal says which
        # constraint stopped the run.
        sys.exit(f"openai_tool_agent: {exc}")


if __name__ == "__main__":
    main()
