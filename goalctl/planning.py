"""Getting scenarios ready to run: options, resolved config, providers (no work done yet)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalctl.metering import Route
from goalctl.providers.base import Provider, ProviderContext
from goalctl.redaction import Redactor
from goalctl.scenario.model import Scenario

DEFAULT_CONCURRENCY = 32
"""Cases in flight at once: enough to hide API latency, few enough for common rate limits."""
DEFAULT_MODEL = "claude-sonnet-4-5"


@dataclass(frozen=True)
class RunOptions:
    """How ``goalctl run`` was asked to run (shared by every scenario of the command)."""

    provider: str | None = None
    model: str | None = None
    config_overrides: tuple[str, ...] = ()
    config_values: dict[str, Any] = field(default_factory=dict)
    """Values from ``--config-file``, applied before ``--config`` pairs."""
    concurrency: int = DEFAULT_CONCURRENCY
    record: bool = False
    report_dir: Path | None = None
    include_drafts: bool = False
    shard: tuple[int, int] | None = None
    """``(i, n)``: run only the i-th of n stable shares of the scenarios."""

    def to_state(self, scenario: Scenario) -> dict[str, Any]:
        """What a worker needs to run (or resume) exactly as asked; kept in ``state.json``."""
        return {
            "concurrency": self.concurrency,
            "record": self.record,
            "report_dir": str(self.report_dir.resolve()) if self.report_dir else None,
            "scenario_sha256": scenario_digest(scenario.path),
        }

    @classmethod
    def from_state(cls, options: dict[str, Any]) -> RunOptions:
        report_dir = options.get("report_dir")
        return cls(
            concurrency=int(options.get("concurrency", DEFAULT_CONCURRENCY)),
            record=bool(options.get("record", False)),
            report_dir=Path(report_dir) if report_dir else None,
        )


def scenario_digest(path: Path) -> str:
    """Fingerprint of a scenario file: a run resumes only the scenario it started with."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Plan:
    """A scenario made ready to run: providers created, config resolved (no work done yet)."""

    scenario: Scenario
    config: dict[str, Any]
    provider_name: str
    agent_route: Route
    judge_route: Route


def plan_scenario(
    scenario: Scenario,
    options: RunOptions,
    *,
    config: dict[str, Any] | None = None,
) -> Plan:
    """Resolve config and create providers; fails (e.g. a missing API key) before any work.

    ``config`` is an already resolved config (a resumed run keeps the one it started with).
    """
    from goalctl.providers.registry import check_provider_name, create_provider
    from goalctl.providers.replay import (
        OFFLINE_PROVIDERS,
        RecordingProvider,
        cassette_path,
        refuse_offline_recording,
    )
    from goalctl.rendering import resolve_config_with

    if config is None:
        config = resolve_config_with(scenario, options.config_values, options.config_overrides)
    provider_name = options.provider or scenario.spec.provider
    check_provider_name(provider_name)
    if options.record:
        refuse_offline_recording(provider_name, scenario.path)
    model = options.model or scenario.spec.model or DEFAULT_MODEL
    context = ProviderContext(
        scenario_path=scenario.path,
        model=model,
        options={**scenario.spec.provider_options, "case_order": _case_names(scenario)},
        responses=tuple(scenario.spec.responses),
        case_responses={
            scenario.case_name(i): tuple(c.responses)
            for i, c in enumerate(scenario.cases)
            if c.responses
        },
        redact=tuple(scenario.spec.redact),
    )
    provider: Provider = create_provider(provider_name, context)
    redactor = Redactor(scenario.spec.redact)
    if options.record:
        provider = RecordingProvider(provider, cassette_path(scenario.path), redactor)
    agent_route = Route(provider, model)
    judge_provider_name = str(config.get("judge_provider") or "") or provider_name
    judge_model = str(config.get("judge_model") or "") or model
    judge_provider = provider
    if judge_provider_name != provider_name:
        check_provider_name(judge_provider_name)
        live_judge = judge_provider_name not in OFFLINE_PROVIDERS
        # A replayed run makes no live call: a live judge's answers are in the cassette too.
        if not (live_judge and provider_name == "replay"):
            judge_provider = create_provider(judge_provider_name, context)
            if options.record and live_judge:
                path = cassette_path(scenario.path)
                judge_provider = RecordingProvider(judge_provider, path, redactor)
    return Plan(scenario, config, provider_name, agent_route, Route(judge_provider, judge_model))


def _case_names(scenario: Scenario) -> tuple[str, ...]:
    return tuple(scenario.case_name(i) for i in range(len(scenario.cases)))
