"""A case's verdict over its trials, and when no remaining trial can change it.

Each criterion judges a case over its *planned* trials: the case meets it when the share of
trials that pass reaches the criterion's threshold (with ``confidence``, when the lower bound
of the Wilson interval does). One trial is the rule of a run without trials: the check passed.

A case's verdict over its trials is ``error`` when a trial errored, ``passed`` when it meets
every criterion and no trial violated a constraint, else ``failed`` (with one trial: its
status). A case's trials stop early (:func:`settled_verdict`) only when every outcome of the
remaining trials gives the same verdict for every criterion and for the case, and no remaining
trial could violate a hard constraint the case has not violated yet — a hard violation
decides the goal, so until one happened the next trial could still change the goal's verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from goalctl.statistics import wilson_interval

if TYPE_CHECKING:
    from goalctl.goal import SuccessCriterion


@dataclass(frozen=True)
class Rule:
    """How one criterion judges one case over its trials."""

    criterion: str
    threshold: float
    confidence: float | None = None

    def met(self, passed: int, trials: int) -> bool:
        """Whether ``passed`` passing trials of ``trials`` meet the criterion."""
        if self.confidence is None:
            # Compared as the decimal the threshold was written as: 7 of 10 meets 0.7.
            return Fraction(passed, trials) >= Fraction(repr(float(self.threshold)))
        return wilson_interval(passed, trials, self.confidence).low >= self.threshold

    def settled(self, passed: int, run: int, planned: int) -> bool | None:
        """The verdict over ``planned`` trials when the ``planned - run`` to come cannot change
        it, else None. ``met`` grows with ``passed``, so the extremes decide."""
        worst = self.met(passed, planned)
        best = self.met(passed + planned - run, planned)
        return worst if worst == best else None


@dataclass
class Tally:
    """What a case's trials so far add up to."""

    planned: int
    run: int = 0
    errored: int = 0
    passes: dict[str, int] = field(default_factory=dict)
    """Passing trials per criterion (errored trials check nothing)."""
    violated: set[str] = field(default_factory=set)
    """Constraints some trial violated."""

    def add(self, status: str, passed: Iterable[str], violated: Iterable[str]) -> None:
        """One trial: its status, the criteria it passed, the constraints it violated."""
        self.run += 1
        if status == "error":
            self.errored += 1
            return
        for criterion in passed:
            self.passes[criterion] = self.passes.get(criterion, 0) + 1
        self.violated.update(violated)


@dataclass(frozen=True)
class Constraints:
    """The constraints a case's trials are checked against, by what a violation decides."""

    hard: frozenset[str] = frozenset()
    soft: frozenset[str] = frozenset()


def criterion_verdicts(
    tally: Tally, rules: Sequence[Rule], planned: int | None = None
) -> dict[str, bool | None]:
    """Each criterion's verdict over ``planned`` trials (default: the tally's); None while
    the trials to come could still change it."""
    over = tally.planned if planned is None else planned
    return {
        rule.criterion: rule.settled(tally.passes.get(rule.criterion, 0), tally.run, over)
        for rule in rules
    }


def final_verdict(tally: Tally, rules: Sequence[Rule]) -> str:
    """The case's verdict over the trials that ran (all of them, or all a stopped run has)."""
    if tally.errored:
        return "error"
    if tally.run == 0:
        return "failed"
    verdicts = criterion_verdicts(tally, rules, planned=tally.run)
    return "passed" if all(verdicts.values()) and not tally.violated else "failed"


def settled_verdict(tally: Tally, rules: Sequence[Rule], constraints: Constraints) -> str | None:
    """The case's verdict once no outcome of its remaining trials can change it, nor the
    goal's verdict; None while one could."""
    if tally.errored:
        return "error"  # the run errors whatever the other trials do
    if tally.run >= tally.planned:
        return final_verdict(tally, rules)
    verdicts = criterion_verdicts(tally, rules)
    if any(verdict is None for verdict in verdicts.values()):
        return None
    failed = not all(verdicts.values()) or bool(tally.violated)
    if constraints.hard:
        # A hard violation to come would change the goal's verdict, unless one happened.
        if not constraints.hard & tally.violated:
            return None
    elif not failed and not constraints.soft <= tally.violated:
        return None  # a soft violation to come would fail the case
    return "failed" if failed else "passed"


def rules_of(criteria: Iterable[SuccessCriterion]) -> list[Rule]:
    """The rules of a goal's criteria."""
    return [Rule(c.id, c.success_threshold(), c.confidence) for c in criteria]


def tally_of(planned: int, trials: Iterable[Mapping[str, Any]]) -> Tally:
    """The tally of trial records (``CaseRecord.to_json`` data)."""
    tally = Tally(planned)
    for record in trials:
        tally.add(
            str(record.get("status")),
            [str(c["criterion"]) for c in record.get("checks") or () if c.get("passed")],
            [
                str(c["constraint"])
                for c in record.get("constraints") or ()
                if not c.get("satisfied")
            ],
        )
    return tally
