"""Adaptive concurrency per provider route (DESIGN §9 second wave), and ``retry-after`` honoured.

The rules are checked on :class:`AdaptiveLimit` with a fake clock; the wiring through the real
anthropic and openai SDKs against the loopback servers, by what the server observed (requests
in flight at once, their order), never by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goalctl.providers import anthropic as anthropic_provider
from goalctl.providers import openai as openai_provider
from goalctl.providers.base import CompletionRequest, Message, ProviderContext
from goalctl.providers.limiter import (
    DECREASE_INTERVAL_S,
    INITIAL_LIMIT,
    AdaptiveLimit,
    RouteLimits,
)
from tests.support.chat_server import ChatServer
from tests.support.messages_server import Delay, MessagesServer, Reply, Status

KEY = "sk-test-NOT-A-REAL-KEY-1234"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def attempt(limit: AdaptiveLimit, clock: FakeClock, latency: float, **how: bool) -> None:
    async with limit.slot() as outcome:
        clock.now += latency
        outcome.answered = how.get("answered", True)
        outcome.overloaded = how.get("overloaded", False)


def test_the_limit_starts_at_the_initial_limit_or_the_ceiling_if_lower() -> None:
    assert AdaptiveLimit(1000).limit == INITIAL_LIMIT
    assert AdaptiveLimit(3).limit == 3
    assert AdaptiveLimit(0).limit == 1  # a ceiling is at least one


def test_each_answer_grows_the_limit_by_one_while_latency_holds_up_to_the_ceiling() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(INITIAL_LIMIT + 2, clock=clock)
    limit.in_flight = INITIAL_LIMIT  # the limit is what holds requests back

    async def go() -> None:
        limit.in_flight -= 1  # this attempt is one of them
        await attempt(limit, clock, 0.2)

    asyncio.run(go())
    assert limit.limit == INITIAL_LIMIT + 1
    for _ in range(3):
        limit.in_flight = INITIAL_LIMIT
        asyncio.run(go())
    assert limit.limit == INITIAL_LIMIT + 2  # the ceiling


def test_the_limit_does_not_grow_when_answers_slow_down_or_demand_is_low() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(1000, clock=clock)
    limit.in_flight = INITIAL_LIMIT - 1
    asyncio.run(attempt(limit, clock, 0.1))  # the fastest answer: grows
    assert limit.limit == INITIAL_LIMIT + 1
    limit.in_flight = INITIAL_LIMIT - 1
    asyncio.run(attempt(limit, clock, 0.5))  # five times slower: latency does not hold
    assert limit.limit == INITIAL_LIMIT + 1
    limit.in_flight = 0
    asyncio.run(attempt(limit, clock, 0.1))  # one request alone says nothing about capacity
    assert limit.limit == INITIAL_LIMIT + 1


def test_a_429_halves_the_limit_once_per_round_trip_and_interval_never_below_one() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(1000, clock=clock)

    async def burst(size: int) -> None:
        # ``size`` attempts sent together, all refused: one cut, not ``size``.
        async def one() -> None:
            async with limit.slot() as outcome:
                await asyncio.sleep(0)
                outcome.overloaded = True

        await asyncio.gather(*(one() for _ in range(size)))

    asyncio.run(burst(8))
    assert (limit.limit, limit.cuts) == (INITIAL_LIMIT / 2, 1)
    asyncio.run(attempt(limit, clock, 0.0, overloaded=True))  # sent after the cut, too soon
    assert limit.cuts == 1
    for _ in range(10):
        clock.now += DECREASE_INTERVAL_S
        asyncio.run(attempt(limit, clock, 0.0, overloaded=True))
    assert limit.limit == 1
    assert limit.cuts > 4


def test_an_error_that_is_no_answer_changes_nothing() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(1000, clock=clock)
    limit.in_flight = INITIAL_LIMIT - 1
    asyncio.run(attempt(limit, clock, 0.1, answered=False))
    assert (limit.limit, limit.cuts, limit.in_flight) == (INITIAL_LIMIT, 0, INITIAL_LIMIT - 1)


def test_waiters_get_slots_in_order_and_a_cancelled_waiter_gives_its_turn_away() -> None:
    limit = AdaptiveLimit(1)
    order: list[str] = []

    async def take(name: str, hold: asyncio.Event) -> None:
        async with limit.slot() as outcome:
            order.append(name)
            await hold.wait()
            outcome.answered = False

    async def go() -> None:
        hold = asyncio.Event()
        first = asyncio.create_task(take("first", hold))
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(take("cancelled", hold))
        last = asyncio.create_task(take("last", hold))
        await asyncio.sleep(0)
        assert limit.in_flight == 1
        cancelled.cancel()
        hold.set()
        await asyncio.gather(first, last, cancelled, return_exceptions=True)

    asyncio.run(go())
    assert order == ["first", "last"]
    assert limit.in_flight == 0


def test_scenarios_of_one_command_share_their_routes_limit() -> None:
    limits = RouteLimits()
    one = limits.for_route("anthropic", "http://127.0.0.1:1", 8)
    assert limits.for_route("anthropic", "http://127.0.0.1:1", 8) is one
    assert limits.for_route("anthropic", "http://127.0.0.1:2", 8) is not one
    assert limits.for_route("openai", "http://127.0.0.1:1", 8) is not one


# Through the real SDKs


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def ask(text: str) -> CompletionRequest:
    return CompletionRequest(model="claude-test", messages=(Message("user", text),))


def context(ceiling: int, limits: RouteLimits | None = None) -> ProviderContext:
    return ProviderContext(
        Path("scenario.md"), "claude-test", concurrency=ceiling, limits=limits or RouteLimits()
    )


def calls(providers: list[Any], count: int) -> list[str]:
    """``count`` calls spread over ``providers``, all at once; their reply texts."""

    async def go() -> list[str]:
        try:
            replies = await asyncio.gather(
                *(providers[i % len(providers)].complete(ask(f"n{i}")) for i in range(count))
            )
        finally:
            for provider in providers:
                await provider.aclose()
        return [reply.text for reply in replies]

    return asyncio.run(go())


def test_concurrency_is_a_ceiling_shared_by_every_scenario_on_the_route(
    server: MessagesServer,
) -> None:
    server.latency = 0.05
    limits = RouteLimits()
    # Two scenarios' providers on one route: together they keep at most 3 requests in flight.
    providers = [anthropic_provider.create(context(3, limits)) for _ in range(2)]

    replies = calls(providers, 12)

    assert replies == [f"echo: n{i}" for i in range(12)]
    assert server.max_in_flight == 3


def test_the_limit_grows_past_its_start_while_the_server_keeps_up(server: MessagesServer) -> None:
    server.latency = 0.1
    provider = anthropic_provider.create(context(1000))

    calls([provider], 3 * INITIAL_LIMIT)

    # The first wave answered as fast as ever, so the second was larger than the first.
    assert server.max_in_flight > INITIAL_LIMIT
    assert provider.limit.cuts == 0


def test_a_sleeping_retry_holds_no_slot_and_a_429_halves_the_limit(server: MessagesServer) -> None:
    provider = anthropic_provider.create(context(1))
    # The first request is refused with a 300 ms retry-after; with a ceiling of one, the second
    # call can only be answered meanwhile if the sleeping retry left the slot.
    server.enqueue(Status(429, headers={"retry-after-ms": "300"}))

    async def go() -> list[str]:
        try:
            first = asyncio.create_task(provider.complete(ask("first")))
            while not server.requests:
                await asyncio.sleep(0.005)
            second = asyncio.create_task(provider.complete(ask("second")))
            return [(await first).text, (await second).text]
        finally:
            await provider.aclose()

    replies = asyncio.run(go())

    assert replies == ["echo: first", "echo: second"]
    order = [r.body["messages"][0]["content"] for r in server.requests]
    assert order == ["first", "second", "first"]
    assert server.max_in_flight == 1
    assert provider.limit.cuts == 1


@pytest.mark.parametrize(
    "headers", [{"retry-after": "0"}, {"retry-after-ms": "0"}, {"retry-after": "0.0"}]
)
def test_retry_after_zero_is_retried_at_once(
    server: MessagesServer, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]
) -> None:
    provider = anthropic_provider.create(context(8))
    waits = _record_waits(provider._clients.first, monkeypatch)
    server.enqueue(Status(429, headers=headers), Reply(text="4"))

    assert calls([provider], 1) == ["4"]
    assert waits == [0.0]
    assert len(server.requests) == 2


def test_without_retry_after_the_sdk_backs_off(
    server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = anthropic_provider.create(context(8))
    waits = _record_waits(provider._clients.first, monkeypatch)
    server.enqueue(Status(529, headers={}), Reply(text="4"))

    assert calls([provider], 1) == ["4"]
    assert len(waits) == 1
    assert 0.3 <= waits[0] <= 0.5  # the SDK's first backoff, 0.5 s less up to 25% jitter


def test_a_long_retry_after_is_capped_by_the_calls_timeout(
    server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = anthropic_provider.create(
        ProviderContext(Path("s.md"), "claude-test", options={"timeout_s": 0.2}, concurrency=4)
    )
    waits = _record_waits(provider._clients.first, monkeypatch)
    server.enqueue(Status(429, headers={"retry-after": "999"}), Reply(text="4"))

    assert calls([provider], 1) == ["4"]
    assert waits == [0.2]


def test_the_openai_provider_honours_the_ceiling_and_retry_after_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ChatServer(latency=0.05) as chat:
        monkeypatch.setenv("OPENAI_BASE_URL", chat.base_url)
        limits = RouteLimits()
        providers = [openai_provider.create(context(2, limits)) for _ in range(2)]
        # Either provider's first request may be the one refused.
        waits = _record_waits(providers[0]._clients.first, monkeypatch)
        waits_too = _record_waits(providers[1]._clients.first, monkeypatch)
        chat.enqueue(Status(429, headers={"retry-after": "0"}), Delay(0.05))

        replies = calls(providers, 8)

        assert len(replies) == 8
        assert chat.max_in_flight == 2
        assert waits + waits_too == [0.0]
        assert providers[0].limit is providers[1].limit
        assert providers[0].limit.cuts == 1


def _record_waits(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the client computes before its retries."""
    waits: list[float] = []
    original = client._calculate_retry_timeout

    def recording(*args: Any, **kwargs: Any) -> float:
        wait: float = original(*args, **kwargs)
        waits.append(wait)
        return wait

    monkeypatch.setattr(client, "_calculate_retry_timeout", recording)
    return waits


def test_the_default_ceiling_is_lower_for_agents_that_start_a_process_per_case(
    tmp_path: Path,
) -> None:
    from goalctl.planning import (
        DEFAULT_CONCURRENCY,
        PROCESS_AGENT_CONCURRENCY,
        RunOptions,
        effective_concurrency,
    )
    from goalctl.scenario.loader import load_scenario

    def scenario(name: str, agent: str) -> Any:
        extra = "config: {command: [echo, hi]}\n" if agent == "command" else ""
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"id: {name}\nname: N\ndescription: D\nagent: {agent}\n{extra}"
            "success_criteria: [{id: a, description: A, metric: output_contains, target: x}]\n"
            "cases: [{name: c}]\nprompt: hi\n"
        )
        return load_scenario(path)

    llm, command = scenario("one", "llm"), scenario("two", "command")
    assert effective_concurrency(RunOptions(), [llm]) == DEFAULT_CONCURRENCY
    assert effective_concurrency(RunOptions(), [llm, command]) == PROCESS_AGENT_CONCURRENCY
    given = RunOptions(concurrency=100, concurrency_given=True)
    assert effective_concurrency(given, [llm, command]) == 100
    assert RunOptions.from_state(given.to_state(llm)).concurrency_given
    assert not RunOptions.from_state(RunOptions().to_state(llm)).concurrency_given


def test_calls_take_turns_over_a_client_per_32_connections_of_the_ceiling(
    server: MessagesServer,
) -> None:
    """httpx2's pool scans every connection on each request: a ceiling of 96 gets three
    clients (pools), made as calls need them, every one closed with the provider."""
    provider = anthropic_provider.create(context(96))
    assert len(provider._clients.made) == 0  # made on first use

    replies = calls([provider], 7)

    assert replies == [f"echo: n{i}" for i in range(7)]
    made = provider._clients.made
    assert len(made) == 3
    assert all(client.is_closed() for client in made)
    assert len(server.requests) == 7


def test_a_ceiling_of_32_or_less_keeps_one_client(server: MessagesServer) -> None:
    provider = anthropic_provider.create(context(32))
    assert calls([provider], 5) == [f"echo: n{i}" for i in range(5)]
    assert len(provider._clients.made) == 1
