"""Putting the comparison into the reports of the runs it compares, once they have all ended.

Each run writes its reports when it ends, alone; a comparison needs every model's report, so
it is added afterwards: the ``models`` object goes into each compared run's ``report.json``
and the "Models side by side" section into its ``report.md`` (in the run's folder and in
``--report-dir``), all from the same object.
"""

from __future__ import annotations

from collections.abc import Sequence

from goalctl.models.comparison import compare_models
from goalctl.outcomes import RunOutcome
from goalctl.planning import Plan, RunOptions
from goalctl.report_files import write_reports
from goalctl.state import RunStore


def attach_comparisons(
    plans: Sequence[Plan], outcomes: Sequence[RunOutcome], store: RunStore, options: RunOptions
) -> None:
    """Add each compared scenario's comparison to its runs' reports and outcomes.

    A run stopped before its end has no report: it shows as ``not_run`` in its siblings'
    table, and resuming it (``goalctl start``) reports it alone.
    """
    finished = {o.run_id: o for o in outcomes if o.report.get("version")}
    groups: dict[str, list[tuple[Plan, RunOutcome | None]]] = {}
    by_plan = _outcomes_by_plan(plans, outcomes)
    for plan, outcome in zip(plans, by_plan, strict=True):
        if plan.compared:
            key = str(plan.scenario.path.resolve())
            groups.setdefault(key, []).append((plan, outcome))
    for members in groups.values():
        done = [(p, o) for p, o in members if o is not None and o.run_id in finished]
        if not done:
            continue
        comparison = compare_models([o.report for _, o in done], members[0][0].compared)
        for plan, outcome in done:
            outcome.report["models"] = comparison
            outcome.report_paths = write_reports(store, plan, options, outcome.report)


def _outcomes_by_plan(
    plans: Sequence[Plan], outcomes: Sequence[RunOutcome]
) -> list[RunOutcome | None]:
    """The outcome of each plan, matched by scenario and model (a cancelled run has none)."""
    left = list(outcomes)
    matched: list[RunOutcome | None] = []
    for plan in plans:
        found = next(
            (o for o in left if o.scenario is plan.scenario and o.model == plan.agent_route.model),
            None,
        )
        if found is not None:
            left.remove(found)
        matched.append(found)
    return matched
