"""Equality of JSON values as checks mean it (``output_equals``, ``tool_args``).

A string that holds JSON compares as that JSON, so an agent's serialised reply equals the
object it describes, and ``true`` never equals ``1`` (Python's ``True == 1`` would).
"""

from __future__ import annotations

from typing import Any


def json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values; a string that holds JSON compares as that JSON.

    Two strings compare as JSON when both hold an object or array (``'{"a": 1}'`` equals
    ``'{"a":1}'``), else as text with surrounding whitespace ignored. ``true`` never equals
    ``1``, at any depth.
    """
    if isinstance(left, str) and isinstance(right, str):
        parsed_left, parsed_right = _maybe_json(left), _maybe_json(right)
        if isinstance(parsed_left, dict | list) and isinstance(parsed_right, dict | list):
            return _same(parsed_left, parsed_right)
        return left.strip() == right.strip()
    if isinstance(left, str):
        left = _maybe_json(left)
    if isinstance(right, str):
        right = _maybe_json(right)
    return _same(left, right)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            _same(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def _maybe_json(text: str) -> Any:
    from goalctl.reading import ReadError, loads_json

    try:
        return loads_json(text, "text")
    except ReadError:
        return text
