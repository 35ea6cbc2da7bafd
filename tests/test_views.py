"""``goalctl status``, ``list`` and ``logs``: runs read back from the state dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli


@pytest.fixture
def two_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(REPO)
    ids = []
    for name in ("email_sender_v1.yaml", "calculator.md"):
        result = run_cli("run", "--json", f"scenarios/{name}")
        assert result.exit_code == 0, result.stderr
        ids.append(json.loads(result.stdout)["runs"][0]["run_id"])
    return ids


def test_status_of_a_run_by_unique_prefix(two_runs: list[str]) -> None:
    email, _ = two_runs
    result = run_cli("status", "email")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:7] == [
        f"Run:      {email}",
        "Goal:     email-sender 1.0.0 (Email Sender)",
        "Status:   completed",
        "Phase:    -",
        "Verdict:  achieved (score 100%)",
        "Cases:    1/1",
        "Agent:    llm via scripted (claude-sonnet-4-5)",
    ]
    assert lines[-1] == f"Scenario: {REPO / 'scenarios' / 'email_sender_v1.yaml'}"


def test_status_defaults_to_the_latest_run(two_runs: list[str]) -> None:
    result = run_cli("status", "--json")
    data = json.loads(result.stdout)
    assert data["run_id"] == two_runs[1]
    assert data["version"] == 1
    assert data["status"] == "completed"


def test_list(two_runs: list[str]) -> None:
    result = run_cli("list")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RUN", "ID", "STATUS", "VERDICT", "CASES", "STARTED"]
    assert [line.split()[0] for line in lines[1:]] == two_runs
    only = run_cli("list", "--goal", "calculator", "--json")
    assert [r["run_id"] for r in json.loads(only.stdout)] == [two_runs[1]]


def test_list_rejects_an_unknown_status(two_runs: list[str]) -> None:
    result = run_cli("list", "--status", "done")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "goalctl: error: unknown status 'done' (statuses: completed, damaged, failed,"
    )


def test_logs(two_runs: list[str]) -> None:
    result = run_cli("logs", two_runs[1])
    messages = [line.split(maxsplit=3)[3] for line in result.stdout.splitlines()]
    # Cases finish concurrently, so only their set is fixed; the phases are ordered.
    assert [m for m in messages if not m.startswith("case ")] == [
        "phase initialize",
        "phase execute",
        "phase report",
        "phase cleanup",
        "verdict: achieved (score 100%)",
    ]
    assert messages[-1] == "verdict: achieved (score 100%)"
    assert sorted(m for m in messages if m.startswith("case ")) == [
        "case addition: passed",
        "case division: passed",
        "case precedence: passed",
    ]
    last = run_cli("logs", "--lines", "1", "--json", two_runs[1])
    assert json.loads(last.stdout)["message"] == "verdict: achieved (score 100%)"


def test_logs_follow_of_a_finished_run_exits(two_runs: list[str]) -> None:
    result = run_cli("logs", "--follow", two_runs[0])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].endswith("verdict: achieved (score 100%)")


@pytest.mark.parametrize("bad", ["../etc", "a/b", "/abs", "UPPER-1234abcd", ""])
def test_run_ids_from_the_command_line_are_validated(bad: str, two_runs: list[str]) -> None:
    result = run_cli("status", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith("goalctl: error:")


def test_unknown_run(two_runs: list[str]) -> None:
    result = run_cli("logs", "nothing-here")
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: no run matches 'nothing-here' (`goalctl list` shows the runs)\n",
    )


def test_status_without_runs(tmp_path: Path) -> None:
    result = run_cli("--state-dir", str(tmp_path / "empty"), "status")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"goalctl: error: no runs in {tmp_path / 'empty'}; start one with `goalctl run`\n"
    )
