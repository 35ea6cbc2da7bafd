"""Comparing a run with a baseline: paired per-case results, cost and latency.

Per criterion (and per constraint) only the cases present on both sides are compared, case
against case. With one evaluation per case on each side the test is McNemar's exact test on
the cases that went pass→fail against those that went fail→pass; with trials, each case's
(passed, failed) counts before and after go through Fisher's exact test and the smallest
p-value is Bonferroni-adjusted for the number of cases. Tests are one-sided (is it worse?
is it better?), since a gate asks only whether things got worse.

A worsening is a **regression** when its p-value is below ``alpha``. Some samples are too
small for any outcome to reach ``alpha`` (one case: even 1/1 → 0/1 has p = 0.5): then a
worsening is reported as ``worse`` with ``underpowered`` set, and never fails the gate, since
no evidence could have. Cost and latency regress when they grow beyond a tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalctl.baselines.document import Baseline
from goalctl.baselines.results import ZERO, CaseResults, Count, case_results
from goalctl.statistics import Alternative, fisher_exact, mcnemar_exact

COMPARISON_VERSION = 1
DEFAULT_ALPHA = 0.05
DEFAULT_COST_TOLERANCE = 0.10
DEFAULT_LATENCY_TOLERANCE = 0.20
MIN_COST_CHANGE_USD = 0.000001
"""Cost changes below a millionth of a dollar are rounding, never a regression."""
MIN_LATENCY_CHANGE_S = 0.05
"""Mean per-case time changes below 50 ms are scheduling noise, never a regression."""

REGRESSED = "regressed"
WORSE = "worse"
UNCHANGED = "unchanged"
BETTER = "better"
IMPROVED = "improved"
NOT_COMPARED = "not compared"
HIGHER = "higher"
"""Cost or latency grew, within the tolerance."""
LOWER = "lower"


@dataclass(frozen=True)
class BaselineSettings:
    """How ``goalctl run --baseline`` compares (shared by every scenario of the command)."""

    file: str | None = None
    """A baseline file named on the command line; None finds one beside each scenario."""
    alpha: float = DEFAULT_ALPHA
    cost_tolerance: float = DEFAULT_COST_TOLERANCE
    latency_tolerance: float = DEFAULT_LATENCY_TOLERANCE
    fail_on_regression: bool = False
    folders: tuple[str, ...] = ()
    """Where else a parent version's baseline may be: the folders of the scenarios run."""

    def to_state(self) -> dict[str, Any]:
        return {
            "file": str(Path(self.file).resolve()) if self.file is not None else None,
            "alpha": self.alpha,
            "cost_tolerance": self.cost_tolerance,
            "latency_tolerance": self.latency_tolerance,
            "fail_on_regression": self.fail_on_regression,
            "folders": list(self.folders),
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> BaselineSettings:
        file = data.get("file")
        return cls(
            file=file if isinstance(file, str) else None,
            alpha=float(data.get("alpha", DEFAULT_ALPHA)),
            cost_tolerance=float(data.get("cost_tolerance", DEFAULT_COST_TOLERANCE)),
            latency_tolerance=float(data.get("latency_tolerance", DEFAULT_LATENCY_TOLERANCE)),
            fail_on_regression=bool(data.get("fail_on_regression", False)),
            folders=tuple(str(f) for f in data.get("folders") or () if isinstance(f, str)),
        )


def _total(counts: Sequence[Count]) -> Count:
    return sum(counts, ZERO)


def compare(
    report: Mapping[str, Any], baseline: Baseline, settings: BaselineSettings, relation: str
) -> dict[str, Any]:
    """The ``comparison`` object of ``report`` (``report.json`` data) against ``baseline``.

    ``relation`` says what the baseline is to the scenario: ``saved`` (its own baseline
    file), ``parent`` (the baseline of its ``parent_version``) or ``named`` (``--baseline
    FILE``).
    """
    now = case_results(report)
    then = baseline.cases
    flaky = [name for name in now if now[name].flaky or (name in then and then[name].flaky)]
    paired = [name for name in now if name in then and name not in flaky]
    items = [
        _item("criterion", c["id"], int(c["line"]), now, then, paired, "criteria", settings)
        for c in report["criteria"]
    ]
    items += [
        _item("constraint", c["id"], int(c["line"]), now, then, paired, "constraints", settings)
        for c in report["constraints"]
        if c["checked"] and any(c["id"] in now[n].constraints for n in paired)
    ]
    current = {c["id"] for c in report["criteria"]}
    dropped = sorted({k for r in then.values() for k in r.criteria} - current)
    basis = str(report["totals"].get("cost_basis") or "priced")
    items.append(_cost(now, then, paired, basis, baseline.cost_basis, settings))
    items.append(_latency(now, then, paired, settings))
    regressions = [i["id"] for i in items if i["verdict"] == REGRESSED]
    return {
        "version": COMPARISON_VERSION,
        "baseline": {
            "file": str(baseline.path),
            "relation": relation,
            "goal_version": baseline.goal_version,
            "run_id": baseline.run_id,
            "provider": baseline.provider,
            "model": baseline.model,
        },
        "alpha": settings.alpha,
        "cost_tolerance": settings.cost_tolerance,
        "latency_tolerance": settings.latency_tolerance,
        "fail_on_regression": settings.fail_on_regression,
        "cases": {
            "paired": len(paired),
            "added": [name for name in now if name not in then],
            "removed": sorted(name for name in then if name not in now),
            "flaky": flaky,
        },
        "criteria_removed": dropped,
        "items": items,
        "regressions": regressions,
    }


def _item(
    kind: str,
    ident: str,
    line: int,
    now: Mapping[str, CaseResults],
    then: Mapping[str, CaseResults],
    names: Sequence[str],
    field: str,
    settings: BaselineSettings,
) -> dict[str, Any]:
    # One criterion's (or constraint's) results on the cases both runs evaluated it on.
    before, after = [], []
    for name in names:
        old = getattr(then[name], field).get(ident, ZERO)
        new = getattr(now[name], field).get(ident, ZERO)
        if old.evaluated and new.evaluated:
            before.append(old)
            after.append(new)
    item: dict[str, Any] = {
        "kind": kind,
        "id": ident,
        "line": line,
        "cases": len(before),
        "before": _total(before).text(),
        "after": _total(after).text(),
    }
    if not before:
        return item | {"test": None, "p_value": None, "verdict": NOT_COMPARED}
    worse = sum(b.rate > a.rate for b, a in zip(before, after, strict=True))
    better = sum(b.rate < a.rate for b, a in zip(before, after, strict=True))
    if all(c.evaluated == 1 for c in (*before, *after)):
        test = "mcnemar"
        p_worse = mcnemar_exact(worse, better, "greater")
        p_better = mcnemar_exact(worse, better, "less")
        floor = mcnemar_exact(len(before), 0, "greater")
    else:
        test = "fisher"
        p_worse = _adjusted(before, after, "greater")
        p_better = _adjusted(before, after, "less")
        # The most extreme outcome: every trial passed before and failed after.
        extreme = min(
            fisher_exact(((b.evaluated, 0), (0, a.evaluated)), "greater")
            for b, a in zip(before, after, strict=True)
        )
        floor = min(1.0, extreme * len(before))
    underpowered = floor >= settings.alpha
    shift = _total(after).rate - _total(before).rate
    if p_worse < settings.alpha:
        verdict, p_value = REGRESSED, p_worse
    elif p_better < settings.alpha:
        verdict, p_value = IMPROVED, p_better
    elif worse > better or (worse == better and shift < 0):
        verdict, p_value = WORSE, p_worse
    elif better > worse or shift > 0:
        verdict, p_value = BETTER, p_better
    else:
        verdict, p_value = UNCHANGED, 1.0
    return item | {
        "worse_cases": worse,
        "better_cases": better,
        "test": test,
        "p_value": round(p_value, 6),
        "underpowered": underpowered,
        "verdict": verdict,
    }


def _adjusted(before: Sequence[Count], after: Sequence[Count], alternative: Alternative) -> float:
    """The smallest per-case Fisher p-value, Bonferroni-adjusted for the number of cases."""
    smallest = min(
        fisher_exact(((b.passed, b.failed), (a.passed, a.failed)), alternative)
        for b, a in zip(before, after, strict=True)
    )
    return min(1.0, smallest * len(before))


def _growth(before: float, after: float) -> float | None:
    """Relative change, or None when there was nothing before to grow from."""
    return round((after - before) / before, 6) if before else None


def _cost(
    now: Mapping[str, CaseResults],
    then: Mapping[str, CaseResults],
    names: Sequence[str],
    basis: str,
    basis_before: str,
    settings: BaselineSettings,
) -> dict[str, Any]:
    before = round(sum(then[n].cost_usd for n in names), 8)
    after = round(sum(now[n].cost_usd for n in names), 8)
    item: dict[str, Any] = {
        "kind": "cost",
        "id": "cost",
        "line": 1,
        "cases": len(names),
        "before": before,
        "after": after,
        "change": _growth(before, after),
        "tolerance": settings.cost_tolerance,
        "test": "tolerance",
        "p_value": None,
    }
    if not names or basis != basis_before or "unknown" in (basis, basis_before):
        note = f"cost basis {basis_before} → {basis}" if names else "no paired cases"
        return item | {"verdict": NOT_COMPARED, "note": note}
    verdict = _tolerance(before, after, settings.cost_tolerance, MIN_COST_CHANGE_USD)
    return item | {"verdict": verdict}


def _latency(
    now: Mapping[str, CaseResults],
    then: Mapping[str, CaseResults],
    names: Sequence[str],
    settings: BaselineSettings,
) -> dict[str, Any]:
    before = round(sum(then[n].elapsed_s for n in names), 3)
    after = round(sum(now[n].elapsed_s for n in names), 3)
    item: dict[str, Any] = {
        "kind": "latency",
        "id": "latency",
        "line": 1,
        "cases": len(names),
        "before": before,
        "after": after,
        "change": _growth(before, after),
        "tolerance": settings.latency_tolerance,
        "test": "tolerance",
        "p_value": None,
    }
    if not names:
        return item | {"verdict": NOT_COMPARED, "note": "no paired cases"}
    floor = MIN_LATENCY_CHANGE_S * len(names)
    return item | {"verdict": _tolerance(before, after, settings.latency_tolerance, floor)}


def _tolerance(before: float, after: float, tolerance: float, floor: float) -> str:
    if abs(after - before) < floor:
        return UNCHANGED
    if after > before * (1 + tolerance):
        return REGRESSED
    return HIGHER if after > before else LOWER
