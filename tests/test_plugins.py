"""Agents and providers are found through entry points, built-ins included."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from goalctl.errors import UsageError
from goalctl.plugins import PluginRegistry


def test_builtins_register_through_the_installed_groups() -> None:
    assert {ep.name for ep in entry_points(group="goalctl.agents")} >= {"llm", "data-collector"}
    assert {ep.name for ep in entry_points(group="goalctl.providers")} >= {
        "anthropic",
        "scripted",
        "replay",
    }


def test_a_third_party_plugin_is_found_and_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = EntryPoint("echo", "goalctl.providers.scripted:ScriptedProvider", "test.group")
    monkeypatch.setattr(
        "goalctl.plugins.entry_points", lambda group: [plugin] if group == "test.group" else []
    )
    registry = PluginRegistry("test.group", "provider", {"builtin": "goalctl.errors:UsageError"})
    assert registry.names() == ["builtin", "echo"]
    from goalctl.providers.scripted import ScriptedProvider

    assert registry.load("echo") is ScriptedProvider


def test_unknown_and_unloadable_plugins_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("goalctl.plugins.entry_points", lambda group: [])
    registry = PluginRegistry("test.group", "agent", {"broken": "goalctl.nowhere:Thing"})
    with pytest.raises(UsageError, match=r"unknown agent 'brokn' \(did you mean 'broken'\?\)"):
        registry.load("brokn")
    with pytest.raises(
        UsageError, match=r"agent 'broken' cannot be loaded from 'goalctl\.nowhere:Thing'"
    ):
        registry.load("broken")
