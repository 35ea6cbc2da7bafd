"""The service an ``http`` agent reaches, started by goalctl for the length of a run.

With ``serve`` in its config, the ``http`` agent starts that command before the first case
and waits until the url's port accepts connections; it stops it after the last case, like a
test runner's web server. The service runs in the scenario's folder, in a process group of its
own guarded by a watchdog (:mod:`goalctl.processes`), so a stop, Ctrl-C or ``kill -9`` of
goalctl leaves nothing behind. Its output lines go to the run's events, and the end of them is
the evidence when it exits early.

A url may say ``${PORT}``: goalctl then picks a free port on the url's loopback host and hands
it to the service in ``$PORT``, the convention of most hosting platforms, so concurrent runs
never collide. Otherwise ``$PORT`` is the url's own port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from goalctl.errors import RunError
from goalctl.processes import STDERR_TAIL_BYTES, Group, start_group, stderr_lines

PORT_VARIABLE: Final = "${PORT}"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
POLL_S: Final = 0.05
"""How often goalctl tries the service's port while it starts."""


class ServiceError(RunError):
    """The service did not start, or stopped answering because it exited (exit 3)."""


def serve_problem(url: str) -> str | None:
    """Why ``url`` cannot be the address of a service goalctl starts, or None."""
    host = urlsplit(url.replace(PORT_VARIABLE, "1")).hostname
    if host not in LOOPBACK_HOSTS:
        return (
            f"{url!r} is not on this machine; with serve, the url names the service "
            "goalctl starts (127.0.0.1, localhost or [::1])"
        )
    return None


def port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def free_port(host: str) -> int:
    """A port on ``host`` that nothing listens on now (the kernel's choice)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Service:
    """One started service: its process group, its address and the tail of its output."""

    def __init__(self, group: Group, command: str, host: str, port: int) -> None:
        self.group = group
        self.command = command
        self.host = host
        self.port = port
        self.tail = bytearray()
        self.readers: list[asyncio.Task[None]] = []

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        url: str,
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout_s: float,
        log: Callable[[str], None],
    ) -> tuple[Service, str]:
        """Start the service and wait until it accepts connections; the url to use (with its
        ``${PORT}`` filled in) comes with it. Raises :class:`ServiceError` when the port is
        taken already, the command cannot start, or the service exits or stays silent."""
        host = urlsplit(url.replace(PORT_VARIABLE, "1")).hostname or "127.0.0.1"
        if PORT_VARIABLE in url:
            port = free_port(host)
            url = url.replace(PORT_VARIABLE, str(port))
        else:
            port = port_of(url)
            if await _accepts(host, port):
                raise ServiceError(
                    f"serve: something already listens on {host}:{port}; stop it, remove "
                    "serve from the config to use the service that runs, or give the url "
                    "${PORT} so that goalctl picks a free port"
                )
        command = " ".join(argv)
        try:
            group = await start_group(argv, cwd=cwd, env={**env, "PORT": str(port)})
        except FileNotFoundError:
            raise ServiceError(f"serve: command not found: {argv[0]!r}") from None
        except PermissionError:
            raise ServiceError(f"serve: command is not executable: {argv[0]!r}") from None
        service = cls(group, command, host, port)
        service._read_output(log)
        log(f"serve: started {command!r} (pid {group.process.pid}), waiting for {host}:{port}")
        try:
            await service._wait_until_ready(timeout_s)
        except BaseException:
            await service.stop()
            raise
        log(f"serve: {host}:{port} accepts connections")
        return service, url

    def _read_output(self, log: Callable[[str], None]) -> None:
        """Drain stdout and stderr as they come (a full pipe would block the service), each
        line to the run's events, the end of them kept as evidence."""
        for pipe in (self.group.process.stdout, self.group.process.stderr):
            if pipe is not None:
                self.readers.append(asyncio.create_task(self._drain(pipe, log)))
        if self.group.process.stdin is not None:
            self.group.process.stdin.close()

    async def _drain(self, pipe: asyncio.StreamReader, log: Callable[[str], None]) -> None:
        lines = stderr_lines(lambda line: log(f"serve: {line}"))
        while chunk := await pipe.read(65536):
            self.tail.extend(chunk)
            del self.tail[:-STDERR_TAIL_BYTES]
            lines(chunk)
        lines(b"")

    async def _wait_until_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not await _accepts(self.host, self.port):
            if self.group.exited.is_set():
                raise ServiceError(self.exit_message("exited before it accepted connections"))
            if time.monotonic() >= deadline:
                raise ServiceError(
                    f"serve: {self.command!r} did not accept connections on "
                    f"{self.host}:{self.port} within serve_timeout_s ({timeout_s:g}s); does it "
                    "listen on the url's port (given to it as $PORT)?" + self.evidence()
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await self.group.exited.wait()

    async def exited_within(self, seconds: float) -> bool:
        """Whether the service has exited, or does within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.group.exited.wait()
        return self.group.exited.is_set()

    def exit_message(self, what: str = "exited during the run") -> str:
        status = self.group.process.returncode or 0
        how = f"with status {status}" if status >= 0 else f"on signal {-status}"
        return f"serve: {self.command!r} {what} ({how})" + self.evidence()

    def evidence(self) -> str:
        text = " | ".join(
            " ".join(line.split()) for line in self.tail.decode("utf-8", "replace").splitlines()
        ).strip(" |")
        return f"; its output ended: {text[-600:]}" if text else "; it wrote nothing"

    async def stop(self) -> None:
        """Stop the service's whole process group and reap it."""
        await self.group.end()
        # The group is gone, so the pipes reach their end: let the readers finish.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await asyncio.gather(*self.readers, return_exceptions=True)
        for reader in self.readers:
            reader.cancel()


async def _accepts(host: str, port: int) -> bool:
    """Whether ``host:port`` accepts a TCP connection now."""
    try:
        async with asyncio.timeout(1.0):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
