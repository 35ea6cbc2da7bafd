"""Commands that run scenarios and manage runs: run, status, list, logs, stop, start,
cleanup, report, and the hidden worker."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from goalctl.cli.base import _settings, cli, echo, echo_err, echo_json, in_github_actions
from goalctl.cli.completion import complete_case_names, complete_run_ids, complete_scenario_paths
from goalctl.trials.counts import MAX_TRIALS

if TYPE_CHECKING:
    from goalctl.baselines import BaselineSettings
    from goalctl.reports.github import Syntax


def _name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A provider or model name as given, refused when blank (it would be passed over) or
    padded (it would be sent with its spaces)."""
    if value is not None and (not value.strip() or value != value.strip()):
        raise click.BadParameter(f"{value!r}: give a name, without spaces around it")
    return value


def _models(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--model a,b`` and ``--model a --model b``: one model as given, several each checked."""
    if len(values) == 1 and "," not in values[0]:
        _name(ctx, param, values[0])
        return values
    from goalctl.models.names import parse_model_option

    try:
        return parse_model_option(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _percent(value: str | None, param: click.Parameter) -> float | None:
    """``10%`` (or ``10``) as 0.1."""
    if value is None:
        return None
    text = value.strip().removesuffix("%")
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 100000:
        raise click.BadParameter(f"{value!r}: give a percentage like 10%", param=param)
    return number / 100


def _baseline_settings(
    file: str | None,
    fail: bool,
    alpha: float | None,
    cost: float | None,
    latency: float | None,
) -> BaselineSettings | None:
    """The comparison asked for, or None (:func:`goalctl.api.service.baseline_settings`, which
    the Python API shares); a scenario given as ``--baseline``'s value is refused with why."""
    from goalctl.api.service import baseline_settings
    from goalctl.errors import UsageError

    if file not in (None, "auto") and (
        Path(str(file)).suffix in (".md", ".yaml", ".yml") or Path(str(file)).is_dir()
    ):
        raise UsageError(
            f"--baseline {file}: that is a scenario, not a baseline file; to use the "
            "baselines beside the scenarios write --baseline after the paths, or "
            "--baseline=auto"
        )
    return baseline_settings(file, fail, alpha, cost, latency)


@cli.command()
@click.argument("paths", nargs=-1, type=str, shell_complete=complete_scenario_paths)
@click.option(
    "--provider",
    callback=_name,
    help="Use this provider for every scenario (anthropic, openai, scripted, replay).",
)
@click.option(
    "--model",
    "model_values",
    multiple=True,
    callback=_models,
    metavar="MODEL[,MODEL…]",
    help="Use this model for every scenario; several (a,b or repeated) run each scenario "
    "once per model and compare them side by side.",
)
@click.option(
    "--config",
    "config_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value (repeatable).",
)
@click.option(
    "--config-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML or JSON mapping of config values, applied before --config.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=None,
    help="Ceiling on cases in flight at once across all scenarios, and on requests in flight to "
    "one provider route (which adapt below it). [default: concurrency in goalctl.toml, else 256; "
    "32 when a scenario's agent is a command]",
)
@click.option(
    "--record",
    is_flag=True,
    help="Record every call of a live provider into <scenario>.cassette.jsonl for "
    "--provider replay (merged with what is there; redacted like every file).",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each run's report.md and report.json here, as <goal-id>-<version>.md/.json.",
)
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each run's HTML report here, as <goal-id>-<version>.html (one "
    "self-contained file).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress lines."
)
@click.option("--include-drafts", is_flag=True, help="Also run draft and suspended goals.")
@click.option(
    "--detach", is_flag=True, help="Run in background workers; print the run ids and exit."
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JUnit XML file: a testsuite per scenario, a testcase per criterion.",
)
@click.option("--shard", "shard_text", metavar="I/N", help="Run only the I-th of N stable shares.")
@click.option(
    "--case",
    "case_patterns",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_case_names,
    help="Run only the cases with this name or glob, e.g. 'refund-*' (repeatable).",
)
@click.option(
    "--trials",
    type=click.IntRange(1, MAX_TRIALS),
    default=None,
    help="Run each case N independent times (a case's own `trials` wins). [default: the "
    "scenario's trials, else 1]",
)
@click.option(
    "--no-early-stop",
    is_flag=True,
    help="Run every trial, even once a case's verdict can no longer change.",
)
@click.option(
    "--baseline",
    "baseline_file",
    is_flag=False,
    flag_value="auto",
    default=None,
    metavar="[FILE]",
    help="Compare with a baseline: FILE, or alone (or `auto`) <scenario>.baseline.json beside "
    "each scenario, else its parent_version's baseline in the same folder.",
)
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Fail (exit 1) when a result regressed against the baseline; implies --baseline.",
)
@click.option(
    "--regression-alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Significance level of the regression tests. [default: 0.05]",
)
@click.option(
    "--cost-tolerance",
    metavar="PERCENT",
    callback=lambda ctx, param, value: _percent(value, param),
    help="Cost growth over the baseline's allowed before it is a regression. [default: 10%]",
)
@click.option(
    "--latency-tolerance",
    metavar="PERCENT",
    callback=lambda ctx, param, value: _percent(value, param),
    help="Latency growth over the baseline's allowed before it is a regression. [default: 20%]",
)
def run(
    paths: tuple[str, ...],
    provider: str | None,
    model_values: tuple[str, ...],
    config_pairs: tuple[str, ...],
    config_file: Path | None,
    concurrency: int | None,
    record: bool,
    report_dir: Path | None,
    html_dir: Path | None,
    as_json: bool,
    include_drafts: bool,
    detach: bool,
    junit_path: Path | None,
    shard_text: str | None,
    case_patterns: tuple[str, ...],
    trials: int | None,
    no_early_stop: bool,
    baseline_file: str | None,
    fail_on_regression: bool,
    regression_alpha: float | None,
    cost_tolerance: float | None,
    latency_tolerance: float | None,
) -> None:
    """Run scenarios (default: ./scenarios) and evaluate their goals.

    Exits 0 when every goal is achieved, 1 when one is not (or a scenario is invalid), 3 when
    a run errored (provider or agent failure), 2 on bad input.
    """
    from goalctl.api.service import (
        RunRequest,
        check_destinations,
        finished_reports,
        run_scenarios,
    )

    settings = _settings()
    project = settings.project
    request = RunRequest(
        provider=provider,
        model=model_values[0] if len(model_values) == 1 else None,
        models=model_values if len(model_values) > 1 else (),
        config=config_pairs,
        config_file=config_file,
        concurrency=concurrency,
        record=record,
        report_dir=report_dir,
        html_dir=html_dir,
        include_drafts=include_drafts,
        shard=shard_text,
        cases=case_patterns,
        junit=junit_path,
        trials=trials,
        early_stop=not no_early_stop,
        baseline=_baseline_settings(
            baseline_file, fail_on_regression, regression_alpha, cost_tolerance, latency_tolerance
        ),
    )
    check_destinations(request, settings.state_dir, settings.state_dir_option)
    options = request.options(project)
    if detach:
        from goalctl.lifecycle import run_detached

        detached = run_detached(
            paths or ("scenarios",), options, settings.state_dir, notify=echo_err
        )
        for scenario, reason in detached.skipped:
            echo_err(f"skipped {scenario.path}: {reason}")
        if as_json:
            echo_json({"version": 1, "run_ids": detached.run_ids})
        else:
            for run_id in detached.run_ids:
                echo(run_id)
        return
    from goalctl.console import display_for
    from goalctl.run_summary import summary_lines

    started = time.monotonic()
    with display_for(as_json, echo) as display:
        summary = run_scenarios(
            paths,
            options,
            settings.state_dir,
            junit=junit_path,
            observer=display,
            notify=echo_err,
        )
    for scenario, reason in summary.skipped:
        echo_err(f"skipped {scenario.path}: {reason}")
    display.show(summary_lines(summary.outcomes, time.monotonic() - started))
    reports = finished_reports(summary)
    if in_github_actions():
        from goalctl.reports.github import append_step_summary, run_annotations, step_summary

        # With --json, stdout holds the JSON alone; the runner reads commands on stderr too.
        annotate = echo_err if as_json else echo
        for report in reports:
            for line in run_annotations(report):
                annotate(line)
        if reports:
            append_step_summary(step_summary(reports))
    if as_json:
        echo_json(
            {
                "version": 1,
                "exit_code": summary.exit_code,
                "runs": [
                    {
                        "run_id": o.run_id,
                        "scenario": str(o.scenario.path),
                        "goal": o.scenario.goal.id,
                        "model": o.model,
                        "status": o.status.value,
                        "verdict": o.verdict,
                        "score": o.report.get("score") if o.verdict != "error" else None,
                        "reasons": o.report.get("reasons", []),
                        "error": o.error,
                        "totals": o.report["totals"],
                        "reports": [str(p) for p in o.report_paths],
                    }
                    for o in summary.outcomes
                ],
                "skipped": [{"scenario": str(s.path), "reason": r} for s, r in summary.skipped],
            }
        )
    if not summary.outcomes and not as_json:
        echo_err("nothing to run")
    sys.exit(summary.exit_code)


@cli.command()
@click.argument("run_id", required=False, shell_complete=complete_run_ids)
@click.option("--json", "as_json", is_flag=True, help="Print the run's state as JSON.")
def status(run_id: str | None, as_json: bool) -> None:
    """Show one run's state (default: the most recent run).

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run.
    """
    from goalctl.state import RunStore
    from goalctl.views import latest_run, status_lines

    store = RunStore(_settings().state_dir)
    state = store.load(store.resolve(run_id)) if run_id is not None else latest_run(store)
    if as_json:
        echo_json(state.to_dict())
        return
    for line in status_lines(state):
        echo(line)


LIST_LIMIT = 20
"""Runs ``list`` shows by default: the newest, as ``gh run list`` or ``docker ps -n`` do."""


@cli.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help="Only runs with this status (repeatable); `damaged` selects unreadable runs.",
)
@click.option("--goal", "goals", multiple=True, help="Only runs of this goal id (repeatable).")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help=f"Show the newest N runs that match. [default: {LIST_LIMIT}]",
)
@click.option("--all", "show_all", is_flag=True, help="Show every run that matches.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_runs(
    statuses: tuple[str, ...],
    goals: tuple[str, ...],
    limit: int | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """List the newest runs, oldest first (newest last).

    Older runs that match are counted on stderr; --limit or --all shows them. A run whose
    state is damaged is listed with the status `damaged`, and the reason is printed on stderr
    (in the `error` field with --json).
    """
    from goalctl.state import RunStore
    from goalctl.state.selection import select_runs
    from goalctl.views import damaged_record, hidden_line, list_lines

    if show_all and limit is not None:
        from goalctl.errors import UsageError

        raise UsageError("give --limit N or --all, not both")
    store = RunStore(_settings().state_dir)
    selection = select_runs(
        store,
        statuses=statuses,
        goals=goals,
        limit=None if show_all else (limit or LIST_LIMIT),
    )
    runs, damaged = selection.runs, selection.damaged
    if as_json:
        echo_json([state.to_dict() for state in runs] + [damaged_record(p) for p in damaged])
    else:
        for line in list_lines(runs, damaged):
            echo(line)
        for problem in damaged:
            echo_err(problem.message)
    hidden = hidden_line(selection.older)
    if hidden is not None:
        echo_err(hidden)


@cli.command()
@click.argument("run_id", required=False, shell_complete=complete_run_ids)
@click.option(
    "--lines",
    "-n",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Show the last N lines.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
def logs(run_id: str | None, lines: int, follow: bool, as_json: bool) -> None:
    """Show a run's event log (default: the most recent run).

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run.
    """
    from goalctl.state import RunStore
    from goalctl.views import event_line, follow_events, latest_run

    store = RunStore(_settings().state_dir)
    resolved = store.resolve(run_id) if run_id is not None else latest_run(store).run_id
    for event in follow_events(store, resolved, lines=lines, follow=follow):
        if as_json:
            echo(json.dumps(event, ensure_ascii=False), syntax="json")
        else:
            echo(event_line(event))


def _confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; elsewhere (CI, scripts) require --yes rather than guess."""
    if yes:
        return
    if not sys.stdin.isatty():
        from goalctl.errors import UsageError

        raise UsageError(f"{question.rstrip('?')}: confirm with --yes (no terminal to ask on)")
    if not click.confirm(question, default=False):
        raise click.Abort


@cli.command()
@click.argument("run_id", shell_complete=complete_run_ids)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait.",
)
def stop(run_id: str, yes: bool, timeout: float) -> None:
    """Stop a run from any shell; finished cases are kept and `start` resumes it.

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run. Stopping a run
    that is already over (stopped, completed, failed) does nothing, says so without asking
    and exits 0.
    """
    from goalctl.lifecycle import nothing_to_stop, stop_run
    from goalctl.state import RunStore

    store = RunStore(_settings().state_dir)
    resolved = store.resolve(run_id)
    over = nothing_to_stop(store.load(resolved))
    if over is not None:
        echo(over.message)
        return
    _confirm(f"Stop run {resolved}?", yes)
    echo(stop_run(store, resolved, timeout_s=timeout).message)


@cli.command()
@click.argument("run_id", shell_complete=complete_run_ids)
def start(run_id: str) -> None:
    """Resume a stopped or interrupted run in a new background worker.

    RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run.

    The worker's checks (scenario unchanged, provider, API key, checkpoint) run here first:
    a run that cannot resume is refused with exit 2 and no worker starts. Starting a run that
    is already running does nothing, says so and exits 0; a finished run exits 2.
    """
    from goalctl.lifecycle import start_run
    from goalctl.state import RunStore

    store = RunStore(_settings().writable_state_dir())
    echo(start_run(store, store.resolve(run_id)).message)


@cli.command()
@click.argument("run_ids", nargs=-1, shell_complete=complete_run_ids)
@click.option("--finished", is_flag=True, help="Every run that is not running.")
@click.option("--older-than", metavar="AGE", help="Only runs older than AGE (30m, 12h, 7d, 2w).")
@click.option(
    "--archive", is_flag=True, help="Move runs to <state-dir>/archive instead of deleting."
)
@click.option("--force", is_flag=True, help="Stop running runs first instead of refusing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cleanup(
    run_ids: tuple[str, ...],
    finished: bool,
    older_than: str | None,
    archive: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Release runs' workers and remove (or archive) their state.

    Each RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the
    goal's latest run only.

    A running run is refused (exit 2) unless --force stops it first; --force also removes a
    run whose state is damaged, without trusting (or signalling) anything it names.
    """
    from goalctl.lifecycle import cleanup_run, parse_age, select_runs
    from goalctl.state import RunStore

    store = RunStore(_settings().state_dir)
    age = parse_age(older_than) if older_than else None
    runs = select_runs(store, run_ids, finished=finished, older_than=age, force=force)
    if not runs:
        if as_json:
            echo_json({"version": 1, "results": []})
        else:
            echo("no runs to clean up")
        return
    verb = "Archive" if archive else "Remove"
    _confirm(f"{verb} {len(runs)} run{'s' if len(runs) != 1 else ''}?", yes)
    results = [cleanup_run(store, state, force=force, archive=archive) for state in runs]
    if as_json:
        echo_json({"version": 1, "results": [r.__dict__ for r in results]})
    else:
        for result in results:
            (echo if result.ok else echo_err)(result.message)
    if not all(result.ok for result in results):
        from goalctl.errors import ExitCode

        sys.exit(int(ExitCode.USAGE))  # a refusal, never "not achieved"


@cli.command()
@click.argument("run_ids", nargs=-1, shell_complete=complete_run_ids)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "json", "junit", "html"]),
    default="md",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--merge-junit",
    "merge_files",
    is_flag=True,
    help="Treat the arguments as JUnit files and print them merged into one.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def report(
    run_ids: tuple[str, ...], output_format: str, merge_files: bool, output: Path | None
) -> None:
    """Re-render reports of saved runs (default: the most recent run); two runs of one goal
    are compared.

    Each RUN_ID is a run id or a unique prefix of one, or a goal id (or its start) for the goal's
    latest run.
    """
    from goalctl.errors import UsageError

    if not run_ids and merge_files:
        raise UsageError("name the JUnit files to merge")
    syntax: Syntax = "json" if output_format == "json" else "text"
    if merge_files or output_format == "junit":
        syntax = "xml"
    if output is not None:
        from goalctl.destinations import check_destination

        check_destination(output, "--output", directory=False)
    if merge_files:
        from goalctl.reading import ReadError, read_text
        from goalctl.reports.junit import merge_junit

        texts = []
        for name in run_ids:
            try:
                texts.append(read_text(Path(name), "junit"))
            except ReadError as exc:
                where = f":{exc.line}:{exc.col}" if exc.offset is not None else ""
                raise UsageError(f"{name}{where}: {exc.detail}") from None
        text = merge_junit(texts, names=list(run_ids))
    else:
        from goalctl.reporting import report_runs
        from goalctl.state import RunStore
        from goalctl.views import latest_run

        store = RunStore(_settings().state_dir)
        named = run_ids or (latest_run(store).run_id,)
        text = report_runs(store, named, output_format)
    if output is not None:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        echo(text.rstrip("\n"), syntax=syntax)


@cli.command(name="_worker", hidden=True)
@click.argument("run_id")
def worker(run_id: str) -> None:
    """Run one run to its end in this process (started by `run --detach` and `start`)."""
    from goalctl.lifecycle import run_worker

    sys.exit(run_worker(_settings().state_dir, run_id))
