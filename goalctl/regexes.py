"""Regular expressions from scenario files: compiled safely, searched in bounded time.

Patterns in scenarios (``output_matches`` targets, scripted ``match`` rules, ``redact``,
JSON Schema ``pattern``) may come from strangers, and a pattern such as ``(a+)+$`` backtracks
for hours on a modest text. Python's ``re`` cannot be interrupted, so these patterns run on the
``regex`` engine, which takes a timeout; a hostile pattern fails with a clear error instead.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

SEARCH_TIMEOUT_S = 1.0
"""How long one search may take."""


class PatternError(ValueError):
    """A pattern that does not compile, or a search that ran out of time."""


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled pattern; :class:`PatternError` says why it is not one."""
    import regex

    try:
        return regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError, MemoryError, ValueError) as exc:
        raise PatternError(f"invalid regular expression: {exc}") from None


def check_pattern(pattern: str) -> str:
    """``pattern`` itself when it compiles (for validators)."""
    compile_pattern(pattern)
    return pattern


def search(pattern: str, text: str, timeout: float = SEARCH_TIMEOUT_S) -> regex.Match[str] | None:
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(text, timeout=timeout)
    except TimeoutError:
        raise PatternError(f"regular expression {pattern!r} took longer than {timeout}s") from None


def substitute(pattern: str, replacement: str, text: str, timeout: float = SEARCH_TIMEOUT_S) -> str:
    compiled = compile_pattern(pattern)
    try:
        return str(compiled.sub(replacement, text, timeout=timeout))
    except TimeoutError:
        raise PatternError(f"regular expression {pattern!r} took longer than {timeout}s") from None
