"""Shell completion (click's own, for bash, zsh and fish) and the ``completion`` command.

``goalctl completion SHELL`` prints the script to source, as ``gh completion`` and ``pip
completion`` do; the script calls goalctl back with ``_GOALCTL_COMPLETE`` set, and click answers
through the completers below: run ids from the state dir, scenario paths, agent names.
Completers never fail: a broken state dir or project file completes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from goalctl.cli.base import Settings, cli, echo

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

SHELLS: Final = ("bash", "zsh", "fish")
COMPLETE_VAR: Final = "_GOALCTL_COMPLETE"


def _state_dir(ctx: click.Context) -> Path:
    """The state dir the command line being completed names (``--state-dir`` before or after
    the subcommand), else the one goalctl would use."""
    current: click.Context | None = ctx
    while current is not None:
        value = current.params.get("state_dir")
        if value:
            return Path(value)
        current = current.parent
    return Settings(None).state_dir


def complete_run_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Ids of the runs in the state dir that start with ``incomplete``, newest first."""
    from click.shell_completion import CompletionItem

    from goalctl.state.ids import is_run_id

    found = []
    try:
        with os.scandir(_state_dir(ctx) / "runs") as entries:
            for entry in entries:
                if entry.name.startswith(incomplete) and is_run_id(entry.name) and entry.is_dir():
                    found.append((entry.stat().st_mtime, entry.name))
    except Exception:  # a missing or broken state dir (or project file) completes nothing
        return []
    given = ctx.params.get(param.name or "")
    named = set(given) if isinstance(given, tuple) else set()  # RUN_IDS... already typed
    return [CompletionItem(name) for _, name in sorted(found, reverse=True) if name not in named]


def complete_goal_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Ids of the goals that have runs in the state dir (a run id is ``<goal-id>-<8 hex>``)."""
    from click.shell_completion import CompletionItem

    from goalctl.state.ids import goal_of_run_id, is_run_id

    try:
        with os.scandir(_state_dir(ctx) / "runs") as entries:
            goals = {goal_of_run_id(e.name) for e in entries if is_run_id(e.name) and e.is_dir()}
    except Exception:  # a missing or broken state dir (or project file) completes nothing
        return []
    given = ctx.params.get(param.name or "")
    named = set(given) if isinstance(given, tuple) else set()
    return [
        CompletionItem(goal)
        for goal in sorted(goals)
        if goal.startswith(incomplete) and goal not in named
    ]


def complete_scenario_paths(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Files and folders, by the shell's own path completion (scenarios, folders of them)."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def complete_agent_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Names of the installed agents (``goalctl agents`` lists them)."""
    from click.shell_completion import CompletionItem

    try:
        from goalctl.agents.registry import agent_names

        names = agent_names()
    except Exception:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    bash:  eval "$(goalctl completion bash)"  # in ~/.bashrc
    zsh:   eval "$(goalctl completion zsh)"   # in ~/.zshrc, after compinit
    fish:  goalctl completion fish > ~/.config/fish/completions/goalctl.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one of click's
    echo(completer(cli, {}, "goalctl", COMPLETE_VAR).source().rstrip("\n"))


def _scenario_files(ctx: click.Context) -> list[Path]:
    """The scenario files named so far on the command line being completed.

    Click parses the line before the word being completed, but drops the arguments when it
    ends in an option waiting for its value (``render x.md --case <TAB>``): the words the shell
    passed (``COMP_WORDS``, in each of click's shell protocols) are read then.
    """
    from click.shell_completion import split_arg_string

    from goalctl.scenario.loader import SCENARIO_SUFFIXES

    named = ctx.params.get("scenario") or ctx.params.get("paths") or ()
    values = [str(named)] if isinstance(named, str | Path) else [str(value) for value in named]
    if not values:
        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        values = [word for word in words[1:] if word.lower().endswith(SCENARIO_SUFFIXES)]
    return [Path(value) for value in dict.fromkeys(values) if Path(value).is_file()]


def complete_case_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Names of the cases of the scenario files named so far."""
    from click.shell_completion import CompletionItem

    names: dict[str, None] = {}
    try:
        from goalctl.scenario.loader import read_scenario

        for path in _scenario_files(ctx):
            scenario = read_scenario(path).scenario
            if scenario is not None:
                names.update(
                    dict.fromkeys(scenario.case_name(i) for i in range(len(scenario.cases)))
                )
    except Exception:  # a scenario that does not load completes nothing
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_judged_criteria(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Ids of the ``llm_judge`` criteria of the scenario named so far."""
    from click.shell_completion import CompletionItem

    ids: list[str] = []
    try:
        from goalctl.goal import Metric
        from goalctl.scenario.loader import read_scenario

        for path in _scenario_files(ctx):
            scenario = read_scenario(path).scenario
            if scenario is not None:
                criteria = scenario.goal.success_criteria
                ids += [c.id for c in criteria if c.metric is Metric.LLM_JUDGE]
    except Exception:  # a scenario that does not load completes nothing
        return []
    return [CompletionItem(name) for name in ids if name.startswith(incomplete)]
