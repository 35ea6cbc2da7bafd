"""The report of a run as data: versioned JSON that every other format is rendered from.

``report.json`` is the source of truth: ``report.md`` (and JUnit, and ``goalctl report``) are
rendered from it, so saved runs can be re-reported without re-running anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from goalctl.caps import cap_output, cap_text
from goalctl.evaluation import (
    CaseOutput,
    Check,
    ConstraintCheck,
    Metrics,
)
from goalctl.goal import SUCCESS_THRESHOLD
from goalctl.scenario.model import Case, Scenario
from goalctl.verdict import (
    ConstraintTally,
    CriteriaTally,
    goal_achieved,
    verdict_of,
    weighted_score,
)

REPORT_VERSION = 1


@dataclass
class CaseRecord:
    """A finished case: what went in, what came out, every check. One checkpoint line."""

    index: int
    name: str
    status: str
    """``passed`` (every criterion and constraint held), ``failed``, or ``error``."""
    input: Any
    expected: Any
    output: Any = None
    text: str = ""
    error: str | None = None
    attempts: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    """The checks of the attempt that counts: the last one."""
    constraints: list[dict[str, Any]] = field(default_factory=list)
    earlier_attempts: list[dict[str, Any]] = field(default_factory=list)
    """Attempts before the last, oldest first: ``{"attempt", "text", "checks"}`` each."""
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    """The case's tool calls in order (:meth:`goalctl.trajectory.Step.to_json` each); an
    errored case keeps those it made before the error."""
    answers: list[str] = field(default_factory=list)
    """Each final answer of a multi-turn case, in order (the last is ``text``); empty for a
    case of one turn."""
    trial: int = 1
    """Which trial of the case this record is (1 is the first); left out of JSON when 1."""
    flaky: bool = False
    """The case is marked flaky: reported, never counted for the verdict."""
    trials: dict[str, Any] | None = None
    """For a case of several trials, the record of the whole case: its statistics and every
    trial's record (``goalctl.trials.summary``); None for one trial."""

    @classmethod
    def finished(
        cls,
        index: int,
        name: str,
        case: Case,
        output: CaseOutput,
        metrics: Metrics,
        checks: Sequence[Check],
        constraints: Sequence[ConstraintCheck],
        earlier: Sequence[tuple[CaseOutput, Sequence[Check]]] = (),
        trial: int = 1,
    ) -> CaseRecord:
        passed = all(c.passed for c in checks) and all(c.satisfied for c in constraints)
        return cls(
            index,
            name,
            "passed" if passed else "failed",
            case.input,
            case.expected,
            cap_output(output.output, output.text),  # checks above saw it whole
            cap_text(output.text),
            None if output.error is None else cap_text(output.error),
            output.attempts,
            _metrics(metrics),
            [asdict(c) for c in checks],
            [asdict(c) for c in constraints],
            [
                {"attempt": tried.attempts, "text": tried.text, "checks": [asdict(c) for c in cs]}
                for tried, cs in earlier
            ],
            list(output.trajectory),
            [cap_text(answer) for answer in output.answers] if len(output.answers) > 1 else [],
            trial,
            case.flaky,
        )

    @classmethod
    def errored(
        cls,
        index: int,
        name: str,
        case: Case,
        metrics: Metrics,
        error: str,
        trajectory: Sequence[Mapping[str, Any]] = (),
        trial: int = 1,
    ) -> CaseRecord:
        return cls(
            index,
            name,
            "error",
            case.input,
            case.expected,
            error=cap_text(error),
            metrics=_metrics(metrics),
            trajectory=[dict(step) for step in trajectory],
            trial=trial,
            flaky=case.flaky,
        )

    def to_json(self, *, copy: bool = True) -> dict[str, Any]:
        """The record as JSON data; ``copy=False`` shares its lists and dicts with the record
        (for a record made to be written once and dropped: no deep copy)."""
        values = asdict(self) if copy else {f.name: getattr(self, f.name) for f in fields(self)}
        data = {"case": self.index, **{k: v for k, v in values.items() if k != "index"}}
        if not self.earlier_attempts:
            # Most cases take one attempt; reports and checkpoints stay as they were for them.
            del data["earlier_attempts"]
        if not self.trajectory:
            del data["trajectory"]  # only agents that call tools have one
        if not self.answers:
            del data["answers"]  # only multi-turn cases have several
        # Cases of one trial, not flaky, keep the shape they had before trials existed.
        if self.trial == 1:
            del data["trial"]
        if not self.flaky:
            del data["flaky"]
        if self.trials is None:
            del data["trials"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        values = {k: v for k, v in data.items() if k != "case"}
        return cls(index=int(data["case"]), **values)

    def check_objects(self) -> list[Check]:
        return [Check(**c) for c in self.checks]

    def constraint_objects(self) -> list[ConstraintCheck]:
        return [ConstraintCheck(**c) for c in self.constraints]


def _metrics(metrics: Metrics) -> dict[str, Any]:
    data = metrics.names()
    data["elapsed_s"] = round(float(data["elapsed_s"]), 6)
    data["cost_usd"] = round(float(data["cost_usd"]), 8)
    return data


class CaseTally:
    """What a report says of its cases, from their records given one at a time in case
    order: the criteria, the constraints, the counts and the first error that gates."""

    def __init__(self, scenario: Scenario) -> None:
        self.criteria = CriteriaTally(scenario)
        self.constraints = ConstraintTally(scenario)
        self.run = self.passed = self.failed = self.errored = 0
        self.first_error: str | None = None
        """The first errored case that counts (a flaky case is reported, never counted)."""

    def add(self, record: CaseRecord) -> None:
        self.run += 1
        self.passed += record.status == "passed"
        self.failed += record.status == "failed"
        self.errored += record.status == "error"
        # A flaky case is reported, never counted: not in the criteria, the constraints or
        # the run's error.
        if record.flaky:
            return
        if record.status == "error":
            if self.first_error is None:
                self.first_error = f"case {record.name!r}: {record.error}"
        else:
            self.criteria.add(record.name, record.check_objects())
        self.constraints.add(record.name, record.constraint_objects())


def build_report(
    *,
    run_id: str,
    scenario: Scenario,
    provider: str,
    model: str,
    records: Iterable[CaseRecord],
    cases: Sequence[Mapping[str, Any]],
    run_checks: Sequence[ConstraintCheck],
    totals: Metrics,
    budget_stop: ConstraintCheck | None,
    error: str | None,
    agent_summary: str | None,
    started_at: str | None,
    finished_at: str,
) -> dict[str, Any]:
    """The versioned report of a run, from its case records in case order (read once, as
    they come) and ``cases``, what ``report["cases"]`` holds: the same records as JSON (a
    list, or a sequence that reads them back from the run's journal). ``totals`` is read
    after the records."""
    goal = scenario.goal
    tally = CaseTally(scenario)
    for record in records:
        tally.add(record)
    if error is None:
        error = tally.first_error
    criteria = tally.criteria.finish()
    constraints = tally.constraints.finish(run_checks)
    not_run = len(scenario.cases) - tally.run
    if error is not None:
        verdict = "error"
    elif budget_stop is None and not_run == 0 and goal_achieved(criteria, constraints):
        verdict = "achieved"
    else:
        verdict = "not_achieved"
    score = weighted_score(criteria)
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "run_id": run_id,
        "scenario": str(scenario.path),
        "goal": {
            "id": goal.id,
            "name": goal.name,
            "version": goal.version,
            "description": goal.description,
            # The lineage `goalctl history` draws; only goals that evolved from another have it.
            **({"parent_version": goal.parent_version} if goal.parent_version else {}),
            **({"evolution_reason": goal.evolution_reason} if goal.evolution_reason else {}),
        },
        "agent": scenario.spec.agent,
        "provider": provider,
        "model": model,
        "verdict": verdict,
        "score": round(score, 6),
        "threshold": float(SUCCESS_THRESHOLD),
        "error": error,
        "reasons": [],
        "budget_stop": asdict(budget_stop) if budget_stop is not None else None,
        "started_at": started_at,
        "finished_at": finished_at,
        "totals": {
            **_metrics(totals),
            "cases": len(scenario.cases),
            "cases_run": tally.run,
            "cases_passed": tally.passed,
            "cases_failed": tally.failed,
            "cases_errored": tally.errored,
        },
        "criteria": [
            {
                "id": c.id,
                "description": c.description,
                "metric": c.metric,
                "weight": c.weight,
                "threshold": c.threshold,
                "passed": c.passed,
                "evaluated": c.evaluated,
                "success_rate": round(c.success_rate, 6),
                "met": c.met,
                "evidence": c.evidence,
                "line": scenario.line_of("success_criteria", index),
            }
            for index, c in enumerate(criteria)
        ],
        "constraints": [
            {
                "id": c.id,
                "description": c.description,
                "type": c.constraint_type,
                "category": c.category,
                "checked": c.checked,
                "violated": c.violated,
                "violations": c.violations[:5],
                "line": scenario.line_of("constraints", index),
            }
            for index, c in enumerate(constraints)
        ],
        "agent_summary": agent_summary,
        "cases": cases,
    }
    report["reasons"] = [reason.to_json() for reason in verdict_of(report).reasons]
    return report
