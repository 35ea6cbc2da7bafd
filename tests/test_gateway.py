"""The model gateway, with the real anthropic and openai SDKs as its clients (DESIGN §11).

A fake :class:`Session` stands where the runner's metered provider route will: it records
every neutral request and answers from a plan, so each test shows what the agent's SDK sent,
what the session saw, and what the SDK made of the answer — streaming and not.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import pytest

from goalctl.errors import ProviderError
from goalctl.gateway import Gateway, WireError
from goalctl.providers.base import CompletionRequest, CompletionResponse, Usage

TOOL_CALL = {"type": "tool_use", "id": "toolu_01", "name": "lookup_order", "input": {"id": "A7"}}
TOOL = {
    "name": "lookup_order",
    "description": "Find an order",
    "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}},
}


@dataclass
class FakeSession:
    """Answers each call with the next planned reply (a response, or an exception to raise)."""

    case: str | None = "case-1"
    plan: list[CompletionResponse | Exception] = field(default_factory=list)
    seen: list[CompletionRequest] = field(default_factory=list)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.seen.append(request)
        answer = self.plan.pop(0) if self.plan else text_reply(f"echo: {request.last_user_message}")
        if isinstance(answer, Exception):
            raise answer
        return answer


def text_reply(text: str, **fields: Any) -> CompletionResponse:
    return CompletionResponse(text=text, model="model-x", usage=Usage(11, 3), **fields)


def tool_reply(text: str = "") -> CompletionResponse:
    blocks = ({"type": "text", "text": text},) if text else ()
    return CompletionResponse(
        text=text,
        model="model-x",
        stop_reason="tool_use",
        usage=Usage(20, 7),
        content=(*blocks, TOOL_CALL),
    )


def with_gateway(
    body: Callable[[Gateway, FakeSession, str], Awaitable[Any]], session: FakeSession | None = None
) -> Any:
    """Run ``body(gateway, session, key)`` with a started gateway, closed afterwards."""
    session = session or FakeSession()

    async def go() -> Any:
        async with Gateway() as gateway:
            return await body(gateway, session, gateway.open(session))

    return asyncio.run(go())


def claude(gateway: Gateway, key: str, **options: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=key, base_url=gateway.url, **options)


def gpt(gateway: Gateway, key: str, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=f"{gateway.url}/v1", **options)


ASK = [{"role": "user", "content": "Where is order A7?"}]


# The Anthropic Messages API


def test_a_messages_call_is_served_by_the_session() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = claude(gateway, key)
        message = await client.messages.create(
            model="claude-x", max_tokens=50, system="Be brief.", messages=ASK
        )
        await client.close()
        return message

    session = FakeSession()
    message = with_gateway(body, session)

    assert message.content[0].text == "echo: Where is order A7?"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 3)
    (seen,) = session.seen
    assert (seen.model, seen.system, seen.max_tokens, seen.case) == (
        "claude-x",
        "Be brief.",
        50,
        "case-1",
    )


def test_a_streamed_messages_call_arrives_event_by_event() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = claude(gateway, key)
        kinds = []
        async with client.messages.stream(model="claude-x", max_tokens=50, messages=ASK) as stream:
            async for event in stream:
                kinds.append(event.type)
            final = await stream.get_final_message()
        await client.close()
        return kinds, final

    kinds, final = with_gateway(body, FakeSession(plan=[text_reply("All good.")]))

    assert final.content[0].text == "All good."
    assert final.usage.output_tokens == 3
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_and_its_result_cross_the_gateway(stream: bool) -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = claude(gateway, key)
        if stream:
            async with client.messages.stream(
                model="claude-x", max_tokens=50, messages=ASK, tools=[TOOL]
            ) as s:
                first = await s.get_final_message()
        else:
            first = await client.messages.create(
                model="claude-x", max_tokens=50, messages=ASK, tools=[TOOL]
            )
        call = first.content[-1]
        follow_up = [
            *ASK,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "shipped"}],
            },
        ]
        second = await client.messages.create(model="claude-x", max_tokens=50, messages=follow_up)
        await client.close()
        return first, second

    session = FakeSession(plan=[tool_reply("Let me look."), text_reply("It has shipped.")])
    first, second = with_gateway(body, session)

    assert first.stop_reason == "tool_use"
    assert [b.type for b in first.content] == ["text", "tool_use"]
    assert (first.content[1].name, first.content[1].input) == ("lookup_order", {"id": "A7"})
    assert second.content[0].text == "It has shipped."
    assert session.seen[0].tools == (TOOL,)
    result = session.seen[1].messages[-1].content[0]
    assert result == {"type": "tool_result", "tool_use_id": "toolu_01", "content": "shipped"}


# The OpenAI Chat Completions API


def test_a_chat_completion_is_served_by_the_session() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = gpt(gateway, key)
        completion = await client.chat.completions.create(
            model="gpt-x",
            messages=[{"role": "system", "content": "Be brief."}, *ASK],
            max_completion_tokens=40,
        )
        await client.close()
        return completion

    session = FakeSession()
    completion = with_gateway(body, session)

    assert completion.choices[0].message.content == "echo: Where is order A7?"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 3)
    (seen,) = session.seen
    assert (seen.model, seen.system, seen.max_tokens) == ("gpt-x", "Be brief.", 40)


def test_a_streamed_chat_completion_ends_with_usage_and_done() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = gpt(gateway, key)
        stream = await client.chat.completions.create(
            model="gpt-x", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
        await client.close()
        return chunks

    chunks = with_gateway(body, FakeSession(plan=[text_reply("Shipped.")]))

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Shipped."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_calls_and_results_cross_the_gateway(stream: bool) -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = gpt(gateway, key)
        tools = [{"type": "function", "function": {**TOOL, "parameters": TOOL["input_schema"]}}]
        for spec in tools:
            spec["function"].pop("input_schema")
        if stream:
            chunks = [
                c
                async for c in await client.chat.completions.create(
                    model="gpt-x", messages=ASK, tools=tools, stream=True
                )
            ]
            deltas = [d for c in chunks for d in (c.choices[0].delta.tool_calls or [])]
            call = {
                "id": deltas[0].id,
                "name": deltas[0].function.name,
                "arguments": "".join(d.function.arguments or "" for d in deltas),
            }
            finish = chunks[-1].choices[0].finish_reason
        else:
            first = await client.chat.completions.create(model="gpt-x", messages=ASK, tools=tools)
            tool_call = first.choices[0].message.tool_calls[0]
            call = {
                "id": tool_call.id,
                "name": tool_call.function.name,
                "arguments": tool_call.function.arguments,
            }
            finish = first.choices[0].finish_reason
        follow_up = [
            *ASK,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call["id"], "content": "shipped"},
        ]
        second = await client.chat.completions.create(model="gpt-x", messages=follow_up)
        await client.close()
        return call, finish, second

    session = FakeSession(plan=[tool_reply(), text_reply("It has shipped.")])
    call, finish, second = with_gateway(body, session)

    assert (call["id"], call["name"], json.loads(call["arguments"])) == (
        "toolu_01",
        "lookup_order",
        {"id": "A7"},
    )
    assert finish == "tool_calls"
    assert second.choices[0].message.content == "It has shipped."
    assert session.seen[0].tools == (TOOL,)
    assistant, results = session.seen[1].messages[-2:]
    assert assistant.content == (TOOL_CALL,)
    assert results.content == (
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "shipped"},
    )


# Refusals


def test_a_key_the_gateway_did_not_issue_is_refused_once() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        errors = []
        for client in (claude(gateway, "sk-guessed"), gpt(gateway, "sk-guessed")):
            try:
                if isinstance(client, anthropic.AsyncAnthropic):
                    await client.messages.create(model="m", max_tokens=5, messages=ASK)
                else:
                    await client.chat.completions.create(model="m", messages=ASK)
            except (anthropic.AuthenticationError, openai.AuthenticationError) as exc:
                errors.append(exc.status_code)
            await client.close()
        return errors

    session = FakeSession()

    assert with_gateway(body, session) == [401, 401]
    assert session.seen == []


def test_a_closed_key_is_refused() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        gateway.close(key)
        client = claude(gateway, key)
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(model="m", max_tokens=5, messages=ASK)
        await client.close()

    with_gateway(body)


def test_a_refusal_names_its_reason_and_is_not_retried() -> None:
    refusal = WireError(400, "goalctl: hard constraint `cost-budget` violated: cost_usd <= 0.01")

    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = claude(gateway, key, max_retries=3)
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.create(model="m", max_tokens=5, messages=ASK)
        await client.close()
        return str(info.value)

    session = FakeSession(plan=[refusal, text_reply("never sent")])
    message = with_gateway(body, session)

    assert "hard constraint `cost-budget` violated" in message
    assert len(session.seen) == 1


def test_a_provider_failure_is_a_server_error_the_sdk_does_not_retry() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        client = gpt(gateway, key, max_retries=3)
        with pytest.raises(openai.APIStatusError) as info:
            await client.chat.completions.create(model="m", messages=ASK)
        await client.close()
        return info.value.status_code, str(info.value)

    session = FakeSession(plan=[ProviderError("anthropic: overloaded (529) after 4 retries")])
    status, message = with_gateway(body, session)

    assert status == 502
    assert "overloaded (529)" in message
    assert len(session.seen) == 1


@pytest.mark.parametrize(
    ("path", "payload", "reason"),
    [
        ("/v1/messages", {"model": "m", "max_tokens": 5}, "messages: Field required"),
        ("/v1/messages", {"model": "m", "messages": [{"role": "robot"}]}, "messages.0.role"),
        ("/v1/chat/completions", {"model": "m", "messages": []}, "messages: must be a non-empty"),
        ("/v1/chat/completions", {"messages": ASK}, "you must provide a model"),
        ("/v1/messages", "[" * 100 + "]" * 100, "nested too deeply"),
    ],
)
def test_a_malformed_body_is_a_bad_request(path: str, payload: Any, reason: str) -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        import aiohttp

        data = payload if isinstance(payload, str) else json.dumps(payload)
        async with (
            aiohttp.ClientSession() as http,
            http.post(gateway.url + path, data=data, headers={"x-api-key": key}) as response,
        ):
            return response.status, await response.json()

    status, answer = with_gateway(body)

    assert status == 400
    assert reason in json.dumps(answer)


def test_the_gateway_listens_on_loopback_only() -> None:
    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        return gateway.url, gateway.environment(key)

    url, environment = with_gateway(body)

    host, port = url.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    assert environment == {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": environment["ANTHROPIC_API_KEY"],
        "OPENAI_BASE_URL": f"{url}/v1",
        "OPENAI_API_KEY": environment["ANTHROPIC_API_KEY"],
    }
    assert environment["ANTHROPIC_API_KEY"].startswith("gk-")
    with socket.socket() as probe:
        # Closed with the gateway: nothing listens there any more.
        assert probe.connect_ex(("127.0.0.1", int(port))) != 0


def test_concurrent_cases_are_served_by_their_own_sessions() -> None:
    first, second = FakeSession(case="a"), FakeSession(case="b")

    async def go() -> list[str]:
        async with Gateway() as gateway:
            keys = {gateway.open(first): "a", gateway.open(second): "b"}

            async def ask(key: str) -> str:
                client = claude(gateway, key)
                try:
                    reply = await client.messages.create(
                        model="m", max_tokens=5, messages=[{"role": "user", "content": keys[key]}]
                    )
                finally:
                    await client.close()
                return str(reply.content[0].text)

            return await asyncio.gather(*(ask(k) for k in keys for _ in range(5)))

    replies = asyncio.run(go())

    assert sorted(replies) == ["echo: a"] * 5 + ["echo: b"] * 5
    assert [r.last_user_message for r in first.seen] == ["a"] * 5
    assert [r.last_user_message for r in second.seen] == ["b"] * 5


def test_a_body_over_the_limit_is_refused_before_any_call() -> None:
    from goalctl.gateway.server import MAX_BODY_BYTES

    async def body(gateway: Gateway, session: FakeSession, key: str) -> Any:
        import aiohttp

        data = io.BytesIO(b"x" * (MAX_BODY_BYTES + 1))
        async with (
            aiohttp.ClientSession() as http,
            http.post(gateway.url + "/v1/messages", data=data, headers={"x-api-key": key}) as r,
        ):
            return r.status, await r.json(), r.headers.get("x-should-retry")

    session = FakeSession()
    status, answer, retry = with_gateway(body, session)

    assert (status, retry) == (413, "false")
    assert "request body over" in answer["error"]["message"]
    assert session.seen == []
