"""Child processes that never outlive their case: agents, tools and world-state checks.

Every child runs in a process group of its own, so a timeout, a stop or Ctrl-C kills it and
everything it started (a shell script's ``curl``, a test runner's workers) at once. A process
group alone does not survive the death of its parent, though: ``kill -9`` of goalctl's worker
would leave the group running. So each group also holds a *watchdog* — a ``sh`` that blocks
reading a pipe whose only writer is goalctl. When goalctl dies in any way, the kernel closes
that pipe, the watchdog's ``read`` returns, and it kills its whole group. No orphans, ever.

Output is bounded (a child that prints gigabytes costs a bounded amount of memory), stderr is
handed on line by line as it arrives, and every wait is bounded by the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_STDOUT_BYTES = 8 * 1024 * 1024
"""The most of a child's stdout kept; beyond it the output is cut and ``truncated`` set."""
STDERR_TAIL_BYTES = 4096
"""How much of the end of stderr is kept as evidence of a failure."""
MAX_STDERR_LINE = 2000
"""Longer stderr lines are cut before they are handed on (to the run's events)."""
KILL_GRACE_S = 2.0
"""How long a group has between SIGTERM and SIGKILL."""
WATCHDOG = "read _ignored; kill -KILL 0"
"""The watchdog's whole program: wait for goalctl's end of the pipe to close, kill the group."""

PROVIDER_VARIABLES = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
    }
)
"""Never passed on from goalctl's own environment: the agent reaches models through the
gateway only, so every call is metered and no real key is in its hands."""


def child_environment(*layers: Mapping[str, str]) -> dict[str, str]:
    """goalctl's environment without provider credentials, then each layer over it."""
    environment = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}
    for layer in layers:
        environment.update(layer)
    return environment


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """How a child ended and what it wrote."""

    returncode: int | None
    """The exit status; negative for a signal; None when it was killed on timeout."""
    stdout: bytes
    stderr_tail: str
    """The last :data:`STDERR_TAIL_BYTES` of stderr, decoded leniently."""
    timed_out: bool = False
    truncated: bool = False
    """Whether stdout went past :data:`MAX_STDOUT_BYTES` and was cut."""


@dataclass(slots=True)
class Group:
    """A child running in a process group of its own, with the group's watchdog."""

    process: asyncio.subprocess.Process
    exited: asyncio.Event
    """Set when the child exits (its own children may still run, and hold its pipes)."""
    watchdog: asyncio.subprocess.Process
    guard_write: int
    _ending: asyncio.Future[None] | None = None

    async def end(self) -> None:
        """End everything in the group: SIGTERM while the child runs, SIGKILL after a grace
        period or once it has exited (its own children may linger), then reap what is ours.

        Ending runs once, to its end even if the caller is cancelled meanwhile; every call
        waits for it."""
        if self._ending is None:
            self._ending = asyncio.ensure_future(
                _end_group(
                    self.watchdog.pid, self.process, self.exited, self.watchdog, self.guard_write
                )
            )
        await asyncio.shield(self._ending)


async def start_group(
    argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Group:
    """Start ``argv`` (never through a shell) in its own process group, guarded by a watchdog,
    with pipes for stdin, stdout and stderr. The caller must :meth:`Group.end` it.

    :class:`OSError` (no such program, not executable) propagates for the caller to word.
    """
    guard_read, guard_write = os.pipe()
    os.set_inheritable(guard_write, False)
    try:
        # The watchdog leads the group, so the group exists for as long as goalctl does.
        watchdog = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            WATCHDOG,
            stdin=guard_read,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            process_group=0,
        )
    except BaseException:
        os.close(guard_write)
        raise
    finally:
        os.close(guard_read)
    group = watchdog.pid
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(loop),
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            process_group=group,
        )
    except BaseException:
        await _end_group(group, None, asyncio.Event(), watchdog, guard_write)
        raise
    process = asyncio.subprocess.Process(transport, protocol, loop)
    return Group(process, protocol.exited, watchdog, guard_write)


async def run_process(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float,
    on_stderr: Callable[[str], None] | None = None,
    max_stdout: int = MAX_STDOUT_BYTES,
) -> ProcessResult:
    """Run ``argv`` to its end (never through a shell) in its own process group, guarded by a
    watchdog.

    Cancellation (a stop, Ctrl-C) kills the group and reaps it before re-raising.
    :class:`OSError` (no such program, not executable) propagates for the caller to word.
    """
    group = await start_group(argv, cwd=cwd, env=env)
    return await _supervise(group, stdin, timeout_s, on_stderr, max_stdout)


def stderr_lines(emit: Callable[[str], None]) -> Callable[[bytes], None]:
    """A feeder of raw chunks that calls ``emit`` with each whole line, decoded leniently and
    cut to :data:`MAX_STDERR_LINE` (one enormous line must not overrun a line buffer); feed
    ``b""`` at the end for the last, unterminated line."""
    pending = b""

    def feed(chunk: bytes) -> None:
        nonlocal pending
        if not chunk:
            if pending:
                emit(_line(pending))
            pending = b""
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            emit(_line(line))
        if len(pending) > MAX_STDERR_LINE:
            emit(_line(pending))
            pending = b""

    return feed


def _line(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r")[:MAX_STDERR_LINE]


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the child exits, even while something it started still holds its pipes
    (``Process.wait()`` waits for the pipes too, so a background job would block it)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _supervise(
    group: Group,
    stdin: bytes,
    timeout_s: float,
    on_stderr: Callable[[str], None] | None,
    max_stdout: int,
) -> ProcessResult:
    """Feed, read and wait for the child within the timeout; then end its group (which may
    still hold the pipes open, a background job for example) and drain the pipes."""
    process = group.process
    pipe_in, pipe_out, pipe_err = process.stdin, process.stdout, process.stderr
    if pipe_in is None or pipe_out is None or pipe_err is None:
        raise RuntimeError("the child's pipes are missing")  # created with PIPE
    stdout = _Bounded(max_stdout)
    stderr_tail = bytearray()
    lines = stderr_lines(on_stderr) if on_stderr is not None else None

    async def feed() -> None:
        # A child that exits without reading its input closes the pipe: not our failure.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            pipe_in.write(stdin)
            await pipe_in.drain()
        pipe_in.close()

    async def read_stdout() -> None:
        while chunk := await pipe_out.read(65536):
            stdout.add(chunk)

    async def read_stderr() -> None:
        # Read in chunks, not lines: one enormous line must not overrun a line buffer.
        while chunk := await pipe_err.read(65536):
            stderr_tail.extend(chunk)
            del stderr_tail[:-STDERR_TAIL_BYTES]
            if lines is not None:
                lines(chunk)
        if lines is not None:
            lines(b"")

    tasks = [asyncio.create_task(job()) for job in (feed, read_stdout, read_stderr)]
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await group.exited.wait()
            returncode, timed_out = process.returncode, False
        except TimeoutError:
            returncode, timed_out = None, True
        await group.end()
        # The group is gone, so the pipes reach their end at once: what is left is output.
        await asyncio.wait(tasks, timeout=KILL_GRACE_S)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await group.end()  # at once after a cancellation; a no-op after the end above
    return ProcessResult(
        returncode=returncode,
        stdout=bytes(stdout.data),
        stderr_tail=stderr_tail.decode("utf-8", "replace"),
        timed_out=timed_out,
        truncated=stdout.truncated,
    )


class _Bounded:
    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.limit = limit
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if len(chunk) > room:
            self.truncated = True
        self.data.extend(chunk[: max(room, 0)])


async def _end_group(
    group: int,
    process: asyncio.subprocess.Process | None,
    exited: asyncio.Event,
    watchdog: asyncio.subprocess.Process,
    guard_write: int,
) -> None:
    """End everything in the group: SIGTERM while the child runs, SIGKILL after a grace
    period or once it has exited (its own children may linger), then reap what is ours."""
    if process is not None and process.returncode is None:
        _signal_group(group, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KILL_GRACE_S):
                await exited.wait()
    _signal_group(group, signal.SIGKILL)
    os.close(guard_write)
    for child in (process, watchdog):
        if child is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(KILL_GRACE_S):
                    await child.wait()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
