"""The dispatcher an agent calls: a scenario's tools by name, each call checked and timed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goalctl.tools.implementations import (
    ToolFailure,
    answer_mock,
    call_python,
    run_command,
    shown_call,
)
from goalctl.tools.model import ToolSpec

if TYPE_CHECKING:
    from goalctl.scenario.model import Scenario

MAX_RESULT_TEXT = 100_000
"""The most characters of one result sent back to the model; longer ones are cut, with a
note of their length (the trajectory keeps its own, shorter bound)."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """How one call ended: a result, or an error the model is told about."""

    result: Any = None
    error: str | None = None
    elapsed_s: float = 0.0
    """Seconds the tool took (0 when the call was refused before it ran)."""

    @property
    def text(self) -> str:
        """What the model receives: the error, text as it is, anything else as JSON."""
        if self.error is not None:
            text = self.error
        elif isinstance(self.result, str):
            text = self.result
        else:
            text = json.dumps(self.result, ensure_ascii=False)
        if len(text) > MAX_RESULT_TEXT:
            return text[:MAX_RESULT_TEXT] + f"… [cut: {len(text):,} characters in all]"
        return text

    def block(self, tool_use_id: str) -> dict[str, Any]:
        """The ``tool_result`` content block answering the call ``tool_use_id``."""
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": self.text,
        }
        if self.error is not None:
            block["is_error"] = True
        return block


class ToolBox:
    """A scenario's tools: their definitions for the model, and :meth:`call`."""

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        *,
        project: Path,
        scenario_dir: Path,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self.monotonic = monotonic
        """The run's clock, which times each call (a frozen one in tests and snapshots)."""
        self.project = project
        """The project ``python`` tools are found in."""
        self.scenario_dir = scenario_dir
        """The scenario's folder, given to command tools as ``$GOALCTL_SCENARIO_DIR``."""

    @classmethod
    def for_scenario(
        cls, scenario: Scenario, monotonic: Callable[[], float] = time.monotonic
    ) -> ToolBox:
        from goalctl.projects import project_root

        return cls(
            scenario.spec.tools,
            project=project_root(scenario.path),
            scenario_dir=scenario.path.resolve().parent,
            monotonic=monotonic,
        )

    def __bool__(self) -> bool:
        return bool(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def definitions(self) -> tuple[dict[str, Any], ...]:
        """The tools as a model request carries them (``{name, description, input_schema}``)."""
        return tuple(tool.definition() for tool in self._tools.values())

    async def call(
        self,
        name: str,
        args: Any,
        *,
        workspace: Path | None,
        context: Mapping[str, Any],
    ) -> ToolOutcome:
        """Run one call of the tool ``name`` with ``args`` (the model's input).

        ``context`` holds the case's names (``input``, ``case``) that mock rules read. A tool
        error — unknown tool, arguments that break the input_schema, a failing tool — is an
        outcome with ``error`` set; :class:`~goalctl.errors.ToolSetupError` means the tool
        cannot run at all and the case errors.
        """
        spec = self._tools.get(name)
        if spec is None:
            known = ", ".join(self._tools) or "none"
            return ToolOutcome(error=f"unknown tool {name!r} (the tools are: {known})")
        problem = argument_problem(spec, args)
        if problem is not None:
            return ToolOutcome(error=problem)
        started = self.monotonic()
        try:
            result = await self._dispatch(spec, args, workspace, context)
        except ToolFailure as exc:
            return ToolOutcome(error=str(exc), elapsed_s=self.monotonic() - started)
        return ToolOutcome(result=result, elapsed_s=self.monotonic() - started)

    async def _dispatch(
        self,
        spec: ToolSpec,
        args: dict[str, Any],
        workspace: Path | None,
        context: Mapping[str, Any],
    ) -> Any:
        if spec.mock is not None:
            return answer_mock(spec, args, context)
        if spec.python is not None:
            return await call_python(spec, args, self.project)
        case = context.get("case")
        environment = {
            "GOALCTL_TOOL": spec.name,
            "GOALCTL_CASE": str(case.get("name", "")) if isinstance(case, Mapping) else "",
            "GOALCTL_SCENARIO_DIR": str(self.scenario_dir),
        }
        return await run_command(spec, args, workspace=workspace, environment=environment)


def argument_problem(spec: ToolSpec, args: Any) -> str | None:
    """Why ``args`` may not be passed to the tool (not an object, or breaking its
    input_schema), naming the call and the first problem; None when they may."""
    if not isinstance(args, dict):
        return f"the input of tool {spec.name!r} must be an object, got {type(args).__name__}"
    from referencing.exceptions import Unresolvable

    from goalctl.scenario.checks import schema_validator

    try:
        errors = sorted(
            schema_validator(spec.input_schema).iter_errors(args), key=lambda e: list(e.path)
        )
    except (Unresolvable, RecursionError, OverflowError) as exc:
        return f"the input_schema of tool {spec.name!r} cannot be applied: {exc}"
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.path)
    at = f" at {where}" if where else ""
    return (
        f"invalid arguments for {shown_call(spec.name, args)}{at}: {first.message} "
        "(see the tool's input_schema)"
    )
