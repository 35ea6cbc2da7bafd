"""``provider_options``: each provider declares the options it takes, with types and ranges.

A provider module declares ``OPTIONS`` next to its factory, in the vocabulary of an agent's
``config_schema`` (type, default, min, max, enum, description), so the same rules, messages and
did-you-mean apply to both. ``goalctl validate`` reports a scenario's bad options at their line;
a factory resolves them again, so library users get the same refusals.

Every number a provider sleeps or retries by is bounded here: a scenario from a stranger must
not be able to make goalctl wait for hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from goalctl.config_schema import ConfigField, ConfigIssue, resolve_config
from goalctl.errors import UsageError

OptionSchema = Mapping[str, ConfigField]


def declare(**fields: dict[str, Any]) -> dict[str, ConfigField]:
    """Build a provider's ``OPTIONS`` from ``config_schema``-style mappings."""
    return {name: ConfigField.model_validate(spec) for name, spec in fields.items()}


def declared_options(provider: str) -> OptionSchema | None:
    """The options ``provider`` declares, or None when it declares none (then they go
    unchecked: a third-party provider may predate declarations)."""
    from goalctl.providers.registry import provider_factory

    factory = provider_factory(provider)
    module = import_module(factory.__module__)
    options = getattr(module, "OPTIONS", None)
    return options if isinstance(options, Mapping) else None


def option_issues(schema: OptionSchema, values: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem with ``values`` against ``schema``, unknown keys with a did-you-mean."""
    return [
        ConfigIssue(issue.key, issue.message, "this provider takes no options")
        if issue.remedy == "this agent takes no config"
        else issue
        for issue in resolve_config(schema, values).issues
    ]


def resolve_options(
    provider: str, schema: OptionSchema, values: Mapping[str, Any]
) -> dict[str, Any]:
    """``values`` with defaults applied; :class:`UsageError` naming every bad option."""
    resolved = resolve_config(schema, values).values
    issues = option_issues(schema, values)
    if issues:
        listed = "; ".join(f"provider_options.{issue}" for issue in issues)
        raise UsageError(f"{provider}: {listed}")
    return resolved


def options_for(provider: str, declared_for: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario's options that apply to ``provider``.

    Options are written for the scenario's own provider (``declared_for``); when ``--provider``
    runs it on another one, only the options that provider declares are passed on.
    """
    if provider == declared_for:
        return dict(values)
    schema = declared_options(provider)
    if schema is None:
        return {}
    return {key: value for key, value in values.items() if key in schema}
