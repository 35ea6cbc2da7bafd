"""The saved baselines a goal's history shows: ``*.baseline.json`` files found beside the
scenarios its runs ran (``report.json`` names the scenario), and any named with
``--baseline FILE``.

A baseline is shown on its goal's page (a table, a mark on its version in the lineage, and a
reference line per criterion in the pass-rate chart). A file that cannot be read is named in
a warning, like a damaged run, and never stops the history: it may not even be one of the
goals shown, and a damaged file should not hide the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from goalctl.baselines import Baseline, read_baseline
from goalctl.baselines.document import SUFFIX
from goalctl.baselines.results import ZERO, Count
from goalctl.errors import GoalctlError
from goalctl.history.collect import CONFIDENCE, GoalHistory, Rate
from goalctl.statistics import wilson_interval


@dataclass(frozen=True)
class SavedBaseline:
    """One baseline file of a goal, as its history shows it."""

    path: Path
    goal_id: str
    version: str
    run_id: str
    verdict: str
    provider: str
    model: str
    rates: dict[str, Rate]
    """Per criterion: passes over evaluations (trials counted) of the saved run's cases."""
    cost_usd: float
    cost_basis: str
    cases: int


def saved_baseline(baseline: Baseline) -> SavedBaseline:
    """The history's view of a baseline file: its counts summed over its cases, as ``goalctl
    baseline save`` sums them for the file's own ``criteria``."""
    counts: dict[str, Count] = {}
    trials: set[str] = set()
    for case in baseline.cases.values():
        for criterion, count in case.criteria.items():
            counts[criterion] = counts.get(criterion, ZERO) + count
            if count.evaluated > 1:  # a case evaluated more than once ran trials
                trials.add(criterion)
    return SavedBaseline(
        path=baseline.path,
        goal_id=baseline.goal_id,
        version=baseline.goal_version,
        run_id=baseline.run_id,
        verdict=baseline.verdict,
        provider=baseline.provider,
        model=baseline.model,
        rates={c: _rate(count, c in trials) for c, count in counts.items()},
        cost_usd=round(sum(case.cost_usd for case in baseline.cases.values()), 8),
        cost_basis=baseline.cost_basis,
        cases=len(baseline.cases),
    )


def _rate(count: Count, trials: bool) -> Rate:
    """Passes over evaluations with their Wilson interval, as the history's runs have."""
    interval = wilson_interval(count.passed, count.evaluated, CONFIDENCE)
    return Rate(count.passed, count.evaluated, count.rate, interval.low, interval.high, trials)


def scenario_folders(goals: Iterable[GoalHistory]) -> list[Path]:
    """The folders of the scenarios the goals' runs ran (relative paths from here), once
    each, in the order first met."""
    folders: dict[Path, None] = {}
    for goal in goals:
        for point in goal.runs:
            scenario = point.report.get("scenario")
            if isinstance(scenario, str) and scenario:
                folders.setdefault(Path(scenario).parent.resolve(), None)
    return list(folders)


def attach_baselines(goals: Sequence[GoalHistory], named: Sequence[Path] = ()) -> list[str]:
    """Put each goal's saved baselines into ``goal.baselines`` (oldest version first); returns
    a warning for each file that could not be read, and for each named file of a goal not
    shown."""
    by_goal: Mapping[str, GoalHistory] = {goal.goal_id: goal for goal in goals}
    warnings: list[str] = []
    seen: set[Path] = set()
    found: list[tuple[Path, bool]] = [(path, True) for path in named]
    for folder in scenario_folders(goals):
        found += [(path, False) for path in sorted(folder.glob("*" + SUFFIX)) if path.is_file()]
    for path, asked in found:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            baseline = read_baseline(path)
        except GoalctlError as exc:
            warnings.append(f"{exc} (left out)")
            continue
        goal = by_goal.get(baseline.goal_id)
        if goal is None:
            if asked:  # a file found in a folder may belong to a goal not asked for
                warnings.append(
                    f"baseline {path} (goal {baseline.goal_id}) left out: no finished run of "
                    "that goal is in this history"
                )
            continue
        goal.baselines.append(saved_baseline(baseline))
    for goal in goals:
        goal.baselines.sort(key=lambda saved: (_version_key(saved.version), str(saved.path)))
    return warnings


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """``1.10.0`` after ``1.9.0``: numbers compared as numbers, other parts as text."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in version.split("."))
