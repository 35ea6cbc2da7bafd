"""``cases: {file: …}``: cases from JSONL, CSV and YAML data files, every problem at its line;
``run --case`` and ``render --case`` globs; ``render --judge``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goalctl.validation import validate_paths
from tests.conftest import run_cli

SCENARIO = """\
id: totals
name: Totals
description: Adds up an order.
provider: scripted
success_criteria:
  - id: right-total
    description: The total is right
    metric: output_contains
    target: "12"
  - id: polite
    description: The answer is polite
    metric: llm_judge
    weight: 0.1
input_schema:
  type: object
  properties:
    total: {{type: integer}}
    customer: {{type: string}}
    items: {{type: array}}
  required: [total]
cases: {{file: {file}}}
prompt: "Total {{{{ input.total }}}} for {{{{ input.customer | default('nobody') }}}}"
responses:
  - match: strict evaluator
    reply: '{{"pass": true, "score": 1, "reason": "fine"}}'
  - match: Total (\\d+)
    reply: "12"
"""


def project(tmp_path: Path, data_name: str, data: str) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    scenario = root / "totals.yaml"
    scenario.write_text(SCENARIO.format(file=data_name), encoding="utf-8")
    (root / data_name).parent.mkdir(parents=True, exist_ok=True)
    (root / data_name).write_text(data, encoding="utf-8")
    return scenario


def problems(path: Path) -> list[str]:
    report = validate_paths([path])
    return [str(p).removeprefix(str(path.parent) + "/") for p in report.problems]


class TestCsv:
    def test_columns_become_name_input_and_expected(self, tmp_path: Path) -> None:
        path = project(
            tmp_path,
            "data.csv",
            "name,total,customer,input.items,expected.total\n"
            'first,12,007,"[1, 2]",12\n'
            "second,12,Ann,,12\n",
        )
        [scenario] = validate_paths([path]).scenarios
        assert [(c.name, c.input, c.expected) for c in scenario.cases] == [
            ("first", {"total": 12, "customer": "007", "items": [1, 2]}, {"total": "12"}),
            ("second", {"total": 12, "customer": "Ann"}, {"total": "12"}),
        ]

    def test_every_row_problem_is_at_its_line_and_column(self, tmp_path: Path) -> None:
        path = project(
            tmp_path,
            "data.csv",
            "name,total,customer\nok,1,Ann\nbad,lots,Bob\n\nempty,,Cy\n",
        )
        # validate lists a folder's files by name: the data file's problems come first.
        assert problems(path) == [
            "data.csv:3:5: cases[1].input.total: input does not match input_schema at total: "
            "'lots' is not of type 'integer'",
            "data.csv:5:1: cases[2].input: input does not match input_schema: "
            "'total' is a required property",
            "totals.yaml:22:1: prompt: undefined name: 'dict object' has no attribute 'total' "
            "(rendering case 'empty')",
        ]

    def test_a_ragged_row(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", "name,total\na,1\nb,2,3\n")
        assert problems(path) == [
            "data.csv:3:1: the row has 3 cells, the header 2 (give every row one cell per "
            "column (quote cells that hold commas))"
        ]

    def test_a_quoted_cell_over_two_lines_keeps_the_next_rows_lines(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", 'name,total,customer\na,1,"Ann\nSmith"\nb,x,Bob\n')
        assert problems(path) == [
            "data.csv:4:3: cases[1].input.total: input does not match input_schema at total: "
            "'x' is not of type 'integer'"
        ]

    def test_a_column_given_twice(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", "name,total,input.total\na,1,1\n")
        assert problems(path) == [
            "data.csv:1:12: column 'input.total' is given twice (also column 2) (keep one of them)"
        ]


class TestJsonl:
    def test_rows_are_inline_cases_and_errors_name_their_line(self, tmp_path: Path) -> None:
        rows = [
            {"name": "a", "input": {"total": 1}, "expected": {"total": 12}},
            {"name": "b", "input": {"total": "x"}},
            {"name": "c", "input": {"total": 3}, "expceted": 1},
            {"name": "d", "input": {"total": 4}, "extra": 1},
        ]
        data = "\n".join(json.dumps(row) for row in rows[:1]) + "\n\n"
        data += "\n".join(json.dumps(row) for row in rows[1:]) + "\n"
        path = project(tmp_path, "cases/data.jsonl", data)
        assert problems(path) == [
            "cases/data.jsonl:4:38: cases[2].expceted: unknown key 'expceted' "
            "(did you mean 'expected'?)",
            "cases/data.jsonl:5:38: cases[3].extra: unknown key 'extra' "
            "(allowed: description, expected, flaky, input, name, responses, trials, turns)",
        ]

    def test_schema_problems_name_their_line(self, tmp_path: Path) -> None:
        data = '{"name": "a", "input": {"total": 1}}\n{"name": "b", "input": {"total": "x"}}\n'
        path = project(tmp_path, "data.jsonl", data)
        assert problems(path) == [
            "data.jsonl:2:15: cases[1].input.total: input does not match input_schema at "
            "total: 'x' is not of type 'integer'",
        ]

    def test_a_line_that_is_not_json(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.jsonl", '{"input": {"total": 1}}\n{"input": \n')
        assert problems(path) == ["data.jsonl:2:11: not valid JSON: Expecting value"]


class TestYaml:
    def test_rows_and_positions(self, tmp_path: Path) -> None:
        path = project(
            tmp_path,
            "data.yaml",
            "- name: a\n  input: {total: 1}\n- name: b\n  input:\n    total: many\n",
        )
        assert problems(path) == [
            "data.yaml:5:12: cases[1].input.total: input does not match input_schema at total: "
            "'many' is not of type 'integer'"
        ]

    def test_not_a_list(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.yml", "total: 1\n")
        assert problems(path) == [
            "data.yml:1:1: expected a list of cases at the top level, got a dict "
            "(write one `- name: ...` item per case)"
        ]


class TestTheFileKey:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("../outside.csv", "'../outside.csv' is outside the scenario's project"),
            ("data.txt", "'data.txt' is not a data file goalctl reads (use .jsonl, .csv"),
            ("missing.csv", "'missing.csv': no such file beside the scenario"),
        ],
    )
    def test_refused_files_are_reported_at_the_key(
        self, value: str, message: str, tmp_path: Path
    ) -> None:
        path = project(tmp_path, "data.csv", "total\n1\n")
        (tmp_path / "outside.csv").write_text("total\n1\n", encoding="utf-8")
        path.write_text(
            path.read_text(encoding="utf-8").replace("{file: data.csv}", f"{{file: {value}}}"),
            encoding="utf-8",
        )
        [problem] = problems(path)
        assert problem.startswith("totals.yaml:21:15: cases.file: ")
        assert message in problem

    def test_an_unknown_key_beside_file(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", "total\n1\n")
        path.write_text(
            path.read_text(encoding="utf-8").replace("{file: data.csv}", "{file: data.csv, x: 1}"),
            encoding="utf-8",
        )
        assert problems(path) == [
            "totals.yaml:21:25: cases.x: unknown key 'x' "
            "(cases from a data file are `cases: {file: cases.jsonl}`)"
        ]

    def test_an_empty_data_file(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", "")
        assert problems(path) == ["data.csv:1:1: the data file holds no cases (add a row per case)"]


class TestRunAndRender:
    DATA = (
        "name,total,customer,expected.total\n"
        "refund-1,12,Ann,12\n"
        "refund-2,12,Bob,12\n"
        "order-1,12,Cy,12\n"
    )

    def test_run_case_globs_run_only_the_matching_cases(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", self.DATA)
        result = run_cli("run", str(path), "--case", "refund-*", "--json")
        assert result.exit_code == 0, result.stderr
        [run] = json.loads(result.stdout)["runs"]
        assert run["verdict"] == "achieved"
        report = json.loads(Path(run["reports"][-1]).read_text(encoding="utf-8"))
        assert [case["name"] for case in report["cases"]] == ["refund-1", "refund-2"]

    def test_a_case_pattern_that_matches_nothing_is_refused(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", self.DATA)
        result = run_cli("run", str(path), "--case", "refnud-*")
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: --case 'refnud-*' matches no case in {path} "
            "(cases: refund-1, refund-2, order-1)\n",
        )

    def test_render_case_globs(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", self.DATA)
        result = run_cli("render", str(path), "--case", "*-2", "--case", "order-?", "--json")
        assert [case["prompt"] for case in json.loads(result.stdout)] == [
            "Total 12 for Bob",
            "Total 12 for Cy",
        ]

    def test_render_judge_shows_the_judge_prompt_of_a_criterion(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", self.DATA)
        result = run_cli("render", str(path), "--judge", "polite", "--case", "order-1")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("=== order-1 ===\n--- judge: polite ---\n")
        assert "Criterion: The answer is polite\n" in result.stdout
        assert '"customer": "Cy"' in result.stdout
        assert "Output:\n<the agent's output>\n" in result.stdout

    def test_render_judge_of_a_criterion_without_a_judge(self, tmp_path: Path) -> None:
        path = project(tmp_path, "data.csv", self.DATA)
        result = run_cli("render", str(path), "--judge", "right-total")
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: criterion 'right-total' of {path} is checked by output_contains, "
            "not by a judge, so it has no judge prompt (llm_judge criteria: polite)\n",
        )


def test_a_detached_run_keeps_its_case_selection(
    tmp_path: Path, isolated_environment: Path
) -> None:
    from goalctl.state import RunStatus, RunStore
    from tests.test_lifecycle import detach, wait_for

    path = project(tmp_path, "data.csv", TestRunAndRender.DATA)
    run_id = detach(path, "--case", "order-*")
    store = RunStore(isolated_environment)
    wait_for(store, run_id, lambda state: state.status is RunStatus.COMPLETED)
    state = store.load(run_id)
    assert (state.cases_total, state.verdict, state.options["cases"]) == (
        1,
        "achieved",
        ["order-*"],
    )
    report = json.loads((store.run_dir(run_id) / "report.json").read_text(encoding="utf-8"))
    assert [case["name"] for case in report["cases"]] == ["order-1"]


def test_a_yaml_data_file_in_a_scanned_folder_is_not_a_scenario(tmp_path: Path) -> None:
    path = project(tmp_path, "cases.yaml", "- name: a\n  input: {total: 1}\n")
    report = validate_paths([path.parent])
    assert (report.problems, [s.path for s in report.scenarios]) == ([], [path])
    # Named on its own, without its scenario, it is no scenario.
    assert not validate_paths([path.parent / "cases.yaml"]).ok
