"""CI files: the workflows, the composite action and the pre-commit hook parse, and the
commands they hold really work on the example scenarios.

The scenario job's command is run exactly as written (``${{ matrix.* }}`` and its environment
filled in from a matrix entry) in a temporary directory holding a copy of ``scenarios/``, so
the relative ``reports/`` and ``junit/`` paths of the command land under ``tmp_path``. Shell
scripts (the JUnit merge, the action's steps) run through bash with this virtualenv's
``goalctl`` first on ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import string
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from goalctl.matrix import matrix
from tests.conftest import REPO, run_cli

WORKFLOWS = REPO / ".github" / "workflows"
ACTION = REPO / "action.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
BIN = Path(sys.executable).parent


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def expand(text: str, values: Mapping[str, Any]) -> str:
    """``${{ matrix.id }}`` → the value of ``matrix.id``; any other expression is an error."""
    return EXPRESSION.sub(lambda m: str(values[m.group(1)]), text)


def step(steps: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    [found] = [s for s in steps if all(s.get(k) == v for k, v in match.items())]
    return found


def bash(script: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a step's script the way GitHub Actions runs ``shell: bash`` steps."""
    if shutil.which("bash") is None or not (BIN / "goalctl").exists():
        pytest.skip("needs bash and this virtualenv's goalctl script")
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_on_path: None) -> Path:
    """A directory like a CI checkout (scenarios/, the example agents they run, the project's
    pyproject.toml), as the current directory; goalctl's python3 first on PATH, as after the
    workflow's `pip install .`."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "scenarios", root / "scenarios")
    shutil.copytree(
        REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", root)
    monkeypatch.chdir(root)
    return root


# -- every file parses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [*sorted(WORKFLOWS.glob("*.y*ml")), ACTION, HOOKS],
    ids=lambda p: p.relative_to(REPO).as_posix(),
)
def test_parses(path: Path) -> None:
    assert load(path)


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.y*ml")), ids=lambda p: p.name)
def test_workflows_have_triggers_jobs_and_read_only_permissions(path: Path) -> None:
    workflow = load(path)
    # YAML 1.2 (ruamel's default) keeps `on` a string; a YAML 1.1 reader would make it True.
    assert "on" in workflow
    assert True not in workflow
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert job["steps"], name


# -- scenarios.yml --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios_workflow() -> dict[str, Any]:
    workflow: dict[str, Any] = load(WORKFLOWS / "scenarios.yml")
    return workflow


def test_scenarios_workflow_shape(scenarios_workflow: dict[str, Any]) -> None:
    jobs = scenarios_workflow["jobs"]
    assert list(jobs) == ["matrix", "scenario", "report"]
    assert scenarios_workflow["concurrency"]["group"]
    assert jobs["matrix"]["outputs"] == {"matrix": "${{ steps.matrix.outputs.matrix }}"}
    assert jobs["scenario"]["needs"] == "matrix"
    assert jobs["scenario"]["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.matrix.outputs.matrix) }}",
    }
    assert jobs["report"]["needs"] == "scenario"
    assert jobs["report"]["if"].startswith("${{ always()")
    for job in jobs.values():
        uses = [s.get("uses", "") for s in job["steps"]]
        assert uses[:2] == ["actions/checkout@v4", "actions/setup-python@v5"]
        assert job["steps"][1]["with"] == {"python-version": "3.12"}
        assert job["steps"][2]["run"].startswith("python -m pip install .")
    # The scenario jobs also need pytest: coding-fizzbuzz runs the project's tests.
    assert jobs["scenario"]["steps"][2]["run"] == "python -m pip install . pytest"


def test_scenario_artifacts_are_uploaded_always_and_downloaded_by_pattern(
    scenarios_workflow: dict[str, Any],
) -> None:
    jobs = scenarios_workflow["jobs"]
    upload = step(jobs["scenario"]["steps"], uses="actions/upload-artifact@v4")
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "scenario-${{ matrix.id }}-${{ matrix.version }}"
    assert upload["with"]["path"].split() == ["reports/", "junit/"]
    download = step(jobs["report"]["steps"], uses="actions/download-artifact@v4")
    assert download["with"] == {"pattern": "scenario-*", "merge-multiple": True}
    merged = step(jobs["report"]["steps"], uses="actions/upload-artifact@v4")
    assert merged["with"] == {"name": "junit", "path": "junit.xml"}


def test_run_scripts_splice_only_checked_values(scenarios_workflow: dict[str, Any]) -> None:
    # A file name from a pull request must never become shell code: paths go through env.
    for job in scenarios_workflow["jobs"].values():
        for item in job["steps"]:
            spliced = set(EXPRESSION.findall(item.get("run", "")))
            assert spliced <= {"matrix.id", "matrix.version"}, item


def matrix_command(workflow: dict[str, Any]) -> list[str]:
    script = step(workflow["jobs"]["matrix"]["steps"], id="matrix")["run"]
    assert script == 'echo "matrix=$(goalctl matrix scenarios)" >> "$GITHUB_OUTPUT"'
    found = re.search(r"\$\((goalctl [^)]*)\)", script)
    assert found is not None
    return shlex.split(found.group(1))


def scenario_command(workflow: dict[str, Any], entry: Mapping[str, str]) -> list[str]:
    """The scenario job's `goalctl run` command line for one matrix entry, as bash sees it."""
    run = step(workflow["jobs"]["scenario"]["steps"], name="goalctl run")
    values = {f"matrix.{key}": value for key, value in entry.items()}
    env = {name: expand(value, values) for name, value in run["env"].items()}
    words = shlex.split(expand(run["run"], values))
    return [string.Template(word).substitute(env) for word in words]


def test_matrix_command_prints_the_matrix_the_jobs_use(
    scenarios_workflow: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    argv = matrix_command(scenarios_workflow)
    assert argv[0] == "goalctl"
    result = run_cli(*argv[1:])
    assert (result.exit_code, result.stderr) == (0, "")
    # $GITHUB_OUTPUT takes name=value lines: the matrix must be one line.
    assert result.stdout.count("\n") == 1
    data = json.loads(result.stdout)
    assert data == matrix(["scenarios"])
    used = set(EXPRESSION.findall(json.dumps(scenarios_workflow["jobs"]["scenario"])))
    keys = {name.removeprefix("matrix.") for name in used if name.startswith("matrix.")}
    assert keys == {"id", "version", "scenario"}
    assert data["include"]
    for entry in data["include"]:
        assert keys <= set(entry)


def test_scenario_job_command_runs_an_entry(
    scenarios_workflow: dict[str, Any], checkout: Path
) -> None:
    first = matrix(["scenarios"])["include"][0]
    argv = scenario_command(scenarios_workflow, first)
    assert argv == [
        "goalctl",
        "run",
        "--provider",
        "scripted",
        "--report-dir",
        "reports",
        "--junit",
        "junit/calculator-1.0.0.xml",
        "scenarios/calculator.md",
    ]
    result = run_cli(*argv[1:])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (checkout / "reports").iterdir()) == [
        "calculator-1.0.0.json",
        "calculator-1.0.0.md",
    ]
    junit = (checkout / "junit" / "calculator-1.0.0.xml").read_text(encoding="utf-8")
    assert '<testsuite name="calculator@1.0.0"' in junit


def test_a_path_with_shell_characters_stays_one_argument(
    scenarios_workflow: dict[str, Any],
) -> None:
    entry = {"scenario": 'scenarios/$(touch x) "a b".md', "id": "x", "version": "1.0.0"}
    assert scenario_command(scenarios_workflow, entry)[-1] == entry["scenario"]


def test_report_job_merges_every_scenarios_junit(
    scenarios_workflow: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    entries = matrix(["scenarios"])["include"]
    for entry in entries:
        result = run_cli(*scenario_command(scenarios_workflow, entry)[1:])
        assert result.exit_code == 0, result.stdout + result.stderr
    merge = step(scenarios_workflow["jobs"]["report"]["steps"], name="merge JUnit files")
    assert "goalctl report --merge-junit junit/*.xml > junit.xml" in merge["run"]
    summary = tmp_path / "summary.md"
    done = bash(merge["run"], checkout, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stderr
    merged = (checkout / "junit.xml").read_text(encoding="utf-8")
    suites = re.findall(r'<testsuite name="([^"]+)"', merged)
    assert sorted(suites) == sorted(f"{e['id']}@{e['version']}" for e in entries)
    assert summary.read_text(encoding="utf-8") == (
        f"Merged {len(entries)} JUnit files into junit.xml (artifact `junit`).\n"
    )


def test_report_job_without_junit_files_says_so(
    scenarios_workflow: dict[str, Any], tmp_path: Path
) -> None:
    merge = step(scenarios_workflow["jobs"]["report"]["steps"], name="merge JUnit files")
    summary = tmp_path / "summary.md"
    done = bash(merge["run"], tmp_path, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1
    assert summary.read_text(encoding="utf-8") == (
        "No JUnit files were uploaded: every scenario job failed before running.\n"
    )


# -- ci.yml -----------------------------------------------------------------------------------


def test_ci_runs_the_make_targets() -> None:
    jobs = load(WORKFLOWS / "ci.yml")["jobs"]
    assert [s.get("run") for s in jobs["lint"]["steps"] if "run" in s] == ["make lint"]
    assert [s.get("run") for s in jobs["test"]["steps"] if "run" in s] == ["make test", "make run"]


# -- action.yml -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = load(ACTION)
    return data


def test_action_shape(action: dict[str, Any]) -> None:
    assert action["name"] == "goalctl"
    assert action["runs"]["using"] == "composite"
    defaults = {name: spec.get("default") for name, spec in action["inputs"].items()}
    assert defaults == {
        "paths": "scenarios",
        "provider": "",
        "args": "",
        "python-version": "3.12",
        "version": "",
    }
    assert action["outputs"]["junit"]["value"] == "${{ steps.run.outputs.junit }}"
    steps = action["runs"]["steps"]
    assert steps[0] == {
        "uses": "actions/setup-python@v5",
        "with": {"python-version": "${{ inputs.python-version }}"},
    }
    assert [s.get("name") for s in steps[1:]] == [
        "install goalctl",
        "goalctl validate",
        "goalctl run",
    ]
    for item in steps[1:]:
        assert item["shell"] == "bash"
        # Inputs reach scripts through the environment only: no input can become shell code.
        assert EXPRESSION.findall(item["run"]) == []


def action_step(action: dict[str, Any], name: str, inputs: Mapping[str, str]) -> dict[str, Any]:
    item = step(action["runs"]["steps"], name=name)
    values = {f"inputs.{key}": value for key, value in inputs.items()}
    return {"run": item["run"], "env": {k: expand(v, values) for k, v in item["env"].items()}}


@pytest.mark.parametrize(
    ("version", "spec"),
    [("", "/actions/goalctl"), ("0.3.0", "goalctl==0.3.0"), (">=0.3,<0.4", "goalctl>=0.3,<0.4")],
)
def test_action_installs_itself_or_the_version_asked(
    action: dict[str, Any], version: str, spec: str, tmp_path: Path
) -> None:
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "python").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n')
    (fake / "python").chmod(0o755)
    install = action_step(action, "install goalctl", {"version": version})
    script = f'PATH="{fake}:$PATH"\n' + install["run"]
    env = {**install["env"], "GITHUB_ACTION_PATH": "/actions/goalctl"}
    done = bash(script, tmp_path, {**env, "ARGS_FILE": str(tmp_path / "args")})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().splitlines() == [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        spec,
    ]


def test_action_validates_and_runs(action: dict[str, Any], checkout: Path, tmp_path: Path) -> None:
    inputs = {
        "paths": "scenarios/calculator.md  scenarios/support-triage.md",
        "provider": "scripted",
        "args": "--concurrency 4",
    }
    output = tmp_path / "github_output"
    validate = action_step(action, "goalctl validate", inputs)
    done = bash(validate["run"], checkout, validate["env"])
    assert (done.returncode, done.stdout) == (0, "2 scenario files valid\n"), done.stderr
    run = action_step(action, "goalctl run", inputs)
    done = bash(run["run"], checkout, {**run["env"], "GITHUB_OUTPUT": str(output)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved" in done.stdout
    assert output.read_text().splitlines() == [
        "junit=goalctl-junit.xml",
        "report-dir=goalctl-reports",
    ]
    assert sorted(p.name for p in (checkout / "goalctl-reports").iterdir()) == [
        "calculator-1.0.0.json",
        "calculator-1.0.0.md",
        "support-triage-0.1.0.json",
        "support-triage-0.1.0.md",
    ]
    junit = (checkout / "goalctl-junit.xml").read_text(encoding="utf-8")
    assert sorted(re.findall(r'<testsuite name="([^"]+)"', junit)) == [
        "calculator@1.0.0",
        "support-triage@0.1.0",
    ]


def test_action_without_a_provider_keeps_the_scenarios_own(
    action: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    run = action_step(
        action, "goalctl run", {"paths": "scenarios/calculator.md", "provider": "", "args": ""}
    )
    env = {**run["env"], "GITHUB_OUTPUT": str(tmp_path / "out")}
    done = bash(run["run"], checkout, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "provider `scripted`" in (checkout / "goalctl-reports" / "calculator-1.0.0.md").read_text()
    )


# -- .pre-commit-hooks.yaml -------------------------------------------------------------------


def test_pre_commit_hook() -> None:
    [hook] = load(HOOKS)
    assert hook == {
        "id": "goalctl-validate",
        "name": "goalctl validate",
        "description": hook["description"],
        "entry": "goalctl validate --as-found",
        "language": "python",
        "types_or": ["markdown", "yaml"],
        "files": "(^|/)scenarios/",
        "pass_filenames": True,
        "require_serial": True,
    }
    files = re.compile(hook["files"])
    assert files.search("scenarios/calculator.md")
    assert files.search("services/billing/scenarios/refund.yaml")
    assert not files.search("docs/my_scenarios/notes.md")


def test_pre_commit_entry_is_a_real_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    [hook] = load(HOOKS)
    argv = hook["entry"].split()
    assert argv[0] == "goalctl"
    # pre-commit appends the staged files' names, like this.
    files = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "scenarios").iterdir()
        if p.suffix in (".md", ".yaml", ".yml")
    )
    result = run_cli(*argv[1:], *files)
    assert (result.exit_code, result.stdout) == (0, f"{len(files)} scenario files valid\n")
    assert run_cli(*argv[1:], "scenarios").exit_code == 0
