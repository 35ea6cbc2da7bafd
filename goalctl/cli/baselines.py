"""Commands over finished runs' results: ``baseline save`` and ``rescore``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from goalctl.cli.base import _settings, cli, echo, echo_err, echo_json
from goalctl.cli.completion import complete_run_ids


@cli.group()
def baseline() -> None:
    """Keep a run's results as a baseline that later runs compare with."""


@baseline.command(name="save")
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of <scenario>.baseline.json beside the run's scenario.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the baseline written as JSON.")
def save(run_id: str, out: Path | None, as_json: bool) -> None:
    """Write the baseline of a completed run (meant for git).

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run. A run that errored, or that is not over (stopped, interrupted, running), is
    refused with exit 2. `goalctl run --baseline` compares with the file.
    """
    from goalctl.baselines import save_baseline
    from goalctl.state import RunStore

    saved = save_baseline(RunStore(_settings().state_dir), run_id, out)
    if as_json:
        echo_json({"version": 1, "path": str(saved.path), "baseline": saved.document})
        return
    document = saved.document
    goal = document["goal"]
    echo(
        f"wrote {saved.path}: {goal['id']} {goal['version']}, run {document['run_id']}, "
        f"{document['totals']['cases']} cases"
    )


@cli.command()
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress lines."
)
def rescore(run_id: str, as_json: bool) -> None:
    """Check a run's stored outputs against the current criteria, as a new run.

    The scenario's current criteria and constraints are evaluated on the finished run's
    stored outputs (answers, trajectories); the agent does not run again.

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run. Judge calls are made and metered as in a run (budgets apply). Exits like
    `goalctl run`: 0 achieved, 1 not achieved, 3 errored; 2 when the run cannot be rescored
    (unknown, not finished, no stored outputs, cases renamed or added since).
    """
    from goalctl.console import display_for
    from goalctl.lifecycle import RunSummary
    from goalctl.rescoring import rescore_run
    from goalctl.run_summary import summary_lines
    from goalctl.state import RunStore

    store = RunStore(_settings().writable_state_dir())
    started = time.monotonic()
    with display_for(as_json, echo) as display:
        outcome = rescore_run(store, run_id, display)
    display.show(summary_lines([outcome], time.monotonic() - started))
    summary = RunSummary([outcome], [])
    if as_json:
        echo_json(
            {
                "version": 1,
                "exit_code": summary.exit_code,
                "run_id": outcome.run_id,
                "rescored_from": outcome.report.get("rescored_from", {}).get("run_id"),
                "verdict": outcome.verdict,
                "score": outcome.report.get("score") if outcome.verdict != "error" else None,
                "reasons": outcome.report.get("reasons", []),
                "totals": outcome.report["totals"],
                "reports": [str(p) for p in outcome.report_paths],
            }
        )
    elif outcome.report.get("rescored_from"):
        echo_err(f"rescored run {outcome.report['rescored_from']['run_id']} as {outcome.run_id}")
    sys.exit(summary.exit_code)
