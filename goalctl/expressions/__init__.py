"""Safe expressions for constraint ``check``s and ``custom`` criteria (DESIGN §6, §10).

Scenario files may come from strangers' pull requests, so an expression is parsed once,
checked against a whitelist of syntax, and evaluated by a simpleeval-based evaluator that
bounds numbers, sizes, comprehension work and wall-clock time. Every failure is an
:class:`ExpressionError` that quotes the expression and names the cause.

The work is split by concern: :mod:`.checker` parses and refuses unsafe syntax,
:mod:`.limits` holds the budget and the guarded operators, functions and attributes, and
:mod:`.evaluator` walks a checked tree. This module is the public API.
"""

from __future__ import annotations

import ast
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goalctl.errors import ExpressionError
from goalctl.expressions.checker import _parse, _quote
from goalctl.expressions.evaluator import _cause, _Evaluator
from goalctl.expressions.limits import (
    _BUDGET,
    DEFAULT_TIMEOUT,
    MAX_COMPREHENSION_ITEMS,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_SIZE,
    MAX_SOURCE_LENGTH,
    MAX_TOTAL_SIZE,
    _Budget,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_COMPREHENSION_ITEMS",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_SIZE",
    "MAX_SOURCE_LENGTH",
    "MAX_TOTAL_SIZE",
    "Expression",
    "compile_expression",
    "evaluate",
    "free_names",
]


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression, ready to be evaluated many times."""

    source: str
    """The expression as written."""
    names: frozenset[str]
    """Free names it reads: neither comprehension variables nor functions."""
    tree: ast.expr = field(repr=False, compare=False)
    """The checked syntax tree that :meth:`evaluate` walks."""

    def evaluate(self, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Evaluate with ``names`` bound; any failure raises :class:`ExpressionError`."""
        budget = _Budget(time.monotonic() + timeout, timeout)
        token = _BUDGET.set(budget)
        try:
            return _Evaluator(self.source, names, budget)._eval(self.tree)
        except Exception as exc:
            raise ExpressionError(f"cannot evaluate {_quote(self.source)}: {_cause(exc)}") from exc
        finally:
            _BUDGET.reset(token)


def compile_expression(source: str) -> Expression:
    """Parse and check ``source`` once (cached); raise :class:`ExpressionError` if it is unsafe."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type(source).__name__}")
    return _compile(source)


def evaluate(source: str, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Compile ``source`` (cached) and evaluate it with ``names`` bound."""
    return compile_expression(source).evaluate(names, timeout=timeout)


def free_names(source: str) -> frozenset[str]:
    """The names ``source`` reads from the caller (see :attr:`Expression.names`)."""
    return compile_expression(source).names


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Expression:
    tree, names = _parse(source)
    return Expression(source, names, tree)
