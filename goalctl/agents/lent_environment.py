"""goalctl's own environment, lent to in-process agents for their model calls (DESIGN §11).

A ``python`` agent's callable runs inside goalctl, so ``anthropic.Anthropic()`` and
``openai.OpenAI()`` built with no arguments read goalctl's ``os.environ``. That is one mapping
for the whole process, and no context variable reaches inside it, so:

- when cases run one at a time (``concurrency`` 1), each case's callable runs with the
  gateway's variables and its own key in ``os.environ``, restored when it returns;
- when cases run concurrently, no single key could name the case, so the provider variables
  are removed while any callable runs: an SDK client built with no arguments fails with its
  own "no API key" error, never reaching a model with goalctl's real key unmetered. The
  ``gateway`` argument is what works under any concurrency.

Either way the real keys that leave the environment stay hidden in every file goalctl writes
(:func:`goalctl.keys.hold_secrets`). Loans may overlap (several scenarios in one run): the
first saves the environment and the last restores it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping

from goalctl.agents.external import PROVIDER_VARIABLES
from goalctl.keys import SECRET_ENV_VARS, hold_secrets, release_secrets

_LOCK = threading.Lock()
_saved: dict[str, str] = {}
_loans = 0


@contextlib.contextmanager
def lent_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """The provider variables of ``os.environ`` replaced by ``variables`` (the others removed)
    for the length of the block."""
    global _loans
    with _LOCK:
        if _loans == 0:
            _saved.clear()
            _saved.update({k: os.environ[k] for k in PROVIDER_VARIABLES if k in os.environ})
            hold_secrets([_saved[k] for k in SECRET_ENV_VARS if k in _saved])
        _loans += 1
        for name in PROVIDER_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(variables)
    try:
        yield
    finally:
        with _LOCK:
            _loans -= 1
            if _loans == 0:
                for name in PROVIDER_VARIABLES:
                    os.environ.pop(name, None)
                os.environ.update(_saved)
                release_secrets([_saved[k] for k in SECRET_ENV_VARS if k in _saved])
                _saved.clear()
