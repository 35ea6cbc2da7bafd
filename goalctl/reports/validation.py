"""How ``goalctl validate`` reports: text lines, JSON, GitHub annotations."""

from __future__ import annotations

from typing import Any

from goalctl.reports.github import WorkflowCommand, problem_annotations
from goalctl.validation import ValidationReport

REPORT_VERSION = 1


def summary_line(report: ValidationReport) -> str:
    total = len(report.results)
    noun = "file" if total == 1 else "files"
    invalid = len(report.invalid)
    if not invalid:
        return f"{total} scenario {noun} valid"
    problems = sum(1 for p in report.problems if p.severity == "error")
    plural = "s" if problems != 1 else ""
    return f"{invalid} of {total} scenario {noun} invalid ({problems} problem{plural})"


def as_text(report: ValidationReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def as_github(report: ValidationReport) -> list[WorkflowCommand]:
    return problem_annotations(report.problems)


def as_json(report: ValidationReport) -> dict[str, Any]:
    files = []
    for result in report.results:
        goal = result.scenario.goal if result.scenario is not None else None
        files.append(
            {
                "path": str(result.path),
                "valid": result.ok,
                "goal": {"id": goal.id, "version": goal.version, "name": goal.name}
                if goal
                else None,
                "problems": [
                    {
                        "line": p.line,
                        "col": p.col,
                        "key": p.key,
                        "message": p.message,
                        "remedy": p.remedy,
                        "severity": p.severity,
                    }
                    for p in result.problems
                ],
            }
        )
    return {
        "version": REPORT_VERSION,
        "valid": report.ok,
        "summary": {
            "files": len(report.results),
            "valid": len(report.results) - len(report.invalid),
            "invalid": len(report.invalid),
            "problems": len(report.problems),
        },
        "files": files,
    }
