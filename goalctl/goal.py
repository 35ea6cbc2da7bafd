"""The Goal model: what an agent must achieve, how success is measured, which boundaries hold.

A goal is declarative: it says *what*, never *how*. Its semantics (DESIGN §3):

- :meth:`Goal.is_success` — met weight reaches 90% of the total weight, computed exactly on the
  decimal weights as written (0.99 + 0.99 of 2.20 is exactly 90%, so it succeeds).
- :meth:`Goal.check_constraint` — evaluates a constraint's ``check`` in the expression sandbox.
- :meth:`Goal.to_prompt_context` — a Markdown block for system prompts, from a Jinja template.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic_core import PydanticCustomError

SUCCESS_THRESHOLD = Fraction(9, 10)
"""Share of the total weight that must be met for a goal to succeed."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=1, max_length=128)]
SemVer = Annotated[str, Field(pattern=SEMVER_PATTERN)]

# Controls (C0, DEL, C1), line and paragraph separators, and the bidirectional overrides that
# reorder what a reader sees.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _one_line(value: str) -> str:
    # A name is printed inside single lines of reports, consoles and CI logs, where a line
    # break would start a line of its own (a forged ``::error``, say). A folded YAML scalar
    # (``>``) ends with one line break; that one is dropped rather than refused.
    text = value[:-1] if value.endswith("\n") else value
    found = _NOT_ONE_LINE.search(text)
    if found is None:
        return text
    char = found.group()
    what = "a line break" if char in _LINE_BREAKS else "the control character"
    raise PydanticCustomError(
        "one_line",
        "contains {what} U+{code}",
        {
            "what": what,
            "code": f"{ord(char):04X}",
            "remedy": "write it on one line of printable text: names are shown in reports "
            "and CI logs",
        },
    )


OneLine = Annotated[str, AfterValidator(_one_line)]
"""Text shown on one line (names, criterion and constraint descriptions): no control
characters, line breaks or bidirectional overrides."""
Weight = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]
Count = Annotated[StrictInt, Field(ge=0)]


class GoalStatus(enum.StrEnum):
    """Where a goal is in its lifecycle."""

    DRAFT = "draft"
    READY = "ready"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    SUSPENDED = "suspended"


class Metric(enum.StrEnum):
    """How a success criterion is measured."""

    OUTPUT_CONTAINS = "output_contains"
    OUTPUT_EQUALS = "output_equals"
    OUTPUT_MATCHES = "output_matches"
    JSON_SCHEMA = "json_schema"
    LLM_JUDGE = "llm_judge"
    CUSTOM = "custom"
    TOOL_CALLED = "tool_called"
    TOOL_SEQUENCE = "tool_sequence"
    TOOL_ARGS = "tool_args"
    FILE_EXISTS = "file_exists"
    FILE_MATCHES = "file_matches"
    COMMAND_SUCCEEDS = "command_succeeds"


class SequenceMode(enum.StrEnum):
    """How ``tool_sequence`` compares the calls made with its list (:mod:`goalctl.trajectory_checks`
    defines each exactly)."""

    STRICT = "strict"
    IN_ORDER = "in_order"
    ANY_ORDER = "any_order"
    SUBSET = "subset"
    SUPERSET = "superset"


class ArgsMatch(enum.StrEnum):
    """How ``tool_args`` compares a call's arguments with the wanted ones."""

    EXACT = "exact"
    SUBSET = "subset"


class ConstraintType(enum.StrEnum):
    HARD = "hard"
    SOFT = "soft"


class Category(enum.StrEnum):
    TIME = "time"
    COST = "cost"
    SAFETY = "safety"
    SCOPE = "scope"
    QUALITY = "quality"
    GENERAL = "general"


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        validate_assignment=True,
        use_enum_values=False,
    )


class SuccessCriterion(_Strict):
    """A measurable condition that defines success."""

    id: Slug
    """Unique within the goal; used in reports and feedback."""
    description: OneLine
    """Human-readable description of what success looks like."""
    metric: Metric = Metric.LLM_JUDGE
    """How to measure: output_contains, output_equals, output_matches, json_schema, llm_judge,
    custom; over the trajectory tool_called, tool_sequence, tool_args; over the case's
    workspace after the agent file_exists, file_matches, command_succeeds."""
    type: str = "success_rate"
    """Runtime evaluation type: the criterion holds when its success rate across cases reaches
    the threshold."""
    target: Any = None
    """The target value or condition. May be a template over the case, e.g.
    ``"{{ expected.result }}"``. For llm_judge and custom, a number in (0, 1] is the share of
    cases that must pass, not a score (see ``min_score``)."""
    weight: Weight = 1.0
    """Relative importance, 0 to 1."""
    threshold: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] | None = None
    """Share of cases that must pass. Default 1.0; for llm_judge/custom a numeric target in
    (0, 1] is the threshold (a share of cases, never a score). With trials, a case meets the
    criterion when this share of its trials pass (see ``confidence``)."""
    confidence: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] | None = None
    """With trials: gate on the lower bound of the Wilson interval at this confidence (e.g.
    0.95) instead of the observed pass rate: a case meets the criterion when the lower bound
    of its trials' pass rate reaches the threshold. Needs a threshold below 1."""
    min_score: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] | None = None
    """For llm_judge: the lowest judge score (0 to 1) a case may get and pass; a lower score
    fails the case even when the judge says ``pass: true``."""
    check: str | None = None
    """For ``custom``: a safe expression over ``output``, ``input``, ``expected``, ``target``,
    the metrics and the trajectory (``trajectory``, ``steps``, ``tool_calls``, ``called(name)``,
    ``count(name)``), or ``module:function`` naming a function marked with ``@goalctl.check``."""
    min: Count | None = None
    """For tool_called: the fewest calls of the tool that pass (default 1)."""
    max: Count | None = None
    """For tool_called: the most calls of the tool that pass (``max: 0``: never called)."""
    mode: SequenceMode | None = None
    """For tool_sequence: strict (the calls are exactly the list), in_order (the list is a
    subsequence of the calls; the default), any_order (the same calls, as many times each, in
    any order), subset (every listed tool was called), superset (every call is of a listed
    tool)."""
    match: ArgsMatch | None = None
    """For tool_args: exact (the call's arguments are exactly ``args``) or subset (the default:
    every argument of ``args`` is in the call with an equal value, recursively for objects)."""
    ignore: list[str] | None = None
    """For tool_args: argument names left out of the comparison at any depth, on both sides
    (generated ids, timestamps)."""
    timeout_s: Annotated[StrictFloat | StrictInt, Field(gt=0, le=600)] | None = None
    """For command_succeeds: seconds the command may run (default 60, at most 600); then its
    process group is killed and the case fails."""
    met: StrictBool = False
    """Whether this criterion has been met."""

    def success_threshold(self) -> float:
        """Share of cases that must pass for this criterion to be met."""
        if self.threshold is not None:
            return self.threshold
        if self.target_is_share():
            return float(self.target)
        return 1.0

    def target_is_share(self) -> bool:
        """A numeric ``target`` in (0, 1] of llm_judge/custom is a share of cases, so it is
        never shown to a judge as something to look for."""
        numeric = isinstance(self.target, int | float) and not isinstance(self.target, bool)
        return self.metric in (Metric.LLM_JUDGE, Metric.CUSTOM) and numeric and 0 < self.target <= 1


class Constraint(_Strict):
    """A boundary the agent must respect."""

    id: Slug
    """Unique within the goal."""
    description: OneLine
    """What the boundary is, in words the agent reads."""
    constraint_type: ConstraintType = ConstraintType.HARD
    """``hard``: violation means failure; ``soft``: discouraged, reported as a warning."""
    category: Category = Category.GENERAL
    """time, cost, safety, scope, quality or general. Hard time/cost constraints are budgets,
    enforced after every provider call."""
    check: str | None = None
    """How to check: a safe expression (``cost_usd <= 0.05``), ``module:function``, or
    ``llm_judge``. Without a check the constraint guides the agent but is not verified."""

    @property
    def is_hard(self) -> bool:
        return self.constraint_type is ConstraintType.HARD

    @property
    def is_budget(self) -> bool:
        return self.is_hard and self.category in (Category.TIME, Category.COST)


class Goal(_Strict):
    """What an agent should achieve: declarative, measurable, constrained, versionable."""

    id: Slug
    """Unique identifier of the goal (a slug)."""
    name: OneLine
    """Short, human-readable name."""
    description: str
    """Detailed description of what should be achieved."""
    status: GoalStatus = GoalStatus.DRAFT
    """Lifecycle: draft, ready, active, completed, failed, suspended."""
    success_criteria: list[SuccessCriterion] = Field(default_factory=list)
    """Measurable conditions that define success."""
    constraints: list[Constraint] = Field(default_factory=list)
    """Boundaries the agent must respect."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Additional context: domain knowledge, user preferences."""
    required_capabilities: list[str] = Field(default_factory=list)
    """What the agent needs: llm, web_search, code_execution …"""
    input_schema: dict[str, Any] = Field(default_factory=dict)
    """Expected input format (JSON Schema)."""
    output_schema: dict[str, Any] = Field(default_factory=dict)
    """Expected output format (JSON Schema)."""
    version: SemVer = "1.0.0"
    """Semantic version of this goal."""
    parent_version: SemVer | None = None
    """The version this one evolved from."""
    evolution_reason: str | None = None
    """Why this version was created."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the goal was created."""

    @model_validator(mode="after")
    def _check_structure(self) -> Goal:
        issues = structural_issues(self)
        if issues:
            raise ValueError("; ".join(f"{issue.key}: {issue.message}" for issue in issues))
        return self

    def is_success(self) -> bool:
        """True iff the met criteria carry at least 90% of the total weight (exactly)."""
        return weighted_success(
            (criterion.weight, criterion.met) for criterion in self.success_criteria
        )

    def criterion(self, criterion_id: str) -> SuccessCriterion:
        for criterion in self.success_criteria:
            if criterion.id == criterion_id:
                return criterion
        known = ", ".join(c.id for c in self.success_criteria) or "none"
        raise KeyError(f"no success criterion {criterion_id!r} (known: {known})")

    def constraint(self, constraint_id: str) -> Constraint:
        for constraint in self.constraints:
            if constraint.id == constraint_id:
                return constraint
        known = ", ".join(c.id for c in self.constraints) or "none"
        raise KeyError(f"no constraint {constraint_id!r} (known: {known})")

    def check_constraint(self, constraint_id: str, value: Any) -> bool:
        """Evaluate a constraint's ``check`` against ``value``; True when satisfied.

        ``value`` is bound as ``value``, as the expression's single free name, or — when it is a
        mapping — as its names. Raises ``KeyError`` for an unknown id, ``ValueError`` when the
        constraint has no check or needs an LLM judge, and ``ExpressionError`` when the expression
        cannot be evaluated.
        """
        from goalctl.expressions import compile_expression

        constraint = self.constraint(constraint_id)
        if constraint.check is None:
            raise ValueError(f"constraint {constraint_id!r} has no check expression to evaluate")
        if constraint.check.strip() == "llm_judge":
            raise ValueError(
                f"constraint {constraint_id!r} is checked by an LLM judge; it can only be "
                "checked during a run (goalctl run), not offline by check_constraint()"
            )
        expression = compile_expression(constraint.check)
        names: dict[str, Any] = {"value": value}
        if isinstance(value, Mapping):
            names.update({str(key): item for key, item in value.items()})
        if len(expression.names) == 1:
            (only,) = expression.names
            names.setdefault(only, value)
        return bool(expression.evaluate(names))

    def to_prompt_context(self) -> str:
        """Goal context for LLM system prompts; empty for a stub goal."""
        if not (self.success_criteria or self.constraints or self.context):
            return ""
        from goalctl.templates import render_builtin

        return render_builtin("goal_context.md.j2", goal=self).strip() + "\n"


@dataclass(frozen=True, slots=True)
class GoalIssue:
    """A rule a goal breaks, located by key path inside the goal."""

    key: str
    message: str
    remedy: str = ""


def weighted_success(weighted: Any) -> bool:
    """The exact 90% rule over ``(weight, met)`` pairs; no criteria means no success.

    Weights are compared as the decimals they were written as (``Fraction(repr(w))``), so no
    binary floating-point edge can flip a verdict.
    """
    total = Fraction(0)
    met = Fraction(0)
    for weight, is_met in weighted:
        exact = Fraction(repr(float(weight)))
        total += exact
        if is_met:
            met += exact
    if total == 0:
        return False
    return met >= SUCCESS_THRESHOLD * total


def structural_issues(goal: Goal) -> list[GoalIssue]:
    """Rules that hold for every goal, draft or not: unique ids, a real lineage."""
    issues: list[GoalIssue] = []
    groups: tuple[tuple[str, Sequence[SuccessCriterion | Constraint]], ...] = (
        ("success_criteria", goal.success_criteria),
        ("constraints", goal.constraints),
    )
    for field, items in groups:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.id in seen:
                issues.append(
                    GoalIssue(
                        f"{field}[{index}].id",
                        f"duplicate id {item.id!r} (first used by {field}[{seen[item.id]}])",
                        "ids must be unique within a goal",
                    )
                )
            else:
                seen[item.id] = index
    from goalctl.criterion_rules import criterion_issues

    for index, criterion in enumerate(goal.success_criteria):
        for issue in criterion_issues(criterion):
            key = f"success_criteria[{index}].{issue.key}"
            issues.append(GoalIssue(key, issue.message, issue.remedy))
    if goal.parent_version is not None and goal.parent_version == goal.version:
        issues.append(
            GoalIssue(
                "parent_version",
                f"parent_version must differ from version ({goal.version})",
                "a goal cannot evolve from itself; bump version",
            )
        )
    return issues


def readiness_issues(goal: Goal) -> list[GoalIssue]:
    """Rules a goal must meet to be run: criteria with weight, unless it is a draft."""
    if goal.status is GoalStatus.DRAFT:
        return []
    if not goal.success_criteria:
        return [
            GoalIssue(
                "success_criteria",
                "a goal that is not a draft needs at least one success criterion",
                "add success_criteria, or set status: draft",
            )
        ]
    if all(criterion.weight == 0 for criterion in goal.success_criteria):
        return [
            GoalIssue(
                "success_criteria",
                "the total weight of the success criteria must be above 0",
                "give at least one criterion a weight above 0",
            )
        ]
    return []


def semver_key(version: str) -> tuple[int, int, int]:
    """Sort key of a semantic version (pre-release and build parts ignored)."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        return (0, 0, 0)
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)
