"""An order-status agent with tools of its own, on the official ``anthropic`` SDK.

goalctl runs it as a ``command`` agent (scenarios/order-status-anthropic.md): one JSON
document on stdin — the goal, the case input and the rendered prompts — and the answer on
stdout. ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` point the SDK at goalctl's model
gateway, so each call is metered and budgeted, lands in the run's transcript, is recorded by
``--record``, and is answered offline by the scenario's scripted ``responses``. Nothing else
here knows about goalctl: pointed at api.anthropic.com, the same program runs for real.

The tools run here, in the agent. goalctl sees each call in the model's reply and its result
in the next request, and keeps them as the case's trajectory.

    echo '{"prompt": {"system": "Be brief.", "user": "Where is order A-1001?"}}' \\
        | python3 claude_tool_agent.py
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import anthropic

# goalctl's gateway answers with the scenario's model whatever is named here, so
# `goalctl run --model …` chooses the model under test.
MODEL = os.environ.get("AGENT_MODEL", "claude-haiku-4-5")
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
TOOLS: list[anthropic.types.ToolParam] = [
    {
        "name": "lookup_order",
        "description": "An order's item, status and tracking number.",
        "input_schema": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "description": "e.g. A-1001"}},
            "required": ["order_id"],
        },
    },
    {
        "name": "track_parcel",
        "description": "Where a shipped parcel is and when it arrives.",
        "input_schema": {
            "type": "object",
            "properties": {"tracking_number": {"type": "string"}},
            "required": ["tracking_number"],
        },
    },
]


def run_tool(call: anthropic.types.ToolUseBlock) -> anthropic.types.ToolResultBlockParam:
    """The call's result, or its error for the model to read (a bad id is not a crash)."""
    try:
        if call.name not in IMPLEMENTATIONS:
            raise LookupError(f"unknown tool {call.name!r}")
        content = json.dumps(IMPLEMENTATIONS[call.name](**call.input))
    except (LookupError, TypeError) as exc:
        return {
            "type": "tool_result",
            "tool_use_id": call.id,
            "content": str(exc),
            "is_error": True,
        }
    return {"type": "tool_result", "tool_use_id": call.id, "content": content}


def answer(client: anthropic.Anthropic, system: str, question: str) -> str:
    """The model's final text after as many tool rounds as it asks for."""
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": question}]
    for _ in range(MAX_MODEL_CALLS):
        reply = client.messages.create(
            model=MODEL, max_tokens=1024, system=system, tools=TOOLS, messages=messages
        )
        calls = [block for block in reply.content if block.type == "tool_use"]
        if not calls:
            return "".join(block.text for block in reply.content if block.type == "text")
        messages.append({"role": "assistant", "content": reply.content})
        messages.append({"role": "user", "content": [run_tool(call) for call in calls]})
    raise RuntimeError(f"no answer after {MAX_MODEL_CALLS} model calls")


def main() -> None:
    document = json.load(sys.stdin)
    prompt = document["prompt"]
    client = anthropic.Anthropic()  # the base URL and key come from the environment
    try:
        print(answer(client, prompt["system"], prompt["user"]))
    except (anthropic.APIError, RuntimeError) as exc:
        # goalctl shows the tail of stderr as the case's error; a budget refusal says which
        # constraint stopped the run.
        sys.exit(f"claude_tool_agent: {exc}")


if __name__ == "__main__":
    main()
