"""The command line: each command parses options, calls one library function, formats.

Library modules are imported inside the commands so that ``goalctl --version`` and ``--help``
stay fast (DESIGN §9). Commands live in :mod:`goalctl.cli.authoring` (scenario files),
:mod:`goalctl.cli.runs` (runs), :mod:`goalctl.cli.history` (the history site) and
:mod:`goalctl.cli.completion` (shell completion); importing
them registers them on the group.
"""

from __future__ import annotations

import os
import sys

import click

from goalctl.cli import (  # noqa: F401 - registers the commands
    authoring,
    baselines,
    completion,
    history,
    runs,
)
from goalctl.cli.base import _settings, cli, echo_err, share_global_options
from goalctl.error_handler import error_handler

share_global_options(cli)

__all__ = ["cli", "main", "script"]


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


def script() -> None:
    """The ``goalctl`` script and ``python -m goalctl``: :func:`main`, then a quick exit.

    Tearing down an interpreter that imported the anthropic SDK takes about 0.4 s (freeing
    every module and object) after the last byte is on disk. Once main has returned its exit
    code, the exit handlers run (they are few and cheap), the output is flushed, and the
    process ends without that teardown. Only here: :func:`main`, for callers in the same
    process (tests, embedding), exits normally.
    """
    from goalctl.heap import own_process

    own_process()
    try:
        main()
    except SystemExit as exc:
        code = _exit_code(exc)
    else:  # pragma: no cover - main always exits
        code = 0
    _exit_now(code)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # what the interpreter would do with a message
    return 1


def _exit_now(code: int) -> None:
    import atexit
    import threading

    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)  # a profiler, coverage or a debugger writes its data at exit
    if any(
        thread.is_alive() and not thread.daemon and thread is not threading.main_thread()
        for thread in threading.enumerate()
    ):
        raise SystemExit(code)  # a thread still working: let the interpreter wait for it
    atexit._run_exitfuncs()  # what a normal exit runs first (logging's flush, tempfiles)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            if code == 0:
                code = 120  # as Python reports output it could not flush
    os._exit(code)
