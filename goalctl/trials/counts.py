"""How many trials each case runs (DESIGN §13): light, so the scenario model can import it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

MAX_TRIALS: Final = 1000
"""The most trials a case may run: enough for tight intervals, few enough to stay a test."""


def planned_trials(
    cases: Sequence[Any], scenario_trials: int | None, cli_trials: int | None
) -> list[int]:
    """The trials each case runs.

    A case's own ``trials`` wins: its author pinned it (a deterministic case needs one, an
    expensive one may be kept short), so a run-wide ``--trials`` does not undo that. Then
    ``--trials``, which asks this run for more (or fewer) repetitions than the scenario's
    ``trials``; then the scenario's; then one.
    """
    default = cli_trials or scenario_trials or 1
    return [case.trials or default for case in cases]
