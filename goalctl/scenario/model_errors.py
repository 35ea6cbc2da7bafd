"""Pydantic's validation errors of a scenario in goalctl's words: the key path they are at
(union-branch markers dropped), what is wrong, and what to do.

The loader turns each into a problem at the ``file:line:col`` of its key path.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from goalctl.goal import Constraint, SuccessCriterion
from goalctl.scenario.model import (
    SPEC_FIELDS,
    UNION_TAGS,
    Case,
    ModelPrice,
    ScriptedRule,
    TextBlock,
    ToolCall,
    ToolUseBlock,
    ToolUseReply,
)
from goalctl.scenario.positions import KeyPath
from goalctl.sizes import shown_number


def without_union_noise(errors: list[Any], data: Any) -> list[Any]:
    """For a value of a union type (``str | ScriptedRule``), pydantic reports why every branch
    failed; keep only the most specific errors, not "expected a string" for a mapping."""
    locations = [clean_loc(error["loc"], data) for error in errors]
    kept = []
    for error, loc in zip(errors, locations, strict=True):
        is_type_error = error["type"].endswith("_type")
        deeper = any(other != loc and other[: len(loc)] == loc for other in locations)
        if is_type_error and deeper:
            continue
        kept.append(error)
    return kept


def clean_loc(loc: Iterable[Any], data: Any) -> KeyPath:
    """Drop pydantic's union-branch markers from an error location.

    For ``responses: list[str | ScriptedRule]`` pydantic says ``responses.0.ScriptedRule.match``.
    The location is walked through the data it points into, so a part that is a key there
    (a user's ``ScriptedRule:`` or ``Name:``) is kept, and only a marker that is not is dropped.
    """
    cleaned: list[str | int] = []
    node: Any = data
    for part in loc:
        child = _child(node, part)
        if child is _ABSENT and isinstance(part, str) and _is_union_marker(part):
            continue
        node = child
        cleaned.append(part if isinstance(part, int) else str(part))
    return tuple(cleaned)


_ABSENT: Any = object()


def _child(node: Any, part: Any) -> Any:
    """``node[part]`` in YAML data, or ``_ABSENT`` when there is no such key or item."""
    if isinstance(node, dict):
        return node.get(part, _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _is_union_marker(part: str) -> bool:
    return part in UNION_TAGS or part.startswith("function-after[")


def known_fields(parent: KeyPath, value: Any = None) -> list[str]:
    """The keys allowed where an unknown key stands (``value`` is the mapping that has it)."""
    models: dict[str, type[BaseModel]] = {
        "success_criteria": SuccessCriterion,
        "constraints": Constraint,
        "cases": Case,
        "responses": ScriptedRule,
        "tool_use": ToolCall,
    }
    named = [part for part in parent if isinstance(part, str)]
    if not named:
        return sorted(SPEC_FIELDS)
    if named[0] == "pricing" and len(named) == 2:  # pricing.<model>.<key>
        return sorted(ModelPrice.model_fields)
    if named[-1] in ("responses", "reply") and isinstance(value, dict):
        # A scripted reply: its form shows which model the unknown key was checked against.
        kind = value.get("type")
        blocks: dict[str, type[BaseModel]] = {"text": TextBlock, "tool_use": ToolUseBlock}
        block = blocks.get(str(kind))
        in_list = len(parent) > 1 and isinstance(parent[-1], int)
        if in_list and (isinstance(parent[-2], int) or parent[-2] == "reply") and block:
            return sorted(block.model_fields)
        if "tool_use" in value:
            return sorted(ToolUseReply.model_fields)
    found: type[BaseModel] | None = models.get(named[-1])
    return sorted(found.model_fields) if found is not None else []


def value_at(data: Any, path: KeyPath) -> Any:
    """The YAML data at ``path``, or None when there is nothing there."""
    for part in path:
        data = _child(data, part)
    return None if data is _ABSENT else data


def missing_remedy(loc: KeyPath, markdown: bool) -> str:
    field_name = str(loc[-1])
    if loc == ("name",) and markdown:
        return "add `name:` to the front matter or a `# Title` line to the body"
    if loc == ("description",) and markdown:
        return "add a paragraph under the title, or `description:` to the front matter"
    return f"add `{field_name}:`"


_TYPE_NAMES = {
    "string_type": "a string",
    "float_type": "a number",
    "int_type": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", int: "integer", float: "number", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )


def describe(error: Any) -> tuple[str, str]:
    """A pydantic error as (message, remedy) in goalctl's words."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    shown = shown_number(value) if isinstance(value, int) else repr(value)
    shown = shown if not isinstance(value, dict | list) else _kind(value)
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return f"must be a number of at most 308 digits, got {shown}", ""  # a float's range
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {shown} ({_kind(value)})", ""
    if kind == "enum":
        expected = ctx.get("expected", "")
        close = difflib.get_close_matches(
            str(value), [e.strip("'") for e in expected.replace(" or ", ", ").split(", ")], n=1
        )
        return f"must be one of {expected}, got {shown}", (
            f"did you mean {close[0]!r}?" if close else ""
        )
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        words = {
            "greater_than_equal": ("at least", "ge"),
            "less_than_equal": ("at most", "le"),
            "greater_than": ("above", "gt"),
            "less_than": ("below", "lt"),
        }[kind]
        return f"must be {words[0]} {ctx.get(words[1])}, got {shown}", ""
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        if "a-z0-9" in pattern:
            return (
                f"{shown} is not a valid id",
                "use lowercase letters, digits, '-', '_' and '.'; start with a letter or digit",
            )
        return f"{shown} is not a semantic version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0"
    if kind == "string_too_short" or (kind == "too_short" and ctx.get("min_length") == 1):
        return "must not be empty", ""
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)", ""
    if kind == "union_tag_invalid" or kind.startswith("union"):
        return f"has an unexpected form: {shown}", ""
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])), ""
    if kind == "one_line":
        return error["msg"], str(ctx["remedy"])
    return error["msg"][:1].lower() + error["msg"][1:], ""
