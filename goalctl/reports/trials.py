"""The trials section of ``report.md`` (and of the step summary): pass rates with their 95%
Wilson intervals, pass@k and pass^k, per criterion and per case, and what early stopping saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from goalctl.excerpts import plural

FLAKY = "flaky: reported, never gates"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _interval(values: Sequence[float]) -> str:
    low, high = values
    return f"{_percent(low)}–{_percent(high)}"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def trials_line(report: Mapping[str, Any]) -> str | None:
    """``Trials: 29 of 30 run (early stopping saved 1)``; None for a run without trials."""
    trials = report.get("trials")
    if not trials:
        return None
    line = f"Trials: {trials['run']} of {trials['planned']} run"
    if not trials["early_stop"]:
        return line + " (early stopping off)"
    return line + f" (early stopping saved {trials['saved']})"


def case_status(case: Mapping[str, Any]) -> str:
    """A case's status, labelled when it is flaky."""
    return f"{case['status']} (flaky)" if case.get("flaky") else str(case["status"])


def trials_section(report: Mapping[str, Any], heading: str = "##") -> Iterator[str]:
    """The lines of the trials tables, the cases' read as they come; none for a run without
    trials."""
    if not report.get("trials"):
        return
    lines = [
        "",
        f"{heading} Trials",
        "",
        "Pass rates with their 95% Wilson interval; pass@k: at least one of k trials passes, "
        "pass^k: all k pass (averaged over cases).",
        "",
        "| criterion | trials passed | pass rate | 95% interval | k | pass@k | pass^k |",
        "|---|---|---|---|---|---|---|",
    ]
    for criterion in report["criteria"]:
        stats = criterion.get("trials")
        if stats is None:
            continue
        lines.append(
            _row(
                f"`{criterion['id']}`",
                f"{stats['passed']}/{stats['trials']}",
                _percent(stats["pass_rate"]),
                _interval(stats["interval"]),
                stats["k"],
                f"{stats['pass_at_k']:.2f}",
                f"{stats['pass_hat_k']:.2f}",
            )
        )
    yield from lines
    yield from [
        "",
        "| case | verdict | trials passed | pass rate | 95% interval | pass@k | pass^k | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in report["cases"]:
        stats = case.get("trials")
        if stats is None:
            passed = int(case["status"] == "passed")
            stats = {"passed": passed, "run": 1, "planned": 1, "stopped_early": False}
            cells = [f"{passed}/1", _percent(passed), "—", "—", "—"]
        else:
            cells = [
                f"{stats['passed']}/{stats['run']}",
                _percent(stats["pass_rate"]),
                _interval(stats["interval"]),
                f"{stats['pass_at_k']:.2f}",
                f"{stats['pass_hat_k']:.2f}",
            ]
        notes = []
        if case.get("flaky"):
            notes.append(FLAKY)
        if stats["stopped_early"]:
            saved = stats["planned"] - stats["run"]
            notes.append(f"stopped early: verdict settled, {plural(saved, 'trial')} saved")
        elif stats["run"] < stats["planned"]:
            notes.append(f"{stats['run']} of {stats['planned']} trials ran")
        yield _row(case["name"], case_status(case), *cells, "; ".join(notes))
