"""``report.md``: the verdict first, then why — criteria, constraints, cases, cost."""

from __future__ import annotations

import re
from typing import Any

from goalctl.config.prices import cost_column, cost_text
from goalctl.excerpts import plural, shorten
from goalctl.reports.steps import StepText, cases_with_steps, hidden_steps, step_texts
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


def render_markdown(report: dict[str, Any]) -> str:
    """The human report of a run, from its JSON report."""
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
    lines += trials_section(report)
    lines += [
        "",
        "## Cases",
        "",
        f"| case | status | attempts | calls | {cost_column(totals)} | time | notes |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for case in report["cases"]:
        metrics = case["metrics"]
        failed = [c["criterion"] for c in case["checks"] if not c["passed"]]
        failed += [c["constraint"] for c in case["constraints"] if not c["satisfied"]]
        note = case["error"] or (("unmet: " + ", ".join(failed)) if failed else "")
        cost, elapsed = f"${metrics['cost_usd']:.6f}", f"{metrics['elapsed_s']:.2f}s"
        lines.append(
            _row(
                _cell(case["name"]),
                case_status(case),
                case["attempts"],
                metrics["llm_calls"],
                cost,
                elapsed,
                _cell(note),
            )
        )
    lines += _earlier_attempts(report["cases"])
    lines += _conversations(report["cases"])
    lines += _trajectories(report["cases"])
    if report["agent_summary"]:
        lines += ["", "## Agent summary", "", report["agent_summary"]]
    return "\n".join(lines) + "\n"


def _earlier_attempts(cases: list[dict[str, Any]]) -> list[str]:
    """The unmet checks of attempts that were retried; the Cases table shows the last."""
    rows = []
    for case in cases:
        for tried in case.get("earlier_attempts", ()):
            unmet = [
                f"`{c['criterion']}`: {c['evidence']}" + (f": {c['error']}" if c["error"] else "")
                for c in tried["checks"]
                if not c["passed"]
            ]
            rows.append(_row(_cell(case["name"]), tried["attempt"], _cell("; ".join(unmet))))
    if not rows:
        return []
    return ["", "## Earlier attempts", "", "| case | attempt | unmet |", "|---|---|---|", *rows]


def _conversations(cases: list[dict[str, Any]]) -> list[str]:
    """Each answer of the multi-turn cases, turn by turn; the Cases table shows the last."""
    rows = [
        _row(_cell(case["name"]), turn, _cell(shorten(answer, STEP_WIDTH * 2)))
        for case in cases
        for turn, answer in enumerate(case.get("answers", ()), start=1)
    ]
    if not rows:
        return []
    return ["", "## Conversations", "", "| case | turn | answer |", "|---|---|---|", *rows]


def _trajectories(cases: list[dict[str, Any]]) -> list[str]:
    """A step table per case that called tools: what it called, with what, and what came back."""
    lines = []
    for case in cases_with_steps(cases):
        lines += [
            "",
            f"### {_cell(case['name'])} ({case['status']})",
            "",
            "| step | tool | arguments | result or error | elapsed |",
            "|---|---|---|---|---|",
        ]
        for step in step_texts(case["trajectory"], STEP_WIDTH):
            cells = (_literal(step.tool), _literal(step.args), _outcome(step))
            lines.append(_row(step.step, *cells, step.elapsed or "—"))
        if hidden_steps(case["trajectory"]):
            lines += ["", f"{hidden_steps(case['trajectory'])} more steps are in report.json."]
    return ["", "## Trajectories", *lines] if lines else []


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
