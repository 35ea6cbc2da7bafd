"""A refund-policy agent as a Python function of the project, for goalctl's ``python`` agent.

``config: {callable: examples.agents.py_agent:answer}`` names it (a module path from the
project root, the folder of the nearest ``pyproject.toml`` or ``.git``); only functions marked
``@goalctl.agent`` can be named. goalctl calls it once per case with the keyword arguments it
asks for — here the rendered ``prompt`` and ``system``, the case ``input`` and ``gateway`` —
and takes what it returns as the output.

It looks the policy up itself (a retrieval the model never sees as a tool call, so it is
returned as a trajectory step in :class:`goalctl.AgentResult`) and asks Claude through
``gateway``, which points the SDK at goalctl's model gateway with this case's key: the call is
metered and budgeted, lands in the transcript, and is answered offline by the scenario's
scripted ``responses``.
"""

from __future__ import annotations

import re
from typing import Any

import anthropic

import goalctl

MODEL = "claude-haiku-4-5"  # the gateway answers with the scenario's model whatever this says
POLICY = {
    "returns": "Unopened items can be returned within 30 days of delivery for a full refund.",
    "opened": "Opened items can be returned within 14 days; a 10% restocking fee applies.",
    "damaged": "Items damaged on arrival are replaced or refunded in full at any time.",
    "refunds": "Refunds reach the original payment method within 5 business days.",
}


def retrieve(question: str) -> list[str]:
    """The policy sections whose topic the question mentions (all of them when none)."""
    words = set(re.findall(r"[a-z]+", question.lower()))
    found = [topic for topic in POLICY if topic.rstrip("s") in {w.rstrip("s") for w in words}]
    return found or list(POLICY)


@goalctl.agent
def answer(
    input: dict[str, Any], prompt: str, system: str, gateway: goalctl.GatewayAccess
) -> goalctl.AgentResult:
    topics = retrieve(input["question"])
    excerpts = "\n".join(f"- {POLICY[topic]}" for topic in topics)
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.api_key) as client:
        reply = client.messages.create(
            model=MODEL,
            max_tokens=300,
            system=system,
            messages=[{"role": "user", "content": f"{prompt}\n\nPolicy:\n{excerpts}"}],
        )
    text = "".join(block.text for block in reply.content if block.type == "text")
    step = {"tool": "retrieve_policy", "args": {"question": input["question"]}, "result": topics}
    return goalctl.AgentResult(output=text, trajectory=[step])
