"""Scenario tools (DESIGN §12): each implementation through the dispatcher an agent calls.

A call's arguments are checked against the tool's input_schema before it runs; what a tool
does wrong is a tool error (an outcome the model is told about), what no model could fix (an
unmarked function, a missing program) is a :class:`ToolSetupError` that errors the case.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from textwrap import dedent
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from goalctl.errors import ToolSetupError
from goalctl.tools.model import ToolSpec
from goalctl.tools.toolbox import ToolBox, ToolOutcome

CONTEXT = {"input": {"order_total": 50}, "case": {"name": "refund", "description": ""}}
ORDER = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["order_id"],
}


def toolbox(tmp_path: Path, *tools: dict[str, Any]) -> ToolBox:
    specs = [ToolSpec.model_validate({"description": "A tool.", **tool}) for tool in tools]
    return ToolBox(specs, project=tmp_path, scenario_dir=tmp_path)


def call(box: ToolBox, name: str, args: Any, workspace: Path | None = None) -> ToolOutcome:
    return asyncio.run(box.call(name, args, workspace=workspace, context=CONTEXT))


class TestMock:
    RULES: ClassVar[list[dict[str, Any]]] = [
        {"match": {"order_id": "A1"}, "result": {"status": "shipped"}},
        {"match": {"order_id": "A2", "amount": 10}, "result": "refunded 10"},
        {"when": "amount is not None and amount > input['order_total']", "error": "amount exceeds the order total"},
        {"when": "args.get('order_id', '').startswith('Z') and case['name'] == 'refund'",
         "result": None},
    ]  # fmt: skip

    def box(self, tmp_path: Path) -> ToolBox:
        return toolbox(tmp_path, {"name": "orders", "input_schema": ORDER, "mock": self.RULES})

    def test_the_first_rule_that_matches_answers(self, tmp_path: Path) -> None:
        box = self.box(tmp_path)
        assert call(box, "orders", {"order_id": "A1", "amount": 99}).result == {"status": "shipped"}
        found = call(box, "orders", {"order_id": "A2", "amount": 10.0})
        assert (found.result, found.error, found.text) == ("refunded 10", None, "refunded 10")

    def test_match_compares_json_values_so_true_is_not_one(self, tmp_path: Path) -> None:
        box = toolbox(
            tmp_path,
            {"name": "flag", "mock": [{"match": {"on": True}, "result": "yes"}]},
        )
        assert call(box, "flag", {"on": True}).result == "yes"
        assert call(box, "flag", {"on": 1}).error == (
            "no mock rule of tool 'flag' answers the call flag({\"on\": 1})"
        )

    def test_when_reads_args_their_keys_the_case_input_and_the_case(self, tmp_path: Path) -> None:
        box = self.box(tmp_path)
        refused = call(box, "orders", {"order_id": "B7", "amount": 51})
        assert (refused.result, refused.error) == (None, "amount exceeds the order total")
        assert refused.block("toolu_1") == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": "amount exceeds the order total",
            "is_error": True,
        }
        nothing = call(box, "orders", {"order_id": "Z1"})
        assert (nothing.result, nothing.error, nothing.text) == (None, None, "null")

    def test_no_rule_is_an_error_naming_the_call(self, tmp_path: Path) -> None:
        outcome = call(self.box(tmp_path), "orders", {"order_id": "C3", "amount": 5})
        assert outcome.error == (
            "no mock rule of tool 'orders' answers the call "
            'orders({"amount": 5, "order_id": "C3"})'
        )

    def test_a_when_that_fails_is_a_tool_error(self, tmp_path: Path) -> None:
        box = toolbox(tmp_path, {"name": "t", "mock": [{"when": "missing > 1", "result": 1}]})
        error = call(box, "t", {}).error
        assert error is not None
        assert error.startswith("mock rule 1 of tool 't' cannot be evaluated: cannot evaluate")
        assert "missing" in error


class TestArguments:
    def test_arguments_that_break_the_input_schema_never_reach_the_tool(
        self, tmp_path: Path
    ) -> None:
        box = toolbox(tmp_path, {"name": "orders", "input_schema": ORDER,
                                 "mock": [{"match": {}, "result": "ran"}]})  # fmt: skip
        assert call(box, "orders", {"order_id": 7}).error == (
            'invalid arguments for orders({"order_id": 7}) at order_id: 7 is not of type '
            "'string' (see the tool's input_schema)"
        )
        assert call(box, "orders", {}).error == (
            "invalid arguments for orders({}): 'order_id' is a required property "
            "(see the tool's input_schema)"
        )
        assert call(box, "orders", [1]).error == (
            "the input of tool 'orders' must be an object, got list"
        )
        assert call(box, "orders", {"order_id": "A"}).result == "ran"

    def test_an_unknown_tool_is_a_tool_error_listing_the_tools(self, tmp_path: Path) -> None:
        box = toolbox(tmp_path, {"name": "a", "mock": [{"match": {}, "result": 1}]})
        assert call(box, "b", {}).error == "unknown tool 'b' (the tools are: a)"

    def test_a_long_result_is_cut_for_the_model(self, tmp_path: Path) -> None:
        outcome = ToolOutcome(result="x" * 100_050)
        assert outcome.text.endswith("… [cut: 100,050 characters in all]")
        assert len(outcome.text) < 100_050


PYTHON_TOOLS = """\
import asyncio
import time

import goalctl


@goalctl.tool
def lookup(order_id, amount=0):
    return {"order_id": order_id, "amount": amount}


@goalctl.tool
async def slow_lookup(order_id):
    await asyncio.sleep(0)
    return [order_id]


@goalctl.tool
def broken(order_id):
    raise ValueError(f"no order {order_id}")


@goalctl.tool
async def sleepy(order_id):
    await asyncio.sleep(30)


@goalctl.tool
def not_json(order_id):
    return {1, 2}


def unmarked(order_id):
    return "called"
"""


class TestPython:
    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        (tmp_path / "pyproject.toml").write_text("")
        (tmp_path / f"shop_tools_{tmp_path.name}.py").write_text(PYTHON_TOOLS)
        return tmp_path

    def box(self, project: Path, function: str, **extra: Any) -> ToolBox:
        module = f"shop_tools_{project.name}"
        return toolbox(
            project,
            {"name": "t", "input_schema": ORDER, "python": f"{module}:{function}", **extra},
        )

    def test_a_sync_function_gets_the_input_as_keyword_arguments(self, project: Path) -> None:
        outcome = call(self.box(project, "lookup"), "t", {"order_id": "A1", "amount": 3})
        assert (outcome.result, outcome.error) == ({"order_id": "A1", "amount": 3}, None)
        assert outcome.elapsed_s > 0

    def test_an_async_function_is_awaited(self, project: Path) -> None:
        assert call(self.box(project, "slow_lookup"), "t", {"order_id": "A1"}).result == ["A1"]

    def test_an_exception_is_a_tool_error_with_its_message(self, project: Path) -> None:
        outcome = call(self.box(project, "broken"), "t", {"order_id": "A9"})
        assert (outcome.result, outcome.error) == (None, "ValueError: no order A9")

    def test_a_function_past_its_timeout_is_a_tool_error(self, project: Path) -> None:
        outcome = call(self.box(project, "sleepy", timeout_s=0.2), "t", {"order_id": "A1"})
        assert outcome.error == "tool 't' did not return within 0.2s"

    def test_an_unmarked_function_errors_the_case(self, project: Path) -> None:
        with pytest.raises(ToolSetupError, match=r"is not marked with @goalctl.tool; refusing"):
            call(self.box(project, "unmarked"), "t", {"order_id": "A1"})

    def test_a_result_that_is_not_json_errors_the_case(self, project: Path) -> None:
        with pytest.raises(ToolSetupError, match=r"returned set, which is not JSON data"):
            call(self.box(project, "not_json"), "t", {"order_id": "A1"})


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "tool_script.py"
    path.write_text(dedent(body))
    return [sys.executable, str(path)]


class TestCommand:
    def test_stdin_is_the_input_and_json_stdout_is_the_result(self, tmp_path: Path) -> None:
        argv = script(
            tmp_path,
            """\
            import json, os, sys
            args = json.load(sys.stdin)
            print(json.dumps({"got": args, "cwd": os.getcwd(), "tool": os.environ["GOALCTL_TOOL"],
                              "case": os.environ["GOALCTL_CASE"]}))
            """,
        )
        workspace = tmp_path / "ws"
        workspace.mkdir()
        box = toolbox(tmp_path, {"name": "echo", "command": argv})
        outcome = call(box, "echo", {"x": [1, 2]}, workspace)
        assert outcome.result == {
            "got": {"x": [1, 2]},
            "cwd": str(workspace.resolve()),
            "tool": "echo",
            "case": "refund",
        }

    def test_text_stdout_is_text_and_a_string_command_is_split_like_a_shell(
        self, tmp_path: Path
    ) -> None:
        box = toolbox(tmp_path, {"name": "say", "command": "printf '%s' 'hello world'"})
        outcome = call(box, "say", {})
        assert (outcome.result, outcome.error) == ("hello world", None)

    def test_without_a_workspace_it_runs_in_a_scratch_folder_removed_after(
        self, tmp_path: Path
    ) -> None:
        argv = script(tmp_path, "import os; print(os.getcwd())")
        outcome = call(toolbox(tmp_path, {"name": "where", "command": argv}), "where", {})
        assert isinstance(outcome.result, str)
        assert "goalctl-tool-" in outcome.result
        assert not Path(outcome.result).exists()

    def test_a_non_zero_exit_is_a_tool_error_with_the_end_of_stderr(self, tmp_path: Path) -> None:
        argv = script(
            tmp_path,
            """\
            import sys
            print("partial")
            sys.stderr.write("looking up\\norder not found\\n")
            sys.exit(3)
            """,
        )
        outcome = call(toolbox(tmp_path, {"name": "fail", "command": argv}), "fail", {})
        assert outcome.error == "tool 'fail' exited with status 3: looking up | order not found"
        assert outcome.result is None

    def test_a_command_past_its_timeout_is_killed_and_a_tool_error(self, tmp_path: Path) -> None:
        argv = script(tmp_path, "import time; time.sleep(30)")
        box = toolbox(tmp_path, {"name": "slow", "command": argv, "timeout_s": 0.3})
        outcome = call(box, "slow", {})
        assert outcome.error == ("tool 'slow' timed out after 0.3s (its process group was killed)")
        assert outcome.elapsed_s < 10

    def test_a_missing_program_errors_the_case(self, tmp_path: Path) -> None:
        box = toolbox(tmp_path, {"name": "x", "command": ["no-such-program-goalctl"]})
        with pytest.raises(ToolSetupError, match="command not found: 'no-such-program-goalctl'"):
            call(box, "x", {})


class TestDeclarations:
    @pytest.mark.parametrize(
        ("tool", "message"),
        [
            ({"name": "t", "description": "d"}, "needs exactly one implementation"),
            (
                {
                    "name": "t",
                    "description": "d",
                    "command": ["a"],
                    "mock": [{"match": {}, "result": 1}],
                },
                "needs exactly one implementation: mock, python or command (found mock, command)",
            ),
            ({"name": "t", "description": "d", "command": []}, "the command is empty"),
            ({"name": "t", "description": "d", "command": "'a"}, "not a command"),
            ({"name": "t", "description": "d", "python": "os.system"}, "is not a reference"),
            ({"name": "t", "description": "d", "mock": [{"result": 1}]}, "either `match"),
            ({"name": "t", "description": "d", "mock": [{"match": {}}]}, "either `result:`"),
            ({"name": "t", "description": "d", "mock": []}, "at least 1 item"),
            ({"name": "t", "description": "d", "command": "a", "timeout_s": 601}, "less than or"),
        ],
    )
    def test_malformed_tools_are_refused(self, tool: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=re.escape(message)):
            ToolSpec.model_validate(tool)

    def test_the_definition_is_what_a_model_api_receives(self) -> None:
        spec = ToolSpec.model_validate(
            {"name": "t", "description": "Does t.", "mock": [{"match": {}, "result": None}]}
        )
        assert spec.definition() == {
            "name": "t",
            "description": "Does t.",
            "input_schema": {"type": "object"},
        }
        assert json.loads(json.dumps(spec.definition())) == spec.definition()


def test_validate_refuses_a_when_that_reads_names_no_call_binds(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "when.yaml"
    path.write_text(
        dedent(
            """\
            id: w
            name: W
            description: d
            provider: scripted
            tools:
              - name: open
                description: o
                input_schema: {type: object, properties: {id: {type: integer}}}
                mock: [{when: "true", result: 1}]
              - name: closed
                description: c
                input_schema:
                  type: object
                  properties: {order_id: {type: string}}
                  additionalProperties: false
                mock: [{when: "order == 'A-1'", result: 1}, {when: "args and order_id", result: 2}]
              - name: loose
                description: l
                input_schema: {type: object}
                mock: [{when: "anything_goes > 1", result: 1}]
            success_criteria: [{id: ok, description: Ok, metric: output_contains, target: ok}]
            """
        )
    )

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:9:19: tools[0].mock[0].when: unknown name 'true' in 'true': the rule cannot "
        "be evaluated (expressions are Python: write True, not true)",
        f"{path}:16:19: tools[1].mock[0].when: unknown name 'order' in \"order == 'A-1'\": the "
        "rule cannot be evaluated (did you mean 'order_id'?)",
    ]
