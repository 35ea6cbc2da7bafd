"""The README's tour (the code block under ``## A tour``), run as written.

On a copy of the repository's tracked files (what a fresh clone holds, as they are in the work
tree), with ``.venv`` pointing at this virtualenv so that the tour's first line, ``.
.venv/bin/activate``, works as written. Each line runs in its own bash, after that line, with
no provider key in the environment and a home of its own. The example run id of the tour
(``calculator-1a2b3c4d``) is replaced by a real one, found as a user would: in ``goalctl list
--json``. The exit codes asserted are the README's: 0 unless its exit-code table or the
"Runs and state" section says otherwise for what the line does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLE_RUN_ID = "calculator-1a2b3c4d"
ACTIVATE = ". .venv/bin/activate"
# As in bash, a comment is a word that starts with `#`.
COMMENT = re.compile(r"\s#\s?(.*)$")
# Variables that would let a tour line reach a real provider or another state directory.
SCRUBBED = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_BASE_URL",
    "GOALCTL_STATE_DIR",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "NO_COLOR",
    "VIRTUAL_ENV",
)


def tour_lines() -> list[tuple[str, str]]:
    """``(command, comment)`` for each line of the tour's code block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## A tour\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    lines = []
    for line in block.splitlines():
        found = COMMENT.search(line)
        command = line[: found.start()] if found else line
        lines.append((command.strip(), found.group(1) if found else ""))
    return lines


def test_the_tour_is_the_one_this_test_knows() -> None:
    # A new line in the tour needs its expected exit code below: this fails until it has one.
    commands = [command for command, _ in tour_lines()]
    assert commands == [ACTIVATE, *EXPECTED]
    comments = [comment for _, comment in tour_lines()]
    assert "the latest run (or: goalctl status calc)" in comments


# What each line must exit with, in the README's words.
EXPECTED = {
    "goalctl validate scenarios": 0,
    "goalctl render scenarios/calculator.md": 0,
    "goalctl run scenarios/calculator.md --case 'add*'": 0,
    "goalctl run scenarios": 0,  # every example is achieved offline (`make run`)
    # No key in the environment: "missing key" is exit 2 in the exit-code table.
    "goalctl run --provider anthropic --model claude-haiku-4-5 scenarios/calculator.md": 2,
    "goalctl run --detach scenarios": 0,
    "goalctl list": 0,
    "goalctl status": 0,
    f"goalctl logs {EXAMPLE_RUN_ID} --follow": 0,
    # It has ended (`logs --follow` waited for that): "a request that already holds is a
    # no-op that says so and exits 0 (`stop` of a stopped, completed or failed run …)".
    f"goalctl stop {EXAMPLE_RUN_ID}": 0,
    # "a request that cannot be met is refused with exit 2 (`start` of a completed … run)".
    f"goalctl start {EXAMPLE_RUN_ID}": 2,
    "goalctl cleanup --finished --older-than 7d": 0,
    "goalctl agents data-collector": 0,
    "goalctl schema": 0,
}


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Path]:
    """The repository's tracked files, copied; ``.venv`` → this virtualenv."""
    root = tmp_path / "goalctl"
    root.mkdir()
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False, timeout=60
    )
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode("utf-8").split("\0"):
            source = REPO / name
            if name and source.is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / name)
    else:  # an unpacked sdist: no git, the same files
        for name in ("scenarios", "examples", "schemas"):
            shutil.copytree(REPO / name, root / name)
        shutil.copy2(REPO / "pyproject.toml", root)
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (tmp_path / "home").mkdir()
    yield root
    wait_for_workers(root, tmp_path)


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["HOME"] = str(tmp_path / "home")
    return env


def shell(line: str, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """One tour line in a new bash, after the tour's first line, with no standard input."""
    script = line if line == ACTIVATE else f"{ACTIVATE}\n{line}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=cwd,
        env=environment(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def runs(cwd: Path, tmp_path: Path) -> list[dict[str, object]]:
    listed = shell("goalctl list --json", cwd, tmp_path)
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, object]] = json.loads(listed.stdout)
    return found


def wait_for_workers(cwd: Path, tmp_path: Path) -> None:
    """Detached workers write under the copy: let every one finish before it is removed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not any(run["status"] in ("pending", "running") for run in runs(cwd, tmp_path)):
            return
        time.sleep(0.2)
    pytest.fail("detached runs of the tour did not finish within 120 s")


def test_the_readme_tour_runs_as_written(clone: Path, tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.fail("the tour is shell: bash is needed")
    failures = []
    run_id = ""
    for command, comment in tour_lines():
        line = command
        if EXAMPLE_RUN_ID in line:
            # As a user would: the latest run of the calculator goal, from `goalctl list --json`.
            if not run_id:
                ids = [r["run_id"] for r in runs(clone, tmp_path) if r["goal_id"] == "calculator"]
                assert ids, "the tour's runs made no calculator run"
                run_id = str(ids[-1])
            line = line.replace(EXAMPLE_RUN_ID, run_id)
        done = shell(line, clone, tmp_path)
        expected = 0 if command == ACTIVATE else EXPECTED[command]
        if done.returncode != expected:
            failures.append(f"{line!r} exited {done.returncode}, not {expected}: {done.stderr}")
        # The status line's comment offers a goal id instead of a run id.
        alternative = re.fullmatch(r"the latest run \(or: (goalctl [^)]+)\)", comment)
        if alternative:
            done = shell(alternative.group(1), clone, tmp_path)
            if done.returncode != 0:
                failures.append(f"{alternative.group(1)!r} exited {done.returncode}: {done.stderr}")
    assert failures == []


def test_the_tour_needs_no_key_to_say_what_is_missing(clone: Path, tmp_path: Path) -> None:
    # The one line meant for a live provider fails fast and says how to go on offline.
    [live] = [command for command, _ in tour_lines() if "--provider anthropic" in command]
    done = shell(live, clone, tmp_path)
    assert done.returncode == 2
    assert "ANTHROPIC_API_KEY is not set" in done.stderr
    assert "--provider scripted" in done.stderr
