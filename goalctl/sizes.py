"""How big a value is, for the sandboxes' size budgets (expressions and templates)."""

from __future__ import annotations

from collections.abc import Collection

ATOMS = frozenset({float, bool, complex, type(None)})
"""Types whose values count as size 0 beyond their slot."""


def flat_size(elements: Collection[object]) -> int | None:
    """The size of a container's elements when none of them is a container, else None.

    Counted at C speed: sandboxes measure every copy of caller data, and flat lists of
    strings or numbers are what caller data mostly is.
    """
    kinds = set(map(type, elements))
    if kinds <= ATOMS:
        return 0
    if kinds <= {str}:
        return sum(map(len, elements))  # type: ignore[arg-type]
    if kinds <= {int, bool}:
        return sum(map(int.bit_length, elements)) // 3  # type: ignore[arg-type]
    return None
