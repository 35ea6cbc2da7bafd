"""What ``goalctl validate`` checks of a scenario's ``tools`` and its cases' ``turns``, without
running or importing anything: each problem located at its ``file:line:col``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from goalctl.errors import ExpressionError
from goalctl.tools.model import ToolSpec

if TYPE_CHECKING:
    from goalctl.agents.manifest import AgentManifest
    from goalctl.scenario.loader import _Reader
    from goalctl.scenario.model import ScenarioSpec

TOOLS_CAPABILITY = "tools"
"""Capability of an agent that calls a scenario's ``tools`` itself (the ``llm`` agent)."""
TURNS_CAPABILITY = "turns"
"""Capability of an agent that holds a case's ``turns`` as one conversation."""


def check_tools(reader: _Reader, spec: ScenarioSpec, manifest: AgentManifest | None) -> None:
    """Names unique, schemas valid objects, ``when`` expressions safe, ``python`` functions
    found and marked — and an agent that uses them."""
    if spec.tools and manifest is not None and TOOLS_CAPABILITY not in manifest.capabilities:
        reader.at(
            ("tools",),
            f"agent {spec.agent!r} does not call a scenario's tools; they would be ignored",
            "use agent: llm, or give your own agent its tools",
            key=True,
        )
    seen: dict[str, int] = {}
    for index, tool in enumerate(spec.tools):
        if tool.name in seen:
            reader.at(
                ("tools", index, "name"),
                f"tool {tool.name!r} is declared twice (first as tools[{seen[tool.name]}])",
                "give each tool its own name",
            )
        seen.setdefault(tool.name, index)
        _input_schema(reader, index, tool)
        for number, rule in enumerate(tool.mock or []):
            if rule.when is not None:
                _when(reader, ("tools", index, "mock", number, "when"), rule.when, tool)
        if tool.python is not None:
            _python(reader, index, tool)


def _input_schema(reader: _Reader, index: int, tool: ToolSpec) -> None:
    from goalctl.scenario.checks import schema_error

    path = ("tools", index, "input_schema")
    error = schema_error(tool.input_schema)
    if error is not None:
        where, message = error
        reader.at((*path, *where), f"not a valid JSON Schema: {message}")
    elif tool.input_schema.get("type", "object") != "object":
        reader.at(
            (*path, "type"),
            "a tool's input is an object: model APIs send arguments by name",
            "write type: object and list the arguments under properties",
        )


def _when(reader: _Reader, path: tuple[str | int, ...], source: str, tool: ToolSpec) -> None:
    """A ``when`` that compiles and reads only names a call binds: ``args``, ``input``,
    ``case`` and the input's keys. Keys the input_schema does not declare may still arrive
    when it allows other properties, so only ``true``/``false``/``null`` (never bound) are
    refused then."""
    from goalctl.check_names import JSON_LITERALS, suggestion
    from goalctl.expressions import compile_expression
    from goalctl.expressions.checker import _quote

    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        reader.at(path, str(exc))
        return
    properties = tool.input_schema.get("properties")
    declared = [str(k) for k in (properties if isinstance(properties, dict) else ())]
    known = {"args", "input", "case", *(k for k in declared if k.isidentifier())}
    closed = tool.input_schema.get("additionalProperties") is False
    for name in sorted(expression.names - known):
        if closed or name in JSON_LITERALS:
            reader.at(
                path,
                f"unknown name {name!r} in {_quote(source)}: the rule cannot be evaluated",
                suggestion(name, known),
            )


def _python(reader: _Reader, index: int, tool: ToolSpec) -> None:
    from goalctl.projects import inspect_reference, parse_reference, project_root
    from goalctl.tools.marking import DECORATOR

    reference = parse_reference(tool.python or "")
    if reference is None:
        return  # the model refused it already
    arguments = frozenset(_properties(tool.input_schema))
    problem = inspect_reference(project_root(reader.path), reference, DECORATOR, arguments)
    if problem is not None:
        problem = problem.replace(
            "which goalctl does not provide", "which the tool's input_schema does not declare"
        )
        reader.at(("tools", index, "python"), problem)


def _properties(schema: dict[str, Any]) -> Iterable[str]:
    properties = schema.get("properties")
    return [str(k) for k in properties] if isinstance(properties, dict) else []


def check_turns(reader: _Reader, spec: ScenarioSpec, manifest: AgentManifest | None) -> None:
    """Each case's ``turns`` compile and read only names they will have; the agent holds
    conversations."""
    import jinja2

    from goalctl.check_names import suggestion
    from goalctl.scenario.render import TURN_NAMES, LocatedTemplateError, compiled, turn_template
    from goalctl.templates import environment

    own = {
        "goal", "goal_context", "config", "case", "input", "expected", "phase_instructions",
        "attempt", "feedback", *TURN_NAMES,
    }  # fmt: skip
    known = own | set(environment().globals)
    for c_index, case in enumerate(spec.cases):
        if not case.turns:
            continue
        if manifest is not None and TURNS_CAPABILITY not in manifest.capabilities:
            reader.at(
                ("cases", c_index, "turns"),
                f"agent {spec.agent!r} does not hold multi-turn conversations; turns would be "
                "ignored",
                "use agent: llm",
                key=True,
            )
        for t_index, source in enumerate(case.turns):
            path = ("cases", c_index, "turns", t_index)
            found = reader.source_map.get(path)
            line = (found.body_line or found.line) if found else 1
            template = turn_template(source, line, c_index, t_index)
            try:
                compiled(template)
            except LocatedTemplateError as exc:
                reader.problem(exc.file_line or line, 1, str(exc), _key(path))
                continue
            try:
                parsed = environment().parse(source)
            except jinja2.TemplateSyntaxError:
                continue
            from jinja2 import meta

            for name in sorted(meta.find_undeclared_variables(parsed) - known):
                reader.at(
                    path, f"undefined name {name!r} in turn template", suggestion(name, known)
                )


def _key(path: tuple[str | int, ...]) -> str:
    from goalctl.scenario.positions import format_key

    return format_key(path)
