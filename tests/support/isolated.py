"""Run goalctl in a child process with bounds on time and memory.

For inputs that could crash the interpreter (a segfault in a C parser): in-process, such a
crash would take pytest down with it; here it is an exit status the test can assert on.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 2 * 1024**3
"""Bytes of address space a child may map: far above what goalctl needs, far below the box."""
CPU_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    """How a child goalctl ended: ``code`` is its exit code, or minus the signal that ended it."""

    code: int
    stdout: str
    stderr: str
    elapsed: float


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not leave a core file


def run_isolated(*args: str | Path, cwd: Path, timeout: float = 60.0) -> Outcome:
    """``goalctl ARGS`` in a bounded child process run from ``cwd`` (its state dir is there)."""
    env = {**os.environ, "GOALCTL_STATE_DIR": str(cwd / ".goalctl-state"), "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "goalctl", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        preexec_fn=_limit,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
