"""``goalctl history``: a static site of each goal's runs and versions."""

from __future__ import annotations

from pathlib import Path

import click

from goalctl.cli.base import _settings, cli, echo, echo_err
from goalctl.cli.completion import complete_goal_ids


@cli.command()
@click.argument("goals", nargs=-1, shell_complete=complete_goal_ids)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Write the site into this folder (index.html, a page per goal, runs/).",
)
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also show this saved baseline file (repeatable); those beside the runs' scenarios "
    "are found without it.",
)
def history(goals: tuple[str, ...], out: Path, baselines: tuple[Path, ...]) -> None:
    """Build a static site of each goal's runs and versions (charts, lineage, reports).

    Per goal (default: every goal with a finished run in the state dir): the pass rate of each
    criterion over runs with 95% intervals, cost and time per run, its versions as a tree with
    each evolution_reason, and each run's HTML report. Saved baselines (*.baseline.json
    beside the scenarios the runs ran, and each --baseline FILE) are listed, marked in the
    lineage and drawn as reference lines in the pass-rate chart; one that cannot be read is
    a warning.

    Links are relative: open OUT/index.html from disk, keep OUT as a CI artifact, or publish
    it to GitHub Pages. Exits 2 when there is no finished run (of a GOAL named) or OUT cannot
    be written.
    """
    from goalctl.destinations import check_destination
    from goalctl.errors import UsageError
    from goalctl.excerpts import plural
    from goalctl.history import build_history
    from goalctl.state import RunStore

    check_destination(out, "--out", directory=True)
    store = RunStore(_settings().state_dir)
    try:
        site, warnings = build_history(store, goals, out, baselines)
    except OSError as exc:  # e.g. the disk filled up while writing
        raise UsageError(f"--out {out}: {exc.strerror or exc}") from None
    for warning in warnings:
        echo_err(f"warning: {warning}")
    goals_written = len(site.pages)
    saved = f", {plural(site.baselines, 'saved baseline')}" if site.baselines else ""
    echo(f"wrote {site.index} ({plural(goals_written, 'goal')}, {plural(site.runs, 'run')}{saved})")
