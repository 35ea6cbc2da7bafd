"""The openai provider, through the real SDK over HTTP, against a local Chat Completions server.

The server (``tests/support/chat_server.py``) plays every failure the API can produce; it
answers retryable statuses with ``retry-after-ms: 1``, so the SDK's retries are real but fast.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goalctl.errors import ProviderError, UsageError
from goalctl.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Message,
    Provider,
    ProviderContext,
)
from goalctl.providers.openai import OpenAIProvider, create
from goalctl.providers.registry import create_provider
from tests.conftest import run_cli
from tests.support.chat_server import ChatServer
from tests.support.messages_server import (
    Delay,
    Malformed,
    Plan,
    Reply,
    Reset,
    Stall,
    Status,
    Trickle,
    closed_port_url,
)

KEY = "sk-openai-test-NOT-A-REAL-KEY-5678"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A running server, with the key and OPENAI_BASE_URL pointing the provider at it."""
    for name in (*PROXY_VARIABLES, "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ChatServer() as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        yield running


def ask(text: str = "What is 2 + 2?", **fields: Any) -> CompletionRequest:
    return CompletionRequest(model="gpt-test", messages=(Message("user", text),), **fields)


def provider(**options: Any) -> OpenAIProvider:
    return create(ProviderContext(Path("scenario.md"), "gpt-test", options=options))


def call(request: CompletionRequest | None = None, **options: Any) -> CompletionResponse:
    instance = provider(**options)

    async def go() -> CompletionResponse:
        try:
            return await instance.complete(request or ask())
        finally:
            await instance.aclose()

    return asyncio.run(go())


def failure(*plans: Plan, server: ChatServer, **options: Any) -> str:
    server.enqueue(*plans)
    with pytest.raises(ProviderError) as info:
        call(**options)
    return str(info.value)


# Success


def test_a_reply_gives_text_usage_model_and_stop_reason(server: ChatServer) -> None:
    server.enqueue(Reply(text="4", input_tokens=12, output_tokens=1, model="gpt-test-2099"))

    response = call()

    assert (response.text, response.model, response.stop_reason) == (
        "4",
        "gpt-test-2099",
        "end_turn",
    )
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 1)
    assert response.latency_s > 0


def test_the_request_is_sent_as_chat_completions_expects(server: ChatServer) -> None:
    call(ask(system="Be terse.", stop=("END",), max_tokens=64))

    (sent,) = server.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2 + 2?"},
        ],
        "max_completion_tokens": 64,
        "stop": ["END"],
    }
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_an_empty_system_prompt_and_no_stop_sequences_are_omitted(server: ChatServer) -> None:
    call(ask())

    assert set(server.requests[0].body) == {"model", "messages", "max_completion_tokens"}
    assert [m["role"] for m in server.requests[0].body["messages"]] == ["user"]


def test_a_conversation_keeps_its_roles(server: ChatServer) -> None:
    conversation = (Message("user", "first"), Message("assistant", "ok"), Message("user", "second"))

    response = call(CompletionRequest(model="gpt-test", messages=conversation))

    assert response.text == "echo: second"
    assert server.requests[0].body["messages"][1] == {"role": "assistant", "content": "ok"}


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [("max_tokens", "max_tokens"), ("tool_use", "tool_use"), ("content_filter", "refusal")],
)
def test_finish_reasons_use_the_report_vocabulary(
    server: ChatServer, finish: str, stop_reason: str
) -> None:
    server.enqueue(Reply(text="", stop_reason=finish))

    assert call().stop_reason == stop_reason


def test_the_registry_finds_the_provider(server: ChatServer) -> None:
    built = create_provider("openai", ProviderContext(Path("s.md"), "gpt-test"))

    assert isinstance(built, Provider)
    assert built.name == "openai"
    asyncio.run(built.aclose())


# Retries


def test_a_rate_limit_is_retried(server: ChatServer) -> None:
    server.enqueue(Status(429), Reply(text="after the limit"))

    assert call().text == "after the limit"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]


def test_server_errors_exhaust_the_retries(server: ChatServer) -> None:
    message = failure(*[Status(500, message="boom")] * 3, server=server, max_retries=2)

    assert message == "openai: server error (500) after 2 retries: boom; try later"
    assert len(server.requests) == 3


def test_an_exhausted_rate_limit_says_what_to_do(server: ChatServer) -> None:
    message = failure(Status(429), Status(429), server=server, max_retries=1)

    assert message == "openai: rate limited (429) after 1 retry; lower --concurrency or try later"


# Errors that are not retried


def test_a_bad_request_quotes_the_api_and_is_not_retried(server: ChatServer) -> None:
    message = failure(Status(400, message="Unsupported parameter: 'stop'"), server=server)

    assert message == "openai: bad request (400): Unsupported parameter: 'stop'"
    assert len(server.requests) == 1


def test_a_rejected_key_names_the_variable_not_the_key(server: ChatServer) -> None:
    message = failure(Status(401, message=f"Incorrect API key provided: {KEY}"), server=server)

    assert message == "openai: authentication failed (401); check OPENAI_API_KEY"
    assert len(server.requests) == 1


def test_an_unknown_model_says_where_to_look(server: ChatServer) -> None:
    message = failure(Status(404, message="The model `gpt-nope` does not exist"), server=server)

    assert message == (
        "openai: not found (404): The model `gpt-nope` does not exist; "
        "check the model and OPENAI_BASE_URL"
    )


def test_a_malformed_body_is_reported(server: ChatServer) -> None:
    message = failure(Malformed(b'{"choices": ['), server=server)

    assert message.startswith("openai: malformed response: JSONDecodeError: ")


def test_a_reply_without_choices_is_malformed(server: ChatServer) -> None:
    message = failure(Status(200, body={"object": "chat.completion", "choices": []}), server=server)

    assert message == "openai: malformed response: 'choices' is empty or missing"


def test_a_reply_without_token_counts_is_malformed(server: ChatServer) -> None:
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}
    message = failure(Status(200, body=body), server=server)

    assert message == "openai: malformed response: 'usage' has no prompt_tokens/completion_tokens"


def test_a_json_body_that_is_not_a_completion_is_malformed(server: ChatServer) -> None:
    message = failure(Status(200, body=[1, 2]), server=server)

    assert message.startswith("openai: malformed response: ")


# Timeouts and connections


def test_a_stalled_answer_times_out(server: ChatServer) -> None:
    message = failure(Stall(), server=server, timeout_s=0.3, max_retries=0)

    assert message == (
        "openai: request timed out (0.3s per attempt); raise provider_options.timeout_s or try later"
    )


def test_the_timeout_bounds_the_whole_attempt_not_each_read(server: ChatServer) -> None:
    started = time.perf_counter()
    message = failure(Trickle(0.05), server=server, timeout_s=0.5, max_retries=0)

    assert message.startswith("openai: request timed out (0.5s per attempt)")
    assert time.perf_counter() - started < 5


def test_a_timed_out_attempt_is_retried(server: ChatServer) -> None:
    server.enqueue(Delay(5, then=Reply(text="late")), Reply(text="in time"))

    assert call(timeout_s=0.3).text == "in time"


def test_a_refused_connection_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    url = closed_port_url()
    monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")

    with pytest.raises(ProviderError) as info:
        call(max_retries=0)

    assert str(info.value).startswith(f"openai: cannot connect to {url}/v1: ")


def test_a_reset_connection_is_retried(server: ChatServer) -> None:
    server.enqueue(Reset(), Reply(text="after the reset"))

    assert call().text == "after the reset"


# Keys and settings


def test_a_key_with_whitespace_inside_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY[:10] + " " + KEY[10:])

    with pytest.raises(UsageError) as info:
        provider()

    assert str(info.value).startswith("OPENAI_API_KEY has whitespace")
    assert KEY[10:] not in str(info.value)


def test_a_missing_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  ")

    with pytest.raises(UsageError, match="OPENAI_API_KEY is not set"):
        provider()


def test_the_repr_shows_settings_and_never_the_key(server: ChatServer) -> None:
    text = repr(provider(max_retries=1, timeout_s=2))

    assert text == (f"OpenAIProvider(base_url={server.base_url!r}, max_retries=1, timeout_s=2.0)")
    assert KEY not in text


def test_a_base_url_with_credentials_is_shown_without_them(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url.replace("http://", "http://user:pw@"))

    assert "user:pw" not in repr(provider())


@pytest.mark.parametrize(
    "plan",
    [
        Status(400, message=f"bad {KEY}"),
        Status(403, message=f"denied {KEY}"),
        Status(500, message=KEY),
    ],
)
def test_no_error_message_carries_the_key(server: ChatServer, plan: Plan) -> None:
    message = failure(plan, server=server, max_retries=0)

    assert KEY not in message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "openai: provider_options.max_retries: must be at least 0, got -1"),
        ({"max_retries": 11}, "openai: provider_options.max_retries: must be at most 10, got 11"),
        ({"timeout_s": 0}, "openai: provider_options.timeout_s: must be at least 0.1, got 0"),
        # A file must not make goalctl wait for hours, nor have an option silently ignored.
        (
            {"timeout_s": 86400},
            "openai: provider_options.timeout_s: must be at most 600, got 86400",
        ),
        (
            {"max_retry": 3},
            "openai: provider_options.max_retry: unknown key 'max_retry' "
            "(did you mean 'max_retries'?)",
        ),
    ],
)
def test_bad_settings_are_usage_errors(
    server: ChatServer, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        provider(**options)

    assert str(info.value) == message


def test_the_options_are_declared_for_validate() -> None:
    from goalctl.providers.options import declared_options

    schema = declared_options("openai")

    assert schema is not None
    assert sorted(schema) == ["max_retries", "timeout_s"]


def test_a_key_with_a_line_break_inside_is_refused_without_echoing_it(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-first-half\nsecond-half")

    with pytest.raises(UsageError) as info:
        provider()

    assert "OPENAI_API_KEY has whitespace" in str(info.value)
    assert "half" not in str(info.value)


@pytest.mark.parametrize("code", [400, 401, 403, 404])
def test_errors_every_call_would_meet_stop_the_run(server: ChatServer, code: int) -> None:
    server.enqueue(Status(code, message="no"))

    with pytest.raises(ProviderError) as info:
        call(max_retries=0)

    assert info.value.every_call is True


@pytest.mark.parametrize("code", [429, 500])
def test_errors_of_one_call_do_not_stop_the_run(server: ChatServer, code: int) -> None:
    server.enqueue(Status(code, message="busy"))

    with pytest.raises(ProviderError) as info:
        call(max_retries=0)

    assert info.value.every_call is False


def test_a_long_retry_after_is_capped_by_the_call_timeout(server: ChatServer) -> None:
    # The SDK honours a retry-after of up to two minutes; goalctl caps every wait between
    # attempts at the call's timeout, so a hostile or confused server cannot park a run.
    server.enqueue(Status(429, headers={"retry-after": "100"}), Reply(text="later"))

    started = time.perf_counter()
    response = call(timeout_s=0.5, max_retries=1)

    assert response.text == "later"
    assert time.perf_counter() - started < 5
    assert len(server.requests) == 2


def test_openai_models_have_list_prices() -> None:
    from goalctl.config.prices import PriceTable

    prices = PriceTable.for_run()

    assert prices.price_of("gpt-4o-2024-08-06") == prices.price_of("gpt-4o")
    assert prices.price_of("gpt-4o-mini") != prices.price_of("gpt-4o")
    for model in ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o3-mini", "o4-mini"):
        assert prices.price_of(model) is not None, model


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, goalctl.providers.openai; print('openai' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "False"


# Tools


def test_tool_calls_come_back_as_tool_use_blocks(server: ChatServer) -> None:
    call_block = {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"id": "A7"}}
    server.enqueue(Reply(text="", content=[call_block], stop_reason="tool_use"))
    tool = {"name": "lookup", "description": "Find", "input_schema": {"type": "object"}}

    response = call(ask(tools=(tool,)))

    assert response.stop_reason == "tool_use"
    assert response.tool_calls == (call_block,)
    assert server.requests[0].body["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "Find", "parameters": {"type": "object"}},
        }
    ]


def test_tool_results_are_sent_as_tool_messages(server: ChatServer) -> None:
    call_block = {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"id": "A7"}}
    result = {"type": "tool_result", "tool_use_id": "call_1", "content": "shipped"}
    conversation = (
        Message("user", "Where is A7?"),
        Message("assistant", (call_block,)),
        Message("user", (result,)),
    )

    call(CompletionRequest(model="gpt-test", messages=conversation))

    assert server.requests[0].body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"id": "A7"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
    ]


def test_validate_checks_the_options_with_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "id: s\nname: S\ndescription: S.\nprovider: openai\nmodel: gpt-test\n"
        "provider_options: {max_retry: 3, timeout_s: 86400}\n"
        "success_criteria: [{id: a, description: A, metric: output_contains, target: a}]\n"
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        f"{path}:6:20: provider_options.max_retry: unknown key 'max_retry' "
        "(did you mean 'max_retries'?)",
        f"{path}:6:45: provider_options.timeout_s: must be at most 600, got 86400",
    ]
