"""A fork server for fuzzing goalctl: goalctl is imported once, and every command runs in a
forked child with bounds on memory and CPU time, so that an input that crashes the interpreter
(a segfault in a C parser) or runs away is an outcome the test can assert on, not the end of
pytest.

Run as ``python -m tests.support.fork_server``; it reads one JSON request a line on stdin
(``{"args": [...], "cwd": ..., "state_dir": ...}``) and answers one JSON line on stdout
(``{"code", "stdout", "stderr", "elapsed", "timed_out"}``; ``code`` is minus the signal number
when a signal ended the child). Every child is reaped before the answer is written.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEMORY_LIMIT = 2 * 1024**3
"""Address space a child may map, in bytes (goalctl needs a few hundred MB at most)."""
CPU_SECONDS = 20
WALL_SECONDS = 30.0


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool


def _child(args: list[str], cwd: str, state_dir: str, out: int, err: int) -> None:
    """Runs in the forked child; never returns."""
    code = 97
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
        os.chdir(cwd)
        os.environ["GOALCTL_STATE_DIR"] = state_dir
        os.environ["HOME"] = cwd
        for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "ANTHROPIC_API_KEY"):
            os.environ.pop(name, None)
        os.environ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"  # never the network
        from goalctl.cli import main

        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # escaped goalctl's own handler: a code outside the table
        import traceback

        traceback.print_exc()
        code = 98
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_one(request: dict[str, Any]) -> Outcome:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(
                request["args"], request["cwd"], request["state_dir"], out.fileno(), err.fileno()
            )
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - started > WALL_SECONDS:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.002)
        elapsed = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read(200_000).decode("utf-8", "replace"))
    return Outcome(code, texts[0], texts[1], elapsed, timed_out)


def serve() -> None:
    import goalctl.cli
    import goalctl.reports.junit
    import goalctl.validation  # noqa: F401

    for line in sys.stdin:
        outcome = run_one(json.loads(line))
        sys.stdout.write(json.dumps(outcome.__dict__) + "\n")
        sys.stdout.flush()


class ForkServer:
    """The client side: one server process for a test module."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fork_server"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, *args: str | Path, cwd: Path, state_dir: Path) -> Outcome:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request = {"args": [str(a) for a in args], "cwd": str(cwd), "state_dir": str(state_dir)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the fork server died (exit {self.process.poll()})"
        return Outcome(**json.loads(answer))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=WALL_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def fork_server() -> Iterator[ForkServer]:
    server = ForkServer()
    try:
        yield server
    finally:
        server.close()


if __name__ == "__main__":
    serve()
