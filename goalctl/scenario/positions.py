"""Where things are in a scenario file: key paths and 1-based file positions."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]


def format_key(path: Iterable[str | int]) -> str:
    """``("success_criteria", 1, "weight")`` → ``success_criteria[1].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column of a value, and of its key when it is a mapping entry."""

    line: int
    col: int
    key_line: int = 0
    key_col: int = 0
    body_line: int = 0
    """For text that holds a template: the file line of the template's first line."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.key_line, self.key_col) if self.key_line else (self.line, self.col)


Resolver = Callable[[KeyPath], "Position | None"]


@dataclass
class SourceMap:
    """Positions of the key paths of a scenario, from YAML nodes and the Markdown body.

    YAML positions are resolved lazily from the parsed node tree: they are needed only to
    report a problem or cite a line, and building one per value up front costs more than
    loading the values.
    """

    positions: dict[KeyPath, Position] = field(default_factory=dict)
    resolvers: list[tuple[KeyPath, Resolver]] = field(default_factory=list)
    """(prefix, resolver) pairs: a resolver finds paths below its prefix."""

    def add(self, path: KeyPath, position: Position) -> None:
        self.positions[path] = position

    def add_resolver(self, prefix: KeyPath, resolver: Resolver) -> None:
        self.resolvers.append((prefix, resolver))

    def merge(self, other: SourceMap, prefix: KeyPath = ()) -> None:
        for path, position in other.positions.items():
            self.positions[(*prefix, *path)] = position
        for inner, resolver in other.resolvers:
            self.resolvers.append(((*prefix, *inner), resolver))

    def get(self, path: KeyPath) -> Position | None:
        path = tuple(path)
        found = self.positions.get(path)
        if found is not None:
            return found
        for prefix, resolver in self.resolvers:
            if path[: len(prefix)] == prefix:
                found = resolver(path[len(prefix) :])
                if found is not None:
                    return found
        return None

    def find(self, path: KeyPath, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` or of its nearest known ancestor (line 1, col 1 at worst)."""
        probe = tuple(path)
        while True:
            found = self.get(probe)
            if found is not None:
                return found.key if key else (found.line, found.col)
            if not probe:
                return (1, 1)
            probe = probe[:-1]


class LineIndex:
    """Turns character offsets in a text into 1-based (line, col)."""

    __slots__ = ("_starts",)

    def __init__(self, text: str) -> None:
        starts = [0]
        find = text.find
        index = find("\n")
        while index != -1:
            starts.append(index + 1)
            index = find("\n", index + 1)
        self._starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1
