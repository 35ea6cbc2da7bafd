"""Worker processes that survive each other's crashes (``validate`` of large sets).

``ProcessPoolExecutor`` gives up on everything once one worker dies (``BrokenProcessPool``),
and cannot say which item killed it. Here each worker takes a slice of the items, sends back
one result per item in order, and a worker that dies is known to have died on the item after
its last result: that item gets a :class:`Died`, and a new worker takes the rest of its slice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Died:
    """The worker process died while working on an item."""

    exitcode: int
    """The process's exit code; minus the signal number when a signal killed it."""

    def describe(self) -> str:
        if self.exitcode < 0:
            try:
                return f"killed by {signal.Signals(-self.exitcode).name}"
            except ValueError:
                return f"killed by signal {-self.exitcode}"
        return f"exited with status {self.exitcode}"


@dataclass(frozen=True, slots=True)
class _Raised:
    error: BaseException


@dataclass
class _Worker:
    process: Any
    connection: Connection
    next: int
    end: int


def map_in_workers(
    function: Callable[[_T], _R], items: Sequence[_T], workers: int, chunks_per_worker: int = 4
) -> list[_R | Died]:
    """``function`` of each item, computed by ``workers`` forked processes, in order.

    An exception raised by ``function`` is raised here; a worker that dies (a segfault in a C
    extension, the OOM killer) costs only the item it was on.
    """
    context = multiprocessing.get_context("fork")  # workers inherit the imported modules
    size = max(1, len(items) // (workers * chunks_per_worker))
    todo = deque((start, min(start + size, len(items))) for start in range(0, len(items), size))
    results: list[Any] = [None] * len(items)
    running: dict[Connection, _Worker] = {}
    try:
        while todo or running:
            while todo and len(running) < workers:
                start, end = todo.popleft()
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(
                    target=_work, args=(function, items[start:end], sender), daemon=True
                )
                process.start()
                sender.close()  # only the worker holds the sending end: its death is EOF here
                running[receiver] = _Worker(process, receiver, start, end)
            for ready in wait(list(running)):
                assert isinstance(ready, Connection)
                worker = running[ready]
                try:
                    result = ready.recv()
                except EOFError:
                    worker.process.join()
                    results[worker.next] = Died(worker.process.exitcode or 0)
                    _retire(running, worker)
                    if worker.next + 1 < worker.end:
                        todo.appendleft((worker.next + 1, worker.end))
                    continue
                if isinstance(result, _Raised):
                    raise result.error
                results[worker.next] = result
                worker.next += 1
                if worker.next == worker.end:
                    worker.process.join()
                    _retire(running, worker)
    finally:
        for worker in list(running.values()):
            worker.process.kill()
            worker.process.join()
            _retire(running, worker)
    return results


def _retire(running: dict[Connection, _Worker], worker: _Worker) -> None:
    del running[worker.connection]
    worker.connection.close()


def _work(function: Callable[[Any], Any], items: Sequence[Any], sender: Connection) -> None:
    for item in items:
        try:
            result: Any = function(item)
        except BaseException as exc:  # the parent raises it, as a pool would
            result = _Raised(exc)
        sender.send(result)
        if isinstance(result, _Raised):
            break
    sender.close()
    os._exit(0)  # no atexit handlers or finalizers of the parent's objects in a fork
