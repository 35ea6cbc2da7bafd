"""Provider lookup by name through the ``goalctl.providers`` entry-point group.

An entry point names a factory ``create(context: ProviderContext) -> Provider``; built-ins
register through the same group. Factories import their SDKs, so this module stays light.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points

from goalctl.errors import UsageError
from goalctl.providers.base import Provider, ProviderContext

GROUP = "goalctl.providers"
_BUILTINS = {
    "anthropic": "goalctl.providers.anthropic:create",
    "scripted": "goalctl.providers.scripted:create",
    "replay": "goalctl.providers.replay:create",
}

Factory = Callable[[ProviderContext], Provider]


@functools.cache
def _targets() -> dict[str, str]:
    found = dict(_BUILTINS)
    found.update({ep.name: ep.value for ep in entry_points(group=GROUP)})
    return found


def provider_names() -> list[str]:
    return sorted(_targets())


def check_provider_name(name: str) -> None:
    if name not in _targets():
        close = difflib.get_close_matches(name, provider_names(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(provider_names())
        raise UsageError(f"unknown provider {name!r} ({hint})")


@functools.cache
def provider_factory(name: str) -> Factory:
    check_provider_name(name)
    module_name, _, attribute = _targets()[name].partition(":")
    try:
        factory: Factory = getattr(import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"provider {name!r} cannot be loaded: {exc}") from None
    return factory


def create_provider(name: str, context: ProviderContext) -> Provider:
    """A ready provider named ``name`` for one scenario."""
    return provider_factory(name)(context)
