"""The command line: each command parses options, calls one library function, formats.

Library modules are imported inside the commands so that ``goalctl --version`` and ``--help``
stay fast (DESIGN §9). Commands live in :mod:`goalctl.cli.authoring` (scenario files),
:mod:`goalctl.cli.runs` (runs) and :mod:`goalctl.cli.completion` (shell completion); importing
them registers them on the group.
"""

from __future__ import annotations

import click

from goalctl.cli import (  # noqa: F401 - registers the commands
    authoring,
    baselines,
    completion,
    runs,
)
from goalctl.cli.base import _settings, cli, echo_err, share_global_options
from goalctl.error_handler import error_handler

share_global_options(cli)

__all__ = ["cli", "main"]


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
