"""A case of several trials as one record, and the statistics reports show for trials.

The case's record (what ``report.json`` lists under ``cases``) keeps the shape of a record of
one trial, so every reader of reports reads it alike: its ``status`` is the case's verdict over
its trials, its ``checks`` say per criterion whether the case meets it over its trials (with
the pass rate and interval as evidence), its ``constraints`` whether any trial violated each,
its metrics are the sums over its trials; its ``output``, ``text``, ``trajectory`` and
``answers`` are those of its first trial that did not pass (else of its last), the one worth
reading, and ``trials.shown`` says which. ``trials`` adds the statistics and every trial's
own record.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from goalctl.reports.data import CaseRecord
from goalctl.statistics import Interval, pass_at_k, pass_hat_k, wilson_interval
from goalctl.trials.verdicts import Rule, criterion_verdicts, tally_of
from goalctl.verdict import case_word

CONFIDENCE = 0.95
"""The confidence of the intervals reports show (a criterion's own ``confidence`` gates)."""


def interval_json(passed: int, trials: int, confidence: float = CONFIDENCE) -> list[float]:
    interval: Interval = wilson_interval(passed, trials, confidence)
    return [round(interval.low, 6), round(interval.high, 6)]


def interval_text(interval: Sequence[float]) -> str:
    """``40%–89%``: an interval as every human-facing output writes it."""
    low, high = interval
    return f"{_percent(low)}–{_percent(high)}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def rate_json(passed: int, trials: int) -> dict[str, Any]:
    """Pass rate, 95% Wilson interval, pass@k and pass^k with k = the trials that ran."""
    return {
        "passed": passed,
        "trials": trials,
        "pass_rate": round(passed / trials, 6) if trials else 0.0,
        "interval": interval_json(passed, trials),
        "k": trials,
        "pass_at_k": round(pass_at_k(passed, trials, trials), 6) if trials else 0.0,
        "pass_hat_k": round(pass_hat_k(passed, trials, trials), 6) if trials else 0.0,
    }


def case_record(
    records: Sequence[CaseRecord],
    planned: int,
    rules: Sequence[Rule],
    verdict: str,
    stopped_early: bool,
) -> CaseRecord:
    """The record of a case of several trials, from its trials' records (in trial order)."""
    # The trials' records are read back from the journal for this summary alone: shared.
    trials = [record.to_json(copy=False) | {"trial": record.trial} for record in records]
    first = records[0]
    shown = next((r for r in records if r.status != "passed"), records[-1])
    tally = tally_of(planned, trials)
    run = len(records)
    # Judged over the planned trials when it stopped early (the verdict the rest could not
    # change), else over those that ran.
    verdicts = criterion_verdicts(tally, rules, planned if stopped_early else run)
    checks = []
    criteria: dict[str, Any] = {}
    evaluated = run - tally.errored
    for rule in rules:
        passed = tally.passes.get(rule.criterion, 0)
        stats = rate_json(passed, evaluated)
        met = bool(verdicts.get(rule.criterion))
        criteria[rule.criterion] = {**stats, "met": met}
        needs = f"needs {_percent(rule.threshold)}"
        if rule.confidence is not None:
            needs = (
                f"needs the {_percent(rule.confidence)} lower bound at {_percent(rule.threshold)}"
            )
        evidence = (
            f"{passed}/{evaluated} trials passed "
            f"(95% interval {interval_text(stats['interval'])}), {needs}"
        )
        checks.append(
            {
                "criterion": rule.criterion,
                "passed": met,
                "evidence": evidence,
                "score": None,
                "error": None,
            }
        )
    constraints = _constraints(records)
    errored = next((r for r in records if r.status == "error"), None)
    metrics = _summed([r.metrics for r in records])
    statuses = [r.status for r in records]
    return CaseRecord(
        index=first.index,
        name=first.name,
        status=verdict,
        input=first.input,
        expected=first.expected,
        output=shown.output,
        text=shown.text,
        error=None if errored is None else f"trial {errored.trial}: {errored.error}",
        attempts=sum(r.attempts for r in records),
        metrics=metrics,
        checks=checks,
        constraints=constraints,
        trajectory=shown.trajectory,
        answers=shown.answers,
        flaky=first.flaky,
        trials={
            "shown": shown.trial,
            "planned": planned,
            "run": run,
            "stopped_early": stopped_early,
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "errored": statuses.count("error"),
            **{
                k: v
                for k, v in rate_json(statuses.count("passed"), run).items()
                if k not in ("passed", "trials")
            },
            "criteria": criteria,
            "records": trials,
        },
    )


def case_summary_line(record: CaseRecord) -> str:
    """The event logged when a case of several trials is done: ``case praise: passed over
    9/9 trials passed, stopped early: 1 not needed``."""
    trials = record.trials or {}
    line = f"case {record.name}: {case_word(record.status)} over "
    line += f"{trials.get('passed', 0)}/{trials.get('run', 0)} trials passed"
    if trials.get("stopped_early"):
        line += f", stopped early: {trials['planned'] - trials['run']} not needed"
    return line


def _constraints(records: Sequence[CaseRecord]) -> list[dict[str, Any]]:
    """Per constraint: violated when a trial violated it, naming the first such trial."""
    merged: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for record in records:
        for check in record.constraints:
            name = str(check["constraint"])
            counts.setdefault(name, 0)
            if name not in merged:
                merged[name] = {
                    "constraint": name,
                    "satisfied": True,
                    "evidence": "",
                    "error": None,
                }
            if not check["satisfied"]:
                counts[name] += 1
                if merged[name]["satisfied"]:
                    merged[name] = {
                        "constraint": name,
                        "satisfied": False,
                        "evidence": f"trial {record.trial}: {check['evidence']}",
                        "error": check.get("error"),
                    }
    for name, entry in merged.items():
        if entry["satisfied"]:
            entry["evidence"] = f"held in all {len(records)} trials"
        elif counts[name] > 1:
            entry["evidence"] += f" (violated in {counts[name]} of {len(records)} trials)"
    return list(merged.values())


def _summed(metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for entry in metrics:
        for name, value in entry.items():
            total[name] = total.get(name, 0) + value
    if "elapsed_s" in total:
        total["elapsed_s"] = round(float(total["elapsed_s"]), 6)
    if "cost_usd" in total:
        total["cost_usd"] = round(float(total["cost_usd"]), 8)
    return total


class TrialStatistics:
    """The trial statistics of a report, from its case records given one at a time."""

    def __init__(self, criteria: Sequence[str]) -> None:
        self._counts = {criterion: (array("l"), array("l")) for criterion in criteria}
        """Per criterion, each counted case's passing trials and trials (when it has any):
        pass@k needs k, the fewest trials of any case, before any case's share."""
        self.run = self.saved = self.flaky = 0
        self.stopped_early: list[str] = []

    def add(self, record: CaseRecord) -> None:
        if not record.flaky and record.status != "error":
            for criterion, (passes, trials) in self._counts.items():
                passed, ran = _criterion_counts(record, criterion)
                if ran:
                    passes.append(passed)
                    trials.append(ran)
        self.run += _trials_run(record)
        if record.trials is not None and record.trials["stopped_early"]:
            self.saved += record.trials["planned"] - record.trials["run"]
            self.stopped_early.append(record.name)
        self.flaky += record.flaky

    def add_to(self, report: dict[str, Any], *, early_stop: bool, planned: int) -> None:
        """Per criterion, pooled over the trials of the cases that count (not flaky, not
        errored): pass rate, 95% Wilson interval, pass@k and pass^k averaged over those cases,
        with k the fewest trials any of them ran; and the run's trials (planned, run, saved by
        early stopping)."""
        for criterion in report["criteria"]:
            passes, runs = self._counts[criterion["id"]]
            passed, trials = sum(passes), sum(runs)
            k = min(runs, default=0)
            cases = len(runs)
            stats: dict[str, Any] = {
                "passed": passed,
                "trials": trials,
                "pass_rate": round(passed / trials, 6) if trials else 0.0,
                "interval": interval_json(passed, trials),
                "k": k,
                "pass_at_k": _mean(
                    (pass_at_k(c, n, k) for c, n in zip(passes, runs, strict=True)), cases
                ),
                "pass_hat_k": _mean(
                    (pass_hat_k(c, n, k) for c, n in zip(passes, runs, strict=True)), cases
                ),
            }
            criterion["trials"] = stats
        report["trials"] = {
            "planned": planned,
            "run": self.run,
            "saved": self.saved,
            "early_stop": early_stop,
            "stopped_early": self.stopped_early,
        }
        report["totals"]["trials_run"] = self.run
        report["totals"]["cases_flaky"] = self.flaky


def add_trial_statistics(
    report: dict[str, Any], records: Iterable[CaseRecord], *, early_stop: bool, planned: int
) -> None:
    """:class:`TrialStatistics` of ``records`` added to ``report``."""
    statistics = TrialStatistics([str(c["id"]) for c in report["criteria"]])
    for record in records:
        statistics.add(record)
    statistics.add_to(report, early_stop=early_stop, planned=planned)


def _criterion_counts(record: CaseRecord, criterion: str) -> tuple[int, int]:
    if record.trials is None:
        check = next((c for c in record.checks if c["criterion"] == criterion), None)
        return (int(bool(check["passed"])), 1) if check is not None else (0, 0)
    stats = record.trials["criteria"].get(criterion)
    return (int(stats["passed"]), int(stats["trials"])) if stats else (0, 0)


def _trials_run(record: CaseRecord) -> int:
    return 1 if record.trials is None else int(record.trials["run"])


def _mean(values: Iterable[float], count: int) -> float:
    """The mean of ``count`` values, summed in their order (reports stay byte for byte)."""
    return round(sum(values) / count, 6) if count else 0.0
