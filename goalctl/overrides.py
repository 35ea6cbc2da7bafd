"""``--config`` and ``--config-file`` over one scenario or many.

Each key goes to the scenarios whose agent declares it in its ``config_schema``. A key that
only some of the scenarios take is applied to those and told once for the others, as a
notice: ``goalctl run --config max_attempts=3 scenarios`` over LLM and command agents is one
sensible command, and refusing it would force one command per agent kind. A key that none of
them takes is a typo, refused with exit 2. Every error names the scenario it applies to and
whether the value came from ``--config`` or ``--config-file``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from goalctl.errors import ConfigError

if TYPE_CHECKING:
    from goalctl.config_schema import ConfigField
    from goalctl.scenario.model import Scenario

_MAX_NAMED = 5
"""Scenarios named in a notice before "and N more"."""


@dataclass(frozen=True)
class ConfigOverrides:
    """Config values given on the command line, for every scenario of the command."""

    values: Mapping[str, Any] = field(default_factory=dict)
    """From ``--config-file``, applied before the pairs."""
    pairs: Sequence[str] = ()
    """``--config KEY=VALUE``, as typed; a later pair of a key wins."""
    file: str | None = None
    """The ``--config-file`` the values came from, for messages."""

    def __bool__(self) -> bool:
        return bool(self.values or self.pairs)

    def spread(self, found: Sequence[Scenario], runnable: Sequence[Scenario]) -> list[str]:
        """Refuse a key that no agent of the scenarios ``found`` declares; return one notice
        per key that some of the ``runnable`` scenarios do not take.

        ``found`` is every scenario the command named, before drafts and other shards are
        set aside: a key is not a typo because this shard's scenarios happen not to take it.
        """
        if not self or not found:
            return []
        if len(found) == 1:
            self.resolve(found[0])  # strict: every problem of the one scenario at once
            return []
        sources = self._sources()
        schemas = {id(scenario): _schema(scenario) for scenario in found}
        errors = []
        for key, source in sources.items():
            if any(key in schemas[id(scenario)] for scenario in found):
                continue
            known = sorted({name for schema in schemas.values() for name in schema})
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "`goalctl agents NAME` lists keys"
            errors.append(
                f"{source}: no agent of the {len(found)} scenarios declares '{key}' ({hint})"
            )
        if errors:
            raise ConfigError("\n".join(errors))
        notices = []
        for key, source in sources.items():
            left_out = [s for s in runnable if key not in _schema(s)]
            if left_out:
                notices.append(_not_taken_notice(key, source, left_out, len(runnable)))
        return notices

    def resolve(self, scenario: Scenario, *, strict: bool = True) -> dict[str, Any]:
        """The scenario's config with the overrides applied, checked against its agent's
        ``config_schema``. A key the agent does not declare is an error when ``strict``, else
        passed over (:meth:`spread` has told of it)."""
        if not self:
            return dict(scenario.config)
        from goalctl.config_schema import parse_cli_value, resolve_config

        schema = _schema(scenario)
        sources = self._sources()
        errors: list[str] = []
        overrides: dict[str, Any] = {}
        for key, value in self.values.items():
            if key in schema:
                overrides[key] = value
            elif strict:
                errors.append(_unknown(scenario, key, self._file_label(), list(schema)))
        for pair, key, text in self._pairs():
            if key not in schema:
                if strict:
                    errors.append(_unknown(scenario, key, f"--config {pair}", list(schema)))
                continue
            try:
                overrides[key] = parse_cli_value(schema[key], text)
            except ValueError as exc:
                errors.append(f"{scenario.path}: --config {pair}: {exc}")
        resolved, issues = resolve_config(schema, {**scenario.spec.config, **overrides})
        for issue in issues:
            source = sources.get(issue.key, "config")
            if source.startswith("--config "):  # a pair names its key already
                text = issue.message + (f" ({issue.remedy})" if issue.remedy else "")
            else:
                text = str(issue)
            errors.append(f"{scenario.path}: {source}: {text}")
        if errors:
            raise ConfigError("\n".join(errors))
        return resolved

    def _file_label(self) -> str:
        return f"--config-file {self.file}" if self.file else "--config-file"

    def _pairs(self) -> list[tuple[str, str, str]]:
        """(pair, key, value text) of each ``--config`` pair; a malformed pair is refused."""
        parsed, errors = [], []
        for pair in self.pairs:
            key, sep, text = pair.partition("=")  # the first "=": values may hold "=" too
            if not sep or not key:
                errors.append(f"--config expects KEY=VALUE, got {pair!r}")
            else:
                parsed.append((pair, key, text))
        if errors:
            raise ConfigError("\n".join(errors))
        return parsed

    def _sources(self) -> dict[str, str]:
        """Each key overridden and where its value comes from: a pair wins over the file."""
        sources = {str(key): self._file_label() for key in self.values}
        for pair, key, _ in self._pairs():
            sources[key] = f"--config {pair}"
        return sources


def _schema(scenario: Scenario) -> Mapping[str, ConfigField]:
    from goalctl.agents.registry import agent_manifest

    return agent_manifest(scenario.spec.agent).config_schema


def _unknown(scenario: Scenario, key: str, source: str, known: list[str]) -> str:
    from goalctl.config_schema import _unknown_key_remedy

    remedy = _unknown_key_remedy(key, known)
    agent = scenario.spec.agent
    return f"{scenario.path}: {source}: unknown key '{key}' for agent {agent} ({remedy})"


def _not_taken_notice(key: str, source: str, left_out: Sequence[Scenario], total: int) -> str:
    named = ", ".join(str(s.path) for s in left_out[:_MAX_NAMED])
    if len(left_out) > _MAX_NAMED:
        named += f" and {len(left_out) - _MAX_NAMED} more"
    agents = sorted({s.spec.agent for s in left_out})
    whose = f"agent{'s' if len(agents) > 1 else ''} {', '.join(agents)}"
    taking = total - len(left_out)
    return (
        f"{source}: applied to {taking} of {total} scenarios; not to {named} "
        f"({whose} declare{'' if len(agents) > 1 else 's'} no '{key}')"
    )
