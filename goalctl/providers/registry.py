"""Provider lookup by name through the ``goalctl.providers`` entry-point group.

An entry point names a factory ``create(context: ProviderContext) -> Provider``; factories
import their SDKs, so this module stays light.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from goalctl.plugins import PluginRegistry
from goalctl.providers.base import Provider, ProviderContext

PROVIDERS = PluginRegistry(
    "goalctl.providers",
    "provider",
    {
        "anthropic": "goalctl.providers.anthropic:create",
        "openai": "goalctl.providers.openai:create",
        "scripted": "goalctl.providers.scripted:create",
        "replay": "goalctl.providers.replay:create",
    },
)

Factory = Callable[[ProviderContext], Provider]


def provider_names() -> list[str]:
    return PROVIDERS.names()


def check_provider_name(name: str) -> None:
    PROVIDERS.check(name)


@functools.cache
def provider_factory(name: str) -> Factory:
    factory: Factory = PROVIDERS.load(name)
    return factory


def create_provider(name: str, context: ProviderContext) -> Provider:
    """A ready provider named ``name`` for one scenario."""
    return provider_factory(name)(context)
