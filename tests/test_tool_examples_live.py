"""The tool examples of ``scenarios/`` with a real model API in place of the scripted one.

Each scenario's scripted replies are played by the loopback Messages API server instead, and
the scenario runs with ``--provider anthropic``: the real SDK sends the tools, gets
``tool_use`` blocks, and goalctl runs the tools and sends their results back. The trajectory,
the answers and the verdict must be those of the offline run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from goalctl.scenario.loader import load_scenario
from goalctl.scenario.model import ToolUseReply
from tests.conftest import REPO, run_cli
from tests.support.messages_server import MessagesServer, Reply

EXAMPLES = ["refund-support-tools.md", "table-booking-turns.md", "coding-fizzbuzz.md"]


def planned(path: Path) -> list[Reply]:
    """The scenario's scripted replies, case after case, as the server's replies."""
    replies = []
    for index, case in enumerate(load_scenario(path).cases):
        for number, reply in enumerate(case.responses or [], start=1):
            call_id = f"toolu_{index}_{number}"
            if isinstance(reply, str):
                replies.append(Reply(text=reply))
            elif isinstance(reply, ToolUseReply):
                call = reply.tool_use
                block = {"type": "tool_use", "id": call_id, "name": call.name, "input": call.input}
                replies.append(Reply(text="", content=[block], stop_reason="tool_use"))
            else:
                blocks: list[dict[str, Any]] = []
                for position, block in enumerate(reply):
                    data = block.model_dump()
                    if data["type"] == "tool_use":
                        data["id"] = f"{call_id}_{position}"
                    blocks.append(data)
                replies.append(Reply(text="", content=blocks, stop_reason="tool_use"))
    return replies


def outcome(state: Path) -> dict[str, Any]:
    [run] = (state / "runs").iterdir()
    report = json.loads((run / "report.json").read_text())
    return {
        "verdict": report["verdict"],
        "cases": [
            {
                "name": case["name"],
                "status": case["status"],
                "text": case["text"],
                "answers": case.get("answers", []),
                "checks": [(c["criterion"], c["passed"]) for c in case["checks"]],
                "steps": [
                    (s["tool"], s["args"], s["result"], s["error"])
                    for s in case.get("trajectory", [])
                ],
            }
            for case in report["cases"]
        ],
    }


@pytest.mark.usefixtures("venv_on_path")
@pytest.mark.parametrize("name", EXAMPLES)
def test_a_tool_example_runs_the_same_against_the_messages_api(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = REPO / "scenarios" / name
    offline = tmp_path / "offline"
    scripted = run_cli("--state-dir", str(offline), "run", "--concurrency", "1", str(path))
    assert scripted.exit_code == 0, scripted.stdout + scripted.stderr

    live = tmp_path / "live"
    with MessagesServer() as server:
        server.enqueue(*planned(path))
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-tool-examples-0123456789")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        result = run_cli(
            "--state-dir",
            str(live),
            "run",
            "--provider",
            "anthropic",
            "--concurrency",
            "1",
            str(path),
        )
        requests = [r.body for r in server.requests]

    assert result.exit_code == 0, result.stdout + result.stderr
    assert outcome(live) == outcome(offline)
    assert outcome(live)["verdict"] == "achieved"
    declared = [tool.name for tool in load_scenario(path).spec.tools]
    assert all([t["name"] for t in body["tools"]] == declared for body in requests)
    # Every call after a tool call carries the results of that call, by its id.
    results = 0
    for body in requests[1:]:
        last = body["messages"][-1]
        if isinstance(last["content"], list) and last["content"][0]["type"] == "tool_result":
            made = [b["id"] for b in body["messages"][-2]["content"] if b["type"] == "tool_use"]
            assert [b["tool_use_id"] for b in last["content"]] == made
            results += 1
    assert results == sum(reply.stop_reason == "tool_use" for reply in planned(path))
