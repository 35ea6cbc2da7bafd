"""Across cases: whether each criterion is met, which constraints broke, and the verdict.

A criterion is met when its success rate across cases reaches its threshold; the goal is
achieved iff the met criteria carry 90% of the weight (exactly) and no hard constraint is
violated (DESIGN §3, §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from goalctl.evaluation import Check, ConstraintCheck
from goalctl.goal import weighted_success
from goalctl.scenario.model import Scenario


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


def aggregate_criteria(
    scenario: Scenario, case_checks: Sequence[tuple[str, Sequence[Check]]]
) -> list[CriterionResult]:
    results = []
    for criterion in scenario.goal.success_criteria:
        result = CriterionResult(
            criterion.id,
            criterion.description,
            criterion.metric.value,
            criterion.weight,
            criterion.success_threshold(),
        )
        for case_name, checks in case_checks:
            for item in checks:
                if item.criterion != criterion.id:
                    continue
                result.evaluated += 1
                result.passed += item.passed
                result.errors += item.error is not None
                if not item.passed and len(result.evidence) < 5:
                    detail = f"{item.evidence}: {item.error}" if item.error else item.evidence
                    result.evidence.append(f"{case_name}: {detail}")
        if not result.evidence and result.evaluated:
            first = next(
                (
                    f"{name}: {c.evidence}"
                    for name, checks in case_checks
                    for c in checks
                    if c.criterion == criterion.id
                ),
                "",
            )
            result.evidence.append(first)
        results.append(result)
    return results


def aggregate_constraints(
    scenario: Scenario,
    case_checks: Sequence[tuple[str, Sequence[ConstraintCheck]]],
    run_checks: Sequence[ConstraintCheck],
) -> list[ConstraintResult]:
    results = []
    for constraint in scenario.goal.constraints:
        result = ConstraintResult(
            constraint.id,
            constraint.description,
            constraint.constraint_type.value,
            constraint.category.value,
            checked=constraint.check is not None,
        )
        for where, checks in [*case_checks, ("run", run_checks)]:
            for item in checks:
                if item.constraint == constraint.id and not item.satisfied:
                    detail = f"{item.evidence}: {item.error}" if item.error else item.evidence
                    result.violations.append(f"{where}: {detail}")
        results.append(result)
    return results


def goal_achieved(
    criteria: Sequence[CriterionResult], constraints: Sequence[ConstraintResult]
) -> bool:
    """The verdict rule: 90% of the weight met, exactly, and no hard constraint violated."""
    weighted = weighted_success((c.weight, c.met) for c in criteria)
    return weighted and not any(c.hard and c.violated for c in constraints)


def weighted_score(criteria: Sequence[CriterionResult]) -> float:
    total = sum(c.weight for c in criteria)
    return sum(c.weight for c in criteria if c.met) / total if total else 0.0
