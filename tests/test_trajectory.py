"""Trajectories: tool calls seen in the model exchange, and steps agents report themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from goalctl.providers.base import Block, CompletionRequest, CompletionResponse, Message
from goalctl.trajectory import MAX_RESULT_CHARS, Trajectory, TrajectoryError


def call(id: str, name: str, args: dict[str, Any]) -> Block:
    return {"type": "tool_use", "id": id, "name": name, "input": args}


def result(id: str, content: Any, is_error: bool = False) -> Block:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": id, "content": content}
    if is_error:
        block["is_error"] = True
    return block


def exchange(trajectory: Trajectory, sent: list[Message], *reply: Block) -> None:
    request = CompletionRequest(model="m", messages=tuple(sent))
    trajectory.observe(request, CompletionResponse(text="", model="m", content=reply))


def test_calls_and_their_results_become_ordered_steps() -> None:
    trajectory = Trajectory()
    ask = Message("user", "Refund order A7")
    lookup = call("t1", "lookup_order", {"id": "A7"})
    refund = call("t2", "issue_refund", {"id": "A7", "amount": 20})

    exchange(trajectory, [ask], lookup)
    exchange(
        trajectory,
        [ask, Message("assistant", (lookup,)), Message("user", (result("t1", '{"total": 20}'),))],
        refund,
    )
    exchange(
        trajectory, [Message("user", (result("t2", "refund failed: card expired", is_error=True),))]
    )

    assert trajectory.to_json() == [
        {
            "step": 1,
            "tool": "lookup_order",
            "args": {"id": "A7"},
            "result": {"total": 20},
            "error": None,
            "id": "t1",
            "source": "model",
        },
        {
            "step": 2,
            "tool": "issue_refund",
            "args": {"id": "A7", "amount": 20},
            "result": None,
            "error": "refund failed: card expired",
            "id": "t2",
            "source": "model",
        },
    ]


def test_parallel_calls_in_one_reply_keep_their_order() -> None:
    trajectory = Trajectory()

    exchange(trajectory, [Message("user", "hi")], call("a", "first", {}), call("b", "second", {}))
    exchange(
        trajectory,
        [Message("user", (result("b", "2"), result("a", [{"type": "text", "text": "1"}])))],
    )

    assert [(s["tool"], s["result"]) for s in trajectory.to_json()] == [("first", 1), ("second", 2)]


def test_a_result_for_an_unknown_call_is_ignored() -> None:
    trajectory = Trajectory()

    exchange(trajectory, [Message("user", (result("never-seen", "x"),))])

    assert trajectory.to_json() == []


def test_long_results_are_stored_cut_with_their_length() -> None:
    trajectory = Trajectory()
    exchange(trajectory, [Message("user", "go")], call("t", "read", {}))

    exchange(trajectory, [Message("user", (result("t", "x" * (MAX_RESULT_CHARS + 5)),))])

    stored = trajectory.to_json()[0]["result"]
    assert stored.endswith(f"… [{MAX_RESULT_CHARS + 5:,} characters]")
    assert len(stored) < MAX_RESULT_CHARS + 30


def test_reported_steps_are_read_from_the_trajectory_file(tmp_path: Path) -> None:
    path = tmp_path / "trajectory.jsonl"
    path.write_text(
        '{"tool": "search", "args": {"q": "refund policy"}, "result": "30 days"}\n\n{"tool": "summarize", "error": "too long"}\n'
    )
    trajectory = Trajectory()
    exchange(trajectory, [Message("user", "go")], call("t", "lookup", {}))

    trajectory.read_reported(path)

    assert [(s["step"], s["tool"], s["source"]) for s in trajectory.to_json()] == [
        (1, "lookup", "model"),
        (2, "search", "agent"),
        (3, "summarize", "agent"),
    ]
    assert trajectory.to_json()[2]["error"] == "too long"


def test_a_missing_trajectory_file_adds_nothing(tmp_path: Path) -> None:
    trajectory = Trajectory()

    trajectory.read_reported(tmp_path / "absent.jsonl")

    assert trajectory.to_json() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"args": {}}\n', "$GOALCTL_TRAJECTORY line 1: 'tool' must be the tool's name"),
        (
            '\n{"tool": "x", "colour": 1}\n',
            "$GOALCTL_TRAJECTORY line 2: unknown key 'colour' (known: tool, args, result, error)",
        ),
        ('{"tool": "x", "error": 3}\n', "$GOALCTL_TRAJECTORY line 1: 'error' must be text or null"),
        ("[1]\n", "$GOALCTL_TRAJECTORY line 1: expected a JSON object"),
        (
            "{not json\n",
            "$GOALCTL_TRAJECTORY line 1 is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        (
            '{"tool": ' + "[" * 100 + "]" * 100 + "}\n",
            "$GOALCTL_TRAJECTORY line 1 is nested too deeply (more than 64 levels)",
        ),
    ],
)
def test_a_malformed_reported_step_names_its_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "trajectory.jsonl"
    path.write_text(content)

    with pytest.raises(TrajectoryError) as info:
        Trajectory().read_reported(path)

    assert str(info.value) == message


def test_a_trajectory_file_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()

    with pytest.raises(TrajectoryError, match="is not a regular file"):
        Trajectory().read_reported(tmp_path / "dir")
