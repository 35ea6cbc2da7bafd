"""A run's report as the HTML pages show it: ``report.json`` data, labelled and cut to fit.

The HTML report is rendered from the same data as report.md and report.json (and with the same
helpers: :func:`~goalctl.verdict.verdict_of` for the reasons, the price labels, the step
texts), so every report of a run says the same thing. The values here are plain data; the
template escapes every one of them (they are scenario text and model output).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from goalctl.config.prices import cost_column, cost_text
from goalctl.excerpts import plural
from goalctl.reports.markdown import VERDICT_LABELS, percent
from goalctl.reports.steps import hidden_steps, step_texts
from goalctl.reports.trials import FLAKY, trials_line
from goalctl.trials.summary import interval_text
from goalctl.verdict import verdict_of

SHOWN_CHARS = 20_000
"""Characters of one output, input or answer shown on the page; report.json has them whole."""
STEP_WIDTH = 240
"""Widest argument or result shown in a step row."""


def report_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the report template shows of one run."""
    goal = report["goal"]
    totals = report["totals"]
    verdict = verdict_of(report)
    facts = [
        ("Goal", f"{goal['id']} version {goal['version']} ({report['scenario']})"),
        ("Run", str(report["run_id"])),
        ("Agent", f"{report['agent']} — provider {report['provider']}, model {report['model']}"),
    ]
    if verdict.scored:
        facts.append(
            (
                "Weighted score",
                f"{percent(report['score'])} (needs {percent(report['threshold'])}; "
                "every hard constraint must hold too)",
            )
        )
    facts.append(
        (
            "Cases",
            f"{totals['cases_passed']} passed, {totals['cases_failed']} failed, "
            f"{totals['cases_errored']} errored, of {totals['cases']}",
        )
    )
    trials = trials_line(report)
    if trials:
        facts.append(("Trials", trials.removeprefix("Trials: ")))
    facts.append(
        (
            "Cost",
            f"{cost_text(totals['cost_usd'], totals)} — {plural(totals['llm_calls'], 'call')}, "
            f"{totals['input_tokens']} input and {totals['output_tokens']} output tokens, "
            f"{totals['elapsed_s']:.2f}s",
        )
    )
    stop = report.get("budget_stop")
    return {
        "run_id": str(report["run_id"]),
        "goal_name": str(goal["name"]),
        "description": str(goal.get("description") or ""),
        "verdict": verdict.verdict,
        "verdict_label": _verdict_label(verdict.verdict),
        "explanation": verdict.explanation() if verdict.scored else "",
        "facts": facts,
        "error": report.get("error"),
        "budget_stop": f"{stop['constraint']}: {stop['evidence']}" if stop else None,
        "reasons": [
            {"level": r.level, "summary": r.summary, "detail": r.detail, "line": r.line}
            for r in (verdict.reasons if verdict.scored else ())
        ],
        "criteria": [_criterion(c) for c in report["criteria"]],
        "constraints": [_constraint(c) for c in report["constraints"]],
        "has_trials": bool(report.get("trials")),
        "cost_column": cost_column(totals),
        "cases": CaseViews(report["cases"]),
        "agent_summary": report.get("agent_summary") or "",
        "baseline": _baseline(report.get("comparison")),
        "models": _models(report.get("models"), str(report["model"])),
    }


def _plain(label: str) -> str:
    """A label without the emoji report.md puts first: ``❌ regressed`` → ``regressed``."""
    first, _, rest = label.partition(" ")
    return rest if rest and not any(ch.isalnum() for ch in first) else label


def _baseline(comparison: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """--- Compared with baseline: report.md's section (goalctl.baselines.markdown) as data."""
    if not comparison:
        return None
    from goalctl.baselines.markdown import (
        against_text,
        comparison_notes,
        item_text,
        settings_text,
    )

    items = []
    for item in comparison["items"]:
        text = item_text(item)
        items.append(
            {
                "kind": text.kind,
                "id": text.id,
                "named": text.kind not in ("cost", "latency"),
                "before": text.before,
                "after": text.after,
                "change": text.change,
                "p_value": text.p_value,
                "verdict": _plain(text.verdict),
                "state": text.state,
            }
        )
    regressions = [str(name) for name in comparison["regressions"]]
    if not regressions:
        outcome = "No regression."
    elif comparison["fail_on_regression"]:
        outcome = "the run fails (--fail-on-regression)."
    else:
        outcome = "reported only (--fail-on-regression gates on it)."
    return {
        "against": against_text(comparison),
        "settings": settings_text(comparison),
        "rows": items,  # not "items": a template's b.items is the dict's method
        "regressions": regressions,
        "outcome": outcome,
        "gated": bool(regressions) and bool(comparison["fail_on_regression"]),
        "notes": comparison_notes(comparison),
    }


def _models(comparison: Mapping[str, Any] | None, model: str) -> dict[str, Any] | None:
    """--- Models side by side: the table of report.md (goalctl.models.comparison) as data,
    with this run's model marked."""
    if not comparison:
        return None
    from goalctl.models.comparison import differs_text, headers, legend_text, run_cells

    criteria = [str(c) for c in comparison["criteria"]]
    rows = []
    for run in comparison["runs"]:
        verdict, *cells = run_cells(run, criteria)
        rates = run.get("criteria") or {}
        unmet = [c in rates and not rates[c]["met"] for c in criteria]
        rows.append(
            {
                "model": str(run["model"]),
                "current": run["model"] == model,
                "verdict": str(run["verdict"]),
                "verdict_label": verdict,
                "rates": [
                    {"text": text, "state": "failure" if bad else ""}
                    for text, bad in zip(cells[: len(criteria)], unmet, strict=True)
                ],
                "cost": cells[len(criteria)],
                "latency": cells[len(criteria) + 1],
            }
        )
    return {
        "legend": legend_text(comparison),
        "criteria": criteria,
        "latency_header": headers(criteria)[-1],
        "rows": rows,
        "differs": differs_text(comparison),
    }


class CaseViews:
    """What the template shows of each case, made as the cases are read (as often as they
    are walked): a report's cases may be read back from its journal one at a time."""

    def __init__(self, cases: Iterable[Mapping[str, Any]]) -> None:
        self._cases = cases

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (case_view(case) for case in self._cases)


def _verdict_label(verdict: str) -> str:
    """``achieved``, ``not achieved``, ``error (no verdict)``: report.md's words, no emoji
    (the page marks verdicts with colour and a symbol of its own)."""
    label = VERDICT_LABELS.get(verdict, verdict)
    return label.split(" ", 1)[1] if " " in label else label


def _criterion(c: Mapping[str, Any]) -> dict[str, Any]:
    view = {
        "id": str(c["id"]),
        "description": str(c["description"]),
        "metric": str(c["metric"]),
        "weight": f"{c['weight']:g}",
        "passed": int(c["passed"]),
        "evaluated": int(c["evaluated"]),
        "success_rate": percent(c["success_rate"]),
        "threshold": percent(c["threshold"]),
        "met": bool(c["met"]),
        "evidence": [str(e) for e in c["evidence"]],
        "line": c.get("line"),
        "trials": None,
    }
    # --- Trials: the pooled statistics of a run of several trials (goalctl.trials.summary).
    stats = c.get("trials")
    if stats is not None:
        view["trials"] = {
            "passed": f"{stats['passed']}/{stats['trials']}",
            "rate": f"{stats['pass_rate'] * 100:.0f}%",
            "interval": interval_text(stats["interval"]),
            "k": stats["k"],
            "pass_at_k": f"{stats['pass_at_k']:.2f}",
            "pass_hat_k": f"{stats['pass_hat_k']:.2f}",
        }
    return view


def _constraint(c: Mapping[str, Any]) -> dict[str, Any]:
    if not c["checked"]:
        state, result = "unchecked", "– not checked (no check)"
    elif c["violated"]:
        state = "failure" if c["type"] == "hard" else "warning"
        result = "✗ violated" if c["type"] == "hard" else "⚠ violated (soft)"
    else:
        state, result = "ok", "✓ held"
    return {
        "id": str(c["id"]),
        "description": str(c["description"]),
        "type": str(c["type"]),
        "category": str(c["category"]),
        "state": state,
        "result": result,
        "violations": [str(v) for v in c["violations"]],
        "line": c.get("line"),
    }


def case_view(case: Mapping[str, Any]) -> dict[str, Any]:
    """One case: what went in and came out, its checks, turns, steps and trials."""
    metrics = case["metrics"]
    trajectory = case.get("trajectory") or []
    view: dict[str, Any] = {
        "anchor": f"case-{case['case']}",
        "name": str(case["name"]),
        "status": str(case["status"]),
        "flaky": FLAKY if case.get("flaky") else "",
        "attempts": case["attempts"],
        "calls": metrics.get("llm_calls", 0),
        "cost": f"${metrics.get('cost_usd', 0):.6f}",
        "elapsed": f"{metrics.get('elapsed_s', 0):.2f}s",
        "input": shown(case.get("input")),
        "expected": shown(case.get("expected")) if case.get("expected") is not None else "",
        "output": _output(case),
        "error": case.get("error"),
        "checks": [
            {
                "name": str(c["criterion"]),
                "ok": bool(c["passed"]),
                "evidence": str(c.get("evidence") or ""),
                "error": c.get("error"),
            }
            for c in case["checks"]
        ],
        "constraints": [
            {
                "name": str(c["constraint"]),
                "ok": bool(c["satisfied"]),
                "evidence": str(c.get("evidence") or ""),
                "error": c.get("error"),
            }
            for c in case["constraints"]
        ],
        "answers": [shown(answer) for answer in case.get("answers") or ()],
        "steps": step_texts(trajectory, STEP_WIDTH),
        "hidden_steps": hidden_steps(trajectory),
        "earlier": [
            {
                "attempt": tried["attempt"],
                "unmet": [
                    f"{c['criterion']}: {c['evidence']}" + (f": {c['error']}" if c["error"] else "")
                    for c in tried["checks"]
                    if not c["passed"]
                ],
            }
            for tried in case.get("earlier_attempts") or ()
        ],
        "trials": _case_trials(case.get("trials")),
    }
    return view


def _case_trials(stats: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """--- Trials: a case run several times, its rate and each trial's status."""
    if stats is None:
        return None
    note = ""
    if stats["stopped_early"]:
        saved = plural(stats["planned"] - stats["run"], "trial")
        note = f"stopped early: verdict settled, {saved} saved"
    elif stats["run"] < stats["planned"]:
        note = f"{stats['run']} of {stats['planned']} trials ran"
    return {
        "passed": f"{stats['passed']}/{stats['run']}",
        "rate": f"{stats['pass_rate'] * 100:.0f}%",
        "interval": interval_text(stats["interval"]),
        "pass_at_k": f"{stats['pass_at_k']:.2f}",
        "pass_hat_k": f"{stats['pass_hat_k']:.2f}",
        "note": note,
        "records": [
            {
                "trial": record.get("trial", index),
                "status": str(record.get("status", "")),
                "unmet": ", ".join(
                    str(c["criterion"]) for c in record.get("checks", ()) if not c["passed"]
                ),
                "error": record.get("error") or "",
                "text": shown(record.get("text") or ""),
            }
            for index, record in enumerate(stats.get("records") or (), start=1)
        ],
    }


def _output(case: Mapping[str, Any]) -> str:
    output = case.get("output")
    if output is None or isinstance(output, str):
        return shown(case.get("text") or "")
    return shown(output)


def shown(value: Any) -> str:
    """``value`` as page text: text as is, anything else as indented JSON, cut to
    :data:`SHOWN_CHARS` with a note."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + f"\n[… {len(text) - SHOWN_CHARS:,} more characters in report.json]"


def reports_title(reports: Sequence[Mapping[str, Any]]) -> str:
    if len(reports) == 1:
        report = reports[0]
        return f"{report['goal']['name']} — {_verdict_label(str(report['verdict']))}"
    return f"goalctl: reports of {len(reports)} runs"
