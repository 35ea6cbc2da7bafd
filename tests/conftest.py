"""Shared fixtures: every test gets its own state dir and never touches the home directory."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from goalctl.cli import main

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Scenario files the tests read, many invalid on purpose: not tests of their own for the
# goalctl pytest plugin.
collect_ignore = ["fixtures"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """State, home and caches live under tmp_path; CI variables of the host are removed."""
    state = tmp_path / "state"
    # Secrets remembered by one test's run (an agent's env values) stay with that test.
    monkeypatch.setattr("goalctl.keys._remembered", set())
    monkeypatch.setenv("GOALCTL_STATE_DIR", str(state))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    return state


@pytest.fixture
def venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """This interpreter's folder first on PATH, as in an activated virtualenv (and `make run`).

    The example agents in ``examples/agents`` run ``python3`` from PATH and need the SDKs that
    goalctl's own environment has.
    """
    folder = Path(sys.executable).parent
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, env: dict[str, str | None] | None = None, input: str | None = None
) -> CliResult:
    """Run ``goalctl ARGS`` in-process through the real entry point and its error handler."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (stdout, stderr, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        return CliResult(code, stdout.getvalue().decode(), stderr.getvalue().decode())


class TextSnapshot(SingleFileSnapshotExtension):
    """One plain-text file per snapshot, so pinned output reads as a document."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def text_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(TextSnapshot)
