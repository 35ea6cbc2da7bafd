"""Evaluation (DESIGN §6): every metric's pass, fail and error paths, and the verdict rules.

Scenarios are written as YAML files into ``tmp_path`` by one small builder and loaded like
goalctl loads them, so criteria carry real templates and defaults. A check that cannot be
made — a judge without a verdict, a broken expression, a target that does not render — must
never pass.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from goalctl.evaluation import (
    CaseOutput,
    Check,
    CheckError,
    ConstraintCheck,
    Evaluator,
    Metrics,
    check,
    is_budget,
    json_equal,
    parse_judge_reply,
    run_check,
    shorten,
)
from goalctl.goal import Constraint
from goalctl.scenario.loader import load_scenario
from goalctl.scenario.model import Case, Scenario
from goalctl.scenario.render import case_context
from goalctl.verdict import (
    ConstraintResult,
    CriterionResult,
    aggregate_constraints,
    aggregate_criteria,
    goal_achieved,
    weighted_score,
)
from tests.support import checks_module

# -- the builder -------------------------------------------------------------------------------

HEADER = """\
id: evaluated
name: Evaluated
description: A goal built by the test.
provider: scripted
"""


def build(tmp_path: Path, body: str) -> Scenario:
    """Write ``HEADER + body`` as a scenario file and load it like ``goalctl run`` does."""
    path = tmp_path / f"scenario-{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return load_scenario(path)


def single(
    tmp_path: Path,
    criterion: str,
    *,
    expected: Any = None,
    extra: str = "",
    description: str = "The criterion",
) -> Scenario:
    """A scenario with one criterion ``c`` (flow-style YAML fields) and one case ``only``."""
    body = f"success_criteria:\n  - {{id: c, description: {description}, {criterion}}}\n"
    body += f"cases:\n  - {{name: only, input: {{q: 1}}, expected: {json.dumps(expected)}}}\n"
    return build(tmp_path, body + textwrap.dedent(extra))


def context_of(scenario: Scenario, case: int | Case = 0) -> dict[str, Any]:
    """The names of one case, as the runner builds them (a Case not in the file works too)."""
    if isinstance(case, Case):
        return case_context(scenario.goal, scenario.config, case, "extra", {})
    return case_context(
        scenario.goal,
        scenario.config,
        scenario.cases[case],
        scenario.case_name(case),
        scenario.spec.phase_instructions,
    )


def output(value: Any, text: str | None = None, error: str | None = None) -> CaseOutput:
    """A case output; its text is the value itself, or the value as JSON."""
    if text is None:
        text = value if isinstance(value, str) else json.dumps(value)
    return CaseOutput(value, text, error=error)


class FakeJudge:
    """Replies with a canned text (or raises) and records every prompt it was sent."""

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    async def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


NO_JUDGE = FakeJudge(AssertionError("this check must not ask the judge"))


def evaluate(
    scenario: Scenario,
    result: CaseOutput,
    *,
    case: int | Case = 0,
    judge: FakeJudge = NO_JUDGE,
    metrics: Metrics | None = None,
) -> Check:
    """Check the scenario's first criterion against one case output."""
    evaluator = Evaluator(scenario, scenario.config)
    return asyncio.run(
        evaluator.check_criterion(
            scenario.goal.success_criteria[0],
            context_of(scenario, case),
            result,
            metrics or Metrics(),
            judge,
        )
    )


def constraints_of(
    scenario: Scenario,
    result: CaseOutput,
    *,
    judge: FakeJudge = NO_JUDGE,
    metrics: Metrics | None = None,
) -> list[ConstraintCheck]:
    evaluator = Evaluator(scenario, scenario.config)
    return asyncio.run(
        evaluator.check_constraints(context_of(scenario), result, metrics or Metrics(), judge)
    )


# -- output_contains ---------------------------------------------------------------------------


class TestOutputContains:
    def test_string_target_present(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: hello")
        assert evaluate(scenario, output("well, hello there")) == Check(
            "c", True, "contains 'hello'"
        )

    def test_string_target_missing_is_named(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: hello")
        assert evaluate(scenario, output("goodbye")) == Check("c", False, "missing 'hello'")

    def test_is_case_sensitive(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: hello")
        assert evaluate(scenario, output("HELLO")).passed is False

    def test_list_target_needs_every_item(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: [alpha, beta, gamma]")
        assert evaluate(scenario, output("gamma, beta and alpha")) == Check(
            "c", True, "contains 'alpha', 'beta', 'gamma'"
        )
        assert evaluate(scenario, output("alpha only")) == Check(
            "c", False, "missing 'beta', 'gamma'"
        )

    def test_non_string_target_is_searched_as_text(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: 42")
        assert evaluate(scenario, output("the answer is 42")) == Check("c", True, "contains '42'")

    def test_structured_output_searches_the_raw_text(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: answer")
        result = output({"total": 4}, text="The answer: {'total': 4}")
        assert evaluate(scenario, result) == Check("c", True, "contains 'answer'")
        assert evaluate(scenario, output({"answer": 4}, text="4")).passed is False

    def test_an_unusable_output_is_still_searched(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_contains, target: hello")
        result = output(None, text="hello, not JSON", error="output is not JSON")
        assert evaluate(scenario, result) == Check("c", True, "contains 'hello'")

    def test_templated_target(self, tmp_path: Path) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria:
              - id: c
                description: Mentions the word of the case
                metric: output_contains
                target: "{{ expected.word }}"
            cases:
              - {name: greet, expected: {word: hello}}
              - {name: part, expected: {word: bye}}
            """,
        )
        result = output("hello there")
        assert evaluate(scenario, result, case=0) == Check("c", True, "contains 'hello'")
        assert evaluate(scenario, result, case=1) == Check("c", False, "missing 'bye'")


# -- output_equals -----------------------------------------------------------------------------


class TestOutputEquals:
    def test_dict_equals_dict_whatever_the_key_order(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: {b: [1, 2], a: 1}")
        assert evaluate(scenario, output({"a": 1, "b": [1, 2]})) == Check(
            "c", True, 'equals {"a": 1, "b": [1, 2]}'
        )

    def test_dict_mismatch_shows_both_sides(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: {a: 1}")
        assert evaluate(scenario, output({"a": 2})) == Check(
            "c", False, 'expected {"a": 1}, got {"a": 2}'
        )

    def test_json_text_output_equals_a_dict_target(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: {a: 1}")
        assert evaluate(scenario, output('{"a": 1}')) == Check("c", True, 'equals {"a": 1}')

    def test_dict_output_equals_a_json_text_target(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, """metric: output_equals, target: '{"a": 1}'""")
        assert evaluate(scenario, output({"a": 1})) == Check("c", True, 'equals {"a": 1}')

    def test_int_equals_float(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: 4.0")
        assert evaluate(scenario, output(4)) == Check("c", True, "equals 4.0")

    def test_bool_is_not_an_int(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: 1")
        assert evaluate(scenario, output(True)) == Check("c", False, "expected 1, got true")
        scenario = single(tmp_path, "metric: output_equals, target: true")
        assert evaluate(scenario, output(1)) == Check("c", False, "expected true, got 1")

    def test_strings_compare_stripped_and_case_sensitive(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: Paris")
        assert evaluate(scenario, output("  Paris\n")) == Check("c", True, "equals Paris")
        assert evaluate(scenario, output("paris")) == Check("c", False, "expected Paris, got paris")

    def test_templated_target_keeps_its_native_type(self, tmp_path: Path) -> None:
        # Rendered to text, {'total': 4} would be Python repr, not JSON, and could not match.
        scenario = single(
            tmp_path, 'metric: output_equals, target: "{{ expected }}"', expected={"total": 4}
        )
        assert evaluate(scenario, output({"total": 4.0})) == Check("c", True, 'equals {"total": 4}')
        assert evaluate(scenario, output({"total": 5})) == Check(
            "c", False, 'expected {"total": 4}, got {"total": 5}'
        )

    def test_an_unusable_output_fails(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_equals, target: oops")
        result = output("oops", error="output is not JSON: Expecting value")
        assert evaluate(scenario, result) == Check(
            "c", False, "no usable output: output is not JSON: Expecting value"
        )


# -- output_matches ----------------------------------------------------------------------------


class TestOutputMatches:
    def test_match_shows_what_matched(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, r"metric: output_matches, target: '\d+ items'")
        assert evaluate(scenario, output("Found 12 items today")) == Check(
            "c", True, r"matches /\d+ items/ at '12 items'"
        )

    def test_no_match_shows_the_text(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, r"metric: output_matches, target: '\d+ items'")
        assert evaluate(scenario, output("nothing  here\n")) == Check(
            "c", False, r"no match for /\d+ items/ in 'nothing here'"
        )

    def test_target_rendering_to_an_invalid_regex_is_an_error(self, tmp_path: Path) -> None:
        scenario = single(
            tmp_path,
            'metric: output_matches, target: "{{ expected.pattern }}"',
            expected={"pattern": "(unclosed"},
        )
        assert evaluate(scenario, output("(unclosed")) == Check(
            "c",
            False,
            "the pattern cannot be applied",
            error="invalid regular expression: missing ) at position 9",
        )

    def test_an_unusable_output_fails(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: output_matches, target: x")
        assert evaluate(scenario, output("x", error="empty reply")) == Check(
            "c", False, "no usable output: empty reply"
        )


# -- json_schema -------------------------------------------------------------------------------

SCHEMA = """\
output_schema:
  type: object
  required: [total]
  properties:
    total: {type: number}
    items: {type: array, items: {type: string}}
"""


class TestJsonSchema:
    def test_conforming(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: json_schema", extra=SCHEMA)
        assert evaluate(scenario, output({"total": 4, "items": ["a"]})) == Check(
            "c", True, "conforms to output_schema"
        )

    @pytest.mark.parametrize(
        ("value", "evidence"),
        [
            ({"total": "four"}, "at total: 'four' is not of type 'number'"),
            ({"total": 1, "items": ["a", 3]}, "at items/1: 3 is not of type 'string'"),
            ({}, "'total' is a required property"),
            ("4", "'4' is not of type 'object'"),
            # Several errors: the first by path is reported.
            ({"total": "x", "items": [1]}, "at items/0: 1 is not of type 'string'"),
        ],
    )
    def test_non_conforming_names_path_and_message(
        self, tmp_path: Path, value: Any, evidence: str
    ) -> None:
        scenario = single(tmp_path, "metric: json_schema", extra=SCHEMA)
        assert evaluate(scenario, output(value)) == Check("c", False, evidence)

    def test_an_unusable_output_fails(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: json_schema", extra=SCHEMA)
        result = output(None, text="{total", error="output is not JSON")
        assert evaluate(scenario, result) == Check(
            "c", False, "no usable output: output is not JSON"
        )


# -- llm_judge ---------------------------------------------------------------------------------


class TestLlmJudge:
    def judged(self, tmp_path: Path, reply: str | Exception) -> tuple[Check, FakeJudge]:
        scenario = single(
            tmp_path,
            "metric: llm_judge, target: 0.9",
            expected={"tone": "warm"},
            description="The reply is polite",
        )
        judge = FakeJudge(reply)
        return evaluate(scenario, output({"reply": "Thanks!"}), judge=judge), judge

    def test_pass_keeps_score_and_reason(self, tmp_path: Path) -> None:
        verdict, judge = self.judged(
            tmp_path, '{"pass": true, "score": 0.8, "reason": "Warm and   polite."}'
        )
        assert verdict == Check("c", True, "judge: Warm and polite.", score=0.8)
        [prompt] = judge.prompts
        assert "Criterion: The reply is polite\n" in prompt
        assert "Target:" not in prompt  # a numeric target of a judge is a share of cases
        assert '"tone": "warm"' in prompt
        assert '"reply": "Thanks!"' in prompt

    def test_fail(self, tmp_path: Path) -> None:
        verdict, _ = self.judged(tmp_path, '{"pass": false, "score": 0.1, "reason": "Curt."}')
        assert verdict == Check("c", False, "judge: Curt.", score=0.1)

    def test_no_reason(self, tmp_path: Path) -> None:
        verdict, _ = self.judged(tmp_path, '{"pass": true}')
        assert verdict == Check("c", True, "judge gave no reason")

    def test_non_json_reply_is_an_error_never_a_pass(self, tmp_path: Path) -> None:
        verdict, _ = self.judged(tmp_path, "Looks great, pass!")
        assert verdict == Check(
            "c",
            False,
            "the judge gave no verdict",
            error="judge reply is not JSON: 'Looks great, pass!'",
        )

    def test_broken_json_reply_is_an_error(self, tmp_path: Path) -> None:
        verdict, _ = self.judged(tmp_path, '{"pass": true, }')
        assert verdict == Check(
            "c",
            False,
            "the judge gave no verdict",
            error="""judge reply is not JSON: '{"pass": true, }'""",
        )

    @pytest.mark.parametrize(
        "reply", ['{"pass": "yes", "score": 1}', '{"score": 1, "reason": "fine"}', '{"pass": 1}']
    )
    def test_json_without_boolean_pass_fails_closed(self, tmp_path: Path, reply: str) -> None:
        verdict, _ = self.judged(tmp_path, reply)
        assert verdict == Check(
            "c",
            False,
            "the judge gave no verdict",
            error=f"judge reply has no boolean 'pass': {reply!r}",
        )

    def test_reply_in_prose_and_code_fence_is_parsed(self, tmp_path: Path) -> None:
        reply = 'Here is my verdict:\n```json\n{"pass": true, "score": 1, "reason": "ok"}\n```\n'
        verdict, _ = self.judged(tmp_path, reply)
        assert verdict == Check("c", True, "judge: ok", score=1.0)

    def test_a_judge_that_raises_propagates(self, tmp_path: Path) -> None:
        # The runner turns it into a case error (or a budget stop); it is never a pass.
        failure = ConnectionError("judge provider unreachable")
        with pytest.raises(ConnectionError) as info:
            self.judged(tmp_path, failure)
        assert info.value is failure


class TestParseJudgeReply:
    @pytest.mark.parametrize(
        ("reply", "parsed"),
        [
            ('{"pass": true, "score": 0.5, "reason": "ok"}', (True, 0.5, "ok")),
            ('{"pass": false}', (False, None, "")),
            ('{"pass": true, "score": 1}', (True, 1.0, "")),
            ('{"pass": true, "score": true}', (True, None, "")),
            ('{"pass": true, "score": "high"}', (True, None, "")),
            ('{"pass": false, "reason": 3}', (False, None, "3")),
            (
                'Verdict: {"pass": true,\n "reason": "multi\\nline"} done',
                (True, None, "multi\nline"),
            ),
            ('```json\n{"pass": false, "score": 0}\n```', (False, 0.0, "")),
        ],
    )
    def test_valid(self, reply: str, parsed: tuple[bool, float | None, str]) -> None:
        assert parse_judge_reply(reply) == parsed

    def test_score_is_a_float(self) -> None:
        assert type(parse_judge_reply('{"pass": true, "score": 1}')[1]) is float

    @pytest.mark.parametrize(
        ("reply", "message"),
        [
            ("", "judge reply is not JSON: ''"),
            ("yes", "judge reply is not JSON: 'yes'"),
            ("{not json}", "judge reply is not JSON: '{not json}'"),
            # Braces in the prose around the object make the span invalid: fail closed.
            ('{"pass": true} {aside}', """judge reply is not JSON: '{"pass": true} {aside}'"""),
            ("[true]", "judge reply is not JSON: '[true]'"),
            ('{"pass": null}', """judge reply has no boolean 'pass': '{"pass": null}'"""),
            ('{"verdict": true}', """judge reply has no boolean 'pass': '{"verdict": true}'"""),
        ],
    )
    def test_invalid(self, reply: str, message: str) -> None:
        with pytest.raises(ValueError, match=re.escape(message)) as info:
            parse_judge_reply(reply)
        assert str(info.value) == message

    def test_long_reply_is_shortened_in_the_error(self) -> None:
        with pytest.raises(ValueError, match="not JSON") as info:
            parse_judge_reply("no " * 100)
        assert str(info.value) == f"judge reply is not JSON: {'no ' * 25 + 'no…'!r}"

    def test_null_reason_is_no_reason(self) -> None:
        assert parse_judge_reply('{"pass": true, "reason": null}') == (True, None, "")


# -- custom ------------------------------------------------------------------------------------


class TestCustomExpression:
    def test_true(self, tmp_path: Path) -> None:
        scenario = single(
            tmp_path,
            "metric: custom, check: \"output['total'] == expected['total']\"",
            expected={"total": 4},
        )
        assert evaluate(scenario, output({"total": 4})) == Check(
            "c", True, "output['total'] == expected['total'] → true"
        )

    def test_false(self, tmp_path: Path) -> None:
        scenario = single(
            tmp_path,
            "metric: custom, check: \"output['total'] == expected['total']\"",
            expected={"total": 4},
        )
        assert evaluate(scenario, output({"total": 5})) == Check(
            "c", False, "output['total'] == expected['total'] → false"
        )

    def test_number_is_kept_as_score(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: custom, check: \"output['confidence']\"")
        assert evaluate(scenario, output({"confidence": 0.75})) == Check(
            "c", True, "output['confidence'] → 0.75", score=0.75
        )
        assert evaluate(scenario, output({"confidence": 0})) == Check(
            "c", False, "output['confidence'] → 0", score=0.0
        )

    def test_bool_is_not_a_score(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: custom, check: \"output['ok']\"")
        assert evaluate(scenario, output({"ok": True})).score is None

    def test_raising_expression_is_an_error(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: custom, check: \"output['missing'] > 0\"")
        assert evaluate(scenario, output({"total": 4})) == Check(
            "c",
            False,
            "check failed to evaluate",
            error="""cannot evaluate "output['missing'] > 0": key 'missing' not found""",
        )

    @pytest.mark.parametrize(
        "expression",
        [
            "output == {'total': 4, 'text': 'own', 'cost_usd': 99}",
            "total == 4",
            "input == {'q': 1}",
            "expected == {'total': 4}",
            "target == 4",
            "text == 'Total: 4'",
            "error is None",
            "config['max_attempts'] == 1",
            "elapsed_s == 1.5",
            "cost_usd == 0.25",
            "input_tokens == 10",
            "output_tokens == 20",
            "llm_calls == 2",
            "attempts == 3",
        ],
    )
    def test_names_available(self, tmp_path: Path, expression: str) -> None:
        # The output's own keys come first; the case's names and the metrics shadow them.
        scenario = single(
            tmp_path,
            f'metric: custom, target: "{{{{ expected.total }}}}", check: "{expression}"',
            expected={"total": 4},
            extra="output_schema: {type: object, properties: {total: {type: number}}}\n",
        )
        metrics = Metrics(
            elapsed_s=1.5,
            cost_usd=0.25,
            input_tokens=10,
            output_tokens=20,
            llm_calls=2,
            attempts=3,
        )
        result = output({"total": 4, "text": "own", "cost_usd": 99}, text="Total: 4")
        assert evaluate(scenario, result, metrics=metrics) == Check(
            "c", True, f"{expression} → true"
        )

    def test_error_of_the_output_is_a_name(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, "metric: custom, check: \"error == 'not JSON'\"")
        assert evaluate(scenario, output(None, text="x", error="not JSON")).passed is True


class TestCustomCallable:
    """``check: module:function`` names a marked function of the scenario's project (here
    ``tmp_path``, which holds ``checks.py``)."""

    @pytest.fixture(autouse=True)
    def checks(self, tmp_path: Path) -> None:
        shutil.copy(Path(checks_module.__file__), tmp_path / "checks.py")

    @staticmethod
    def calls() -> list[str]:
        return list(sys.modules["checks"].CALLS) if "checks" in sys.modules else []

    def test_marked_function_is_called_with_the_names(self, tmp_path: Path) -> None:
        scenario = single(
            tmp_path, 'metric: custom, check: "checks:total_matches"', expected={"total": 4}
        )
        assert evaluate(scenario, output({"total": 4})) == Check(
            "c", True, "checks:total_matches → true"
        )
        assert evaluate(scenario, output({"total": 3})).passed is False
        assert self.calls() == ["total_matches", "total_matches"]

    def test_marked_function_returning_a_number_gives_a_score(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, 'metric: custom, check: "checks:confidence"')
        assert evaluate(scenario, output({"confidence": 0.6})) == Check(
            "c", True, "checks:confidence → 0.6", score=0.6
        )

    def test_marked_function_that_raises_is_an_error(self, tmp_path: Path) -> None:
        scenario = single(tmp_path, 'metric: custom, check: "checks:explode"')
        assert evaluate(scenario, output({})) == Check(
            "c",
            False,
            "check failed to evaluate",
            error="check 'checks:explode' failed: RuntimeError: boom",
        )

    def test_unmarked_function_is_refused_without_being_called(self, tmp_path: Path) -> None:
        with pytest.raises(CheckError) as caught:
            run_check("checks:unmarked", {}, project=tmp_path)
        assert str(caught.value) == (
            "'checks:unmarked' is not marked with @goalctl.check; refusing to call it"
        )
        assert self.calls() == []

    @pytest.mark.parametrize("reference", ["os.path:exists", "json:dumps"])
    def test_modules_outside_the_project_are_refused_before_import(
        self, tmp_path: Path, reference: str
    ) -> None:
        module = reference.split(":")[0]
        with pytest.raises(CheckError) as caught:
            run_check(reference, {}, project=tmp_path)
        assert str(caught.value).startswith(f"module {module!r} is not part of the project")

    def test_importing_is_refused_for_a_stdlib_module_with_side_effects(
        self, tmp_path: Path
    ) -> None:
        sys.modules.pop("antigravity", None)
        with pytest.raises(CheckError, match="is not part of the project"):
            run_check("antigravity:fly", {}, project=tmp_path)
        assert "antigravity" not in sys.modules  # never imported, so its code never ran

    @pytest.mark.parametrize(
        ("reference", "cause"),
        [
            ("no_such_checks:fn", "module 'no_such_checks' is not part of the project"),
            ("checks:nope", "module 'checks' has no function 'nope'"),
        ],
    )
    def test_missing_module_or_function(self, tmp_path: Path, reference: str, cause: str) -> None:
        with pytest.raises(CheckError) as caught:
            run_check(reference, {}, project=tmp_path)
        assert str(caught.value).startswith(cause)

    def test_check_marks_and_returns_the_function(self) -> None:
        def local(names: dict[str, Any]) -> bool:
            return True

        assert check(local) is local
        assert getattr(local, "__goalctl_check__", False) is True

    def test_the_refusal_names_a_decorator_that_exists(self, tmp_path: Path) -> None:
        with pytest.raises(CheckError) as info:
            run_check("checks:unmarked", {}, project=tmp_path)
        found = re.search(r"@([\w.]+)", str(info.value))
        assert found is not None
        module, _, name = found.group(1).rpartition(".")
        assert getattr(importlib.import_module(module), name, None) is check


# -- a target that does not render -------------------------------------------------------------


class TestUnrenderableTarget:
    @pytest.mark.parametrize(
        "fields",
        [
            "metric: output_contains",
            "metric: output_equals",
            "metric: output_matches",
            'metric: custom, check: "True"',
            "metric: llm_judge",
        ],
    )
    def test_is_an_error_and_never_a_pass(self, tmp_path: Path, fields: str) -> None:
        # Loading renders the target for every case in the file; a case built later can lack it.
        scenario = single(
            tmp_path, f'{fields}, target: "{{{{ expected.word }}}}"', expected={"word": "hello"}
        )
        verdict = evaluate(scenario, output("hello"), case=Case(expected={}))
        assert verdict == Check(
            "c", False, "target could not be rendered", error="target is undefined for this case"
        )


# -- check_case --------------------------------------------------------------------------------


def test_check_case_checks_every_criterion_in_order(tmp_path: Path) -> None:
    scenario = build(
        tmp_path,
        """\
        success_criteria:
          - {id: greets, description: Greets, metric: output_contains, target: hello}
          - {id: polite, description: Is polite, metric: llm_judge}
          - {id: short, description: Is short, metric: custom, check: "len(text) < 5"}
        """,
    )
    judge = FakeJudge('{"pass": true, "reason": "Kind."}')
    evaluator = Evaluator(scenario, scenario.config)
    checks = asyncio.run(
        evaluator.check_case(context_of(scenario), output("hello you"), Metrics(), judge)
    )
    assert checks == [
        Check("greets", True, "contains 'hello'"),
        Check("polite", True, "judge: Kind."),
        Check("short", False, "len(text) < 5 → false"),
    ]
    assert len(judge.prompts) == 1


# -- constraints -------------------------------------------------------------------------------


class TestCheckConstraints:
    def test_expression_satisfied_and_violated(self, tmp_path: Path) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: brief, description: At most 10 characters, check: "len(text) <= 10"}
            """,
        )
        assert constraints_of(scenario, output("x short")) == [
            ConstraintCheck("brief", True, "len(text) <= 10 → true")
        ]
        assert constraints_of(scenario, output("x is far too long")) == [
            ConstraintCheck("brief", False, "len(text) <= 10 → false")
        ]

    def test_expression_that_raises_is_a_violation_with_an_error(self, tmp_path: Path) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: sized, description: Few items, check: "len(output['items']) < 3"}
            """,
        )
        assert constraints_of(scenario, output({})) == [
            ConstraintCheck(
                "sized",
                False,
                "check failed to evaluate",
                """cannot evaluate "len(output['items']) < 3": key 'items' not found""",
            )
        ]

    def test_llm_judge_constraint_asks_the_judge(self, tmp_path: Path) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: civil, description: Never rude to the customer, check: llm_judge}
            """,
        )
        judge = FakeJudge('{"pass": false, "score": 0, "reason": "Insults the customer."}')
        assert constraints_of(scenario, output("x, you fool"), judge=judge) == [
            ConstraintCheck("civil", False, "judge: Insults the customer.")
        ]
        [prompt] = judge.prompts
        assert "Criterion: Never rude to the customer\n" in prompt
        assert "Target:" not in prompt
        assert "x, you fool" in prompt

    def test_llm_judge_constraint_without_a_verdict_is_violated(self, tmp_path: Path) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: civil, description: Never rude, check: llm_judge}
            """,
        )
        judge = FakeJudge("Seems fine.")
        assert constraints_of(scenario, output("x"), judge=judge) == [
            ConstraintCheck(
                "civil",
                False,
                "the judge gave no verdict",
                "judge reply is not JSON: 'Seems fine.'",
            )
        ]

    def test_unchecked_constraints_and_budgets_are_not_checked_per_case(
        self, tmp_path: Path
    ) -> None:
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: guide, description: Be friendly}
              - {id: quick, description: d, category: time, check: "elapsed_s <= 5"}
              - {id: cheap, description: d, category: cost, check: "cost_usd <= 0.01"}
              - {id: few-calls, description: d, category: cost, check: "llm_calls <= 1"}
              - {id: thrifty, description: d, category: cost, constraint_type: soft,
                 check: "cost_usd <= 0.01"}
              - {id: terse, description: d, category: time, check: "len(output) < 3"}
              - {id: safe, description: d, category: safety, check: "elapsed_s <= 5"}
            """,
        )
        metrics = Metrics(elapsed_s=60.0, cost_usd=1.0, llm_calls=9)
        checks = constraints_of(scenario, output("xxxx"), metrics=metrics)
        assert checks == [
            ConstraintCheck("thrifty", False, "cost_usd <= 0.01 → false"),
            ConstraintCheck("terse", False, "len(output) < 3 → false"),
            ConstraintCheck("safe", False, "elapsed_s <= 5 → false"),
        ]

    def test_callable_constraint(self, tmp_path: Path) -> None:
        shutil.copy(Path(checks_module.__file__), tmp_path / "checks.py")
        scenario = build(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            constraints:
              - {id: sane, description: d, check: "checks:explode"}
            """,
        )
        [verdict] = constraints_of(scenario, output("x"))
        assert verdict.satisfied is False
        assert verdict.error == "check 'checks:explode' failed: RuntimeError: boom"


@pytest.mark.parametrize(
    ("fields", "budget"),
    [
        ({"constraint_type": "soft", "category": "cost", "check": "cost_usd <= 1"}, False),
        ({"category": "cost", "check": "len(output) < 100 and cost_usd <= 1"}, False),
        ({"category": "time", "check": "elapsed_s <= 5"}, True),
        ({"category": "cost", "check": "cost_usd <= 0.05 and llm_calls < 10"}, True),
        ({"category": "safety", "check": "elapsed_s <= 5"}, False),
        ({"category": "time"}, False),
        ({"category": "time", "check": "llm_judge"}, False),
        ({"category": "cost", "check": "tests.support.checks_module:confidence"}, False),
    ],
)
def test_is_budget(fields: dict[str, Any], budget: bool) -> None:
    constraint = Constraint(id="k", description="d", **fields)
    assert is_budget(constraint) is budget


# -- across cases ------------------------------------------------------------------------------

AGGREGATED = """\
success_criteria:
  - {id: half, description: Half the cases, metric: output_contains, target: x, threshold: 0.5}
  - {id: every, description: Every case, metric: output_contains, target: x}
  - {id: judged, description: Judged, metric: llm_judge, target: 0.9}
  - {id: scored, description: Scored, metric: custom, target: 0.5, check: "True"}
  - {id: exact, description: Exact, metric: output_equals, target: 0.5}
constraints:
  - {id: brief, description: Brief, check: "len(text) < 10"}
  - {id: tidy, description: Tidy, constraint_type: soft, category: quality, check: "True"}
  - {id: quick, description: Quick, category: time, check: "elapsed_s <= 5"}
  - {id: guide, description: Be friendly}
"""


def checks_for(ids: list[str], passed: bool, evidence: str = "ev") -> list[Check]:
    return [Check(i, passed, evidence) for i in ids]


class TestAggregateCriteria:
    def test_success_rates_and_thresholds(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        ids = ["half", "every", "judged", "scored", "exact"]
        results = aggregate_criteria(
            scenario, [("case-1", checks_for(ids, True)), ("case-2", checks_for(ids, False))]
        )
        assert [
            (r.id, r.passed, r.evaluated, r.success_rate, r.threshold, r.met) for r in results
        ] == [
            ("half", 1, 2, 0.5, 0.5, True),
            ("every", 1, 2, 0.5, 1.0, False),
            ("judged", 1, 2, 0.5, 0.9, False),
            ("scored", 1, 2, 0.5, 0.5, True),
            ("exact", 1, 2, 0.5, 1.0, False),
        ]
        assert [(r.metric, r.weight, r.description) for r in results][:1] == [
            ("output_contains", 1.0, "Half the cases")
        ]

    def test_judge_threshold_met_at_its_target(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        cases = [(f"case-{n}", [Check("judged", n != 10, "judge: ok")]) for n in range(1, 11)]
        [judged] = [r for r in aggregate_criteria(scenario, cases) if r.id == "judged"]
        assert (judged.passed, judged.evaluated, judged.met) == (9, 10, True)

    def test_evidence_keeps_the_first_five_failures_with_errors(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        cases = [("ok", [Check("every", True, "contains 'x'")])]
        cases += [(f"case-{n}", [Check("every", False, "missing 'x'")]) for n in range(1, 7)]
        cases.insert(2, ("broken", [Check("every", False, "check failed", error="boom")]))
        [every] = [r for r in aggregate_criteria(scenario, cases) if r.id == "every"]
        assert (every.passed, every.evaluated, every.errors) == (1, 8, 1)
        assert every.evidence == [
            "case-1: missing 'x'",
            "broken: check failed: boom",
            "case-2: missing 'x'",
            "case-3: missing 'x'",
            "case-4: missing 'x'",
        ]

    def test_evidence_of_one_pass_when_all_passed(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        cases = [
            ("a", [Check("every", True, "contains 'x'")]),
            ("b", [Check("every", True, "contains 'x' again")]),
        ]
        [every] = [r for r in aggregate_criteria(scenario, cases) if r.id == "every"]
        assert every.evidence == ["a: contains 'x'"]
        assert every.met is True

    def test_a_criterion_never_evaluated_is_not_met(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        [half, *_] = aggregate_criteria(scenario, [("a", [Check("every", True, "e")])])
        assert (half.evaluated, half.success_rate, half.met, half.evidence) == (0, 0.0, False, [])


class TestAggregateConstraints:
    def test_violations_from_cases_and_the_run(self, tmp_path: Path) -> None:
        scenario = build(tmp_path, AGGREGATED)
        results = aggregate_constraints(
            scenario,
            [
                (
                    "case-1",
                    [
                        ConstraintCheck("brief", True, "len(text) < 10 → true"),
                        ConstraintCheck("tidy", False, "True → false"),
                    ],
                ),
                (
                    "case-2",
                    [ConstraintCheck("brief", False, "check failed to evaluate", "bad")],
                ),
            ],
            [ConstraintCheck("quick", False, "elapsed_s <= 5 → false")],
        )
        summary = [
            (r.id, r.constraint_type, r.category, r.checked, r.hard, r.violated, r.violations)
            for r in results
        ]
        assert summary == [
            (
                "brief",
                "hard",
                "general",
                True,
                True,
                True,
                ["case-2: check failed to evaluate: bad"],
            ),
            ("tidy", "soft", "quality", True, False, True, ["case-1: True → false"]),
            ("quick", "hard", "time", True, True, True, ["run: elapsed_s <= 5 → false"]),
            ("guide", "hard", "general", False, True, False, []),
        ]


def criterion(weight: float, met: bool, name: str = "c") -> CriterionResult:
    return CriterionResult(name, "", "custom", weight, 1.0, passed=int(met), evaluated=1)


def constraint(kind: str, violated: bool) -> ConstraintResult:
    return ConstraintResult("k", "", kind, "general", True, ["case-1: broken"] if violated else [])


class TestVerdict:
    @pytest.mark.parametrize(
        ("weights_met", "achieved"),
        [
            ([(0.99, True), (0.99, True), (0.22, False)], True),
            ([(0.99, True), (0.99, False), (0.22, True)], False),
            ([(0.1, True)] * 9 + [(0.1, False)], True),
            ([(0.1, True)] * 8 + [(0.1, False)] * 2, False),
            ([(1.0, True), (0.0, False)], True),
            ([(0.0, True)], False),
            ([], False),
        ],
    )
    def test_ninety_percent_of_the_weight_exactly(
        self, weights_met: list[tuple[float, bool]], achieved: bool
    ) -> None:
        criteria = [criterion(w, m, f"c{i}") for i, (w, m) in enumerate(weights_met)]
        assert goal_achieved(criteria, []) is achieved

    def test_a_hard_violation_blocks(self) -> None:
        met = [criterion(1.0, True)]
        assert goal_achieved(met, [constraint("hard", violated=True)]) is False

    def test_a_soft_violation_does_not_block(self) -> None:
        met = [criterion(1.0, True)]
        assert goal_achieved(met, [constraint("soft", violated=True)]) is True
        assert goal_achieved(met, [constraint("hard", violated=False)]) is True

    def test_constraints_cannot_rescue_unmet_criteria(self) -> None:
        assert goal_achieved([criterion(1.0, False)], [constraint("soft", False)]) is False

    def test_weighted_score(self) -> None:
        thirds = [criterion(0.99, True), criterion(0.99, True), criterion(0.22, False)]
        assert weighted_score(thirds) == pytest.approx(0.9)
        assert weighted_score([criterion(0.5, True), criterion(0.5, False)]) == 0.5
        assert weighted_score([criterion(1.0, True)]) == 1.0
        assert weighted_score([criterion(0.0, True)]) == 0.0
        assert weighted_score([]) == 0.0


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ('{"a": 1}', {"a": 1}, True),
        ({"a": 1}, '{"a": 1}', True),
        (" 4 ", 4, True),
        ("4", 4.0, True),
        (4, 4.0, True),
        ({"a": 1}, {"a": 1.0}, True),
        ("null", None, True),
        ("  Paris\n", "Paris", True),
        ("Paris", "paris", False),
        ('{"a": 1}', '{"a":1}', True),  # two strings holding objects compare as JSON
        ("4", "4.0", False),
        (True, 1, False),
        (1, True, False),
        (False, 0, False),
        ("true", 1, False),
        ("true", True, True),
        (True, True, True),
        ("not json", {"a": 1}, False),
        ([1, 2], [2, 1], False),
        (None, "", False),
    ],
)
def test_json_equal(left: Any, right: Any, equal: bool) -> None:
    assert json_equal(left, right) is equal
    assert json_equal(right, left) is equal


@pytest.mark.parametrize(("left", "right"), [({"a": True}, {"a": 1}), ([1, 0], [True, False])])
def test_json_equal_tells_bool_from_int_when_nested(left: Any, right: Any) -> None:
    assert json_equal(left, right) is False


@pytest.mark.parametrize(
    ("value", "limit", "text"),
    [
        ("short", 200, "short"),
        ("  many \n\t spaces  ", 200, "many spaces"),
        ("x" * 10, 10, "x" * 10),
        ("x" * 11, 10, "x" * 9 + "…"),
        ({"b": 1, "a": "é"}, 200, '{"a": "é", "b": 1}'),
        ([1, {"k": None}], 200, '[1, {"k": null}]'),
        (True, 200, "true"),
        (None, 200, "null"),
        (Path("a/b"), 200, '"a/b"'),
        ({"text": "line\nbreak"}, 200, '{"text": "line\\nbreak"}'),
    ],
)
def test_shorten(value: Any, limit: int, text: str) -> None:
    assert shorten(value, limit) == text
    assert len(shorten(value, limit)) <= limit


def test_shorten_default_limit() -> None:
    assert shorten("y" * 500) == "y" * 199 + "…"


def test_metrics_names_and_add() -> None:
    total = Metrics(elapsed_s=1.0, cost_usd=0.5, llm_calls=1)
    total.add(Metrics(elapsed_s=9.0, cost_usd=0.25, input_tokens=3, llm_calls=2, attempts=1))
    assert total.names() == {
        "elapsed_s": 1.0,
        "cost_usd": 0.75,
        "input_tokens": 3,
        "output_tokens": 0,
        "llm_calls": 3,
        "attempts": 1,
    }
