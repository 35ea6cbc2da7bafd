"""Evaluation (DESIGN §6): each criterion and constraint against each case, then the verdict.

Per case, every criterion is checked against the output and keeps its evidence. Across cases
a criterion is *met* when its success rate reaches its threshold. The goal is **achieved**
iff the met criteria carry 90% of the weight (exactly) and no hard constraint is violated.
A check that cannot be made (judge failure, broken expression) never passes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalctl.check_names import CHECK_ARGUMENTS, METRIC_NAMES, TRAJECTORY_NAMES
from goalctl.errors import ExpressionError, TemplateError
from goalctl.excerpts import shorten as shorten
from goalctl.goal import Constraint, ConstraintType, Metric, SuccessCriterion
from goalctl.json_values import json_equal as json_equal
from goalctl.judge_replies import parse_judge_reply
from goalctl.projects import Reference, parse_reference, project_root
from goalctl.scenario.model import Scenario
from goalctl.scenario.render import render, render_target
from goalctl.trajectory_checks import describe_call, trajectory_names

OVER_THE_RUN = frozenset(
    {
        Metric.TOOL_CALLED,
        Metric.TOOL_SEQUENCE,
        Metric.TOOL_ARGS,
        Metric.FILE_EXISTS,
        Metric.FILE_MATCHES,
        Metric.COMMAND_SUCCEEDS,
    }
)
"""Metrics over what the agent did (its trajectory) or left (its workspace), not its output."""

Judge = Callable[[str], Awaitable[str]]
"""Sends a judge prompt (user message) and returns the judge's reply text."""


@dataclass
class Metrics:
    elapsed_s: float = 0.0
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    attempts: int = 0

    def names(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in METRIC_NAMES}

    def add(self, other: Metrics) -> None:
        for name in METRIC_NAMES:
            if name != "elapsed_s":
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class CaseOutput:
    """What the agent produced for one case."""

    output: Any
    """The parsed output (JSON when the goal has an output_schema), else the text."""
    text: str
    attempts: int = 1
    error: str | None = None
    """Why the output is unusable (e.g. not JSON), if it is."""
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    """The tool calls made for the output, in order (:mod:`goalctl.trajectory`)."""
    workspace: Path | None = None
    """The case's workspace, where world-state criteria look; set by the runner, not the
    agent (:mod:`goalctl.workspaces`)."""
    answers: list[str] = field(default_factory=list)
    """The text of each final answer of a multi-turn conversation, in order (the last is
    ``text``); empty when the agent held no conversation (checks then see ``[text]``)."""


@dataclass(frozen=True)
class Check:
    """One criterion on one case."""

    criterion: str
    passed: bool
    evidence: str
    score: float | None = None
    error: str | None = None

    @property
    def reason(self) -> str:
        """The whole message of the check: what the report shows and retry feedback sends."""
        return f"{self.evidence}: {self.error}" if self.error else self.evidence


@dataclass(frozen=True)
class ConstraintCheck:
    """One constraint on one case (or on the run's totals)."""

    constraint: str
    satisfied: bool
    evidence: str
    error: str | None = None


class Evaluator:
    """Checks the criteria and constraints of one scenario against case outputs."""

    def __init__(self, scenario: Scenario, config: Mapping[str, Any]) -> None:
        self.scenario = scenario
        self.goal = scenario.goal
        self.config = dict(config)
        self._validator: Any = None
        self.project = project_root(scenario.path)

    def names(
        self, context: Mapping[str, Any], result: CaseOutput, metrics: Metrics
    ) -> dict[str, Any]:
        """Names of a check expression: the output's own keys, then the case, then metrics."""
        names: dict[str, Any] = {}
        if isinstance(result.output, dict):
            names.update({str(k): v for k, v in result.output.items() if str(k).isidentifier()})
        names.update(
            output=result.output,
            text=result.text,
            value=result.output,
            input=context.get("input"),
            expected=context.get("expected"),
            case=context.get("case"),
            error=result.error,
            config=self.config,
            answers=list(result.answers) or [result.text],
        )
        names.update(metrics.names())
        names.update(trajectory_names(result.trajectory))
        return names

    async def check_case(
        self, context: Mapping[str, Any], result: CaseOutput, metrics: Metrics, judge: Judge
    ) -> list[Check]:
        checks = []
        for criterion in self.goal.success_criteria:
            checks.append(await self.check_criterion(criterion, context, result, metrics, judge))
        return checks

    async def check_criterion(
        self,
        criterion: SuccessCriterion,
        context: Mapping[str, Any],
        result: CaseOutput,
        metrics: Metrics,
        judge: Judge,
    ) -> Check:
        try:
            target = render_target(criterion.target, context)
        except TemplateError as exc:
            return Check(criterion.id, False, "target could not be rendered", error=str(exc))
        metric = criterion.metric
        if metric is Metric.LLM_JUDGE:
            shown = None if criterion.target_is_share() else target
            return await self._judge(
                criterion.id,
                criterion.description,
                shown,
                context,
                result,
                judge,
                criterion.min_score,
            )
        if metric is Metric.CUSTOM:
            names = self.names(context, result, metrics) | {"target": target}
            return self._custom(criterion, names)
        if metric in OVER_THE_RUN:
            # The calls made and the files left are there whether or not the output is usable.
            from goalctl.criterion_checks import check_over_the_run

            try:
                outcome = await check_over_the_run(criterion, target, context, result)
            except TemplateError as exc:
                return Check(criterion.id, False, "target could not be rendered", error=str(exc))
            return Check(criterion.id, outcome.passed, outcome.evidence, error=outcome.error)
        if result.error is not None and metric is not Metric.OUTPUT_CONTAINS:
            return Check(criterion.id, False, f"no usable output: {result.error}")
        if metric is Metric.OUTPUT_CONTAINS:
            wanted = target if isinstance(target, list) else [target]
            missing = [str(w) for w in wanted if str(w) not in result.text]
            if missing:
                return Check(criterion.id, False, f"missing {', '.join(repr(m) for m in missing)}")
            return Check(criterion.id, True, f"contains {', '.join(repr(str(w)) for w in wanted)}")
        if metric is Metric.OUTPUT_EQUALS:
            if json_equal(result.output, target):
                return Check(criterion.id, True, f"equals {shorten(target)}")
            return Check(
                criterion.id, False, f"expected {shorten(target)}, got {shorten(result.output)}"
            )
        if metric is Metric.OUTPUT_MATCHES:
            from goalctl.regexes import PatternError, search

            try:
                found = search(str(target), result.text)
            except PatternError as exc:
                return Check(criterion.id, False, "the pattern cannot be applied", error=str(exc))
            if found:
                return Check(
                    criterion.id, True, f"matches /{target}/ at {shorten(found.group(0), 60)!r}"
                )
            return Check(
                criterion.id, False, f"no match for /{target}/ in {shorten(result.text, 80)!r}"
            )
        return self._json_schema(criterion.id, result)

    def _json_schema(self, criterion_id: str, result: CaseOutput) -> Check:
        if self._validator is None:
            from goalctl.scenario.checks import schema_validator

            self._validator = schema_validator(self.goal.output_schema)
        from referencing.exceptions import Unresolvable

        try:
            errors = sorted(self._validator.iter_errors(result.output), key=lambda e: list(e.path))
        except (Unresolvable, RecursionError, re.error, OverflowError) as exc:
            return Check(criterion_id, False, "output_schema cannot be applied", error=str(exc))
        if not errors:
            return Check(criterion_id, True, "conforms to output_schema")
        first = errors[0]
        where = "/".join(str(p) for p in first.path)
        return Check(criterion_id, False, f"{'at ' + where + ': ' if where else ''}{first.message}")

    def _explain(self, source: str, names: Mapping[str, Any], exc: Exception) -> str:
        """Why a check failed; when it reads text output, why the output is text comes first,
        since ``output['total']`` on a string fails for that reason, not the expression's."""
        output = names.get("output")
        if not isinstance(output, str) or not _reads_output(source):
            return str(exc)
        if self.goal.output_schema:
            why = names.get("error") or "the reply was not JSON"
        else:
            why = "the goal has no output_schema, so replies are not parsed"
        return f"output is text, not JSON ({why}): {exc}"

    def _custom(self, criterion: SuccessCriterion, names: dict[str, Any]) -> Check:
        assert criterion.check is not None  # validation guarantees it for custom criteria
        try:
            value = run_check(criterion.check, names, project=self.project)
        except (ExpressionError, CheckError) as exc:
            error = self._explain(criterion.check, names, exc)
            return Check(criterion.id, False, "check failed to evaluate", error=error)
        score = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        return Check(
            criterion.id, bool(value), f"{criterion.check} → {shorten(value, 80)}", score=score
        )

    async def _judge(
        self,
        name: str,
        description: str,
        target: Any,
        context: Mapping[str, Any],
        result: CaseOutput,
        judge: Judge,
        min_score: float | None = None,
    ) -> Check:
        criterion = {"id": name, "description": description, "target": target}
        prompt = render(
            self.scenario.templates["judge"],
            {**context, "criterion": criterion, "target": target, "output": result.output},
        )
        reply = await judge(prompt)
        try:
            passed, score, reason = parse_judge_reply(reply)
        except ValueError as exc:
            return Check(name, False, "the judge gave no verdict", error=str(exc))
        if min_score is not None and score is None:
            error = f"judge reply has no score, and the criterion has min_score {min_score:g}"
            return Check(name, False, "the judge gave no verdict", error=error)
        said = f"judge: {shorten(reason)}" if reason else "judge gave no reason"
        if min_score is not None and score is not None and score < min_score:
            # A promptfoo-style rubric threshold: the score gates the case, not only `pass`.
            below = f"judge: score {score:g} is below min_score {min_score:g}"
            return Check(name, False, f"{below}: {said.removeprefix('judge: ')}", score=score)
        return Check(name, passed, said, score=score)

    async def check_constraints(
        self, context: Mapping[str, Any], result: CaseOutput, metrics: Metrics, judge: Judge
    ) -> list[ConstraintCheck]:
        checks = []
        names = self.names(context, result, metrics)
        for constraint in self.goal.constraints:
            if constraint.check is None or is_budget(constraint):
                continue
            if constraint.check.strip() == "llm_judge":
                verdict = await self._judge(
                    constraint.id, constraint.description, None, context, result, judge
                )
                checks.append(
                    ConstraintCheck(constraint.id, verdict.passed, verdict.evidence, verdict.error)
                )
                continue
            refusal = refused_by(constraint, result.trajectory)
            checks.append(refusal or self.check_expression(constraint, names))
        return checks

    def screen_call(
        self,
        context: Mapping[str, Any],
        trajectory: Sequence[Mapping[str, Any]],
        metrics: Metrics,
    ) -> ConstraintCheck | None:
        """Before a tool call runs: the first hard constraint over the trajectory that the
        trajectory with the proposed call as its last step violates, or None.

        A check that cannot be evaluated refuses the call too: a rule meant to stop a call
        must not let it through because it broke.
        """
        screened = [c for c in self.goal.constraints if reads_trajectory(c)]
        if not screened:
            return None
        result = CaseOutput(None, "", trajectory=[dict(step) for step in trajectory])
        names = self.names(context, result, metrics)
        for constraint in screened:
            check = self.check_expression(constraint, names)
            if not check.satisfied:
                return check
        return None

    def check_expression(self, constraint: Constraint, names: Mapping[str, Any]) -> ConstraintCheck:
        assert constraint.check is not None
        try:
            value = run_check(constraint.check, names, project=self.project)
        except (ExpressionError, CheckError) as exc:
            error = self._explain(constraint.check, names, exc)
            return ConstraintCheck(constraint.id, False, "check failed to evaluate", error)
        return ConstraintCheck(
            constraint.id, bool(value), f"{constraint.check} → {shorten(value, 80)}"
        )


def refused_by(
    constraint: Constraint, trajectory: Sequence[Mapping[str, Any]]
) -> ConstraintCheck | None:
    """The constraint's check of a case in which it refused a call: unsatisfied, naming the
    call (the case ended there, so the check of what followed is moot)."""
    for step in trajectory:
        if step.get("refused") == constraint.id:
            return ConstraintCheck(constraint.id, False, f"refused {describe_call(step)}")
    return None


def _reads_output(source: str) -> bool:
    if is_callable_reference(source):
        return False  # a function's own failure message is its author's to word
    from goalctl.expressions import compile_expression

    try:
        return bool(compile_expression(source).names & {"output", "value"})
    except ExpressionError:
        return False


def reads_trajectory(constraint: Constraint) -> bool:
    """Whether a hard constraint's check is an expression that reads the trajectory, so it is
    checked before each tool call (DESIGN §12)."""
    check = constraint.check
    if (
        constraint.constraint_type is not ConstraintType.HARD
        or check is None
        or check.strip() == "llm_judge"
        or is_callable_reference(check)
    ):
        return False
    from goalctl.expressions import compile_expression

    try:
        return bool(compile_expression(check).names & set(TRAJECTORY_NAMES))
    except ExpressionError:
        return False


def reads_only_metrics(constraint: Constraint) -> bool:
    """Whether a constraint's check is an expression over run metrics alone (so it can be
    checked on the run's totals, not only per case)."""
    check = constraint.check
    if check is None or check.strip() == "llm_judge" or is_callable_reference(check):
        return False
    from goalctl.expressions import compile_expression

    try:
        return compile_expression(check).names <= set(METRIC_NAMES)
    except ExpressionError:
        return False


def is_budget(constraint: Constraint) -> bool:
    """Hard time/cost constraints whose check reads only run metrics are budgets."""
    return constraint.is_budget and reads_only_metrics(constraint)


class CheckError(Exception):
    """A ``module:function`` check could not be loaded or failed."""


_MARK = "__goalctl_check__"


def check(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function as usable by ``check: module:function`` in scenarios.

    Only marked functions can be named by a scenario, so a scenario from a stranger cannot
    call arbitrary functions (``os:system``) with its own data.
    """
    setattr(function, _MARK, True)
    return function


def is_callable_reference(source: str) -> bool:
    """``module.path:function`` (as opposed to an expression)."""
    return parse_reference(source) is not None


def run_check(source: str, names: Mapping[str, Any], *, project: Path | None = None) -> Any:
    """Evaluate a check: a safe expression, or a ``module:function`` of the project at
    ``project`` (the working directory by default) marked with ``@check``, called with the
    keyword arguments of :data:`CHECK_ARGUMENTS` it names."""
    reference = parse_reference(source)
    if reference is None:
        from goalctl.expressions import compile_expression

        return compile_expression(source).evaluate(names)
    from goalctl.projects import ProjectError, call_by_name

    try:
        function = _load_check(project or Path.cwd(), reference)
    except ProjectError as exc:
        raise CheckError(str(exc)) from None
    arguments = {name: names.get(name) for name in CHECK_ARGUMENTS if name != "metrics"}
    arguments["metrics"] = {name: names[name] for name in METRIC_NAMES if name in names}
    try:
        return call_by_name(function, arguments)
    except ProjectError as exc:
        raise CheckError(f"check {source!r} cannot be called: {exc}") from None
    except Exception as exc:
        raise CheckError(f"check {source!r} failed: {type(exc).__name__}: {exc}") from None


@functools.lru_cache(maxsize=256)
def _load_check(root: Path, reference: Reference) -> Callable[..., Any]:
    from goalctl.projects import load_marked

    return load_marked(root, reference, _MARK, "goalctl.check")
