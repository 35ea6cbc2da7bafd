"""The example agents in ``examples/agents``, each run as goalctl runs it, against the gateway.

Their scenarios in ``scenarios/`` run them offline on text replies. Here a planned session
stands where the case's metered provider route stands and answers with tool calls too, so
each tool loop is seen to run its tools, send the results back and print the model's final
answer — through the real SDKs, curl and sh, in a child process reaped by the watchdog.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from goalctl.agents.external import child_environment
from goalctl.gateway import Gateway, WireError
from goalctl.processes import ProcessResult, run_process
from goalctl.providers.base import CompletionRequest, CompletionResponse, Usage
from goalctl.trajectory import Trajectory
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "agents"
SYSTEM = "You answer customers' questions about their orders."
QUESTION = "Where is my order A-1001?"
BUDGET = WireError(
    400, "goalctl: hard constraint `few-calls` violated (llm_calls = 5); the run stops"
)


@dataclass
class PlannedSession:
    """Answers each call with the next planned reply, and builds the trajectory as goalctl does."""

    plan: list[CompletionResponse | Exception]
    case: str | None = "shipped"
    seen: list[CompletionRequest] = field(default_factory=list)
    trajectory: Trajectory = field(default_factory=Trajectory)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.seen.append(request)
        answer = self.plan.pop(0)
        if isinstance(answer, Exception):
            raise answer
        self.trajectory.observe(request, answer)
        return answer


def text(reply: str) -> CompletionResponse:
    return CompletionResponse(text=reply, model="model-x", usage=Usage(30, 10))


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> CompletionResponse:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
    return CompletionResponse(
        text="", model="model-x", stop_reason="tool_use", usage=Usage(30, 10), content=(block,)
    )


def document(system: str = SYSTEM, user: str = QUESTION) -> dict[str, Any]:
    """A case document in the shape the command agent writes (DESIGN §11)."""
    return {
        "version": 1,
        "goal": {"id": "order-status", "name": "Order status", "description": "", "context": {}},
        "case": {"name": "shipped", "input": {"message": user}},
        "prompt": {"system": system, "user": user},
        "attempt": 1,
        "feedback": None,
        "config": {"timeout_s": 60},
    }


def run_agent(
    argv: list[str], session: PlannedSession, stdin: dict[str, Any], cwd: Path
) -> ProcessResult:
    """Run ``argv`` with the gateway's variables and ``stdin`` as the command agent does."""

    async def go() -> ProcessResult:
        async with Gateway() as gateway:
            key = gateway.open(session)
            return await run_process(
                argv,
                stdin=json.dumps(stdin, ensure_ascii=False).encode(),
                cwd=cwd,
                env=child_environment(gateway.environment(key)),
                timeout_s=60,
            )

    return asyncio.run(go())


def python_agent(name: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / name)]


SHIPPED_LOOP = [
    tool_call("call_1", "lookup_order", {"order_id": "A-1001"}),
    tool_call("call_2", "track_parcel", {"tracking_number": "1Z-88412"}),
    text("Your espresso grinder arrives on 2026-12-02."),
]
SHIPPED_STEPS = [
    {
        "step": 1,
        "tool": "lookup_order",
        "args": {"order_id": "A-1001"},
        "result": {
            "order_id": "A-1001",
            "item": "espresso grinder",
            "status": "shipped",
            "tracking": "1Z-88412",
        },
        "error": None,
        "id": "call_1",
        "source": "model",
    },
    {
        "step": 2,
        "tool": "track_parcel",
        "args": {"tracking_number": "1Z-88412"},
        "result": {
            "tracking_number": "1Z-88412",
            "carrier": "UPS",
            "last_scan": "Leipzig hub",
            "arrives": "2026-12-02",
        },
        "error": None,
        "id": "call_2",
        "source": "model",
    },
]


@pytest.mark.parametrize("agent", ["claude_tool_agent.py", "openai_tool_agent.py"])
def test_a_tool_agent_runs_the_tools_the_model_calls_and_prints_its_answer(
    agent: str, tmp_path: Path
) -> None:
    session = PlannedSession(list(SHIPPED_LOOP))

    result = run_agent(python_agent(agent), session, document(), tmp_path)

    assert (result.returncode, result.stderr_tail) == (0, "")
    assert result.stdout.decode() == "Your espresso grinder arrives on 2026-12-02.\n"
    assert session.trajectory.to_json() == SHIPPED_STEPS
    first = session.seen[0]
    assert (first.system, first.last_user_message) == (SYSTEM, QUESTION)
    assert [tool["name"] for tool in first.tools] == ["lookup_order", "track_parcel"]
    assert len(session.seen) == 3


@pytest.mark.parametrize("agent", ["claude_tool_agent.py", "openai_tool_agent.py"])
def test_a_tool_agent_takes_a_plain_answer_without_calling_tools(
    agent: str, tmp_path: Path
) -> None:
    session = PlannedSession([text("Order A-1002 has not shipped yet.")])

    result = run_agent(python_agent(agent), session, document(), tmp_path)

    assert (result.returncode, result.stdout.decode()) == (0, "Order A-1002 has not shipped yet.\n")
    assert session.trajectory.to_json() == []


def test_the_claude_agent_hands_a_failed_lookup_back_to_the_model_as_an_error(
    tmp_path: Path,
) -> None:
    session = PlannedSession(
        [tool_call("toolu_1", "lookup_order", {"order_id": "B-9"}), text("No such order.")]
    )

    result = run_agent(python_agent("claude_tool_agent.py"), session, document(), tmp_path)

    assert (result.returncode, result.stdout.decode()) == (0, "No such order.\n")
    [step] = session.trajectory.to_json()
    assert (step["tool"], step["result"], step["error"]) == (
        "lookup_order",
        None,
        "no order 'B-9'; order ids look like A-1001",
    )


def test_the_openai_agent_hands_a_failed_lookup_back_to_the_model_as_an_error(
    tmp_path: Path,
) -> None:
    session = PlannedSession(
        [tool_call("call_1", "lookup_order", {"order_id": "B-9"}), text("No such order.")]
    )

    result = run_agent(python_agent("openai_tool_agent.py"), session, document(), tmp_path)

    assert (result.returncode, result.stdout.decode()) == (0, "No such order.\n")
    [step] = session.trajectory.to_json()
    assert step["result"] == {"error": "no order 'B-9'; order ids look like A-1001"}


@pytest.mark.parametrize(
    ("agent", "prefix"),
    [
        ("claude_tool_agent.py", "claude_tool_agent: Error code: 400"),
        ("openai_tool_agent.py", "openai_tool_agent: Error code: 400"),
    ],
)
def test_a_tool_agent_stops_with_the_budget_refusal_on_stderr(
    agent: str, prefix: str, tmp_path: Path
) -> None:
    session = PlannedSession([tool_call("call_1", "lookup_order", {"order_id": "A-1001"}), BUDGET])

    result = run_agent(python_agent(agent), session, document(), tmp_path)

    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr_tail.startswith(prefix)
    assert "hard constraint `few-calls` violated" in result.stderr_tail


def test_a_tool_loop_that_never_answers_is_cut_off(tmp_path: Path) -> None:
    session = PlannedSession(
        [tool_call(f"toolu_{n}", "lookup_order", {"order_id": "A-1002"}) for n in range(6)]
    )

    result = run_agent(python_agent("claude_tool_agent.py"), session, document(), tmp_path)

    assert result.returncode == 1
    assert result.stderr_tail == "claude_tool_agent: no answer after 6 model calls\n"
    assert len(session.seen) == 6


# The POSIX shell agent: curl, sed and printf only

CURL_AGENT = ["sh", str(EXAMPLES / "curl_agent.sh")]


def test_the_shell_agent_sends_the_rendered_prompts_exactly(tmp_path: Path) -> None:
    system = 'Titles only.\nNo "quotes", no back\\slashes, no tabs:\t.'
    user = 'Bug: exporting as "CSV" drops the header — C:\\reports\\march.csv'
    session = PlannedSession([text("Export drops the header row")])

    result = run_agent(CURL_AGENT, session, document(system, user), tmp_path)

    assert (result.returncode, result.stderr_tail) == (0, "")
    [request] = session.seen
    assert (request.system, request.last_user_message) == (system, user)
    assert request.model == "claude-haiku-4-5"


def test_the_shell_agent_prints_the_reply_unescaped(tmp_path: Path) -> None:
    reply = 'Export to "CSV" drops the header\nin C:\\reports / every month'
    session = PlannedSession([text(reply)])

    result = run_agent(CURL_AGENT, session, document(), tmp_path)

    assert (result.returncode, result.stdout.decode()) == (0, reply + "\n")


def test_the_shell_agent_fails_with_the_refusal_on_stderr(tmp_path: Path) -> None:
    session = PlannedSession([BUDGET])

    result = run_agent(CURL_AGENT, session, document(), tmp_path)

    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr_tail.startswith("curl_agent: the model call failed with HTTP 400: {")
    assert "hard constraint `few-calls` violated" in result.stderr_tail


def test_the_shell_agent_refuses_a_document_without_prompts(tmp_path: Path) -> None:
    session = PlannedSession([])

    result = run_agent(CURL_AGENT, session, {"version": 1, "case": {"name": "x"}}, tmp_path)

    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr_tail == (
        "curl_agent: no prompt.system and prompt.user in the case document on stdin\n"
    )
    assert session.seen == []


# The HTTP service (the `http` agent's side of the wire: the case document in, gateway headers)


def load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def post_to_app(
    session: PlannedSession, body: bytes, *, with_gateway: bool = True, path: str = "/reply"
) -> tuple[int, Any]:
    """POST ``body`` to the example service as goalctl's http agent does; (status, JSON)."""
    server = load_example("http_app").make_server(0)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()

    def post(headers: dict[str, str]) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)

    async def go() -> tuple[int, Any]:
        async with Gateway() as gateway:
            key = gateway.open(session)
            headers = {"Content-Type": "application/json"}
            if with_gateway:
                headers["X-Goalctl-Gateway-Url"] = gateway.url
                headers["X-Goalctl-Gateway-Key"] = key
            # The service calls the gateway while this request waits: off the gateway's loop.
            return await asyncio.to_thread(post, headers)

    try:
        return asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_service_answers_a_case_through_the_gateway_in_its_headers() -> None:
    session = PlannedSession([text("We will send a replacement kettle today.")])

    status, answer = post_to_app(session, json.dumps(document()).encode())

    assert (status, answer) == (
        200,
        {"reply": "We will send a replacement kettle today.", "model": "model-x"},
    )
    [request] = session.seen
    assert (request.system, request.last_user_message) == (SYSTEM, QUESTION)


def test_the_service_passes_a_refusal_on_as_a_client_error() -> None:
    status, answer = post_to_app(PlannedSession([BUDGET]), json.dumps(document()).encode())

    assert status == 400
    assert "hard constraint `few-calls` violated" in answer["error"]


def test_the_service_refuses_a_request_without_the_gateway_or_a_case_document() -> None:
    session = PlannedSession([])

    assert post_to_app(session, json.dumps(document()).encode(), with_gateway=False) == (
        400,
        {"error": "no X-Goalctl-Gateway-Url and X-Goalctl-Gateway-Key"},
    )
    assert post_to_app(session, b'{"case": {}}') == (
        400,
        {"error": "not a case document: 'prompt'"},
    )
    assert post_to_app(session, b"{}", path="/other") == (
        404,
        {"error": "no such endpoint '/other'; POST /reply"},
    )
    assert session.seen == []
