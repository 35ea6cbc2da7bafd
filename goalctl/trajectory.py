"""What an agent did: the ordered tool calls of one case, with their results (DESIGN §11).

Steps come from two places. The model exchange shows them: a ``tool_use`` block in a reply is
a call, and the ``tool_result`` block with its id in a later request is its result (or error).
Agents may also report steps the model never saw — a retrieval, a sub-agent — as JSON lines
``{"tool", "args", "result", "error"}`` in the file named by ``$GOALCTL_TRAJECTORY`` (python
agents return them). Both land in one list, in the order they happened, and every check over
a trajectory (issue "tools and trajectory checks") reads that list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goalctl.providers.base import CompletionRequest, CompletionResponse
from goalctl.reading import ReadError, decode, loads_json, read_bytes

MAX_STEPS = 10_000
"""The most steps one case may record; more is an error, not a silent cut."""
MAX_RESULT_CHARS = 20_000
"""A step's result or error longer than this is stored cut, with a note of its length."""
CALL_CHARS = 200
"""The most of a call's arguments quoted in a message about it (a refusal)."""
REPORTED_KEYS = frozenset({"tool", "args", "result", "error"})


class TrajectoryError(ValueError):
    """A step an agent reported that is not a step; the message names the line and why."""


@dataclass(slots=True)
class Step:
    """One tool call."""

    step: int
    """1-based position in the case's trajectory."""
    tool: str
    args: Any = None
    result: Any = None
    error: str | None = None
    id: str | None = None
    """The model's tool-call id, for steps seen through the model exchange."""
    source: str = "model"
    """``model`` (seen in the model exchange) or ``agent`` (reported by the agent)."""
    elapsed_s: float | None = None
    """Seconds the call took (tool run, or from the model's call to its result); None when
    unknown."""
    refused: str | None = None
    """The id of the hard constraint that refused this call before it ran (DESIGN §12)."""

    def refuse(self, constraint: str, evidence: str, error: str | None = None) -> None:
        """Mark the call refused by the hard constraint ``constraint`` before it ran, with the
        words every agent kind uses for it."""
        reason = f"{evidence}: {error}" if error else evidence
        self.refused = constraint
        self.result = None
        self.error = f"refused by hard constraint `{constraint}` before it ran ({reason})"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "tool": self.tool,
            "args": self.args,
            "result": self.result,
            "error": self.error,
        }
        if self.id is not None:
            data["id"] = self.id
        data["source"] = self.source
        if self.elapsed_s is not None:
            data["elapsed_s"] = self.elapsed_s
        if self.refused is not None:
            data["refused"] = self.refused
        return data


@dataclass
class Trajectory:
    """The steps of one case, built as the case runs."""

    steps: list[Step] = field(default_factory=list)
    _by_id: dict[str, Step] = field(default_factory=dict)

    def observe(self, request: CompletionRequest, response: CompletionResponse) -> None:
        """Take the results a request carries, then the calls its reply makes."""
        self.take_results(request)
        for block in response.tool_calls:
            self.add_call(block)

    def take_results(self, request: CompletionRequest) -> None:
        """Take the results (or errors) of earlier calls that a request carries."""
        for message in request.messages:
            if isinstance(message.content, str):
                continue
            for block in message.content:
                if block.get("type") == "tool_result":
                    self._result(block)

    def add_call(self, block: Mapping[str, Any]) -> Step:
        """Add the call a ``tool_use`` block of a reply makes, as yet without a result."""
        step = Step(
            step=0,
            tool=str(block.get("name", "")),
            args=block.get("input"),
            id=str(block.get("id") or "") or None,
        )
        self._add(step)
        return step

    def record(self, step: Step) -> Step:
        """Add a step the agent knows directly (a tool it ran itself), its result and error
        bounded as any other; returns it numbered."""
        step.result, step.error = _bounded(step.result), _bounded(step.error)
        self._add(step)
        return step

    def report(self, line: Mapping[str, Any], where: str) -> None:
        """Add a step the agent reported itself; :class:`TrajectoryError` if it is not one."""
        unknown = sorted(set(line) - REPORTED_KEYS - {"step", "id", "source"})
        if unknown:
            raise TrajectoryError(
                f"{where}: unknown key {unknown[0]!r} (known: tool, args, result, error)"
            )
        tool = line.get("tool")
        if not isinstance(tool, str) or not tool.strip():
            raise TrajectoryError(f"{where}: 'tool' must be the tool's name")
        error = line.get("error")
        if error is not None and not isinstance(error, str):
            raise TrajectoryError(f"{where}: 'error' must be text or null")
        self._add(
            Step(
                step=0,
                tool=tool,
                args=line.get("args"),
                result=_bounded(line.get("result")),
                error=_bounded(error),
                source="agent",
            )
        )

    def read_reported(self, path: Path) -> None:
        """Add the steps in the JSON-lines file ``path`` (a missing or empty file adds none)."""
        if not path.exists():
            return
        try:
            text = decode(read_bytes(path, "trajectory"), f"trajectory file {path.name}")
        except ReadError as exc:
            raise TrajectoryError(str(exc)) from None
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            where = f"$GOALCTL_TRAJECTORY line {number}"
            try:
                line = loads_json(raw, where)
            except ReadError as exc:
                raise TrajectoryError(str(exc)) from None
            if not isinstance(line, dict):
                raise TrajectoryError(f"{where}: expected a JSON object")
            self.report(line, where)

    def extend_reported(self, lines: Iterable[Mapping[str, Any]]) -> None:
        for number, line in enumerate(lines, start=1):
            self.report(line, f"trajectory step {number}")

    def to_json(self) -> list[dict[str, Any]]:
        return [step.to_json() for step in self.steps]

    def _add(self, step: Step) -> None:
        if len(self.steps) >= MAX_STEPS:
            raise TrajectoryError(f"more than {MAX_STEPS:,} steps in one case")
        step.step = len(self.steps) + 1
        self.steps.append(step)
        if step.id:
            self._by_id[step.id] = step

    def _result(self, block: Mapping[str, Any]) -> None:
        step = self._by_id.get(str(block.get("tool_use_id", "")))
        if step is None:
            return  # a result for a call made before goalctl saw the conversation
        content = _content(block.get("content"))
        if block.get("is_error"):
            step.error, step.result = _bounded(_as_text(content)), None
        else:
            step.result, step.error = _bounded(content), None


def call_text(tool: str, args: Any, limit: int = CALL_CHARS) -> str:
    """A call as one line, ``tool({"arg": 1})``, its arguments cut to ``limit`` characters."""
    shown = " ".join(_as_text(args if args is not None else {}).split())
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"{tool}({shown})"


def _content(content: Any) -> Any:
    """A tool result's content: its text, parsed as JSON when it is JSON."""
    if isinstance(content, list):
        content = "".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, Mapping) and b.get("type") == "text"
        )
    if isinstance(content, str):
        try:
            return loads_json(content, "tool result")
        except ReadError:
            return content
    return content


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_RESULT_CHARS:
        return value[:MAX_RESULT_CHARS] + f"… [{len(value):,} characters]"
    return value
