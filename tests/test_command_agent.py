"""The ``command`` agent: a user's own program under a goal, its model calls through the gateway."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tests.conftest import run_cli

AGENTS = Path(__file__).parent / "fixtures" / "agents"


def scenario(tmp_path: Path, body: str, provider: str = "provider: scripted\n") -> Path:
    """``agent.yaml``: a command-agent scenario with ``body`` (``provider`` lines first)."""
    path = tmp_path / "agent.yaml"
    header = "id: mine\nname: Mine\ndescription: My own agent.\nagent: command\n"
    path.write_text(header + provider + dedent(body))
    return path


def copy_agent(tmp_path: Path, name: str) -> str:
    shutil.copy(AGENTS / name, tmp_path / name)
    return str(tmp_path / name)


def run_dir(state: Path) -> Path:
    [found] = (state / "runs").iterdir()
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_python_agent_using_the_anthropic_sdk_is_served_by_the_scenario_provider(
    tmp_path: Path, isolated_environment: Path
) -> None:
    agent = copy_agent(tmp_path, "claude_agent.py")
    path = scenario(
        tmp_path,
        f"""
        config:
          command: [{json.dumps(sys.executable)}, {json.dumps(agent)}]
        success_criteria:
          - {{id: greets, description: Greets Ada, metric: output_contains, target: hello Ada}}
        cases:
          - name: ada
            input: {{name: Ada}}
            responses: ["hello Ada"]
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    directory = run_dir(isolated_environment)
    (call,) = read_jsonl(directory / "transcript.jsonl")
    assert (call["case"], call["provider"], call["response"]) == ("ada", "scripted", "hello Ada")
    events = (directory / "events.jsonl").read_text()
    assert "ada stderr: tried once" in events
    report = json.loads((directory / "report.json").read_text())
    assert report["cases"][0]["output"] == "hello Ada"
    assert report["cases"][0]["metrics"]["llm_calls"] == 1


def test_a_python_agent_using_the_openai_sdk_streams_through_the_gateway(
    tmp_path: Path, isolated_environment: Path
) -> None:
    agent = copy_agent(tmp_path, "openai_agent.py")
    path = scenario(
        tmp_path,
        f"""
        config:
          command: [{json.dumps(sys.executable)}, {json.dumps(agent)}]
        success_criteria:
          - {{id: greets, description: Greets Ada, metric: output_contains, target: hello Ada}}
        cases:
          - name: ada
            input: {{name: Ada}}
            responses: ["hello Ada"]
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    directory = run_dir(isolated_environment)
    (call,) = read_jsonl(directory / "transcript.jsonl")
    assert (call["case"], call["response"]) == ("ada", "hello Ada")
    report = json.loads((directory / "report.json").read_text())
    assert report["cases"][0]["output"] == "hello Ada"


def test_a_shell_script_agent_calls_the_gateway_with_curl(
    tmp_path: Path, isolated_environment: Path
) -> None:
    assert shutil.which("curl"), "curl is needed (.ci/run installs it)"
    agent = copy_agent(tmp_path, "curl_agent.sh")
    path = scenario(
        tmp_path,
        f"""
        config:
          command: {json.dumps(agent)}
        success_criteria:
          - {{id: greets, description: Greets, metric: output_contains, target: hello}}
        cases:
          - {{name: ada, responses: ["hello Ada"]}}
          - {{name: bob, responses: ["hello Bob"]}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    directory = run_dir(isolated_environment)
    calls = sorted(
        (c["case"], c["messages"][0]["content"]) for c in read_jsonl(directory / "transcript.jsonl")
    )
    assert calls == [("ada", "case ada"), ("bob", "case bob")]
    report = json.loads((directory / "report.json").read_text())
    assert {c["name"]: c["output"] for c in report["cases"]} == {
        "ada": "hello Ada",
        "bob": "hello Bob",
    }
    events = (directory / "events.jsonl").read_text()
    assert "bob stderr: called the gateway for bob" in events


def test_each_case_works_in_a_fresh_copy_of_the_workspace_and_nothing_is_left_behind(
    tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "seed.txt").write_text("seed")
    # Each case lists its working directory, then leaves a file there and a trajectory step.
    program = (
        'ls -A; touch "left-by-$GOALCTL_CASE"; '
        'echo \'{"tool": "touch", "args": {}}\' >> "$GOALCTL_TRAJECTORY"'
    )
    path = scenario(
        tmp_path,
        f"""
        config:
          command: [sh, -c, {json.dumps(program)}]
          workspace: ws
          output: text
        success_criteria:
          - {{id: seeded, description: Sees the seed, metric: output_contains, target: seed.txt}}
        cases:
          - {{name: a, input: {{n: 1}}}}
          - {{name: b, input: {{n: 2}}}}
          - {{name: c, input: {{n: 3}}}}
        """,
    )

    result = run_cli("run", "--concurrency", "1", str(path))

    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads((run_dir(isolated_environment) / "report.json").read_text())
    assert [c["output"] for c in report["cases"]] == ["seed.txt"] * 3
    assert [len(c["trajectory"]) for c in report["cases"]] == [1, 1, 1]
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["seed.txt"]
