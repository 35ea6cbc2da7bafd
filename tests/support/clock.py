"""A clock and run ids that make reports reproducible, for snapshot tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime


class FrozenClock:
    """Every timestamp is the same instant and no time passes."""

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 0.0


def fixed_id(goal_id: str) -> str:
    return f"{goal_id}-00000000"


def fixed_ids() -> Callable[[str], str]:
    """Like :func:`fixed_id`, numbering a goal's further runs (a scenario run per model)."""
    counts: Counter[str] = Counter()

    def make(goal_id: str) -> str:
        number = counts[goal_id]
        counts[goal_id] += 1
        return f"{goal_id}-{number:08x}"

    return make
