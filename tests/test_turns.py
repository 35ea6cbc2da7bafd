"""Multi-turn cases (DESIGN §12): follow-up user messages sent after each final answer, in the
same conversation; checks see every answer as ``answers``. And what ``goalctl validate`` says
of a scenario's tools and turns, at file:line:col."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

from tests.conftest import run_cli


def write(tmp_path: Path, body: str, name: str = "chat.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(body))
    return path


def latest(tmp_path: Path, name: str) -> Path:
    runs = sorted((tmp_path / "state" / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return runs[-1] / name


def report(tmp_path: Path) -> dict[str, Any]:
    return dict(json.loads(latest(tmp_path, "report.json").read_text()))


def transcript(tmp_path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in latest(tmp_path, "transcript.jsonl").read_text().splitlines()
    ]


CHAT = """\
id: chat
name: Chat
description: Holds a conversation.
provider: scripted
prompt: "Plan a trip to {{ input.city }}."
success_criteria:
  - id: all-answers
    description: Every turn answered
    metric: custom
    check: "answers == ['Day 1: museums.', 'Day 2: the river.', 'Done: 2 days.'] and text == answers[-1]"
cases:
  - name: paris
    input: {city: Paris}
    turns:
      - "You said {{ previous | tojson }}. Add a day in {{ input.city }} (turn {{ turn }})."
      - |-
        Sum up the {{ answers | length }} answers;
        the first was {{ answers[0] }}
    responses:
      - "Day 1: museums."
      - {tool_use: {name: weather, input: {city: Paris}}}
      - "Day 2: the river."
      - "Done: 2 days."
tools:
  - name: weather
    description: The weather in a city.
    mock: [{when: "city == input['city']", result: sunny}]
"""


class TestConversation:
    def test_each_turn_follows_the_previous_answer_in_one_conversation(
        self, tmp_path: Path
    ) -> None:
        path = write(tmp_path, CHAT)
        result = run_cli("run", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr
        [case] = report(tmp_path)["cases"]
        assert case["output"] == "Done: 2 days."
        assert case["metrics"]["llm_calls"] == 4
        assert [(s["tool"], s["result"]) for s in case["trajectory"]] == [("weather", "sunny")]
        last = transcript(tmp_path)[-1]["messages"]
        roles = ["user", "assistant", "user", "assistant", "user", "assistant", "user"]
        assert [m["role"] for m in last] == roles
        assert last[0]["content"] == "Plan a trip to Paris."
        assert last[1]["content"] == "Day 1: museums."
        assert last[2]["content"] == ('You said "Day 1: museums.". Add a day in Paris (turn 1).')
        assert last[3]["content"][0]["name"] == "weather"
        assert last[4]["content"][0]["content"] == "sunny"
        assert last[5]["content"] == "Day 2: the river."
        assert last[6]["content"] == "Sum up the 2 answers;\nthe first was Day 1: museums."

    def test_a_single_turn_case_has_its_text_as_its_only_answer(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
            id: one
            name: One
            description: One answer.
            provider: scripted
            responses: ["hello"]
            success_criteria:
              - {id: a, description: A, metric: custom, check: "answers == ['hello']"}
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr

    def test_a_turn_that_fails_to_render_errors_the_case_naming_the_turn(
        self, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path,
            """\
            id: broken
            name: Broken
            description: A turn reads past the answers.
            provider: scripted
            responses: ["first"]
            success_criteria:
              - {id: a, description: A, metric: output_contains, target: first}
            cases:
              - turns: ["{{ answers[3] }}"]
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 3, result.stdout + result.stderr
        [case] = report(tmp_path)["cases"]
        assert case["status"] == "error"
        assert case["error"] == (
            "cases[0].turns[0] (line 9): undefined name: list object has no element 3"
        )


class TestValidate:
    def test_bad_tools_are_located(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text("")
        (tmp_path / "shop.py").write_text(
            "import goalctl\n\n\ndef plain(order_id):\n    return 1\n\n\n"
            "@goalctl.tool\ndef needs(order_id, secret):\n    return 1\n"
        )
        path = write(
            tmp_path,
            """\
            id: tools
            name: Tools
            description: Broken tools.
            provider: scripted
            success_criteria:
              - {id: a, description: A, metric: output_contains, target: x}
            tools:
              - {name: a, description: A, mock: [{match: {}, result: 1}]}
              - {name: a, description: Again, mock: [{when: "__import__('os')", result: 1}]}
              - name: b
                description: B
                input_schema: {type: array}
                python: shop:plain
              - name: c
                description: C
                input_schema: {type: object, properties: {order_id: {type: strin}}}
                python: shop:needs
              - {name: d, description: D, python: "shop:nothing"}
            """,
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        assert result.stdout.splitlines()[:7] == [
            f"{path}:9:12: tools[1].name: tool 'a' is declared twice (first as tools[0]) "
            "(give each tool its own name)",
            f"{path}:9:49: tools[1].mock[0].when: " + _unsafe(tmp_path),
            f"{path}:12:26: tools[2].input_schema.type: a tool's input is an object: model APIs "
            "send arguments by name (write type: object and list the arguments under properties)",
            f"{path}:13:13: tools[2].python: 'shop:plain' is not marked with @goalctl.tool; it "
            "would not be called",
            f"{path}:16:64: tools[3].input_schema.properties.order_id.type: not a valid JSON "
            "Schema: " + _schema_message(),
            f"{path}:17:13: tools[3].python: 'shop:needs' needs argument(s) 'secret', which the "
            "tool's input_schema does not declare (available: order_id)",
            f"{path}:18:39: tools[4].python: module 'shop' has no function 'nothing'",
        ]

    def test_shape_problems_of_tools_are_located(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
            id: tools
            name: Tools
            description: Broken tools.
            provider: scripted
            tools:
              - {name: "a b", description: A, command: [x]}
              - {name: c, description: C, command: []}
              - {name: d, description: D}
              - {name: e, description: E, mock: [{match: {}}]}
            """,
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        assert lines[0] == (
            f"{path}:6:12: tools[0].name: 'a b' is not a tool name: use 1-64 letters, digits, "
            "'_' or '-' (the names model APIs accept)"
        )
        assert lines[1] == (
            f"{path}:7:40: tools[1].command: the command is empty: name a program and its arguments"
        )
        assert lines[2] == (
            f"{path}:8:5: tools[2]: tool 'd' needs exactly one implementation: mock, python or "
            "command"
        )
        assert (
            lines[3]
            == f"{path}:9:38: tools[3].mock[0]: a mock rule has either `result:` or `error:`"
        )

    def test_turns_and_tools_need_an_agent_that_uses_them(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
            id: cmd
            name: Cmd
            description: A command agent.
            agent: command
            config: {command: [echo, hi]}
            success_criteria:
              - {id: a, description: A, metric: output_contains, target: hi}
            tools:
              - {name: a, description: A, mock: [{match: {}, result: 1}]}
            cases:
              - turns: ["more"]
            """,
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        assert result.stdout.splitlines()[:2] == [
            f"{path}:8:1: tools: agent 'command' does not call a scenario's tools; they would be "
            "ignored (use agent: llm, or give your own agent its tools)",
            f"{path}:11:5: cases[0].turns: agent 'command' does not hold multi-turn "
            "conversations; turns would be ignored (use agent: llm)",
        ]

    def test_bad_turn_templates_are_located(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
            id: turns
            name: Turns
            description: Broken turns.
            provider: scripted
            success_criteria:
              - {id: a, description: A, metric: output_contains, target: x}
            cases:
              - turns:
                  - "{{ previos }}"
                  - |
                    fine {{ previous }}
                    broken {% if %}
            """,
        )
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        assert result.stdout.splitlines()[:2] == [
            f"{path}:9:9: cases[0].turns[0]: undefined name 'previos' in turn template "
            "(did you mean 'previous'?)",
            f"{path}:12:1: cases[0].turns[1]: " + _syntax_message(),
        ]

    def test_good_tools_and_turns_validate(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text("")
        (tmp_path / "shop.py").write_text(
            "from goalctl import tool\n\n\n@tool\nasync def find(order_id, **_):\n    return 1\n"
        )
        path = write(tmp_path, CHAT.replace("tools:\n", """\
tools:
  - name: find
    description: Finds.
    input_schema: {type: object, properties: {order_id: {type: string}}}
    python: shop:find
  - name: run
    description: Runs.
    command: "python3 -c 'print(1)'"
    timeout_s: 5
"""))  # fmt: skip
        result = run_cli("validate", str(path))
        assert result.exit_code == 0, result.stdout + result.stderr


def _unsafe(tmp_path: Path) -> str:
    from goalctl.errors import ExpressionError
    from goalctl.expressions import compile_expression

    try:
        compile_expression("__import__('os')")
    except ExpressionError as exc:
        return str(exc)
    raise AssertionError("the expression should be refused")


def _schema_message() -> str:
    from goalctl.scenario.checks import schema_error

    error = schema_error({"type": "object", "properties": {"order_id": {"type": "strin"}}})
    assert error is not None
    return error[1]


def _syntax_message() -> str:
    from goalctl.errors import TemplateError
    from goalctl.templates import compile_template

    try:
        compile_template("fine {{ previous }}\nbroken {% if %}\n")
    except TemplateError as exc:
        return str(exc)
    raise AssertionError("the template should be refused")
