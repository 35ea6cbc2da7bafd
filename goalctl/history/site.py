"""The history site: an index of goals, a page per goal, and each run's HTML report.

Every link is relative and every file is in the site's folder (``plotly.min.js`` at its root),
so the folder can be opened from disk, kept as a CI artifact, or published as it is to GitHub
Pages. Pages are rendered by the templates of :mod:`goalctl.reports.html` (sandboxed,
autoescaped); only the charts' markup, which plotly writes, is placed unescaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from goalctl.config.prices import cost_text
from goalctl.history.baselines import SavedBaseline
from goalctl.history.charts import PLOTLY_JS, cost_chart, latency_chart, plotly_bundle, rate_chart
from goalctl.history.collect import GoalHistory, Rate, RunPoint, Version
from goalctl.reports.html import chunked, render_fragment, render_html, render_page, render_with
from goalctl.reports.markdown import percent

CHARTS = (rate_chart, cost_chart, latency_chart)
RUNS = "runs"
"""The folder of the site that holds each run's HTML report."""


@dataclass(frozen=True)
class Site:
    """What :func:`write_site` wrote."""

    index: Path
    pages: list[Path]
    runs: int
    baselines: int = 0
    """Saved baseline files shown on the goals' pages."""


def goal_page(goal_id: str) -> str:
    """The file name of a goal's page: goal ids are slugs, so safe in a path and a URL."""
    return f"goal-{goal_id}.html"


def write_site(goals: Sequence[GoalHistory], out: Path, warnings: Sequence[str] = ()) -> Site:
    """Write the site into ``out`` (created if needed); files of an earlier build are
    replaced, anything else in the folder is left alone."""
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    (out / PLOTLY_JS).write_text(plotly_bundle(), encoding="utf-8")
    (out / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages serves files as they are
    head = Markup(f'<script src="{PLOTLY_JS}" charset="utf-8"></script>')
    pages = []
    runs = 0
    for goal in goals:
        path = out / goal_page(goal.goal_id)
        view = _goal_view(goal)
        body = render_with(
            "history_goal.html.j2",
            {"g": view},
            # plotly wrote the charts' markup and escaped the data in it (history.charts).
            charts=(f'<figure class="chart">{chart(goal)}</figure>' for chart in CHARTS),
            run_rows=chunked("run_rows.html.j2", "runs", view["runs"]),
        )
        path.write_text(render_page(f"{goal.name}: history", [body], head=head), encoding="utf-8")
        pages.append(path)
        for point in goal.runs:
            report = out / RUNS / f"{point.run_id}.html"
            report.write_text(render_html([point.report]), encoding="utf-8")
            runs += 1
    index = out / "index.html"
    body = render_fragment(
        "history_index.html.j2",
        goals=[_index_row(goal) for goal in goals],
        warnings=list(warnings),
    )
    index.write_text(render_page("goalctl history", [body]), encoding="utf-8")
    return Site(index, pages, runs, sum(len(goal.baselines) for goal in goals))


def _index_row(goal: GoalHistory) -> dict[str, Any]:
    latest = goal.runs[-1]
    return {
        "id": goal.goal_id,
        "name": goal.name,
        "href": goal_page(goal.goal_id),
        "runs": len(goal.runs),
        "versions": len({p.version for p in goal.runs}),
        "latest": _run_row(latest, len(goal.runs), goal.criteria),
    }


def _goal_view(goal: GoalHistory) -> dict[str, Any]:
    in_site = {point.run_id for point in goal.runs}
    criteria = list(goal.criteria)
    for saved in goal.baselines:  # a criterion the scenarios no longer have: its column too
        criteria += [c for c in saved.rates if c not in criteria]
    return {
        "id": goal.goal_id,
        "name": goal.name,
        "criteria": goal.criteria,
        "lineage": [_version_view(v) for v in goal.lineage()],
        "runs": [_run_row(p, number, goal.criteria) for number, p in enumerate(goal.runs, start=1)],
        "baseline_criteria": criteria,
        "baselines": [_baseline_row(saved, criteria, in_site) for saved in goal.baselines],
    }


def _baseline_row(
    saved: SavedBaseline, criteria: Sequence[str], in_site: set[str]
) -> dict[str, Any]:
    return {
        "version": saved.version,
        "file": _shown(saved.path),
        "run_id": saved.run_id,
        # A link only to a page the site has: the saved run may be in another state dir.
        "href": f"{RUNS}/{saved.run_id}.html" if saved.run_id in in_site else None,
        "verdict": saved.verdict,
        "verdict_label": saved.verdict.replace("_", " "),
        "model": f"{saved.provider}, {saved.model}",
        "cases": saved.cases,
        "rates": [_rate_text(saved.rates.get(criterion)) for criterion in criteria],
        "cost": cost_text(saved.cost_usd, {"cost_basis": saved.cost_basis}),
    }


def _shown(path: Path) -> str:
    """A baseline file's path from the working directory when it is under it (as the
    scenarios' paths are written), else as found."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rate_text(rate: Rate | None) -> str:
    if rate is None:
        return "—"
    unit = "trials" if rate.trials else "cases"
    return f"{rate.passed}/{rate.total} {unit} {rate.rate:.0%} ({rate.low:.0%}–{rate.high:.0%})"


def _version_view(version: Version) -> dict[str, Any]:
    return {
        "version": version.version,
        "parent": version.parent,
        "reason": version.reason,
        "runs": version.runs,
        "verdict": version.latest_verdict,
        "baselines": version.baselines,
        "children": [_version_view(child) for child in version.children],
    }


def _run_row(point: RunPoint, number: int, criteria: Sequence[str]) -> dict[str, Any]:
    totals = point.report["totals"]
    rates = [_rate_text(point.rates.get(criterion)) for criterion in criteria]
    return {
        "number": number,
        "run_id": point.run_id,
        "href": f"{RUNS}/{point.run_id}.html",
        "version": point.version,
        "finished_at": when(point.finished_at),
        "verdict": point.verdict,
        "verdict_label": point.verdict.replace("_", " "),
        "score": "—" if point.score is None else percent(point.score),
        "cases": f"{point.cases_passed}/{point.cases}",
        "cost": cost_text(point.cost_usd, totals),
        "elapsed": f"{point.elapsed_s:.2f}s",
        "rates": rates,
    }


def when(text: str) -> str:
    """``2026-11-25 23:05 UTC`` for a report's ISO time; the text as it is if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
