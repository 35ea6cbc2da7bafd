"""Checks of a scenario beyond its shape: goal rules, agent config, schemas, templates.

Each check reports located problems through the reader and carries on, so one run of
``goalctl validate`` shows everything wrong with a file. The checks of ``check`` fields and
case names are in :mod:`goalctl.scenario.criteria`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from goalctl.errors import ConfigError, GoalctlError, TemplateError
from goalctl.goal import GoalStatus, Metric, readiness_issues, structural_issues
from goalctl.scenario.criteria import check_case_names, check_checks
from goalctl.scenario.model import Case, ScenarioSpec, TemplateText
from goalctl.scenario.render import (
    LocatedTemplateError,
    case_context,
    compiled,
    render,
    render_target,
)
from goalctl.scenario.workspace_checks import check_workspace
from goalctl.templates import SharedLimitError, render_limits

if TYPE_CHECKING:
    from goalctl.agents.manifest import AgentManifest
    from goalctl.scenario.loader import _Reader


def check_scenario(
    reader: _Reader, spec: ScenarioSpec, templates: dict[str, TemplateText]
) -> dict[str, Any]:
    """Run every check; returns the resolved agent config (defaults applied)."""
    goal = spec.goal()
    for issue in structural_issues(goal) + readiness_issues(goal):
        path = _path_of(issue.key)
        reader.at(path, issue.message, issue.remedy)
    manifest, config = check_config(reader, spec.agent, spec.config)
    if manifest is not None:
        _capabilities(reader, spec, manifest)
        _workspace(reader, manifest, config)
    _provider_options(reader, spec)
    _schemas(reader, spec)
    check_checks(reader, spec)
    check_workspace(reader, spec, config)
    check_case_names(reader, [case.name for case in spec.cases])
    _flaky_cases(reader, spec)
    _judge_criteria(reader, spec)
    _templates(reader, spec, templates, config)
    from goalctl.tools.validation import check_tools, check_turns

    check_tools(reader, spec, manifest)
    check_turns(reader, spec, manifest)
    return config


def check_unbuilt(
    reader: _Reader,
    data: dict[str, Any],
    templates: dict[str, TemplateText],
    case_names: list[str | None] | None = None,
) -> None:
    """What can be checked of a file whose fields make no scenario — its config, case names
    and template syntax — so that one wrong field hides no other problem of these kinds.

    ``case_names`` are the own names of a data file's rows (its cases are not in ``data``)."""
    agent, config = data.get("agent", "llm"), data.get("config", {})
    if isinstance(agent, str) and isinstance(config, dict):
        check_config(reader, agent, config)
    cases = data.get("cases")
    if case_names is not None:
        check_case_names(reader, case_names)
    elif isinstance(cases, list):
        check_case_names(reader, [_own_name(case) for case in cases])
    for template in templates.values():
        if template.builtin:
            continue
        try:
            compiled(template)
        except LocatedTemplateError as exc:
            _template_problem(reader, template, exc, None)


def _flaky_cases(reader: _Reader, spec: ScenarioSpec) -> None:
    """Flaky cases never gate: a goal whose every case is flaky would have nothing to judge."""
    if spec.status is GoalStatus.DRAFT or not spec.cases:
        return
    if all(case.flaky for case in spec.cases):
        reader.at(
            ("cases", 0, "flaky"),
            "every case is flaky, so no case can decide whether the goal is achieved",
            "leave at least one case without `flaky: true`",
        )


def _own_name(case: object) -> str | None:
    name = case.get("name") if isinstance(case, dict) else None
    return name if isinstance(name, str) else None


def _judge_criteria(reader: _Reader, spec: ScenarioSpec) -> None:
    """A judge is a model call that costs money and may disagree with itself, so it is never
    chosen by default: front-matter criteria name their metric (body bullets, which are
    prose, default to llm_judge), and ``min_score`` is refused where no judge gives a score."""
    for index, criterion in enumerate(spec.success_criteria):
        if "metric" not in criterion.model_fields_set:
            reader.at(
                ("success_criteria", index),
                "a criterion in the front matter needs a metric",
                "add metric: llm_judge to have a judge model decide, or one of output_contains, "
                "output_equals, output_matches, json_schema, custom; only `## Success criteria` "
                "bullets default to llm_judge",
            )
        elif criterion.min_score is not None and criterion.metric is not Metric.LLM_JUDGE:
            reader.at(
                ("success_criteria", index, "min_score"),
                "min_score applies only to llm_judge criteria",
                "remove it, or use metric: llm_judge",
                key=True,
            )


def _path_of(key: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for chunk in key.replace("]", "").split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index) for index in indexes)
    return tuple(parts)


def _manifest(reader: _Reader, agent: str) -> AgentManifest | None:
    from goalctl.agents.registry import agent_manifest, agent_names, unknown_agent_remedy

    if agent not in agent_names():
        reader.at(("agent",), f"unknown agent {agent!r}", unknown_agent_remedy(agent))
        return None
    try:
        return agent_manifest(agent)
    except GoalctlError as exc:
        reader.at(("agent",), str(exc))
        return None


def check_config(
    reader: _Reader, agent: str, config: dict[str, Any]
) -> tuple[AgentManifest | None, dict[str, Any]]:
    """Resolve ``config`` against the agent's ``config_schema``, reporting every issue."""
    from goalctl.config_schema import resolve_config

    manifest = _manifest(reader, agent)
    if manifest is None:
        return None, dict(config)
    resolved, issues = resolve_config(manifest.config_schema, config)
    if not issues:
        from goalctl.agents.registry import agent_class

        issues = agent_class(agent).config_problems(resolved, reader.path)
    for issue in issues:
        path: tuple[str | int, ...] = ("config", issue.key) if issue.key else ("config",)
        reader.at(path, issue.message, issue.remedy, key=issue.message.startswith("unknown key"))
    return manifest, resolved


def _provider_options(reader: _Reader, spec: ScenarioSpec) -> None:
    """The scenario's provider is one goalctl has (``run`` refuses any other), and its options
    are what that provider declares."""
    from goalctl.providers.options import declared_options, option_issues
    from goalctl.providers.registry import PROVIDERS, provider_names

    if spec.provider not in provider_names():
        if "provider" in spec.model_fields_set:
            remedy = PROVIDERS.remedy(spec.provider)
            reader.at(("provider",), f"unknown provider {spec.provider!r}", remedy)
        return
    try:
        schema = declared_options(spec.provider)
    except GoalctlError as exc:
        reader.at(("provider",), str(exc))
        return
    if schema is None:
        return
    for issue in option_issues(schema, spec.provider_options):
        unknown = issue.message.startswith("unknown key")
        reader.at(("provider_options", issue.key), issue.message, issue.remedy, key=unknown)


def _capabilities(reader: _Reader, spec: ScenarioSpec, manifest: AgentManifest) -> None:
    provided = set(manifest.capabilities)
    for index, capability in enumerate(spec.required_capabilities):
        if capability not in provided:
            offered = ", ".join(manifest.capabilities) or "none"
            reader.at(
                ("required_capabilities", index),
                f"agent {spec.agent!r} does not provide capability {capability!r} "
                f"(it provides: {offered})",
                "choose an agent that provides it, or remove the requirement",
            )


def _workspace(reader: _Reader, manifest: AgentManifest, config: dict[str, Any]) -> None:
    """The ``workspace`` an external agent (``command``) runs in must be a folder beside the
    scenario, inside its project: the run would refuse it before any case."""
    value = config.get("workspace")
    if "external" not in manifest.capabilities or not isinstance(value, str) or not value:
        return
    from goalctl.agents.external import workspace_source

    try:
        workspace_source(reader.path, value)
    except ConfigError as exc:
        message = str(exc).removeprefix("workspace: ")
        reader.at(
            ("config", "workspace"),
            message,
            "name a folder beside the scenario, inside its project",
        )


def _schemas(reader: _Reader, spec: ScenarioSpec) -> None:
    if not (spec.input_schema or spec.output_schema):
        return
    valid_input = True
    for name in ("input_schema", "output_schema"):
        schema = getattr(spec, name)
        if not schema:
            continue
        error = schema_error(schema)
        if error is not None:
            path, message = error
            reader.at((name, *path), f"not a valid JSON Schema: {message}")
            valid_input = valid_input and name != "input_schema"
    if not (spec.input_schema and valid_input):
        return
    from referencing.exceptions import Unresolvable

    validator = schema_validator(spec.input_schema)
    for index, case in enumerate(spec.cases or []):
        try:
            errors = sorted(validator.iter_errors(case.input), key=lambda e: list(e.path))
        except Unresolvable as exc:
            reader.at(("input_schema",), f"a $ref cannot be resolved: {exc}", UNRESOLVED_REF)
            return
        for error in errors:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            at = f" at {where.lstrip('.')}" if where else ""
            reader.at(
                ("cases", index, "input", *error.path),
                f"input does not match input_schema{at}: {error.message}",
            )


def _schema_key(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


def schema_error(schema: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """Where and why ``schema`` is not a valid JSON Schema (2020-12), or None."""
    return _schema_error(_schema_key(schema))


@functools.lru_cache(maxsize=1024)
def _schema_error(key: str) -> tuple[tuple[str | int, ...], str] | None:
    # Checking a schema against the metaschema is costly and scenarios repeat schemas.
    import jsonschema  # heavy: imported only for scenarios that declare schemas

    from goalctl.regexes import PatternError
    from goalctl.scenario.bounded_schema import format_checker

    try:
        jsonschema.Draft202012Validator.check_schema(
            json.loads(key), format_checker=format_checker()
        )
    except jsonschema.SchemaError as exc:
        if isinstance(exc.cause, PatternError):
            return tuple(exc.path), str(exc.cause)
        return tuple(exc.path), exc.message
    except (RecursionError, OverflowError) as exc:  # a hostile pattern or nesting
        return (), f"cannot be checked: {type(exc).__name__}"
    return None


def schema_validator(schema: dict[str, Any]) -> Any:
    """A (cached) validator for a schema already known to be valid."""
    return _schema_validator(_schema_key(schema))


UNRESOLVED_REF = "refs may only point inside the schema (#/$defs/…); nothing is fetched"


@functools.lru_cache(maxsize=1024)
def _schema_validator(key: str) -> Any:
    from referencing import Registry

    # An empty registry: a $ref to a URL in a stranger's scenario must never be fetched.
    return _BoundedValidator(json.loads(key), registry=Registry())


def _BoundedValidator(schema: Any, **kwargs: Any) -> Any:
    from goalctl.scenario.bounded_schema import validator_class

    return validator_class()(schema, **kwargs)


VALIDATION_RENDERS: Final = 4
"""How many renders' worth of template limits all the renders of one file share when it is
validated (each render also keeps its own limits). Every case is rendered, so without a shared
budget a file of thousands of cases, each just within its limits, would take hours. The largest
files the loader accepts (its 100,000-value cap allows some 10,000 cases) take, with goalctl's
own templates, about a fifth of one render's operations, over half its building and under half
its time (0.9 s on a fast machine): four renders leave room for slower machines and longer
goals, while a hostile file costs at most four renders (operations, building, 8 s), not one per
case."""

CASES_PER_RENDER: Final = 2_500
"""Past :data:`VALIDATION_RENDERS` renders for 10,000 cases, one more render's worth of
limits per this many cases: a data file may hold 100,000 cases (ten times what a scenario
file can), and its budget grows with them, so a large file's validation is bounded by its
size, never refused on a slow or loaded machine for being large."""

_SPENT_REMEDY = "make each case's templates do less, or split the cases into several files"


def _templates(
    reader: _Reader, spec: ScenarioSpec, templates: dict[str, TemplateText], config: dict[str, Any]
) -> None:
    """Compile every template, then render each case so undefined names are caught now.

    The renders of a file share one budget of :data:`VALIDATION_RENDERS` renders; once it is
    spent, the case that spent it is reported and the cases after it are not rendered.
    """
    # Iterated, not listed: a data file's cases are decoded one at a time (CaseTable).
    cases: Sequence[Case | None] = spec.cases or [None]
    label = "the templates of this file"
    if len(cases) > 1:
        label = f"the templates of this file's {len(cases):,} cases"
    renders = max(VALIDATION_RENDERS, -(-len(cases) // CASES_PER_RENDER))
    with render_limits(renders, label=label):
        goal = spec.goal()
        goal_context = goal.to_prompt_context()
        failed: set[str] = set()
        for index, maybe_case in enumerate(cases):
            case = maybe_case or Case()
            name = case.name or f"case-{index + 1}"
            context = case_context(
                goal, config, case, name, spec.phase_instructions, goal_context=goal_context
            )
            if not _render_case(
                reader, spec, templates, context, failed, name if maybe_case else None
            ):
                return


def _render_case(
    reader: _Reader,
    spec: ScenarioSpec,
    templates: dict[str, TemplateText],
    context: dict[str, Any],
    failed: set[str],
    case: str | None,
) -> bool:
    """Render one case's templates and targets, reporting what fails; False once the file's
    shared budget is spent, when every later render would fail the same way."""
    for template_name in ("system", "prompt"):
        if template_name not in failed and not _render_reported(
            reader, templates[template_name], context, failed, case
        ):
            return False
    for c_index, criterion in enumerate(spec.success_criteria):
        try:
            render_target(criterion.target, context)
        except TemplateError as exc:
            spent = isinstance(exc, SharedLimitError)
            case_note = f" (case {case!r})" if case else ""
            reader.at(
                ("success_criteria", c_index, "target"),
                f"{exc}{case_note}",
                _SPENT_REMEDY if spent else "",
            )
            if spent:
                return False
    judge = next((c for c in spec.success_criteria if c.metric is Metric.LLM_JUDGE), None)
    if judge is None or "judge" in failed:
        return True
    judge_context = {**context, "criterion": judge, "target": judge.target, "output": ""}
    return _render_reported(reader, templates["judge"], judge_context, failed, case)


def _render_reported(
    reader: _Reader,
    template: TemplateText,
    context: dict[str, Any],
    failed: set[str],
    case: str | None,
) -> bool:
    """Render ``template``, reporting a failure once per template; False once the file's
    shared budget is spent."""
    try:
        render(template, context)
    except LocatedTemplateError as exc:
        failed.add(template.name)
        _template_problem(reader, template, exc, case)
        return not isinstance(exc.error, SharedLimitError)
    return True


def _template_problem(
    reader: _Reader, template: TemplateText, exc: LocatedTemplateError, case: str | None
) -> None:
    spent = isinstance(exc.error, SharedLimitError)
    suffix = f" (rendering case {case!r})" if case and ("undefined" in str(exc) or spent) else ""
    remedy = _SPENT_REMEDY if spent else ""
    if template.builtin or not exc.file_line:
        reader.at((template.name,), f"{exc}{suffix}", remedy)
        return
    reader.problem(exc.file_line, 1, f"{exc}{suffix}", template.name, remedy)
