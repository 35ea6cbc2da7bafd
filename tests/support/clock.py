"""A clock and run ids that make reports reproducible, for snapshot tests."""

from __future__ import annotations

from datetime import UTC, datetime


class FrozenClock:
    """Every timestamp is the same instant and no time passes."""

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 0.0


def fixed_id(goal_id: str) -> str:
    return f"{goal_id}-00000000"
