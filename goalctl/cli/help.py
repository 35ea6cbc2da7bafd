"""``goalctl --help`` lists the commands by what they are for, as ``gh`` and ``git`` do."""

from __future__ import annotations

from typing import Final

import click

SECTIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Author scenarios", ("init", "validate", "render", "agents", "schema")),
    ("Run", ("run", "stop", "start")),
    (
        "Inspect runs",
        ("status", "list", "logs", "report", "history", "baseline", "rescore", "cleanup"),
    ),
    ("CI", ("matrix",)),
    ("Shell", ("completion",)),
)
"""Each section's commands, in the order they are listed; a command in none of them is listed
under "Other commands", so a new command is never hidden."""


class SectionedGroup(click.Group):
    """A group whose help lists its commands in :data:`SECTIONS`."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands: dict[str, click.Command] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands[name] = command
        if not commands:
            return
        width = max(len(name) for name in commands)
        limit = formatter.width - 6 - width
        placed: set[str] = set()
        for title, names in (*SECTIONS, ("Other commands", tuple(commands))):
            # Names padded to the longest: every section's descriptions start in one column.
            rows = [
                (name.ljust(width), commands[name].get_short_help_str(limit))
                for name in names
                if name in commands and name not in placed
            ]
            placed.update(name.rstrip() for name, _ in rows)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
