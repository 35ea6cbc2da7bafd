"""The built-in ``llm`` agent's tool loop (DESIGN §12), end to end through ``goalctl run``.

Scripted replies drive the loop offline (one reply per model call of the case); the real
``anthropic`` and ``openai`` providers drive it against the loopback API servers; a recorded
tool loop replays. Each test reads what the model was sent (the provider's requests or the
transcript) and what the case recorded (report.json's trajectory).
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent, indent
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.support.chat_server import ChatServer
from tests.support.messages_server import MessagesServer, Reply

TOOLS = """\
tools:
  - name: get_order
    description: Looks an order up by its id.
    input_schema:
      type: object
      properties: {order_id: {type: string}}
      required: [order_id]
    mock:
      - {match: {order_id: A1}, result: {status: shipped, total: 40}}
      - {match: {order_id: B2}, result: {status: lost, total: 25}}
      - {when: "order_id.startswith('X')", error: "order archived"}
  - name: issue_refund
    description: Refunds an amount on an order.
    input_schema:
      type: object
      properties: {order_id: {type: string}, amount: {type: number}}
      required: [order_id, amount]
    mock:
      - {match: {}, result: refunded}
  - name: delete_account
    description: Deletes the customer's account.
    mock:
      - {match: {}, result: deleted}
"""


def write(tmp_path: Path, body: str, *, provider: str = "scripted", extra: str = "") -> Path:
    path = tmp_path / "support.yaml"
    header = f"""\
        id: support
        name: Support
        description: Answers questions about orders.
        provider: {provider}
        model: claude-haiku-4-5
        prompt: "{{{{ input.question }}}}"
        success_criteria:
          - {{id: answers, description: Answers, metric: output_contains, target: shipped}}
        """
    path.write_text(dedent(header) + extra + TOOLS + dedent(body))
    return path


def use(name: str, **args: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": args}


def responses(*replies: Any) -> str:
    # One block alone is written as the one-call form a scenario author would write.
    written = [{"tool_use": {k: r[k] for k in ("name", "input")}} if isinstance(r, dict) else r
               for r in replies]  # fmt: skip
    return indent("responses:\n" + "".join(f"  - {json.dumps(r)}\n" for r in written), "    ")


def case(name: str, *replies: Any, turns: str = "") -> str:
    question = json.dumps({"question": f"About {name}?"})
    return f"  - name: {name}\n    input: {question}\n" + responses(*replies) + turns


def run(path: Path, *args: str) -> dict[str, Any]:
    result = run_cli("run", *args, str(path))
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    assert (path.parent / "state" / "runs").is_dir(), result.stdout + result.stderr
    return {"exit": result.exit_code, "report": report(path)}


def report(path: Path) -> dict[str, Any]:
    state = path.parent / "state" / "runs"
    latest = sorted(state.iterdir(), key=lambda p: p.stat().st_mtime)[-1]
    return dict(json.loads((latest / "report.json").read_text()))


def transcript(path: Path) -> list[dict[str, Any]]:
    state = path.parent / "state" / "runs"
    latest = sorted(state.iterdir(), key=lambda p: p.stat().st_mtime)[-1]
    lines = (latest / "transcript.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def steps(case: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(s["tool"], s["args"], s["result"], s["error"]) for s in case["trajectory"]]


class TestScriptedLoop:
    def test_a_call_runs_and_its_result_goes_back_to_the_model(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "cases:\n" + case("a1", use("get_order", order_id="A1"), "Order A1 has shipped.")
        path = write(tmp_path, body)
        outcome = run(path)
        assert outcome["exit"] == 0
        [found] = outcome["report"]["cases"]
        assert found["output"] == "Order A1 has shipped."
        assert found["metrics"]["llm_calls"] == 2
        [step] = found["trajectory"]
        assert {k: v for k, v in step.items() if k != "elapsed_s"} == {
            "step": 1,
            "tool": "get_order",
            "args": {"order_id": "A1"},
            "result": {"status": "shipped", "total": 40},
            "error": None,
            "id": "toolu_a1_1",
            "source": "model",
        }
        assert 0 <= step["elapsed_s"] < 5
        first, second = transcript(path)
        assert first["messages"] == [{"role": "user", "content": "About a1?"}]
        assert second["messages"][1]["content"] == [
            {"type": "tool_use", "id": "toolu_a1_1", "name": "get_order",
             "input": {"order_id": "A1"}}
        ]  # fmt: skip
        assert second["messages"][2] == {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_a1_1",
                    "content": '{"status": "shipped", "total": 40}',
                }
            ],
        }

    def test_parallel_calls_all_run_and_answer_in_call_order(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        parallel = [
            {"type": "text", "text": "Checking both."},
            use("get_order", order_id="B2"),
            use("get_order", order_id="A1"),
            use("get_order", order_id="X9"),
        ]
        body = "cases:\n" + case("both", parallel, "A1 shipped, B2 is lost.")
        path = write(tmp_path, body)
        [found] = run(path)["report"]["cases"]
        assert steps(found) == [
            ("get_order", {"order_id": "B2"}, {"status": "lost", "total": 25}, None),
            ("get_order", {"order_id": "A1"}, {"status": "shipped", "total": 40}, None),
            ("get_order", {"order_id": "X9"}, None, "order archived"),
        ]
        second = transcript(path)[1]
        assert second["messages"][1]["content"][0] == {"type": "text", "text": "Checking both."}
        results = second["messages"][2]["content"]
        assert [(r["tool_use_id"], r.get("is_error", False)) for r in results] == [
            ("toolu_both_1", False),
            ("toolu_both_2", False),
            ("toolu_both_3", True),
        ]
        assert results[2]["content"] == "order archived"

    def test_a_tool_called_again_and_again_is_recorded_each_time(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "cases:\n" + case(
            "again",
            use("get_order", order_id="B2"),
            use("get_order", order_id="A1"),
            use("issue_refund", order_id="B2", amount=25),
            "B2 refunded; A1 shipped.",
        )
        [found] = run(write(tmp_path, body))["report"]["cases"]
        assert [(s["step"], s["tool"], s["id"]) for s in found["trajectory"]] == [
            (1, "get_order", "toolu_again_1"),
            (2, "get_order", "toolu_again_2"),
            (3, "issue_refund", "toolu_again_3"),
        ]
        assert found["trajectory"][2]["result"] == "refunded"
        assert found["metrics"]["llm_calls"] == 4

    def test_invalid_arguments_go_back_as_an_error_and_the_tool_does_not_run(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "cases:\n" + case(
            "bad", use("issue_refund", order_id="A1", amount="all"), "Sorry, shipped."
        )
        path = write(tmp_path, body)
        [found] = run(path)["report"]["cases"]
        error = (
            'invalid arguments for issue_refund({"amount": "all", "order_id": "A1"}) at amount: '
            "'all' is not of type 'number' (see the tool's input_schema)"
        )
        assert steps(found) == [("issue_refund", {"order_id": "A1", "amount": "all"}, None, error)]
        result = transcript(path)[1]["messages"][2]["content"][0]
        assert result == {
            "type": "tool_result",
            "tool_use_id": "toolu_bad_1",
            "content": error,
            "is_error": True,
        }

    def test_max_steps_ends_the_case_with_an_error_saying_so(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "config: {max_steps: 3}\ncases:\n" + case("loop", use("get_order", order_id="A1"))
        outcome = run(write(tmp_path, body))
        [found] = outcome["report"]["cases"]
        assert outcome["exit"] == 1
        assert found["metrics"]["llm_calls"] == 3
        assert len(found["trajectory"]) == 3
        assert found["error"] == (
            "the model was still calling tools after 3 model calls in one turn (max_steps: 3)"
        )
        assert [c["passed"] for c in found["checks"]] == [False]


NO_DELETE = """\
constraints:
  - id: no-account-deletion
    description: Never delete an account
    constraint_type: hard
    check: "not any(s['tool'] == 'delete_account' for s in trajectory)"
"""


class TestScreening:
    def test_a_refused_call_never_runs_and_ends_the_case_on_its_constraint(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        parallel = [
            {"type": "text", "text": "Refunding, then closing."},
            use("issue_refund", order_id="B2", amount=25),
            use("delete_account"),
            use("get_order", order_id="A1"),
        ]
        body = "cases:\n" + case(
            "close", use("get_order", order_id="B2"), parallel, "Never sent: the case ended."
        )
        outcome = run(write(tmp_path, body, extra=NO_DELETE))
        [found] = outcome["report"]["cases"]
        assert outcome["exit"] == 1
        assert found["status"] == "failed"
        assert found["metrics"]["llm_calls"] == 2
        assert found["output"] == "Refunding, then closing."
        refusal = (
            "refused by hard constraint `no-account-deletion` before it ran (not any(s['tool'] == "
            "'delete_account' for s in trajectory) → false)"
        )
        # The call before the refused one ran; the one after it neither ran nor was recorded.
        assert steps(found) == [
            ("get_order", {"order_id": "B2"}, {"status": "lost", "total": 25}, None),
            ("issue_refund", {"order_id": "B2", "amount": 25}, "refunded", None),
            ("delete_account", {}, None, refusal),
        ]
        assert found["trajectory"][2]["refused"] == "no-account-deletion"
        assert "elapsed_s" not in found["trajectory"][2]
        [constraint] = found["constraints"]
        assert (constraint["constraint"], constraint["satisfied"]) == (
            "no-account-deletion",
            False,
        )

    def test_calls_the_constraints_allow_run_as_usual(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "cases:\n" + case("fine", use("get_order", order_id="A1"), "A1 shipped.")
        outcome = run(write(tmp_path, body, extra=NO_DELETE))
        assert outcome["exit"] == 0
        [found] = outcome["report"]["cases"]
        assert [s.get("refused") for s in found["trajectory"]] == [None]


class TestRetries:
    def test_a_retry_continues_the_conversation_and_the_trajectory_spans_attempts(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        body = "config: {max_attempts: 2}\ncases:\n" + case(
            "retry",
            use("get_order", order_id="B2"),
            "B2 is lost.",
            use("get_order", order_id="A1"),
            "A1 has shipped.",
        )
        path = write(tmp_path, body)
        outcome = run(path)
        assert outcome["exit"] == 0
        [found] = outcome["report"]["cases"]
        assert (found["output"], found["attempts"]) == ("A1 has shipped.", 2)
        assert [s["args"]["order_id"] for s in found["trajectory"]] == ["B2", "A1"]
        third = transcript(path)[2]
        assert [m["role"] for m in third["messages"]] == [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]
        assert third["messages"][3] == {"role": "assistant", "content": "B2 is lost."}
        assert "Answers" in third["messages"][4]["content"]


def tool_reply(*blocks: dict[str, Any]) -> Reply:
    return Reply(text="", content=list(blocks), stop_reason="tool_use")


class TestRealProviders:
    def test_the_anthropic_sdk_loop_sends_tools_and_results(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        call = {"type": "tool_use", "id": "toolu_live_1", "name": "get_order",
                "input": {"order_id": "A1"}}  # fmt: skip
        with MessagesServer() as server:
            server.enqueue(tool_reply({"type": "text", "text": "Looking."}, call))
            server.enqueue(Reply(text="A1 has shipped."))
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-llm-tools-0123456789")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
            body = "cases: [{name: live, input: {question: 'Where is A1?'}}]\n"
            path = write(tmp_path, body, provider="anthropic")
            outcome = run(path)
            first, second = (r.body for r in server.requests)
        assert outcome["exit"] == 0
        assert [t["name"] for t in first["tools"]] == [
            "get_order",
            "issue_refund",
            "delete_account",
        ]
        assert first["tools"][0] == {
            "name": "get_order",
            "description": "Looks an order up by its id.",
            "input_schema": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        }
        assert second["messages"][1] == {
            "role": "assistant",
            "content": [{"type": "text", "text": "Looking."}, call],
        }
        assert second["messages"][2]["content"] == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_live_1",
                "content": '{"status": "shipped", "total": 40}',
            }
        ]
        [found] = outcome["report"]["cases"]
        assert steps(found) == [
            ("get_order", {"order_id": "A1"}, {"status": "shipped", "total": 40}, None)
        ]

    def test_the_openai_sdk_loop_sends_tools_and_results(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        call = {"type": "tool_use", "id": "call_7", "name": "get_order",
                "input": {"order_id": "B2"}}  # fmt: skip
        with ChatServer() as server:
            server.enqueue(tool_reply(call))
            server.enqueue(Reply(text="B2 was lost; A1 shipped."))
            monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-llm-tools-5678")
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            body = "cases: [{name: live, input: {question: 'Where is B2?'}}]\nmodel: gpt-test\n"
            path = write(tmp_path, body.replace("model: gpt-test\n", ""), provider="openai")
            path.write_text(path.read_text().replace("claude-haiku-4-5", "gpt-4o-mini"))
            outcome = run(path)
            first, second = (r.body for r in server.requests)
        assert outcome["exit"] == 0, outcome
        assert [t["function"]["name"] for t in first["tools"]] == [
            "get_order",
            "issue_refund",
            "delete_account",
        ]
        assistant, result = second["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == "call_7"
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"order_id": "B2"}
        assert result == {
            "role": "tool",
            "tool_call_id": "call_7",
            "content": '{"status": "lost", "total": 25}',
        }
        [found] = outcome["report"]["cases"]
        assert found["output"] == "B2 was lost; A1 shipped."
        assert [s["id"] for s in found["trajectory"]] == ["call_7"]

    def test_a_recorded_tool_loop_replays_with_its_results_in_the_keys(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        call = {"type": "tool_use", "id": "toolu_rec_1", "name": "get_order",
                "input": {"order_id": "A1"}}  # fmt: skip
        with MessagesServer() as server:
            server.enqueue(tool_reply(call), Reply(text="A1 has shipped."))
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-llm-tools-0123456789")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
            body = "cases: [{name: rec, input: {question: 'Where is A1?'}}]\n"
            path = write(tmp_path, body, provider="anthropic")
            recorded = run(path, "--record")
        monkeypatch.delenv("ANTHROPIC_API_KEY")
        monkeypatch.delenv("ANTHROPIC_BASE_URL")
        cassette = [
            json.loads(line)
            for line in (tmp_path / "support.cassette.jsonl").read_text().splitlines()
        ]
        assert len(cassette) == 2
        assert cassette[1]["request"]["messages"][2]["content"][0]["tool_use_id"] == "toolu_rec_1"
        replayed = run(path, "--provider", "replay")
        assert replayed["exit"] == recorded["exit"] == 0
        [before], [after] = recorded["report"]["cases"], replayed["report"]["cases"]
        assert after["output"] == before["output"] == "A1 has shipped."
        strip = [{k: v for k, v in s.items() if k != "elapsed_s"} for s in after["trajectory"]]
        assert strip == [
            {k: v for k, v in s.items() if k != "elapsed_s"} for s in before["trajectory"]
        ]
        # A different tool result is a different request: the cassette has no reply for it.
        path.write_text(path.read_text().replace("status: shipped", "status: delayed"))
        changed = run_cli("run", "--provider", "replay", str(path))
        assert changed.exit_code == 3, changed.stdout + changed.stderr
        assert "cassette" in changed.stdout + changed.stderr
