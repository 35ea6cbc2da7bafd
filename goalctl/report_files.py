"""A finished run's report files: in its folder, and where ``--report-dir`` and ``--html`` say.

Each is written from the one report dict, in pieces where it can be (the cases are read back
from the run's checkpoint one at a time: :mod:`goalctl.reports.journaled`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goalctl.planning import Plan, RunOptions
    from goalctl.state import RunStore


def write_reports(
    store: RunStore, plan: Plan, options: RunOptions, report: dict[str, Any]
) -> list[Path]:
    """``report.md`` and ``report.json`` in the run's folder; in ``--report-dir`` as
    ``<goal-id>-<version>.md/.json`` and in ``--html`` as ``<goal-id>-<version>.html``
    (``-<model>`` added when models are compared)."""
    from goalctl.reports.journaled import report_chunks
    from goalctl.reports.markdown import markdown_chunks

    run_id = str(report["run_id"])
    paths = store.write_reports(
        run_id, {"report.md": markdown_chunks(report), "report.json": report_chunks(report)}
    )
    goal = plan.scenario.goal
    stem = f"{goal.id}-{goal.version}"
    if plan.compared:
        from goalctl.models.names import model_slug

        stem += f"-{model_slug(plan.agent_route.model)}"
    if (report_dir := options.report_dir) is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        for suffix, chunks in ((".md", markdown_chunks), (".json", report_chunks)):
            path = report_dir / f"{stem}{suffix}"
            with path.open("w", encoding="utf-8") as file:
                file.writelines(chunks(report))
            paths.append(path)
    if options.html_dir is not None:
        from goalctl.reports.html import render_html

        options.html_dir.mkdir(parents=True, exist_ok=True)
        path = options.html_dir / f"{stem}.html"
        path.write_text(render_html([report]), encoding="utf-8")
        paths.append(path)
    return paths
