"""Agent lookup by name through the ``goalctl.agents`` entry-point group.

Built-in agents register through the same group in goalctl's own ``pyproject.toml``; the table
below only stands in when goalctl runs from a source tree without installed metadata.
"""

from __future__ import annotations

import difflib
import functools
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from goalctl.errors import UsageError

if TYPE_CHECKING:
    from goalctl.agents.base import PhasedAgent
    from goalctl.agents.manifest import AgentManifest

GROUP = "goalctl.agents"
_BUILTINS = {
    "llm": "goalctl.agents.llm:LLMAgent",
    "data-collector": "goalctl.agents.data_collector:DataCollectorAgent",
}


@functools.cache
def _targets() -> dict[str, str]:
    found = dict(_BUILTINS)
    found.update({ep.name: ep.value for ep in entry_points(group=GROUP)})
    return found


def agent_names() -> list[str]:
    """Names of every installed agent, sorted."""
    return sorted(_targets())


def unknown_agent_remedy(name: str) -> str:
    close = difflib.get_close_matches(name, agent_names(), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "known agents: " + ", ".join(agent_names())


@functools.cache
def agent_class(name: str) -> type[PhasedAgent]:
    """The agent class registered as ``name``; :class:`UsageError` when there is none."""
    target = _targets().get(name)
    if target is None:
        raise UsageError(f"unknown agent {name!r} ({unknown_agent_remedy(name)})")
    module_name, _, attribute = target.partition(":")
    try:
        loaded = getattr(import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"agent {name!r} cannot be loaded from {target!r}: {exc}") from None
    return loaded  # type: ignore[no-any-return]


def agent_manifest(name: str) -> AgentManifest:
    """The manifest (name, version, capabilities, config_schema) of agent ``name``."""
    return agent_class(name).manifest()
