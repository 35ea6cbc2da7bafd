"""The typed, immutable results of :func:`goalctl.validate` and :func:`goalctl.run`.

They are read from the same data the CLI prints and writes (``report.json``, the validation
report), so a result in Python says what ``goalctl run`` says: same verdict, same reasons,
same exit code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from goalctl.errors import ExitCode, Problem
from goalctl.verdict import Reason

if TYPE_CHECKING:
    from goalctl.lifecycle import RunSummary
    from goalctl.outcomes import RunOutcome
    from goalctl.validation import ValidationReport

__all__ = [
    "BaselineComparison",
    "CaseResult",
    "ComparedItem",
    "ConstraintResult",
    "CriterionResult",
    "FileValidation",
    "Problem",
    "Reason",
    "RunResult",
    "ScenarioResult",
    "SkippedScenario",
    "ValidationResult",
]


@dataclass(frozen=True, slots=True)
class FileValidation:
    """One scenario file checked by :func:`goalctl.validate`."""

    path: Path
    valid: bool
    goal_id: str | None
    """The goal's id, when the file got far enough to name one."""
    goal_version: str | None
    problems: tuple[Problem, ...]
    """Every problem of the file, by line and column (warnings too: see ``severity``)."""


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """What ``goalctl validate`` reports, as data."""

    files: tuple[FileValidation, ...]
    passed_over: tuple[Path, ...]
    """Markdown files found in a folder without YAML front matter: notes, not scenarios."""

    @property
    def ok(self) -> bool:
        """Every file is valid (``goalctl validate`` exits 0)."""
        return all(f.valid for f in self.files)

    @property
    def exit_code(self) -> int:
        """The exit code of ``goalctl validate`` over the same paths: 0 or 1."""
        return int(ExitCode.OK if self.ok else ExitCode.FAILED)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for f in self.files for p in f.problems)

    @classmethod
    def from_report(cls, report: ValidationReport) -> ValidationResult:
        return cls(
            files=tuple(
                FileValidation(
                    path=r.path,
                    valid=r.ok,
                    goal_id=r.ref.id if r.ref is not None else None,
                    goal_version=r.ref.version if r.ref is not None else None,
                    problems=tuple(r.problems),
                )
                for r in report.results
            ),
            passed_over=tuple(report.passed_over),
        )


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """A success criterion over the run's cases."""

    id: str
    description: str
    metric: str
    weight: float
    threshold: float
    passed: int
    """Cases that passed it."""
    evaluated: int
    """Cases it was evaluated on."""
    success_rate: float
    met: bool
    """The success rate reaches the threshold."""
    evidence: tuple[str, ...]
    """A few ``case: why`` lines, failures first."""
    line: int
    """The scenario line that defines the criterion."""


@dataclass(frozen=True, slots=True)
class ConstraintResult:
    """A constraint over the run."""

    id: str
    description: str
    type: str
    """``hard`` (a violation misses the goal) or ``soft`` (a warning)."""
    category: str
    checked: bool
    """False when nothing in the run could check it (e.g. an ``llm_judge`` check offline)."""
    violated: bool
    violations: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case of a run: what went in, what came out, and how it was judged."""

    index: int
    name: str
    status: str
    """``passed``, ``failed`` or ``errored``."""
    input: Any
    expected: Any
    output: Any
    """The agent's output (parsed JSON when the scenario has an ``output_schema``)."""
    text: str | None
    error: str | None
    data: Mapping[str, Any]
    """The case's whole ``report.json`` entry: checks, metrics, trajectory."""


@dataclass(frozen=True, slots=True)
class ComparedItem:
    """One line of a baseline comparison: a criterion, a constraint, cost or latency."""

    kind: str
    """``criterion``, ``constraint``, ``cost`` or ``latency``."""
    id: str
    verdict: str
    """``regressed``, ``worse`` (not significant), ``unchanged``, ``better``, ``improved``,
    ``not compared``; for cost and latency ``higher`` (within tolerance) or ``lower``."""
    before: str | float
    """``passed/evaluated`` over the paired cases (criteria, constraints); dollars or
    seconds (cost, latency)."""
    after: str | float
    p_value: float | None
    """The one-sided exact test's p-value (None for cost, latency and what was not compared)."""
    test: str | None
    """``mcnemar``, ``fisher``, ``tolerance``, or None when not compared."""
    underpowered: bool
    """Too few paired cases for any outcome to be significant: never a regression."""
    line: int
    """The scenario line of the criterion or constraint (1 for cost and latency)."""


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """A run compared with its baseline (``baseline``/``fail_on_regression`` of :func:`run`):
    the ``comparison`` of its ``report.json``."""

    baseline_file: Path
    relation: str
    """``saved`` (the scenario's own baseline), ``parent`` (its parent version's) or
    ``named`` (a file given as ``baseline``)."""
    baseline_version: str
    baseline_run_id: str
    paired_cases: int
    regressions: tuple[str, ...]
    """The ids that regressed (criteria, constraints, ``cost``, ``latency``)."""
    fail_on_regression: bool
    """Whether a regression missed the goal (else it was reported only)."""
    alpha: float
    cost_tolerance: float
    latency_tolerance: float
    items: tuple[ComparedItem, ...]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def item(self, item_id: str) -> ComparedItem:
        """The line of this criterion, constraint, ``cost`` or ``latency``; KeyError naming
        the known ids."""
        for item in self.items:
            if item.id == item_id:
                return item
        known = ", ".join(item.id for item in self.items) or "none"
        raise KeyError(f"no compared item {item_id!r} (known: {known})")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineComparison:
        base = data["baseline"]
        return cls(
            baseline_file=Path(str(base["file"])),
            relation=str(base["relation"]),
            baseline_version=str(base["goal_version"]),
            baseline_run_id=str(base["run_id"]),
            paired_cases=int(data["cases"]["paired"]),
            regressions=tuple(str(r) for r in data["regressions"]),
            fail_on_regression=bool(data["fail_on_regression"]),
            alpha=float(data["alpha"]),
            cost_tolerance=float(data["cost_tolerance"]),
            latency_tolerance=float(data["latency_tolerance"]),
            items=tuple(
                ComparedItem(
                    kind=str(item["kind"]),
                    id=str(item["id"]),
                    verdict=str(item["verdict"]),
                    before=item["before"],
                    after=item["after"],
                    p_value=None if item.get("p_value") is None else float(item["p_value"]),
                    test=None if item.get("test") is None else str(item["test"]),
                    underpowered=bool(item.get("underpowered", False)),
                    line=int(item["line"]),
                )
                for item in data["items"]
            ),
        )


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """One run of one scenario: its verdict, the reasons for it, and its reports."""

    run_id: str
    scenario: Path
    goal_id: str
    goal_version: str
    status: str
    """The run's status: ``completed``, ``failed`` (errored) or ``stopped``."""
    verdict: str | None
    """``achieved``, ``not_achieved``, ``error``, or None for a run that was stopped."""
    score: float | None
    """The met criteria's share of the weight; None when the run errored or stopped."""
    error: str | None
    reasons: tuple[Reason, ...]
    """Why the goal is missed (level ``failure``), warnings, or the run's error."""
    criteria: tuple[CriterionResult, ...]
    constraints: tuple[ConstraintResult, ...]
    cases: tuple[CaseResult, ...]
    report_paths: tuple[Path, ...]
    """report.md in the run's folder, and in ``report_dir`` when one was given."""
    report: Mapping[str, Any]
    """The run's ``report.json`` data, as written; for a stopped run, which has no report,
    its totals and how many cases finished."""
    comparison: BaselineComparison | None = None
    """The comparison with its baseline, when one was asked for and the run had one."""

    @property
    def achieved(self) -> bool:
        return self.verdict == "achieved"

    @property
    def exit_code(self) -> int:
        """What ``goalctl run`` would exit with for this run alone."""
        if self.verdict is None:
            return int(ExitCode.INTERRUPTED)
        if self.verdict == "error":
            return int(ExitCode.RUN_ERROR)
        return int(ExitCode.OK if self.achieved else ExitCode.FAILED)

    def criterion(self, criterion_id: str) -> CriterionResult:
        """The criterion with this id; KeyError naming the known ids."""
        return _by_id(self.criteria, criterion_id, "criterion")

    def constraint(self, constraint_id: str) -> ConstraintResult:
        """The constraint with this id; KeyError naming the known ids."""
        return _by_id(self.constraints, constraint_id, "constraint")

    @classmethod
    def from_outcome(cls, outcome: RunOutcome) -> ScenarioResult:
        report = outcome.report
        verdict = outcome.verdict
        if verdict is not None and not isinstance(report.get("cases", []), list):
            # A run reads its cases back from its journal as it needs them; a result in
            # Python holds them all (each Case has its whole entry), as json.loads would.
            # (A stopped run's record counts its cases instead.)
            report = {**report, "cases": list(report["cases"])}
        score = report.get("score") if verdict not in (None, "error") else None
        # A stopped run has no report.json: its record holds totals and counts only.
        finished = report if verdict is not None else {}
        return cls(
            run_id=outcome.run_id,
            scenario=outcome.scenario.path,
            goal_id=outcome.scenario.goal.id,
            goal_version=outcome.scenario.goal.version,
            status=outcome.status.value,
            verdict=verdict,
            score=float(score) if score is not None else None,
            error=outcome.error,
            reasons=_reasons(report) if verdict is not None else (),
            criteria=tuple(_criterion(c) for c in finished.get("criteria", ())),
            constraints=tuple(_constraint(c) for c in finished.get("constraints", ())),
            cases=tuple(_case(c) for c in finished.get("cases", ())),
            report_paths=tuple(outcome.report_paths),
            report=MappingProxyType(report),
            comparison=_comparison(finished.get("comparison")),
        )


@dataclass(frozen=True, slots=True)
class SkippedScenario:
    """A scenario that did not run: a draft, or one with no case selected."""

    scenario: Path
    reason: str


@dataclass(frozen=True, slots=True)
class RunResult:
    """What ``goalctl run`` did: a result per run, the scenarios skipped, the exit code."""

    runs: tuple[ScenarioResult, ...]
    skipped: tuple[SkippedScenario, ...]
    notices: tuple[str, ...]
    """What the CLI says on stderr before the run: files passed over, config keys that some
    scenarios do not take."""
    exit_code: int
    """The exit code of ``goalctl run`` with the same paths and options."""
    junit: Path | None
    """The JUnit file written, if one was asked for."""

    @property
    def ok(self) -> bool:
        """``goalctl run`` would exit 0: every run achieved its goal (or nothing ran)."""
        return self.exit_code == ExitCode.OK

    @property
    def achieved(self) -> bool:
        """At least one goal ran, and every one that ran was achieved."""
        return bool(self.runs) and all(r.achieved for r in self.runs)

    def __getitem__(self, goal_id: str) -> ScenarioResult:
        """The run of the goal with this id; KeyError naming the goals that ran, or the
        versions when several versions of the goal ran (``runs`` holds each)."""
        found = [run for run in self.runs if run.goal_id == goal_id]
        if len(found) == 1:
            return found[0]
        if found:
            versions = ", ".join(run.goal_version for run in found)
            raise KeyError(f"goal {goal_id!r} ran in {len(found)} versions ({versions}): see runs")
        known = ", ".join(r.goal_id for r in self.runs) or "none"
        raise KeyError(f"no run of goal {goal_id!r} (goals run: {known})")

    @classmethod
    def from_summary(cls, summary: RunSummary, junit: Path | None) -> RunResult:
        return cls(
            runs=tuple(ScenarioResult.from_outcome(o) for o in summary.outcomes),
            skipped=tuple(SkippedScenario(s.path, reason) for s, reason in summary.skipped),
            notices=tuple(summary.notices),
            exit_code=summary.exit_code,
            junit=junit,
        )


def _comparison(data: Mapping[str, Any] | None) -> BaselineComparison | None:
    return BaselineComparison.from_json(data) if data else None


def _reasons(report: Mapping[str, Any]) -> tuple[Reason, ...]:
    from goalctl.verdict import verdict_of

    return verdict_of(report).reasons


def _criterion(data: Mapping[str, Any]) -> CriterionResult:
    return CriterionResult(
        id=str(data["id"]),
        description=str(data["description"]),
        metric=str(data["metric"]),
        weight=float(data["weight"]),
        threshold=float(data["threshold"]),
        passed=int(data["passed"]),
        evaluated=int(data["evaluated"]),
        success_rate=float(data["success_rate"]),
        met=bool(data["met"]),
        evidence=tuple(str(e) for e in data["evidence"]),
        line=int(data["line"]),
    )


def _constraint(data: Mapping[str, Any]) -> ConstraintResult:
    return ConstraintResult(
        id=str(data["id"]),
        description=str(data["description"]),
        type=str(data["type"]),
        category=str(data["category"]),
        checked=bool(data["checked"]),
        violated=bool(data["violated"]),
        violations=tuple(str(v) for v in data["violations"]),
        line=int(data["line"]),
    )


def _case(data: Mapping[str, Any]) -> CaseResult:
    text = data.get("text")
    error = data.get("error")
    return CaseResult(
        index=int(data["case"]),
        name=str(data["name"]),
        status=str(data["status"]),
        input=data.get("input"),
        expected=data.get("expected"),
        output=data.get("output"),
        text=str(text) if text is not None else None,
        error=str(error) if error else None,
        data=MappingProxyType(data),
    )


_Item = TypeVar("_Item", CriterionResult, ConstraintResult)


def _by_id(items: tuple[_Item, ...], wanted: str, kind: str) -> _Item:
    for item in items:
        if item.id == wanted:
            return item
    known = ", ".join(item.id for item in items) or "none"
    raise KeyError(f"no {kind} {wanted!r} (known: {known})")
