"""What the SDK-backed providers share: their options and how they word failures.

Messages quote servers, which may send a page of HTML or a key they were given; everything
quoted goes through :func:`quote`, and every URL shown through :func:`without_credentials`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from goalctl.providers.options import declare

if TYPE_CHECKING:
    from goalctl.providers.base import ProviderContext
    from goalctl.providers.limiter import AdaptiveLimit

Client = TypeVar("Client")

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


OVERLOADED_STATUSES = frozenset({429, 529})
"""Statuses that say "slow down": they halve the route's adaptive limit."""


def route_limit(context: ProviderContext, provider: str, base_url: str) -> AdaptiveLimit:
    """The adaptive in-flight limit of the route, shared by the command's scenarios."""
    from goalctl.providers.limiter import AdaptiveLimit

    if context.limits is None:
        return AdaptiveLimit(context.concurrency)
    return context.limits.for_route(provider, without_credentials(base_url), context.concurrency)


class CappedRetryWaits:
    """Mixed in before an SDK client class: waits between attempts no longer than one attempt
    may take, and retries at once when the server says ``retry-after: 0``.

    The SDKs obey ``retry-after`` for minutes (anthropic: up to 49 days); a server or proxy
    saying 999999 would park the run. Capped, one call takes at most
    (2 x max_retries + 1) x timeout_s.
    """

    longest_wait_s: float = DEFAULT_TIMEOUT_S

    def _calculate_retry_timeout(
        self, remaining_retries: int, options: Any, response_headers: Any = None
    ) -> float:
        if retry_at_once(self, response_headers):
            return 0.0
        wait: float = super()._calculate_retry_timeout(  # type: ignore[misc]
            remaining_retries, options, response_headers
        )
        return min(wait, self.longest_wait_s)


def retry_at_once(client: Any, headers: Any) -> bool:
    """Whether the server said to retry now: ``retry-after: 0`` (or ``-ms``, or a past date).

    Both SDKs read 0 as no advice and back off 0.5-8 s instead, which made a run with a few
    429s take twice as long.
    """
    if headers is None:
        return False
    try:
        after = client._parse_retry_after_header(headers)
    except (TypeError, ValueError, OverflowError):
        return False
    return after is not None and after <= 0


SHARD_CONNECTIONS = 32
"""The most connections one SDK client's pool is meant to hold (see :class:`ClientShards`)."""


class ClientShards(Generic[Client]):
    """One SDK client per :data:`SHARD_CONNECTIONS` of a route's ceiling; calls take turns.

    httpx2's connection pool scans every connection it holds on each request and each
    response (idle? expired? readable?), so one pool of a few hundred connections spends more
    CPU per call than the call itself: 1,000 calls at 256 in flight took 3.6 s through one
    client and 3.1 s through eight. Clients are made on first use, so a run that never goes
    past 32 calls in flight has one. The route's limit (shared by every client's middleware
    or transport) still bounds the calls in flight.
    """

    def __init__(self, make: Callable[[], Client], ceiling: int) -> None:
        self._make = make
        self._count = max(1, -(-ceiling // SHARD_CONNECTIONS))
        self._clients: list[Client] = []
        self._turn = -1

    def next(self) -> Client:
        """The client for the next call."""
        self._turn = (self._turn + 1) % self._count
        if self._turn == len(self._clients):
            self._clients.append(self._make())
        return self._clients[self._turn]

    @property
    def first(self) -> Client:
        """A client to read settings from (the key, the base URL): made if none is yet."""
        if not self._clients:
            self._clients.append(self._make())
        return self._clients[0]

    @property
    def made(self) -> list[Client]:
        """The clients made so far (to close them)."""
        return list(self._clients)
