"""The ``http`` agent: a user's own service under a goal. The service is a small stdlib server
on 127.0.0.1 that calls the model through goalctl's gateway (the real anthropic SDK) with the
URL and key goalctl sends in headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tests.conftest import run_cli

HEADER = "id: svc\nname: Service\ndescription: My own service.\nprovider: scripted\nagent: http\n"
GREETS = """
success_criteria:
  - {id: greets, description: Greets the person, metric: output_contains, target: "hello {{ input.name }}"}
"""

Route = Callable[["Handler", bytes], tuple[int, dict[str, str], bytes]]


class Handler(BaseHTTPRequestHandler):
    server: Service

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.requests.append((self.path, dict(self.headers), body))
        status, headers, reply = self.server.routes[self.path](self, body)
        self.send_response(status)
        for name, value in {"content-type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test asserts on requests, not on the server's log


class Service(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def service() -> Iterator[Service]:
    server = Service()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def ask_claude(handler: Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The service: asks the model through the gateway it was handed, answers OpenAI-style."""
    import anthropic

    document = json.loads(body)
    with anthropic.Anthropic(
        base_url=handler.headers["X-Goalctl-Gateway-Url"],
        api_key=handler.headers["X-Goalctl-Gateway-Key"],
    ) as client:
        message = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            system=document["prompt"]["system"],
            messages=[{"role": "user", "content": document["prompt"]["user"]}],
        )
    reply = {"choices": [{"message": {"content": message.content[0].text}}]}
    return 200, {}, json.dumps(reply).encode()


def scenario(folder: Path, *parts: str) -> Path:
    path = folder / "service.yaml"
    path.write_text(HEADER + "".join(dedent(part).lstrip("\n") for part in parts))
    return path


def report(state: Path) -> dict[str, Any]:
    [run] = (state / "runs").iterdir()
    return json.loads((run / "report.json").read_text())  # type: ignore[no-any-return]


def test_a_service_calling_the_gateway_with_the_key_it_was_sent_is_served_and_metered(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    service.routes["/agent"] = ask_claude
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config:
          url: {service.url}/agent
          output: /choices/0/message/content
        cases:
          - {{name: ada, input: {{name: Ada}}, responses: ["hello Ada"]}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    [case] = report(isolated_environment)["cases"]
    assert case["output"] == "hello Ada"
    assert case["metrics"]["llm_calls"] == 1
    [(_, headers, body)] = service.requests
    document = json.loads(body)
    assert document["case"] == {"name": "ada", "input": {"name": "Ada"}}
    assert "expected" not in body.decode()
    assert headers["X-Goalctl-Case"] == "ada"
    assert headers["X-Goalctl-Gateway-Key"].startswith("gk-")


def test_a_body_template_and_headers_from_the_environment(
    tmp_path: Path,
    isolated_environment: Path,
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", "tok-123")

    def echo(handler: Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        sent = json.loads(body)
        assert handler.headers["Authorization"] == "Bearer tok-123"
        return 200, {}, json.dumps({"reply": f"hello {sent['who']}"}).encode()

    service.routes["/echo"] = echo
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config:
          url: {service.url}/echo
          headers: {{Authorization: "Bearer ${{SERVICE_TOKEN}}"}}
          body: '{{"who": {{{{ case.input.name | tojson }}}}, "key": {{{{ gateway.api_key | tojson }}}}}}'
          output: /reply
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert report(isolated_environment)["cases"][0]["output"] == "hello Ada"
    [(_, headers, body)] = service.requests
    assert json.loads(body)["key"] == headers["X-Goalctl-Gateway-Key"]
    [run] = (isolated_environment / "runs").iterdir()
    assert not any("tok-123" in f.read_text() for f in run.iterdir() if f.is_file())


def test_429_and_5xx_are_retried_honouring_retry_after(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    answers = iter(
        [
            (429, {"Retry-After": "0"}, b"{}"),
            (503, {}, b"{}"),
            (200, {}, json.dumps({"text": "hello Ada"}).encode()),
        ]
    )
    service.routes["/flaky"] = lambda handler, body: next(answers)
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config: {{url: "{service.url}/flaky", output: /text}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert len(service.requests) == 3
    [run] = (isolated_environment / "runs").iterdir()
    events = (run / "events.jsonl").read_text()
    assert "flaky answered 429; retrying in 0s" in events
    assert "flaky answered 503; retrying in 1s" in events


def test_a_non_2xx_answer_errors_the_case_with_the_start_of_its_body(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    service.routes["/broken"] = lambda handler, body: (
        400,
        {},
        b'{"error": "input.name is required"}',
    )
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config: {{url: "{service.url}/broken"}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert report(isolated_environment)["cases"][0]["error"] == (
        f"POST {service.url}/broken answered 400 Bad Request: "
        """the body began: '{"error": "input.name is required"}'"""
    )
    assert len(service.requests) == 1


def test_an_output_pointer_that_finds_nothing_names_where_it_stopped(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    service.routes["/other"] = lambda handler, body: (200, {}, b'{"choices": []}')
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config: {{url: "{service.url}/other", output: /choices/0/message/content}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert report(isolated_environment)["cases"][0]["error"] == (
        "the response has nothing at /choices/0/message/content: /choices is a list of 0 "
        "items without '0'"
    )


def test_a_service_slower_than_timeout_s_errors_the_case(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    def slow(handler: Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        handler.server.release.wait(10)
        return 200, {}, b'{"text": "too late"}'

    service.routes["/slow"] = slow
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config: {{url: "{service.url}/slow", timeout_s: 0.3}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert report(isolated_environment)["cases"][0]["error"] == (
        f"POST {service.url}/slow did not answer within the case's timeout of 0.3s"
    )


def test_validate_refuses_a_url_a_pointer_and_a_body_that_cannot_work(tmp_path: Path) -> None:
    path = scenario(
        tmp_path,
        GREETS,
        """
        config:
          url: ftp://example.com/agent
          output: choices/0
          body: "{{ unclosed"
        """,
    )

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    assert "config.url: 'ftp://example.com/agent' is not an http:// or https:// URL" in (
        result.stdout
    )
    assert "config.output: 'choices/0' is not a JSON Pointer" in result.stdout
    assert "config.body: template syntax error" in result.stdout


def test_a_service_that_cannot_be_reached_is_retried_then_errors_the_case(
    tmp_path: Path, isolated_environment: Path
) -> None:
    closed = Service()
    url = closed.url
    closed.server_close()  # nothing listens on that port any more
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        config: {{url: "{url}/agent", max_retries: 1}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    error = report(isolated_environment)["cases"][0]["error"]
    assert error.startswith(f"POST {url}/agent failed: Cannot connect to host")
    [run] = (isolated_environment / "runs").iterdir()
    assert "connection failed (Cannot connect to host" in (run / "events.jsonl").read_text()


def test_a_call_past_a_hard_budget_stops_the_run(
    tmp_path: Path, isolated_environment: Path, service: Service
) -> None:
    def twice(handler: Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        import anthropic

        try:
            ask_claude(handler, body)
            ask_claude(handler, body)
        except anthropic.APIStatusError as exc:
            return 500, {}, json.dumps({"error": exc.message}).encode()
        return 200, {}, b'{"text": "hello"}'

    service.routes["/agent"] = twice
    path = scenario(
        tmp_path,
        GREETS,
        f"""
        constraints:
          - {{id: calls, description: One call, constraint_type: hard, category: cost, check: llm_calls <= 1}}
        config: {{url: "{service.url}/agent"}}
        responses: ["hello"]
        cases:
          - {{name: ada, input: {{name: Ada}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 1, result.stdout + result.stderr
    run = report(isolated_environment)
    assert run["budget_stop"]["constraint"] == "calls"
    assert run["totals"]["llm_calls"] == 2
