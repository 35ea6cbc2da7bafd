"""Where a key stands in a TOML file, for ``file:line:col`` messages.

``tomllib`` keeps no positions, so this is a small, honest locator over the text: it follows
``[table]`` headers, ``key = value`` lines (dotted and quoted keys too) and ``{ inline = tables }``
on one line, and answers the line and column of the deepest part of a key path it can find.
Multi-line strings and arrays are not parsed: a key that cannot be found is reported at its
nearest found parent, and at 1:1 when nothing is found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

_HEADER = re.compile(r"\s*\[(?!\[)(?P<key>[^\]]*)\]")
_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_KEY = re.compile(rf"(?P<key>{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


class Position(NamedTuple):
    line: int
    col: int
    """1-based."""


def split_key(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` → ``("a", "b.c", "d")``."""
    parts = re.findall(_KEY_PART, text)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)


def locate(text: str, path: Sequence[str | int], table: Sequence[str] = ()) -> Position:
    """The position of ``path`` (below the table ``table``, e.g. ``tool.goalctl``)."""
    wanted = tuple(table) + tuple(str(part) for part in path if isinstance(part, str))
    best, best_depth = Position(1, 1), 0
    current: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header is not None:
            current = split_key(header.group("key"))
            depth = _common(current, wanted)
            if depth == len(current) and depth > best_depth:
                best, best_depth = Position(number, header.start("key")), depth
            continue
        key = _KEY.match(line, len(line) - len(line.lstrip()))
        if key is None or _common(current, wanted) < len(current):
            continue
        full = current + split_key(key.group("key"))
        depth = _common(full, wanted)
        if depth == len(full) and depth > best_depth:
            best, best_depth = Position(number, key.start() + 1), depth
            found = _inline(line, key.end(), wanted[depth:])
            if found is not None:
                col, extra = found
                best, best_depth = Position(number, col), depth + extra
    return best


def _common(left: Sequence[str], right: Sequence[str]) -> int:
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count


def _inline(line: str, start: int, rest: Sequence[str]) -> tuple[int, int] | None:
    """Follow ``rest`` through inline tables after ``start``: (column, parts found)."""
    found: tuple[int, int] | None = None
    position = start
    for depth, part in enumerate(rest, start=1):
        pattern = re.compile(rf"[{{,]\s*(?P<key>{re.escape(part)}|\"{re.escape(part)}\")\s*=")
        match = pattern.search(line, position)
        if match is None:
            break
        found = (match.start("key") + 1, depth)
        position = match.end()
    return found
