"""GitHub Actions: workflow commands (``::error file=…,line=…::…``), the step summary, and the
one escaping point that keeps text from scenario files from forging commands.

The runner reads every line a step prints to stdout or stderr and runs it as a command when,
after leading whitespace, it starts with ``::`` — or, in the legacy form, when it holds
``##[`` anywhere. A case name or a provider's error with a newline and ``::error::`` or
``::stop-commands::`` in it would otherwise forge annotations or switch goalctl's own off.
So under GitHub Actions every line goalctl prints passes :func:`neutralize`, and only the
commands goalctl composes itself (:class:`WorkflowCommand`, values escaped by the toolkit's
rules) go out as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from goalctl.config.prices import cost_text
from goalctl.errors import Problem
from goalctl.reports.steps import cases_with_steps, one_line
from goalctl.verdict import ERROR, WARNING, verdict_of

MAX_REFUSAL_ROWS = 20
"""Refused calls listed in the step summary; report.json has them all."""
Syntax = Literal["text", "json", "xml"]
"""What printed text is, so that its escapes keep its meaning (Markdown too is ``text``)."""


class WorkflowCommand(str):
    """A workflow command goalctl composed, with every value escaped: printed as it is.

    Any other text, even a ``str`` built from one, is neutralized under GitHub Actions.
    """

    __slots__ = ()


# Escapes per syntax for the two ways a line starts a command: a leading ``::`` (after
# whitespace) and a legacy ``##[`` anywhere. Each keeps the text's meaning in its syntax:
# CommonMark backslash escapes, JSON string escapes (``#`` never occurs outside a JSON
# string), XML character references.
_LEADING = {"text": "\\::", "json": "\\u003a:", "xml": "&#58;:"}
_LEGACY = {"text": "##\\[", "json": "##\\u005b", "xml": "##&#91;"}
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")  # the runner splits lines on \r, \n and \r\n
_COMMAND_START = re.compile(r"^(\s*)::")  # Python's \s covers .NET's TrimStart set


def neutralize(text: str, syntax: Syntax = "text") -> str:
    """``text`` with no line able to start a workflow command; a :class:`WorkflowCommand`
    is returned unchanged."""
    if isinstance(text, WorkflowCommand):
        return text
    if "::" not in text and "##[" not in text:
        return text
    parts = _LINE_BREAK.split(text)
    for index in range(0, len(parts), 2):  # odd indices hold the line breaks themselves
        line = _COMMAND_START.sub(lambda m: m.group(1) + _LEADING[syntax], parts[index], count=1)
        parts[index] = line.replace("##[", _LEGACY[syntax])
    return "".join(parts)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, *, file: str = "", line: int = 0, col: int = 0, title: str = ""
) -> WorkflowCommand:
    """One workflow command; ``level`` is ``error``, ``warning`` or ``notice``."""
    properties = []
    if file:
        properties.append(f"file={_escape_property(file)}")
    if line:
        properties.append(f"line={line}")
    if col:
        properties.append(f"col={col}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    head = f"::{level} {','.join(properties)}" if properties else f"::{level}"
    return WorkflowCommand(f"{head}::{_escape_data(message)}")


def problem_annotations(
    problems: Iterable[Problem], title: str = "goalctl validate"
) -> list[WorkflowCommand]:
    lines = []
    for problem in problems:
        message = f"{problem.key}: {problem.message}" if problem.key else problem.message
        if problem.remedy:
            message += f" ({problem.remedy})"
        level = "warning" if problem.severity == "warning" else "error"
        lines.append(
            annotation(
                level, message, file=problem.path, line=problem.line, col=problem.col, title=title
            )
        )
    return lines


def run_annotations(report: dict[str, Any]) -> list[WorkflowCommand]:
    """An ``::error`` per reason the goal is not achieved, a ``::warning`` per warning, each
    at the scenario line that defines it; an errored run is one ``::error``."""
    path = str(report["scenario"])
    goal = f"{report['goal']['id']}@{report['goal']['version']}"
    lines = []
    for reason in verdict_of(report).reasons:
        if reason.level == ERROR:
            message = f"the run errored, so there is no verdict: {reason.detail}"
            title = f"goalctl: {goal} errored"
        else:
            message, title = reason.detail, "goalctl: " + reason.summary.replace("`", "")
        level = "warning" if reason.level == WARNING else "error"
        lines.append(annotation(level, message, file=path, line=reason.line, title=title))
    for case in report.get("cases", ()):
        if case.get("flaky") and case["status"] != "passed":
            stats = case.get("trials")
            rate = f"{stats['passed']}/{stats['run']} trials passed" if stats else case["status"]
            message = f"flaky case {case['name']}: {rate} (reported, never gates)"
            lines.append(annotation("notice", message, file=path, title=f"goalctl: {goal} flaky"))
    return lines


def step_summary(reports: Sequence[dict[str, Any]]) -> str:
    """A Markdown table for ``$GITHUB_STEP_SUMMARY``: one row per run, with why."""
    marks = {"achieved": "✅ achieved", "not_achieved": "❌ not achieved", "error": "⚠️ error"}
    rows = [
        "### goalctl",
        "",
        "| goal | verdict | why | score | cases passed | cost | run |",
        "|---|---|---|--:|--:|--:|---|",
    ]
    for report in reports:
        totals = report["totals"]
        verdict = verdict_of(report)
        goal = f"`{report['goal']['id']}` {report['goal']['version']}"
        mark = marks.get(verdict.verdict, _markdown_text(verdict.verdict))
        # Ids are slugs, so explanations are safe Markdown; an error is arbitrary text.
        why = verdict.explanation() if verdict.scored else _markdown_text(verdict.because())
        cases = f"{totals['cases_passed']}/{totals['cases']}"
        cost = cost_text(totals["cost_usd"], totals, digits=4)
        score = f"{report['score']:.0%}" if verdict.scored else "—"
        run_id = report["run_id"]
        rows.append(f"| {goal} | {mark} | {why} | {score} | {cases} | {cost} | `{run_id}` |")
    rows += _trial_rows(reports) + _refusal_rows(reports) + _comparison_rows(reports)
    return "\n".join(rows) + "\n"


def _trial_rows(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Per criterion of the runs with trials: pass rate, 95% interval, pass@k, pass^k; and
    what early stopping saved. Ids are slugs: safe Markdown."""
    from goalctl.reports.trials import trials_line

    rows = []
    for report in reports:
        line = trials_line(report)
        if line is None:
            continue
        goal = f"`{report['goal']['id']}`"
        for criterion in report["criteria"]:
            stats = criterion.get("trials") or {}
            if not stats:
                continue
            low, high = stats["interval"]
            rows.append(
                f"| {goal} | `{criterion['id']}` | {stats['passed']}/{stats['trials']} | "
                f"{stats['pass_rate']:.0%} | {low:.0%}–{high:.0%} | {stats['k']} | "
                f"{stats['pass_at_k']:.2f} | {stats['pass_hat_k']:.2f} | {line} |"
            )
    if not rows:
        return []
    return [
        "",
        "**Trials** (95% Wilson intervals; pass@k: one of k trials passes, pass^k: all k do)",
        "",
        "| goal | criterion | trials passed | pass rate | 95% interval | k | pass@k | pass^k "
        "| trials |",
        "|---|---|--:|--:|---|--:|--:|--:|---|",
        *rows,
    ]


def _comparison_rows(reports: Sequence[dict[str, Any]]) -> list[str]:
    """The "Compared with baseline" section of each run compared with one."""
    rows = []
    for report in reports:
        if report.get("comparison"):
            from goalctl.baselines.markdown import comparison_lines

            goal = f"`{report['goal']['id']}` {report['goal']['version']}"
            section = comparison_lines(report["comparison"], heading="####")
            rows += ["", section[0] + f": {goal}", *section[1:]]
    return rows


def _refusal_rows(reports: Sequence[dict[str, Any]]) -> list[str]:
    """A table of the tool calls hard constraints refused (DESIGN §12): which case, which
    call, which constraint. Case names, tools and arguments are arbitrary text: escaped."""
    rows = []
    for report in reports:
        goal = f"`{report['goal']['id']}`"
        for case in cases_with_steps(report["cases"]):
            for step in case["trajectory"]:
                if not isinstance(step, Mapping) or step.get("refused") is None:
                    continue
                call = f"{one_line(step.get('tool'))}({one_line(step.get('args'))})"
                cells = [
                    goal,
                    _markdown_text(str(case.get("name", "")), 80),
                    _markdown_text(one_line(step.get("step")), 12),
                    _markdown_text(call, 160),
                    _markdown_text(one_line(step.get("refused")), 80),
                ]
                rows.append("| " + " | ".join(cells) + " |")
                if len(rows) == MAX_REFUSAL_ROWS:
                    rows.append("| … | more in report.json | | | |")
                    return _refusal_table(rows)
    return _refusal_table(rows) if rows else []


def _refusal_table(rows: list[str]) -> list[str]:
    return [
        "",
        "**Tool calls refused by a hard constraint** (each case failed at that step)",
        "",
        "| goal | case | step | call | refused by |",
        "|---|---|--:|---|---|",
        *rows,
    ]


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~&:])")


def _markdown_text(text: str, limit: int = 300) -> str:
    """Arbitrary text as literal Markdown in one table cell: one line, every mark escaped."""
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def append_step_summary(text: str) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions provides one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as out:
        out.write(text + "\n")
    return True
