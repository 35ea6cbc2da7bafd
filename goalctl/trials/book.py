"""What a run knows of its cases' trials while they run: which are left, which cases are done.

The runner journals every trial's record in the checkpoint (so a resumed run never runs a
finished trial again) and tells the book where its line is. The book keeps per trial only
what deciding the next trial needs — where its line is, and for a case of several trials its
status, the criteria it passed and the constraints it violated — so a run of 100,000 cases
holds a few bytes per case; reports read the records back from the journal
(:mod:`goalctl.reports.journaled`). It asks which trials a case still needs: all of them, or
none once the case's verdict is settled (:mod:`goalctl.trials.verdicts`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import NamedTuple

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
)

NOT_RUN = -1
"""The offset of a trial with no line in the checkpoint yet."""


class Mark(NamedTuple):
    """One trial of a case of several trials, as its case's verdict needs it."""

    status: str
    passed: frozenset[str]
    """The criteria it passed."""
    violated: frozenset[str]
    """The constraints it violated."""
    offset: int
    """Where its record starts in the checkpoint journal."""


class TrialBook:
    """The trials of one scenario run."""

    def __init__(self, scenario: Scenario, planned: Sequence[int], early_stop: bool) -> None:
        self.scenario = scenario
        self.planned = array("l", planned)
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
        self.with_trials = any(n > 1 for n in self.planned)
        """Whether any case runs more than one trial (reports then show trial statistics)."""
        self._offsets = array("q", [NOT_RUN]) * len(self.planned)
        """Per case of one trial, where its record is in the checkpoint."""
        self._marks: dict[int, dict[int, Mark]] = {}
        """Per case of several trials that ran one, its trials so far."""
        self._finished = bytearray(len(self.planned))
        self._done = 0
        self._tallies: dict[int, Tally] = {}
        self._sets: dict[frozenset[str], frozenset[str]] = {}
        """One copy of each set of criterion (or constraint) ids: most trials share a few."""
        self._flaky: dict[int, bool] = {}

    def stops_early(self, index: int) -> bool:
        """Whether the case's trials may stop early: a flaky case is there to be measured,
        so it runs all of them."""
        if not (self.early_stop and self.planned[index] > 1):
            return False
        flaky = self._flaky.get(index)
        if flaky is None:
            flaky = self._flaky[index] = bool(self.scenario.cases[index].flaky)
        return not flaky

    def add(self, record: CaseRecord, offset: int) -> bool:
        """Note a trial whose record is at ``offset`` in the checkpoint; True when it
        finished its case."""
        index = record.index
        if not 0 <= index < len(self.planned) or record.trial > self.planned[index]:
            return False  # not a trial of this run (the checkpoint of another plan)
        if self.planned[index] == 1:
            self._offsets[index] = offset
        else:
            trials = self._marks.setdefault(index, {})
            mark = Mark(
                record.status,
                self._shared(str(c["criterion"]) for c in record.checks if c.get("passed")),
                self._shared(
                    str(c["constraint"]) for c in record.constraints if not c.get("satisfied")
                ),
                offset,
            )
            tally = self._tallies.get(index)
            if record.trial in trials or tally is None:
                self._tallies.pop(index, None)  # counted afresh when next asked
            else:
                tally.add(mark.status, mark.passed, mark.violated)
            trials[record.trial] = mark
        if not self._finished[index] and self.finished(index):
            self._finished[index] = 1
            self._done += 1
        return bool(self._finished[index])

    def _shared(self, ids: Iterator[str]) -> frozenset[str]:
        found = frozenset(ids)
        return self._sets.setdefault(found, found)

    def work(self) -> Iterator[tuple[int, list[int]]]:
        """The trials left, as ``(case, trials)`` units in order, made as they are asked for:
        a case whose trials may stop early runs them one after another (each outcome decides
        whether the next one runs); any other case runs each trial as its own unit."""
        for index in range(len(self.planned)):
            if self.finished(index):
                continue
            remaining = self.remaining(index)
            if self.stops_early(index):
                yield index, remaining
            else:
                yield from ((index, [trial]) for trial in remaining)

    def remaining(self, index: int) -> list[int]:
        """The case's trials not run yet, in order."""
        if self.planned[index] == 1:
            return [] if self._offsets[index] != NOT_RUN else [1]
        done = self._marks.get(index, {})
        return [t for t in range(1, self.planned[index] + 1) if t not in done]

    def has(self, index: int, trial: int) -> bool:
        """Whether the trial is in the checkpoint."""
        if self.planned[index] == 1:
            return trial == 1 and self._offsets[index] != NOT_RUN
        return trial in self._marks.get(index, {})

    def finished(self, index: int) -> bool:
        if self._finished[index]:
            return True
        if self.planned[index] == 1:
            return self._offsets[index] != NOT_RUN
        done = self._marks.get(index, {})
        if len(done) >= self.planned[index]:
            return True
        return bool(done) and self.stops_early(index) and self._settled(index) is not None

    def done(self) -> int:
        """How many cases are finished."""
        return self._done

    def started(self) -> bool:
        """Whether any trial is in the checkpoint."""
        return bool(self._marks) or any(o != NOT_RUN for o in self._offsets)

    def trials_run(self) -> int:
        """How many trials are in the checkpoint (each once)."""
        single = sum(1 for offset in self._offsets if offset != NOT_RUN)
        return single + sum(len(trials) for trials in self._marks.values())

    def cases(self) -> Iterator[tuple[int, list[int]]]:
        """Each case with a trial run, in case order, with the offsets of its trials' records
        in trial order."""
        for index, offset in enumerate(self._offsets):
            if offset != NOT_RUN:
                yield index, [offset]
            elif index in self._marks:
                yield index, self.offsets(index)

    def offsets(self, index: int) -> list[int]:
        """Where the records of the case's trials are, in trial order."""
        if self.planned[index] == 1:
            return [self._offsets[index]] if self._offsets[index] != NOT_RUN else []
        trials = self._marks.get(index, {})
        return [trials[t].offset for t in sorted(trials)]

    def _tally(self, index: int) -> Tally:
        tally = self._tallies.get(index)
        if tally is None:
            tally = Tally(self.planned[index])
            trials = self._marks.get(index, {})
            for trial in sorted(trials):
                mark = trials[trial]
                tally.add(mark.status, mark.passed, mark.violated)
            self._tallies[index] = tally
        return tally

    def _settled(self, index: int) -> str | None:
        return settled_verdict(self._tally(index), self.rules, self.constraints)

    def case_record(self, index: int, trials: Sequence[CaseRecord]) -> CaseRecord:
        """The case's record from its trials' records (in trial order, as :meth:`cases`
        names them): its one trial's, or the summary of its trials so far."""
        planned = self.planned[index]
        if planned == 1:
            return trials[0]
        stopped_early = len(trials) < planned and self.finished(index)
        verdict = self._settled(index) if stopped_early else None
        if verdict is None:
            verdict = final_verdict(self._tally(index), self.rules)
        return case_record(trials, planned, self.rules, verdict, stopped_early)
