"""Rendering a scenario's templates for one case: the names templates see, and the prompts."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from goalctl.errors import TemplateError
from goalctl.goal import Goal
from goalctl.scenario.model import Case, TemplateText
from goalctl.templates import compile_template, environment, render_template

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class RenderedCase:
    name: str
    system: str
    prompt: str


class LocatedTemplateError(TemplateError):
    """A template error with the file line it happened on."""

    def __init__(self, template: TemplateText, error: TemplateError) -> None:
        self.template = template
        self.error = error  # as reported: its class tells a spent shared budget from the rest
        # Jinja reports "unexpected end of template" one line past the text; clamp to its end.
        last = max(template.source.count("\n") - (1 if template.source.endswith("\n") else 0), 0)
        offset = min((error.lineno or 1) - 1, last)
        self.file_line = template.line + offset if template.line else 0
        where = f"in the {template.name} template"
        super().__init__(f"{error} ({where})" if template.builtin else str(error), error.lineno)


def case_context(
    goal: Goal,
    config: Mapping[str, Any],
    case: Case,
    name: str,
    phase_instructions: Mapping[str, str],
    *,
    attempt: int = 1,
    feedback: str | None = None,
    goal_context: str | None = None,
) -> dict[str, Any]:
    """The names every scenario template can use.

    ``goal_context`` is the same for every case of a scenario: callers that render many
    cases compute it once and pass it in.
    """
    return {
        "goal": goal,
        "goal_context": goal.to_prompt_context() if goal_context is None else goal_context,
        "config": dict(config),
        "case": {"name": name, "description": case.description},
        "input": case.input,
        "expected": case.expected,
        "phase_instructions": dict(phase_instructions),
        "attempt": attempt,
        "feedback": feedback,
    }


_COMPILED: dict[str, jinja2.Template] = {}


def compiled(template: TemplateText) -> jinja2.Template:
    """Compile once per distinct source: every case of every scenario shares the result."""
    found = _COMPILED.get(template.source)
    if found is None:
        try:
            found = compile_template(template.source)
        except TemplateError as exc:
            raise LocatedTemplateError(template, exc) from None
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        _COMPILED[template.source] = found
    return found


def render(template: TemplateText, context: Mapping[str, Any]) -> str:
    try:
        return render_template(compiled(template), context)
    except LocatedTemplateError:
        raise
    except TemplateError as exc:
        raise LocatedTemplateError(template, exc) from None


def render_case(
    templates: Mapping[str, TemplateText], context: Mapping[str, Any], name: str
) -> RenderedCase:
    return RenderedCase(
        name, render(templates["system"], context), render(templates["prompt"], context)
    )


def render_target(target: Any, context: Mapping[str, Any]) -> Any:
    """A criterion's target for one case.

    A target that is exactly ``{{ expression }}`` yields the expression's value with its type
    (``{{ expected.result }}`` → ``4``, not ``"4"``); other strings with template syntax render
    to text; anything else is returned as is.
    """
    if not isinstance(target, str) or ("{{" not in target and "{%" not in target):
        return target
    single = _SINGLE_EXPRESSION.match(target)
    if single is not None and "}}" not in single.group(1):
        expression = _target_expression(single.group(1))
        try:
            value = expression(**context)
        except TemplateError:
            raise  # a limit of the render, or a nested render's error: its message says it all
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined name in target: {exc.message}") from None
        except Exception as exc:
            raise TemplateError(f"target failed: {type(exc).__name__}: {exc}") from None
        if isinstance(value, jinja2.Undefined):
            raise TemplateError("target is undefined for this case")
        return value
    return render_template(_target_template(target), context)


@functools.lru_cache(maxsize=4096)
def _target_expression(source: str) -> Any:
    # Targets are evaluated once per case and criterion; compiling is the expensive part.
    try:
        return environment().compile_expression(source, undefined_to_none=False)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"target syntax error: {exc.message}") from None


@functools.lru_cache(maxsize=4096)
def _target_template(source: str) -> jinja2.Template:
    return compile_template(source)


TURN_NAMES = ("previous", "answers", "turn")
"""Names a case's ``turns`` templates see besides the case's own."""


def turn_template(source: str, line: int, case: int, turn: int) -> TemplateText:
    """Turn ``turn`` (0-based) of case ``case`` as a template whose first line is ``line``."""
    return TemplateText(f"cases[{case}].turns[{turn}]", source, line)


def render_turn(template: TemplateText, context: Mapping[str, Any], answers: list[str]) -> str:
    """The follow-up user message after ``answers`` (the conversation's answers so far):
    ``previous`` is the last of them and ``turn`` counts the follow-ups from 1."""
    names = {
        **context,
        "previous": answers[-1] if answers else "",
        "answers": list(answers),
        "turn": len(answers),
    }
    return render(template, names)
