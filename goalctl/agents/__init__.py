"""Agents: phased classes with a manifest, found by name through the ``goalctl.agents`` group."""

from goalctl.agents.registry import agent_class, agent_manifest, agent_names

__all__ = ["agent_class", "agent_manifest", "agent_names"]
