"""``report.md``: the verdict first, then why — criteria, constraints, cases, cost."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from goalctl.config.prices import cost_column, cost_text
from goalctl.excerpts import plural, shorten
from goalctl.reports.steps import (
    StepText,
    cases_having,
    cases_with_steps,
    hidden_steps,
    step_texts,
)
from goalctl.reports.trials import case_status, trials_line, trials_section
from goalctl.verdict import FAILURE, WARNING, verdict_of

VERDICT_LABELS = {
    "achieved": "✅ achieved",
    "not_achieved": "❌ not achieved",
    "error": "⚠️ error (no verdict)",
}


_REASON_MARKS = {WARNING: "⚠️ warning:", FAILURE: "❌"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]*")  # goal.SLUG_PATTERN, without pydantic
STEP_WIDTH = 80
"""Widest argument or result shown in a step table; report.json has them whole."""


def _cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 160 else text[:159] + "…"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def percent(value: float) -> str:
    return f"{value * 100:.1f}%".replace(".0%", "%")


def render_markdown(report: Mapping[str, Any]) -> str:
    """The human report of a run, from its JSON report."""
    return "".join(markdown_chunks(report))


CHUNK_LINES = 512
"""Lines per piece of :func:`markdown_chunks`."""


def markdown_chunks(report: Mapping[str, Any]) -> Iterator[str]:
    """:func:`render_markdown` in pieces of whole lines: a report of many cases is written
    while its cases are read, never whole in memory."""
    batch: list[str] = []
    for line in _markdown_lines(report):
        batch.append(line)
        if len(batch) >= CHUNK_LINES:
            yield "\n".join(batch) + "\n"
            batch.clear()
    if batch:
        yield "\n".join(batch) + "\n"


def _markdown_lines(report: Mapping[str, Any]) -> Iterator[str]:
    goal = report["goal"]
    totals = report["totals"]
    verdict = verdict_of(report)
    title = f"# {goal['name']} — {VERDICT_LABELS.get(verdict.verdict, verdict.verdict)}"
    if verdict.scored and verdict.explanation():
        title += f": {verdict.explanation()}"
    lines = [
        title,
        "",
        f"- Goal: `{goal['id']}` version {goal['version']} ({report['scenario']})",
        f"- Run: `{report['run_id']}` — agent `{report['agent']}`, "
        f"provider `{report['provider']}`, model `{report['model']}`",
    ]
    if verdict.scored:
        score, needed = percent(report["score"]), percent(report["threshold"])
        lines.append(
            f"- Weighted score: **{score}** (needs {needed}; every hard constraint must hold too)"
        )
    lines += [
        f"- Cases: {totals['cases_passed']} passed, {totals['cases_failed']} failed, "
        f"{totals['cases_errored']} errored, of {totals['cases']}",
        f"- Cost: {cost_text(totals['cost_usd'], totals)} — {plural(totals['llm_calls'], 'call')}, "
        f"{totals['input_tokens']} input and {totals['output_tokens']} output tokens, "
        f"{totals['elapsed_s']:.2f}s",
    ]
    trials = trials_line(report)
    if trials:
        lines.insert(-1, f"- {trials}")
    rescored = report.get("rescored_from")
    if rescored:
        lines.append(
            f"- Rescored from run `{rescored['run_id']}`: its stored outputs, checked against "
            "the scenario's current criteria and constraints (the cost above is this rescore's "
            "judge calls)"
        )
    if report["error"]:
        lines += ["", f"**Error:** {report['error']}"]
    if report["budget_stop"]:
        stop = report["budget_stop"]
        lines += ["", f"**Stopped by budget** `{stop['constraint']}`: {stop['evidence']}"]
    if verdict.scored and verdict.reasons:
        lines += ["", "## Why", ""]
        lines += [
            f"- {_REASON_MARKS[r.level]} {r.summary} — {_cell(r.detail)}" for r in verdict.reasons
        ]
    if report.get("comparison"):
        from goalctl.baselines.markdown import comparison_lines

        lines += ["", *comparison_lines(report["comparison"])]
    lines += [
        "",
        "## Success criteria",
        "",
        "| | criterion | metric | weight | passed | threshold | evidence |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for c in report["criteria"]:
        mark = "✅" if c["met"] else "❌"
        rate = f"{c['passed']}/{c['evaluated']}"
        evidence = "; ".join(c["evidence"][:3])
        criterion = f"`{c['id']}` {_cell(c['description'])}"
        threshold = percent(c["threshold"])
        lines.append(
            _row(mark, criterion, c["metric"], f"{c['weight']:g}", rate, threshold, _cell(evidence))
        )
    if report["constraints"]:
        lines += [
            "",
            "## Constraints",
            "",
            "| | constraint | type | category | result |",
            "|---|---|---|---|---|",
        ]
        for c in report["constraints"]:
            if not c["checked"]:
                mark, result = "➖", "not checked (no `check`)"
            elif c["violated"]:
                mark = "❌" if c["type"] == "hard" else "⚠️"
                result = "violated: " + "; ".join(c["violations"][:3])
            else:
                mark, result = "✅", "held"
            constraint = f"`{c['id']}` {_cell(c['description'])}"
            lines.append(_row(mark, constraint, c["type"], c["category"], _cell(result)))
    yield from lines
    yield from trials_section(report)
    lines = []
    if report.get("models"):
        from goalctl.models.comparison import comparison_markdown

        lines += comparison_markdown(report["models"])
    lines += [
        "",
        "## Cases",
        "",
        f"| case | status | attempts | calls | {cost_column(totals)} | time | notes |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    yield from lines
    for case in report["cases"]:
        metrics = case["metrics"]
        failed = [c["criterion"] for c in case["checks"] if not c["passed"]]
        failed += [c["constraint"] for c in case["constraints"] if not c["satisfied"]]
        note = case["error"] or (("unmet: " + ", ".join(failed)) if failed else "")
        cost, elapsed = f"${metrics['cost_usd']:.6f}", f"{metrics['elapsed_s']:.2f}s"
        yield _row(
            _cell(case["name"]),
            case_status(case),
            case["attempts"],
            metrics["llm_calls"],
            cost,
            elapsed,
            _cell(note),
        )
    yield from _earlier_attempts(report["cases"])
    yield from _conversations(report["cases"])
    yield from _trajectories(report["cases"])
    if report["agent_summary"]:
        yield from ["", "## Agent summary", "", report["agent_summary"]]


def _section(heading: Sequence[str], rows: Iterator[str]) -> Iterator[str]:
    """``heading`` and ``rows``, or nothing when there are no rows (looked for lazily)."""
    first = next(rows, None)
    if first is None:
        return
    yield from heading
    yield first
    yield from rows


def _earlier_attempts(cases: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The unmet checks of attempts that were retried; the Cases table shows the last."""
    rows = (
        _row(_cell(case["name"]), tried["attempt"], _cell(_unmet(tried)))
        for case in cases_having(cases, "earlier_attempts")
        for tried in case["earlier_attempts"]
    )
    heading = ["", "## Earlier attempts", "", "| case | attempt | unmet |", "|---|---|---|"]
    return _section(heading, rows)


def _unmet(tried: Mapping[str, Any]) -> str:
    return "; ".join(
        f"`{c['criterion']}`: {c['evidence']}" + (f": {c['error']}" if c["error"] else "")
        for c in tried["checks"]
        if not c["passed"]
    )


def _conversations(cases: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Each answer of the multi-turn cases, turn by turn; the Cases table shows the last."""
    rows = (
        _row(_cell(case["name"]), turn, _cell(shorten(answer, STEP_WIDTH * 2)))
        for case in cases_having(cases, "answers")
        for turn, answer in enumerate(case["answers"], start=1)
    )
    heading = ["", "## Conversations", "", "| case | turn | answer |", "|---|---|---|"]
    return _section(heading, rows)


def _trajectories(cases: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """A step table per case that called tools: what it called, with what, and what came back."""
    lines = (line for case in cases_with_steps(cases) for line in _steps_table(case))
    return _section(["", "## Trajectories"], lines)


def _steps_table(case: Mapping[str, Any]) -> Iterator[str]:
    yield from [
        "",
        f"### {_cell(case['name'])} ({case['status']})",
        "",
        "| step | tool | arguments | result or error | elapsed |",
        "|---|---|---|---|---|",
    ]
    for step in step_texts(case["trajectory"], STEP_WIDTH):
        cells = (_literal(step.tool), _literal(step.args), _outcome(step))
        yield _row(step.step, *cells, step.elapsed or "—")
    if hidden_steps(case["trajectory"]):
        yield from ["", f"{hidden_steps(case['trajectory'])} more steps are in report.json."]


def _outcome(step: StepText) -> str:
    if step.refused is not None:
        # Ids are slugs; one edited by hand into anything else is shown as plain text.
        name = f"`{step.refused}`" if _SLUG.fullmatch(step.refused) else _literal(step.refused)
        return f"⛔ refused by {name}"
    return f"❌ {_literal(step.outcome)}" if step.failed else _literal(step.outcome)


def _literal(text: str) -> str:
    """A table cell that shows ``text`` as written: arguments and results are data, so a
    backtick or a ``<`` in them must not start a code span, an HTML tag or a link."""
    return _cell(text).replace("`", "\\`").replace("<", "\\<")
