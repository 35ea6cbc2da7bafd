"""The ``openai`` provider: Chat Completions through the official ``openai`` SDK (DESIGN §14).

Any server that speaks the Chat Completions API can be the model — OpenAI itself, or vLLM,
Ollama, LiteLLM and the like through ``OPENAI_BASE_URL``. The SDK is imported when a provider
is built, never at module import, so ``goalctl --version`` stays fast. The key comes from
``OPENAI_API_KEY`` and never appears in a message, an exception or a repr of ours.

Each attempt is bounded in total by ``timeout_s`` (the SDK's own timeout bounds each read, so a
server that trickles its answer would otherwise hold a call for ever); the SDK retries an
attempt that runs out of time like any other timeout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from typing import TYPE_CHECKING, Any, cast

from goalctl.errors import ProviderError, UsageError
from goalctl.keys import read_key
from goalctl.providers.base import CompletionRequest, CompletionResponse, ProviderContext, Usage
from goalctl.providers.chat import (
    FINISH_REASONS,
    ChatFormatError,
    chat_messages,
    chat_tools,
    reply_blocks,
)
from goalctl.providers.options import resolve_options
from goalctl.providers.sdk import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    EVERY_CALL_STATUSES,
    OPTIONS,
    OVERLOADED_STATUSES,
    CappedRetryWaits,
    ClientShards,
    after_retries,
    quote,
    route_limit,
    without_credentials,
)

if TYPE_CHECKING:
    import httpx2
    import openai

    from goalctl.providers.limiter import AdaptiveLimit

    class _CappedClient(openai.AsyncOpenAI):
        longest_wait_s: float


DEFAULT_BASE_URL = "https://api.openai.com/v1"
MISSING_KEY = (
    "OPENAI_API_KEY is not set; export it, or run offline with --provider scripted or replay"
)


def create(context: ProviderContext) -> OpenAIProvider:
    """Build the provider for a scenario; raises :class:`UsageError` when there is no key."""
    api_key = read_key("OPENAI_API_KEY")
    if not api_key:
        raise UsageError(MISSING_KEY)
    options = resolve_options("openai", OPTIONS, context.options)
    base_url = os.environ.get("OPENAI_BASE_URL") or None
    return OpenAIProvider(
        api_key=api_key,
        base_url=base_url,
        max_retries=options["max_retries"],
        timeout_s=float(options["timeout_s"]),
        limit=route_limit(context, "openai", base_url or DEFAULT_BASE_URL),
    )


class OpenAIProvider:
    """A model behind the Chat Completions API. Build it with :func:`create`."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        import openai

        from goalctl.providers.limiter import DEFAULT_CEILING, AdaptiveLimit

        self.limit = limit or AdaptiveLimit(DEFAULT_CEILING)
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.base_url = without_credentials(base_url or DEFAULT_BASE_URL)
        self._api_key = api_key

        def client() -> _CappedClient:
            made = _client_class()(
                api_key=api_key,
                base_url=base_url or DEFAULT_BASE_URL,
                max_retries=max_retries,
                timeout=timeout_s,
                http_client=openai.DefaultAsyncHttpxClient(
                    transport=_deadline_transport(timeout_s, self.limit)
                ),
            )
            made.longest_wait_s = timeout_s
            return made

        self._clients = ClientShards(client, self.limit.ceiling)

    def __repr__(self) -> str:
        return (
            f"OpenAIProvider(base_url={self.base_url!r}, max_retries={self.max_retries}, "
            f"timeout_s={self.timeout_s})"
        )

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send one Chat Completions call (retried by the SDK) and return its text and usage."""
        import openai

        messages: Any = chat_messages(request)
        optional: dict[str, Any] = {}
        if request.stop:
            optional["stop"] = list(request.stop)
        if request.tools:
            optional["tools"] = chat_tools(request.tools)
        started = time.perf_counter()
        try:
            completion = await self._clients.next().chat.completions.create(
                model=request.model,
                messages=messages,
                max_completion_tokens=request.max_tokens,
                **optional,
            )
        except (openai.OpenAIError, json.JSONDecodeError, UnicodeDecodeError) as err:
            every_call = (
                isinstance(err, openai.APIStatusError) and err.status_code in EVERY_CALL_STATUSES
            )
            raise ProviderError(self._redact(self._describe(err)), every_call=every_call) from None
        return self._response(completion, time.perf_counter() - started)

    async def aclose(self) -> None:
        for client in self._clients.made:
            await client.close()

    def _response(self, completion: object, latency_s: float) -> CompletionResponse:
        """Read the reply defensively: the SDK does not validate what a server sends."""
        from openai.types.chat import ChatCompletion

        if not isinstance(completion, ChatCompletion):
            raise ProviderError(self._malformed(f"expected a chat completion, got {completion!r}"))
        choices: Any = getattr(completion, "choices", None)
        usage: Any = getattr(completion, "usage", None)
        if not isinstance(choices, list) or not choices:
            raise ProviderError(self._malformed("'choices' is empty or missing"))
        message: Any = getattr(choices[0], "message", None)
        content: Any = getattr(message, "content", None)
        if content is not None and not isinstance(content, str):
            raise ProviderError(self._malformed("'choices[0].message.content' is not text"))
        calls: Any = getattr(message, "tool_calls", None)
        try:
            text, blocks = reply_blocks(
                content, [call.model_dump() for call in calls] if isinstance(calls, list) else None
            )
        except (ChatFormatError, AttributeError) as exc:
            raise ProviderError(self._malformed(str(exc))) from None
        input_tokens: Any = getattr(usage, "prompt_tokens", None)
        output_tokens: Any = getattr(usage, "completion_tokens", None)
        if not (isinstance(input_tokens, int) and isinstance(output_tokens, int)):
            raise ProviderError(self._malformed("'usage' has no prompt_tokens/completion_tokens"))
        finish: Any = getattr(choices[0], "finish_reason", None)
        return CompletionResponse(
            text=text,
            model=str(getattr(completion, "model", "") or ""),
            stop_reason=FINISH_REASONS.get(finish, finish) if isinstance(finish, str) else None,
            usage=Usage(input_tokens, output_tokens),
            latency_s=latency_s,
            content=blocks,
        )

    def _describe(self, err: Exception) -> str:
        """A short message naming what failed and what to do, from an SDK exception."""
        import httpx2
        import openai

        after = after_retries(self.max_retries)
        if isinstance(err, openai.APIResponseValidationError):
            return self._malformed(err.message)
        if isinstance(err, openai.APIStatusError):
            code = err.status_code
            quoted = quote(_api_message(err))
            if isinstance(err, openai.RateLimitError):
                return f"openai: rate limited (429){after}; lower --concurrency or try later"
            if isinstance(err, openai.AuthenticationError):
                return "openai: authentication failed (401); check OPENAI_API_KEY"
            if isinstance(err, openai.PermissionDeniedError):
                return f"openai: permission denied (403): {quoted}; check the key's access"
            if isinstance(err, openai.NotFoundError):
                return f"openai: not found (404): {quoted}; check the model and OPENAI_BASE_URL"
            if code >= 500:
                return f"openai: server error ({code}){after}: {quoted}; try later"
            if code in (400, 413, 422):
                return f"openai: bad request ({code}): {quoted}"
            return f"openai: HTTP {code}{after}: {quoted}"
        if isinstance(err, openai.APITimeoutError):
            return (
                f"openai: request timed out ({self.timeout_s}s per attempt){after}; "
                "raise provider_options.timeout_s or try later"
            )
        if isinstance(err, openai.APIConnectionError):
            cause = quote(str(err.__cause__ or "") or type(err.__cause__).__name__)
            if isinstance(err.__cause__, httpx2.ConnectError):
                return f"openai: cannot connect to {self.base_url}{after}: {cause}"
            return f"openai: connection to {self.base_url} failed{after}: {cause}"
        if isinstance(err, ValueError):
            # A 200 whose body is not JSON (JSONDecodeError) or not UTF-8.
            return self._malformed(f"{type(err).__name__}: {err}")
        return f"openai: {type(err).__name__}: {quote(str(err))}"

    def _malformed(self, detail: str) -> str:
        return self._redact(f"openai: malformed response: {quote(detail)}")

    def _redact(self, text: str) -> str:
        """Defence in depth: no server or library text may carry the key into our messages."""
        return text.replace(self._api_key, "***") if self._api_key else text


@functools.cache
def _client_class() -> type[_CappedClient]:
    import openai

    class CappedClient(CappedRetryWaits, openai.AsyncOpenAI):
        """The SDK's client with goalctl's retry waits (:class:`CappedRetryWaits`)."""

    return cast("type[_CappedClient]", CappedClient)


def _api_message(err: Any) -> str:
    """The ``error.message`` of an API error body, else the SDK's own message."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(err, "message", "") or err)


def _deadline_transport(timeout_s: float, limit: AdaptiveLimit) -> httpx2.AsyncBaseTransport:
    """An httpx2 transport that bounds each attempt — headers and whole body — in total, and
    holds one of the route's slots for it (the SDK sleeps before a retry outside the slot).

    A deadline that passes becomes httpx2's ``ReadTimeout``, which the SDK retries and reports
    as a timeout like any other.
    """
    import httpx2

    class DeadlineTransport(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            try:
                async with limit.slot() as attempt:
                    async with asyncio.timeout(timeout_s):
                        response = await super().handle_async_request(request)
                        # Read the body inside the deadline; goalctl never streams calls.
                        await response.aread()
                    attempt.overloaded = response.status_code in OVERLOADED_STATUSES
                    attempt.answered = response.is_success
                    return response
            except TimeoutError:
                raise httpx2.ReadTimeout("the attempt ran out of time", request=request) from None

    return DeadlineTransport()
