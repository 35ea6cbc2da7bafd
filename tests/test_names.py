"""Names people type: a goal id for its latest run, no id for the latest run, and global
options after the command (`goalctl status calc`, `goalctl report`, `status --state-dir X`)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from goalctl.cli import cli
from tests.conftest import REPO, run_cli


def run_ids(*names: str) -> list[str]:
    ids = []
    for name in names:
        result = run_cli("run", "--json", f"scenarios/{name}")
        assert result.exit_code == 0, result.stderr
        ids.append(json.loads(result.stdout)["runs"][0]["run_id"])
    return ids


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Three runs of `calculator` around one of `email-sender`; the last calculator run is
    the latest of all."""
    monkeypatch.chdir(REPO)
    return run_ids("calculator.md", "calculator.md", "email_sender_v1.yaml", "calculator.md")


def test_the_tours_status_calc_names_the_latest_of_several_runs(runs: list[str]) -> None:
    tour = (REPO / "README.md").read_text()
    assert (
        "goalctl status                             # the latest run (or: goalctl status calc)"
        in tour
    )
    for name in ("calc", "calculator"):
        result = run_cli("status", name)
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout.splitlines()[0] == f"Run:      {runs[3]}"


def test_a_run_id_prefix_still_names_an_older_run(runs: list[str]) -> None:
    result = run_cli("status", "--json", runs[0][:-4])
    assert json.loads(result.stdout)["run_id"] == runs[0]


def test_an_ambiguous_name_lists_the_candidates(runs: list[str]) -> None:
    result = run_cli("status", "calculator-")
    shown = ", ".join(sorted([runs[0], runs[1], runs[3]]))
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"goalctl: error: run id 'calculator-' is ambiguous: it matches {shown}; "
        "type more of it, or a goal id for its latest run: calculator\n",
    )


def test_logs_of_a_goal_and_of_the_latest_run(runs: list[str]) -> None:
    def logs(*args: str) -> str:
        result = run_cli("logs", "--json", *args)
        assert (result.exit_code, result.stderr) == (0, "")
        return result.stdout

    email, latest = logs(runs[2]), logs(runs[3])
    assert email != latest  # events carry their times
    assert logs("email-sender") == email
    assert logs() == latest


def test_report_without_an_id_is_the_latest_run(
    runs: list[str], isolated_environment: Path
) -> None:
    result = run_cli("report")
    assert result.exit_code == 0
    saved = (isolated_environment / "runs" / runs[3] / "report.md").read_text()
    assert result.stdout == saved
    by_goal = run_cli("report", "--format", "json", "email")
    assert json.loads(by_goal.stdout)["run_id"] == runs[2]


def test_report_without_runs_says_there_are_none(tmp_path: Path) -> None:
    result = run_cli("report", "--state-dir", str(tmp_path / "empty"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"goalctl: error: no runs in {tmp_path / 'empty'}; start one with `goalctl run`\n",
    )


def test_merging_junit_still_needs_files() -> None:
    result = run_cli("report", "--merge-junit")
    assert (result.exit_code, result.stderr) == (
        2,
        "goalctl: error: name the JUnit files to merge\n",
    )


def test_stop_of_a_finished_run_says_so_without_asking(runs: list[str]) -> None:
    # No --yes and no terminal: had it asked, it would refuse with "confirm with --yes".
    result = run_cli("stop", "calc")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"run {runs[3]} has already completed; nothing to stop\n",
        "",
    )


def test_start_of_a_goal_refuses_its_finished_latest_run(runs: list[str]) -> None:
    result = run_cli("start", "calc")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"goalctl: error: run {runs[3]} has already completed")


def test_cleanup_of_a_goal_removes_its_latest_run_only(
    runs: list[str], isolated_environment: Path
) -> None:
    result = run_cli("cleanup", "--yes", "calculator")
    assert (result.exit_code, result.stdout) == (0, f"removed {runs[3]}\n")
    left = sorted(path.name for path in (isolated_environment / "runs").iterdir())
    assert left == sorted(runs[:3])


# -- global options after the command -------------------------------------------------------


def test_state_dir_after_the_command(
    runs: list[str], tmp_path: Path, isolated_environment: Path
) -> None:
    empty = tmp_path / "empty"
    after = run_cli("status", "--state-dir", str(empty))
    assert after.exit_code == 2
    assert f"no runs in {empty}" in after.stderr
    # Given on both sides, the one after the command wins.
    both = run_cli("--state-dir", str(empty), "status", "--state-dir", str(isolated_environment))
    assert (both.exit_code, both.stdout.splitlines()[0]) == (0, f"Run:      {runs[3]}")
    before_only = run_cli("--state-dir", str(empty), "list", "--json")
    assert json.loads(before_only.stdout) == []


def test_a_run_writes_to_the_state_dir_named_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    elsewhere = tmp_path / "elsewhere"
    result = run_cli("run", "scenarios/calculator.md", "--state-dir", str(elsewhere))
    assert result.exit_code == 0, result.stderr
    [run_dir] = (elsewhere / "runs").iterdir()
    assert run_dir.name.startswith("calculator-")


def test_every_command_takes_the_global_options() -> None:
    for name, command in cli.commands.items():
        options = {opt for param in command.params for opt in param.opts}
        assert "--state-dir" in options, name
        for sub, subcommand in getattr(command, "commands", {}).items():
            options = {opt for param in subcommand.params for opt in param.opts}
            assert "--state-dir" in options, f"{name} {sub}"


def test_help_documents_global_options_after_the_command() -> None:
    group = run_cli("--help").stdout
    assert "Global options may come before or after the command" in " ".join(group.split())
    status = run_cli("status", "--help").stdout
    assert "--state-dir DIRECTORY" in status
    assert "a goal id (or its start) for the goal's latest run" in " ".join(status.split())


def test_stop_of_a_finished_run_on_a_terminal_asks_nothing(
    runs: list[str], isolated_environment: Path
) -> None:
    """On a real terminal, where `stop` would ask, a finished run is only told."""
    leader, follower = os.openpty()
    env = {**os.environ, "GOALCTL_STATE_DIR": str(isolated_environment)}
    process = subprocess.Popen(
        [sys.executable, "-m", "goalctl", "stop", "calc"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    output = b""
    try:
        # A prompt would wait for an answer: the process must end without one.
        code = process.wait(timeout=30)
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            output += chunk
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert code == 0
    assert output.decode().replace("\r\n", "\n") == (
        f"run {runs[3]} has already completed; nothing to stop\n"
    )


def test_cleanup_of_one_run_named_twice_removes_it_once(runs: list[str]) -> None:
    result = run_cli("cleanup", "--yes", "calc", runs[3])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"removed {runs[3]}\n", "")
