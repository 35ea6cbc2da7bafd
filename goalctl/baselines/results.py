"""Per case, per criterion and constraint: how many evaluations passed, from a run's report.

This is the one place that knows where results sit in ``report.json``: a case record holds
its checks, and with trials each trial's record holds its own (``trials: {records:
[{checks, constraints, status}, …]}``). Everything else in :mod:`goalctl.baselines` works on the
:class:`CaseResults` read here, so trials change nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Count:
    """``passed`` of ``evaluated`` evaluations (one per trial that gave a verdict)."""

    passed: int
    evaluated: int

    def __add__(self, other: Count) -> Count:
        return Count(self.passed + other.passed, self.evaluated + other.evaluated)

    @property
    def failed(self) -> int:
        return self.evaluated - self.passed

    @property
    def rate(self) -> float:
        return self.passed / self.evaluated if self.evaluated else 0.0

    def text(self) -> str:
        """``3/4``: the form baseline files keep, one line per criterion and case."""
        return f"{self.passed}/{self.evaluated}"

    @classmethod
    def parse(cls, text: str) -> Count:
        """The inverse of :meth:`text`; raises ValueError on anything else."""
        passed, sep, evaluated = text.partition("/")
        if not sep or not passed.isdigit() or not evaluated.isdigit():
            raise ValueError(f"expected passed/evaluated like '3/4', got {text!r}")
        count = cls(int(passed), int(evaluated))
        if count.passed > count.evaluated:
            raise ValueError(f"{text!r}: more passed than evaluated")
        return count


ZERO = Count(0, 0)


@dataclass(frozen=True)
class CaseResults:
    """One case of a run: its results per criterion and per constraint, its cost and time."""

    status: str
    criteria: dict[str, Count] = field(default_factory=dict)
    constraints: dict[str, Count] = field(default_factory=dict)
    """Per constraint: ``passed`` counts the evaluations that held it."""
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    flaky: bool = False
    """Marked ``flaky: true``: reported, never gating (nor compared)."""


def case_results(report: Mapping[str, Any]) -> dict[str, CaseResults]:
    """Every case of ``report`` (``report.json`` data) by name, in the report's order."""
    results = {}
    for record in report.get("cases") or []:
        trials = record.get("trials")
        kept = trials.get("records") if isinstance(trials, dict) else None
        runs = kept if isinstance(kept, list) and kept else [record]
        metrics = record.get("metrics") or {}
        results[str(record["name"])] = CaseResults(
            status=str(record.get("status", "")),
            criteria=_counts(runs, "checks", "criterion", "passed"),
            constraints=_counts(runs, "constraints", "constraint", "satisfied"),
            cost_usd=float(metrics.get("cost_usd") or 0.0),
            elapsed_s=float(metrics.get("elapsed_s") or 0.0),
            flaky=record.get("flaky") is True,
        )
    return results


def _counts(runs: Iterable[Mapping[str, Any]], key: str, name: str, flag: str) -> dict[str, Count]:
    """Counts over the evaluations of ``runs``; an errored run gave no verdict, so it is not
    counted (as the report's own criteria do not count errored cases)."""
    counts: dict[str, Count] = {}
    for run in runs:
        if run.get("status") == "error":
            continue
        for check in run.get(key) or []:
            ident = str(check[name])
            counts[ident] = counts.get(ident, ZERO) + Count(int(bool(check[flag])), 1)
    return counts
