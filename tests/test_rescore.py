"""`goalctl rescore`: a run's stored outputs against the scenario's current criteria, as a
new run linked to the old one; the agent never runs again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goalctl.state import RunStatus, RunStore
from tests.conftest import run_cli

SCENARIO = """\
id: greeter
name: Greeter
description: Greet customers
version: 1.0.0
provider: scripted
success_criteria:
  - id: thanks
    description: The reply thanks the customer
    metric: output_contains
    target: Thanks
  - id: helpful
    description: The reply helps
    metric: llm_judge
    weight: 0.5
cases:
  - name: first
    input: {who: Ana}
  - name: second
    input: {who: Lee}
responses:
  - match: strict evaluator
    reply: '{"pass": true, "score": 1.0, "reason": "Helpful."}'
  - match: Ana
    reply: Thanks, Ana! Your order ships today.
  - match: Lee
    reply: Thanks, Lee! Your refund is on its way.
prompt: "Greet {{ input.who }}."
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "greeter.yaml"
    path.write_text(SCENARIO)
    return path


def state_dir(isolated_environment: Path) -> Path:
    return isolated_environment  # the fixture points the state dir there


def first_run(scenario: Path) -> str:
    result = run_cli("run", "--json", str(scenario))
    assert result.exit_code == 0, result.stderr
    [run] = json.loads(result.stdout)["runs"]
    return str(run["run_id"])


def test_an_edited_criterion_flips_the_verdict(scenario: Path, isolated_environment: Path) -> None:
    old = first_run(scenario)
    scenario.write_text(SCENARIO.replace("target: Thanks", "target: Cheers"))
    result = run_cli("rescore", "--json", old)
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    new = summary["run_id"]
    assert new != old
    assert (summary["rescored_from"], summary["verdict"]) == (old, "not_achieved")
    assert [r["id"] for r in summary["reasons"]] == ["thanks"]
    # The judge was asked again, once per case, and metered; the agent was not.
    assert summary["totals"]["llm_calls"] == 2
    store = RunStore(state_dir(isolated_environment))
    purposes = [line["purpose"] for line in store.read_transcript(new)]
    assert purposes == ["judge", "judge"]
    state = store.load(new)
    assert (state.rescored_from, state.status, state.verdict) == (
        old,
        RunStatus.COMPLETED,
        "not_achieved",
    )
    report = json.loads((store.run_dir(new) / "report.json").read_text())
    assert report["rescored_from"]["run_id"] == old
    checks = {c["name"]: c["checks"][0]["evidence"] for c in report["cases"]}
    assert checks == {"first": "missing 'Cheers'", "second": "missing 'Cheers'"}
    # The stored answers are the ones checked, with the agent's metrics kept.
    before = json.loads((store.run_dir(old) / "report.json").read_text())
    assert [c["text"] for c in report["cases"]] == [c["text"] for c in before["cases"]]
    assert [c["metrics"] for c in report["cases"]] == [c["metrics"] for c in before["cases"]]
    markdown = (store.run_dir(new) / "report.md").read_text()
    assert f"- Rescored from run `{old}`: its stored outputs" in markdown
    status = run_cli("status", new)
    assert f"Rescored: from run {old}" in status.stdout.splitlines()
    # The old run is untouched.
    assert store.load(old).verdict == "achieved"


def test_unchanged_criteria_give_the_same_verdict(scenario: Path) -> None:
    old = first_run(scenario)
    result = run_cli("rescore", old)
    assert result.exit_code == 0, result.stderr
    assert f"rescored run {old} as greeter-" in result.stderr
    assert "achieved — score 100% (needs 90%), 2/2 cases passed" in result.stdout


def test_a_rescored_run_cannot_be_resumed(scenario: Path, isolated_environment: Path) -> None:
    old = first_run(scenario)
    new = json.loads(run_cli("rescore", "--json", old).stdout)["run_id"]
    store = RunStore(state_dir(isolated_environment))
    store.update(new, lambda s: setattr(s, "status", RunStatus.STOPPED))
    result = run_cli("start", new)
    assert result.exit_code == 2
    assert f"run {new} rescored run {old} and cannot be resumed" in result.stderr


class TestRefusals:
    def test_unknown_run(self) -> None:
        result = run_cli("rescore", "greeter-12345678")
        assert result.exit_code == 2
        assert "greeter-12345678" in result.stderr

    def test_a_renamed_case(self, scenario: Path) -> None:
        old = first_run(scenario)
        scenario.write_text(SCENARIO.replace("name: second", "name: later"))
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert result.stderr == (
            f"goalctl: error: cannot rescore run {old} with {scenario}: cases renamed or removed "
            "since the run: 'second'; cases with no stored output (added since the run, or not "
            "run by it): 'later'; run the scenario again with `goalctl run`\n"
        )

    def test_a_changed_input(self, scenario: Path) -> None:
        old = first_run(scenario)
        scenario.write_text(SCENARIO.replace("{who: Lee}", "{who: Kim}"))
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert "cases whose input changed since the run: 'second'" in result.stderr

    def test_a_criterion_on_the_workspace(self, scenario: Path) -> None:
        old = first_run(scenario)
        extra = (
            "  - id: wrote-file\n    description: A file is left\n    metric: file_exists\n"
            "    target: out.txt\n    weight: 0.1\n"
        )
        scenario.write_text(SCENARIO.replace("cases:\n", extra + "cases:\n", 1))
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert (
            "criteria that check the case's workspace, which is removed when a case ends: 'wrote-file'"
            in result.stderr
        )

    def test_the_scenario_is_gone(self, scenario: Path) -> None:
        old = first_run(scenario)
        scenario.unlink()
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert f"the scenario of run {old} is gone: {scenario}" in result.stderr

    def test_an_invalid_scenario_exits_1(self, scenario: Path) -> None:
        old = first_run(scenario)
        scenario.write_text(SCENARIO.replace("metric: output_contains", "metric: output_containz"))
        result = run_cli("rescore", old)
        assert result.exit_code == 1
        assert str(scenario) in result.stderr

    def test_a_run_that_is_not_over(self, scenario: Path, isolated_environment: Path) -> None:
        old = first_run(scenario)
        RunStore(state_dir(isolated_environment)).update(
            old, lambda s: setattr(s, "status", RunStatus.STOPPED)
        )
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert (
            f"run {old} is stopped: only a finished run can be rescored; resume it with `goalctl start {old}` first"
            in result.stderr
        )

    def test_a_run_with_no_stored_outputs(self, scenario: Path, isolated_environment: Path) -> None:
        old = first_run(scenario)
        (RunStore(state_dir(isolated_environment)).run_dir(old) / "checkpoint.jsonl").write_text("")
        result = run_cli("rescore", old)
        assert result.exit_code == 2
        assert (
            f"run {old} stored no case outputs (no case finished): nothing to rescore"
            in result.stderr
        )


def test_each_stored_trial_is_rescored(tmp_path: Path, isolated_environment: Path) -> None:
    from tests.conftest import SCENARIOS

    path = tmp_path / "review.md"
    path.write_text((SCENARIOS / "review-sentiment-trials.md").read_text())
    old = first_run(path)
    result = run_cli("rescore", "--json", old)
    assert result.exit_code == 0, result.stderr
    new = json.loads(result.stdout)["run_id"]
    store = RunStore(state_dir(isolated_environment))
    trials_of = {
        run: [(line["name"], line.get("trial", 1)) for line in store.read_checkpoint(run)]
        for run in (old, new)
    }
    assert sorted(trials_of[new]) == sorted(trials_of[old])
    before, after = (
        json.loads((store.run_dir(run) / "report.json").read_text()) for run in (old, new)
    )
    assert [c["trials"] for c in after["criteria"]] == [c["trials"] for c in before["criteria"]]
    assert [(c["name"], c["status"], c.get("flaky")) for c in after["cases"]] == [
        (c["name"], c["status"], c.get("flaky")) for c in before["cases"]
    ]


def test_budgets_apply_to_the_judge_calls(scenario: Path) -> None:
    # The run makes 4 calls (2 answers, 2 judgements): within the budget of 4. Rescored with
    # two more judged criteria, it needs 6 judgements: the budget stops it.
    budget = (
        "constraints:\n  - id: calls\n    description: At most four model calls\n"
        "    constraint_type: hard\n    category: cost\n    check: llm_calls <= 4\n"
    )
    scenario.write_text(SCENARIO.replace("cases:\n", budget + "cases:\n", 1))
    old = first_run(scenario)
    judged = "".join(
        f"  - id: judged-{n}\n    description: Judged again\n    metric: llm_judge\n"
        "    weight: 0.1\n"
        for n in (1, 2)
    )
    text = scenario.read_text().replace("constraints:\n", judged + "constraints:\n", 1)
    scenario.write_text(text)
    result = run_cli("rescore", "--json", old)
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["totals"]["llm_calls"] == 5  # the call over the budget is counted, then stops
    assert [r["summary"] for r in summary["reasons"]] == [
        "hard constraint `calls` violated (a budget: the run stopped)"
    ]
