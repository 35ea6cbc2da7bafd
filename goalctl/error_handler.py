"""The single handler that maps every outcome to an exit code (DESIGN §7).

User errors print a message and their code. Anything else is a bug in goalctl: a short
message on stderr, the traceback in a log file under the state dir, exit 4.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from goalctl import __version__
from goalctl.errors import ExitCode, GoalctlError, ScenarioError

DEFAULT_STATE_DIR = ".goalctl"


def state_dir_from_env() -> Path:
    return Path(os.environ.get("GOALCTL_STATE_DIR") or DEFAULT_STATE_DIR)


def write_crash_log(exc: BaseException, state_dir: Path) -> Path:
    """Write the traceback of a bug; falls back to the temp dir when the state dir is unwritable."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = (
        f"goalctl {__version__} on Python {sys.version.split()[0]}\n"
        f"argv: {sys.argv!r}\n\n" + "".join(traceback.format_exception(exc))
    )
    for directory in (state_dir / "logs", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"goalctl-crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("<unwritable>")


@contextmanager
def error_handler(state_dir: Callable[[], Path], write: Callable[[str], None]) -> Iterator[None]:
    """Run a command body; convert its outcome into ``SystemExit`` with the right code."""
    try:
        yield
    except GoalctlError as exc:
        if isinstance(exc, ScenarioError):
            if os.environ.get("GITHUB_ACTIONS") == "true":
                from goalctl.reports.github import problem_annotations

                for line in problem_annotations(exc.problems):
                    write(line)
            for problem in exc.problems:
                write(str(problem))
        else:
            write(f"goalctl: error: {exc}")
        raise SystemExit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        write("goalctl: interrupted")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        # The reader went away (``goalctl list | head``): not an error worth a traceback.
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        raise SystemExit(int(ExitCode.OK)) from None
    except (SystemExit, GeneratorExit):
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # Not a bug: the run could not be kept, so it has no verdict (exit 3).
            where = f" writing {exc.filename}" if exc.filename else ""
            write(f"goalctl: error: disk full{where}: {exc.strerror}")
            raise SystemExit(int(ExitCode.RUN_ERROR)) from None
        try:
            directory = state_dir()
        except Exception:  # e.g. the project file that names it is the broken thing
            directory = Path(tempfile.gettempdir())
        log = write_crash_log(exc, directory)
        write(f"goalctl: internal error: {type(exc).__name__}: {exc}")
        write(f"goalctl: this is a bug; the traceback is in {log}")
        raise SystemExit(int(ExitCode.INTERNAL)) from None
