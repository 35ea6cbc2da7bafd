"""A run's report, compared with its baseline; with ``--fail-on-regression``, gated by it.

The comparison goes into the report itself (``report["comparison"]``) before any file is
written, and a gating regression turns an achieved verdict into ``not_achieved``: every
output (console, report.md, report.json, JUnit, annotations, step summary, exit code) is
rendered from that one report, so none can disagree about it.
"""

from __future__ import annotations

from typing import Any

from goalctl.baselines.comparison import BaselineSettings, compare
from goalctl.baselines.discovery import Found


def compare_report(
    report: dict[str, Any], found: Found, settings: BaselineSettings
) -> dict[str, Any]:
    """``report`` with its ``comparison`` (an errored run has no verdict to compare)."""
    if report["verdict"] == "error":
        return report
    from goalctl.verdict import verdict_of

    comparison = compare(report, found.baseline, settings, found.relation)
    gated = dict(report, comparison=comparison)
    if settings.fail_on_regression and comparison["regressions"]:
        gated["verdict"] = "not_achieved"
    gated["reasons"] = [reason.to_json() for reason in verdict_of(gated).reasons]
    return gated
