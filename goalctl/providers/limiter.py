"""Adaptive concurrency per provider route: how many requests may be in flight to one API.

A fixed number is wrong both ways: too few leaves a fast API idle (1,000 cases at 32 in flight
and 200 ms take 32 waves), too many meets rate limits. Each route (provider + base URL) has one
:class:`AdaptiveLimit` shared by every scenario of a command:

- it starts at :data:`INITIAL_LIMIT` and grows by one per answered request (doubling every
  round trip) while answers keep coming as fast as the fastest seen (latency "holds");
- a 429 or 529 halves it, at most once per round trip (requests sent before the last cut do
  not cut again) and at most once per :data:`DECREASE_INTERVAL_S`, so one burst of refusals is
  one cut, and a server that refuses a share of requests whatever the load does not starve the
  run;
- it never exceeds the ceiling (``--concurrency`` / the project's ``concurrency``) nor drops
  below one.

A slot is held for one HTTP attempt only: the SDK sleeps between retries outside it, so a
request waiting out ``retry-after`` leaves its slot to others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

DEFAULT_CEILING = 256
"""The default ceiling (``--concurrency``): the most requests in flight to one route."""
INITIAL_LIMIT = 32
"""Requests in flight before the route has answered anything (the old fixed default)."""
LATENCY_TOLERANCE = 2.0
"""Latency "holds" while an answer takes at most this many times the fastest one seen."""
DECREASE_INTERVAL_S = 1.0
"""The least time between two cuts of one route's limit."""


@dataclass
class Attempt:
    """What one attempt in a slot learned; the slot reads it when released."""

    overloaded: bool = False
    """The server answered 429 or 529."""
    answered: bool = False
    """The server answered with success (a latency sample)."""


@dataclass
class AdaptiveLimit:
    """The in-flight limit of one route, adapted as answers come back (see the module)."""

    ceiling: int
    clock: Callable[[], float] = time.monotonic
    limit: float = field(init=False)
    in_flight: int = field(init=False, default=0)
    peak: int = field(init=False, default=0)
    """The most requests this route ever had in flight at once."""
    cuts: int = field(init=False, default=0)
    """How many times the limit was halved."""
    _fastest: float = field(init=False, default=float("inf"))
    _last_cut: float = field(init=False, default=float("-inf"))
    _waiters: collections.deque[asyncio.Future[None]] = field(
        init=False, default_factory=collections.deque
    )

    def __post_init__(self) -> None:
        self.ceiling = max(1, self.ceiling)
        self.limit = float(min(INITIAL_LIMIT, self.ceiling))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Attempt]:
        """Hold one slot for one attempt; say in the yielded :class:`Attempt` how it went."""
        await self._acquire()
        cuts_before = self.cuts
        started = self.clock()
        attempt = Attempt()
        try:
            yield attempt
        finally:
            self.in_flight -= 1
            self._learn(attempt, self.clock() - started, cuts_before)
            self._wake()

    async def _acquire(self) -> None:
        if self.in_flight < int(self.limit) and not self._waiters:
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Woken and cancelled at once: the slot was ours, hand it on.
                self.in_flight -= 1
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()  # taken on the waiter's behalf, so no one overtakes it
                waiter.set_result(None)

    def _learn(self, attempt: Attempt, latency: float, cuts_before: int) -> None:
        if attempt.overloaded:
            now = self.clock()
            if cuts_before == self.cuts and now - self._last_cut >= DECREASE_INTERVAL_S:
                self.limit = max(1.0, self.limit / 2)
                self.cuts += 1
                self._last_cut = now
            return
        if not attempt.answered:
            return  # a lost connection or a bad request says nothing about capacity
        self._fastest = min(self._fastest, latency)
        holds = latency <= LATENCY_TOLERANCE * self._fastest
        # Grow only while the limit is what holds requests back, not a lull in demand.
        if holds and self.in_flight + 1 >= int(self.limit) // 2:
            self.limit = min(float(self.ceiling), self.limit + 1)


@dataclass
class RouteLimits:
    """One :class:`AdaptiveLimit` per route, shared by every scenario of one command."""

    routes: dict[tuple[str, str], AdaptiveLimit] = field(default_factory=dict)

    def for_route(self, provider: str, base_url: str, ceiling: int) -> AdaptiveLimit:
        """The route's limit; the first scenario to reach a route sets its ceiling (every
        scenario of one command has the same)."""
        key = (provider, base_url)
        found = self.routes.get(key)
        if found is None:
            found = self.routes[key] = AdaptiveLimit(ceiling)
        return found
