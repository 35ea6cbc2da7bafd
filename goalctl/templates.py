"""Sandboxed Jinja templates: scenario prompts (untrusted) and goalctl's built-ins.

Scenario templates come from files that may arrive in strangers' pull requests, so every
template — built-in or not — runs in an immutable sandbox with ``StrictUndefined``: a typo in a
name is an error that points at its line, never a silently empty prompt.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from types import TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from goalctl.errors import TemplateError

TEMPLATE_FILENAME = "<template>"
"""The filename Jinja gives to code compiled from a string; used to find template lines."""

BUILTIN_TEMPLATES = ("system.md.j2", "prompt.md.j2", "judge.md.j2", "feedback.md.j2")


def _tojson(value: Any, indent: int | None = 2) -> str:
    # Prompts want readable, stable JSON: sorted keys keep snapshots and cassette hashes stable.
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=str)


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment: immutable sandbox, strict undefined, no autoescape."""
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # Smaller surface: these helpers have no use in prompts and widen what an attacker can probe.
    for name in ("cycler", "joiner", "lipsum"):
        env.globals.pop(name, None)
    env.filters["tojson"] = _tojson
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def _template_lineno(tb: TracebackType | None) -> int | None:
    """The innermost line of template code in a traceback (Jinja rewrites frames to it)."""
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def compile_template(source: str) -> jinja2.Template:
    """Compile a template; a syntax error becomes :class:`TemplateError` with its line."""
    try:
        return environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise TemplateError("template is too deeply nested to compile") from None


def render_template(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render a compiled template; any failure becomes :class:`TemplateError` with its line."""
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"undefined name: {exc.message}", _template_lineno(exc.__traceback__)
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"unsafe template: {exc}", _template_lineno(exc.__traceback__)
        ) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}", _template_lineno(exc.__traceback__)) from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise TemplateError(f"template exhausted its limits: {type(exc).__name__}") from None
    except Exception as exc:  # a filter or test failed on the data it was given
        lineno = _template_lineno(exc.__traceback__)
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}", lineno) from None


@functools.cache
def builtin_source(name: str) -> str:
    """The text of a template shipped in ``goalctl/prompts``."""
    return resources.files("goalctl.prompts").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def builtin_template(name: str) -> jinja2.Template:
    return compile_template(builtin_source(name))


def render_builtin(name: str, **context: Any) -> str:
    """Render one of goalctl's own templates."""
    return render_template(builtin_template(name), context)
