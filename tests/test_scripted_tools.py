"""Scripted replies that call tools (DESIGN §12), served to a real agent's tool loop.

The scripted provider answers with ``tool_use`` blocks whose ids depend only on the case and
the conversation, so a tool loop is as deterministic offline as a text reply; a recording of a
live tool loop replays the same blocks; and every step lands in the case's trajectory.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from goalctl.errors import ProviderError
from goalctl.providers.base import CompletionRequest, Message
from goalctl.providers.scripted import ScriptedProvider
from tests.conftest import run_cli
from tests.support.messages_server import MessagesServer, Reply

AGENTS = Path(__file__).parent / "fixtures" / "agents"
WEATHER = {"name": "get_weather", "input_schema": {"type": "object"}}


def request(*messages: Message, case: str = "paris", purpose: str = "agent") -> CompletionRequest:
    return CompletionRequest(
        "claude-haiku-4-5", tuple(messages), case=case, purpose=purpose, tools=(WEATHER,)
    )


def ask(provider: ScriptedProvider, *requests: CompletionRequest) -> list[Any]:
    async def go() -> list[Any]:
        return [await provider.complete(r) for r in requests]

    return asyncio.run(go())


def result_message(call_id: str, content: str, is_error: bool = False) -> Message:
    block = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    return Message("user", (block | {"is_error": True},) if is_error else (block,))


class TestScriptedReplies:
    def test_a_case_tool_loop_takes_its_replies_in_turn(self) -> None:
        call = {"tool_use": {"name": "get_weather", "input": {"city": "Paris"}}}
        provider = ScriptedProvider(case_responses={"paris": (call, "Sunny in Paris.")})
        question = Message("user", "Weather in Paris?")
        first, second = ask(
            provider,
            request(question),
            request(question, Message("assistant", ()), result_message("toolu_paris_1", "sun")),
        )
        assert first.text == ""
        assert first.stop_reason == "tool_use"
        assert first.content == (
            {
                "type": "tool_use",
                "id": "toolu_paris_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        )
        assert first.tool_calls == first.content
        assert (second.text, second.stop_reason, second.content) == (
            "Sunny in Paris.",
            "end_turn",
            (),
        )

    def test_ids_count_the_calls_the_conversation_already_carries(self) -> None:
        blocks = [
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "name": "get_weather", "input": {"city": "Rome"}},
        ]
        provider = ScriptedProvider(responses=(blocks,), case_order=("Big city / 2",))
        earlier = {"type": "tool_use", "id": "toolu_x_1", "name": "get_weather", "input": {}}
        conversation = (Message("user", "go"), Message("assistant", (earlier,)))
        (reply,) = ask(provider, request(*conversation, case="Big city / 2"))
        assert reply.text == "Checking both."
        assert [b.get("id") for b in reply.content] == [
            None,
            "toolu_Big_city___2_2",
            "toolu_Big_city___2_3",
        ]
        assert reply.stop_reason == "tool_use"

    def test_concurrent_cases_get_their_own_replies_whatever_the_arrival_order(self) -> None:
        replies = {
            name: ({"tool_use": {"name": "get_weather", "input": {"city": name}}}, f"done {name}")
            for name in ("a", "b", "c")
        }
        provider = ScriptedProvider(case_responses=replies, latency_ms=5)

        async def loop(name: str) -> list[Any]:
            first = await provider.complete(request(Message("user", "go"), case=name))
            follow = result_message(first.content[0]["id"], "ok")
            second = await provider.complete(
                request(
                    Message("user", "go"), Message("assistant", first.content), follow, case=name
                )
            )
            return [first.content[0]["input"], first.content[0]["id"], second.text]

        async def together() -> list[list[Any]]:
            return list(await asyncio.gather(*(loop(n) for n in ("c", "a", "b"))))

        assert asyncio.run(together()) == [
            [{"city": n}, f"toolu_{n}_1", f"done {n}"] for n in ("c", "a", "b")
        ]

    def test_rules_see_tool_results_so_a_rule_can_answer_them(self) -> None:
        rules = (
            {"match": "no such city", "reply": "Sorry, I could not find it."},
            {"match": "sky.*sunny", "reply": "It is sunny."},
            {"match": "Weather", "reply": {"tool_use": {"name": "get_weather", "input": {}}}},
        )
        provider = ScriptedProvider(responses=rules)
        question = Message("user", "Weather in Paris?")
        asked, sunny, failed = ask(
            provider,
            request(question),
            request(question, result_message("t1", '{"sky": "sunny"}')),
            request(question, result_message("t1", "no such city: Atlantis", is_error=True)),
        )
        assert asked.tool_calls[0]["name"] == "get_weather"
        assert (sunny.text, failed.text) == ("It is sunny.", "Sorry, I could not find it.")

    def test_a_tool_only_reply_still_costs_tokens_and_so_do_tools_and_results(self) -> None:
        call = {"tool_use": {"name": "get_weather", "input": {"city": "Paris"}}}
        provider = ScriptedProvider(case_responses={"paris": (call,)})
        bare = CompletionRequest("m", (Message("user", "go"),), case="paris")
        (plain,) = ask(provider, bare)
        (with_tools,) = ask(
            provider, request(Message("user", "go"), result_message("t", "x" * 400))
        )
        assert plain.usage.output_tokens == len('get_weather {"city": "Paris"}') // 4 + 1
        assert plain.usage.input_tokens == 1
        assert with_tools.usage.input_tokens > 100 + plain.usage.input_tokens

    def test_a_list_of_text_blocks_is_a_plain_reply(self) -> None:
        provider = ScriptedProvider(
            responses=([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],)
        )
        (reply,) = ask(provider, request(Message("user", "go")))
        assert (reply.text, reply.content, reply.stop_reason) == ("ab", (), "end_turn")

    def test_a_malformed_reply_given_to_the_library_is_a_provider_error(self) -> None:
        with pytest.raises(ProviderError, match=r"scripted: 5 is not a reply"):
            ScriptedProvider(responses=(5,))
        with pytest.raises(ProviderError, match="is not a mapping"):
            ScriptedProvider(responses=({"tool_use": {"name": "f", "input": [1]}},))


def scenario(tmp_path: Path, body: str, provider: str = "scripted") -> Path:
    shutil.copy(AGENTS / "tool_loop_agent.py", tmp_path / "tool_loop_agent.py")
    path = tmp_path / "weather.yaml"
    header = f"""\
        id: weather
        name: Weather
        description: Tells the weather.
        provider: {provider}
        model: claude-haiku-4-5
        agent: command
        config:
          command: [{json.dumps(sys.executable)}, {json.dumps(str(tmp_path / "tool_loop_agent.py"))}]
          output: text
        prompt: "Weather in {{{{ input.city }}}}?"
        success_criteria:
          - {{id: sunny, description: Says it is sunny, metric: output_contains, target: sunny}}
        """
    path.write_text(dedent(header) + dedent(body))
    return path


def only_run(state: Path) -> Path:
    [found] = (state / "runs").iterdir()
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestToolLoopsEndToEnd:
    def test_a_scripted_tool_loop_fills_the_trajectory_and_the_transcript(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            cases:
              - name: paris
                input: {city: Paris}
                responses:
                  - {tool_use: {name: get_weather, input: {city: Paris}}}
                  - "It is sunny in Paris."
              - name: atlantis
                input: {city: Atlantis}
                responses:
                  - [{type: text, text: "Let me look."}, {type: tool_use, name: get_weather, input: {city: Atlantis}}]
                  - "I could not find Atlantis."
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 1, result.stdout + result.stderr
        directory = only_run(isolated_environment)
        report = json.loads((directory / "report.json").read_text())
        paris, atlantis = report["cases"]
        assert paris["output"] == "It is sunny in Paris."
        assert paris["trajectory"] == [
            {
                "step": 1,
                "tool": "get_weather",
                "args": {"city": "Paris"},
                "result": {"city": "Paris", "sky": "sunny"},
                "error": None,
                "id": "toolu_paris_1",
                "source": "model",
            }
        ]
        assert atlantis["status"] == "failed"
        assert [(s["tool"], s["result"], s["error"]) for s in atlantis["trajectory"]] == [
            ("get_weather", None, "no such city: Atlantis")
        ]
        calls = read_jsonl(directory / "transcript.jsonl")
        first = next(c for c in calls if c["case"] == "atlantis" and c["stop_reason"] == "tool_use")
        assert first["response"] == "Let me look."
        assert first["content"][1] == {
            "type": "tool_use",
            "id": "toolu_atlantis_1",
            "name": "get_weather",
            "input": {"city": "Atlantis"},
        }
        assert first["usage"]["output_tokens"] > 0
        assert paris["metrics"]["llm_calls"] == 2

    def test_a_rule_answers_the_tool_result(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            cases: [{name: rome, input: {city: Rome}}]
            responses:
              - {match: '"sky": "sunny"', reply: "The tool says sunny."}
              - {match: Weather, reply: {tool_use: {name: get_weather, input: {city: Rome}}}}
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr
        report = json.loads((only_run(isolated_environment) / "report.json").read_text())
        [case] = report["cases"]
        assert case["output"] == "The tool says sunny."
        assert [s["args"] for s in case["trajectory"]] == [{"city": "Rome"}]

    def test_a_redacted_value_in_a_tool_call_never_reaches_the_agent(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        # Replay = record: the cassette keeps the call redacted, so the agent must see it so.
        path = scenario(
            tmp_path,
            """
            redact: ['ACCT-\\d+']
            cases:
              - name: acct
                input: {city: Paris}
                responses:
                  - {tool_use: {name: get_weather, input: {city: ACCT-991}}}
                  - "sunny"
            """,
        )
        assert run_cli("run", str(path)).exit_code == 0
        directory = only_run(isolated_environment)
        [case] = json.loads((directory / "report.json").read_text())["cases"]
        assert case["trajectory"][0]["args"] == {"city": "[REDACTED]"}
        assert case["trajectory"][0]["result"] == {"city": "[REDACTED]", "sky": "sunny"}
        assert "ACCT-991" not in (directory / "transcript.jsonl").read_text()

    def test_an_openai_sdk_agent_gets_the_scripted_call_as_tool_calls(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            cases:
              - name: lima
                input: {city: Lima}
                responses:
                  - [{type: text, text: "Checking."}, {type: tool_use, name: get_weather, input: {city: Lima}}]
                  - "It is sunny in Lima."
            """,
        )
        shutil.copy(AGENTS / "openai_tool_loop_agent.py", tmp_path / "tool_loop_agent.py")
        result = run_cli("run", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr
        directory = only_run(isolated_environment)
        [case] = json.loads((directory / "report.json").read_text())["cases"]
        assert case["output"] == "It is sunny in Lima."
        assert [(s["id"], s["args"], s["result"]) for s in case["trajectory"]] == [
            ("toolu_lima_1", {"city": "Lima"}, {"city": "Lima", "sky": "sunny"})
        ]
        first, second = read_jsonl(directory / "transcript.jsonl")
        assert first["content"][1]["id"] == second["messages"][1]["content"][1]["id"]


class TestRecordAndReplay:
    @pytest.mark.parametrize(
        ("redact", "city"),
        [("", "Oslo"), ("redact: [Oslo, tool_use, 'toolu_\\w+']\n", "[REDACTED]")],
        ids=["plain", "redacted"],
    )
    def test_a_recorded_tool_loop_replays_the_same_blocks_and_trajectory(
        self,
        tmp_path: Path,
        isolated_environment: Path,
        monkeypatch: pytest.MonkeyPatch,
        redact: str,
        city: str,
    ) -> None:
        # Patterns that match a block's type or id redact what blocks say, never their shape.
        call = {
            "type": "tool_use",
            "id": "toolu_live_7",
            "name": "get_weather",
            "input": {"city": "Oslo"},
        }
        with MessagesServer() as server:
            server.enqueue(
                Reply(
                    text="",
                    content=[{"type": "text", "text": "One moment."}, call],
                    stop_reason="tool_use",
                ),
                Reply(text="It is sunny in Oslo."),
            )
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-tools-0123456789")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
            cases = "cases: [{name: oslo, input: {city: Oslo}}]\n"
            path = scenario(tmp_path, redact + cases, "anthropic")
            recorded = run_cli("run", "--record", "--json", str(path))
            assert recorded.exit_code == 0, recorded.stdout + recorded.stderr
            second_request = server.requests[1].body
        assert second_request["messages"][2]["content"][0]["tool_use_id"] == "toolu_live_7"
        cassette = read_jsonl(tmp_path / "weather.cassette.jsonl")
        first = next(r for r in cassette if r["response"]["stop_reason"] == "tool_use")
        stored = {**call, "input": {"city": city}}
        assert first["response"]["content"] == [{"type": "text", "text": "One moment."}, stored]
        assert first["request"]["tools"][0]["name"] == "get_weather"

        monkeypatch.delenv("ANTHROPIC_API_KEY")
        monkeypatch.delenv("ANTHROPIC_BASE_URL")
        replayed = run_cli("run", "--provider", "replay", "--json", str(path))
        assert replayed.exit_code == 0, replayed.stdout + replayed.stderr
        reports = [
            json.loads((run / "report.json").read_text())["cases"][0]
            for run in sorted((isolated_environment / "runs").iterdir())
        ]
        assert len(reports) == 2
        assert reports[0]["trajectory"] == reports[1]["trajectory"]
        # Every file is redacted, report.json too; the agent and the cassette kept the id.
        assert reports[1]["trajectory"][0]["id"] == ("toolu_live_7" if city == "Oslo" else city)
        assert reports[1]["trajectory"][0]["result"] == {"city": city, "sky": "sunny"}
        assert reports[1]["output"] == f"It is sunny in {city}."

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            ("abc", "'response.content' is not a list of content blocks"),
            ([{"type": "image"}], "'response.content' item 0 is not a text or tool_use block"),
            (
                [{"type": "tool_use", "name": "f", "input": {}}],
                "'response.content' item 0 is a tool_use block without an id and a name",
            ),
            (
                [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}],
                "'response.content' item 0 is a tool_use block whose input is not an object",
            ),
        ],
    )
    def test_a_cassette_line_with_unusable_content_is_refused(
        self, tmp_path: Path, content: Any, problem: str
    ) -> None:
        path = scenario(tmp_path, "cases: [{name: oslo, input: {city: Oslo}}]\n", "replay")
        record = {"version": 2, "provider": "anthropic", "key": "k"}
        record["response"] = {"text": "", "content": content}
        (tmp_path / "weather.cassette.jsonl").write_text(json.dumps(record) + "\n")
        result = run_cli("run", str(path))
        assert result.exit_code == 2
        where = tmp_path / "weather.cassette.jsonl"
        assert result.stderr == (
            f"goalctl: error: cassette {where}:1 is not a cassette record: {problem}\n"
        )


class TestValidation:
    def test_malformed_tool_replies_are_located_in_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.yaml"
        path.write_text(
            dedent(
                """\
                id: bad
                name: Bad
                description: Broken replies.
                provider: scripted
                responses:
                  - {tool_use: {name: get weather, input: {}}}
                  - [{type: text, text: hi}, {type: tool_use, name: f, inpt: {}}]
                  - {match: a, reply: {tool_use: {nam: x}}}
                  - 5
                  - [{type: image}]
                cases:
                  - responses: [{tool_use: {name: x, input: 3}}]
                """
            )
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        assert result.stdout.splitlines()[:7] == [
            f"{path}:6:23: responses[0].tool_use.name: 'get weather' is not a tool name: use "
            "1-64 letters, digits, '_' or '-' (the names model APIs accept)",
            f"{path}:7:56: responses[1][1].inpt: unknown key 'inpt' (did you mean 'input'?)",
            f"{path}:8:34: responses[2].reply.tool_use.name: is required (add `name:`)",
            f"{path}:8:35: responses[2].reply.tool_use.nam: unknown key 'nam' (did you mean 'name'?)",
            f"{path}:9:5: responses[3]: a reply is text, a tool call {{tool_use: {{name, input}}}}, "
            "or a list of content blocks [{type: text, text}, {type: tool_use, name, input}], "
            "or a rule {match, reply}",
            f"{path}:10:6: responses[4][0]: a content block is {{type: text, text}} or "
            "{type: tool_use, name, input}",
            f"{path}:12:45: cases[0].responses[0].tool_use.input: expected a mapping, got 3 (integer)",
        ]

    def test_tool_replies_validate(self, tmp_path: Path) -> None:
        path = scenario(
            tmp_path,
            """
            responses:
              - {tool_use: {name: get_weather}}
              - [{type: tool_use, name: get_weather, input: {city: Oslo}}, {type: text, text: ok}]
              - {match: x, reply: [{type: text, text: hi}]}
            cases: [{name: oslo, input: {city: Oslo}}]
            """,
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr
