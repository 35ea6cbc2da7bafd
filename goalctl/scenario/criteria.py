"""Checks of what a scenario asks a run to check: ``check`` expressions and ``module:function``
targets, regex targets, case names, and fields only a run may set.

Each is judged as the run would judge it — the names the evaluator binds, the sandbox's
bounds, the project a function must come from — so ``goalctl validate`` fails where the run
would, and never imports a project's code to find out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from goalctl.check_names import (
    CHECK_ARGUMENTS,
    TRAJECTORY_FUNCTIONS,
    TRAJECTORY_NAMES,
    known_names,
    output_names,
    suggestion,
)
from goalctl.errors import ExpressionError
from goalctl.goal import Metric
from goalctl.projects import Reference, inspect_reference, parse_reference, project_root
from goalctl.scenario.model import ScenarioSpec

if TYPE_CHECKING:
    from goalctl.scenario.loader import _Reader

RUN_STATUSES: Final = ("active", "completed", "failed")
"""Goal statuses a run sets; a scenario file cannot."""
FILE_STATUSES: Final = ("draft", "ready", "suspended")
"""Goal statuses a scenario file may declare."""
_RUNTIME_REMEDY = "a run records it; remove it from the scenario"


def check_checks(reader: _Reader, spec: ScenarioSpec) -> None:
    """Every ``check`` of a criterion or constraint, and every regex target."""
    checks: list[tuple[tuple[str | int, ...], str, bool]] = []
    for index, constraint in enumerate(spec.constraints):
        if constraint.check and constraint.check.strip() != "llm_judge":
            checks.append((("constraints", index, "check"), constraint.check, False))
    for index, criterion in enumerate(spec.success_criteria):
        if criterion.metric is Metric.CUSTOM:
            if not criterion.check:
                reader.at(
                    ("success_criteria", index),
                    "a custom criterion needs a `check` (an expression or module:function)",
                    "add e.g. check: \"output['result'] == expected['result']\"",
                )
            else:
                checks.append((("success_criteria", index, "check"), criterion.check, True))
        elif criterion.metric is Metric.OUTPUT_MATCHES:
            _regex_target(reader, index, criterion.target)
        elif criterion.metric is Metric.JSON_SCHEMA and not spec.output_schema:
            reader.at(
                ("success_criteria", index, "metric"),
                "metric json_schema needs the goal's output_schema",
                "add output_schema",
            )
    # The llm agent parses its reply as JSON only when there is an output_schema.
    output_keys = output_names(spec.output_schema, text_without_schema=spec.agent == "llm")
    for path, source, criterion_check in checks:
        reference = parse_reference(source)
        if reference is not None:
            _reference(reader, path, reference)
            continue
        _expression(reader, path, source, output_keys, criterion=criterion_check)
    check_tool_names(reader, spec)


def check_tool_names(reader: _Reader, spec: ScenarioSpec) -> None:
    """Tools that criteria and ``called``/``count`` name must be tools the agent has, when
    goalctl knows them: the ``llm`` agent with declared ``tools:``. Other agents bring their
    own tools, so any name goes there."""
    declared = list(dict.fromkeys(tool.name for tool in spec.tools))
    if spec.agent != "llm" or not declared:
        return
    named: list[tuple[tuple[str | int, ...], str]] = []
    for index, criterion in enumerate(spec.success_criteria):
        named.extend(_named_in_target(("success_criteria", index, "target"), criterion))
        if criterion.metric is Metric.CUSTOM and criterion.check:
            named.extend(_named_in_check(("success_criteria", index, "check"), criterion.check))
    for index, constraint in enumerate(spec.constraints):
        if constraint.check:
            named.extend(_named_in_check(("constraints", index, "check"), constraint.check))
    for path, name in named:
        if name not in declared:
            reader.at(
                path,
                f"unknown tool {name!r}: the scenario declares {', '.join(declared)}",
                suggestion(name, declared),
            )


def _named_in_target(
    path: tuple[str | int, ...], criterion: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    target = criterion.target
    if criterion.metric is Metric.TOOL_CALLED and isinstance(target, str) and "{" not in target:
        return [(path, target)]
    if criterion.metric is Metric.TOOL_SEQUENCE and isinstance(target, list):
        return [
            ((*path, index), name)
            for index, name in enumerate(target)
            if isinstance(name, str) and "{" not in name
        ]
    if criterion.metric is Metric.TOOL_ARGS and isinstance(target, dict):
        tool = target.get("tool")
        if isinstance(tool, str) and "{" not in tool:
            return [((*path, "tool"), tool)]
    return []


def _named_in_check(
    path: tuple[str | int, ...], source: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """Tools named by ``called('x')`` and ``count('x')`` in a check expression."""
    import ast

    from goalctl.check_names import TRAJECTORY_FUNCTIONS
    from goalctl.expressions import compile_expression

    if source.strip() == "llm_judge" or parse_reference(source) is not None:
        return []
    try:
        tree = compile_expression(source).tree
    except ExpressionError:
        return []  # reported with the check's other problems
    return [
        (path, node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in TRAJECTORY_FUNCTIONS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def _expression(
    reader: _Reader,
    path: tuple[str | int, ...],
    source: str,
    output_keys: frozenset[str] | None,
    *,
    criterion: bool,
) -> None:
    """Compile a check and report each name the run would not bind."""
    from goalctl.expressions import compile_expression
    from goalctl.expressions.checker import _quote

    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        reader.at(path, str(exc))
        return
    if output_keys is None:
        return  # the output's keys are unknown, so any name may be one of them
    for name in sorted(expression.names & output_keys & set(TRAJECTORY_NAMES)):
        # The trajectory's names win over the output's keys, as the case's names do; calling
        # `count(...)` means the function, reading `count` alone likely means the key.
        if name in TRAJECTORY_FUNCTIONS and not _read_bare(expression.tree, name):
            continue
        reader.at(
            path,
            f"{name!r} in {_quote(source)} is the trajectory's {name!r}, not the output's key",
            f"read the output's key as output[{name!r}]",
        )
    known = known_names(output_keys, criterion=criterion)
    for name in sorted(expression.names - known):
        reader.at(
            path,
            f"unknown name {name!r} in {_quote(source)}: a run would fail on every case",
            suggestion(name, known),
        )


def _read_bare(tree: Any, name: str) -> bool:
    """Whether ``name`` is read other than as the function of a call."""
    import ast

    called = {
        id(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return any(
        isinstance(node, ast.Name) and node.id == name and id(node) not in called
        for node in ast.walk(tree)
    )


def _reference(reader: _Reader, path: tuple[str | int, ...], reference: Reference) -> None:
    """A ``module:function`` check that the run could not find, would refuse or call wrongly."""
    root = project_root(reader.path)
    problem = inspect_reference(root, reference, "goalctl.check", CHECK_ARGUMENTS)
    if problem is not None:
        reader.at(path, problem, _REFERENCE_REMEDY)


_REFERENCE_REMEDY = (
    "name a function of this scenario's project (its folder up to pyproject.toml or .git) "
    "marked @goalctl.check"
)


def check_case_names(reader: _Reader, names: Sequence[str | None]) -> None:
    """Case names key results, checkpoints and reports: a repeated one would merge two cases.

    ``names`` are the cases' own names (None for a case without one)."""
    first: dict[str, int] = {}
    for index, own in enumerate(names):
        name = own or f"case-{index + 1}"
        if name in first:
            where: tuple[str | int, ...] = ("cases", index)
            if own:
                where += ("name",)
            reader.at(
                where,
                f"case name {name!r} is also the name of cases[{first[name]}]",
                "give every case its own name",
            )
        else:
            first[name] = index


def _regex_target(reader: _Reader, index: int, target: Any) -> None:
    from goalctl.regexes import PatternError, compile_pattern

    if not isinstance(target, str):
        reader.at(
            ("success_criteria", index, "target"),
            "metric output_matches needs a regular expression target",
        )
        return
    if "{{" in target or "{%" in target:
        return  # a templated pattern is checked per case when the target renders
    try:
        compile_pattern(target)
    except PatternError as exc:
        reader.at(("success_criteria", index, "target"), str(exc))


def refuse_runtime_fields(reader: _Reader, data: dict[str, Any]) -> bool:
    """Report (and drop, so the rest is still checked) what only a run may set: the goal
    model's ``created_at``, a criterion's ``met``, and the statuses a run moves a goal to."""
    refused = False
    if "created_at" in data:
        del data["created_at"]
        reader.at(("created_at",), "unknown key 'created_at'", _RUNTIME_REMEDY, key=True)
        refused = True
    criteria = data.get("success_criteria")
    for index, criterion in enumerate(criteria if isinstance(criteria, list) else []):
        if isinstance(criterion, dict) and "met" in criterion:
            del criterion["met"]
            path = ("success_criteria", index, "met")
            reader.at(path, "unknown key 'met'", _RUNTIME_REMEDY, key=True)
            refused = True
    status = data.get("status")
    if isinstance(status, str) and status in RUN_STATUSES:
        del data["status"]
        reader.at(
            ("status",),
            f"status {status!r} is set by runs, not by scenario files",
            f"use one of {', '.join(FILE_STATUSES)}",
        )
        refused = True
    return refused
