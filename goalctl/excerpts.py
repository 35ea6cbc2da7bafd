"""Excerpts of long text for messages: cut at a word boundary, never inside a word.

Evidence, check errors, provider errors and retry feedback quote outputs, expressions, keys
and API messages; a quote cut mid-word reads as a different word (``currency`` as ``curr``),
so the quotes of these messages are all shortened here, in one way.
"""

from __future__ import annotations

import json
from typing import Any

MAX_EVIDENCE = 200
"""The most characters of one value quoted in a check's evidence."""


def excerpt(text: str, limit: int, marker: str = "…") -> str:
    """``text`` in at most ``limit`` characters, ``marker`` included when it is cut.

    The cut falls at the last space that keeps at least half the limit; only a token longer
    than that (compact JSON, a hash) is cut inside, since it cannot be kept whole anyway.
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(marker), 0)
    kept = text[:room]
    boundary = kept.rfind(" ")
    if text[room] != " " and boundary >= limit // 2:
        kept = kept[:boundary]
    return kept.rstrip() + marker


def plural(count: int, noun: str) -> str:
    """``1 call``, ``2 calls``: a count and its noun, as people write them."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def shorten(value: Any, limit: int = MAX_EVIDENCE) -> str:
    """``value`` on one line in at most ``limit`` characters, cut at a word boundary."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )
    return excerpt(" ".join(text.split()), limit)
