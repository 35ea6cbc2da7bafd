"""Plugins found by name through an entry-point group, built-ins included.

goalctl's own agents and providers register through the same groups as third-party ones
(see ``pyproject.toml``); the built-in table only stands in when goalctl runs from a source
tree without installed metadata. Loading imports the target module, so it happens on demand.
"""

from __future__ import annotations

import difflib
import functools
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from goalctl.errors import UsageError


class PluginRegistry:
    """Names → ``module:attribute`` targets of one entry-point group."""

    def __init__(self, group: str, kind: str, builtins: dict[str, str]) -> None:
        self.group = group
        self.kind = kind
        self._builtins = dict(builtins)

    @functools.cached_property
    def targets(self) -> dict[str, str]:
        found = dict(self._builtins)
        found.update({ep.name: ep.value for ep in entry_points(group=self.group)})
        return found

    def names(self) -> list[str]:
        return sorted(self.targets)

    def remedy(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=1)
        return f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(self.names())

    def check(self, name: str) -> None:
        """:class:`UsageError` naming the closest known name when ``name`` is unknown."""
        if name not in self.targets:
            raise UsageError(f"unknown {self.kind} {name!r} ({self.remedy(name)})")

    def load(self, name: str) -> Any:
        self.check(name)
        target = self.targets[name]
        module_name, _, attribute = target.partition(":")
        try:
            return getattr(import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise UsageError(
                f"{self.kind} {name!r} cannot be loaded from {target!r}: {exc}"
            ) from None
