"""The model gateway: a loopback HTTP server that serves an agent's model calls (DESIGN §11).

For the length of a run, agents that goalctl does not drive itself (``command``, ``http``,
``python``) reach their model through this server, which speaks the Anthropic Messages API
and the OpenAI Chat Completions API, streaming and not. Each case gets its own key; a request
is served by that case's :class:`Session` — the runner's metered route to the scenario's
provider — so the calls are budgeted, recorded, replayed or scripted like the built-in agent's.

The server is aiohttp's, embedded in the run's event loop through its ``AppRunner`` (no signal
handlers of its own, an ephemeral port, imported only when a run needs a gateway). It listens
on 127.0.0.1 only and answers only keys it issued; a refusal carries ``x-should-retry: false``
so an agent's SDK does not retry what cannot succeed.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, Self

from goalctl.errors import GoalctlError
from goalctl.gateway import anthropic_api, openai_api
from goalctl.gateway.errors import WireError
from goalctl.providers.base import CompletionRequest, CompletionResponse
from goalctl.reading import ReadError, loads_json

if TYPE_CHECKING:
    from aiohttp import web

HOST = "127.0.0.1"
MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest request body an agent may send (a long conversation with tool results)."""
KEY_PREFIX = "gk-"
NO_RETRY = {"x-should-retry": "false"}


class Session(Protocol):
    """What serves one case's model calls."""

    case: str | None

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Serve ``request``; raise :class:`WireError` to refuse it with an API error."""
        ...


class Gateway:
    """The loopback server. ``async with Gateway() as gateway:``, then :meth:`open` per case."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._runner: web.AppRunner | None = None
        self._url = ""
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, once started."""
        if not self._url:
            raise RuntimeError("the gateway is not running")
        return self._url

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, reuse_address=False)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"

    async def aclose(self) -> None:
        self._sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._url = ""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def open(self, session: Session) -> str:
        """Issue a new key for ``session``; calls with it are served by the session."""
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        self._sessions[key] = session
        return key

    def close(self, key: str) -> None:
        """Revoke ``key``: later calls with it are refused (401)."""
        self._sessions.pop(key, None)

    def environment(self, key: str) -> dict[str, str]:
        """The variables that point both SDKs at the gateway with ``key``."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": key,
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_KEY": key,
        }

    # -- handlers -------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        def answer_error(error: WireError) -> web.Response:
            return _json(error.status, anthropic_api.error_body(error), NO_RETRY)

        try:
            session = self._session(request)
            parsed, stream = anthropic_api.parse_request(await _body(request), case=session.case)
            response = await self._complete(session, parsed)
        except WireError as error:
            return answer_error(error)
        message_id = f"msg_goalctl_{next(self._ids):08d}"
        if stream:
            return await _stream(request, anthropic_api.events(response, message_id))
        return _json(200, anthropic_api.reply(response, message_id))

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            session = self._session(request)
            parsed = openai_api.parse_request(await _body(request), case=session.case)
            response = await self._complete(session, parsed.request)
        except WireError as error:
            return _json(error.status, openai_api.error_body(error), NO_RETRY)
        completion_id = f"chatcmpl-goalctl{next(self._ids):08d}"
        created = int(time.time())
        if parsed.stream:
            frames = openai_api.chunks(response, completion_id, created, parsed.include_usage)
            return await _stream(request, frames)
        return _json(200, openai_api.completion(response, completion_id, created))

    def _session(self, request: web.Request) -> Session:
        key = _key(request)
        # Compare in constant time with every issued key: no timing tells a guess how close.
        found = [s for k, s in list(self._sessions.items()) if hmac.compare_digest(k, key)]
        if not found:
            raise WireError(
                401,
                "goalctl gateway: unknown API key; use the key goalctl gave this case",
                "authentication_error",
            )
        return found[0]

    async def _complete(self, session: Session, request: CompletionRequest) -> CompletionResponse:
        try:
            return await session.complete(request)
        except WireError:
            raise
        except GoalctlError as exc:
            raise WireError(502, f"goalctl gateway: {exc}", "api_error") from None


def _key(request: web.Request) -> str:
    key = request.headers.get("x-api-key", "")
    if not key:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    return key


async def _body(request: web.Request) -> Any:
    from aiohttp import web

    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise WireError(413, f"request body over {MAX_BODY_BYTES:,} bytes") from None
    try:
        return loads_json(raw, "request body")
    except ReadError as exc:
        raise WireError(400, str(exc)) from None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    from aiohttp import web

    return web.json_response(body, status=status, headers=headers)


async def _stream(request: web.Request, frames: Iterator[bytes]) -> web.StreamResponse:
    from aiohttp import web

    response = web.StreamResponse(
        status=200, headers={"content-type": "text/event-stream", "cache-control": "no-cache"}
    )
    await response.prepare(request)
    for frame in frames:
        await response.write(frame)
    await response.write_eof()
    return response
