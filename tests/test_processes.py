"""Child processes: bounded, killed with everything they started, never orphaned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from goalctl.processes import MAX_STDERR_LINE, ProcessResult, run_process


def run(argv: list[str], **options: object) -> ProcessResult:
    options.setdefault("timeout_s", 10)
    return asyncio.run(run_process(argv, **options))  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            state = file.read().rpartition(b")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in (b"Z", b"X")


def wait_gone(pids: list[int], within: float = 5.0) -> list[int]:
    """The pids still alive after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def read_pids(path: Path, count: int, within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists():
            pids = path.read_text().split()
            if len(pids) >= count:
                return [int(p) for p in pids]
        time.sleep(0.02)
    raise AssertionError(f"{path} never listed {count} pids")


def test_stdin_is_fed_and_stdout_collected() -> None:
    result = run(["cat"], stdin=b'{"version": 1}')

    assert result == ProcessResult(0, b'{"version": 1}', "", timed_out=False, truncated=False)


def test_a_failure_keeps_its_exit_status_and_the_tail_of_stderr() -> None:
    result = run(["sh", "-c", "echo first >&2; echo last words >&2; exit 3"])

    assert result.returncode == 3
    assert result.stderr_tail == "first\nlast words\n"


def test_stderr_lines_are_handed_on_as_they_come() -> None:
    lines: list[str] = []

    run(
        ["sh", "-c", "printf 'one\\ntwo\\r\\nthree'; printf 'x%.0s' $(seq 3000) >&2"],
        on_stderr=lines.append,
    )
    run(["sh", "-c", "echo one >&2; echo two >&2"], on_stderr=lines.append)

    assert lines[0] == "x" * MAX_STDERR_LINE
    assert lines[-2:] == ["one", "two"]


def test_a_child_that_ignores_its_input_is_no_error() -> None:
    result = run(["true"], stdin=b"x" * 1_000_000)

    assert result.returncode == 0


def test_stdout_is_bounded() -> None:
    result = run(["sh", "-c", "head -c 3000000 /dev/zero"], max_stdout=1000)

    assert (len(result.stdout), result.truncated, result.returncode) == (1000, True, 0)


def test_a_missing_program_raises_for_the_caller_to_word() -> None:
    with pytest.raises(FileNotFoundError):
        run(["/nonexistent/agent"])


def test_a_timeout_kills_the_child_and_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! $$ > {pids}; wait"

    started = time.monotonic()
    result = run(["sh", "-c", script], timeout_s=0.5)

    assert result.timed_out
    assert result.returncode is None
    assert time.monotonic() - started < 5
    assert wait_gone(read_pids(pids, 2)) == []


def test_a_child_that_exits_leaves_no_background_process(tmp_path: Path) -> None:
    pids = tmp_path / "pids"

    result = run(["sh", "-c", f"sleep 60 & echo $! > {pids}"])

    assert result.returncode == 0
    assert wait_gone(read_pids(pids, 1)) == []


def test_cancellation_kills_the_group_before_it_returns(tmp_path: Path) -> None:
    pids = tmp_path / "pids"

    async def go() -> None:
        task = asyncio.create_task(
            run_process(["sh", "-c", f"sleep 60 & echo $! $$ > {pids}; wait"], timeout_s=30)
        )
        await asyncio.to_thread(read_pids, pids, 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())

    assert wait_gone(read_pids(pids, 2), within=0.5) == []


def test_kill_9_of_goalctl_leaves_no_orphan(tmp_path: Path) -> None:
    """The watchdog in the child's group kills it when its parent dies without a word."""
    pids = tmp_path / "pids"
    parent = textwrap.dedent(
        f"""
        import asyncio
        from goalctl.processes import run_process
        asyncio.run(run_process(
            ["sh", "-c", "sleep 60 & echo $! $$ > {pids}; wait"], timeout_s=60))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", parent])
    try:
        children = read_pids(pids, 2, within=20)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)

    assert wait_gone(children) == []
