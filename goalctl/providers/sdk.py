"""What the SDK-backed providers share: their options and how they word failures.

Messages quote servers, which may send a page of HTML or a key they were given; everything
quoted goes through :func:`quote`, and every URL shown through :func:`without_credentials`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from goalctl.providers.options import declare

MAX_QUOTE = 300
"""The most characters of a server's message quoted in ours."""


DEFAULT_MAX_RETRIES = 4
DEFAULT_TIMEOUT_S = 60.0
MAX_RETRIES = 10
MAX_TIMEOUT_S = 600
OPTIONS = declare(
    max_retries={
        "type": "integer",
        "default": DEFAULT_MAX_RETRIES,
        "min": 0,
        "max": MAX_RETRIES,
        "description": "Retries after a 408/409/429/5xx, a timeout or a lost connection.",
    },
    timeout_s={
        "type": "number",
        "default": DEFAULT_TIMEOUT_S,
        "min": 0.1,
        "max": MAX_TIMEOUT_S,
        "description": "Seconds one attempt may take in total, and the longest wait between "
        "attempts whatever the server's retry-after says.",
    },
)
"""The options of every SDK-backed provider, declared so that validate checks them and bounded
so that no file can make a call wait for hours."""

EVERY_CALL_STATUSES = frozenset({400, 401, 403, 404})
"""Statuses that say the key, the model or the request's shape is wrong: every case would get
the same answer, so the run stops at the first (see ProviderError.every_call)."""


def after_retries(count: int) -> str:
    """`` after N retries`` for a message, or nothing when the call was not retried."""
    if count == 0:
        return ""
    return f" after {count} {'retry' if count == 1 else 'retries'}"


def quote(text: str) -> str:
    """One line, at most :data:`MAX_QUOTE` characters, cut at a word boundary."""
    from goalctl.excerpts import excerpt

    return excerpt(" ".join(text.split()), MAX_QUOTE)


def without_credentials(url: str) -> str:
    """The URL to show in messages: without ``user:password@`` and without a trailing slash."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)).rstrip("/")
