"""``goalctl run`` end to end, offline: retries, budgets, faults, judges, exit codes (cassettes: test_cassettes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from goalctl.error_handler import state_dir_from_env
from goalctl.lifecycle import run_paths
from goalctl.planning import RunOptions
from goalctl.state import RunStore
from tests.conftest import run_cli


def scenario(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    """Write a YAML scenario; the common header keeps each test to what it is about."""
    path = tmp_path / name
    header = "id: demo\nname: Demo\ndescription: A demo goal.\nprovider: scripted\n"
    path.write_text(header + dedent(body))
    return path


def run_dir(state: Path) -> Path:
    [found] = (state / "runs").iterdir()
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestLLMAgent:
    def test_retries_with_the_unmet_criteria_as_feedback(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            config: {max_attempts: 3}
            success_criteria:
              - {id: says-right, description: The answer says right, metric: output_contains, target: right}
            cases:
              - name: only
                responses: ["wrong answer", "right answer"]
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 0, result.stderr
        directory = run_dir(isolated_environment)
        calls = read_jsonl(directory / "transcript.jsonl")
        assert [c["response"] for c in calls] == ["wrong answer", "right answer"]
        second = calls[1]["messages"]
        assert [m["role"] for m in second] == ["user", "assistant", "user"]
        assert second[1]["content"] == "wrong answer"
        assert "- The answer says right: missing 'right'" in second[2]["content"]
        report = json.loads((directory / "report.json").read_text())
        assert report["cases"][0]["attempts"] == 2

    def test_without_feedback_each_attempt_starts_afresh(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            config: {max_attempts: 2, feedback: false}
            success_criteria:
              - {id: says-right, description: Says right, metric: output_contains, target: right}
            cases:
              - responses: ["wrong", "still wrong"]
            """,
        )
        assert run_cli("run", str(path)).exit_code == 1
        calls = read_jsonl(run_dir(isolated_environment) / "transcript.jsonl")
        assert [len(c["messages"]) for c in calls] == [1, 1]

    def test_output_that_is_not_json_is_an_unusable_output(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            output_schema: {type: object}
            success_criteria:
              - {id: shape, description: Is an object, metric: json_schema}
            constraints:
              - {id: no-error, description: No error, check: error == None}
            responses: ["NaN"]
            """,
        )
        assert run_cli("run", str(path)).exit_code == 1
        report = json.loads((run_dir(isolated_environment) / "report.json").read_text())
        case = report["cases"][0]
        assert case["error"] == "output is not JSON: 'NaN'"
        assert case["checks"][0]["evidence"] == "no usable output: output is not JSON: 'NaN'"
        assert report["constraints"][0]["violated"] is True


class TestBudgets:
    def test_a_budget_stops_the_run_midway(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        cases = ", ".join(f"{{name: c{i}}}" for i in range(20))
        path = scenario(
            tmp_path,
            f"""
            success_criteria:
              - {{id: any, description: Anything, metric: output_contains, target: ok}}
            constraints:
              - {{id: calls, description: At most 5 calls, constraint_type: hard, category: cost, check: llm_calls <= 5}}
            responses: ["ok"]
            cases: [{cases}]
            """,
        )
        result = run_cli("run", "--concurrency", "1", str(path))
        assert result.exit_code == 1
        directory = run_dir(isolated_environment)
        report = json.loads((directory / "report.json").read_text())
        assert report["verdict"] == "not_achieved"
        assert report["budget_stop"]["constraint"] == "calls"
        assert report["totals"]["llm_calls"] == 6  # the call that crossed the budget is counted
        assert report["totals"]["cases_run"] == 5  # …and nothing after it ran
        assert report["constraints"][0]["violations"] == ["run: llm_calls <= 5 → false"]
        assert len(read_jsonl(directory / "checkpoint.jsonl")) == 5
        assert "Stopped by budget** `calls`" in (directory / "report.md").read_text()


class TestFaults:
    def test_a_provider_failure_is_a_run_error(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: any, description: Anything, metric: output_contains, target: ok}
            responses: [{match: "never matches", reply: "x"}]
            """,
        )
        result = run_cli("run", str(path))
        assert result.exit_code == 3
        report = json.loads((run_dir(isolated_environment) / "report.json").read_text())
        assert report["verdict"] == "error"
        assert report["error"] == (
            "case 'case-1': scripted: no reply for case 'case-1' (agent call; prompt starts: "
            "'Pursue the goal.'); add a `responses` rule whose `match` finds it"
        )
        state = json.loads((run_dir(isolated_environment) / "state.json").read_text())
        assert (state["status"], state["verdict"]) == ("failed", "error")

    def test_a_judge_without_a_verdict_never_passes(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: polite, description: Is polite, metric: llm_judge}
            responses:
              - {match: strict evaluator, reply: "Looks great to me!"}
              - "Hello, dear customer."
            """,
        )
        assert run_cli("run", str(path)).exit_code == 1
        report = json.loads((run_dir(isolated_environment) / "report.json").read_text())
        [criterion] = report["criteria"]
        assert criterion["met"] is False
        assert criterion["evidence"] == [
            "case-1: the judge gave no verdict: judge reply is not JSON: 'Looks great to me!'"
        ]


class TestCommand:
    def test_json_summary_and_report_dir(self, tmp_path: Path) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: any, description: Anything, metric: output_contains, target: ok}
            responses: ["ok"]
            """,
        )
        result = run_cli("run", "--json", "--report-dir", str(tmp_path / "out"), str(path))
        assert result.exit_code == 0
        data = json.loads(result.stdout)
        assert data["exit_code"] == 0
        [run] = data["runs"]
        assert (run["goal"], run["status"], run["verdict"], run["score"]) == (
            "demo",
            "completed",
            "achieved",
            1.0,
        )
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            "demo-1.0.0.json",
            "demo-1.0.0.md",
        ]

    def test_plain_progress_lines(self, tmp_path: Path) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: any, description: Anything, metric: output_contains, target: ok}
            responses: ["ok"]
            """,
        )
        result = run_cli("run", str(path))
        lines = result.stdout.splitlines()
        run_id = lines[0].split(":")[0]
        report = RunStore(state_dir_from_env()).run_dir(run_id) / "report.md"
        assert re.sub(r"\d+\.\d\ds$", "<time>", lines[4]) == (
            "1 run: 1 achieved, 0 not achieved, 0 errored — cost $0.000141 (simulated) — <time>"
        )
        del lines[4]
        assert lines == [
            f"{run_id}: running {path} (1 case)",
            f"{run_id}: passed case-1",
            f"{run_id}: achieved — score 100% (needs 90%), 1/1 case passed, $0.000141 (simulated)",
            "",
            "Reports (report.json beside each):",
            f"  {report}",
            f"See one with: goalctl report {run_id}",
        ]

    def test_config_override_reaches_the_agent(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: r, description: Right, metric: output_contains, target: right}
            cases:
              - responses: ["wrong", "right"]
            """,
        )
        assert run_cli("run", str(path)).exit_code == 1
        assert run_cli("run", "--config", "max_attempts=2", str(path)).exit_code == 0

    def test_config_file(self, tmp_path: Path) -> None:
        path = scenario(
            tmp_path,
            """
            success_criteria:
              - {id: r, description: Right, metric: output_contains, target: right}
            cases:
              - responses: ["wrong", "right"]
            """,
        )
        (tmp_path / "config.yaml").write_text("max_attempts: 2\n")
        assert (
            run_cli("run", "--config-file", str(tmp_path / "config.yaml"), str(path)).exit_code == 0
        )
        (tmp_path / "bad.yaml").write_text("max_attempts: many\n")
        bad = run_cli("run", "--config-file", str(tmp_path / "bad.yaml"), str(path))
        assert (bad.exit_code, bad.stderr) == (
            2,
            f"goalctl: error: {path}: --config-file {tmp_path / 'bad.yaml'}: max_attempts: "
            "expected an integer, got 'many' (string)\n",
        )

    def test_invalid_scenarios_stop_everything_before_any_run(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        scenario(tmp_path, "success_criteria: [{id: a, description: b, weight: 2}]\n", "bad.yaml")
        scenario(
            tmp_path, "success_criteria: [{id: a, description: b}]\nresponses: [x]\n", "good.yaml"
        )
        result = run_cli("run", str(tmp_path))
        assert result.exit_code == 1
        assert result.stderr.startswith(f"{tmp_path / 'bad.yaml'}:5:")
        assert not (isolated_environment / "runs").exists()

    def test_drafts_are_skipped_with_a_notice(
        self, tmp_path: Path, isolated_environment: Path
    ) -> None:
        scenario(tmp_path, "status: draft\n", "draft.yaml")
        result = run_cli("run", str(tmp_path))
        assert result.exit_code == 0
        assert result.stderr == (
            f"skipped {tmp_path / 'draft.yaml'}: status is draft; use --include-drafts to run it\nnothing to run\n"
        )

    def test_unknown_provider_is_a_usage_error(self, tmp_path: Path) -> None:
        path = scenario(
            tmp_path, "success_criteria: [{id: a, description: b, metric: llm_judge}]\n"
        )
        result = run_cli("run", "--provider", "scriptd", str(path))
        assert (result.exit_code, result.stderr) == (
            2,
            "goalctl: error: unknown provider 'scriptd' (did you mean 'scripted'?)\n",
        )


class TestDataCollector:
    def test_without_the_llm_failures_are_skipped_and_the_goal_is_missed(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "dc.md"
        text = Path("scenarios/data_collector.md").read_text() if Path("scenarios").exists() else ""
        assert text, "run from the repository root"
        path.write_text(text.replace("enable_llm: true", "enable_llm: false"))
        summary = run_paths([str(path)], RunOptions(), tmp_path / "state")
        [outcome] = summary.outcomes
        output = outcome.report["cases"][0]["output"]
        assert output["skipped"] == output["failures"] > 0
        assert output["items_collected"] == 12 - output["skipped"]
        assert outcome.verdict == "not_achieved"
        assert outcome.report["totals"]["llm_calls"] == 0


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)


class TestShards:
    def test_two_shards_run_every_example_once(self, venv_on_path: None) -> None:
        ran = []
        for index in (1, 2):
            result = run_cli("run", "--json", "--shard", f"{index}/2", "scenarios")
            assert result.exit_code == 0, result.stderr
            ran.append({run["scenario"] for run in json.loads(result.stdout)["runs"]})
        assert ran[0].isdisjoint(ran[1])
        assert ran[0] | ran[1] == {
            f"scenarios/{p.name}"
            for p in Path("scenarios").iterdir()
            if p.suffix in (".md", ".yaml")
        }

    @pytest.mark.parametrize("bad", ["0/2", "3/2", "1/0", "half", "1/2/3"])
    def test_a_bad_shard_is_a_usage_error(self, bad: str) -> None:
        result = run_cli("run", "--shard", bad, "scenarios")
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: invalid --shard {bad!r} (use I/N, e.g. 1/4)\n",
        )


class TestBadInput:
    def test_a_missing_config_file(self, tmp_path: Path) -> None:
        path = scenario(tmp_path, "success_criteria: [{id: a, description: b}]\n")
        result = run_cli("run", "--config-file", str(tmp_path / "nope.yaml"), str(path))
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: --config-file {tmp_path / 'nope.yaml'}: cannot read file: "
            "No such file or directory\n",
        )

    def test_a_config_file_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        path = scenario(tmp_path, "success_criteria: [{id: a, description: b}]\n")
        (tmp_path / "list.yaml").write_text("- max_attempts\n")
        result = run_cli("run", "--config-file", str(tmp_path / "list.yaml"), str(path))
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: --config-file {tmp_path / 'list.yaml'} must hold a mapping of config keys\n",
        )

    def test_report_needs_a_run(self, isolated_environment: Path) -> None:
        result = run_cli("report")
        assert (result.exit_code, result.stderr) == (
            2,
            f"goalctl: error: no runs in {isolated_environment}; start one with `goalctl run`\n",
        )

    def test_report_of_an_unknown_run(self) -> None:
        result = run_cli("report", "nothing-here")
        assert result.exit_code == 2
        assert result.stderr.startswith("goalctl: error: no run matches 'nothing-here'")
