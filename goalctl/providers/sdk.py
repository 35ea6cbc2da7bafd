"""What the SDK-backed providers share: their options and how they word failures.

Messages quote servers, which may send a page of HTML or a key they were given; everything
quoted goes through :func:`quote`, and every URL shown through :func:`without_credentials`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from goalctl.errors import UsageError

MAX_QUOTE = 300
"""The most characters of a server's message quoted in ours."""


def max_retries_option(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"provider_options.max_retries must be an integer >= 0, not {value!r}")
    return value


def timeout_option(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
        raise UsageError(
            f"provider_options.timeout_s must be a number of seconds > 0, not {value!r}"
        )
    return float(value)


def after_retries(count: int) -> str:
    """`` after N retries`` for a message, or nothing when the call was not retried."""
    if count == 0:
        return ""
    return f" after {count} {'retry' if count == 1 else 'retries'}"


def quote(text: str) -> str:
    """One line, at most :data:`MAX_QUOTE` characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_QUOTE else line[: MAX_QUOTE - 1] + "…"


def without_credentials(url: str) -> str:
    """The URL to show in messages: without ``user:password@`` and without a trailing slash."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)).rstrip("/")
