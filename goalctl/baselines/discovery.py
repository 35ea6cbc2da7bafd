"""Which baseline a scenario is compared with.

``--baseline FILE`` names one: it applies to the scenarios of the same goal. ``--baseline``
alone finds, for each scenario, its own ``<scenario>.baseline.json``; failing that, for a
scenario with ``parent_version``, the baseline of that version of the goal among the
``*.baseline.json`` files in the scenario's folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from goalctl.baselines.document import SUFFIX, Baseline, baseline_path, read_baseline
from goalctl.errors import UsageError
from goalctl.scenario.model import Scenario


@dataclass(frozen=True)
class Found:
    """The baseline a scenario is compared with, and what it is to the scenario."""

    baseline: Baseline
    relation: str
    """``saved`` (its own file), ``parent`` (its parent version's) or ``named`` (FILE)."""


def find_baseline(
    scenario: Scenario, file: str | None, folders: Sequence[str] = ()
) -> Found | None:
    """The baseline of ``scenario``, or None when it has none; a baseline that is there but
    unreadable, or of another goal, is a :class:`UsageError`. A parent version's baseline is
    looked for in the scenario's folder, then in ``folders``."""
    goal = scenario.goal
    if file is not None:
        named = read_baseline(Path(file))
        return Found(named, "named") if named.goal_id == goal.id else None
    own = baseline_path(scenario.path)
    if own.is_file():
        saved = read_baseline(own)
        if saved.goal_id != goal.id:
            raise UsageError(
                f"{own} is a baseline of goal {saved.goal_id!r}, not of {goal.id!r} "
                f"({scenario.path}); save this scenario's with `goalctl baseline save RUN_ID`"
            )
        return Found(saved, "saved")
    if goal.parent_version is None:
        return None
    here = scenario.path.parent
    places = [here, *(Path(f) for f in folders if Path(f).resolve() != here.resolve())]
    for folder in places:
        for candidate in sorted(folder.glob("*" + SUFFIX)):
            if candidate.resolve() == own.resolve() or not candidate.is_file():
                continue
            parent = read_baseline(candidate)
            if parent.goal_id == goal.id and parent.goal_version == goal.parent_version:
                return Found(parent, "parent")
    return None


def where_looked(scenario: Scenario) -> str:
    """Where :func:`find_baseline` looked, for the message that it found nothing."""
    place = f"{baseline_path(scenario.path)}"
    if scenario.goal.parent_version is not None:
        place += (
            f", nor a baseline of {scenario.goal.id} {scenario.goal.parent_version} (its "
            f"parent_version) beside the scenarios"
        )
    return place
