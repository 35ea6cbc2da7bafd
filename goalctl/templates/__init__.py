"""Sandboxed Jinja templates: scenario prompts (untrusted) and goalctl's built-ins.

Scenario templates come from files that may arrive in strangers' pull requests, so every
template — built-in or not — runs in an immutable sandbox with ``StrictUndefined``: a typo in a
name is an error that points at its line, never a silently empty prompt.

The sandbox stops templates from reaching Python's internals, not from running forever or
filling memory, so every render also runs under a budget of time, operations, call depth and
sizes; :func:`render_limits` caps what many renders (a file's cases) take together. The work is
split by concern: :mod:`.limits` holds the budget and the size accounting, :mod:`.guards` the
checks on operators, filters and methods that can build something huge, and :mod:`.sandbox`
the environment and the code generator that route everything through them. This module is the
public API: compiling, rendering, and goalctl's own templates.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from importlib import resources
from types import TracebackType
from typing import Any, Final

import jinja2
from jinja2.exceptions import SecurityError

from goalctl.errors import TemplateError
from goalctl.templates.limits import (
    _BUDGET,
    DEFAULT_TIMEOUT,
    MAX_CALL_DEPTH,
    MAX_INT_BITS,
    MAX_OPERATIONS,
    MAX_OUTPUT,
    MAX_SIZE,
    MAX_TOTAL_SIZE,
    SharedLimitError,
    TemplateLimitError,
    _start,
    _stop,
    render_limits,
)
from goalctl.templates.sandbox import environment

__all__ = [
    "BUILTIN_TEMPLATES",
    "DEFAULT_TIMEOUT",
    "MAX_CALL_DEPTH",
    "MAX_INT_BITS",
    "MAX_OPERATIONS",
    "MAX_OUTPUT",
    "MAX_SIZE",
    "MAX_TOTAL_SIZE",
    "TEMPLATE_FILENAME",
    "SharedLimitError",
    "TemplateLimitError",
    "builtin_source",
    "builtin_template",
    "compile_template",
    "environment",
    "render_builtin",
    "render_limits",
    "render_template",
]


TEMPLATE_FILENAME = "<template>"
"""The filename Jinja gives to code compiled from a string; used to find template lines."""

BUILTIN_TEMPLATES = ("system.md.j2", "prompt.md.j2", "judge.md.j2", "feedback.md.j2")


# --- Compiling and rendering -----------------------------------------------------------------


def _template_lineno(tb: TracebackType | None) -> int | None:
    """The innermost line of template code in a traceback (Jinja rewrites frames to it)."""
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def compile_template(
    source: str, *, timeout: float = DEFAULT_TIMEOUT, html: bool = False
) -> jinja2.Template:
    """Compile a template; a syntax error becomes :class:`TemplateError` with its line.

    ``html`` compiles it with autoescape on (goalctl's HTML pages): every value it prints is
    escaped unless it is :class:`markupsafe.Markup`.

    Compiling runs under a render's budget (its time, and any :func:`render_limits` around
    it), so a template too large to compile in time is refused like one too slow to render.
    """
    token = _start(timeout)
    try:
        return environment(html=html).from_string(source)
    except TemplateLimitError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", exc.lineno) from None
    except (RecursionError, MemoryError, SyntaxError):
        # SyntaxError: Python's own limits on the generated code (nesting, size).
        raise TemplateError("template is too deeply nested to compile") from None
    except Exception as exc:  # e.g. an integer literal too long to convert
        raise TemplateError(f"template cannot be compiled: {exc}") from None
    finally:
        _stop(token)


def render_template(
    template: jinja2.Template, context: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Render a compiled template within its limits (time, operations, sizes, output).

    Any failure becomes :class:`TemplateError` with its template line when known.
    """
    token = _start(timeout)
    try:
        return _generate(template, context)
    except TemplateLimitError as exc:  # kept as such: a render nested in another stops that too
        lineno = _template_lineno(exc.__traceback__) or exc.lineno
        raise type(exc)(str(exc), lineno) from None
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
        raise TemplateError(
            f"template exhausted its limits: {type(exc).__name__}",
            _template_lineno(exc.__traceback__),
        ) from None
    except Exception as exc:  # a filter or test failed on the data it was given
        lineno = _template_lineno(exc.__traceback__)
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}", lineno) from None
    finally:
        _stop(token)


_BATCH: Final = 64


def _generate(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    budget = _BUDGET.get()
    assert budget is not None
    chunks: list[str] = []
    size = 0
    stream = template.generate(context)
    # Chunks are drained in batches at C speed; a batch's strings are checked before they are
    # joined, and each was counted when it was built (or is the template's own text).
    while True:
        batch = list(itertools.islice(stream, _BATCH))
        size += sum(map(len, batch))
        if size > MAX_OUTPUT:
            raise TemplateLimitError(
                f"template output exceeded its limit of {MAX_OUTPUT:,} characters",
                _stream_lineno(template, stream),
            )
        chunks += batch
        if len(batch) < _BATCH:
            return "".join(chunks)
        budget.check()


def _stream_lineno(template: jinja2.Template, stream: Any) -> int | None:
    """The template line a paused render is at (a limit stopped it between two chunks)."""
    lineno = None
    while stream is not None:
        frame = getattr(stream, "gi_frame", None)
        if frame is not None and frame.f_code.co_filename == TEMPLATE_FILENAME:
            lineno = template.get_corresponding_lineno(frame.f_lineno)
        stream = getattr(stream, "gi_yieldfrom", None)
    return lineno


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
