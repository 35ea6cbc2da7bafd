"""The names a ``check`` can read, in one place for the evaluator and for ``goalctl validate``.

An expression that reads a name the run will not bind fails on every case; ``validate`` finds
it first, with a "did you mean" drawn from the same lists the evaluator binds from. This
module is light (no pydantic, no evaluation) so scenario loading can use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Final

METRIC_NAMES: Final = (
    "elapsed_s",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "llm_calls",
    "attempts",
)
"""Names a ``check`` can use besides the case's data; also the run totals of a budget."""

CONTEXT_NAMES: Final = (
    "output",
    "text",
    "value",
    "input",
    "expected",
    "case",
    "error",
    "config",
    "answers",
)
"""The case's data, bound for every check expression (``value`` is ``output`` again;
``answers`` the text of each answer of a multi-turn case, ``[text]`` for any other)."""

CRITERION_NAMES: Final = ("target",)
"""Bound only for ``custom`` criteria: the criterion's rendered ``target``."""

TRAJECTORY_FUNCTIONS: Final = frozenset({"called", "count"})
"""Names of the trajectory that are functions: ``called(name)`` and ``count(name)``. The
expression sandbox lets these (and only these) names be called although they are bound per
evaluation, not built in (:mod:`goalctl.expressions.checker`)."""

TRAJECTORY_NAMES: Final[tuple[str, ...]] = ("trajectory", "steps", "tool_calls", "called", "count")
"""Names of a case's trajectory (DESIGN §12), bound for every check expression: the step dicts,
their number, the names of the tools that ran in order, and ``called``/``count``. A hard
constraint that reads one of them is checked before each tool call."""

CHECK_ARGUMENTS: Final = frozenset(
    {
        "output",
        "text",
        "input",
        "expected",
        "target",
        "case",
        "metrics",
        "config",
        "error",
        "trajectory",
        "answers",
    }
)
"""Keyword arguments a ``module:function`` check may take (``metrics`` maps the metric names
to their values; ``trajectory`` is the list of step dicts)."""


def output_names(
    output_schema: Mapping[str, Any] | None, *, text_without_schema: bool
) -> frozenset[str] | None:
    """Top-level keys of the output a check can read as names (``total`` for
    ``output['total']``); None when nothing says which keys there are.

    Without an ``output_schema`` an agent whose output is then text (``text_without_schema``,
    as the ``llm`` agent's) gives no keys; another agent's keys are unknown. A schema that
    declares ``properties`` (at its top or in an ``allOf``/``anyOf``/``oneOf`` branch) names
    them all: a name outside them is taken for a typo, and ``output['key']`` reads any other key.
    """
    if not output_schema:
        return frozenset() if text_without_schema else None
    declared = set(_properties(output_schema))
    for combinator in ("allOf", "anyOf", "oneOf"):
        branches = output_schema.get(combinator)
        if isinstance(branches, list):
            for branch in branches:
                if isinstance(branch, Mapping):
                    declared.update(_properties(branch))
    if not declared:
        return None
    return frozenset(name for name in declared if name.isidentifier())


def _properties(schema: Mapping[str, Any]) -> Iterable[str]:
    properties = schema.get("properties")
    return [str(k) for k in properties] if isinstance(properties, Mapping) else []


def known_names(output_keys: Iterable[str], *, criterion: bool) -> frozenset[str]:
    """Every name a check expression can read."""
    names = {*output_keys, *CONTEXT_NAMES, *METRIC_NAMES, *TRAJECTORY_NAMES}
    if criterion:
        names.update(CRITERION_NAMES)
    return frozenset(names)


JSON_LITERALS: Final = {"true": "True", "false": "False", "null": "None", "none": "None"}
"""Names YAML and JSON habits put in an expression, with the Python literal meant."""


def suggestion(name: str, known: Iterable[str]) -> str:
    """A remedy for an unknown ``name``: the closest known name, or the list of them."""
    if name in JSON_LITERALS:
        return f"expressions are Python: write {JSON_LITERALS[name]}, not {name}"
    ordered = sorted(known)
    close = difflib.get_close_matches(name, ordered, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "known names: " + ", ".join(ordered)
