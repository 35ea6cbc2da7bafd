"""The baseline file: a finished run's results, kept beside its scenario and meant for git.

``<scenario>.baseline.json`` holds, per case (by name) and per criterion and constraint,
``passed/evaluated`` counts, and each case's cost and time, with the goal's id and version.
It is written for diffs: fixed key order at the top, names sorted below, one result per line,
no timestamps, costs and times rounded so that reruns of the same outputs write the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goalctl.baselines.results import CaseResults, Count, case_results
from goalctl.errors import UsageError

FORMAT = "goalctl-baseline/1"
"""The ``format`` this goalctl writes and reads; the first key of every baseline file."""
SUFFIX = ".baseline.json"
COST_DIGITS = 8
"""Dollars to 8 places, as report.json keeps them: a cheap call costs a few millionths."""
TIME_DIGITS = 3
"""Seconds to the millisecond: finer digits are noise that would churn every save."""


@dataclass(frozen=True)
class Baseline:
    """A baseline file, read and checked."""

    path: Path
    goal_id: str
    goal_version: str
    run_id: str
    provider: str
    model: str
    verdict: str
    cost_basis: str
    cases: dict[str, CaseResults]


def baseline_path(scenario: Path) -> Path:
    """Where the baseline of ``scenario`` lives: ``faq.md`` → ``faq.baseline.json``."""
    return scenario.with_name(scenario.stem + SUFFIX)


def baseline_document(report: dict[str, Any]) -> dict[str, Any]:
    """The baseline file's content for a finished run's report."""
    cases = case_results(report)
    totals = report["totals"]
    criteria: dict[str, Count] = {}
    constraints: dict[str, Count] = {}
    for result in cases.values():
        for key, count in result.criteria.items():
            criteria[key] = criteria.get(key, Count(0, 0)) + count
        for key, count in result.constraints.items():
            constraints[key] = constraints.get(key, Count(0, 0)) + count
    return {
        "format": FORMAT,
        "goal": {"id": report["goal"]["id"], "version": report["goal"]["version"]},
        "scenario": Path(str(report["scenario"])).name,
        "run_id": report["run_id"],
        "provider": report["provider"],
        "model": report["model"],
        "verdict": report["verdict"],
        "score": round(float(report["score"]), 6),
        "totals": {
            "cases": len(cases),
            "cost_usd": round(sum(r.cost_usd for r in cases.values()), COST_DIGITS),
            "elapsed_s": round(sum(r.elapsed_s for r in cases.values()), TIME_DIGITS),
            "cost_basis": str(totals.get("cost_basis") or "priced"),
        },
        "criteria": _texts(criteria),
        "constraints": _texts(constraints),
        "cases": {name: _case(result) for name, result in sorted(cases.items())},
    }


def _case(result: CaseResults) -> dict[str, Any]:
    case: dict[str, Any] = {
        "status": result.status,
        "criteria": _texts(result.criteria),
        "constraints": _texts(result.constraints),
        "cost_usd": round(result.cost_usd, COST_DIGITS),
        "elapsed_s": round(result.elapsed_s, TIME_DIGITS),
    }
    if result.flaky:
        case["flaky"] = True  # only flaky cases say so: the others keep one shape
    return case


def _texts(counts: dict[str, Count]) -> dict[str, str]:
    return {key: counts[key].text() for key in sorted(counts)}


def dump_baseline(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read_baseline(path: Path) -> Baseline:
    """Read and check a baseline file; anything wrong is a :class:`UsageError` naming it."""
    from goalctl.reading import ReadError, read_text

    try:
        data = json.loads(read_text(path, "baseline"))
    except ReadError as exc:
        raise UsageError(f"baseline {path}: {exc.detail}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"baseline {path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    try:
        return _parse(path, data)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UsageError(
            f"baseline {path} is damaged ({detail}); write it again with `goalctl baseline save`"
        ) from None


def _parse(path: Path, data: Any) -> Baseline:
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise ValueError("not a goalctl baseline: no 'format'")
    if data["format"] != FORMAT:
        name, _, version = data["format"].partition("/")
        if name == FORMAT.partition("/")[0] and version.isdigit() and int(version) > 1:
            raise UsageError(
                f"baseline {path} was written by a newer goalctl ({data['format']}, this "
                f"goalctl reads {FORMAT}); upgrade goalctl"
            )
        raise ValueError(f"unknown format {data['format']!r}")
    cases = {}
    for name, case in _mapping(data["cases"], "cases").items():
        case = _mapping(case, f"cases.{name}")
        cases[name] = CaseResults(
            status=str(case["status"]),
            criteria=_counts(case["criteria"], f"cases.{name}.criteria"),
            constraints=_counts(case["constraints"], f"cases.{name}.constraints"),
            cost_usd=_number(case["cost_usd"], f"cases.{name}.cost_usd"),
            elapsed_s=_number(case["elapsed_s"], f"cases.{name}.elapsed_s"),
            flaky=case.get("flaky") is True,
        )
    goal = _mapping(data["goal"], "goal")
    totals = _mapping(data["totals"], "totals")
    return Baseline(
        path=path,
        goal_id=_string(goal["id"], "goal.id"),
        goal_version=_string(goal["version"], "goal.version"),
        run_id=_string(data["run_id"], "run_id"),
        provider=_string(data["provider"], "provider"),
        model=_string(data["model"], "model"),
        verdict=_string(data["verdict"], "verdict"),
        cost_basis=_string(totals["cost_basis"], "totals.cost_basis"),
        cases=cases,
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where} must be a number >= 0")
    return float(value)


def _counts(value: Any, where: str) -> dict[str, Count]:
    counts = {}
    for key, text in _mapping(value, where).items():
        if not isinstance(text, str):
            raise ValueError(f"{where}.{key} must be a string like '3/4'")
        try:
            counts[key] = Count.parse(text)
        except ValueError as exc:
            raise ValueError(f"{where}.{key}: {exc}") from None
    return counts
