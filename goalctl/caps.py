"""Caps on what a run stores of a model's output (issue 10, item 5).

A reply is kept in several places (the checkpoint line, ``report.json``, the transcript) and
rewritten as a run goes on, so one 200 MB reply once wrote gigabytes of state. Criteria and
constraints are evaluated on the whole output while it is in memory; only what is *stored*
is capped, each copy at :data:`MAX_STORED_CHARS` characters with a note of what was left out.
"""

from __future__ import annotations

from typing import Any, Final

MAX_STORED_CHARS: Final = 1024 * 1024
"""Characters of one stored text (a case's output, one transcript field): 1 MiB of ASCII."""


def cap_text(text: str, limit: int = MAX_STORED_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a note of how long it was."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… goalctl stored the first {limit:,} of {len(text):,} characters]"


def cap_strings(value: Any, limit: int = MAX_STORED_CHARS) -> Any:
    """JSON-like ``value`` with every string in it capped by :func:`cap_text`."""
    if isinstance(value, str):
        return cap_text(value, limit)
    if isinstance(value, dict):
        return {key: cap_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [cap_strings(item, limit) for item in value]
    return value


def cap_output(output: Any, text: str, limit: int = MAX_STORED_CHARS) -> Any:
    """The output to store for a case whose raw reply is ``text``.

    Text outputs are capped like any text. A parsed (JSON) output of a reply over the cap is
    not stored at all (None): a cut JSON document is no document, and the capped ``text``
    beside it shows what it was.
    """
    if isinstance(output, str):
        return cap_text(output, limit)
    if len(text) > limit:
        return None
    return output
