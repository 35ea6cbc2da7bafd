"""A small YAML writer for generated scenarios, in the style people write by hand.

Small mappings and lists of scalars go in flow style (``input: {a: 1, b: two}``), the rest in
block style; multi-line strings become ``|`` blocks. Strings are written plain when that is
unambiguous and JSON-quoted (valid YAML) otherwise, so every file parses to what was meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLAIN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9 _./'-]*|\d+\.\d+\.\d+)$")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
_FLOW_WIDTH = 72


def to_yaml(data: Mapping[str, Any]) -> str:
    """``data`` as a YAML document (no ``---``), ending with a newline."""
    lines: list[str] = []
    _mapping(lines, data, 0)
    return "\n".join(lines) + "\n"


def scalar(value: Any) -> str:
    """A scalar (or a small collection) in flow style."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and not value.endswith(" ") and " '" not in value
        if plain and value.lower() not in _RESERVED:
            return value
        if '"' in value and "'" not in value and "\\" not in value:
            return f"'{value}'"
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {scalar(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _is_flat(value: Any) -> bool:
    return not isinstance(value, dict | list) and not (isinstance(value, str) and "\n" in value)


def _flowable(value: dict[str, Any] | list[Any]) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return all(_is_flat(item) for item in items) and len(scalar(value)) <= _FLOW_WIDTH


def _mapping(lines: list[str], data: Mapping[str, Any], indent: int, first: str = "") -> None:
    pad = " " * indent
    for index, (key, value) in enumerate(data.items()):
        _entry(lines, f"{first if index == 0 and first else pad}{key}:", value, indent)


def _entry(lines: list[str], head: str, value: Any, indent: int) -> None:
    if isinstance(value, str) and "\n" in value:
        _block(lines, head, value, indent + 2)
    elif isinstance(value, dict | list) and value and not _flowable(value):
        lines.append(head)
        if isinstance(value, dict):
            _mapping(lines, value, indent + 2)
        else:
            for item in value:
                _item(lines, item, indent + 2)
    else:
        lines.append(f"{head} {scalar(value)}")


def _item(lines: list[str], item: Any, indent: int) -> None:
    pad = " " * indent
    if isinstance(item, dict) and item:
        _mapping(lines, item, indent + 2, first=pad + "- ")
    elif isinstance(item, str) and "\n" in item:
        _block(lines, pad + "-", item, indent + 2)
    else:
        lines.append(f"{pad}- {scalar(item)}")


def _block(lines: list[str], head: str, text: str, indent: int) -> None:
    chomp = "" if text.endswith("\n") and not text.endswith("\n\n") else "-"
    lines.append(f"{head} |{chomp}")
    pad = " " * indent
    for line in text.removesuffix("\n").split("\n"):
        lines.append(pad + line if line else "")
