"""One exception root and the exit-code table (DESIGN §7).

Library code raises these; only the CLI's single handler turns them into exit codes and
messages. Anything that is not a :class:`GoalctlError` is a bug: exit 4, traceback to a log.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    """The goal was not achieved, or a scenario is invalid."""
    USAGE = 2
    """Usage error or bad input: unknown run id, unreadable path, bad option value."""
    RUN_ERROR = 3
    """The run errored (provider or agent failure), so there is no verdict."""
    INTERNAL = 4
    """A bug in goalctl: the traceback is written to a log under the state dir."""
    INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file, with where it is and what to do about it."""

    path: str
    line: int
    """1-based line in the file."""
    col: int
    """1-based column in the file."""
    message: str
    key: str = ""
    """Key path inside the document, e.g. ``success_criteria[1].weight``."""
    remedy: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}: "
        key = f"{self.key}: " if self.key else ""
        remedy = f" ({self.remedy})" if self.remedy else ""
        return f"{where}{key}{self.message}{remedy}"


class GoalctlError(Exception):
    """Root of every error goalctl reports to users."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(GoalctlError):
    """Bad input from the command line or the environment (exit 2)."""

    exit_code = ExitCode.USAGE


class ScenarioError(GoalctlError):
    """One or more scenario files are invalid (exit 1); carries every problem found."""

    exit_code = ExitCode.FAILED

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(GoalctlError):
    """A config value (from a file or ``--config``) breaks the agent's ``config_schema``."""

    exit_code = ExitCode.USAGE


class ExpressionError(GoalctlError):
    """A ``check`` or ``custom`` expression is malformed, unsafe or failed to evaluate."""

    exit_code = ExitCode.FAILED


class TemplateError(GoalctlError):
    """A Jinja template failed to compile or render."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, lineno: int | None = None) -> None:
        self.lineno = lineno
        super().__init__(message)


class RunError(GoalctlError):
    """A run errored (provider or agent failure): no verdict (exit 3)."""

    exit_code = ExitCode.RUN_ERROR
    trajectory: Sequence[Mapping[str, Any]] = ()
    """The steps of the case that met the error, made before it (the report shows how far
    the agent got)."""


class ToolSetupError(RunError):
    """A scenario's tool cannot be run at all — its function is missing or unmarked, its program
    not found — so the case errors (the model could do nothing about it)."""


class ProviderError(RunError):
    """A provider call failed after its retries."""

    def __init__(self, message: str, *, every_call: bool = False) -> None:
        super().__init__(message)
        self.every_call = every_call
        """The failure does not depend on the case (a rejected key, an unknown model, a request
        shape the API refuses), so every later call would fail the same way: the run stops."""
