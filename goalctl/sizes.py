"""How big a value is, for the sandboxes' size budgets (expressions and templates) and for
messages that must not print a huge value whole."""

from __future__ import annotations

import math
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


def shown_number(value: int | float) -> str:
    """``value`` for a message: an integer too long to print whole is shown by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        # The digit count without converting (str() of a huge integer is refused or slow).
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else None
        if digits is None:
            digits = int(value.bit_length() * math.log10(2)) + 1
        return f"an integer of {digits:,} digits"
    return repr(value)
