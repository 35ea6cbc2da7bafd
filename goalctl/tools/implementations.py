"""One call of each kind of tool: ``mock`` rules, a ``python`` function, a ``command``.

Each returns the call's result or raises :class:`ToolFailure` (a tool error the model is told
about: a mock that does not answer, an exception, a non-zero exit). What no model could fix —
an unmarked function, a program that does not exist — raises
:class:`~goalctl.errors.ToolSetupError`, and the case errors.
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from goalctl.errors import ExpressionError, ToolSetupError
from goalctl.projects import Reference
from goalctl.tools.model import ToolSpec

MAX_COMMAND_STDOUT = 1024 * 1024
"""The most a command tool may write on stdout; more is a tool error, not a silent cut."""
STDERR_EVIDENCE = 1000
"""How much of the end of a failed command's stderr the model is told."""


class ToolFailure(Exception):
    """A tool error: the call ran (or was answered) and failed; the message goes to the model."""


def json_same(left: Any, right: Any) -> bool:
    """Equality of JSON values: ``1 == 1.0``, but ``true`` never equals ``1``, at any depth."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            json_same(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def shown_call(name: str, args: Any) -> str:
    """``name({...})`` with the arguments as compact JSON, cut to a readable length."""
    from goalctl.excerpts import excerpt

    text = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str)
    return f"{name}({excerpt(text, 200)})"


def answer_mock(spec: ToolSpec, args: dict[str, Any], context: Mapping[str, Any]) -> Any:
    """The result of the first rule that applies; :class:`ToolFailure` for its ``error``, for a
    ``when`` that cannot be evaluated, or when no rule applies."""
    assert spec.mock is not None
    for number, rule in enumerate(spec.mock, start=1):
        if rule.match is not None:
            applies = all(k in args and json_same(args[k], v) for k, v in rule.match.items())
        else:
            assert rule.when is not None
            applies = _when(spec, number, rule.when, args, context)
        if applies:
            if rule.error is not None:
                raise ToolFailure(rule.error)
            return rule.result
    raise ToolFailure(
        f"no mock rule of tool {spec.name!r} answers the call {shown_call(spec.name, args)}"
    )


def when_names(
    spec: ToolSpec, args: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    """The names a mock rule's ``when`` reads: the input's top-level keys (every property the
    input_schema declares, None when the call leaves it out), then ``args``, ``input`` (the
    case's input) and ``case``, which win over keys of the same name."""
    properties = spec.input_schema.get("properties")
    names: dict[str, Any] = {
        str(k): None for k in (properties if isinstance(properties, dict) else ())
    }
    names.update({str(k): v for k, v in args.items()})
    names = {k: v for k, v in names.items() if k.isidentifier()}
    names.update(args=dict(args), input=context.get("input"), case=context.get("case"))
    return names


def _when(
    spec: ToolSpec, number: int, source: str, args: Mapping[str, Any], context: Mapping[str, Any]
) -> bool:
    from goalctl.expressions import compile_expression

    try:
        return bool(compile_expression(source).evaluate(when_names(spec, args, context)))
    except ExpressionError as exc:
        raise ToolFailure(
            f"mock rule {number} of tool {spec.name!r} cannot be evaluated: {exc}"
        ) from None


async def call_python(spec: ToolSpec, args: dict[str, Any], project: Path) -> Any:
    """The return value of the tool's function called with ``args`` as keyword arguments."""
    from goalctl.agents.python import call_in_thread
    from goalctl.projects import ProjectError, parse_reference

    reference = parse_reference(spec.python or "")
    if reference is None:
        raise ToolSetupError(f"tool {spec.name!r}: {spec.python!r} is not module:function")
    try:
        function = _load_tool(project, reference)
    except ProjectError as exc:
        raise ToolSetupError(f"tool {spec.name!r}: {exc}") from None
    try:
        value = await call_in_thread(function, args, spec.timeout_s)
    except TimeoutError:
        raise ToolFailure(f"tool {spec.name!r} did not return within {spec.timeout_s:g}s") from None
    except ProjectError as exc:
        raise ToolFailure(str(exc)) from None
    except Exception as exc:
        raise ToolFailure(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ToolSetupError(
            f"tool {spec.name!r}: {spec.python} returned {type(value).__name__}, which is not "
            f"JSON data ({exc})"
        ) from None
    return value


@functools.lru_cache(maxsize=256)
def _load_tool(root: Path, reference: Reference) -> Callable[..., Any]:
    from goalctl.projects import load_marked
    from goalctl.tools.marking import DECORATOR, MARK

    return load_marked(root, reference, MARK, DECORATOR)


async def run_command(
    spec: ToolSpec,
    args: dict[str, Any],
    *,
    workspace: Path | None,
    environment: Mapping[str, str],
) -> Any:
    """The command's stdout (JSON when it parses, else text), run in ``workspace`` (a scratch
    folder when there is none) with ``args`` as JSON on stdin."""
    if workspace is not None:
        return await _run_in(spec, args, workspace, environment)
    with tempfile.TemporaryDirectory(prefix="goalctl-tool-") as scratch:
        return await _run_in(spec, args, Path(scratch), environment)


async def _run_in(
    spec: ToolSpec, args: dict[str, Any], cwd: Path, environment: Mapping[str, str]
) -> Any:
    from goalctl.agents.external import child_environment
    from goalctl.processes import run_process
    from goalctl.reading import ReadError, loads_json

    argv = spec.argv
    try:
        process = await run_process(
            argv,
            stdin=json.dumps(args, ensure_ascii=False).encode(),
            cwd=cwd,
            env=child_environment(environment),
            timeout_s=spec.timeout_s,
            max_stdout=MAX_COMMAND_STDOUT,
        )
    except FileNotFoundError:
        raise ToolSetupError(f"tool {spec.name!r}: command not found: {argv[0]!r}") from None
    except PermissionError:
        raise ToolSetupError(
            f"tool {spec.name!r}: command is not executable: {argv[0]!r}"
        ) from None
    if process.timed_out:
        raise ToolFailure(
            f"tool {spec.name!r} timed out after {spec.timeout_s:g}s (its process group was killed)"
        )
    if process.returncode != 0:
        tail = " | ".join(line for line in process.stderr_tail.splitlines() if line.strip())
        evidence = f": {tail[-STDERR_EVIDENCE:]}" if tail else ""
        raise ToolFailure(f"tool {spec.name!r} exited with status {process.returncode}{evidence}")
    if process.truncated:
        raise ToolFailure(
            f"tool {spec.name!r} wrote more than {MAX_COMMAND_STDOUT // 1024} KiB on stdout"
        )
    text = process.stdout.decode("utf-8", "replace").strip()
    try:
        return loads_json(text, f"the output of tool {spec.name!r}")
    except ReadError:
        return text
