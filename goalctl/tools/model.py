"""A scenario's ``tools:`` as the file spells them: each tool and its one implementation."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from goalctl.goal import _Strict

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

MAX_TIMEOUT_S = 600.0
DEFAULT_TIMEOUT_S = 30.0
IMPLEMENTATIONS = ("mock", "python", "command")


def _tool_name(value: str) -> str:
    if not _TOOL_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a tool name: use 1-64 letters, digits, '_' or '-' "
            "(the names model APIs accept)"
        )
    return value


ToolName = Annotated[str, AfterValidator(_tool_name)]


class MockRule(_Strict):
    """One rule of a mock tool: when it applies (``match`` or ``when``) and what the call
    gives (``result`` or ``error``). The first rule that applies answers the call."""

    match: dict[str, Any] | None = None
    """Arguments the call must have, compared as JSON values (``1`` equals ``1.0``, never
    ``true``); arguments not named here may be anything."""
    when: str | None = None
    """A safe expression over ``args`` (the call's input), the input's top-level keys,
    ``input`` (the case's input) and ``case``; the rule applies when it is true."""
    result: Any = None
    """What the call returns (any JSON value; text is sent to the model as is, anything else
    as JSON)."""
    error: str | None = None
    """A tool error sent back to the model instead of a result."""

    @model_validator(mode="after")
    def _one_of_each(self) -> MockRule:
        if (self.match is None) == (self.when is None):
            raise ValueError("a mock rule has either `match: {arg: value}` or `when: expression`")
        # `result: null` is a result; `error: null` is no error.
        if ("result" in self.model_fields_set) == (self.error is not None):
            raise ValueError("a mock rule has either `result:` or `error:`")
        return self


def _command(value: Any) -> Any:
    if value is None:
        return value
    from goalctl.config_schema import split_command

    try:
        argv = split_command(value)
    except ValueError as exc:
        raise ValueError(f"not a command: {exc}") from None
    if not argv or not argv[0].strip():
        raise ValueError("the command is empty: name a program and its arguments")
    return value


class ToolSpec(_Strict):
    """A tool the agent may call, and how goalctl answers its calls."""

    name: ToolName
    """The name the model calls the tool by (1-64 letters, digits, ``_`` or ``-``)."""
    description: str
    """What the tool does, as the model reads it."""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    """JSON Schema of the tool's input (an object); a call whose arguments do not conform is
    a tool error sent back to the model, and the tool does not run."""
    mock: Annotated[list[MockRule], Field(min_length=1)] | None = None
    """Answers written in the scenario: rules tried in order, the first that applies answers;
    a call no rule answers is a tool error naming the call."""
    python: str | None = None
    """``module:function`` of the project, marked ``@goalctl.tool``, called with the input as
    keyword arguments (sync or async); its return value is the result, an exception a tool
    error with its message."""
    command: list[str] | str | None = None
    """A program and its arguments (a list, or a string split like a shell would, no shell
    involved), run in the case's workspace with the input as JSON on stdin; its stdout is the
    result (JSON when it parses, else text), a non-zero exit a tool error with its stderr."""
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)] = (
        DEFAULT_TIMEOUT_S
    )
    """Seconds one call of a ``python`` or ``command`` tool may take (at most 600); past it
    the call is a tool error (a command's process group is killed)."""

    @field_validator("command")
    @classmethod
    def _check_command(cls, value: Any) -> Any:
        return _command(value)

    @field_validator("python")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        from goalctl.projects import parse_reference

        if value is not None and parse_reference(value) is None:
            raise ValueError(f"{value!r} is not a reference: write `module:function`")
        return value

    @model_validator(mode="after")
    def _one_implementation(self) -> ToolSpec:
        given = [kind for kind in IMPLEMENTATIONS if getattr(self, kind) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(
                f"tool {self.name!r} needs exactly one implementation: mock, python or "
                f"command{found}"
            )
        return self

    @property
    def kind(self) -> str:
        """``mock``, ``python`` or ``command``."""
        return next(kind for kind in IMPLEMENTATIONS if getattr(self, kind) is not None)

    @property
    def argv(self) -> list[str]:
        """A command tool's program and arguments."""
        from goalctl.config_schema import split_command

        return split_command(self.command)

    def definition(self) -> dict[str, Any]:
        """The tool as a model API receives it (neutral ``{name, description, input_schema}``)."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }
