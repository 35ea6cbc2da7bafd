"""The goal-seeking LLM agent."""

from __future__ import annotations

from goalctl.agents.base import PhasedAgent


class LLMAgent(PhasedAgent):
    """Renders system and user prompts per case, calls the provider, evaluates, retries."""

    manifest_resource = "llm.yaml"
