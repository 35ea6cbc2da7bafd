"""Commands that work on scenario files: validate, render, agents, schema, matrix, init."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from goalctl.cli.base import _settings, cli, echo, echo_err, echo_json, in_github_actions
from goalctl.cli.completion import (
    complete_agent_names,
    complete_case_names,
    complete_judged_criteria,
    complete_scenario_paths,
)


@cli.command()
@click.argument("paths", nargs=-1, type=str, shell_complete=complete_scenario_paths)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default=None,
    help="Output format. [default: text; github under GITHUB_ACTIONS=true]",
)
@click.option(
    "--as-found",
    is_flag=True,
    help="Treat the files named like files found in a folder: the project's exclude applies "
    "and Markdown without front matter is skipped (what the pre-commit hook passes).",
)
def validate(paths: tuple[str, ...], output_format: str | None, as_found: bool) -> None:
    """Check scenario files, directories and globs (default: ./scenarios).

    Every problem of every file is reported as path:line:col: key: message. Exits 1 when any
    file is invalid. In folders, Markdown files without YAML front matter (a README) are
    skipped with a notice; a file named on the command line is checked all the same.
    """
    from goalctl.api.service import validate_scenarios
    from goalctl.reports import validation as report_format
    from goalctl.validation import passed_over_notice

    report = validate_scenarios(paths, _settings().project, as_found=as_found)
    for path in report.passed_over:
        echo_err(passed_over_notice(path))
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
        if fmt == "text":
            from goalctl.views import painted

            summary = painted(summary, "achieved" if report.ok else "error")
        if fmt == "github" or not report.ok:
            echo_err(summary)
        else:
            echo(summary)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--case",
    "case_names",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_case_names,
    help="Render only the cases with this name or glob, e.g. 'refund-*' (repeatable).",
)
@click.option(
    "--config", "config_pairs", multiple=True, metavar="KEY=VALUE", help="Override a config value."
)
@click.option(
    "--judge",
    "judge_id",
    metavar="CRITERION_ID",
    shell_complete=complete_judged_criteria,
    help="Print the judge prompt of this llm_judge criterion instead (the output is a "
    "placeholder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def render(
    scenario: Path,
    case_names: tuple[str, ...],
    config_pairs: tuple[str, ...],
    judge_id: str | None,
    as_json: bool,
) -> None:
    """Print the rendered system and user prompts of each case. Calls nothing."""
    from goalctl.rendering import render_judge, render_scenario

    if judge_id is not None:
        judged = render_judge(
            scenario, judge_id, case_names=case_names, config_overrides=config_pairs
        )
        if as_json:
            echo_json([{"case": j.name, "criterion": judge_id, "judge": j.prompt} for j in judged])
            return
        for index, judge in enumerate(judged):
            if index:
                echo()
            echo(f"=== {judge.name} ===")
            echo(f"--- judge: {judge_id} ---")
            echo(judge.prompt.rstrip("\n"))
        return
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
@click.argument("name", required=False, shell_complete=complete_agent_names)
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
    """Write JSON Schemas of YAML scenarios, Markdown front matter and agent manifests (for
    editors and CI)."""
    from goalctl.destinations import check_destination
    from goalctl.schemas import stale_schemas, write_schemas

    if not check:
        check_destination(out, "--out", directory=True)
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


@cli.command()
@click.argument("paths", nargs=-1, type=str, shell_complete=complete_scenario_paths)
@click.option("--include-drafts", is_flag=True, help="Include draft and suspended goals.")
@click.option(
    "--shards",
    "shards_text",
    metavar="N|auto",
    help="One job per non-empty shard of N, for `run --shard I/N`; auto: only past 256 jobs.",
)
def matrix(paths: tuple[str, ...], include_drafts: bool, shards_text: str | None) -> None:
    """Print a GitHub Actions matrix ({"include": [...]}) of scenarios, on one line."""
    from goalctl.matrix import matrix as build_matrix
    from goalctl.matrix import parse_shards

    shards = None if shards_text is None else parse_shards(shards_text)
    exclude = _settings().project.exclusion
    data = build_matrix(
        paths or ("scenarios",),
        include_drafts=include_drafts,
        exclude=exclude,
        shards=shards,
        notify=echo_err,
    )
    echo(json.dumps(data, separators=(",", ":"), ensure_ascii=False), syntax="json")


@cli.command()
@click.argument("name")
@click.option("--yaml", "as_yaml", is_flag=True, help="Write a YAML scenario instead of Markdown.")
@click.option(
    "--agent",
    type=click.Choice(["llm", "command", "http", "python"]),
    default="llm",
    show_default=True,
    metavar="KIND",
    help="Who pursues the goal: llm (the built-in agent), or your own command (a program), "
    "http (a service) or python (a function), with a starter written beside the scenario.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("scenarios"),
    show_default=True,
    help="Where to write it.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(name: str, as_yaml: bool, agent: str, directory: Path, force: bool) -> None:
    """Write a new scenario that validates and runs offline as written.

    NAME names the goal ("Release notes"); its slug is the goal id and the file name. With
    --agent command, http or python, a starter agent is written beside the scenario.
    """
    from goalctl.destinations import check_destination
    from goalctl.scaffold import init_files

    check_destination(directory, "--dir", directory=True)
    if not directory.exists():
        directory.mkdir(parents=True)  # `goalctl init` in a new project: make its scenarios/
    written = init_files(name, directory, yaml=as_yaml, agent=agent, force=force)
    if written.agent is not None:
        echo(f"wrote {written.agent}")
    echo(f"wrote {written.scenario}; try `goalctl run {written.scenario}`")
