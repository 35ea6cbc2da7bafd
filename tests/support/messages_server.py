"""A real HTTP server on 127.0.0.1 that speaks enough of the Anthropic Messages API for tests.

The anthropic provider is tested with the real SDK over real sockets (DESIGN §8), so retries,
timeouts and error bodies go through the same code as in production. Each request takes the
next planned reply from a queue; when the queue is empty a default responder answers::

    with MessagesServer([Status(429), Reply(text="hi")]) as server:
        ...  # point ANTHROPIC_BASE_URL at server.url
        assert len(server.requests) == 2

Plans: :class:`Reply`, :class:`Status`, :class:`Delay`, :class:`Trickle`, :class:`Stall`,
:class:`Malformed`, :class:`Reset`. Stdlib only; one daemon thread per connection, so a hundred requests can be
in flight at once (benchmarks use ``latency=0.2`` to simulate a slow API).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

# Every wait in this module is bounded, so a broken test fails instead of hanging.
MAX_WAIT_S = 30.0

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
REASONS = {529: "Overloaded"}
# The SDK retries these statuses; see MessagesServer.retry_after_ms.
RETRYABLE = frozenset({408, 409, 429}) | frozenset(range(500, 600))
# API version 2026-10-21 (sent by SDK 2.x) rejects sampling parameters, even at their defaults.
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Every header, names lower-cased."""
    body: Any
    """The parsed JSON body, or None when it was not JSON."""


@dataclass(frozen=True)
class Reply:
    """A successful Messages API answer."""

    text: str = "ok"
    input_tokens: int = 10
    output_tokens: int = 5
    model: str | None = None
    """The model to report; None echoes the request's model."""
    stop_reason: str = "end_turn"
    content: list[dict[str, Any]] | None = None
    """Content blocks to send instead of one text block made of ``text``."""


@dataclass(frozen=True)
class Status:
    """An error status with the API's error body (``{"type": "error", "error": {...}}``)."""

    code: int
    body: Any = None
    """A JSON value to send instead of the standard error body for ``code``."""
    headers: Mapping[str, str] | None = None
    """Headers to send; None sends ``retry-after-ms`` for statuses the SDK retries."""
    message: str | None = None


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds``, then answer with ``then`` (None: the default responder)."""

    seconds: float
    then: Plan | None = None


@dataclass(frozen=True)
class Trickle:
    """Answer with ``then``, sending its body one byte every ``interval`` seconds.

    No single read waits long, so only a deadline on the whole attempt catches it.
    """

    interval: float
    then: Reply | Status = field(default_factory=Reply)


@dataclass(frozen=True)
class Stall:
    """Accept the request and never answer until the server stops (client timeouts)."""


@dataclass(frozen=True)
class Malformed:
    """Answer 200 with a JSON content type and a broken body."""

    body: bytes = b'{"type": "message", "content": ['


@dataclass(frozen=True)
class Reset:
    """Close the connection with a TCP reset, without answering."""


Plan = Reply | Status | Delay | Trickle | Stall | Malformed | Reset
Responder = Callable[[RecordedRequest], Plan]


def text_of(content: Any) -> str:
    """The text of a message's ``content``: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def echo(request: RecordedRequest) -> Plan:
    """The default responder: a deterministic reply derived from the last user message."""
    messages = request.body.get("messages", []) if isinstance(request.body, dict) else []
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    text = f"echo: {users[-1] if users else ''}"
    words_in = sum(len(text_of(m.get("content")).split()) for m in messages)
    return Reply(text=text, input_tokens=words_in, output_tokens=len(text.split()))


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(code, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or kind.replace("_", " ")}}


def validation_error(body: Any, headers: Mapping[str, str]) -> str | None:
    """Why the API would refuse this body with 400, or None; deliberately minimal."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or isinstance(body["max_tokens"], bool):
        return "max_tokens: Field required"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: Field required"
    if headers.get("anthropic-version", "") != "2023-06-01":
        for name in SAMPLING_PARAMETERS:
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    return None


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # The stdlib default backlog of 5 drops connections when a hundred arrive at once.
    request_queue_size = 1024
    owner: MessagesServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (timeouts, resets) is expected here, not an error.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    timeout = MAX_WAIT_S
    # Headers and body leave in one segment, without Nagle: otherwise each reply on a
    # kept-alive connection waits ~40 ms for the client's delayed ACK.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    _trickle = 0.0

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        with contextlib.suppress(OSError):  # the peer or stop() already closed the socket
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read server.requests, not a log on stderr

    api_path = "/v1/messages"
    """The one path this handler's API answers; subclasses speak other APIs."""

    def error_body(self, code: int, message: str | None = None) -> dict[str, Any]:
        return error_body(code, message)

    def validation_error(self, body: Any, headers: Mapping[str, str]) -> str | None:
        return validation_error(body, headers)

    def do_GET(self) -> None:
        self._read_body()
        self._send_json(404, self.error_body(404, f"{self.path} not found"))

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self._read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = RecordedRequest("POST", self.path, headers, body)
        owner._record(recorded)
        owner._enter()
        try:
            self._post(recorded, body, headers)
        finally:
            owner._leave()

    def _post(self, recorded: RecordedRequest, body: Any, headers: Mapping[str, str]) -> None:
        owner = self.server.owner
        if self.path.split("?")[0] != self.api_path:
            self._send_json(404, self.error_body(404, f"{self.path} not found"))
            return
        problem = self.validation_error(body, headers)
        if problem is not None:
            self._send_json(400, self.error_body(400, problem))
            return
        self._answer(owner._next_plan(recorded), recorded)

    def _answer(self, plan: Plan, recorded: RecordedRequest) -> None:
        owner = self.server.owner
        if isinstance(plan, Delay):
            if owner._stopping.wait(plan.seconds):
                self._reset()
                return
            then = plan.then if plan.then is not None else owner.responder(recorded)
            self._answer(then, recorded)
        elif isinstance(plan, Trickle):
            self._trickle = plan.interval
            self._answer(plan.then, recorded)
        elif isinstance(plan, Stall):
            owner._stopping.wait(MAX_WAIT_S)
            self._reset()
        elif isinstance(plan, Reset):
            self._reset()
        elif isinstance(plan, Malformed):
            self._send(200, plan.body, {"content-type": "application/json"})
        elif isinstance(plan, Status):
            self._send_status(plan)
        else:
            self._send_json(200, self._message(plan, recorded))

    def _message(self, reply: Reply, recorded: RecordedRequest) -> dict[str, Any]:
        content = reply.content
        if content is None:
            content = [{"type": "text", "text": reply.text}]
        return {
            "id": f"msg_test_{next(self.server.owner._ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or recorded.body["model"],
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

    def _send_status(self, status: Status) -> None:
        headers = dict(status.headers or {})
        retry_after_ms = self.server.owner.retry_after_ms
        if status.headers is None and status.code in RETRYABLE and retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        body = (
            status.body if status.body is not None else self.error_body(status.code, status.message)
        )
        self._send_json(status.code, body, headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, code: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send(code, data, {"content-type": "application/json", **(headers or {})})

    def _send(self, code: int, data: bytes, headers: Mapping[str, str]) -> None:
        interval, self._trickle = self._trickle, 0.0
        try:
            self.send_response(code, REASONS.get(code))
            self.send_header("request-id", f"req_test_{next(self.server.owner._ids):06d}")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            chunks = [data] if interval <= 0 else [data[i : i + 1] for i in range(len(data))]
            for chunk in chunks:
                if interval > 0 and self.server.owner._stopping.wait(interval):
                    self._reset()
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:  # the client gave up (a timeout) and closed the connection
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


@dataclass
class MessagesServer:
    """A Messages API server on 127.0.0.1 with an ephemeral port, run in a background thread."""

    plans: Iterable[Plan] = ()
    """Replies for the first requests, in order; then ``responder`` answers."""
    responder: Responder = echo
    latency: float = 0.0
    """Seconds to wait before every default (responder) reply."""
    retry_after_ms: int | None = 1
    """Sent as ``retry-after-ms`` with retryable statuses so the SDK retries after 1 ms instead
    of its 0.5-8 s backoff; None sends nothing (a Status with explicit headers sends its own)."""
    rate_limit_every: int = 0
    """When positive, every Nth request the responder would answer gets 429 with
    ``retry-after: {rate_limit_retry_after}`` instead (a 429 storm), before any latency."""
    rate_limit_retry_after: str = "0"
    in_flight: int = field(init=False, default=0)
    """Requests received and not yet answered."""
    max_in_flight: int = field(init=False, default=0)
    """The most requests ever in flight at once (what a client's concurrency really was)."""

    _queue: collections.deque[Plan] = field(init=False, default_factory=collections.deque)
    _requests: list[RecordedRequest] = field(init=False, default_factory=list)
    _connections: set[socket.socket] = field(init=False, default_factory=set)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)
    _ids: itertools.count[int] = field(init=False, default_factory=lambda: itertools.count(1))
    _responded: int = field(init=False, default=0)
    _httpd: _HTTPServer | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._queue.extend(self.plans)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use `with MessagesServer() as server`")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler: which API the server speaks (subclasses speak others)."""
        return _Handler

    def enqueue(self, *plans: Plan) -> None:
        with self._lock:
            self._queue.extend(plans)

    def start(self) -> Self:
        httpd = _HTTPServer(("127.0.0.1", 0), self.handler_class())
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled handlers and close every open connection."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(MAX_WAIT_S)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_plan(self, request: RecordedRequest) -> Plan:
        with self._lock:
            planned = self._queue.popleft() if self._queue else None
            if planned is None and self.rate_limit_every > 0:
                self._responded += 1
                if self._responded % self.rate_limit_every == 0:
                    planned = Status(429, headers={"retry-after": self.rate_limit_retry_after})
        if planned is not None:
            return planned
        if self.latency > 0:
            return Delay(self.latency, self.responder(request))
        return self.responder(request)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)
