"""``llm_judge`` semantics a promptfoo user can read (issue 9, item 12), and model replies
parsed with bounded nesting.

A numeric ``target`` of a judge criterion is the share of cases that must pass (never shown
to the judge as a target); ``min_score`` fails a case whose score is low even when the judge
says ``pass: true``; criteria in the front matter name their ``metric`` (only body bullets
default to ``llm_judge``).
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from goalctl.errors import ExitCode
from goalctl.evaluation import CaseOutput, parse_judge_reply
from tests.conftest import run_cli
from tests.test_evaluation import FakeJudge, evaluate, single


def judged(tmp_path: Path, criterion: str, reply: dict[str, object]) -> tuple[bool, str, str]:
    scenario = single(tmp_path, f"metric: llm_judge, {criterion}")
    judge = FakeJudge(json.dumps(reply))
    check = evaluate(scenario, CaseOutput("an answer", "an answer"), judge=judge)
    return check.passed, check.evidence, check.error or ""


def test_a_score_below_min_score_fails_even_when_the_judge_passes_it(tmp_path: Path) -> None:
    passed, evidence, _ = judged(
        tmp_path, "min_score: 0.7", {"pass": True, "score": 0.4, "reason": "Vague."}
    )
    assert passed is False
    assert evidence == "judge: score 0.4 is below min_score 0.7: Vague."


def test_a_score_at_min_score_passes(tmp_path: Path) -> None:
    passed, evidence, _ = judged(
        tmp_path, "min_score: 0.7", {"pass": True, "score": 0.7, "reason": "Fine."}
    )
    assert (passed, evidence) == (True, "judge: Fine.")


def test_a_high_score_does_not_overturn_a_fail(tmp_path: Path) -> None:
    passed, _, _ = judged(
        tmp_path, "min_score: 0.5", {"pass": False, "score": 0.9, "reason": "No."}
    )
    assert passed is False


def test_min_score_without_a_score_is_no_verdict(tmp_path: Path) -> None:
    passed, evidence, error = judged(tmp_path, "min_score: 0.5", {"pass": True, "reason": "Ok."})
    assert passed is False
    assert evidence == "the judge gave no verdict"
    assert error == "judge reply has no score, and the criterion has min_score 0.5"


def test_min_score_belongs_to_judge_criteria(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        dedent(
            """\
            id: demo
            name: Demo
            description: A demo goal.
            provider: scripted
            success_criteria:
              - {id: c, description: d, metric: output_contains, target: x, min_score: 0.5}
            """
        )
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == ExitCode.FAILED
    assert (
        f"{path}:6:65: success_criteria[0].min_score: min_score applies only to llm_judge "
        "criteria (remove it, or use metric: llm_judge)"
    ) in result.stdout + result.stderr


def test_a_front_matter_criterion_needs_a_metric(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    path.write_text(
        dedent(
            """\
            ---
            id: demo
            provider: scripted
            success_criteria:
              - {id: polite, description: The reply is polite}
            ---
            # Demo

            A demo goal.
            """
        )
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == ExitCode.FAILED
    output = result.stdout + result.stderr
    assert f"{path}:5:5: success_criteria[0]: a criterion in the front matter needs a metric" in (
        output
    )
    assert "add metric: llm_judge" in output


def test_body_bullets_still_default_to_the_judge(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    path.write_text(
        dedent(
            """\
            ---
            id: demo
            provider: scripted
            ---
            # Demo

            A demo goal.

            ## Success criteria

            - `polite`: The reply is polite
            """
        )
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr


def test_a_numeric_target_is_a_share_of_cases_not_shown_to_the_judge(tmp_path: Path) -> None:
    scenario = single(tmp_path, "metric: llm_judge, target: 0.5")
    assert scenario.goal.success_criteria[0].success_threshold() == 0.5
    judge = FakeJudge('{"pass": true, "score": 1}')
    evaluate(scenario, CaseOutput("an answer", "an answer"), judge=judge)
    [prompt] = judge.prompts
    assert "Target:" not in prompt


def test_a_text_target_is_shown_to_the_judge(tmp_path: Path) -> None:
    scenario = single(tmp_path, "metric: llm_judge, target: mentions the refund")
    judge = FakeJudge('{"pass": true, "score": 1}')
    evaluate(scenario, CaseOutput("an answer", "an answer"), judge=judge)
    assert "Target: mentions the refund" in judge.prompts[0]


def test_a_deeply_nested_judge_reply_is_no_verdict() -> None:
    reply = '{"pass": true, "reason": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValueError, match="judge reply is nested too deeply"):
        parse_judge_reply(reply)


def test_a_deeply_nested_json_output_is_a_clear_error() -> None:
    from goalctl.agents.llm import parse_json_output

    text = "[" * 100_000 + "]" * 100_000
    output, error = parse_json_output(text)
    assert output == text
    assert error == "output is nested too deeply (more than 64 levels)"


def test_the_scenario_schema_asks_editors_for_a_metric() -> None:
    from goalctl.schemas import scenario_schema

    criterion = scenario_schema()["$defs"]["SuccessCriterion"]
    assert criterion["required"] == ["id", "description", "metric"]
