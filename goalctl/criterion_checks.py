"""The criteria over what an agent did and left: one case's trajectory and workspace.

The evaluator hands each criterion of these metrics here with its target rendered; the
strings inside a structured target (``args`` values, ``path``, a command's arguments) are
rendered too, so ``{tool: refund, args: {order_id: "{{ input.order }}"}}`` works per case.
A target whose rendered shape is wrong fails the case with the reason (the file was valid
only because the target was a template).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from goalctl.criterion_rules import target_problem
from goalctl.goal import ArgsMatch, Metric, SequenceMode, SuccessCriterion
from goalctl.scenario.render import render_target
from goalctl.trajectory_checks import Outcome, tool_args, tool_called, tool_sequence

if TYPE_CHECKING:
    from goalctl.evaluation import CaseOutput

MAX_RENDER_DEPTH = 16
"""Structured targets deeper than this are used as written, not rendered further."""


def render_nested(value: Any, context: Mapping[str, Any], depth: int = 0) -> Any:
    """``value`` with every template string inside lists and objects rendered for the case."""
    if depth > MAX_RENDER_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: render_nested(v, context, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [render_nested(item, context, depth + 1) for item in value]
    return render_target(value, context)


async def check_over_the_run(
    criterion: SuccessCriterion,
    target: Any,
    context: Mapping[str, Any],
    result: CaseOutput,
) -> Outcome:
    """One trajectory or world-state criterion on one case (``target`` already rendered at its
    top); raises TemplateError when a template inside the target cannot be rendered."""
    metric = criterion.metric
    target = render_nested(target, context)
    problem = target_problem(str(metric), target)
    if problem is not None:
        where = "target" if problem.key == "target" else problem.key
        return Outcome(False, "the rendered target is not usable", f"{where}: {problem.message}")
    steps = result.trajectory
    if metric is Metric.TOOL_CALLED:
        return tool_called(steps, target, criterion.min, criterion.max)
    if metric is Metric.TOOL_SEQUENCE:
        mode = criterion.mode or SequenceMode.IN_ORDER
        return tool_sequence(steps, [str(name) for name in target], str(mode))
    if metric is Metric.TOOL_ARGS:
        exact = criterion.match is ArgsMatch.EXACT
        return tool_args(
            steps,
            target["tool"],
            target.get("args") or {},
            exact=exact,
            ignore=criterion.ignore or (),
        )
    return await _world(criterion, target, result)


async def _world(criterion: SuccessCriterion, target: Any, result: CaseOutput) -> Outcome:
    from goalctl import world_checks

    workspace = result.workspace
    if workspace is None:
        return Outcome(
            False,
            "no workspace to check",
            "the case had no workspace (the runner makes one for world-state criteria)",
        )
    metric = criterion.metric
    if metric is Metric.FILE_EXISTS:
        return world_checks.file_exists(workspace, target)
    if metric is Metric.FILE_MATCHES:
        return world_checks.file_matches(workspace, target["path"], target["pattern"])
    from goalctl.config_schema import split_command

    argv = split_command(target)
    return await world_checks.command_succeeds(workspace, argv, criterion.timeout_s)
