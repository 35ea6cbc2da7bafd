"""A user's agent that fails, and a command scenario that is wrong: clear messages, the right
exit codes, never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from goalctl.processes import MAX_STDOUT_BYTES
from tests.conftest import run_cli
from tests.test_command_agent import run_dir, scenario
from tests.test_command_agent_gateway import process_gone

CRITERION = """
success_criteria:
  - {id: ok, description: Says ok, metric: output_contains, target: ok}
cases: [{name: a}]
"""


def python(code: str) -> str:
    return json.dumps([sys.executable, "-c", code])


def failed_case(tmp_path: Path, state: Path, config: str, extra: str = "") -> dict[str, Any]:
    """Run a scenario whose only case's agent fails; its case record from report.json."""
    path = scenario(tmp_path, f"config:\n{config}\n{extra}{CRITERION}")
    result = run_cli("run", str(path))
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    [case] = json.loads((run_dir(state) / "report.json").read_text())["cases"]
    assert case["status"] == "error"
    return case


def test_a_command_that_does_not_exist(tmp_path: Path, isolated_environment: Path) -> None:
    case = failed_case(tmp_path, isolated_environment, "  command: does-not-exist-xyz --flag")

    assert case["error"] == "command not found: 'does-not-exist-xyz'"


def test_a_command_that_is_not_executable(tmp_path: Path, isolated_environment: Path) -> None:
    script = tmp_path / "agent.sh"
    script.write_text("echo ok\n")

    case = failed_case(tmp_path, isolated_environment, f"  command: [{json.dumps(str(script))}]")

    assert case["error"] == f"command is not executable: {str(script)!r}"


def test_a_non_zero_exit_shows_the_tail_of_stderr_on_one_line(
    tmp_path: Path, isolated_environment: Path
) -> None:
    code = "import sys; print('x' * 5000, file=sys.stderr); print('loading', file=sys.stderr); print('KeyError: name', file=sys.stderr); sys.exit(3)"

    case = failed_case(tmp_path, isolated_environment, f"  command: {python(code)}")

    assert case["error"].startswith("command exited with status 3: …")
    assert case["error"].endswith("xxx | loading | KeyError: name")
    assert len(case["error"]) < 600


def test_a_timeout_kills_the_whole_process_group(
    tmp_path: Path, isolated_environment: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    shell = f"sleep 60 & echo $! > {pid_file}; wait"

    case = failed_case(
        tmp_path,
        isolated_environment,
        f"  command: [sh, -c, {json.dumps(shell)}]\n  timeout_s: 2",
    )

    assert case["error"] == "command timed out after 2s (its process group was killed)"
    assert process_gone(int(pid_file.read_text()))


def test_output_that_is_not_json_when_the_goal_has_an_output_schema(
    tmp_path: Path, isolated_environment: Path
) -> None:
    schema = "output_schema: {type: object, properties: {answer: {type: string}}}\n"

    case = failed_case(
        tmp_path, isolated_environment, "  command: [echo, 'the answer is ok']", schema
    )

    assert case["error"].startswith("the command's output is not valid JSON")
    assert case["error"].endswith("stdout began: 'the answer is ok'")


def test_output_over_the_cap(tmp_path: Path, isolated_environment: Path) -> None:
    code = f"import sys; sys.stdout.write('ok' * {MAX_STDOUT_BYTES // 2 + 1000})"

    case = failed_case(tmp_path, isolated_environment, f"  command: {python(code)}")

    assert case["error"] == (
        "command wrote more than 8 MiB on stdout, more than goalctl keeps; "
        "write large results to a file in the workspace"
    )


def test_a_missing_variable_in_env_is_refused_before_any_work(
    tmp_path: Path, isolated_environment: Path
) -> None:
    path = scenario(
        tmp_path,
        f'config:\n  command: [echo, ok]\n  env: {{TOKEN: "${{NOT_SET_ANYWHERE}}"}}\n{CRITERION}',
    )

    for detach in ([], ["--detach"]):
        result = run_cli("run", *detach, str(path))

        assert result.exit_code == 2, result.stdout + result.stderr
        assert result.stderr == (
            f"goalctl: error: {path}: config.env.TOKEN: ${{NOT_SET_ANYWHERE}} is not set in goalctl's "
            "environment; set it before running goalctl\n"
        )
    assert not (isolated_environment / "runs").exists()


def test_a_workspace_that_is_not_a_folder_is_invalid_at_its_line(tmp_path: Path) -> None:
    path = scenario(tmp_path, f"config:\n  command: [echo, ok]\n  workspace: nowhere\n{CRITERION}")

    validated = run_cli("validate", str(path))
    ran = run_cli("run", str(path))

    line = (
        f"{path}:8:14: config.workspace: 'nowhere' is not a folder beside the scenario "
        "(name a folder beside the scenario, inside its project)"
    )
    assert validated.exit_code == ran.exit_code == 1
    assert line in validated.stdout
    assert line in ran.stderr


def test_a_workspace_outside_the_project_is_invalid(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    (tmp_path / "elsewhere").mkdir()
    path = scenario(
        project, f"config:\n  command: [echo, ok]\n  workspace: ../elsewhere\n{CRITERION}"
    )

    validated = run_cli("validate", str(path))

    assert validated.exit_code == 1
    assert f"{path}:8:14: config.workspace: '../elsewhere' is outside the scenario's project" in (
        validated.stdout
    )


def test_validate_locates_bad_command_config(tmp_path: Path) -> None:
    path = scenario(tmp_path, f"config:\n  command: 42\n  timeout_s: -1\n  bogus: 1\n{CRITERION}")

    result = run_cli("validate", str(path))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{path}:7:12: config.command: expected a command (a list of strings, or one string), "
        "got 42 (integer)",
        f"{path}:8:14: config.timeout_s: must be at least 0.1, got -1",
        f"{path}:9:3: config.bogus: unknown key 'bogus' (known keys: command, workspace, env, "
        "timeout_s, output, max_attempts)",
    ]
