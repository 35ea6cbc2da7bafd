"""GitHub Actions workflow commands (``::error file=…,line=…::…``)."""

from __future__ import annotations

from collections.abc import Iterable

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
