"""Getting scenarios ready to run: options, resolved config, providers (no work done yet)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goalctl.config.prices import Price, PriceTable, price_remedy
from goalctl.errors import ConfigError, UsageError
from goalctl.metering import Clock, Route
from goalctl.overrides import ConfigOverrides
from goalctl.providers.base import Provider, ProviderContext
from goalctl.redaction import Redactor
from goalctl.scenario.model import Scenario
from goalctl.state import RunState, RunStatus

if TYPE_CHECKING:
    from goalctl.baselines import BaselineSettings, Found
    from goalctl.providers.limiter import RouteLimits

DEFAULT_CONCURRENCY = 256  # goalctl.providers.limiter.DEFAULT_CEILING, without importing it
"""The ceiling on cases in flight at once, and on requests in flight to one provider route,
whose adaptive limit starts lower (:data:`goalctl.providers.limiter.INITIAL_LIMIT`) and grows
while the API keeps up."""
PROCESS_AGENT_CONCURRENCY = 32
"""The default ceiling when a scenario's agent starts a process per case (``command``): 256
Python processes at once would not fit in a small machine's memory."""
PROCESS_AGENTS = frozenset({"command"})
DEFAULT_MODEL = "claude-sonnet-4-5"


@dataclass(frozen=True)
class RunOptions:
    """How ``goalctl run`` was asked to run (shared by every scenario of the command)."""

    provider: str | None = None
    model: str | None = None
    config_overrides: tuple[str, ...] = ()
    config_values: dict[str, Any] = field(default_factory=dict)
    """Values from ``--config-file``, applied before ``--config`` pairs."""
    config_file: str | None = None
    """The ``--config-file`` the values came from, for messages."""
    concurrency: int = DEFAULT_CONCURRENCY
    concurrency_given: bool = False
    """True when ``--concurrency`` or the project's ``concurrency`` set it (not the default)."""
    record: bool = False
    report_dir: Path | None = None
    html_dir: Path | None = None
    """``--html``: each run's HTML report is also written here."""
    include_drafts: bool = False
    shard: tuple[int, int] | None = None
    """``(i, n)``: run only the i-th of n stable shares of the scenarios."""
    prices: dict[str, Price] = field(default_factory=dict)
    """The project's ``prices``; a scenario's ``pricing`` wins over them."""
    default_provider: str | None = None
    """The project's provider, for scenarios that name none (``provider`` wins over both)."""
    default_model: str | None = None
    """The project's model, for scenarios that name none (``model`` wins over both)."""
    judge_model: str | None = None
    """The project's judge model, when a scenario's config names none."""
    redact: tuple[str, ...] = ()
    """The project's ``redact`` patterns, applied with each scenario's own."""
    cases: tuple[str, ...] = ()
    """``--case`` glob patterns: only the cases whose names match run (all when empty)."""
    excluded: Callable[[Path], bool] | None = None
    """Files left out when folders are scanned for scenarios (the project's ``exclude``)."""
    baseline: BaselineSettings | None = None
    """``--baseline``: compare each run with its baseline (None: no comparison)."""
    trials: int | None = None
    """``--trials N``: trials per case, over the scenario's ``trials`` (a case's own wins)."""
    early_stop: bool = True
    """False with ``--no-early-stop``: every case runs all its trials."""
    models: tuple[str, ...] = ()
    """``--model a,b``: every scenario runs once per model (over a scenario's ``models``);
    in a resumed run's state, the models its run was compared with."""
    limits: RouteLimits = field(default_factory=lambda: _route_limits(), compare=False, repr=False)
    """The adaptive in-flight limit of each provider route, shared by every scenario."""

    def overrides(self) -> ConfigOverrides:
        """``--config-file`` values and ``--config`` pairs, as applied to each scenario."""
        return ConfigOverrides(self.config_values, self.config_overrides, self.config_file)

    def to_state(self, scenario: Scenario) -> dict[str, Any]:
        """What a worker needs to run (or resume) exactly as asked; kept in ``state.json``."""
        state: dict[str, Any] = {
            "concurrency": self.concurrency,
            "concurrency_given": self.concurrency_given,
            "record": self.record,
            "report_dir": str(self.report_dir.resolve()) if self.report_dir else None,
            "scenario_sha256": scenario_digest(scenario.path),
            "prices": {name: [p.input, p.output] for name, p in self.prices.items()},
            "judge_model": self.judge_model,
            "redact": list(self.redact),
            "cases": list(self.cases),
            "baseline": self.baseline.to_state() if self.baseline is not None else None,
            "trials": self.trials,
            "early_stop": self.early_stop,
        }
        if self.html_dir is not None:  # only then: state.json stays as it was without --html
            state["html_dir"] = str(self.html_dir.resolve())
        return state

    @classmethod
    def from_state(cls, options: dict[str, Any]) -> RunOptions:
        report_dir = options.get("report_dir")
        html_dir = options.get("html_dir")
        prices = options.get("prices") or {}
        baseline = options.get("baseline")
        settings = None
        if isinstance(baseline, dict):
            from goalctl.baselines import BaselineSettings

            settings = BaselineSettings.from_state(baseline)
        return cls(
            concurrency=int(options.get("concurrency", DEFAULT_CONCURRENCY)),
            # A run saved before the ceiling adapted had its concurrency given or 32: the same.
            concurrency_given=options.get("concurrency_given") is not False,
            record=bool(options.get("record", False)),
            report_dir=Path(report_dir) if report_dir else None,
            html_dir=Path(html_dir) if isinstance(html_dir, str) and html_dir else None,
            prices={name: Price(float(i), float(o)) for name, (i, o) in prices.items()},
            judge_model=options.get("judge_model"),
            redact=tuple(options.get("redact") or ()),
            cases=tuple(p for p in options.get("cases") or () if isinstance(p, str)),
            baseline=settings,
            trials=_trials(options.get("trials")),
            early_stop=options.get("early_stop") is not False,
            models=tuple(m for m in options.get("models") or () if isinstance(m, str)),
        )


def effective_concurrency(options: RunOptions, scenarios: Sequence[Scenario]) -> int:
    """The command's ceiling: the one given, else the default for its agents."""
    if options.concurrency_given:
        return options.concurrency
    if any(scenario.spec.agent in PROCESS_AGENTS for scenario in scenarios):
        return min(options.concurrency, PROCESS_AGENT_CONCURRENCY)
    return options.concurrency


def _route_limits() -> RouteLimits:
    from goalctl.providers.limiter import RouteLimits

    return RouteLimits()


def _trials(value: Any) -> int | None:
    """A saved ``--trials``; anything else (an older state, a hand edit) is no ``--trials``."""
    from goalctl.trials import MAX_TRIALS

    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_TRIALS:
        return value
    return None


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
    prices: PriceTable = field(default_factory=PriceTable.for_run)
    baseline: Found | None = None
    """The baseline the run is compared with (``--baseline``), read before any work."""
    compared: tuple[str, ...] = ()
    """The models this scenario runs with, one run each, when it runs with several."""


def compared_models(scenario: Scenario, options: RunOptions) -> tuple[str, ...]:
    """The models a scenario runs with, one run each: ``--model a,b``, else the scenario's
    ``models`` unless one ``--model`` is given (it wins); empty for a run of one model."""
    models = options.models or (() if options.model else tuple(scenario.spec.models or ()))
    return models if len(models) > 1 else ()


def plan_scenario(
    scenario: Scenario,
    options: RunOptions,
    *,
    config: dict[str, Any] | None = None,
    compared: tuple[str, ...] = (),
    model: str | None = None,
) -> Plan:
    """Resolve config and create providers; fails (e.g. a missing API key) before any work.

    ``config`` is an already resolved config (a resumed run keeps the one it started with;
    a command over many scenarios resolves them all first, see :func:`resolve_configs`).
    With ``compared`` (the models a scenario runs with, one run each) this plan runs
    ``model``, one of them; the judge keeps the model the scenario names (or the project's,
    or the default), so that every model is judged alike. A resumed run of a comparison has
    its model in ``options.model`` and its judge's in ``options.judge_model``.
    """
    from goalctl.agents.registry import agent_class
    from goalctl.providers.options import options_for
    from goalctl.providers.registry import check_provider_name, create_provider
    from goalctl.providers.replay import (
        OFFLINE_PROVIDERS,
        RecordingProvider,
        cassette_path,
        refuse_offline_recording,
    )

    if config is None:
        config = options.overrides().resolve(scenario)
    baseline = None
    if options.baseline is not None:
        from goalctl.baselines import find_baseline

        baseline = find_baseline(scenario, options.baseline.file, options.baseline.folders)
    spec = scenario.spec
    agent_class(spec.agent).preflight(scenario, config)
    # A scenario that names its provider means it; the project's stands in for one that does not.
    named = spec.provider if "provider" in spec.model_fields_set else None
    provider_name = options.provider or named or options.default_provider or spec.provider
    check_provider_name(provider_name)
    if options.record:
        refuse_offline_recording(provider_name, scenario.path)
    base = options.model or spec.model or options.default_model or DEFAULT_MODEL
    model = model or base
    judge_provider_name = str(config.get("judge_provider") or "") or provider_name
    judge_model = str(config.get("judge_model") or "") or options.judge_model or base
    pricing = {name: Price(p.input, p.output) for name, p in scenario.spec.pricing.items()}
    prices = PriceTable.for_run(pricing, options.prices)
    _require_prices(scenario, prices, model, judge_model)
    redactor = redactor_for(scenario, options)
    context = ProviderContext(
        scenario_path=scenario.path,
        model=model,
        options=options_for(provider_name, scenario.spec.provider, scenario.spec.provider_options),
        responses=tuple(scenario.spec.responses),
        case_responses={
            scenario.case_name(i): tuple(c.responses)
            for i, c in enumerate(scenario.cases)
            if c.responses
        },
        case_order=_case_names(scenario),
        redact=tuple(redactor.patterns),
        concurrency=options.concurrency,
        limits=options.limits,
    )
    provider: Provider = create_provider(provider_name, context)
    if options.record:
        provider = RecordingProvider(provider, cassette_path(scenario.path), redactor)
    agent_route = Route(provider, model)
    judge_provider = provider
    if judge_provider_name != provider_name:
        check_provider_name(judge_provider_name)
        live_judge = judge_provider_name not in OFFLINE_PROVIDERS
        # A replayed run makes no live call: a live judge's answers are in the cassette too.
        if not (live_judge and provider_name == "replay"):
            judge_options = options_for(
                judge_provider_name, scenario.spec.provider, scenario.spec.provider_options
            )
            judge_provider = create_provider(
                judge_provider_name, replace(context, options=judge_options)
            )
            if options.record and live_judge:
                path = cassette_path(scenario.path)
                judge_provider = RecordingProvider(judge_provider, path, redactor)
    judge_route = Route(judge_provider, judge_model)
    if compared and model not in compared:
        compared = ()  # a resumed run given another --model is not part of a comparison
    return Plan(
        scenario,
        config,
        provider_name,
        agent_route,
        judge_route,
        prices,
        baseline=baseline,
        compared=compared,
    )


def resolve_configs(scenarios: Sequence[Scenario], options: RunOptions) -> list[dict[str, Any]]:
    """The config of each scenario, overrides applied to those whose agent takes them; one
    :class:`ConfigError` lists the problems of every scenario."""
    overrides = options.overrides()
    configs, errors = [], []
    for scenario in scenarios:
        try:
            configs.append(overrides.resolve(scenario, strict=False))
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    return configs


def redactor_for(scenario: Scenario, options: RunOptions) -> Redactor:
    """The project's ``redact`` patterns with the scenario's own."""
    return Redactor([*options.redact, *scenario.spec.redact])


def _require_prices(scenario: Scenario, prices: PriceTable, model: str, judge_model: str) -> None:
    """Prices fail closed: checking ``cost_usd`` with a model that has no price is refused
    here, before any call, rather than comparing a budget against a cost of $0."""
    reader = _cost_reader(scenario)
    if reader is None:
        return
    models = [model]
    if judge_model != model and _uses_judge(scenario):
        models.append(judge_model)
    for name in models:
        if prices.price_of(name) is None:
            what, source = reader
            raise UsageError(
                f"{scenario.path}: model {name!r} has no price, so {what} ({source}) cannot be "
                f"checked; {price_remedy(name)}"
            )


def _cost_reader(scenario: Scenario) -> tuple[str, str] | None:
    """The first constraint or custom criterion whose expression reads ``cost_usd``."""
    from goalctl.errors import ExpressionError
    from goalctl.expressions import compile_expression
    from goalctl.goal import Metric

    goal = scenario.goal
    checks = [(f"constraint {c.id!r}", c.check) for c in goal.constraints]
    checks += [
        (f"criterion {c.id!r}", c.check) for c in goal.success_criteria if c.metric is Metric.CUSTOM
    ]
    for what, source in checks:
        if not source or "cost_usd" not in source:
            continue
        try:
            if "cost_usd" in compile_expression(source).names:
                return what, source
        except ExpressionError:
            continue
    return None


def _uses_judge(scenario: Scenario) -> bool:
    from goalctl.goal import Metric

    goal = scenario.goal
    return any(c.metric is Metric.LLM_JUDGE for c in goal.success_criteria) or any(
        (c.check or "").strip() == "llm_judge" for c in goal.constraints
    )


def _case_names(scenario: Scenario) -> tuple[str, ...]:
    return tuple(scenario.case_name(i) for i in range(len(scenario.cases)))


def initial_state(plan: Plan, options: RunOptions, run_id: str, clock: Clock) -> RunState:
    """The state of a run that has not started yet."""
    goal = plan.scenario.goal
    return RunState(
        run_id=run_id,
        goal_id=goal.id,
        goal_version=goal.version,
        goal_name=goal.name,
        scenario=str(plan.scenario.path.resolve()),
        status=RunStatus.PENDING,
        created_at=clock.now().isoformat(),
        started_at=clock.now().isoformat(),
        provider=plan.provider_name,
        model=plan.agent_route.model,
        agent=plan.scenario.spec.agent,
        config=dict(plan.config),
        cases_total=len(plan.scenario.cases),
        options=options.to_state(plan.scenario) | _compared_state(plan),
    )


def _compared_state(plan: Plan) -> dict[str, Any]:
    """A compared run resumes as one of its comparison, judged by the same judge model."""
    if not plan.compared:
        return {}
    return {"models": list(plan.compared), "judge_model": plan.judge_route.model}
