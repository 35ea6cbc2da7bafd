"""The ``goalctl`` command group and what every command shares: settings and output."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from goalctl import __version__
from goalctl.cli.help import SectionedGroup

if TYPE_CHECKING:
    from goalctl.config.project import ProjectConfig
    from goalctl.reports.github import Syntax

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Settings:
    """Options shared by every command, over the project configuration (goalctl.toml)."""

    def __init__(self, state_dir: Path | None) -> None:
        self._state_dir = state_dir

    @functools.cached_property
    def project(self) -> ProjectConfig:
        """Read on first use, so that commands that need none never fail on a broken file."""
        from goalctl.config.project import load_project

        return load_project()

    @property
    def state_dir(self) -> Path:
        """--state-dir, else $GOALCTL_STATE_DIR, else the project's state_dir, else .goalctl."""
        from goalctl.api.service import resolve_state_dir

        return resolve_state_dir(self._state_dir, lambda: self.project)

    @property
    def state_dir_option(self) -> str:
        """How the state dir was named, for messages."""
        return "--state-dir" if self._state_dir is not None else "the state dir"

    def writable_state_dir(self) -> Path:
        """The state dir, checked writable before a command that runs cases starts."""
        from goalctl.destinations import check_destination

        return check_destination(self.state_dir, self.state_dir_option, directory=True)


def _settings() -> Settings:
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found or Settings(None)


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str = "", *, syntax: Syntax = "text") -> None:
    click.echo(_safe(text, syntax), color=_color())


def echo_err(text: str) -> None:
    click.echo(_safe(text, "text"), err=True, color=_color())


def echo_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
    click.echo(_safe(text, "json"))


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _safe(text: str, syntax: Syntax) -> str:
    """The one escaping point: under GitHub Actions no printed line forges a workflow command."""
    if not in_github_actions():
        return text
    from goalctl.reports.github import neutralize

    return neutralize(text, syntax)


_STATE_DIR_HELP = "Where runs are kept. [default: $GOALCTL_STATE_DIR or ./.goalctl]"


@click.group(cls=SectionedGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(
    __version__, "--version", "-V", prog_name="goalctl", message="%(prog)s %(version)s"
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=_STATE_DIR_HELP,
)
@click.pass_context
def cli(ctx: click.Context, state_dir: Path | None) -> None:
    """goalctl: goal-seeking agents described in files.

    Write a scenario (Markdown with YAML front matter, or YAML) that declares a goal, its
    success criteria and constraints, the agent that pursues it and its config; then validate,
    render, run and report on it.

    Global options may come before or after the command (`goalctl status --state-dir DIR`);
    given on both sides, the one after the command wins.
    """
    ctx.obj = Settings(state_dir)


def _global_state_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``--state-dir`` after the command: it replaces the one before it, if any."""
    if value is not None:
        settings = ctx.find_object(Settings)
        if settings is None:  # a command invoked on its own, outside the group
            settings = ctx.ensure_object(Settings)
        settings._state_dir = value


def _global_options(*, shown: bool) -> list[click.Parameter]:
    """The group's options, as each command also accepts them after its name."""
    return [
        click.Option(
            ["--state-dir"],
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_global_state_dir,
            hidden=not shown,
            help=_STATE_DIR_HELP,
        )
    ]


RUN_COMMANDS = frozenset(
    {"run", "status", "list", "logs", "stop", "start", "cleanup", "report", "baseline", "rescore"}
)
"""Commands that read or write runs: their --help lists --state-dir (the others take it too,
for the internal-error logs it locates, without crowding their help)."""


def share_global_options(group: click.Group) -> None:
    """Let every command of ``group`` take the group's options after its own name too: people
    type `goalctl status --state-dir DIR` as often as `goalctl --state-dir DIR status`."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):  # `goalctl baseline save --state-dir DIR`
            for sub in command.commands.values():
                sub.params.extend(_global_options(shown=name in RUN_COMMANDS))
        command.params.extend(_global_options(shown=name in RUN_COMMANDS))
