"""The ``models`` object of a compared run's report, and its table in every output.

When a scenario runs once per model, each run's ``report.json`` gets the same ``models``
object, built from the reports of all of them: per model the verdict, per criterion the pass
rate with its 95% Wilson interval, the cost (labelled simulated or unknown as every cost is)
and the latency of a case (median and p95 over cases, or over trials when cases have several).
Rates are pooled over trials exactly as the trials section pools them, so both tables agree.
"""

from __future__ import annotations

import math
import statistics
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from goalctl.config.prices import cost_text
from goalctl.trials.summary import interval_json, interval_text

COMPARISON_VERSION = 1


def compare_models(reports: Sequence[Mapping[str, Any]], models: Sequence[str]) -> dict[str, Any]:
    """The ``models`` object for the runs of one scenario, one report per model (in the
    order of ``models``; a model whose run left no report, e.g. stopped, is ``not_run``)."""
    by_model = {str(r["model"]): r for r in reports}
    criteria: list[str] = []
    for report in reports:
        for criterion in report["criteria"]:
            if criterion["id"] not in criteria:
                criteria.append(criterion["id"])
    runs = [_model_row(model, by_model.get(model)) for model in models]
    ran = [run for run in runs if run["verdict"] != "not_run"]
    return {
        "version": COMPARISON_VERSION,
        "criteria": criteria,
        "runs": runs,
        "differs": [c for c in criteria if len({_met(run, c) for run in ran}) > 1],
    }


def _model_row(model: str, report: Mapping[str, Any] | None) -> dict[str, Any]:
    if report is None:
        return {"model": model, "run_id": None, "verdict": "not_run"}
    totals = report["totals"]
    return {
        "model": model,
        "run_id": report["run_id"],
        "verdict": report["verdict"],
        "score": report["score"],
        "cases_passed": totals["cases_passed"],
        "cases": totals["cases"],
        "criteria": {c["id"]: _rate(c) for c in report["criteria"]},
        "cost_usd": totals["cost_usd"],
        "cost_basis": totals.get("cost_basis", "priced"),
        "unpriced_models": list(totals.get("unpriced_models") or []),
        "latency_s": _latency(report.get("cases") or []),
    }


def _rate(criterion: Mapping[str, Any]) -> dict[str, Any]:
    """Passes over evaluations: per trial when the run had trials, else per case."""
    pooled = criterion.get("trials")
    if pooled is not None:
        passed, total = int(pooled["passed"]), int(pooled["trials"])
    else:
        passed, total = int(criterion["passed"]), int(criterion["evaluated"])
    return {
        "passed": passed,
        "evaluated": total,
        "pass_rate": round(passed / total, 6) if total else 0.0,
        "interval": interval_json(passed, total),
        "met": bool(criterion["met"]),
    }


def _met(run: Mapping[str, Any], criterion: str) -> tuple[bool, float] | None:
    """Whether a model met a criterion and at what rate: models differ when these do."""
    rate = (run.get("criteria") or {}).get(criterion)
    return None if rate is None else (bool(rate["met"]), float(rate["pass_rate"]))


def _latency(cases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Median and nearest-rank p95 of a case's (or a trial's) elapsed seconds."""
    samples: list[float] = []
    for case in cases:
        trials = case.get("trials")
        records = trials["records"] if trials else [case]
        samples.extend(float(r.get("metrics", {}).get("elapsed_s", 0.0)) for r in records)
    if not samples:
        return {"samples": 0, "median": None, "p95": None}
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "samples": len(ordered),
        "median": round(statistics.median(ordered), 6),
        "p95": round(p95, 6),
    }


# -- rendering -------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _rate_text(rate: Mapping[str, Any] | None) -> str:
    if rate is None:
        return "–"
    if not rate["evaluated"]:
        return "not evaluated"
    percent = f"{rate['pass_rate'] * 100:.0f}%"
    mark = "" if rate["met"] else " ✗"
    return (
        f"{rate['passed']}/{rate['evaluated']} {percent} ({interval_text(rate['interval'])}){mark}"
    )


def run_cells(run: Mapping[str, Any], criteria: Sequence[str]) -> list[str]:
    """A model's verdict, its rate of each criterion, cost and latency, as the tables show
    them (console, report.md, HTML)."""
    if run["verdict"] == "not_run":
        return ["not run", *("–" for _ in criteria), "–", "–"]
    latency = run["latency_s"]
    return [
        str(run["verdict"]).replace("_", " "),
        *(_rate_text(run["criteria"].get(c)) for c in criteria),
        cost_text(run["cost_usd"], run),
        f"{_seconds(latency['median'])} / {_seconds(latency['p95'])}",
    ]


def headers(criteria: Sequence[str]) -> list[str]:
    return ["model", "verdict", *criteria, "cost", "latency median / p95"]


def comparison_markdown(comparison: Mapping[str, Any], heading: str = "##") -> list[str]:
    """The "Models side by side" section of report.md and of the step summary."""
    criteria = comparison["criteria"]
    columns = headers(criteria)
    lines = [
        "",
        f"{heading} Models side by side",
        "",
        legend_text(comparison),
        "",
        _md_row(columns),
        _md_row(["---"] * len(columns)),
    ]
    for run in comparison["runs"]:
        lines.append(_md_row([f"`{run['model']}`", *run_cells(run, criteria)]))
    lines.append("")
    lines.append(differs_text(comparison))
    return lines


def legend_text(comparison: Mapping[str, Any]) -> str:
    """How to read the table's cells (report.md and the HTML report)."""
    return (
        "Per criterion: passes / evaluations, pass rate (95% Wilson interval); ✗: not met. "
        "Latency per case" + (" trial" if with_trials(comparison) else "") + "."
    )


def with_trials(comparison: Mapping[str, Any]) -> bool:
    return any(
        run.get("latency_s", {}).get("samples", 0) > run.get("cases", 0)
        for run in comparison["runs"]
        if run["verdict"] != "not_run"
    )


def differs_text(comparison: Mapping[str, Any]) -> str:
    differs = comparison["differs"]
    if not differs:
        return "The models agree on every criterion."
    return "The models differ on: " + ", ".join(differs) + "."


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


CONSOLE_WIDTH = 80
"""The console's table fits a terminal this wide, and a pipe reads the same lines."""
_LATENCY = "latency median / p95"


def comparison_console(
    comparison: Mapping[str, Any], scenario: str, width: int = CONSOLE_WIDTH
) -> list[str]:
    """The table as the console prints it after the runs, plain text within ``width``
    columns: a column per model and a row per criterion (a row per model would need a column
    per criterion, and wraps as soon as there are two); when even that is too wide (many
    models), a block per model."""
    criteria = comparison["criteria"]
    runs = comparison["runs"]
    labels = ["model", "verdict", *criteria, "cost", _LATENCY]
    columns = [labels, *([str(run["model"]), *run_cells(run, criteria)] for run in runs)]
    widths = [max(len(cell) for cell in column) for column in columns]
    table = [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in zip(*columns, strict=True)
    ]
    lines = [f"Models side by side: {scenario}"]
    if all(len(line) <= width for line in table):
        lines += table
    else:
        lines += _blocks(runs, labels[2:], criteria)
    if any(run["verdict"] != "not_run" for run in runs):
        lines.append("  Per criterion: passes/evaluations, pass rate (95% interval); ✗: not met.")
    lines += textwrap.wrap(
        differs_text(comparison), width, initial_indent="  ", subsequent_indent="  "
    )
    return lines


def _blocks(
    runs: Sequence[Mapping[str, Any]], labels: Sequence[str], criteria: Sequence[str]
) -> list[str]:
    """A model, then its verdict, criteria, cost and latency one under the other."""
    label_width = max(len(label) for label in labels)
    lines = []
    for run in runs:
        verdict, *values = run_cells(run, criteria)
        lines.append(f"  {run['model']}: {verdict}")
        if run["verdict"] == "not_run":
            continue
        lines += [
            f"    {label.ljust(label_width)}  {value}"
            for label, value in zip(labels, values, strict=True)
        ]
    return lines
