"""Across cases: whether each criterion is met, which constraints broke, and the verdict.

A criterion is met when its success rate across cases reaches its threshold; the goal is
achieved iff the met criteria carry 90% of the weight (exactly) and no hard constraint is
violated (DESIGN §3, §6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the reasons are rendered without loading the models
    from goalctl.evaluation import Check, ConstraintCheck
    from goalctl.scenario.model import Scenario


_VERDICT_WORDS = {"achieved": "achieved", "not_achieved": "not achieved", "error": "errored"}
_CASE_WORDS = {"passed": "passed", "failed": "failed", "error": "errored"}


def verdict_word(verdict: str | None) -> str:
    """``not achieved`` for ``not_achieved``: a verdict as every human-facing view writes it."""
    return _VERDICT_WORDS.get(verdict or "", verdict or "-")


def case_word(status: str) -> str:
    """``errored`` for ``error``: a case status as every human-facing view writes it."""
    return _CASE_WORDS.get(status, status)


@dataclass
class CriterionResult:
    id: str
    description: str
    metric: str
    weight: float
    threshold: float
    passed: int = 0
    evaluated: int = 0
    errors: int = 0
    evidence: list[str] = field(default_factory=list)
    """Evidence of the cases that failed (first few), or of one pass when all passed."""

    @property
    def success_rate(self) -> float:
        return self.passed / self.evaluated if self.evaluated else 0.0

    @property
    def met(self) -> bool:
        return self.evaluated > 0 and self.success_rate >= self.threshold


@dataclass
class ConstraintResult:
    id: str
    description: str
    constraint_type: str
    category: str
    checked: bool
    violations: list[str] = field(default_factory=list)

    @property
    def hard(self) -> bool:
        return self.constraint_type == "hard"

    @property
    def violated(self) -> bool:
        return bool(self.violations)


class CriteriaTally:
    """Each criterion's results over cases given one at a time, in case order: a run's cases
    are read back from its journal, never all in memory at once."""

    def __init__(self, scenario: Scenario) -> None:
        self.results = [
            CriterionResult(
                criterion.id,
                criterion.description,
                criterion.metric.value,
                criterion.weight,
                criterion.success_threshold(),
            )
            for criterion in scenario.goal.success_criteria
        ]
        self._by_id: dict[str, list[CriterionResult]] = {}
        for result in self.results:
            self._by_id.setdefault(result.id, []).append(result)
        self._first: dict[int, str] = {}
        """Per criterion, the evidence of its first check: shown when none failed."""

    def add(self, case_name: str, checks: Sequence[Check]) -> None:
        for item in checks:
            for result in self._by_id.get(item.criterion, ()):
                result.evaluated += 1
                result.passed += item.passed
                result.errors += item.error is not None
                if not item.passed and len(result.evidence) < 5:
                    detail = f"{item.evidence}: {item.error}" if item.error else item.evidence
                    result.evidence.append(f"{case_name}: {detail}")
                self._first.setdefault(id(result), f"{case_name}: {item.evidence}")

    def finish(self) -> list[CriterionResult]:
        for result in self.results:
            if not result.evidence and result.evaluated:
                result.evidence.append(self._first.get(id(result), ""))
        return self.results


def aggregate_criteria(
    scenario: Scenario, case_checks: Iterable[tuple[str, Sequence[Check]]]
) -> list[CriterionResult]:
    tally = CriteriaTally(scenario)
    for case_name, checks in case_checks:
        tally.add(case_name, checks)
    return tally.finish()


KEPT_VIOLATIONS = 5
"""The violations of a constraint a report keeps (the first, in case order)."""


class ConstraintTally:
    """Each constraint's violations over cases given one at a time, in case order, then the
    run's; the first :data:`KEPT_VIOLATIONS` are kept."""

    def __init__(self, scenario: Scenario) -> None:
        self.results = [
            ConstraintResult(
                constraint.id,
                constraint.description,
                constraint.constraint_type.value,
                constraint.category.value,
                checked=constraint.check is not None,
            )
            for constraint in scenario.goal.constraints
        ]
        self._by_id: dict[str, list[ConstraintResult]] = {}
        for result in self.results:
            self._by_id.setdefault(result.id, []).append(result)

    def add(self, where: str, checks: Sequence[ConstraintCheck]) -> None:
        for item in checks:
            if item.satisfied:
                continue
            for result in self._by_id.get(item.constraint, ()):
                if len(result.violations) < KEPT_VIOLATIONS:
                    detail = f"{item.evidence}: {item.error}" if item.error else item.evidence
                    result.violations.append(f"{where}: {detail}")

    def finish(self, run_checks: Sequence[ConstraintCheck]) -> list[ConstraintResult]:
        self.add("run", run_checks)
        return self.results


def aggregate_constraints(
    scenario: Scenario,
    case_checks: Iterable[tuple[str, Sequence[ConstraintCheck]]],
    run_checks: Sequence[ConstraintCheck],
) -> list[ConstraintResult]:
    tally = ConstraintTally(scenario)
    for where, checks in case_checks:
        tally.add(where, checks)
    return tally.finish(run_checks)


def goal_achieved(
    criteria: Sequence[CriterionResult], constraints: Sequence[ConstraintResult]
) -> bool:
    """The verdict rule: 90% of the weight met, exactly, and no hard constraint violated."""
    from goalctl.goal import weighted_success

    weighted = weighted_success((c.weight, c.met) for c in criteria)
    return weighted and not any(c.hard and c.violated for c in constraints)


def weighted_score(criteria: Sequence[CriterionResult]) -> float:
    total = sum(c.weight for c in criteria)
    return sum(c.weight for c in criteria if c.met) / total if total else 0.0


# -- reasons ------------------------------------------------------------------------------
# Every output (console line, report.md, report.json, JUnit, annotations, step summary)
# renders the verdict from these reasons, computed from the saved report, so that no two
# outputs can disagree about why a goal was (not) achieved or how severe each reason is.

FAILURE = "failure"
"""A reason the goal is not achieved: a ``<failure>`` in JUnit, an ``::error`` annotation."""
WARNING = "warning"
"""Reported but no reason for the verdict: a violated soft constraint, or an unmet criterion
when the met ones carry 90% of the weight anyway."""
ERROR = "error"
"""The run errored, so there is no verdict (and no score)."""


@dataclass(frozen=True)
class Reason:
    """One reason behind a verdict."""

    kind: str
    """``criterion``, ``constraint`` or ``run``."""
    id: str
    """The criterion's or constraint's id; empty for a reason about the whole run."""
    level: str
    """``failure``, ``warning`` or ``error``."""
    summary: str
    """A few words naming it: ``hard constraint `no-guarantees` violated``."""
    detail: str
    """What happened: rates, evidence, the error."""
    line: int
    """The scenario line that defines it (1 for run-level reasons)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """A run's verdict and every reason for it, in the order the scenario declares them."""

    verdict: str
    """``achieved``, ``not_achieved`` or ``error``."""
    reasons: tuple[Reason, ...]

    @property
    def failures(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.level != WARNING)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.level == WARNING)

    @property
    def scored(self) -> bool:
        """An errored run has no verdict, so its partial score is not shown."""
        return self.verdict != "error"

    def because(self) -> str:
        """Why the goal is not achieved (or the run's error), in one line; empty if achieved."""
        return "; ".join(_grouped(self.failures))

    def cautions(self) -> str:
        """The warnings, in one line; empty when there are none."""
        return "; ".join(_grouped(self.warnings))

    def explanation(self) -> str:
        """The reasons as every human-facing output states them, after the verdict's name."""
        cautions = self.cautions()
        parts = [self.because(), f"warning: {cautions}" if cautions else ""]
        return "; ".join(part for part in parts if part)


def verdict_of(report: Mapping[str, Any]) -> Verdict:
    """The verdict of a report (``report.json`` data) and its reasons."""
    verdict = str(report["verdict"])
    if verdict == "error":
        error = str(report.get("error") or "the run errored")
        return Verdict(verdict, (Reason("run", "", ERROR, error, error, 1),))
    from goalctl.goal import weighted_success

    # Unmet criteria are why a goal is missed only when they sink the weight rule; otherwise
    # (achieved, or missed for a hard constraint) each is a warning.
    criteria = report["criteria"]
    weight_met = weighted_success((c["weight"], c["met"]) for c in criteria)
    reasons = [_criterion_reason(c, weight_met) for c in criteria if not c["met"]]
    stop = report.get("budget_stop") or {}
    for constraint in report["constraints"]:
        if constraint["violated"]:
            reasons.append(_constraint_reason(constraint, stop.get("constraint")))
    reasons += _regression_reasons(report.get("comparison"))
    if verdict != "achieved" and not any(r.level == FAILURE for r in reasons):
        totals = report["totals"]
        ran = f"{totals['cases_run']} of {totals['cases']} cases ran"
        reasons.append(Reason("run", "", FAILURE, f"only {ran}", f"only {ran}", 1))
    return Verdict(verdict, tuple(reasons))


def _criterion_reason(criterion: Mapping[str, Any], weight_met: bool) -> Reason:
    rate = (
        f"{criterion['passed']}/{criterion['evaluated']} cases passed, "
        f"needs {criterion['threshold']:.0%}"
    )
    evidence = "; ".join(criterion["evidence"][:3])
    detail = f"{criterion['description']} — {rate}" + (f": {evidence}" if evidence else "")
    if weight_met:
        detail += f" (weight {criterion['weight']:g}: the other criteria carry 90% without it)"
    return Reason(
        "criterion",
        criterion["id"],
        WARNING if weight_met else FAILURE,
        f"criterion `{criterion['id']}` unmet",
        detail,
        int(criterion["line"]),
    )


def _constraint_reason(constraint: Mapping[str, Any], budget: str | None) -> Reason:
    hard = constraint["type"] == "hard"
    summary = f"{constraint['type']} constraint `{constraint['id']}` violated"
    if budget == constraint["id"]:
        summary += " (a budget: the run stopped)"
    detail = f"{constraint['description']}: " + "; ".join(constraint["violations"][:3])
    return Reason(
        "constraint",
        constraint["id"],
        FAILURE if hard else WARNING,
        summary,
        detail,
        int(constraint["line"]),
    )


_TEST_NAMES = {"mcnemar": "McNemar", "fisher": "Fisher"}


def _regression_reasons(comparison: Mapping[str, Any] | None) -> list[Reason]:
    """A reason per regression against the baseline: a failure with ``--fail-on-regression``
    (which made the goal not achieved), a warning without it."""
    if not comparison:
        return []
    level = FAILURE if comparison["fail_on_regression"] else WARNING
    version = comparison["baseline"]["goal_version"]
    reasons = []
    for item in comparison["items"]:
        if item["verdict"] != "regressed":
            continue
        if item["kind"] in ("cost", "latency"):
            growth = item["change"]
            grew = f"+{growth:.0%}" if growth is not None else "from nothing"
            detail = (
                f"{item['kind']} of the {item['cases']} paired cases grew {grew} "
                f"({item['before']} → {item['after']}), over the {item['tolerance']:.0%} tolerance"
            )
        else:
            detail = (
                f"{item['before']} → {item['after']} passed on {item['cases']} paired cases "
                f"({item['worse_cases']} worse, {item['better_cases']} better; "
                f"{_TEST_NAMES.get(item['test'], item['test'])} p = {item['p_value']:.4g} "
                f"< {comparison['alpha']:g})"
            )
        reasons.append(
            Reason(
                "regression",
                str(item["id"]),
                level,
                f"`{item['id']}` regressed against baseline {version}",
                detail,
                int(item["line"]),
            )
        )
    return reasons


def _grouped(reasons: Sequence[Reason]) -> list[str]:
    """Summaries, with reasons of one kind named together: ``criteria `a`, `b` unmet``."""
    unmet = [r for r in reasons if r.kind == "criterion"]
    others = [r.summary for r in reasons if r.kind != "criterion"]
    if len(unmet) < 2:
        return [r.summary for r in unmet] + others
    names = ", ".join(f"`{r.id}`" for r in unmet)
    return [f"criteria {names} unmet", *others]
