"""Two runs of the same goal side by side: what flipped, and how the score moved."""

from __future__ import annotations

from typing import Any

from goalctl.errors import UsageError

# One wording for verdicts and percentages across report.md and the comparison under it.
from goalctl.reports.markdown import VERDICT_LABELS, percent

COMPARISON_VERSION = 1


def compare_reports(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed from ``before`` to ``after`` (two ``report.json`` documents of one goal).

    A criterion or constraint present in only one of the runs (the scenario changed between
    them) is listed with ``None`` on the side where it is missing.
    """
    goal_before, goal_after = before["goal"]["id"], after["goal"]["id"]
    if goal_before != goal_after:
        raise UsageError(f"can only compare runs of the same goal: {goal_before} vs {goal_after}")
    return {
        "version": COMPARISON_VERSION,
        "goal": goal_after,
        "before": _side(before),
        "after": _side(after),
        "score_delta": round(after["score"] - before["score"], 6),
        "flipped": _flips("criterion", "met", before["criteria"], after["criteria"]),
        "constraints_flipped": _flips(
            "constraint", "violated", before["constraints"], after["constraints"]
        ),
        "verdict_changed": before["verdict"] != after["verdict"],
    }


def _side(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": report["run_id"],
        "verdict": report["verdict"],
        "score": report["score"],
        "version": report["goal"]["version"],
    }


def _flips(
    kind: str, field: str, before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    old = {item["id"]: bool(item[field]) for item in before}
    new = {item["id"]: bool(item[field]) for item in after}
    ids = [*old, *(key for key in new if key not in old)]
    return [
        {kind: key, "before": old.get(key), "after": new.get(key)}
        for key in ids
        if old.get(key) != new.get(key)
    ]


# -- Markdown -----------------------------------------------------------------------------


def _points(delta: float) -> str:
    points = round(delta * 100, 1)
    if points == 0:
        return "no change"
    return f"+{points:.1f} points" if points > 0 else f"−{-points:.1f} points"


def _met(value: bool | None) -> str:
    return "✅" if value else "❌"


def _criterion_change(before: bool | None, after: bool | None) -> str:
    if before is None:
        return f"added ({_met(after)})"
    if after is None:
        return f"removed (was {_met(before)})"
    return f"{_met(before)} → {_met(after)}"


def _held(violated: bool | None) -> str:
    return "violated" if violated else "held"


def _constraint_change(before: bool | None, after: bool | None) -> str:
    if before is None:
        return f"added ({_held(after)})"
    if after is None:
        return f"removed (was {_held(before)})"
    return f"{_held(before)} → {_held(after)}"


def render_comparison_markdown(comparison: dict[str, Any]) -> str:
    """A short Markdown section on what changed between the two runs of a comparison."""
    before, after = comparison["before"], comparison["after"]
    verdicts = [VERDICT_LABELS.get(v, v) for v in (before["verdict"], after["verdict"])]
    changed = comparison["verdict_changed"]
    verdict = " → ".join(verdicts) if changed else f"{verdicts[0]} (unchanged)"
    versions = (
        f"{before['version']} → {after['version']}"
        if before["version"] != after["version"]
        else before["version"]
    )
    lines = [
        f"## {comparison['goal']}: run {before['run_id']} → run {after['run_id']}",
        "",
        f"- Verdict: {verdict}",
        f"- Score: {percent(before['score'])} → {percent(after['score'])} "
        f"({_points(comparison['score_delta'])})",
        f"- Goal version: {versions}",
        "",
    ]
    if comparison["flipped"]:
        lines += ["| criterion | change |", "|---|---|"]
        lines += [
            f"| `{f['criterion']}` | {_criterion_change(f['before'], f['after'])} |"
            for f in comparison["flipped"]
        ]
    else:
        lines.append("No criterion changed.")
    if comparison["constraints_flipped"]:
        lines += ["", "| constraint | change |", "|---|---|"]
        lines += [
            f"| `{f['constraint']}` | {_constraint_change(f['before'], f['after'])} |"
            for f in comparison["constraints_flipped"]
        ]
    return "\n".join(lines) + "\n"
