"""The pre-commit hook run by pre-commit itself, as a user's repository runs it: one summary
for the whole set of files, and a README beside the scenarios passed over with a notice.

The hook is declared in ``.pre-commit-hooks.yaml`` with ``language: python``, which makes
pre-commit install goalctl from its repository (a network install); here the same declaration
runs as a local hook over this environment's goalctl, so pre-commit's own batching of file
names (the subject of the test) is exercised as it is in a user's repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO

HOOKS = REPO / ".pre-commit-hooks.yaml"
SCENARIO = (REPO / "scenarios" / "calculator.md").read_text()
FILES = 12
"""More than pre-commit's smallest batch (4 files) times two cores: enough for it to split."""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with scenarios (one of them a README) and the hook as a local hook."""
    repo = tmp_path / "repo"
    scenarios = repo / "scenarios"
    scenarios.mkdir(parents=True)
    for index in range(FILES):
        text = SCENARIO.replace("id: calculator", f"id: calculator-{index:02d}", 1)
        assert text != SCENARIO
        (scenarios / f"calculator_{index:02d}.md").write_text(text)
    (scenarios / "README.md").write_text("# Our scenarios\n\nOne per goal.\n")
    (repo / "goalctl.toml").write_text('exclude = ["*.wip.md"]\n')
    (scenarios / "draft.wip.md").write_text("---\nid: [broken\n---\n")
    [hook] = YAML(typ="safe").load(HOOKS.read_text())
    # Run over this environment's goalctl instead of installing it from the repository.
    local = {**hook, "language": "unsupported", "verbose": True}
    yaml = YAML()
    with open(repo / ".pre-commit-config.yaml", "w") as config:
        yaml.dump({"repos": [{"repo": "local", "hooks": [local]}]}, config)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    return repo


def pre_commit(repo: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    env.pop("PRE_COMMIT_NO_CONCURRENCY", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summaries(output: str) -> list[str]:
    return re.findall(r"^.*scenario files? (?:valid|invalid).*$", output, re.MULTILINE)


def test_one_summary_for_the_whole_set(repo: Path, tmp_path: Path) -> None:
    done = pre_commit(repo, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summaries(done.stdout) == [f"{FILES} scenario files valid"]
    notice = "skipped scenarios/README.md: Markdown without YAML front matter (not a scenario)"
    assert done.stdout.count(notice) == 1
    assert "draft.wip.md" not in done.stdout  # the project's exclude applies to hook files


def test_an_invalid_file_fails_the_hook_with_one_summary(repo: Path, tmp_path: Path) -> None:
    broken = repo / "scenarios" / "calculator_07.md"
    broken.write_text(broken.read_text().replace("metric: output_equals", "metric: nope"))
    git(repo, "add", ".")
    done = pre_commit(repo, tmp_path)
    assert done.returncode == 1
    assert summaries(done.stdout) == [f"1 of {FILES} scenario files invalid (1 problem)"]
    assert "scenarios/calculator_07.md:" in done.stdout
