"""``goalctl validate`` catches what ``goalctl run`` would trip on: unknown names in checks,
``module:function`` targets that cannot be found or are not marked, constant subexpressions
beyond the sandbox bounds, duplicate case names; problems in line order; a YAML error where it
starts; and a published JSON Schema that requires what validate requires."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from goalctl.scenario.loader import read_scenario
from goalctl.schemas import scenario_schema
from tests.conftest import run_cli

HEADER = """\
id: checked
name: Checked
description: A goal built by the test.
provider: scripted
"""


def problems(tmp_path: Path, body: str, name: str = "s.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return [
        f"{p.line}:{p.col}: {p.key}: {p.message}" + (f" ({p.remedy})" if p.remedy else "")
        for p in read_scenario(path).problems
    ]


class TestUnknownNames:
    def test_an_output_schema_property_misspelt(self, tmp_path: Path) -> None:
        assert problems(
            tmp_path,
            """\
            output_schema: {type: object, properties: {total: {type: number}}}
            success_criteria:
              - {id: c, description: d, metric: custom, check: "totl == 3"}
            """,
        ) == [
            "7:52: success_criteria[0].check: unknown name 'totl' in 'totl == 3': a run would "
            "fail on every case (did you mean 'total'?)"
        ]

    def test_a_metric_and_a_context_name_misspelt(self, tmp_path: Path) -> None:
        found = problems(
            tmp_path,
            """\
            success_criteria:
              - {id: c, description: d, metric: custom, check: "output == expectd"}
            constraints:
              - {id: k, description: d, category: cost, check: "cost_uds <= 0.01"}
            """,
        )
        assert found == [
            "6:52: success_criteria[0].check: unknown name 'expectd' in 'output == expectd': a "
            "run would fail on every case (did you mean 'expected'?)",
            "8:52: constraints[0].check: unknown name 'cost_uds' in 'cost_uds <= 0.01': a run "
            "would fail on every case (did you mean 'cost_usd'?)",
        ]

    def test_target_is_a_name_of_custom_criteria_only(self, tmp_path: Path) -> None:
        found = problems(
            tmp_path,
            """\
            success_criteria:
              - {id: c, description: d, metric: custom, check: "output == target", target: 1}
            constraints:
              - {id: k, description: d, check: "output == target"}
            """,
        )
        assert len(found) == 1
        assert found[0].startswith("8:36: constraints[0].check: unknown name")

    def test_names_the_run_binds_pass(self, tmp_path: Path) -> None:
        assert (
            problems(
                tmp_path,
                """\
                output_schema: {type: object, properties: {total: {type: number}}}
                success_criteria:
                  - id: c
                    description: d
                    metric: custom
                    check: "total == expected['total'] and len(text) > 0 and case['name'] != ''
                      and [x for x in input] == [y for y in input] and llm_calls < 3"
                """,
            )
            == []
        )


class TestProjectFunctions:
    def test_missing_unmarked_and_outside_targets(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "pyproject.toml").write_text("")
        (tmp_path / "checks.py").write_text(
            "print('imported!')\nimport goalctl\n\n@goalctl.check\n"
            "def total(output, expected, **_):\n    return True\n\ndef plain(output):\n    ...\n"
        )
        sys.modules.pop("this", None)
        sys.modules.pop("checks", None)
        found = problems(
            tmp_path,
            """\
            success_criteria:
              - {id: a, description: d, metric: custom, check: "checks:total"}
              - {id: b, description: d, metric: custom, check: "checks:totl"}
              - {id: c, description: d, metric: custom, check: "checks:plain"}
              - {id: e, description: d, metric: custom, check: "this:s"}
            """,
        )
        remedy = (
            " (name a function of this scenario's project (its folder up to pyproject.toml or "
            ".git) marked @goalctl.check)"
        )
        assert found == [
            "7:52: success_criteria[1].check: module 'checks' has no function 'totl' "
            "(did you mean 'total'?)" + remedy,
            "8:52: success_criteria[2].check: 'checks:plain' is not marked with @goalctl.check; "
            "it would not be called" + remedy,
            "9:52: success_criteria[3].check: module 'this' is not part of the project "
            f"(no this.py or this/__init__.py under {tmp_path.resolve()}/)" + remedy,
        ]
        assert capsys.readouterr().out == ""
        assert "this" not in sys.modules
        assert "checks" not in sys.modules


class TestSandboxBounds:
    def test_a_constant_power_beyond_the_bounds(self, tmp_path: Path) -> None:
        found = problems(
            tmp_path,
            """\
            constraints:
              - {id: k, description: d, check: "output != 9**9**9"}
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            """,
        )
        assert found == [
            "6:36: constraints[0].check: invalid expression 'output != 9**9**9': 9 ** 387420489 "
            "is too large (more than 10,000 bits) (column 11)"
        ]


class TestCases:
    def test_duplicate_case_names(self, tmp_path: Path) -> None:
        found = problems(
            tmp_path,
            """\
            success_criteria: [{id: c, description: d, metric: output_contains, target: x}]
            cases:
              - {name: one}
              - {}
              - {name: one}
              - {name: case-2}
            """,
        )
        assert found == [
            "9:12: cases[2].name: case name 'one' is also the name of cases[0] "
            "(give every case its own name)",
            "10:12: cases[3].name: case name 'case-2' is also the name of cases[1] "
            "(give every case its own name)",
        ]


def test_problems_are_listed_in_line_order(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        success_criteria:
          - {id: c, description: d, metric: custom, check: "outptu == 1"}
        cases:
          - {name: one}
          - {name: one}
        constraints:
          - {id: k, description: d, check: "cost_uds < 1"}
        """,
    )
    lines = [int(problem.split(":")[0]) for problem in found]
    assert len(lines) == 3
    assert lines == sorted(lines)


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    found = problems(tmp_path, 'success_criteria: [{id: c, description: "d}]\ncases: []\nx: 1\n')
    assert len(found) == 1
    assert found[0].startswith("5:41: ")
    assert "quoted scalar" in found[0]


class TestPublishedSchema:
    def test_offers_no_runtime_fields(self) -> None:
        schema = scenario_schema()
        text = json.dumps(schema)
        assert "created_at" not in schema["properties"]
        assert '"met"' not in text
        assert schema["properties"]["status"]["enum"] == ["draft", "ready", "suspended"]

    def test_requires_what_validate_requires(self) -> None:
        schema = scenario_schema()
        assert {"id", "name", "description"} <= set(schema["required"])

    @pytest.mark.parametrize(
        ("field", "problem"),
        [
            (
                "created_at: 2024-01-01T00:00:00Z",
                "5:1: created_at: unknown key 'created_at' (a run records it; remove it from "
                "the scenario)",
            ),
            (
                "status: completed",
                "5:9: status: status 'completed' is set by runs, not by scenario files (use one "
                "of draft, ready, suspended)",
            ),
        ],
    )
    def test_files_that_set_runtime_fields_are_invalid(
        self, tmp_path: Path, field: str, problem: str
    ) -> None:
        found = problems(tmp_path, f"{field}\nsuccess_criteria: [{{id: c, description: d}}]\n")
        assert found == [problem]

    def test_met_in_a_criterion_is_invalid(self, tmp_path: Path) -> None:
        found = problems(tmp_path, "success_criteria: [{id: c, description: d, met: true}]\n")
        assert found == [
            "5:44: success_criteria[0].met: unknown key 'met' (a run records it; remove it from "
            "the scenario)"
        ]


def test_validate_exits_1_on_an_unknown_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        HEADER + 'success_criteria: [{id: c, description: d, metric: custom, check: "x == 1"}]\n'
    )
    result = run_cli("validate", str(path))
    assert result.exit_code == 1
    assert "unknown name 'x'" in result.stdout + result.stderr


def test_an_unknown_provider_is_a_problem_at_its_line(tmp_path: Path) -> None:
    """`run` refuses it with exit 2; `validate` must not call the file valid."""
    path = tmp_path / "s.yaml"
    path.write_text(
        HEADER.replace("provider: scripted", "provider: scriptd")
        + "success_criteria: [{id: c, description: d, metric: output_contains, target: x}]\n"
    )

    found = [f"{p.line}:{p.col}: {p.message} ({p.remedy})" for p in read_scenario(path).problems]

    assert found == ["4:11: unknown provider 'scriptd' (did you mean 'scripted'?)"]
