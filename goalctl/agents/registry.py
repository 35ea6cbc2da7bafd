"""Agent lookup by name through the ``goalctl.agents`` entry-point group."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from goalctl.plugins import PluginRegistry

if TYPE_CHECKING:
    from goalctl.agents.base import PhasedAgent
    from goalctl.agents.manifest import AgentManifest

AGENTS = PluginRegistry(
    "goalctl.agents",
    "agent",
    {
        "llm": "goalctl.agents.llm:LLMAgent",
        "data-collector": "goalctl.agents.data_collector:DataCollectorAgent",
        "command": "goalctl.agents.command:CommandAgent",
        "python": "goalctl.agents.python:PythonAgent",
        "http": "goalctl.agents.http:HttpAgent",
    },
)


def agent_names() -> list[str]:
    """Names of every installed agent, sorted."""
    return AGENTS.names()


def unknown_agent_remedy(name: str) -> str:
    return AGENTS.remedy(name)


@functools.cache
def agent_class(name: str) -> type[PhasedAgent]:
    """The agent class registered as ``name``; :class:`UsageError` when there is none."""
    loaded: type[PhasedAgent] = AGENTS.load(name)
    return loaded


def agent_manifest(name: str) -> AgentManifest:
    """The manifest (name, version, capabilities, config_schema) of agent ``name``."""
    return agent_class(name).manifest()
