"""``goalctl validate``: the invalid corpus, the examples, lineage, formats and exit codes.

Every file in ``tests/fixtures/scenarios/invalid`` is pinned to its exact problems,
``line:col: key: message (remedy)``, so a change in wording or position is a visible decision.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from goalctl.validation import validate_paths
from tests.conftest import FIXTURES, REPO, SCENARIOS, run_cli

INVALID = FIXTURES / "scenarios" / "invalid"

EXPECTED: dict[str, list[str]] = {
    "alias_bomb.yaml": [
        "4:4: document expands to more than 100,000 values (too many aliases or values; is this an alias bomb?)",
    ],
    "bad_category.yaml": [
        "10:15: constraints[0].category: must be one of 'time', 'cost', 'safety', 'scope', 'quality' or 'general', got 'speed' (did you mean 'scope'?)",
    ],
    "bad_check_expression.yaml": [
        "11:12: constraints[0].check: invalid expression 'cost_usd <=': syntax error: invalid syntax (column 12)",
    ],
    "bad_config.yaml": [
        "6:15: config.item_count: must be at most 1000, got 5000",
        "7:15: config.enable_llm: expected a boolean, got 'yes' (string)",
        "8:3: config.item_cont: unknown key 'item_cont' (did you mean 'item_count'?)",
    ],
    "bad_constraint_type.yaml": [
        "10:22: constraints[0].constraint_type: must be one of 'hard' or 'soft', got 'firm'",
    ],
    "bad_id.yaml": [
        "1:5: id: 'Not A Slug' is not a valid id (use lowercase letters, digits, '-', '_' and '.'; start with a letter or digit)",
    ],
    "bad_input.yaml": [
        "17:12: cases[1].input: input does not match input_schema: 'expression' is a required property",
        "19:25: cases[2].input.expression: input does not match input_schema at expression: 42 is not of type 'string'",
    ],
    "bad_input_schema.yaml": [
        "5:9: input_schema.type: not a valid JSON Schema: 'objekt' is not valid under any of the given schemas",
    ],
    "bad_metric.yaml": [
        "7:13: success_criteria[0].metric: must be one of 'output_contains', 'output_equals', 'output_matches', 'json_schema', 'llm_judge', 'custom', 'tool_called', 'tool_sequence', 'tool_args', 'file_exists', 'file_matches' or 'command_succeeds', got 'output_equal' (did you mean 'output_equals'?)",
    ],
    "bad_pricing.yaml": [
        "7:15: pricing.acme-large.output: is required (add `output:`)",
        "7:23: pricing.acme-large.input: must be at least 0.0, got -1",
        "7:27: pricing.acme-large.outptu: unknown key 'outptu' (did you mean 'output'?)",
        "8:23: pricing.acme-small.input: must be at most 100000.0, got 1000000000.0",
        "8:36: pricing.acme-small.output: expected a number, got 'free' (string)",
    ],
    "bad_provider_options.yaml": [
        "6:16: provider_options.max_retries: must be at most 10, got 1000000",
        "7:14: provider_options.timeout_s: must be at most 600, got 999999",
        "8:3: provider_options.max_retires: unknown key 'max_retires' (did you mean 'max_retries'?)",
    ],
    "bad_regex_target.yaml": [
        "8:13: success_criteria[0].target: invalid regular expression: missing ) at position 7",
    ],
    "bad_scripted_rule.yaml": [
        "9:12: responses[0].match: invalid regular expression: missing ) at position 9",
    ],
    "bad_scripted_latency.yaml": [
        "5:32: provider_options.latency_ms: must be at most 60000, got 1e+300",
    ],
    "bad_status.yaml": [
        "4:9: status: must be one of 'draft', 'ready', 'active', 'completed', 'failed' or 'suspended', got 'done'",
    ],
    "bad_version.yaml": [
        "4:10: version: '1.0' is not a semantic version (write MAJOR.MINOR.PATCH, e.g. 1.0.0)",
    ],
    "binary.yaml": [
        "1:1: not a text file (it contains NUL bytes) (scenarios are UTF-8 text)",
    ],
    "custom_without_check.yaml": [
        "5:5: success_criteria[0]: a custom criterion needs a `check` (an expression or module:function) (add e.g. check: \"output['result'] == expected['result']\")",
    ],
    "duplicate_case_names.yaml": [
        "8:12: cases[1].name: case name 'greet' is also the name of cases[0] (give every case its own name)",
    ],
    "duplicate_constraint_ids.yaml": [
        "11:9: constraints[1].id: duplicate id 'c' (first used by constraints[0]) (ids must be unique within a goal)",
    ],
    "duplicate_criterion_ids.yaml": [
        "8:9: success_criteria[1].id: duplicate id 'accuracy' (first used by success_criteria[0]) (ids must be unique within a goal)",
    ],
    "duplicate_yaml_key.yaml": [
        "4:1: name: duplicate key 'name' (first defined on line 2)",
    ],
    "empty.yaml": [
        "1:1: file is empty (start from `goalctl init NAME`)",
    ],
    "invalid_utf8.yaml": [
        "2:10: invalid UTF-8 (byte 0xe9) (save the file as UTF-8)",
    ],
    "json_schema_without_output_schema.yaml": [
        "7:13: success_criteria[0].metric: metric json_schema needs the goal's output_schema (add output_schema)",
    ],
    "lineage_gap.yaml": [
        "5:17: parent_version: parent_version 2.0.0 of goal 'orphan' does not exist (known versions: 3.0.0) (add the parent version's scenario, or correct parent_version)",
    ],
    "md_bad_context_item.md": [
        "14:1: context item 'just a sentence without a colon' is not 'key: value' (write each context bullet as '- key: value')",
    ],
    "md_bad_front_matter_yaml.md": [
        "3:7: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar); "
        "noticed at line 4",
    ],
    "md_bad_target_template.md": [
        "7:13: success_criteria[0].target: target is undefined for this case (case 'no-expected')",
    ],
    "md_broken_template.md": [
        "17:1: prompt: template syntax error: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ],
    "md_defined_twice.md": [
        "11:1: success_criteria: success_criteria is defined twice: in the front matter (line 3) and in the '## Success criteria' section (line 11) (keep one of them)",
    ],
    "md_description_twice.md": [
        "10:1: description: description is defined twice: in the front matter (line 3) and in the paragraphs under the title (line 10) (keep one of them)",
    ],
    "md_no_front_matter.md": [
        "1:1: no YAML front matter (start the file with a '---' line, the fields (at least `id:`), and '---')",
    ],
    "md_no_name.md": [
        "2:1: name: is required (add `name:` to the front matter or a `# Title` line to the body)",
    ],
    "md_sandbox_escape.md": [
        "15:1: prompt: unsafe template: access to attribute '__class__' of 'Goal' object is unsafe.",
    ],
    "md_template_without_fence.md": [
        "9:1: the '## Prompt' section has no fenced code block (put the template in a ``` fenced block)",
    ],
    "md_unclosed_front_matter.md": [
        "1:1: front matter is not closed (end it with a line '---')",
    ],
    "md_undefined_in_system.md": [
        "19:1: system: undefined name: 'persona' is undefined (rendering case 'first')",
    ],
    "missing_capability.yaml": [
        "4:30: required_capabilities[1]: agent 'llm' does not provide capability 'web_search' (it provides: llm, tools, turns) (choose an agent that provides it, or remove the requirement)",
    ],
    "missing_id.yaml": [
        "1:1: id: is required (add `id:`)",
    ],
    "negative_weight.yaml": [
        "7:13: success_criteria[0].weight: must be at least 0.0, got -0.1",
    ],
    "no_criteria.yaml": [
        "1:1: success_criteria: a goal that is not a draft needs at least one success criterion (add success_criteria, or set status: draft)",
    ],
    "not_a_mapping.yaml": [
        "1:1: expected a mapping of fields at the top level, got a list",
    ],
    "parent_is_self.yaml": [
        "5:17: parent_version: parent_version must differ from version (1.0.0) (a goal cannot evolve from itself; bump version)",
    ],
    "python_tag.yaml": [
        "2:7: name: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' (remove the tag)",
    ],
    "runtime_fields.yaml": [
        "4:9: status: status 'completed' is set by runs, not by scenario files (use one of draft, ready, suspended)",
        "5:1: created_at: unknown key 'created_at' (a run records it; remove it from the scenario)",
        "7:82: success_criteria[0].met: unknown key 'met' (a run records it; remove it from the scenario)",
    ],
    "two_documents.yaml": [
        "2:1: a scenario file holds one YAML document, but another one starts here (remove the extra '---' line)",
    ],
    "undefined_template_name.yaml": [
        "12:1: prompt: undefined name: 'recipient' is undefined (rendering case 'case-1')",
    ],
    "unknown_agent.yaml": [
        "4:8: agent: unknown agent 'data-colector' (did you mean 'data-collector'?)",
    ],
    "unknown_check_name.yaml": [
        "9:12: success_criteria[0].check: unknown name 'totl' in \"totl == expected['total']\": a run would fail on every case (did you mean 'total'?)",
        "11:61: constraints[0].check: unknown name 'cost_uds' in 'cost_uds <= 0.01': a run would fail on every case (did you mean 'cost_usd'?)",
    ],
    "unknown_criterion_key.yaml": [
        "7:5: success_criteria[0].wieght: unknown key 'wieght' (did you mean 'weight'?)",
    ],
    "unknown_key.yaml": [
        "4:1: sucess_criteria: unknown key 'sucess_criteria' (did you mean 'success_criteria'?)",
    ],
    "unmarked_check.yaml": [
        "8:12: success_criteria[0].check: 'tests.support.checks_module:unmarked' is not marked with @goalctl.check; it would not be called (name a function of this scenario's project (its folder up to pyproject.toml or .git) marked @goalctl.check)",
        "12:12: success_criteria[1].check: module 'tests.support.checks_module' has no function 'total_match' (did you mean 'total_matches'?) (name a function of this scenario's project (its folder up to pyproject.toml or .git) marked @goalctl.check)",
    ],
    "unsafe_check.yaml": [
        "11:12: constraints[0].check: invalid expression 'output.__class__.__mro__': attribute '__class__' is not allowed: attributes starting with '_' are private (column 8)",
    ],
    "weight_out_of_range.yaml": [
        "7:13: success_criteria[0].weight: must be at most 1.0, got 1.5",
    ],
    "wrong_type_weight.yaml": [
        "7:13: success_criteria[0].weight: expected a number, got 'high' (string)",
    ],
    "yaml_syntax.yaml": [
        "4:24: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence); "
        "noticed at line 5",
    ],
    "zero_weight.yaml": [
        "5:3: success_criteria: the total weight of the success criteria must be above 0 (give at least one criterion a weight above 0)",
    ],
}


def test_the_corpus_is_large_and_fully_pinned() -> None:
    files = sorted(path.name for path in INVALID.iterdir())
    assert len(files) >= 30
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_file_reports_exact_problems(name: str) -> None:
    report = validate_paths([INVALID / name])
    assert [str(problem).split(":", 1)[1] for problem in report.problems] == EXPECTED[name]
    assert not report.ok


def test_a_field_error_does_not_hide_repeated_cases_or_template_errors(tmp_path: Path) -> None:
    # A wrong field keeps the file from becoming a scenario; what can be checked without one
    # (config, case names, template syntax) is still reported, in line order.
    path = tmp_path / "m.md"
    path.write_text(
        "---\n"
        "id: md\n"
        "provider: scripted\n"
        "success_criteria:\n"
        "  - {id: a, description: a, metric: output_contains, target: x, weight: 5}\n"
        "cases:\n"
        "  - {name: same, input: {}}\n"
        "  - {name: same, input: {}}\n"
        "---\n"
        "# Title\n\nDescription.\n\n"
        "## Prompt\n\n"
        "```jinja\n{{ input.x | nosuchfilter }}\n```\n"
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{path}:5:73: success_criteria[0].weight: must be at most 1.0, got 5",
        f"{path}:8:12: cases[1].name: case name 'same' is also the name of cases[0] "
        "(give every case its own name)",
        f"{path}:17:1: prompt: template syntax error: No filter named 'nosuchfilter'.",
    ]


def test_a_broken_file_never_stops_the_others() -> None:
    report = validate_paths([INVALID])
    # Found in a folder, Markdown without front matter is a note, not a broken scenario.
    assert report.passed_over == [INVALID / "md_no_front_matter.md"]
    scenarios = set(EXPECTED) - {"md_no_front_matter.md"}
    assert len(report.results) == len(scenarios)
    assert len(report.invalid) == len(scenarios)
    got = {Path(p.path).name for p in report.problems}
    assert got == scenarios


def test_examples_are_valid() -> None:
    report = validate_paths([SCENARIOS])
    assert report.problems == []
    assert {s.goal.id for s in report.scenarios} == {
        "calculator",
        "qualify-leads",
        "email-sender",
        "data-collector",
        "support-triage",
        "order-status-anthropic",
        "order-status-openai",
        "ticket-title-curl",
        "refund-policy-python",
        "support-reply-http",
        "refund-support-tools",
        "table-booking-turns",
        "coding-fizzbuzz",
        "faq",
        "review-sentiment",
    }


def test_lineage_finds_a_parent_beside_a_single_file() -> None:
    report = validate_paths([SCENARIOS / "email_sender_v2.md"])
    assert report.ok


def test_lineage_gap_when_the_parent_is_missing(tmp_path: Path) -> None:
    shutil.copy(SCENARIOS / "email_sender_v2.md", tmp_path)
    report = validate_paths([tmp_path])
    [problem] = report.problems
    assert problem.key == "parent_version"
    assert problem.message == (
        "parent_version 1.0.0 of goal 'email-sender' does not exist (known versions: 2.0.0)"
    )
    assert (problem.line, problem.col) == (5, 17)


def test_the_same_version_twice_is_reported(tmp_path: Path) -> None:
    shutil.copy(SCENARIOS / "email_sender_v1.yaml", tmp_path / "a.yaml")
    shutil.copy(SCENARIOS / "email_sender_v1.yaml", tmp_path / "b.yaml")
    report = validate_paths([tmp_path])
    [problem] = report.problems
    assert problem.path.endswith("b.yaml")
    assert (
        problem.message
        == f"goal 'email-sender' version 1.0.0 is also defined in {tmp_path / 'a.yaml'}"
    )


class TestCommand:
    def test_valid_examples_exit_0(self) -> None:
        result = run_cli("validate", str(SCENARIOS))
        assert (result.exit_code, result.stdout, result.stderr) == (
            0,
            "17 scenario files valid\n",
            "",
        )

    def test_invalid_file_exits_1_with_located_lines(self) -> None:
        path = INVALID / "bad_config.yaml"
        result = run_cli("validate", str(path))
        assert result.exit_code == 1
        assert result.stdout.splitlines() == [
            f"{path}:{line}" for line in EXPECTED["bad_config.yaml"]
        ]
        assert result.stderr == "1 of 1 scenario file invalid (3 problems)\n"

    def test_missing_path_is_a_usage_error(self) -> None:
        result = run_cli("validate", "no/such/dir")
        assert (result.exit_code, result.stderr) == (
            2,
            "goalctl: error: no such file or directory: no/such/dir\n",
        )

    def test_glob_matching_nothing_is_a_usage_error(self, tmp_path: Path) -> None:
        result = run_cli("validate", str(tmp_path / "*.md"))
        assert result.exit_code == 2
        assert "no scenario files match" in result.stderr

    def test_glob_selects_files(self) -> None:
        result = run_cli("validate", str(SCENARIOS / "email_sender_*"))
        assert (result.exit_code, result.stdout) == (0, "2 scenario files valid\n")

    def test_json_format(self) -> None:
        path = INVALID / "weight_out_of_range.yaml"
        result = run_cli("validate", "--format", "json", str(path))
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        assert data["version"] == 1
        assert data["valid"] is False
        assert data["summary"] == {"files": 1, "valid": 0, "invalid": 1, "problems": 1}
        assert data["files"][0]["problems"] == [
            {
                "line": 7,
                "col": 13,
                "key": "success_criteria[0].weight",
                "message": "must be at most 1.0, got 1.5",
                "remedy": "",
                "severity": "error",
            }
        ]

    def test_github_format(self) -> None:
        path = INVALID / "unknown_key.yaml"
        result = run_cli("validate", "--format", "github", str(path))
        assert result.exit_code == 1
        assert result.stdout == (
            f"::error file={path},line=4,col=1,title=goalctl validate::"
            "sucess_criteria: unknown key 'sucess_criteria' (did you mean 'success_criteria'?)\n"
        )

    def test_github_format_is_the_default_under_actions(self) -> None:
        path = INVALID / "unknown_key.yaml"
        result = run_cli("validate", str(path), env={"GITHUB_ACTIONS": "true"})
        assert result.stdout.startswith("::error file=")


def test_parallel_validation_reports_exactly_what_sequential_does(tmp_path: Path) -> None:
    for index in range(12):
        shutil.copy(SCENARIOS / "calculator.md", tmp_path / f"ok-{index}.md")
    for name in ("bad_config.yaml", "weight_out_of_range.yaml", "md_broken_template.md"):
        shutil.copy(INVALID / name, tmp_path / name)
    shutil.copy(SCENARIOS / "email_sender_v2.md", tmp_path / "orphan.md")
    sequential = validate_paths([tmp_path], keep_scenarios=False, jobs=1)
    parallel = validate_paths([tmp_path], keep_scenarios=False, jobs=2)
    assert [(r.path, r.ok, r.problems, r.ref) for r in parallel.results] == [
        (r.path, r.ok, r.problems, r.ref) for r in sequential.results
    ]
    assert len(parallel.invalid) == 15  # 3 broken files, the orphan, 11 duplicate versions
    # The copies all claim calculator 1.0.0: every copy after the first is reported.
    duplicates = [p for p in parallel.problems if p.key == "version"]
    assert len(duplicates) == 11


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_validation_output_of_the_whole_corpus(
    output_format: str, monkeypatch: pytest.MonkeyPatch, text_snapshot: SnapshotAssertion
) -> None:
    monkeypatch.chdir(REPO)
    result = run_cli("validate", "--format", output_format, "tests/fixtures/scenarios/invalid")
    assert result.exit_code == 1
    assert (
        f"$ goalctl validate --format {output_format} …/invalid\n{result.stdout}{result.stderr}"
        == text_snapshot
    )
