"""Rules of the criteria whose fields depend on their metric: trajectory and world-state ones.

``mode`` means something to ``tool_sequence`` only, ``min``/``max`` to ``tool_called`` only, and
so on; a field set on another metric would be accepted and ignored, so it is an error. Each
metric's target has a shape (a tool name, a list of them, ``{tool, args}``, a path inside the
workspace, ``{path, pattern}``, a command), checked here so that ``goalctl validate`` and
``Goal(...)`` refuse what every case of a run would fail on. A target that is a template
(``"{{ expected.calls }}"``) is checked when it renders, per case.

This module is light (no pydantic): :func:`goalctl.goal.structural_issues` calls it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

METRIC_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "min": ("tool_called",),
    "max": ("tool_called",),
    "mode": ("tool_sequence",),
    "match": ("tool_args",),
    "ignore": ("tool_args",),
    "timeout_s": ("command_succeeds",),
}
"""Criterion fields that only some metrics read, and those metrics."""

TOOL_ARGS_KEYS: Final = frozenset({"tool", "args"})
FILE_MATCHES_KEYS: Final = frozenset({"path", "pattern"})


class CriterionIssue(NamedTuple):
    """A rule a criterion breaks: the key under the criterion, what is wrong, the remedy."""

    key: str
    message: str
    remedy: str = ""


def is_template(value: object) -> bool:
    """A string with template syntax: its value is known per case only."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def criterion_issues(criterion: Any) -> list[CriterionIssue]:
    """Every rule of its metric ``criterion`` (a SuccessCriterion) breaks."""
    metric = str(criterion.metric)
    issues: list[CriterionIssue] = []
    for name, metrics in METRIC_FIELDS.items():
        if getattr(criterion, name) is not None and metric not in metrics:
            issues.append(
                CriterionIssue(
                    name,
                    f"`{name}` applies to metric {' or '.join(metrics)} only, not {metric}",
                    f"remove `{name}`, or use metric {metrics[0]}",
                )
            )
    low, high = criterion.min, criterion.max
    if low is not None and high is not None and low > high:
        issues.append(
            CriterionIssue("max", f"max ({high}) is below min ({low})", "make min <= max")
        )
    if criterion.ignore is not None:
        for index, name in enumerate(criterion.ignore):
            if not name:
                issues.append(CriterionIssue(f"ignore[{index}]", "an argument name is empty"))
    problem = target_problem(metric, criterion.target)
    if problem is not None:
        issues.append(problem)
    if criterion.confidence is not None and criterion.success_threshold() >= 1:
        issues.append(
            CriterionIssue(
                "confidence",
                "`confidence` needs a threshold below 1: the lower bound of an interval stays "
                "below 1 after any number of trials, so the criterion could never be met",
                "add a `threshold` below 1 (e.g. 0.8), or remove `confidence`",
            )
        )
    return issues


def target_problem(metric: str, target: Any) -> CriterionIssue | None:
    """What is wrong with the shape of a trajectory or world-state metric's target, if
    anything; None for other metrics and for a target that is a template."""
    if is_template(target):
        return None
    check = _TARGETS.get(metric)
    return None if check is None else check(target)


def _tool_called(target: Any) -> CriterionIssue | None:
    if not isinstance(target, str) or not target:
        return CriterionIssue(
            "target", "metric tool_called needs a tool name as target", "e.g. target: search"
        )
    return None


def _tool_sequence(target: Any) -> CriterionIssue | None:
    if not isinstance(target, list):
        return CriterionIssue(
            "target",
            "metric tool_sequence needs a list of tool names as target",
            "e.g. target: [lookup_order, issue_refund]",
        )
    for index, name in enumerate(target):
        if not isinstance(name, str) or not name:
            return CriterionIssue(f"target[{index}]", "must be a tool name")
    return None


def _tool_args(target: Any) -> CriterionIssue | None:
    example = "e.g. target: {tool: issue_refund, args: {order_id: A-1}}"
    if not isinstance(target, dict):
        return CriterionIssue("target", "metric tool_args needs {tool, args} as target", example)
    unknown = sorted(str(key) for key in target if key not in TOOL_ARGS_KEYS)
    if unknown:
        return CriterionIssue(
            f"target.{unknown[0]}", f"unknown key {unknown[0]!r} (known: args, tool)", example
        )
    tool = target.get("tool")
    if not isinstance(tool, str) or not tool:
        return CriterionIssue("target", "metric tool_args needs target.tool, a tool name", example)
    args = target.get("args", {})
    if not isinstance(args, dict) and not is_template(args):
        return CriterionIssue("target.args", "must be an object of argument names and values")
    return None


def workspace_path_problem(path: Any) -> str | None:
    """Why ``path`` cannot name a file inside a case's workspace, or None.

    Checked as written: absolute paths and ``..`` that climbs out are refused here; a symlink
    that leads out is refused where the files are (:mod:`goalctl.world_checks`).
    """
    if not isinstance(path, str) or not path.strip():
        return "must be a path inside the case's workspace"
    if "\x00" in path:
        return "contains a NUL character"
    if os.path.isabs(path) or path.startswith(("/", "\\", "~")):
        return f"{path!r} is an absolute path; name a path relative to the case's workspace"
    normal = os.path.normpath(path)
    if normal == ".." or normal.startswith((".." + os.sep, "../")):
        return f"{path!r} leads out of the case's workspace"
    return None


def _file_exists(target: Any) -> CriterionIssue | None:
    problem = workspace_path_problem(target)
    if problem is None:
        return None
    return CriterionIssue("target", problem, "e.g. target: out/report.md")


def _file_matches(target: Any) -> CriterionIssue | None:
    example = "e.g. target: {path: out/report.md, pattern: '^# Report'}"
    if not isinstance(target, dict):
        return CriterionIssue(
            "target", "metric file_matches needs {path, pattern} as target", example
        )
    unknown = sorted(str(key) for key in target if key not in FILE_MATCHES_KEYS)
    if unknown:
        return CriterionIssue(
            f"target.{unknown[0]}", f"unknown key {unknown[0]!r} (known: path, pattern)", example
        )
    path = target.get("path")
    if not is_template(path):
        problem = workspace_path_problem(path)
        if problem is not None:
            return CriterionIssue("target.path", problem, example)
    pattern = target.get("pattern")
    if not isinstance(pattern, str):
        return CriterionIssue("target.pattern", "must be a regular expression", example)
    if is_template(pattern):
        return None
    from goalctl.regexes import PatternError, compile_pattern

    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return CriterionIssue("target.pattern", str(exc))
    return None


def _command_succeeds(target: Any) -> CriterionIssue | None:
    from goalctl.config_schema import split_command

    example = "e.g. target: [pytest, -q]"
    try:
        argv = split_command(target)
    except ValueError as exc:
        return CriterionIssue("target", f"metric command_succeeds needs a command: {exc}", example)
    if not argv or not argv[0]:
        return CriterionIssue("target", "the command is empty; name the program to run", example)
    return None


_TARGETS: Final = {
    "tool_called": _tool_called,
    "tool_sequence": _tool_sequence,
    "tool_args": _tool_args,
    "file_exists": _file_exists,
    "file_matches": _file_matches,
    "command_succeeds": _command_succeeds,
}
