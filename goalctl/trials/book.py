"""What a run knows of its cases' trials while they run: which are left, which cases are done.

The runner journals every trial's record here (and in the checkpoint, so a resumed run never
runs a finished trial again) and asks which trials a case still needs: all of them, or none
once the case's verdict is settled (:mod:`goalctl.trials.verdicts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from goalctl.evaluation import is_budget, reads_only_metrics
from goalctl.goal import ConstraintType
from goalctl.reports.data import CaseRecord
from goalctl.scenario.model import Scenario
from goalctl.trials.summary import case_record
from goalctl.trials.verdicts import (
    Constraints,
    Tally,
    final_verdict,
    rules_of,
    settled_verdict,
    tally_of,
)


class TrialBook:
    """The trials of one scenario run."""

    def __init__(self, scenario: Scenario, planned: Sequence[int], early_stop: bool) -> None:
        self.scenario = scenario
        self.planned = list(planned)
        self.rules = rules_of(scenario.goal.success_criteria)
        per_trial = [
            c for c in scenario.goal.constraints if c.check is not None and not is_budget(c)
        ]
        self.constraints = Constraints(
            frozenset(c.id for c in per_trial if c.constraint_type is ConstraintType.HARD),
            frozenset(c.id for c in per_trial if c.constraint_type is not ConstraintType.HARD),
        )
        over_totals = [
            c
            for c in scenario.goal.constraints
            if c.constraint_type is ConstraintType.HARD and reads_only_metrics(c)
        ]
        # Fewer trials cost less: a hard check of the run's totals (a budget) could hold
        # after an early stop and fail after every trial, so such a scenario runs them all.
        self.early_stop = early_stop and not over_totals
        self.records: dict[int, dict[int, CaseRecord]] = {}
        self._tallies: dict[int, Tally] = {}
        self._summaries: dict[int, CaseRecord] = {}

    @property
    def with_trials(self) -> bool:
        """Whether any case runs more than one trial (reports then show trial statistics)."""
        return any(n > 1 for n in self.planned)

    def stops_early(self, index: int) -> bool:
        """Whether the case's trials may stop early: a flaky case is there to be measured,
        so it runs all of them."""
        return self.early_stop and self.planned[index] > 1 and not self.scenario.cases[index].flaky

    def add(self, record: CaseRecord) -> bool:
        """Keep a trial's record; True when it finished its case."""
        if not 0 <= record.index < len(self.planned) or record.trial > self.planned[record.index]:
            return False  # not a trial of this run (the checkpoint of another plan)
        trials = self.records.setdefault(record.index, {})
        self._summaries.pop(record.index, None)
        tally = self._tallies.get(record.index)
        if record.trial in trials or tally is None:
            self._tallies.pop(record.index, None)  # counted afresh when next asked
        else:
            tally.add(
                record.status,
                [str(c["criterion"]) for c in record.checks if c.get("passed")],
                [str(c["constraint"]) for c in record.constraints if not c.get("satisfied")],
            )
        trials[record.trial] = record
        return self.finished(record.index)

    def work(self) -> list[tuple[int, list[int]]]:
        """The trials left, as ``(case, trials)`` units run in order: a case whose trials may
        stop early runs them one after another (each outcome decides whether the next one
        runs); any other case runs each trial as its own unit, concurrently."""
        units = []
        for index in range(len(self.planned)):
            if self.finished(index):
                continue
            remaining = self.remaining(index)
            if self.stops_early(index):
                units.append((index, remaining))
            else:
                units.extend((index, [trial]) for trial in remaining)
        return units

    def remaining(self, index: int) -> list[int]:
        """The case's trials not run yet, in order."""
        done = self.records.get(index, {})
        return [t for t in range(1, self.planned[index] + 1) if t not in done]

    def finished(self, index: int) -> bool:
        done = self.records.get(index, {})
        if len(done) >= self.planned[index]:
            return True
        return bool(done) and self.stops_early(index) and self._settled(index) is not None

    def done(self) -> int:
        """How many cases are finished."""
        return sum(self.finished(i) for i in self.records)

    def _tally(self, index: int) -> Tally:
        tally = self._tallies.get(index)
        if tally is None:
            trials = self.records.get(index, {})
            tally = tally_of(self.planned[index], (trials[t].to_json() for t in sorted(trials)))
            self._tallies[index] = tally
        return tally

    def _settled(self, index: int) -> str | None:
        return settled_verdict(self._tally(index), self.rules, self.constraints)

    def case_record(self, index: int) -> CaseRecord:
        """The case's record: its one trial's, or the summary of its trials so far."""
        summary = self._summaries.get(index)
        if summary is None:
            summary = self._summaries[index] = self._summary(index)
        return summary

    def _summary(self, index: int) -> CaseRecord:
        trials = self.records[index]
        ordered = [trials[t] for t in sorted(trials)]
        planned = self.planned[index]
        if planned == 1:
            return ordered[0]
        stopped_early = len(ordered) < planned and self.finished(index)
        verdict = self._settled(index) if stopped_early else None
        if verdict is None:
            verdict = final_verdict(self._tally(index), self.rules)
        return case_record(ordered, planned, self.rules, verdict, stopped_early)

    def case_records(self) -> list[CaseRecord]:
        """The record of every case with a trial run, in case order."""
        return [self.case_record(i) for i in sorted(self.records)]

    def trial_records(self) -> list[CaseRecord]:
        return [r for i in sorted(self.records) for _, r in sorted(self.records[i].items())]
