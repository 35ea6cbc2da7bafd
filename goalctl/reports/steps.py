"""A case's trajectory as report text: each step's tool, arguments and result, cut to fit.

report.md shows the steps of every case that has some in a table; JUnit lists them under the
failures they explain. Arguments and results are JSON of any size and shape, written by an
agent or a model, so they are shown on one line, cut to a width, and only the first steps of a
long trajectory are shown (report.json keeps them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_SHOWN_STEPS = 50
"""Steps shown per case; report.json has the rest."""


@dataclass(frozen=True, slots=True)
class StepText:
    """One step as short text: what was called with what, and what came of it."""

    step: str
    tool: str
    args: str
    outcome: str
    """The result, or ``error: …`` for a call that failed (or was refused)."""
    failed: bool
    refused: str | None = None
    """The hard constraint that refused the call before it ran (DESIGN §12)."""
    elapsed: str = ""
    """How long the call took (``0.42s``), when known."""


def step_texts(trajectory: Sequence[Any], width: int) -> list[StepText]:
    """The first :data:`MAX_SHOWN_STEPS` steps, each field on one line of at most ``width``."""
    shown = []
    for step in trajectory[:MAX_SHOWN_STEPS]:
        if not isinstance(step, Mapping):
            continue  # a report.json edited by hand; the rest of it still renders
        error = step.get("error")
        failed = error is not None
        outcome = f"error: {one_line(error)}" if failed else one_line(step.get("result"))
        refused = step.get("refused")
        shown.append(
            StepText(
                cut(one_line(step.get("step", "")), 12),
                cut(one_line(step.get("tool", "")), width),
                cut(one_line(step.get("args")), width),
                cut(outcome, width),
                failed or refused is not None,
                None if refused is None else cut(one_line(refused), 80),
                seconds(step.get("elapsed_s")),
            )
        )
    return shown


def seconds(value: Any) -> str:
    """``elapsed_s`` as ``0.42s``; empty when unknown (or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return ""
    return f"{value:.2f}s" if value < 100 else f"{value:.0f}s"


def hidden_steps(trajectory: Sequence[Any]) -> int:
    """How many steps :func:`step_texts` leaves out."""
    return max(0, len(trajectory) - MAX_SHOWN_STEPS)


def step_line(step: StepText) -> str:
    """``#2 lookup(…) → result``, ``→ ERROR: …`` or ``→ REFUSED by <constraint>``."""
    if step.refused is not None:
        outcome = f"REFUSED by {step.refused}"
    elif step.failed:
        outcome = "ERROR: " + step.outcome.removeprefix("error: ")
    else:
        outcome = step.outcome
    took = f" ({step.elapsed})" if step.elapsed else ""
    return f"#{step.step} {step.tool}({step.args}) → {outcome}{took}"


def step_lines(name: str, trajectory: Sequence[Any], width: int) -> list[str]:
    """Plain-text lines for one case's steps (JUnit ``system-out``, logs)."""
    lines = [f"steps of case {one_line(name)}:"]
    lines += [f"  {step_line(s)}" for s in step_texts(trajectory, width)]
    if hidden_steps(trajectory):
        lines.append(f"  … {hidden_steps(trajectory)} more steps in report.json")
    return lines


def one_line(value: Any) -> str:
    """``value`` as a single line: text as is, anything else as compact JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else _json(value)
    return " ".join(text.split())


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def cases_with_steps(cases: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """The cases that called tools (report.json leaves ``trajectory`` out of the others), as
    they are read."""
    return (
        case
        for case in cases_having(cases, "trajectory")
        if isinstance(case.get("trajectory"), list | tuple) and case["trajectory"]
    )


def cases_having(cases: Iterable[Mapping[str, Any]], key: str) -> Iterator[Mapping[str, Any]]:
    """The cases whose ``key`` is there and not empty. Cases read back from a run's journal
    (:class:`goalctl.reports.journaled.JournaledCases`) find them without reading the others
    whole."""
    having = getattr(cases, "having", None)
    if having is not None:
        found: Iterator[Mapping[str, Any]] = having(key)
        return found
    return (case for case in cases if case.get(key))
