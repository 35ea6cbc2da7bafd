"""``goalctl report RUN_ID…``: re-render saved runs from their ``report.json``.

Nothing is re-run: every format is rendered from the JSON report the run wrote when it
finished. Two runs of the same goal are also compared (see :mod:`goalctl.reports.compare`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from goalctl.errors import UsageError
from goalctl.reports.compare import compare_reports, render_comparison_markdown
from goalctl.reports.data import REPORT_VERSION
from goalctl.reports.junit import render_junit
from goalctl.reports.markdown import render_markdown
from goalctl.state import DamagedRun, RunStatus, RunStore
from goalctl.state.readers import read_document

FORMATS = ("md", "json", "junit", "html")
REPORT_FILE = "report.json"
COLLECTION_VERSION = 1

_REQUIRED = {"goal": dict, "run_id": str, "verdict": str, "criteria": list, "constraints": list}


def report_runs(store: RunStore, run_ids: Sequence[str], fmt: str) -> str:
    """The reports of ``run_ids`` (exact ids or unique prefixes) in ``fmt``: md, json, junit,
    html (one page; two runs of a goal are not compared there, as in JUnit).

    The text ends with a newline. A run named twice is reported once.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r} (use one of: {', '.join(FORMATS)})")
    if not run_ids:
        raise UsageError("name at least one run (`goalctl list` shows the runs)")
    resolved = list(dict.fromkeys(store.resolve(text) for text in run_ids))
    reports = [load_report(store, run_id) for run_id in resolved]
    if fmt == "junit":
        return render_junit(reports)
    if fmt == "html":
        from goalctl.reports.html import render_html

        return render_html(reports)
    models = _models(reports)
    comparison = None if models is not None else _comparison(reports)
    if fmt == "json":
        document: dict[str, Any]
        if len(reports) == 1:
            document = reports[0]
        else:
            document = {"version": COLLECTION_VERSION, "reports": reports}
            if comparison is not None:
                document["comparison"] = comparison
            if models is not None:
                document["models"] = models
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    sections = [render_markdown(report) for report in reports]
    if comparison is not None:
        sections.append(render_comparison_markdown(comparison))
    if models is not None:
        from goalctl.models.comparison import comparison_markdown

        sections.append("\n".join(comparison_markdown(models, heading="#")[1:]) + "\n")
    return "\n".join(sections)


def _models(reports: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Runs of one goal version with different models (e.g. detached runs of a comparison)
    side by side; none for anything else."""
    if len(reports) < 2:
        return None
    versions = {(r["goal"]["id"], r["goal"]["version"]) for r in reports}
    names = [str(r.get("model")) for r in reports]
    if len(versions) != 1 or len(set(names)) != len(names):
        return None
    from goalctl.models.comparison import compare_models

    return compare_models(reports, names)


def _comparison(reports: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The comparison of exactly two runs of one goal; none for anything else."""
    if len(reports) != 2:
        return None
    before, after = reports
    if before["goal"]["id"] != after["goal"]["id"]:
        return None
    return compare_reports(before, after)


def load_report(store: RunStore, run_id: str) -> dict[str, Any]:
    """The ``report.json`` of a finished run, refusing damaged files and newer versions."""
    path = store.run_dir(run_id) / REPORT_FILE
    status = store.load(run_id).status  # a damaged state.json is reported first
    try:
        report = read_document(path.parent, run_id, REPORT_FILE, "report")
    except FileNotFoundError:
        raise UsageError(
            f"run {run_id} has no report yet (it is {status}); {_remedy(run_id, status, path)}"
        ) from None
    if not isinstance(report, dict):
        raise DamagedRun(run_id, f"{REPORT_FILE} is not a goalctl report (not a JSON object)")
    version = report.get("version")
    if type(version) is not int or version < 1:
        raise DamagedRun(run_id, f"{REPORT_FILE} is not a goalctl report (no valid 'version')")
    if version > REPORT_VERSION:
        raise UsageError(
            f"the report of run {run_id} was written by a newer goalctl "
            f"(report version {version}, this goalctl reads {REPORT_VERSION}); upgrade goalctl"
        )
    missing = [key for key, kind in _REQUIRED.items() if not isinstance(report.get(key), kind)]
    if missing:
        raise DamagedRun(run_id, f"{REPORT_FILE}: missing or invalid {', '.join(missing)}")
    return report


def _remedy(run_id: str, status: RunStatus, path: Path) -> str:
    if status in (RunStatus.STOPPED, RunStatus.INTERRUPTED):
        return f"resume it with `goalctl start {run_id}`"
    if status in (RunStatus.PENDING, RunStatus.RUNNING):
        return f"wait for it to finish (`goalctl logs {run_id} --follow` shows progress)"
    return f"{path} is missing; run the scenario again with `goalctl run`"
