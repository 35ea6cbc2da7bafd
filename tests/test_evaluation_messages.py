"""Evaluation messages a user can act on (issue 9, item 6).

A check over ``output['total']`` on text output says the output is text and why, never a
Python ``TypeError``; evidence is shortened at a word boundary; and the model is sent, as
retry feedback, the very message the report shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.evaluation import CaseOutput, shorten
from tests.conftest import run_cli
from tests.test_evaluation import build, evaluate

TOTAL = """
success_criteria:
  - {id: total, description: The total is right, metric: custom, check: "output['total'] == 5"}
"""


def test_indexing_text_output_says_the_goal_has_no_output_schema(tmp_path: Path) -> None:
    scenario = build(tmp_path, TOTAL)
    check = evaluate(scenario, CaseOutput("The total is 5.", "The total is 5."))
    assert check.passed is False
    assert check.error is not None
    assert "TypeError" not in check.error
    assert check.error.startswith(
        "output is text, not JSON (the goal has no output_schema, so replies are not parsed)"
    )
    assert "cannot read ['total'] of text" in check.error


def test_indexing_a_reply_that_was_not_json_says_so(tmp_path: Path) -> None:
    scenario = build(tmp_path, TOTAL + "output_schema: {type: object}\n")
    text = "Sure! The total is five."
    check = evaluate(scenario, CaseOutput(text, text, error=f"output is not JSON: {text!r}"))
    assert check.error is not None
    assert "TypeError" not in check.error
    assert check.error.startswith(f"output is text, not JSON (output is not JSON: {text!r})")


def test_indexing_a_list_names_the_value_not_python(tmp_path: Path) -> None:
    scenario = build(tmp_path, TOTAL + "output_schema: {type: array}\n")
    check = evaluate(scenario, CaseOutput([1, 2], "[1, 2]"))
    assert check.error is not None
    assert "TypeError" not in check.error
    assert "cannot read ['total'] of a list" in check.error


def test_a_constraint_over_text_output_says_the_same(tmp_path: Path) -> None:
    from tests.test_evaluation import constraints_of

    scenario = build(
        tmp_path,
        """
        success_criteria:
          - {id: any, description: Anything, metric: output_contains, target: ""}
        constraints:
          - {id: small, description: Small total, check: "output['total'] < 10"}
        """,
    )
    [constraint] = constraints_of(scenario, CaseOutput("text", "text"))
    assert constraint.error is not None
    assert constraint.error.startswith("output is text, not JSON (the goal has no output_schema")


@pytest.mark.parametrize(
    ("text", "limit", "short"),
    [
        ("alpha beta gamma delta", 14, "alpha beta…"),
        ("alpha beta gamma delta", 16, "alpha beta…"),
        ("alpha beta gamma delta", 17, "alpha beta gamma…"),
        ("supercalifragilistic", 10, "supercali…"),
    ],
)
def test_shorten_never_cuts_a_word(text: str, limit: int, short: str) -> None:
    assert shorten(text, limit) == short
    assert len(short) <= limit


def test_output_not_json_preview_ends_at_a_word(tmp_path: Path) -> None:
    from goalctl.agents.llm import parse_json_output

    reply = "I think the answer is probably around " + "forty-two " * 10
    _, error = parse_json_output(reply)
    assert error is not None
    preview = error.removeprefix("output is not JSON: ").strip("'")
    assert preview.endswith("…")
    kept = preview.removesuffix("…")
    assert reply.startswith(kept)
    assert reply[len(kept)] == " "


def test_retry_feedback_is_the_message_of_the_report(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "id: demo\nname: Demo\ndescription: A demo goal.\nprovider: scripted\n"
        + dedent(
            """
            config: {max_attempts: 2}
            success_criteria:
              - {id: total, description: The total is right, metric: custom, check: "output['total'] == 5"}
            responses: ["The total is 5.", "Still text."]
            """
        )
    )
    assert run_cli("run", str(path)).exit_code == 1
    [directory] = (isolated_environment / "runs").iterdir()
    calls = [json.loads(line) for line in (directory / "transcript.jsonl").read_text().splitlines()]
    feedback = calls[1]["messages"][2]["content"]
    report = json.loads((directory / "report.json").read_text())
    [check] = report["cases"][0]["checks"]
    message = f"{check['evidence']}: {check['error']}"
    assert "output is text, not JSON" in message
    assert f"- The total is right: {message}" in feedback


def test_a_long_expression_is_quoted_without_cutting_a_word(tmp_path: Path) -> None:
    source = (
        "output['total'] == expected['total'] and output['currency'] == expected['currency'] "
        "and output['items'] == expected['items']"
    )
    scenario = build(
        tmp_path,
        f'success_criteria:\n  - {{id: t, description: d, metric: custom, check: "{source}"}}\n',
    )
    check = evaluate(scenario, CaseOutput({"total": 1}, '{"total": 1}'))
    assert check.error is not None
    quoted = check.error.split('"')[1]
    assert quoted.endswith("...")
    kept = quoted.removesuffix("...")
    assert source.startswith(kept)
    assert source[len(kept)] == " "


def test_a_long_key_is_quoted_without_cutting_a_word(tmp_path: Path) -> None:
    key = "the name of a key that is long enough to be shortened in messages"
    scenario = build(
        tmp_path,
        f"success_criteria:\n  - {{id: t, description: d, metric: custom, check: \"output['{key}']\"}}\n",
    )
    check = evaluate(scenario, CaseOutput({"total": 1}, '{"total": 1}'))
    assert check.error is not None
    quoted = check.error.rsplit(": key ", 1)[1].removesuffix(" not found")
    kept = quoted.removeprefix("'").removesuffix("...")
    assert key.startswith(kept)
    assert key[len(kept)] == " "
