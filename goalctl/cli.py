"""The command line: each command parses options, calls one library function, formats.

Library modules are imported inside the commands so that ``goalctl --version`` and ``--help``
stay fast (DESIGN §9).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from goalctl import __version__
from goalctl.error_handler import error_handler, state_dir_from_env

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Settings:
    """Options shared by every command."""

    def __init__(self, state_dir: Path | None) -> None:
        self.state_dir = state_dir or state_dir_from_env()


def _settings() -> Settings:
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found or Settings(None)


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str = "") -> None:
    click.echo(text, color=_color())


def echo_err(text: str) -> None:
    click.echo(text, err=True, color=_color())


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(
    __version__, "--version", "-V", prog_name="goalctl", message="%(prog)s %(version)s"
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where runs are kept. [default: $GOALCTL_STATE_DIR or ./.goalctl]",
)
@click.pass_context
def cli(ctx: click.Context, state_dir: Path | None) -> None:
    """goalctl: goal-seeking agents described in files.

    Write a scenario (Markdown with YAML front matter, or YAML) that declares a goal, its
    success criteria and constraints, the agent that pursues it and its config; then validate,
    render, run and report on it.
    """
    ctx.obj = Settings(state_dir)


@cli.command()
@click.argument("paths", nargs=-1, type=str)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default=None,
    help="Output format. [default: text; github under GITHUB_ACTIONS=true]",
)
def validate(paths: tuple[str, ...], output_format: str | None) -> None:
    """Check scenario files, directories and globs (default: ./scenarios).

    Every problem of every file is reported as path:line:col: key: message. Exits 1 when any
    file is invalid.
    """
    from goalctl.reports import validation as report_format
    from goalctl.validation import validate_paths

    report = validate_paths(paths or ("scenarios",), keep_scenarios=False)
    fmt = output_format or ("github" if in_github_actions() else "text")
    if fmt == "json":
        echo_json(report_format.as_json(report))
    else:
        lines = (
            report_format.as_github(report) if fmt == "github" else report_format.as_text(report)
        )
        for line in lines:
            echo(line)
        summary = report_format.summary_line(report)
        if fmt == "github" or not report.ok:
            echo_err(summary)
        else:
            echo(summary)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case_names", multiple=True, help="Render only this case (repeatable).")
@click.option(
    "--config", "config_pairs", multiple=True, metavar="KEY=VALUE", help="Override a config value."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def render(
    scenario: Path, case_names: tuple[str, ...], config_pairs: tuple[str, ...], as_json: bool
) -> None:
    """Print the rendered system and user prompts of each case. Calls nothing."""
    from goalctl.rendering import render_scenario

    rendered = render_scenario(scenario, case_names=case_names, config_overrides=config_pairs)
    if as_json:
        echo_json([{"case": r.name, "system": r.system, "prompt": r.prompt} for r in rendered])
        return
    for index, case in enumerate(rendered):
        if index:
            echo()
        echo(f"=== {case.name} ===")
        echo("--- system ---")
        echo(case.system.rstrip("\n"))
        echo("--- prompt ---")
        echo(case.prompt.rstrip("\n"))


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def agents(name: str | None, as_json: bool) -> None:
    """List agents, or show one agent's config_schema."""
    from goalctl.agents.registry import agent_manifest, agent_names

    if name is None:
        manifests = [agent_manifest(agent) for agent in agent_names()]
        if as_json:
            echo_json([m.model_dump(mode="json", exclude={"config_schema"}) for m in manifests])
            return
        width = max(len(m.name) for m in manifests)
        for manifest in manifests:
            echo(f"{manifest.name:<{width}}  {manifest.version:<8} {manifest.description}")
        return
    manifest = agent_manifest(name)
    if as_json:
        echo_json(manifest.model_dump(mode="json", exclude_none=True))
        return
    echo(f"{manifest.name} {manifest.version}")
    if manifest.description:
        echo(manifest.description)
    if manifest.capabilities:
        echo(f"capabilities: {', '.join(manifest.capabilities)}")
    echo()
    echo("config_schema:")
    for key, field in manifest.config_schema.items():
        rules = [field.type.value]
        if field.has_default:
            rules.append(f"default {json.dumps(field.default)}")
        if field.min is not None:
            rules.append(f"min {field.min}")
        if field.max is not None:
            rules.append(f"max {field.max}")
        if field.enum:
            rules.append("one of " + ", ".join(json.dumps(v) for v in field.enum))
        if field.pattern:
            rules.append(f"pattern {field.pattern}")
        if field.required:
            rules.append("required")
        echo(f"  {key}: {'; '.join(rules)}")
        if field.description:
            echo(f"      {field.description}")


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Directory to write the JSON Schemas into.",
)
@click.option("--check", is_flag=True, help="Exit 1 if the files on disk are stale; write nothing.")
def schema(out: Path, check: bool) -> None:
    """Write JSON Schemas of scenario files and agent manifests (for editors and CI)."""
    from goalctl.schemas import stale_schemas, write_schemas

    if check:
        stale = stale_schemas(out)
        for name in stale:
            echo_err(f"{out / name} is stale; run `goalctl schema --out {out}`")
        if stale:
            sys.exit(1)
        echo(f"schemas in {out} are up to date")
        return
    for path in write_schemas(out):
        echo(f"wrote {path}")


def _config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from goalctl.errors import UsageError
    from goalctl.scenario.yamlsafe import YamlLoadError, load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8")).data
    except OSError as exc:
        raise UsageError(f"cannot read --config-file {path}: {exc.strerror}") from None
    except YamlLoadError as exc:
        raise UsageError(
            f"--config-file {path}:{exc.issue.line}:{exc.issue.col}: {exc.issue.message}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--config-file {path} must hold a mapping of config keys")
    return data


@cli.command()
@click.argument("paths", nargs=-1, type=str)
@click.option(
    "--provider", help="Use this provider for every scenario (anthropic, scripted, replay)."
)
@click.option("--model", help="Use this model for every scenario.")
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
    default=32,
    show_default=True,
    help="Cases in flight at once, across all scenarios.",
)
@click.option(
    "--record", is_flag=True, help="Record every call into <scenario>.cassette.jsonl for replay."
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each run's report.md and report.json here, as <goal-id>-<version>.md/.json.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON summary instead of progress lines."
)
@click.option("--include-drafts", is_flag=True, help="Also run draft and suspended goals.")
@click.option(
    "--detach", is_flag=True, help="Run in background workers; print the run ids and exit."
)
def run(
    paths: tuple[str, ...],
    provider: str | None,
    model: str | None,
    config_pairs: tuple[str, ...],
    config_file: Path | None,
    concurrency: int,
    record: bool,
    report_dir: Path | None,
    as_json: bool,
    include_drafts: bool,
    detach: bool,
) -> None:
    """Run scenarios (default: ./scenarios) and evaluate their goals.

    Exits 0 when every goal is achieved, 1 when one is not (or a scenario is invalid), 3 when
    a run errored (provider or agent failure), 2 on bad input.
    """
    from goalctl.lifecycle import run_detached, run_paths
    from goalctl.planning import RunOptions

    options = RunOptions(
        provider=provider,
        model=model,
        config_overrides=config_pairs,
        config_values=_config_file(config_file),
        concurrency=concurrency,
        record=record,
        report_dir=report_dir,
        include_drafts=include_drafts,
    )
    if detach:
        detached = run_detached(paths or ("scenarios",), options, _settings().state_dir)
        for scenario, reason in detached.skipped:
            echo_err(f"skipped {scenario.path}: {reason}")
        if as_json:
            echo_json({"version": 1, "run_ids": detached.run_ids})
        else:
            for run_id in detached.run_ids:
                echo(run_id)
        return
    from goalctl.console import observer_for

    with observer_for(as_json, echo) as observer:
        summary = run_paths(paths or ("scenarios",), options, _settings().state_dir, observer)
    for scenario, reason in summary.skipped:
        echo_err(f"skipped {scenario.path}: {reason}")
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
                        "status": o.status.value,
                        "verdict": o.verdict,
                        "score": o.report["score"],
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
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the run's state as JSON.")
def status(run_id: str | None, as_json: bool) -> None:
    """Show one run's state (default: the most recent run)."""
    from goalctl.state import RunStore
    from goalctl.views import latest_run, status_lines

    store = RunStore(_settings().state_dir)
    state = store.load(store.resolve(run_id)) if run_id is not None else latest_run(store)
    if as_json:
        echo_json(state.to_dict())
        return
    for line in status_lines(state):
        echo(line)


@cli.command(name="list")
@click.option(
    "--status", "statuses", multiple=True, help="Only runs with this status (repeatable)."
)
@click.option("--goal", "goals", multiple=True, help="Only runs of this goal id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_runs(statuses: tuple[str, ...], goals: tuple[str, ...], as_json: bool) -> None:
    """List runs, oldest first."""
    from goalctl.state import RunStore
    from goalctl.views import filter_runs, list_lines

    store = RunStore(_settings().state_dir)
    runs = filter_runs(store.list(), statuses, goals)
    if as_json:
        echo_json([state.to_dict() for state in runs])
        return
    for line in list_lines(runs):
        echo(line)


@cli.command()
@click.argument("run_id")
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
def logs(run_id: str, lines: int, follow: bool, as_json: bool) -> None:
    """Show a run's event log."""
    from goalctl.state import RunStore
    from goalctl.views import event_line, follow_events

    store = RunStore(_settings().state_dir)
    resolved = store.resolve(run_id)
    for event in follow_events(store, resolved, lines=lines, follow=follow):
        echo(json.dumps(event, ensure_ascii=False) if as_json else event_line(event))


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
@click.argument("run_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait.",
)
def stop(run_id: str, yes: bool, timeout: float) -> None:
    """Stop a run from any shell; finished cases are kept and `start` resumes it."""
    from goalctl.lifecycle import stop_run
    from goalctl.state import RunStore

    store = RunStore(_settings().state_dir)
    resolved = store.resolve(run_id)
    _confirm(f"Stop run {resolved}?", yes)
    echo(stop_run(store, resolved, timeout_s=timeout).message)


@cli.command()
@click.argument("run_id")
def start(run_id: str) -> None:
    """Resume a stopped or interrupted run in a new background worker."""
    from goalctl.lifecycle import start_run
    from goalctl.state import RunStore

    store = RunStore(_settings().state_dir)
    resolved = store.resolve(run_id)
    pid = start_run(store, resolved)
    echo(f"resumed {resolved} (worker pid {pid}); follow it with `goalctl logs -f {resolved}`")


@cli.command()
@click.argument("run_ids", nargs=-1)
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
    """Release runs' workers and remove (or archive) their state."""
    from goalctl.lifecycle import cleanup_run, parse_age, select_runs
    from goalctl.state import RunStore

    store = RunStore(_settings().state_dir)
    age = parse_age(older_than) if older_than else None
    runs = select_runs(store, run_ids, finished=finished, older_than=age)
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
        sys.exit(1)


@cli.command(name="_worker", hidden=True)
@click.argument("run_id")
def worker(run_id: str) -> None:
    """Run one run to its end in this process (started by `run --detach` and `start`)."""
    from goalctl.lifecycle import run_worker

    sys.exit(run_worker(_settings().state_dir, run_id))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``goalctl`` script: one handler maps every outcome to an exit code."""
    with error_handler(lambda: _settings().state_dir, echo_err):
        try:
            cli.main(args=argv, prog_name="goalctl", standalone_mode=False)
        except click.exceptions.Exit as exc:
            raise SystemExit(exc.exit_code) from None
        except click.ClickException as exc:
            exc.show()
            raise SystemExit(2 if isinstance(exc, click.UsageError) else exc.exit_code) from None
        except click.Abort:
            raise KeyboardInterrupt from None
    raise SystemExit(0)
