"""How the ``goalctl`` program treats Python's cyclic garbage collector.

A run imports the SDKs (hundreds of thousands of objects that live until exit), then makes
short-lived objects per case: every full collection walked the first to free some of the
second, and collections took a fifth of a 1,000-case live run's CPU (4.3 s with them, 3.7 s
with the policy below, 3.4 s with none at all). So the program, and only the program (not a
caller of :func:`goalctl.run` or the pytest plugin, whose process is theirs), collects young
objects less often and, once the modules are loaded, moves every object alive to the
permanent generation, which collections skip. Cycles made by the run are still collected.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 20_000
"""Allocations between young collections (Python's default is 700)."""

_owned = False


def own_process() -> None:
    """The program is the whole process (the console script and ``python -m goalctl``)."""
    global _owned
    _owned = True
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle() -> None:
    """Called when the modules a run needs are loaded and its cases are about to start."""
    if _owned:
        gc.freeze()
