"""The phased agent: initialize → execute → report → cleanup, with status callbacks."""

from __future__ import annotations

import abc
import functools
from importlib import resources
from typing import ClassVar

from goalctl.config_schema import AgentManifest


class PhasedAgent(abc.ABC):
    """Base of every agent. Subclasses name their manifest file and implement the phases."""

    manifest_resource: ClassVar[str]
    """File name of the agent's manifest inside the ``goalctl.agents`` package (or the
    subclass's own package)."""

    @classmethod
    @functools.cache
    def manifest(cls) -> AgentManifest:
        package = cls.__module__.rpartition(".")[0] or cls.__module__
        text = resources.files(package).joinpath(cls.manifest_resource).read_text(encoding="utf-8")
        return AgentManifest.from_yaml(text, source=f"{package}/{cls.manifest_resource}")
