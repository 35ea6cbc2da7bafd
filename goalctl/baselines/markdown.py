"""The "Compared with baseline" section of report.md and the step summary: a table that
reads well as a pull-request comment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_VERDICTS = {
    "regressed": "❌ regressed",
    "worse": "⚠️ worse, not significant",
    "unchanged": "unchanged",
    "better": "better, not significant",
    "improved": "✅ improved",
    "not compared": "➖ not compared",
    "higher": "higher, within tolerance",
    "lower": "lower",
}
_RELATIONS = {
    "saved": "its saved baseline",
    "parent": "the baseline of its parent version",
    "named": "the baseline named by --baseline",
}
_TESTS = {"mcnemar": "McNemar", "fisher": "Fisher", "tolerance": "tolerance"}


def comparison_lines(comparison: Mapping[str, Any], heading: str = "##") -> list[str]:
    """The section's lines (no trailing blank line)."""
    lines = [
        f"{heading} Compared with baseline",
        "",
        against_text(comparison, code="`"),
        settings_text(comparison),
        "",
        "| | before | after | change | p-value | verdict |",
        "|---|--:|--:|--:|--:|---|",
    ]
    lines += [_row(item) for item in comparison["items"]]
    regressions = ", ".join(f"`{name}`" for name in comparison["regressions"])
    lines.append("")
    if not regressions:
        lines.append("No regression.")
    elif comparison["fail_on_regression"]:
        lines.append(f"**Regressed: {regressions}** — the run fails (--fail-on-regression).")
    else:
        lines.append(
            f"**Regressed: {regressions}** — reported only (--fail-on-regression gates on it)."
        )
    lines += comparison_notes(comparison, case=_cell, ident=lambda name: f"`{name}`")
    return lines


def against_text(comparison: Mapping[str, Any], code: str = "") -> str:
    """``Against its saved baseline: version 1.0.0, run …``; ``code`` quotes the names."""
    base = comparison["baseline"]
    return (
        f"Against {_RELATIONS.get(base['relation'], base['relation'])}: version "
        f"{base['goal_version']}, run {code}{base['run_id']}{code} ({base['provider']}, "
        f"{code}{base['model']}{code}), {code}{base['file']}{code}."
    )


def settings_text(comparison: Mapping[str, Any]) -> str:
    return (
        f"{comparison['cases']['paired']} paired cases; one-sided exact tests at "
        f"α = {comparison['alpha']:g}; cost tolerance {comparison['cost_tolerance']:.0%}, "
        f"latency tolerance {comparison['latency_tolerance']:.0%}."
    )


def comparison_notes(
    comparison: Mapping[str, Any],
    *,
    case: Callable[[str], str] = str,
    ident: Callable[[str], str] = str,
) -> list[str]:
    """What the table leaves out: untestable worsenings, cases and criteria on one side only;
    ``case`` and ``ident`` write a case name and a criterion id."""
    cases = comparison["cases"]
    lines = []
    if any(item.get("underpowered") and item["verdict"] == "worse" for item in comparison["items"]):
        lines.append(
            "Some results are worse but too few cases were paired for any test to reach "
            "significance: add cases or trials to test them."
        )
    if cases["added"]:
        lines.append("Cases new since the baseline (not compared): " + _names(cases["added"], case))
    if cases.get("flaky"):
        lines.append("Flaky cases (never compared): " + _names(cases["flaky"], case))
    if cases["removed"]:
        lines.append("Cases of the baseline not run now: " + _names(cases["removed"], case))
    if comparison["criteria_removed"]:
        lines.append(
            "Criteria of the baseline the scenario no longer has: "
            + ", ".join(ident(name) for name in comparison["criteria_removed"])
        )
    return lines


def comparison_summary(comparison: Mapping[str, Any]) -> str:
    """``compared with baseline 1.0.0 (parent version, 10 paired cases): regressed:
    `cites-source``: the console's line about a comparison."""
    base = comparison["baseline"]
    relation = {"parent": "parent version, ", "named": "--baseline, "}.get(base["relation"], "")
    head = (
        f"compared with baseline {base['goal_version']} ({relation}"
        f"{comparison['cases']['paired']} paired cases)"
    )
    regressions = comparison["regressions"]
    if not regressions:
        return f"{head}: no regression"
    names = ", ".join(f"`{name}`" for name in regressions)
    gate = "" if comparison["fail_on_regression"] else " (reported only)"
    return f"{head}: regressed: {names}{gate}"


def _names(names: list[str], case: Callable[[str], str]) -> str:
    return ", ".join(case(name) for name in names)


def _cell(text: str) -> str:
    flat = " ".join(str(text).split()).replace("|", "\\|").replace("`", "\\`")
    return flat if len(flat) <= 80 else flat[:79] + "…"


def _row(item: Mapping[str, Any]) -> str:
    text = item_text(item)
    name = text.kind if text.kind in ("cost", "latency") else f"{text.kind} `{text.id}`"
    cells = (name, text.before, text.after, text.change, text.p_value, text.verdict)
    return "| " + " | ".join(cells) + " |"


@dataclass(frozen=True)
class ItemText:
    """One row of the comparison as text, for report.md and the HTML report alike."""

    kind: str
    id: str
    before: str
    after: str
    change: str
    p_value: str
    verdict: str
    """The verdict's words, marked as report.md marks them (``❌ regressed``)."""
    state: str
    """``failure`` (regressed), ``warning`` (worse), ``ok`` (improved) or ``plain``."""


_STATES = {"regressed": "failure", "worse": "warning", "improved": "ok"}


def item_text(item: Mapping[str, Any]) -> ItemText:
    kind = item["kind"]
    verdict = _VERDICTS.get(item["verdict"], item["verdict"])
    if kind in ("cost", "latency"):
        before, after = _amount(kind, item["before"]), _amount(kind, item["after"])
        change = "—" if item["change"] is None else f"{item['change']:+.1%}".replace("-", "−")
        if item["verdict"] == "unchanged":
            change, verdict = "±0", "unchanged (within noise)"
        p_value = f"tolerance +{item['tolerance']:.0%}"
        if item.get("note"):
            verdict += f" ({item['note']})"
    else:
        before, after = _rate(item["before"]), _rate(item["after"])
        change = _points(item["before"], item["after"])
        p_value = "—"
        if item["p_value"] is not None:
            p_value = f"{item['p_value']:.3g} ({_TESTS[item['test']]})"
        if item["verdict"] == "worse" and item.get("underpowered"):
            verdict = "⚠️ worse, too few cases to test"
    state = _STATES.get(item["verdict"], "plain")
    return ItemText(kind, str(item["id"]), before, after, change, p_value, verdict, state)


def _amount(kind: str, value: float) -> str:
    return f"${value:.6f}" if kind == "cost" else f"{value:.3f}s"


def _rate(text: str) -> str:
    passed, _, evaluated = text.partition("/")
    if evaluated in ("", "0"):
        return text
    return f"{text} ({int(passed) / int(evaluated):.0%})"


def _points(before: str, after: str) -> str:
    def rate(text: str) -> float | None:
        passed, _, evaluated = text.partition("/")
        return int(passed) / int(evaluated) if evaluated not in ("", "0") else None

    old, new = rate(before), rate(after)
    if old is None or new is None:
        return "—"
    points = round((new - old) * 100, 1)
    if points == 0:
        return "±0"
    return f"{points:+.1f} pts".replace("-", "−")
