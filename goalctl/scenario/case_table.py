"""The cases of a data file, kept as JSON text and decoded one at a time.

A data file may hold 100,000 cases. As models with their inputs they would take about 2 kB
each for the whole run; as the compact JSON of their row they take about the size of the row.
The loader validates each row once as it streams the file, so decoding one again
(``Case.model_validate_json``, about 2 µs) cannot fail: every pass over the cases — the
loader's checks, planning, the runner — sees the same :class:`Case` values it would have seen
in a list, without holding them all at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, overload

from goalctl.scenario.model import Case


class CaseTable(Sequence[Case]):
    """A read-only sequence of cases backed by their JSON text."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[bytes] = ()) -> None:
        self._rows = list(rows)

    @staticmethod
    def encode(row: dict[str, Any]) -> bytes:
        """The compact JSON text a validated row is kept as."""
        return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()

    def append(self, encoded: bytes) -> None:
        self._rows.append(encoded)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Case: ...

    @overload
    def __getitem__(self, index: slice) -> list[Case]: ...

    def __getitem__(self, index: int | slice) -> Case | list[Case]:
        if isinstance(index, slice):
            return [Case.model_validate_json(row) for row in self._rows[index]]
        return Case.model_validate_json(self._rows[index])

    def __iter__(self) -> Iterator[Case]:
        for row in self._rows:
            yield Case.model_validate_json(row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CaseTable):
            return self._rows == other._rows
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable while the loader fills it

    def __repr__(self) -> str:
        return f"CaseTable({len(self._rows)} cases)"
