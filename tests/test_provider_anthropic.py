"""The anthropic provider, through the real SDK over HTTP, against a local Messages API server.

Every failure the API can produce (DESIGN §8) is played by ``tests/support/messages_server.py``:
rate limits, overload, server errors, timeouts, refused and reset connections, broken bodies.
The server answers retryable statuses with ``retry-after-ms: 1``, so the SDK's retries are real
but take a millisecond instead of its 0.5-8 s backoff.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goalctl.errors import ProviderError, UsageError
from goalctl.providers.anthropic import AnthropicProvider, create
from goalctl.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Message,
    Provider,
    ProviderContext,
)
from tests.support.messages_server import (
    Delay,
    Malformed,
    MessagesServer,
    Plan,
    Reply,
    Reset,
    Stall,
    Status,
    Trickle,
    closed_port_url,
)

KEY = "sk-test-NOT-A-REAL-KEY-1234"
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    """A running server, with the key and ANTHROPIC_BASE_URL pointing the provider at it."""
    for name in (*PROXY_VARIABLES, "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def ask(text: str = "What is 2 + 2?", **fields: Any) -> CompletionRequest:
    return CompletionRequest(model="claude-test", messages=(Message("user", text),), **fields)


def provider(**options: Any) -> AnthropicProvider:
    return create(ProviderContext(Path("scenario.md"), "claude-test", options=options))


def call(request: CompletionRequest | None = None, **options: Any) -> CompletionResponse:
    """One ``complete`` on a fresh provider, closed afterwards."""
    instance = provider(**options)

    async def go() -> CompletionResponse:
        try:
            return await instance.complete(request or ask())
        finally:
            await instance.aclose()

    return asyncio.run(go())


def failure(*plans: Plan, server: MessagesServer, **options: Any) -> str:
    """The ProviderError message of a call answered by ``plans``."""
    server.enqueue(*plans)
    with pytest.raises(ProviderError) as info:
        call(**options)
    return str(info.value)


# Success


def test_a_reply_gives_text_usage_model_and_stop_reason(server: MessagesServer) -> None:
    server.enqueue(Reply(text="4", input_tokens=12, output_tokens=1, model="claude-test-20991231"))

    response = call()

    assert (response.text, response.model, response.stop_reason) == (
        "4",
        "claude-test-20991231",
        "end_turn",
    )
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 1)
    assert response.latency_s > 0


def test_the_request_is_sent_as_the_messages_api_expects(server: MessagesServer) -> None:
    call(ask(system="Be terse.", stop=("END",), max_tokens=64, temperature=0.0))

    (sent,) = server.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    # No temperature: SDK 2.x sends API version 2026-10-21, which refuses it with 400.
    assert sent.body == {
        "model": "claude-test",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "system": "Be terse.",
        "stop_sequences": ["END"],
    }
    # SDK 2.x sends the key as a bearer token, not as x-api-key.
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in sent.headers
    assert sent.headers["anthropic-version"] == "2026-10-21"


def test_an_empty_system_prompt_and_no_stop_sequences_are_omitted(server: MessagesServer) -> None:
    call(ask())

    assert set(server.requests[0].body) == {"model", "max_tokens", "messages"}


def test_the_default_responder_echoes_the_last_user_message(server: MessagesServer) -> None:
    conversation = (Message("user", "first"), Message("assistant", "ok"), Message("user", "second"))

    response = call(CompletionRequest(model="claude-test", messages=conversation))

    assert response.text == "echo: second"
    assert server.requests[0].body["messages"][1] == {"role": "assistant", "content": "ok"}


def test_a_reply_without_text_blocks_has_empty_text(server: MessagesServer) -> None:
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {}}
    server.enqueue(Reply(content=[tool_use], stop_reason="tool_use"))

    response = call()

    assert (response.text, response.stop_reason) == ("", "tool_use")


def test_text_blocks_are_concatenated(server: MessagesServer) -> None:
    blocks = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]
    server.enqueue(Reply(content=blocks))

    assert call().text == "Hello, world"


# Retries


def test_a_rate_limit_is_retried(server: MessagesServer) -> None:
    server.enqueue(Status(429), Reply(text="after the limit"))

    assert call().text == "after the limit"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]


def test_an_overload_is_retried(server: MessagesServer) -> None:
    server.enqueue(Status(529), Status(529), Reply(text="busy no more"))

    assert call().text == "busy no more"
    assert len(server.requests) == 3


def test_latency_includes_the_retries(server: MessagesServer) -> None:
    server.enqueue(Delay(0.1, then=Status(429)), Reply())

    assert call().latency_s >= 0.1


def test_server_errors_exhaust_the_retries(server: MessagesServer) -> None:
    message = failure(*[Status(500, message="Internal server error")] * 5, server=server)

    assert (
        message == "anthropic: server error (500) after 4 retries: Internal server error; try later"
    )
    assert len(server.requests) == 5


def test_an_exhausted_rate_limit_says_what_to_do(server: MessagesServer) -> None:
    message = failure(Status(429), Status(429), server=server, max_retries=1)

    assert (
        message == "anthropic: rate limited (429) after 1 retry; lower --concurrency or try later"
    )


def test_an_exhausted_overload_says_so(server: MessagesServer) -> None:
    message = failure(Status(529), Status(529), Status(529), server=server, max_retries=2)

    assert message == "anthropic: overloaded (529) after 2 retries; the API is busy, try later"


def test_a_huge_retry_after_is_capped_by_the_call_timeout(server: MessagesServer) -> None:
    # The SDK would honour "retry-after: 999999" (eleven days); goalctl caps every wait between
    # attempts at the call's timeout, so a hostile or confused server cannot park a run.
    server.enqueue(Status(429, headers={"retry-after": "999999"}), Reply(text="later"))
    instance = provider(timeout_s=0.5, max_retries=1)

    async def go() -> CompletionResponse:
        try:
            return await asyncio.wait_for(instance.complete(ask()), timeout=10)
        finally:
            await instance.aclose()

    started = time.perf_counter()
    response = asyncio.run(go())

    assert response.text == "later"
    assert time.perf_counter() - started < 5
    assert len(server.requests) == 2


# Errors that are not retried


def test_a_bad_request_quotes_the_api_and_is_not_retried(server: MessagesServer) -> None:
    message = failure(Status(400, message="messages.0.content: Field required"), server=server)

    assert message == "anthropic: bad request (400): messages.0.content: Field required"
    assert len(server.requests) == 1


def test_a_rejected_key_names_the_variable_not_the_key(server: MessagesServer) -> None:
    message = failure(Status(401, message=f"invalid x-api-key {KEY}"), server=server)

    assert message == "anthropic: authentication failed (401); check ANTHROPIC_API_KEY"
    assert len(server.requests) == 1


def test_a_malformed_body_is_reported_and_not_retried(server: MessagesServer) -> None:
    message = failure(Malformed(b'{"type": "message", "content": ['), server=server)

    assert message == (
        "anthropic: malformed response: JSONDecodeError: Expecting value: line 1 column 33 (char 32)"
    )
    assert len(server.requests) == 1


def test_a_json_body_that_is_not_a_message_is_malformed(server: MessagesServer) -> None:
    message = failure(Status(200, body={"type": "message", "usage": {}}), server=server)

    assert message == "anthropic: malformed response: 'content' is not a list of blocks"


def test_a_reply_without_token_counts_is_malformed(server: MessagesServer) -> None:
    message = failure(Status(200, body={"type": "message", "content": []}), server=server)

    assert message == "anthropic: malformed response: 'usage' has no input_tokens/output_tokens"


# Timeouts and connections


def test_a_stalled_answer_times_out(server: MessagesServer) -> None:
    message = failure(Stall(), server=server, timeout_s=0.2, max_retries=0)

    assert message == (
        "anthropic: request timed out (0.2s per attempt); raise provider_options.timeout_s or try later"
    )


def test_the_timeout_bounds_the_whole_attempt_not_each_read(server: MessagesServer) -> None:
    # One byte every 10 ms: no read waits 0.2 s, yet the body takes seconds.
    message = failure(Trickle(0.01), server=server, timeout_s=0.2, max_retries=0)

    assert message.startswith("anthropic: request timed out (0.2s per attempt);")


def test_a_timed_out_attempt_is_retried(server: MessagesServer) -> None:
    server.enqueue(Stall(), Reply(text="second try"))

    assert call(timeout_s=0.2, max_retries=1).text == "second try"


def test_a_refused_connection_names_the_url(
    server: MessagesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)

    with pytest.raises(ProviderError) as info:
        call(max_retries=0)

    assert str(info.value).startswith(f"anthropic: cannot connect to {url}: ")


def test_a_reset_connection_is_retried(server: MessagesServer) -> None:
    server.enqueue(Reset(), Reply(text="reconnected"))

    assert call(max_retries=1).text == "reconnected"
    assert len(server.requests) == 2


def test_reset_connections_exhaust_the_retries(server: MessagesServer) -> None:
    message = failure(Reset(), Reset(), server=server, max_retries=1)

    assert message.startswith(f"anthropic: connection to {server.url} failed after 1 retry: ")


def test_a_hundred_calls_are_in_flight_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with MessagesServer(latency=0.2) as slow:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", slow.url)
        instance = provider()

        async def go() -> list[CompletionResponse]:
            try:
                return await asyncio.gather(*(instance.complete(ask(f"q{i}")) for i in range(100)))
            finally:
                await instance.aclose()

        started = time.perf_counter()
        responses = asyncio.run(go())
        elapsed = time.perf_counter() - started

    assert [r.text for r in responses] == [f"echo: q{i}" for i in range(100)]
    # A sanity bound, far above the ~0.4 s this takes: one at a time would take 20 s.
    assert elapsed < 5


# The key and the settings


def test_a_missing_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "  ")

    with pytest.raises(UsageError) as info:
        provider()

    assert str(info.value) == (
        "ANTHROPIC_API_KEY is not set; export it, or run offline with --provider scripted or replay"
    )


def test_the_repr_shows_settings_and_never_the_key(server: MessagesServer) -> None:
    instance = provider(max_retries=2, timeout_s=5)
    try:
        text = repr(instance)
    finally:
        asyncio.run(instance.aclose())

    assert isinstance(instance, Provider)
    assert text == f"AnthropicProvider(base_url='{server.url}', max_retries=2, timeout_s=5.0)"
    assert KEY not in text


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(Status(400, message=f"bad key {KEY}"), id="400"),
        pytest.param(Status(401, message=f"invalid key {KEY}"), id="401"),
        pytest.param(Status(403, message=f"key {KEY} has no access"), id="403"),
        pytest.param(Status(404, message=f"no model for {KEY}"), id="404"),
        pytest.param(Status(418, message=f"teapot {KEY}"), id="418"),
        pytest.param(Status(429, message=KEY), id="429"),
        pytest.param(Status(500, message=f"crashed on {KEY}"), id="500"),
        pytest.param(Status(529, message=KEY), id="529"),
        pytest.param(Malformed(f'{{"echo": "{KEY}"'.encode()), id="malformed-json"),
        pytest.param(
            Status(200, body=f"not a message: {KEY}", headers={"content-type": "text/plain"}),
            id="text-body",
        ),
    ],
)
def test_no_error_message_carries_the_key(server: MessagesServer, plan: Plan) -> None:
    message = failure(plan, server=server, max_retries=0)

    assert message.startswith("anthropic: ")
    assert KEY not in message


def test_a_quoted_key_is_masked(server: MessagesServer) -> None:
    message = failure(Status(400, message=f"unknown key {KEY}"), server=server)

    assert message == "anthropic: bad request (400): unknown key ***"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "provider_options.max_retries: must be at least 0, got -1"),
        (
            {"max_retries": "3"},
            "provider_options.max_retries: expected an integer, got '3' (string)",
        ),
        (
            {"max_retries": True},
            "provider_options.max_retries: expected an integer, got true (boolean)",
        ),
        (
            {"max_retries": 1000000},
            "provider_options.max_retries: must be at most 10, got 1000000",
        ),
        ({"timeout_s": 0}, "provider_options.timeout_s: must be at least 0.1, got 0"),
        ({"timeout_s": 999999}, "provider_options.timeout_s: must be at most 600, got 999999"),
        (
            {"timeout_s": "1m"},
            "provider_options.timeout_s: expected a number, got '1m' (string)",
        ),
        (
            {"timeuot_s": 5},
            "provider_options.timeuot_s: unknown key 'timeuot_s' (did you mean 'timeout_s'?)",
        ),
    ],
)
def test_bad_settings_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], message: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    with pytest.raises(UsageError) as info:
        provider(**options)

    assert str(info.value) == f"anthropic: {message}"


def test_importing_the_module_does_not_import_the_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import goalctl.providers.anthropic"],
        capture_output=True,
        text=True,
        check=True,
    )

    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "goalctl.providers.anthropic" in imported
    assert not {name for name in imported if name.split(".")[0] in {"anthropic", "httpx2"}}


# The test server itself


def test_the_server_refuses_what_the_api_refuses(server: MessagesServer) -> None:
    def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(server.url + path, data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)

    valid = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}

    assert post("/v1/other", valid)[0] == 404
    assert post("/v1/messages", {**valid, "max_tokens": None}) == (
        400,
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        },
    )
    assert post("/v1/messages", {**valid, "temperature": 1.0})[1]["error"]["message"] == (
        "temperature: Extra inputs are not permitted"
    )
    assert post("/v1/messages", valid)[1]["content"] == [{"type": "text", "text": "echo: hi"}]


def test_tool_use_blocks_and_tools_cross_the_provider(server: MessagesServer) -> None:
    call_block = {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {"x": 1}}
    server.enqueue(
        Reply(content=[{"type": "text", "text": "Let me."}, call_block], stop_reason="tool_use")
    )
    tool = {"name": "calc", "description": "Add", "input_schema": {"type": "object"}}

    response = call(ask(tools=(tool,)))

    assert response.text == "Let me."
    assert response.tool_calls == (call_block,)
    assert response.blocks == ({"type": "text", "text": "Let me."}, call_block)
    assert server.requests[0].body["tools"] == [tool]
