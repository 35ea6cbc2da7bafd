"""A goal's history, read from the state dir: every finished run's numbers, oldest first, and
the lineage of the goal's versions.

Each run is read from its ``report.json`` (:func:`goalctl.reporting.load_report`), the data
every report of the run is rendered from. Runs without a report (running, stopped) are not
in the history; damaged ones are left out and named, so one bad file never hides the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from goalctl.config.prices import cost_basis
from goalctl.errors import GoalctlError, UsageError
from goalctl.reporting import REPORT_FILE, load_report
from goalctl.state import RunStore
from goalctl.statistics import wilson_interval

if TYPE_CHECKING:
    from goalctl.history.baselines import SavedBaseline

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rate:
    """A criterion's pass rate in one run, with its 95% Wilson interval."""

    passed: int
    total: int
    rate: float
    low: float
    high: float
    trials: bool
    """True when counted over trials (the report's trial statistics), else over cases."""


@dataclass(frozen=True)
class RunPoint:
    """One finished run of a goal, as the history shows it."""

    run_id: str
    version: str
    verdict: str
    score: float | None
    finished_at: str
    cost_usd: float
    cost_basis: str
    """``priced``, ``simulated`` or ``unknown`` (some calls had no price)."""
    elapsed_s: float
    cases: int
    cases_passed: int
    rates: dict[str, Rate]
    report: dict[str, Any] = field(repr=False, compare=False)


@dataclass
class Version:
    """One version of a goal: where it came from, why, and its runs."""

    version: str
    parent: str | None = None
    reason: str | None = None
    runs: int = 0
    latest_verdict: str | None = None
    baselines: int = 0
    """Saved baseline files of this version."""
    children: list[Version] = field(default_factory=list)


@dataclass
class GoalHistory:
    goal_id: str
    name: str
    runs: list[RunPoint] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    """Every criterion id seen, in the order the runs first declare them."""
    baselines: list[SavedBaseline] = field(default_factory=list)
    """Its saved ``*.baseline.json`` files, oldest version first (history.baselines)."""

    def lineage(self) -> list[Version]:
        """The versions as a forest: each under the version it evolved from (roots first by
        their first run). A parent with no run of its own still appears, as the root of its
        children; a cycle (reports edited by hand) is broken where it is first met. A version
        with a saved baseline but no run here is in it too."""
        versions: dict[str, Version] = {}
        for point in self.runs:
            goal = point.report["goal"]
            version = versions.setdefault(point.version, Version(point.version))
            version.runs += 1
            version.latest_verdict = point.verdict
            parent = goal.get("parent_version")
            if isinstance(parent, str) and parent and parent != point.version:
                version.parent = parent
            reason = goal.get("evolution_reason")
            if isinstance(reason, str) and reason:
                version.reason = reason
        for saved in self.baselines:
            versions.setdefault(saved.version, Version(saved.version)).baselines += 1
        for version in list(versions.values()):
            if version.parent is not None and version.parent not in versions:
                versions[version.parent] = Version(version.parent)
        roots: list[Version] = []
        placed: set[str] = set()

        def place(version: Version, siblings: list[Version]) -> None:
            placed.add(version.version)
            siblings.append(version)
            for child in versions.values():
                if child.parent == version.version and child.version not in placed:
                    place(child, version.children)

        for version in list(versions.values()):
            if version.parent is None and version.version not in placed:
                place(version, roots)
        for version in list(versions.values()):  # only versions in a cycle are left
            if version.version not in placed:
                place(version, roots)
        return roots


def collect(store: RunStore, goal_ids: Sequence[str] = ()) -> tuple[list[GoalHistory], list[str]]:
    """The history of each goal with a finished run (or of ``goal_ids``, in that order), and
    a warning for each run whose report could not be read.

    Raises :class:`UsageError` when there is nothing to show or a named goal has no runs.
    """
    scan = store.scan()
    warnings = [str(problem) for problem in scan.problems]
    goals: dict[str, GoalHistory] = {}
    for state in scan.runs:
        if goal_ids and state.goal_id not in goal_ids:
            continue
        if not (store.run_dir(state.run_id) / REPORT_FILE).is_file():
            continue  # still running, stopped, or failed before it wrote a report
        try:
            report = load_report(store, state.run_id)
        except GoalctlError as exc:
            warnings.append(f"run {state.run_id} left out: {exc}")
            continue
        goal = goals.setdefault(state.goal_id, GoalHistory(state.goal_id, str(state.goal_name)))
        goal.name = str(report["goal"].get("name") or goal.name)
        point = run_point(report)
        goal.runs.append(point)
        for criterion in point.rates:
            if criterion not in goal.criteria:
                goal.criteria.append(criterion)
    if goal_ids:
        unknown = [goal for goal in goal_ids if goal not in goals]
        if unknown:
            known = sorted({state.goal_id for state in scan.runs})
            hint = f" (goals with runs: {', '.join(known)})" if known else ""
            raise UsageError(f"no finished run of goal {', '.join(unknown)}{hint}")
        return [goals[goal] for goal in dict.fromkeys(goal_ids)], warnings
    if not goals:
        raise UsageError(
            f"no finished runs in {store.root}: run scenarios first (`goalctl run`), "
            "or point --state-dir at the state dir that has them"
        )
    return sorted(goals.values(), key=lambda goal: goal.goal_id), warnings


def run_point(report: Mapping[str, Any]) -> RunPoint:
    totals = report["totals"]
    verdict = str(report["verdict"])
    return RunPoint(
        run_id=str(report["run_id"]),
        version=str(report["goal"].get("version", "")),
        verdict=verdict,
        score=None if verdict == "error" else float(report.get("score") or 0.0),
        finished_at=str(report.get("finished_at") or ""),
        cost_usd=float(totals.get("cost_usd", 0.0)),
        cost_basis=cost_basis(totals),
        elapsed_s=float(totals.get("elapsed_s", 0.0)),
        cases=int(totals.get("cases", 0)),
        cases_passed=int(totals.get("cases_passed", 0)),
        rates={str(c["id"]): criterion_rate(c) for c in report["criteria"]},
        report=dict(report),
    )


def criterion_rate(criterion: Mapping[str, Any]) -> Rate:
    """The rate the report gives over trials when it has them (their interval as reported),
    else passed/evaluated cases with their Wilson interval."""
    stats = criterion.get("trials")
    if isinstance(stats, Mapping):
        low, high = stats["interval"]
        passed, total = int(stats["passed"]), int(stats["trials"])
        return Rate(passed, total, float(stats["pass_rate"]), float(low), float(high), True)
    passed, total = int(criterion["passed"]), int(criterion["evaluated"])
    interval = wilson_interval(passed, total, CONFIDENCE)
    rate = passed / total if total else 0.0
    return Rate(passed, total, rate, interval.low, interval.high, False)
