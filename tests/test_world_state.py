"""Case workspaces and world-state criteria: file_exists, file_matches and command_succeeds,
checked in each case's fresh workspace after the agent; what validate refuses about them."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from goalctl.world_checks import command_succeeds, file_exists, file_matches
from tests.conftest import run_cli
from tests.test_validate_checks import problems

# -- the checks, in a folder -------------------------------------------------------------------


def test_file_exists(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.md").write_text("# Report\n")

    assert file_exists(tmp_path, "out/report.md") == (True, "out/report.md exists (9 bytes)", None)
    assert file_exists(tmp_path, "out") == (True, "out exists (a folder)", None)
    assert file_exists(tmp_path, "out/summary.md") == (
        False,
        "out/summary.md does not exist (out has report.md)",
        None,
    )
    assert file_exists(tmp_path, "missing/x") == (False, "missing/x does not exist", None)


def test_paths_may_not_lead_out_of_the_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "secret.txt").write_text("s")
    (workspace / "link").symlink_to(tmp_path / "secret.txt")

    assert file_exists(workspace, "/etc/passwd") == (
        False,
        "the path cannot be checked",
        "'/etc/passwd' is an absolute path; name a path relative to the case's workspace",
    )
    assert file_exists(workspace, "a/../../secret.txt").error == (
        "'a/../../secret.txt' leads out of the case's workspace"
    )
    assert file_matches(workspace, "link", "s").error == (
        "'link' leads out of the case's workspace (through a symlink)"
    )


def test_file_matches(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("first\nstatus: done\n")
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe")

    assert file_matches(tmp_path, "notes.txt", r"status: (\w+)") == (
        True,
        "notes.txt matches /status: (\\w+)/ at line 2: 'status: done'",
        None,
    )
    assert file_matches(tmp_path, "notes.txt", "^failed") == (
        False,
        "no match for /^failed/ in notes.txt: 'first status: done'",
        None,
    )
    unreadable = file_matches(tmp_path, "blob.bin", "x")
    assert (unreadable.passed, unreadable.evidence) == (False, "blob.bin cannot be read")
    assert unreadable.error is not None
    assert "invalid UTF-8" in unreadable.error
    assert file_matches(tmp_path, "none.txt", "x").evidence == (
        "none.txt does not exist (the workspace has blob.bin, notes.txt)"
    )


def test_command_succeeds_runs_in_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("x")

    passed = asyncio.run(command_succeeds(tmp_path, ["test", "-f", "here.txt"], None))
    failed = asyncio.run(
        command_succeeds(tmp_path, ["sh", "-c", "echo 2 failed, 3 passed; exit 1"], None)
    )

    assert passed == (True, "`test -f here.txt` exited with status 0", None)
    assert failed == (
        False,
        "`sh -c echo 2 failed, 3 passed; exit 1` exited with status 1: 2 failed, 3 passed",
        None,
    )


def test_command_succeeds_is_bounded_in_time_and_names_a_missing_program(tmp_path: Path) -> None:
    slow = asyncio.run(command_succeeds(tmp_path, ["sh", "-c", "echo started >&2; sleep 30"], 0.3))
    missing = asyncio.run(command_succeeds(tmp_path, ["no-such-program-xyz"], None))

    assert slow == (
        False,
        "`sh -c echo started >&2; sleep 30` timed out after 0.3s (killed): started",
        None,
    )
    assert missing == (
        False,
        "`no-such-program-xyz` did not run",
        "command not found: 'no-such-program-xyz'",
    )


# -- runs --------------------------------------------------------------------------------------

HEADER = "id: world\nname: World\ndescription: Leaves files.\nprovider: scripted\n"

WRITER = """\
import goalctl

@goalctl.agent
def write(input, workspace):
    seen = sorted(p.name for p in workspace.iterdir())
    (workspace / "out.txt").write_text("status: " + input["status"] + "\\n")
    return goalctl.AgentResult(", ".join(seen))
"""


def python_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / "writer.py").write_text(WRITER)
    sys.modules.pop("writer", None)


def write_scenario(tmp_path: Path, *parts: str) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(HEADER + "".join(dedent(part) for part in parts))
    return path


def report_of(state: Path) -> dict[str, Any]:
    [run] = (state / "runs").iterdir()
    return json.loads((run / "report.json").read_text())  # type: ignore[no-any-return]


CRITERIA = """\
success_criteria:
  - {id: wrote, description: Wrote the file, metric: file_exists, target: out.txt}
  - {id: done, description: Says done, metric: file_matches,
     target: {path: out.txt, pattern: "status: {{ expected.status }}"}}
  - {id: tests, description: Tests pass, metric: command_succeeds,
     target: "grep -q done out.txt", timeout_s: 10}
"""


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the run's temporary folders go, to see that none is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_each_case_gets_a_fresh_copy_of_the_scenario_workspace(
    tmp_path: Path, isolated_environment: Path, scratch: Path
) -> None:
    python_project(tmp_path)
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "README.md").write_text("seed")
    (tmp_path / "seed" / ".git").mkdir()
    path = write_scenario(
        tmp_path,
        CRITERIA,
        """\
        agent: python
        config: {callable: "writer:write"}
        workspace: seed
        cases:
          - {name: a, input: {status: done}, expected: {status: done}}
          - {name: b, input: {status: failed}, expected: {status: done}}
        """,
    )

    result = run_cli("run", "--concurrency", "1", str(path))

    assert result.exit_code == 1, result.stdout + result.stderr
    a, b = report_of(isolated_environment)["cases"]
    # Each case sees the seed alone (no .git, nothing a previous case wrote).
    assert [a["output"], b["output"]] == ["README.md", "README.md"]
    assert [c["passed"] for c in a["checks"]] == [True, True, True]
    assert [c["passed"] for c in b["checks"]] == [True, False, False]
    assert b["checks"][1]["evidence"] == (
        "no match for /status: done/ in out.txt: 'status: failed'"
    )
    assert b["checks"][2]["evidence"] == "`grep -q done out.txt` exited with status 1"
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "seed").iterdir()) == [".git", "README.md"]


def test_world_state_criteria_without_a_workspace_get_an_empty_folder(
    tmp_path: Path, isolated_environment: Path, scratch: Path
) -> None:
    python_project(tmp_path)
    path = write_scenario(
        tmp_path,
        CRITERIA,
        """\
        agent: python
        config: {callable: "writer:write"}
        cases:
          - {name: a, input: {status: done}, expected: {status: done}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    [case] = report_of(isolated_environment)["cases"]
    assert case["output"] == ""
    assert list(scratch.iterdir()) == []


def test_a_case_whose_agent_fails_leaves_no_workspace_behind(
    tmp_path: Path, isolated_environment: Path, scratch: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / "broken.py").write_text(
        "import goalctl\n\n@goalctl.agent\ndef run(workspace):\n"
        "    (workspace / 'half.txt').write_text('x')\n    raise RuntimeError('crashed')\n"
    )
    sys.modules.pop("broken", None)
    path = write_scenario(
        tmp_path,
        """\
        agent: python
        config: {callable: "broken:run"}
        success_criteria:
          - {id: wrote, description: Wrote, metric: file_exists, target: half.txt}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 3, result.stdout + result.stderr
    [case] = report_of(isolated_environment)["cases"]
    assert case["status"] == "error"
    assert "crashed" in case["error"]
    assert list(scratch.iterdir()) == []


def test_the_command_agent_runs_in_the_scenarios_workspace(
    tmp_path: Path, isolated_environment: Path, scratch: Path
) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "app.txt").write_text("v1\n")
    program = "echo v2 > app.txt; ls"
    path = write_scenario(
        tmp_path,
        f"""\
        agent: command
        config: {{command: [sh, -c, {json.dumps(program)}], output: text}}
        workspace: repo
        success_criteria:
          - {{id: bumped, description: Bumped, metric: file_matches,
             target: {{path: app.txt, pattern: "^v2$"}}}}
        """,
    )

    result = run_cli("run", str(path))

    assert result.exit_code == 0, result.stdout + result.stderr
    [case] = report_of(isolated_environment)["cases"]
    assert case["output"] == "app.txt"
    assert case["checks"][0]["evidence"] == "app.txt matches /^v2$/ at line 1: 'v2'"
    assert (tmp_path / "repo" / "app.txt").read_text() == "v1\n"
    assert list(scratch.iterdir()) == []


# -- validate ----------------------------------------------------------------------------------


def test_validate_refuses_fields_of_other_metrics_and_wrong_targets(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        success_criteria:
          - {id: a, description: d, metric: tool_called, target: lookup, mode: strict}
          - {id: b, description: d, metric: tool_called, target: lookup, min: 3, max: 1}
          - {id: e, description: d, metric: tool_sequence, target: lookup}
          - {id: f, description: d, metric: tool_args, target: {tool: x, argz: {}}}
          - {id: g, description: d, metric: file_exists, target: /etc/passwd}
          - {id: h, description: d, metric: file_matches, target: {path: ../x, pattern: a}}
          - {id: i, description: d, metric: file_matches, target: {path: x, pattern: "(a"}}
          - {id: j, description: d, metric: command_succeeds, target: []}
          - {id: k, description: d, metric: output_contains, target: x, ignore: [id]}
        """,
    )

    assert found == [
        "6:72: success_criteria[0].mode: `mode` applies to metric tool_sequence only, not "
        "tool_called (remove `mode`, or use metric tool_sequence)",
        "7:79: success_criteria[1].max: max (1) is below min (3) (make min <= max)",
        "8:60: success_criteria[2].target: metric tool_sequence needs a list of tool names as "
        "target (e.g. target: [lookup_order, issue_refund])",
        "9:72: success_criteria[3].target.argz: unknown key 'argz' (known: args, tool) (e.g. "
        "target: {tool: issue_refund, args: {order_id: A-1}})",
        "10:58: success_criteria[4].target: '/etc/passwd' is an absolute path; name a path "
        "relative to the case's workspace (e.g. target: out/report.md)",
        "11:66: success_criteria[5].target.path: '../x' leads out of the case's workspace (e.g. "
        "target: {path: out/report.md, pattern: '^# Report'})",
        "12:78: success_criteria[6].target.pattern: invalid regular expression: missing ) at "
        "position 2",
        "13:63: success_criteria[7].target: the command is empty; name the program to run "
        "(e.g. target: [pytest, -q])",
        "14:73: success_criteria[8].ignore: `ignore` applies to metric tool_args only, not "
        "output_contains (remove `ignore`, or use metric tool_args)",
    ]


def test_validate_refuses_an_unknown_mode_and_a_timeout_past_the_limit(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        success_criteria:
          - {id: c, description: d, metric: tool_sequence, target: [a, b], mode: sideways}
          - {id: j, description: d, metric: command_succeeds, target: ["true"], timeout_s: 601}
        """,
    )

    assert found == [
        "6:74: success_criteria[0].mode: must be one of 'strict', 'in_order', 'any_order', "
        "'subset' or 'superset', got 'sideways'",
        "7:84: success_criteria[1].timeout_s: must be at most 600, got 601",
    ]


def test_validate_checks_the_workspace_folder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "escape").symlink_to(tmp_path.parent)
    (tmp_path / "a-file").write_text("")

    criterion = "success_criteria: [{id: c, description: d, metric: file_exists, target: x}]\n"
    outside = problems(tmp_path, "workspace: ../elsewhere\n" + criterion)
    not_folder = problems(tmp_path, "workspace: a-file\n" + criterion, name="t.yaml")
    both = problems(
        tmp_path,
        """\
        workspace: ws
        agent: command
        config: {command: ["true"], workspace: ws}
        success_criteria:
          - {id: a, description: d, metric: file_exists, target: escape/etc}
        """,
        name="u.yaml",
    )

    assert outside == [
        f"5:12: workspace: '../elsewhere' is outside the scenario's project ({tmp_path}) (name a "
        "folder beside the scenario, inside its project)"
    ]
    assert not_folder == [
        "5:12: workspace: 'a-file' is not a folder beside the scenario (name a folder beside "
        "the scenario, inside its project)"
    ]
    assert both == [
        "7:40: config.workspace: the scenario sets `workspace:`, so config.workspace would be a "
        "second one (keep one: the scenario's `workspace:` (every agent kind gets it) and remove "
        "config.workspace)",
        "9:58: success_criteria[0].target: 'escape/etc' leads out of the workspace 'ws' (through "
        "a symlink) (name a file inside the workspace; a run refuses paths that lead out)",
    ]
