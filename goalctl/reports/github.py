"""GitHub Actions workflow commands (``::error file=…,line=…::…``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from goalctl.config.prices import cost_text
from goalctl.errors import Problem


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, *, file: str = "", line: int = 0, col: int = 0, title: str = ""
) -> str:
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
    return f"{head}::{_escape_data(message)}"


def problem_annotations(problems: Iterable[Problem], title: str = "goalctl validate") -> list[str]:
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


def run_annotations(report: dict[str, Any]) -> list[str]:
    """``::error``/``::warning`` lines for what went wrong in a run, at the defining lines."""
    path = str(report["scenario"])
    goal = f"{report['goal']['id']}@{report['goal']['version']}"
    lines = []
    if report["verdict"] == "error":
        lines.append(
            annotation(
                "error",
                f"the run errored, so there is no verdict: {report['error']}",
                file=path,
                line=1,
                title=f"goalctl: {goal} errored",
            )
        )
        return lines
    for criterion in report["criteria"]:
        if criterion["met"]:
            continue
        passed, evaluated = criterion["passed"], criterion["evaluated"]
        rate = f"{passed}/{evaluated} cases passed, needs {criterion['threshold']:.0%}"
        evidence = "; ".join(criterion["evidence"][:3])
        lines.append(
            annotation(
                "error",
                f"{criterion['description']} — {rate}" + (f": {evidence}" if evidence else ""),
                file=path,
                line=int(criterion["line"]),
                title=f"goalctl: criterion {criterion['id']} not met",
            )
        )
    for constraint in report["constraints"]:
        if not constraint["violated"]:
            continue
        hard = constraint["type"] == "hard"
        lines.append(
            annotation(
                "error" if hard else "warning",
                f"{constraint['description']}: " + "; ".join(constraint["violations"][:3]),
                file=path,
                line=int(constraint["line"]),
                title=f"goalctl: {constraint['type']} constraint {constraint['id']} violated",
            )
        )
    return lines


def step_summary(reports: Sequence[dict[str, Any]]) -> str:
    """A Markdown table for ``$GITHUB_STEP_SUMMARY``: one row per run."""
    marks = {"achieved": "✅ achieved", "not_achieved": "❌ not achieved", "error": "⚠️ error"}
    rows = [
        "### goalctl",
        "",
        "| goal | verdict | score | cases passed | cost | run |",
        "|---|---|--:|--:|--:|---|",
    ]
    for report in reports:
        totals = report["totals"]
        goal = f"`{report['goal']['id']}` {report['goal']['version']}"
        verdict = marks.get(report["verdict"], report["verdict"])
        cases = f"{totals['cases_passed']}/{totals['cases']}"
        cost = cost_text(totals["cost_usd"], totals, digits=4)
        score, run_id = f"{report['score']:.0%}", report["run_id"]
        rows.append(f"| {goal} | {verdict} | {score} | {cases} | {cost} | `{run_id}` |")
    return "\n".join(rows) + "\n"


def append_step_summary(text: str) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions provides one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as out:
        out.write(text + "\n")
    return True
