"""A user's agent under the run's rules: budgets, fail fast, record → replay, secrets.

The agents are programs (tests/fixtures/agents/) using the real anthropic SDK against goalctl's
gateway; where a live provider is needed, goalctl's own anthropic provider talks to the
loopback MessagesServer (tests/support/messages_server.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Status
from tests.test_command_agent import copy_agent, read_jsonl, run_dir, scenario

LIVE = "provider: anthropic\nmodel: claude-haiku-4-5\n"

REAL_KEY = "sk-ant-REAL-KEY-never-for-agents-0123456789"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    """goalctl's anthropic provider pointed at a loopback Messages API server."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", REAL_KEY)
    with MessagesServer() as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.url)
        yield running


def python_command(agent: str) -> str:
    return f"[{json.dumps(sys.executable)}, {json.dumps(agent)}]"


def process_gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_budget_stops_the_agent_at_the_call_that_crosses_it(
    tmp_path: Path, isolated_environment: Path
) -> None:
    agent = copy_agent(tmp_path, "looping_agent.py")
    pid_file = tmp_path / "agent.pid"
    path = scenario(
        tmp_path,
        f"""
        config:
          command: {python_command(agent)}
          env: {{PID_FILE: {json.dumps(str(pid_file))}}}
        constraints:
          - {{id: calls, description: At most two calls, check: llm_calls <= 2, category: cost}}
        success_criteria:
          - {{id: any, description: Anything, metric: output_contains, target: ""}}
        responses: ["thinking"]
        cases: [{{name: greedy}}]
        """,
    )

    started = time.monotonic()
    result = run_cli("run", str(path))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 60  # not the agent's 120 s linger
    assert process_gone(int(pid_file.read_text()))
    directory = run_dir(isolated_environment)
    assert [c["case"] for c in read_jsonl(directory / "transcript.jsonl")] == ["greedy"] * 3
    events = (directory / "events.jsonl").read_text()
    assert "greedy stderr: call 3 refused (400)" in events
    assert (
        "goalctl: hard constraint `calls` violated (llm_calls <= 2 \u2192 false); the run stops"
        in events
    )
    report = json.loads((directory / "report.json").read_text())
    assert report["verdict"] == "not_achieved"
    assert report["budget_stop"]["constraint"] == "calls"
    assert "llm_calls <= 2" in (directory / "report.md").read_text()


def test_a_rejected_key_stops_the_run_with_one_message(
    tmp_path: Path, isolated_environment: Path, server: MessagesServer
) -> None:
    server.enqueue(Status(401, message="invalid x-api-key"))
    agent = copy_agent(tmp_path, "claude_agent.py")
    path = scenario(
        tmp_path,
        f"""
        config:
          command: {python_command(agent)}
        success_criteria:
          - {{id: any, description: Anything, metric: output_contains, target: ""}}
        cases: [{{name: a}}, {{name: b}}, {{name: c}}]
        """,
        LIVE,
    )

    result = run_cli("run", "--concurrency", "1", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    assert len(server.requests) == 1
    message = "anthropic: authentication failed (401)"
    assert result.stderr.count(message) + result.stdout.count(message) == 1
    report = json.loads((run_dir(isolated_environment) / "report.json").read_text())
    assert message in report["error"]
    assert "cases not run" in report["error"]
    assert "Traceback" not in result.stderr


def test_record_then_replay_with_no_network_gives_the_same_verdict(
    tmp_path: Path, isolated_environment: Path, server: MessagesServer
) -> None:
    agent = copy_agent(tmp_path, "claude_agent.py")
    path = scenario(
        tmp_path,
        f"""
        config:
          command: {python_command(agent)}
        success_criteria:
          - {{id: echoes, description: Echoes the name, metric: output_contains, target: Ada}}
        cases:
          - {{name: ada, input: {{name: Ada}}}}
          - {{name: bob, input: {{name: Bob}}}}
        prompt: "Say hello to {{{{ input.name }}}}"
        """,
        LIVE,
    )

    recorded = run_cli("run", "--record", str(path))
    server.stop()
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        os.environ.pop(name)
    replayed = run_cli("run", "--provider", "replay", str(path))

    assert recorded.exit_code == replayed.exit_code == 1, recorded.stderr + replayed.stderr
    assert len(server.requests) == 2
    reports = [
        json.loads((d / "report.json").read_text())
        for d in sorted((isolated_environment / "runs").iterdir(), key=lambda d: d.stat().st_mtime)
    ]
    assert [r["provider"] for r in reports] == ["anthropic", "replay"]
    assert reports[0]["verdict"] == reports[1]["verdict"] == "not_achieved"
    for report in reports:
        outputs = {c["name"]: (c["output"], c["status"]) for c in report["cases"]}
        assert outputs == {
            "ada": ("echo: Say hello to Ada", "passed"),
            "bob": ("echo: Say hello to Bob", "failed"),
        }


def test_env_secrets_never_reach_a_file_and_real_keys_never_reach_the_agent(
    tmp_path: Path,
    isolated_environment: Path,
    server: MessagesServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "tok-the-agents-own-secret-98765"
    monkeypatch.setenv("MY_TOKEN", secret)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-REAL-never-for-agents-42")
    agent = copy_agent(tmp_path, "leaky_agent.py")
    dump = tmp_path / "agent-env" / "env.json"
    dump.parent.mkdir()
    path = scenario(
        tmp_path,
        f"""
        config:
          command: {python_command(agent)}
          env: {{TOKEN: "Bearer ${{MY_TOKEN}}", ENV_DUMP: {json.dumps(str(dump))}}}
        success_criteria:
          - {{id: any, description: Anything, metric: output_contains, target: "echo"}}
        cases: [{{name: leaky}}]
        """,
        LIVE,
    )
    reports = tmp_path / "reports"

    result = run_cli(
        "run",
        "--record",
        "--report-dir",
        str(reports),
        "--junit",
        str(tmp_path / "j.xml"),
        str(path),
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"my token is Bearer {secret}" in json.dumps(server.requests[0].body)  # it was used
    written = [
        p for p in tmp_path.rglob("*") if p.is_file() and dump.parent not in p.parents and p != path
    ]
    assert {p.name for p in written} >= {
        "transcript.jsonl",
        "events.jsonl",
        "checkpoint.jsonl",
        "state.json",
        "report.json",
        "report.md",
        "agent.cassette.jsonl",
        "j.xml",
    }
    for file in written:
        assert secret not in file.read_text(errors="replace"), file
    assert "[REDACTED]" in (run_dir(isolated_environment) / "events.jsonl").read_text()
    environment = json.loads(dump.read_text())
    assert environment["ANTHROPIC_API_KEY"].startswith("gk-")
    assert environment["OPENAI_API_KEY"] == environment["ANTHROPIC_API_KEY"]
    assert REAL_KEY not in dump.read_text()
    assert "sk-openai-REAL" not in dump.read_text()
