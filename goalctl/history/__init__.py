"""``goalctl history``: a static site over the state dir (issue 16).

Per goal: the pass rate of each criterion over its runs with 95% intervals, cost and time per
run, and the lineage of its versions with each ``evolution_reason``; an index of goals; each
run's HTML report; and the goal's saved baselines (``*.baseline.json`` beside its scenarios,
or named). :func:`build_history` is the whole surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from goalctl.history.collect import collect
from goalctl.history.site import Site, write_site
from goalctl.state import RunStore

__all__ = ["Site", "build_history"]


def build_history(
    store: RunStore, goal_ids: Sequence[str], out: Path, baselines: Sequence[Path] = ()
) -> tuple[Site, list[str]]:
    """Write the history of ``goal_ids`` (every goal with a finished run when empty) into
    ``out``, with the baselines found beside their scenarios and the files ``baselines``;
    returns the site and a warning for each run or baseline file left out."""
    from goalctl.history.baselines import attach_baselines

    goals, warnings = collect(store, goal_ids)
    warnings += attach_baselines(goals, baselines)
    return write_site(goals, out, warnings), warnings
