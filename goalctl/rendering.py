"""``goalctl render``: a scenario's prompts for each case, exactly as a run would send them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalctl.errors import ScenarioError, UsageError
from goalctl.overrides import ConfigOverrides
from goalctl.scenario.loader import load_scenario
from goalctl.scenario.model import Scenario
from goalctl.scenario.render import LocatedTemplateError, RenderedCase, case_context, render_case

JUDGED_OUTPUT = "<the agent's output>"
"""What a judge prompt shown by ``render --judge`` quotes in place of an output (none exists
before a run)."""


@dataclass(frozen=True, slots=True)
class RenderedJudge:
    """The judge prompt of one criterion for one case."""

    name: str
    prompt: str


def render_judge(
    path: Path,
    criterion_id: str,
    *,
    case_names: Sequence[str] = (),
    config_overrides: Sequence[str] = (),
) -> list[RenderedJudge]:
    """The judge prompt of the ``llm_judge`` criterion ``criterion_id`` for each case (or the
    cases named), with :data:`JUDGED_OUTPUT` standing in for the output."""
    from goalctl.goal import Metric
    from goalctl.scenario.render import render, render_target

    scenario = _load(path)
    criteria = scenario.goal.success_criteria
    criterion = next((c for c in criteria if c.id == criterion_id), None)
    judged = [c.id for c in criteria if c.metric is Metric.LLM_JUDGE]
    known = ", ".join(judged) if judged else "none"
    if criterion is None:
        raise UsageError(f"no criterion {criterion_id!r} in {path} (llm_judge criteria: {known})")
    if criterion.metric is not Metric.LLM_JUDGE:
        raise UsageError(
            f"criterion {criterion_id!r} of {path} is checked by {criterion.metric.value}, "
            f"not by a judge, so it has no judge prompt (llm_judge criteria: {known})"
        )
    rendered = []
    for name, context in _contexts(scenario, path, case_names, config_overrides):
        target = render_target(criterion.target, context)
        judge_context = {
            **context,
            "criterion": {
                "id": criterion.id,
                "description": criterion.description,
                "target": target,
            },
            "target": target,
            "output": JUDGED_OUTPUT,
        }
        try:
            rendered.append(RenderedJudge(name, render(scenario.templates["judge"], judge_context)))
        except LocatedTemplateError as exc:
            raise _template_error(scenario, path, exc) from None
    return rendered


def _load(path: Path) -> Scenario:
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"
        raise UsageError(f"{what}: {path}")
    return load_scenario(path)


def _template_error(scenario: Scenario, path: Path, exc: LocatedTemplateError) -> ScenarioError:
    from goalctl.errors import Problem

    line = exc.file_line or scenario.line_of(exc.template.name)
    return ScenarioError([Problem(str(path), line, 1, str(exc), exc.template.name)])


def _contexts(
    scenario: Scenario, path: Path, case_names: Sequence[str], config_overrides: Sequence[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(name, template context) of each case ``case_names`` selects."""
    from goalctl.scenario.selection import case_matches, no_case_error, unmatched

    config = ConfigOverrides(pairs=tuple(config_overrides)).resolve(scenario)
    names = [scenario.case_name(index) for index in range(len(scenario.cases))]
    unknown = unmatched(case_names, names)
    if unknown:
        raise no_case_error(unknown, str(path), names)
    goal_context = scenario.goal.to_prompt_context()
    return [
        (
            names[index],
            case_context(
                scenario.goal,
                config,
                case,
                names[index],
                scenario.spec.phase_instructions,
                goal_context=goal_context,
            ),
        )
        for index, case in enumerate(scenario.cases)
        if case_matches(names[index], case_names)
    ]


def render_scenario(
    path: Path, *, case_names: Sequence[str] = (), config_overrides: Sequence[str] = ()
) -> list[RenderedCase]:
    """Render the system and user prompt of each case (or of the cases named)."""
    scenario = _load(path)
    rendered = []
    for name, context in _contexts(scenario, path, case_names, config_overrides):
        try:
            rendered.append(render_case(scenario.templates, context, name))
        except LocatedTemplateError as exc:
            raise _template_error(scenario, path, exc) from None
    return rendered
