"""The ``http`` agent: a team's own agent as a service, reached over HTTP (DESIGN §11).

Per case (and per attempt) goalctl sends one request to ``url``: by default the case document
as JSON (the ``command`` agent's stdin), or ``body``, a sandboxed template of the document's
names. The gateway's URL and the case's key travel in headers (``X-Goalctl-Gateway-Url``,
``X-Goalctl-Gateway-Key``; ``X-Goalctl-Openai-Base-Url`` for OpenAI SDKs), and a template
body may use ``gateway.anthropic_base_url``, ``gateway.openai_base_url`` and
``gateway.api_key``; the key is revoked when the case's request is answered.

The output is the response's JSON at the JSON Pointer ``output`` (the whole body when it is
empty). A 429 or 5xx answer, or a connection that fails, is retried with backoff (honouring
``Retry-After``) within the case's ``timeout_s``; any other non-2xx answer, a redirect
included, errors the case with the start of the body as evidence.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import urlsplit

from goalctl.agents.base import CaseRun, PhasedAgent
from goalctl.agents.external import (
    attempts,
    case_document,
    child_environment,
    expand_env,
    failure,
    gateway_lease,
    until_stopped,
)
from goalctl.agents.service import PORT_VARIABLE, Service, serve_problem
from goalctl.config_schema import ConfigIssue
from goalctl.errors import ConfigError, TemplateError
from goalctl.evaluation import CaseOutput
from goalctl.reading import ReadError, loads_json
from goalctl.trajectory import Trajectory

if TYPE_CHECKING:
    import aiohttp
    import jinja2

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest response body goalctl reads from the service."""
FIRST_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0
PREVIEW: Final = 200
RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
EXIT_WAIT_S: Final = 0.25
"""After a failed connection, how long a started service has to be seen exiting (a crash
resets connections a moment before the process is gone)."""


class Answer(NamedTuple):
    status: int
    reason: str
    body: bytes
    retry_after: float | None


class HttpAgent(PhasedAgent):
    """Sends each case to ``url`` and reads the output from the response."""

    manifest_resource = "http.yaml"

    @classmethod
    def config_problems(cls, config: Mapping[str, Any], scenario: Path) -> list[ConfigIssue]:
        issues = []
        url = str(config.get("url", ""))
        serves = bool(config.get("serve"))
        problem = url_problem(url.replace(PORT_VARIABLE, "1") if serves else url)
        if not problem and serves:
            problem = serve_problem(url)
        if problem:
            remedy = "e.g. http://127.0.0.1:${PORT}/reply" if serves else ""
            issues.append(ConfigIssue("url", problem, remedy))
        elif PORT_VARIABLE in url and not serves:
            issues.append(
                ConfigIssue(
                    "url",
                    f"{url!r} says ${{PORT}}, which only serve sets",
                    "give serve the command that starts your service, or write the port",
                )
            )
        problem = pointer_problem(str(config.get("output", "")))
        if problem:
            issues.append(ConfigIssue("output", problem, "e.g. /choices/0/message/content"))
        body = str(config.get("body", ""))
        if body:
            from goalctl.templates import compile_template

            try:
                compile_template(body)
            except TemplateError as exc:
                line = f" (line {exc.lineno})" if exc.lineno else ""
                issues.append(ConfigIssue("body", f"{exc}{line}"))
        return issues

    async def initialize(self) -> None:
        import aiohttp

        issues = self.config_problems(self.config, self.context.scenario.path)
        if issues:  # validate reports them all; a run (maybe with --config) stops at the first
            raise ConfigError(str(issues[0]))
        self.url = str(self.config["url"])
        self.service: Service | None = None
        self.method = str(self.config.get("method", "POST"))
        # Expanded once, before any case: a variable that is not set fails the run at once.
        self.headers = expand_env(self.config.get("headers") or {}, field="headers")
        self.pointer = str(self.config.get("output", ""))
        self.timeout_s = float(self.config.get("timeout_s", 60))
        self.max_retries = int(self.config.get("max_retries", 3))
        self.body: jinja2.Template | None = None
        if self.config.get("body"):
            from goalctl.templates import compile_template

            self.body = compile_template(str(self.config["body"]))
        # No proxies from the environment, no cookies carried from one case to the next.
        self.client = aiohttp.ClientSession(
            trust_env=False, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False
        )
        if self.config.get("serve"):
            # Like a command agent's program: goalctl's environment without provider
            # credentials, so the service's model calls take the gateway the headers name.
            self.service, self.url = await Service.start(
                list(self.config["serve"]),
                self.url,
                cwd=self.context.scenario.path.resolve().parent,
                env=child_environment(),
                timeout_s=float(self.config.get("serve_timeout_s", 30)),
                log=self.context.log,
            )

    async def cleanup(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            await client.close()
        service = getattr(self, "service", None)
        if service is not None:
            await service.stop()
            self.context.log("serve: stopped")

    async def execute(self, case: CaseRun) -> CaseOutput:
        return await attempts(self.context, case, lambda *args: self._attempt(case, *args))

    async def _attempt(
        self, case: CaseRun, attempt: int, feedback: str | None, trajectory: Trajectory
    ) -> CaseOutput:
        rendered = case.render(attempt=attempt, feedback=feedback)
        document = case_document(self.context, case, rendered, attempt, feedback)
        async with gateway_lease(self.context, case, trajectory) as lease:
            access = {
                "anthropic_base_url": lease.environment["ANTHROPIC_BASE_URL"],
                "openai_base_url": lease.environment["OPENAI_BASE_URL"],
                "api_key": lease.key,
            }
            typed = any(name.lower() == "content-type" for name in self.headers)
            headers = {
                **({} if typed else {"Content-Type": "application/json"}),
                **self.headers,
                "X-Goalctl-Gateway-Url": access["anthropic_base_url"],
                "X-Goalctl-Openai-Base-Url": access["openai_base_url"],
                "X-Goalctl-Gateway-Key": lease.key,
                "X-Goalctl-Case": case.name,
                "X-Goalctl-Attempt": str(attempt),
            }
            body = self._body(document, access)
            answer = await until_stopped(lease.session, self._exchange(case.name, body, headers))
        return CaseOutput(*self._output(answer.body), attempt, None, trajectory.to_json())

    def _body(self, document: dict[str, Any], access: dict[str, str]) -> bytes | None:
        if self.method == "GET":
            return None
        if self.body is None:
            return json.dumps(document, ensure_ascii=False).encode()
        from goalctl.templates import render_template

        try:
            text = render_template(self.body, {**document, "document": document, "gateway": access})
        except TemplateError as exc:
            line = f" (line {exc.lineno})" if exc.lineno else ""
            raise failure(f"body{line}", str(exc)) from None
        return text.encode()

    async def _exchange(self, case: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """One case's request, retried on 429, 5xx and failed connections until it is
        answered, the retries are spent or ``timeout_s`` has passed."""
        deadline = time.monotonic() + self.timeout_s
        for retry in range(self.max_retries + 1):
            last = retry == self.max_retries
            wait = min(FIRST_BACKOFF_S * 2**retry, MAX_BACKOFF_S)
            try:
                answer = await self._send(body, headers, deadline)
            except ConnectionError as exc:
                if self.service is not None and await self.service.exited_within(EXIT_WAIT_S):
                    # Retrying cannot help: nothing will listen on the port again.
                    raise failure(self.service.exit_message(), "") from None
                if last:
                    raise failure(f"{self.method} {self.url} failed", str(exc)) from None
                what = f"connection failed ({exc})"
            else:
                if 200 <= answer.status < 300:
                    return answer
                if answer.status not in RETRIED_STATUSES or last:
                    raise failure(
                        f"{self.method} {self.url} answered {answer.status} {answer.reason}",
                        _preview(answer.body),
                    )
                what = f"answered {answer.status}"
                if answer.retry_after is not None:
                    wait = answer.retry_after
            if time.monotonic() + wait >= deadline:
                raise failure(
                    f"{self.method} {self.url} {what}; a retry in {wait:g}s would pass the "
                    f"case's timeout of {self.timeout_s:g}s",
                    "",
                )
            self.context.log(f"{case}: {self.url} {what}; retrying in {wait:g}s")
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last retry returns or raises")

    async def _send(self, body: bytes | None, headers: dict[str, str], deadline: float) -> Answer:
        import aiohttp

        remaining = deadline - time.monotonic()
        timeout = aiohttp.ClientTimeout(total=max(remaining, 0.001))
        try:
            async with self.client.request(
                self.method,
                self.url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                raw = await _read_bounded(response)
                return Answer(
                    response.status,
                    response.reason or "",
                    raw,
                    _retry_after(response.headers.get("Retry-After")),
                )
        except TimeoutError:
            raise failure(
                f"{self.method} {self.url} did not answer within the case's timeout of "
                f"{self.timeout_s:g}s",
                "",
            ) from None
        except aiohttp.ClientConnectionError as exc:
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        except aiohttp.ClientError as exc:
            raise failure(f"{self.method} {self.url} failed", str(exc)) from None

    def _output(self, raw: bytes) -> tuple[Any, str]:
        text = raw.decode("utf-8", "replace")
        parse = self.config.get("parse") or (
            "json" if self.context.scenario.goal.output_schema else ""
        )
        if not self.pointer:
            if parse == "text":
                return text, text
            try:
                value: Any = loads_json(text, "the response")
            except ReadError as exc:
                if parse == "json":
                    raise failure(str(exc), _preview(raw)) from None
                return text, text
        else:
            try:
                document = loads_json(text, "the response")
            except ReadError as exc:
                raise failure(f"{exc}; output {self.pointer} needs JSON", _preview(raw)) from None
            value = resolve_pointer(document, self.pointer)
        if isinstance(value, str):
            if parse != "json":
                return value, value
            try:
                return loads_json(value, f"the text at {self.pointer or 'the response'}"), value
            except ReadError as exc:
                raise failure(str(exc), f"it began: {value[:PREVIEW]!r}") from None
        return value, json.dumps(value, ensure_ascii=False)


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise failure(f"the response is over {MAX_RESPONSE_BYTES:,} bytes", "")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _preview(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())[:PREVIEW]
    return f"the body began: {text!r}" if text else "the body was empty"


def url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL"
    return None


def pointer_problem(pointer: str) -> str | None:
    if pointer and not pointer.startswith("/"):
        return f"{pointer!r} is not a JSON Pointer: it starts with '/' (or is empty)"
    return None


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at the JSON Pointer (RFC 6901) ``pointer`` in ``document``; the case's error
    naming the first step that is not there."""
    value = document
    walked = ""
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            keys = ""
            if isinstance(value, dict):
                found, keys = "an object", f" (keys: {', '.join(list(value)[:10])})"
            elif isinstance(value, list):
                found = f"a list of {len(value)} items"
            else:
                found = f"a {type(value).__name__}"
            raise failure(
                f"the response has nothing at {pointer}: {walked or 'its top'} is {found}{keys} "
                f"without {key!r}",
                "",
            )
        walked += "/" + token
    return value
