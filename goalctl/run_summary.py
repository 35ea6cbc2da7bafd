"""The lines of ``goalctl run``: a pipe's progress lines and the block after every run.

A terminal and a pipe print the same block, word for word: only colour (a *tone* per line)
and the live progress before it differ. Verdicts and case statuses are written with
:func:`goalctl.verdict.verdict_word` and :func:`~goalctl.verdict.case_word`, as in ``list``,
``status`` and ``logs``, so a case is never ``FAIL`` in one place and ``failed`` in another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from goalctl.config.prices import cost_basis, cost_text
from goalctl.excerpts import plural
from goalctl.outcomes import RunOutcome
from goalctl.reports.data import CaseRecord
from goalctl.scenario.model import Scenario
from goalctl.state import RunStatus
from goalctl.verdict import case_word, verdict_of, verdict_word

Tone = Literal["good", "bad", "warn", "plain"]


@dataclass(frozen=True)
class Line:
    text: str
    tone: Tone = "plain"


def started_line(run_id: str, scenario: Scenario, cases: int) -> str:
    return f"{run_id}: running {scenario.path} ({plural(cases, 'case')})"


def case_line(run_id: str, record: CaseRecord) -> Line:
    """A finished case, as a pipe shows it while the run goes on."""
    detail = _case_detail(record)
    tone: Tone = "good" if record.status == "passed" or record.flaky else "bad"
    return Line(f"{run_id}: {case_word(record.status)} {_case_name(record)}{detail}", tone)


def _case_name(record: CaseRecord) -> str:
    return f"{record.name} (flaky: never gates)" if record.flaky else record.name


def _case_detail(record: CaseRecord) -> str:
    if record.error:
        return f" — {record.error}"
    unmet = [str(c["criterion"]) for c in record.checks if not c.get("passed")]
    violated = [str(c["constraint"]) for c in record.constraints if not c.get("satisfied")]
    parts = [_trials_text(record.trials) if record.trials else ""]
    parts.append(f"unmet: {', '.join(unmet)}" if unmet else "")
    parts.append(f"violated: {', '.join(violated)}" if violated else "")
    text = "; ".join(p for p in parts if p)
    return f" — {text}" if text else ""


def _trials_text(trials: Mapping[str, Any]) -> str:
    text = f"{trials['passed']}/{trials['run']} trials passed"
    if trials["stopped_early"]:
        text += f", stopped early ({trials['planned'] - trials['run']} saved)"
    return text


def outcome_line(outcome: RunOutcome) -> Line:
    """One run's verdict and why, its cases and its cost."""
    report = outcome.report
    if outcome.status is RunStatus.STOPPED:
        done = f"{report['cases_done']}/{plural(report['cases'], 'case')} finished"
        return Line(f"{outcome.run_id}: stopped — {done}", "warn")
    totals = report["totals"]
    verdict = verdict_of(report)
    run = f"{outcome.run_id} ({outcome.model})" if report.get("models") else outcome.run_id
    line = f"{run}: {verdict_word(verdict.verdict)}"
    explanation = verdict.explanation()
    if explanation:
        line += f" — {explanation}"
    line += " — "
    if verdict.scored:
        line += f"score {report['score'] * 100:.0f}% (needs 90%), "
    cases = f"{totals['cases_passed']}/{plural(totals['cases'], 'case')} passed"
    trials = report.get("trials")
    if trials:
        cases += f", {trials['run']}/{plural(trials['planned'], 'trial')} run"
        if trials["saved"]:
            cases += f" ({trials['saved']} saved by early stopping)"
    tone: Tone = "good" if verdict.verdict == "achieved" else "bad"
    return Line(line + f"{cases}, " + cost_text(totals["cost_usd"], totals), tone)


def outcome_lines(outcome: RunOutcome) -> list[Line]:
    """The verdict line, then each case that did not pass, indented under it.

    A case error the verdict line already quotes (the run errored because of it) is not
    repeated.
    """
    head = outcome_line(outcome)
    lines = [head]
    if outcome.status is RunStatus.STOPPED:
        return lines  # a stopped run has no report yet: its cases are judged when it ends
    for case in outcome.report.get("cases", []):
        if case.get("status") in (None, "passed"):
            continue
        record = CaseRecord.from_json(case)
        detail = _case_detail(record)
        if record.error and record.error in head.text:
            detail = ""
        tone: Tone = "warn" if record.flaky else "bad"
        lines.append(Line(f"  {case_word(record.status)} {_case_name(record)}{detail}", tone))
    comparison = outcome.report.get("comparison")
    if comparison:
        lines.append(_comparison_line(comparison))
    return lines


def _comparison_line(comparison: dict[str, Any]) -> Line:
    """What the comparison with the baseline found, in one indented line."""
    from goalctl.baselines import comparison_summary

    regressed = bool(comparison["regressions"])
    tone: Tone = ("bad" if comparison["fail_on_regression"] else "warn") if regressed else "good"
    return Line(f"  {comparison_summary(comparison)}", tone)


def summary_lines(outcomes: Sequence[RunOutcome], elapsed_s: float) -> list[Line]:
    """The block after every run: verdicts, one summary line, where the reports are."""
    if not outcomes:
        return []
    lines: list[Line] = []
    for outcome in outcomes:
        lines.extend(outcome_lines(outcome))
    lines.extend(_comparison_lines(outcomes))
    counts = {"achieved": 0, "not_achieved": 0, "error": 0}
    stopped = [o for o in outcomes if o.status is RunStatus.STOPPED]
    for outcome in outcomes:
        if outcome.status is not RunStatus.STOPPED and outcome.verdict in counts:
            counts[outcome.verdict] += 1
    parts = [
        f"{counts['achieved']} achieved",
        f"{counts['not_achieved']} not achieved",
        f"{counts['error']} errored",
    ]
    if stopped:
        parts.append(f"{len(stopped)} stopped")
    cost = total_cost_text([o.report["totals"] for o in outcomes])
    summary = (
        f"{plural(len(outcomes), 'run')}: {', '.join(parts)} — {cost} — {_duration(elapsed_s)}"
    )
    tone: Tone = "good" if counts["achieved"] == len(outcomes) else "bad"
    if stopped and not counts["not_achieved"] and not counts["error"]:
        tone = "warn"
    lines.append(Line(""))
    lines.append(Line(summary, tone))
    reports = [p for o in outcomes for p in o.report_paths if p.suffix == ".md"]
    if reports:
        lines.append(Line("Reports (report.json beside each):"))
        lines.extend(Line(f"  {_shown(path)}") for path in reports)
        pages = [p for o in outcomes for p in o.report_paths if p.suffix == ".html"]
        if pages:
            lines.append(Line("HTML reports (--html):"))
            lines.extend(Line(f"  {_shown(path)}") for path in pages)
        shown = next((o for o in outcomes if o.verdict not in ("achieved", None)), None)
        shown = shown or next(o for o in outcomes if o.report_paths)
        lines.append(Line(f"See one with: goalctl report {shown.run_id}"))
    if stopped:
        lines.append(Line("Stopped before the end; resume with:", "warn"))
        lines.extend(Line(f"  goalctl start {o.run_id}", "warn") for o in stopped)
    return lines


def _comparison_lines(outcomes: Sequence[RunOutcome]) -> list[Line]:
    """Each compared scenario's models side by side, once, after the runs' verdicts."""
    from goalctl.models.comparison import comparison_console

    lines: list[Line] = []
    shown: set[Path] = set()
    for outcome in outcomes:
        comparison = outcome.report.get("models")
        if not comparison or outcome.scenario.path in shown:
            continue
        shown.add(outcome.scenario.path)
        lines.append(Line(""))
        lines.extend(
            Line(text) for text in comparison_console(comparison, str(outcome.scenario.path))
        )
    return lines


def total_cost_text(totals: Sequence[Mapping[str, Any]]) -> str:
    """The cost of many runs, labelled as honestly as the cost of one (see ``cost_text``)."""
    amount = sum(float(t.get("cost_usd", 0)) for t in totals)
    # A run that spent nothing (it errored before any call) has no say in the label.
    bases = {
        cost_basis(t) for t in totals if float(t.get("cost_usd", 0)) or cost_basis(t) != "priced"
    }
    if "unknown" in bases:
        models = [m for t in totals for m in t.get("unpriced_models") or []]
        merged = {"cost_basis": "unknown", "unpriced_models": list(dict.fromkeys(models))}
        return "cost " + cost_text(amount, merged)
    if bases == {"simulated"}:
        return "cost " + cost_text(amount, {"cost_basis": "simulated"})
    if "simulated" in bases:
        return f"cost ${amount:.6f} (partly simulated)"
    return "cost " + cost_text(amount, {})


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is under it: shorter to read."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # elsewhere, or the working directory is gone
        return str(path)
