"""Compiling a template within the render budget.

Jinja compiles a template in three steps, none of which takes a timeout: it parses the source,
generates Python from the tree, and compiles that Python. A template of 10,000 macros took
4.7 s, 30,000 took 38 s. So parsing (every statement and expression) and generating (every
node) take a step here that looks at the budget's clock, and the generated Python, whose
compilation cannot be interrupted, may be at most :data:`MAX_CODE_LINES` lines long.
"""

from __future__ import annotations

import time
from typing import Any, Final

from jinja2 import nodes
from jinja2.parser import Parser

from goalctl.templates.limits import _BUDGET, TemplateLimitError

MAX_CODE_LINES: Final = 50_000
"""Most lines of Python a template may compile to: Python compiles that many in about a
second (20 lines a macro, 1 an expression; ordinary prompts compile to a few hundred)."""

_STEPS_PER_LOOK: Final = 256
"""Compile steps between two looks at the clock."""


def compile_step() -> None:
    """One step of compiling (a statement or expression parsed, a node generated); past the
    deadline of the budget it runs in, compiling stops."""
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.compile_steps += 1
    if budget.compile_steps % _STEPS_PER_LOOK:
        return
    if time.monotonic() > budget.deadline:
        raise TemplateLimitError(
            f"template took longer than its time limit ({budget.timeout}s) to compile"
        )
    if budget.shared is not None:
        budget.shared.check(budget.operations, budget.built)


def check_code_size(source: str) -> None:
    """Refuse generated Python too long to compile within the budget."""
    lines = source.count("\n")
    if lines > MAX_CODE_LINES:
        raise TemplateLimitError(
            f"template is too large to compile: it becomes {lines:,} lines of Python (the "
            f"limit is {MAX_CODE_LINES:,}; use fewer macros, tags and expressions)"
        )


class BoundedParser(Parser):
    """Jinja's parser, taking a compile step for every statement and expression."""

    def parse_statement(self) -> nodes.Node | list[nodes.Node]:
        compile_step()
        return super().parse_statement()

    def parse_tuple(self, *args: Any, **kwargs: Any) -> nodes.Tuple | nodes.Expr:
        compile_step()
        return super().parse_tuple(*args, **kwargs)
