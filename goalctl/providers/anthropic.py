"""The ``anthropic`` provider: Claude through the official SDK, with its retries and timeouts.

The SDK (and httpx2 under it) is imported when a provider is built, never at module import, so
``goalctl --version`` stays fast (DESIGN §9). The key comes from ``ANTHROPIC_API_KEY``, is handed
to the SDK and never appears in a message, an exception or a repr of ours (DESIGN §10).

SDK 2.x speaks API version 2026-10-21, which rejects ``temperature`` (even at its default) with
400, and has no parameter for it; so ``CompletionRequest.temperature`` is not sent. It still
keys cassettes, so a recorded run and its replay agree.
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
from goalctl.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Message,
    ProviderContext,
    Usage,
    content_json,
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
    import anthropic
    from anthropic.types import MessageParam

    from goalctl.providers.limiter import AdaptiveLimit

    class _CappedClient(anthropic.AsyncAnthropic):
        longest_wait_s: float


DEFAULT_BASE_URL = "https://api.anthropic.com"
MISSING_KEY = (
    "ANTHROPIC_API_KEY is not set; export it, or run offline with --provider scripted or replay"
)


def create(context: ProviderContext) -> AnthropicProvider:
    """Build the provider for a scenario; raises :class:`UsageError` when there is no key."""
    api_key = read_key("ANTHROPIC_API_KEY")
    if not api_key:
        raise UsageError(MISSING_KEY)
    options = resolve_options("anthropic", OPTIONS, context.options)
    base_url = os.environ.get("ANTHROPIC_BASE_URL") or None
    return AnthropicProvider(
        api_key=api_key,
        base_url=base_url,
        max_retries=options["max_retries"],
        timeout_s=float(options["timeout_s"]),
        limit=route_limit(context, "anthropic", base_url or DEFAULT_BASE_URL),
    )


class AnthropicProvider:
    """Claude over the Messages API. Build it with :func:`create`; close it with ``aclose``."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        from goalctl.providers.limiter import DEFAULT_CEILING, AdaptiveLimit

        self.limit = limit or AdaptiveLimit(DEFAULT_CEILING)
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.base_url = without_credentials(base_url or DEFAULT_BASE_URL)
        options: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url or DEFAULT_BASE_URL,
            "max_retries": max_retries,
            # httpx2 times each read separately; the middleware bounds the whole attempt.
            "timeout": timeout_s,
            # Outermost first: an attempt holds a slot, its deadline runs inside the slot (the
            # wait for a slot is no attempt), and the SDK sleeps before a retry outside both.
            "middleware": [_in_slot(self.limit), _attempt_deadline(timeout_s)],
        }

        def client() -> _CappedClient:
            made = _client_class()(**options)
            made.longest_wait_s = timeout_s
            return made

        self._clients = ClientShards(client, self.limit.ceiling)

    def __repr__(self) -> str:
        return (
            f"AnthropicProvider(base_url={self.base_url!r}, max_retries={self.max_retries}, "
            f"timeout_s={self.timeout_s})"
        )

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Send one Messages API call (retried by the SDK) and return its text and usage."""
        import anthropic

        optional: dict[str, Any] = {}
        if request.system:
            optional["system"] = request.system
        if request.stop:
            optional["stop_sequences"] = list(request.stop)
        if request.tools:
            optional["tools"] = [dict(tool) for tool in request.tools]
        started = time.perf_counter()
        try:
            message = await self._clients.next().messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                messages=[_message_param(m) for m in request.messages],
                **optional,
            )
        except (anthropic.APIError, json.JSONDecodeError, UnicodeDecodeError) as err:
            every_call = (
                isinstance(err, anthropic.APIStatusError) and err.status_code in EVERY_CALL_STATUSES
            )
            raise ProviderError(self._redact(self._describe(err)), every_call=every_call) from None
        latency_s = time.perf_counter() - started
        return self._response(message, latency_s)

    async def aclose(self) -> None:
        for client in self._clients.made:
            await client.close()

    def _response(self, message: object, latency_s: float) -> CompletionResponse:
        """Read the reply defensively: the SDK does not validate what a server sends."""
        from anthropic.types import Message, TextBlock, ToolUseBlock

        if not isinstance(message, Message):
            # A 200 without a JSON content type comes back from the SDK as a bare string.
            raise ProviderError(self._malformed(f"expected a message, got {message!r}"))
        # Unvalidated models read a missing field as None rather than raising.
        content: Any = getattr(message, "content", None)
        usage: Any = getattr(message, "usage", None)
        input_tokens: Any = getattr(usage, "input_tokens", None)
        output_tokens: Any = getattr(usage, "output_tokens", None)
        if not isinstance(content, list):
            raise ProviderError(self._malformed("'content' is not a list of blocks"))
        if not (isinstance(input_tokens, int) and isinstance(output_tokens, int)):
            raise ProviderError(self._malformed("'usage' has no input_tokens/output_tokens"))
        text = "".join(block.text or "" for block in content if isinstance(block, TextBlock))
        calls = [block for block in content if isinstance(block, ToolUseBlock)]
        blocks: tuple[dict[str, Any], ...] = ()
        if calls:
            blocks = tuple(
                {"type": "text", "text": block.text or ""}
                if isinstance(block, TextBlock)
                else {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                for block in content
                if isinstance(block, TextBlock | ToolUseBlock)
            )
        return CompletionResponse(
            text=text,
            model=str(getattr(message, "model", "") or ""),
            stop_reason=getattr(message, "stop_reason", None),
            usage=Usage(input_tokens, output_tokens),
            latency_s=latency_s,
            content=blocks,
        )

    def _describe(self, err: Exception) -> str:
        """A short message naming what failed and what to do, from an SDK exception."""
        import anthropic
        import httpx2

        after = after_retries(self.max_retries)
        if isinstance(err, anthropic.APIResponseValidationError):
            return self._malformed(err.message)
        if isinstance(err, anthropic.APIStatusError):
            code = err.status_code
            quoted = quote(err.api_message or err.message)
            if isinstance(err, anthropic.RateLimitError):
                return f"anthropic: rate limited (429){after}; lower --concurrency or try later"
            if isinstance(err, anthropic.OverloadedError):
                return f"anthropic: overloaded (529){after}; the API is busy, try later"
            if isinstance(err, anthropic.AuthenticationError):
                return "anthropic: authentication failed (401); check ANTHROPIC_API_KEY"
            if isinstance(err, anthropic.PermissionDeniedError):
                return f"anthropic: permission denied (403): {quoted}; check the key's access"
            if isinstance(err, anthropic.NotFoundError):
                return f"anthropic: not found (404): {quoted}; check the model and the base URL"
            if code >= 500:
                return f"anthropic: server error ({code}){after}: {quoted}; try later"
            if code in (400, 413, 422):
                return f"anthropic: bad request ({code}): {quoted}"
            return f"anthropic: HTTP {code}{after}: {quoted}"
        if isinstance(err, anthropic.APITimeoutError):
            return (
                f"anthropic: request timed out ({self.timeout_s}s per attempt){after}; "
                "raise provider_options.timeout_s or try later"
            )
        if isinstance(err, anthropic.APIConnectionError):
            cause = quote(str(err.__cause__ or "") or type(err.__cause__).__name__)
            if isinstance(err.__cause__, httpx2.ConnectError):
                return f"anthropic: cannot connect to {self.base_url}{after}: {cause}"
            return f"anthropic: connection to {self.base_url} failed{after}: {cause}"
        if isinstance(err, ValueError):
            # A 200 whose body is not JSON (JSONDecodeError) or not UTF-8.
            return self._malformed(f"{type(err).__name__}: {err}")
        return f"anthropic: {type(err).__name__}: {quote(str(err))}"

    def _malformed(self, detail: str) -> str:
        return self._redact(f"anthropic: malformed response: {quote(detail)}")

    def _redact(self, text: str) -> str:
        """Defence in depth: no server or library text may carry the key into our messages."""
        key = self._clients.first.api_key
        return text.replace(key, "***") if key else text


def _message_param(message: Message) -> MessageParam:
    # Neutral content blocks are the Messages API's own; the SDK takes them as they are.
    content: Any = content_json(message.content)
    if message.role == "user":
        return {"role": "user", "content": content}
    return {"role": "assistant", "content": content}


def _in_slot(limit: AdaptiveLimit) -> anthropic.AsyncMiddlewareCallable:
    """SDK middleware holding one of the route's slots for each attempt, and telling the
    limit how the attempt went (its latency, or a 429/529)."""

    async def in_slot(
        request: anthropic.APIRequest, call_next: anthropic.AsyncCallNext
    ) -> anthropic.AsyncAPIResponse[Any]:
        async with limit.slot() as attempt:
            response = await call_next(request)
            status = response.http_response.status_code
            attempt.overloaded = status in OVERLOADED_STATUSES
            attempt.answered = response.http_response.is_success
            return response

    return in_slot


def _attempt_deadline(timeout_s: float) -> anthropic.AsyncMiddlewareCallable:
    """SDK middleware bounding each attempt in total, as a timeout the SDK retries."""
    import anthropic
    import httpx2

    async def deadline(
        request: anthropic.APIRequest, call_next: anthropic.AsyncCallNext
    ) -> anthropic.AsyncAPIResponse[Any]:
        try:
            async with asyncio.timeout(timeout_s):
                return await call_next(request)
        except TimeoutError:
            raise anthropic.APITimeoutError(httpx2.Request(request.method, request.url)) from None

    return deadline


@functools.cache
def _client_class() -> type[_CappedClient]:
    import anthropic

    class CappedClient(CappedRetryWaits, anthropic.AsyncAnthropic):
        """The SDK's client with goalctl's retry waits (:class:`CappedRetryWaits`)."""

    return cast("type[_CappedClient]", CappedClient)
